"""The websocket streams of one ccxt exchange: which connection carries a
stream, how to start one stream afresh without disturbing the others, and
what a watch's error means for its stream.

ccxt keeps, per connection (``exchange.clients``), the subscriptions it sent
and the watches waiting (``futures``), keyed by hashes that name the stream's
kind and symbol (Binance "btcusdt@depth@100ms", "orderbook::BTC/USDT"; OKX
"books:BTC/USDT"). Binance opens a connection per watch, so dropping the
book's connection resyncs the book alone; OKX carries every public channel on
one connection, so there the stream alone is unsubscribed and subscribed
again (ccxt's ``un_watch_*``), and the connection is dropped only when that
fails.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

from terminal.errors import (
    BookOutOfSyncError,
    ExchangeUnreachableError,
    SubscriptionRefusedError,
    TerminalError,
    describe,
)

log = logging.getLogger(__name__)

#: Words that name a stream kind in ccxt's subscription and message hashes.
STREAM_WORDS: dict[str, tuple[str, ...]] = {
    "book": ("book", "depth"),
    "trades": ("trade",),
    "candles": ("kline", "candle", "ohlcv"),
    "ticker": ("ticker",),
}
#: ccxt's methods that unsubscribe one stream, by kind (candles need a timeframe: not used).
UNWATCH = {"book": "un_watch_order_book", "trades": "un_watch_trades", "ticker": "un_watch_ticker"}
UNWATCH_TIMEOUT_S = 3.0


def squash(text: str) -> str:
    """Lower case letters and digits only: "BTC/USDT", "BTC-USDT" and "btcusdt" meet."""
    return "".join(c for c in text.lower() if c.isalnum())


class Streams:
    def __init__(self, exchange: Any, ccxt: Any) -> None:
        self.exchange = exchange
        self.ccxt = ccxt

    # -- starting one stream afresh --------------------------------------------------
    async def drop(self, kind: str, symbol: str) -> None:
        """Make the next watch of ``kind`` of ``symbol`` start afresh, the others
        going on; without ``kind``, drop every connection. Its cached book is
        forgotten either way (it may lack a sequence number)."""
        clients = list(getattr(self.exchange, "clients", {}).values())
        carrying = [c for c in clients if any(self.names(k, kind, symbol) for k in _keys(c))] if kind else []
        if kind and not carrying:
            log.info("%s: no connection carries the %s of %s; dropping all", self.exchange.name, kind, symbol)
        alone = [c for c in carrying if all(self.names(k, kind, symbol) for k in _keys(c))]
        shared = [c for c in carrying if c not in alone]
        if shared and not await self._unwatch(kind, symbol):
            alone += shared
        reason = self.ccxt.RequestTimeout(
            f"{self.exchange.name}: the {kind or 'feed'} stream is reconnecting"
        )
        for client in alone if carrying else clients:
            client.on_error(reason)
        if kind == "book":
            getattr(self.exchange, "orderbooks", {}).pop(symbol, None)

    async def _unwatch(self, kind: str, symbol: str) -> bool:
        """Unsubscribe one stream with ccxt's own method; whether that worked."""
        method = getattr(self.exchange, UNWATCH.get(kind, ""), None)
        if method is None:
            return False
        try:
            await asyncio.wait_for(method(symbol), UNWATCH_TIMEOUT_S)
        except (TimeoutError, self.ccxt.BaseError) as exc:
            log.info("%s: could not unsubscribe the %s of %s (%s)", self.exchange.name, kind, symbol,
                     describe(exc))  # fmt: skip
            return False
        return True

    def names(self, key: object, kind: str, symbol: str) -> bool:
        """Whether a ccxt hash names ``kind`` of ``symbol``."""
        squashed = squash(str(key))
        words = STREAM_WORDS.get(kind, (kind,))
        return any(w in squashed for w in words) and any(n in squashed for n in self.symbol_names(symbol))

    def symbol_names(self, symbol: str) -> set[str]:
        """``symbol`` as it may appear in ccxt's hashes and the exchange's messages, squashed."""
        market = (self.exchange.markets or {}).get(symbol) or {}
        return {squash(str(n)) for n in (symbol, market.get("id"), market.get("lowercaseId")) if n}

    # -- what a watch's error means for its stream -------------------------------------
    def error(self, exc: Exception, symbol: str, detail_text: str) -> TerminalError | None:
        """The stream's own reading of a watch's ccxt error, or None to translate
        it as any call's error. The exchange's refusal of this subscription stops
        it for good; the refusal of another stream on the same connection (OKX
        fails every watch there with it) is a passing fault for this one; a bad
        sequence number is a book out of sync (on REST it means a clock off); an
        unsubscription is the terminal's own resync."""
        ccxt, name = self.ccxt, self.exchange.name
        detail = f"{type(exc).__name__}: {detail_text}"
        if _is_refusal(ccxt, exc):
            if self._names_another_market(str(exc), symbol):
                return ExchangeUnreachableError(
                    f"{name} refused another stream on this connection.",
                    hint="The terminal resubscribes by itself.",
                    detail=detail,
                )
            return SubscriptionRefusedError(
                f"{name} refused this stream.",
                hint="It stays off; the rest of the feed goes on.",
                detail=detail,
            )
        if isinstance(exc, ccxt.InvalidNonce) and not isinstance(exc, ccxt.ChecksumError):
            return BookOutOfSyncError(
                f"{name}'s stream skipped updates.",
                hint="It is rebuilt from a fresh snapshot.",
                detail=detail,
            )
        if isinstance(exc, ccxt.UnsubscribeError):
            return ExchangeUnreachableError(f"{name}: the stream is being subscribed again.", detail=detail)
        return None

    def _names_another_market(self, text: str, symbol: str) -> bool:
        """Whether an error's text names a market, and not ``symbol``'s."""
        squashed = squash(text)
        if any(n in squashed for n in self.symbol_names(symbol)):
            return False
        markets = (self.exchange.markets or {}).items()
        return any(
            squash(str(m.get("id") or "")) in squashed for s, m in markets if s != symbol and m.get("id")
        )


def _keys(client: Any) -> Iterable[object]:
    return [*getattr(client, "subscriptions", {}), *getattr(client, "futures", {})]


def _is_refusal(ccxt: Any, exc: Exception) -> bool:
    """Whether a watch failed because the exchange refused a subscription: a
    request error (bad symbol or channel), not a network fault, a rate limit, a
    key problem or a server error (code 5xx), which may pass."""
    if isinstance(exc, ccxt.NetworkError | ccxt.AuthenticationError | ccxt.ExchangeClosedByUser):
        return False
    if isinstance(exc, ccxt.BadRequest | ccxt.NotSupported):
        return True
    if type(exc) is ccxt.ExchangeError:
        return not re.search(r'"code"\s*:\s*"?5\d\d\b', str(exc))
    return False
