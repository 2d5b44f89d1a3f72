"""The market source for real exchanges: any ccxt exchange, behind the same
async interface as the simulator (``terminal.market.source.ExchangeSource``).

What ccxt already does is used as it is: markets, precision, rate limiting
(``enableRateLimit``), websocket reconnection and order book resync. This
module adds what ccxt lacks (see docs/architecture.md and the ccxt notes):

- every ccxt exception becomes a terminal error in plain words, without
  secrets (``ccxt_errors.translate``): the credentials handed to ccxt are
  registered for masking (``terminal.redaction``) as the instance is made;
- both rate-limit errors lead to one cool-down per exchange (``rate_gate``),
  installed in ccxt's own ``fetch`` so that every HTTP request waits it out,
  the ones ccxt makes by itself included (the websocket book's snapshot and
  its immediate retries); ``Retry-After`` is honoured;
- answers are sanity-checked: ccxt returns None-filled objects for a
  malformed HTTP-200 body and can cache an empty market map; a watched order
  book is passed on only when it is whole (``book_check``), else the stream
  is dropped so that the next watch resyncs it from scratch;
- a subscription the exchange refuses is a ``SubscriptionRefusedError``
  (permanent for that stream), not a network fault to retry forever;
- websocket keepalive pings every few seconds, so ccxt's own pong watchdog
  notices a dead connection (e.g. a receive loop killed by a malformed frame)
  in seconds instead of the exchanges' minutes; ``reconnect(kind, symbol)``
  drops only the connection that carries a silent stream;
- an exchange without a websocket method is polled, no faster than its rate
  limit allows.

ccxt is imported when the first CcxtSource is made, never at start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from terminal.errors import MalformedResponseError, NotSupportedError, RateLimitedError
from terminal.market.book_check import book_problem
from terminal.market.book_checksums import install_checksums
from terminal.market.ccxt_errors import credentials_of, redact, translate
from terminal.market.ccxt_streams import Streams
from terminal.market.endpoints import Rewrite, api_urls, override_urls
from terminal.market.key_destinations import checked_for_keys
from terminal.market.rate_gate import install_gate, shared_gate
from terminal.redaction import remember_credentials

log = logging.getLogger(__name__)
T = TypeVar("T")

KEEPALIVE_MS = 3_000  # ping interval; ccxt fails a connection after two missed pongs
TIMEOUT_MS = 10_000  # REST timeout


class Credentials(Protocol):
    @property
    def api_key(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def password(self) -> str | None: ...


class CcxtSource:
    def __init__(
        self,
        exchange_id: str,
        *,
        sandbox: bool = False,
        rest_url: str | None = None,
        ws_url: str | None = None,
        credentials: Credentials | None = None,
        options: dict[str, Any] | None = None,
        keepalive_ms: int = KEEPALIVE_MS,
        timeout_ms: int = TIMEOUT_MS,
        poll_interval: float = 1.0,
    ) -> None:
        import ccxt
        import ccxt.async_support as ccxt_rest
        import ccxt.pro as ccxt_pro

        # Only ccxt's errors are translated (``from None``: their text and
        # chained causes can hold signed URLs); anything else is a bug and
        # surfaces as itself.
        self._ccxt_error: type[Exception] = ccxt.BaseError

        cls = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt_rest, exchange_id, None)
        if cls is None or exchange_id not in ccxt_rest.exchanges:
            raise NotSupportedError(f"ccxt does not know an exchange called '{exchange_id}'.")
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": dict(options or {}),
        }
        if credentials is not None:
            config.update(apiKey=credentials.api_key, secret=credentials.secret)
            if credentials.password:
                config["password"] = credentials.password
        self.exchange: Any = cls(config)
        # Every credential ccxt now holds, and the forms it derives from them, is
        # masked in every error text and log line from here on (terminal.redaction).
        remember_credentials(*credentials_of(self.exchange))
        self.id: str = exchange_id
        self.name: str = str(self.exchange.name)
        if sandbox:
            self._call_sync(lambda: self.exchange.set_sandbox_mode(True))
        if credentials is not None:  # before the overrides: the exchange's own hosts are known then
            checked_for_keys(self.exchange, rest_url, ws_url)  # no plain text, foreign hosts logged
        self.rewrites: list[Rewrite] = override_urls(self.exchange.urls, rest_url, ws_url)
        if self.rewrites:
            hosts = sorted({urlsplit(r.new).netloc for r in self.rewrites})
            log.info("%s: %d API URLs point to %s", self.name, len(self.rewrites), ", ".join(hosts))
        for rewrite in self.rewrites:
            log.debug("%s: %s → %s", self.name, rewrite.old, rewrite.new)
        streaming = getattr(self.exchange, "streaming", None)
        if isinstance(streaming, dict):
            streaming["keepAlive"] = keepalive_ms
        self.poll_interval = max(poll_interval, self.exchange.rateLimit / 1000.0)
        hosts = sorted({urlsplit(url).netloc for _, url in api_urls(self.exchange.urls)})
        self.rate_gate = shared_gate(f"{exchange_id}|{','.join(hosts)}", self.name)
        install_gate(self.exchange, self.rate_gate, (ccxt.DDoSProtection, ccxt.RateLimitExceeded))
        install_checksums(self.exchange, ccxt)
        self.streams = Streams(self.exchange, ccxt)
        self._numbered_books: set[str] = set()  # symbols whose books have come with a sequence number
        self._book_nonces: dict[str, int | None] = {}  # the sequence number of each book last returned
        self._polled_trades: dict[str, set[str]] = {}

    # -- what the session reads -------------------------------------------------
    @property
    def timeframes(self) -> dict[str, str]:
        return dict(self.exchange.timeframes or {})

    @property
    def has(self) -> dict[str, Any]:
        return dict(self.exchange.has)

    @property
    def markets(self) -> dict[str, dict[str, Any]]:
        return self.exchange.markets or {}

    def milliseconds(self) -> int:
        return int(self.exchange.milliseconds())

    # -- REST, checked -------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        markets = await self._rest(lambda: self.exchange.load_markets(reload))
        if not markets:
            # A malformed answer leaves ccxt with an empty map it would keep.
            markets = await self._rest(lambda: self.exchange.load_markets(True))
        if not markets:
            raise MalformedResponseError(
                f"{self.name} returned no markets.", hint="The terminal retries by itself."
            )
        return dict(markets)

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        rows = await self._rest(
            lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since, limit, params or {})
        )
        if rows == [] and not self._last_body_is_an_empty_page():
            # ccxt turns an unreadable body into no candles; a history download
            # would take that for "nothing traded here" and remember it.
            raise self._malformed("candles")
        return self._check_ohlcv(rows, "candles")

    def _last_body_is_an_empty_page(self) -> bool:
        """Whether the last REST answer was readable JSON holding an empty list.

        An honest empty page is ``[]`` on Binance and ``{"code":"0","data":[]}`` on
        OKX; a truncated body or an HTML error page is neither.
        """
        body = getattr(self.exchange, "last_http_response", None)
        if not isinstance(body, str):
            return True  # not recorded: nothing to judge by
        try:
            parsed = json.loads(body)
        except ValueError:
            return False
        if isinstance(parsed, dict):
            return any(value == [] for value in parsed.values())
        return parsed == []

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        book = await self._rest(lambda: self.exchange.fetch_order_book(symbol, limit, params or {}))
        return self._check_book(book)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ticker = await self._rest(lambda: self.exchange.fetch_ticker(symbol, params or {}))
        if not isinstance(ticker, dict) or ticker.get("last") is None:
            raise self._malformed("a ticker")
        return ticker

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        if not self.exchange.has.get("fetchTickers"):
            return {s: await self.fetch_ticker(s) for s in symbols or []}
        tickers = await self._rest(lambda: self.exchange.fetch_tickers(symbols, params or {}))
        good = {s: t for s, t in (tickers or {}).items() if isinstance(t, dict) and t.get("last") is not None}
        if tickers and not good:
            raise self._malformed("tickers")
        return good

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        trades = await self._rest(lambda: self.exchange.fetch_trades(symbol, since, limit, params or {}))
        return self._check_trades(trades)

    async def fetch_balance(self) -> dict[str, Any]:
        """The account's balances (a private call: needs credentials)."""
        balance = await self._rest(lambda: self.exchange.fetch_balance())
        if not isinstance(balance, dict):
            raise self._malformed("balances")
        return balance

    # -- streaming, or polling where the exchange has no websocket method ---------
    async def watch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if not self.exchange.has.get("watchOrderBook"):
            await asyncio.sleep(self.poll_interval)
            return await self.fetch_order_book(symbol, limit)
        book = self._book_moved_on(symbol)
        if book is None:
            book = await self._ws(lambda: self.exchange.watch_order_book(symbol, limit, params or {}), symbol)
        bids, asks, nonce = list(book["bids"]), list(book["asks"]), book.get("nonce")
        problem = book_problem(bids, asks, nonce, needs_nonce=symbol in self._numbered_books)
        self._book_nonces[symbol] = nonce if isinstance(nonce, int) and not problem else None
        if problem:
            # ccxt would keep this book and wait for a snapshot that never comes:
            # drop the stream, so that the next watch subscribes and resyncs afresh.
            await self.streams.drop("book", symbol)
            raise MalformedResponseError(
                f"{self.name} sent an order book for {symbol} the terminal cannot use: {problem}.",
                hint="It is rebuilt from a fresh snapshot.",
            )
        if nonce is not None:
            self._numbered_books.add(symbol)
        return {"bids": bids, "asks": asks, "timestamp": book.get("timestamp"), "nonce": nonce,
                "symbol": symbol}  # fmt: skip

    def _book_moved_on(self, symbol: str) -> Any:
        """ccxt's book of ``symbol`` if it has moved on since the last one returned, else None.

        ccxt resolves a watch only with a message that comes while it waits: an update
        that came between two watches is applied to ccxt's book but shown only with the
        next message, and a market that then goes quiet would show a book one update old
        for as long as it stays quiet. Numbered books only (the number tells it moved).
        """
        last = self._book_nonces.get(symbol)
        cached = getattr(self.exchange, "orderbooks", {}).get(symbol)
        if last is None or cached is None:
            return None
        nonce = cached.get("nonce")
        if not isinstance(nonce, int) or nonce <= last:
            return None
        return cached.limit() if callable(getattr(cached, "limit", None)) else cached

    async def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        if not self.exchange.has.get("watchTrades"):
            return await self._poll_trades(symbol)
        trades = await self._ws(
            lambda: self.exchange.watch_trades(symbol, since, limit, params or {}), symbol
        )
        return self._check_trades(trades)

    async def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        if not self.exchange.has.get("watchOHLCV"):
            await asyncio.sleep(self.poll_interval)
            return await self.fetch_ohlcv(symbol, timeframe, limit=2)
        rows = await self._ws(
            lambda: self.exchange.watch_ohlcv(symbol, timeframe, since, limit, params or {}), symbol
        )
        return self._check_ohlcv(rows, "candles", allow_empty=True)

    async def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.exchange.has.get("watchTicker"):
            await asyncio.sleep(self.poll_interval)
            return await self.fetch_ticker(symbol)
        ticker = await self._ws(lambda: self.exchange.watch_ticker(symbol, params or {}), symbol)
        if ticker.get("last") is None:
            raise self._malformed("a ticker")
        return ticker

    async def reconnect(self, kind: str = "", symbol: str = "") -> None:
        """Resubscribe ``kind`` ("book", "trades", "candles", "ticker") of
        ``symbol``; the session calls this when a stream has been silent too
        long. Other streams go on. Without ``kind`` every connection is dropped."""
        await self.streams.drop(kind, symbol)

    async def close(self) -> None:
        await self.exchange.close()

    # -- internals -------------------------------------------------------------------
    async def _rest(self, call: Callable[[], Awaitable[T]]) -> T:
        """A REST call (through the rate gate), with ccxt's errors translated."""
        try:
            return await call()
        except self._ccxt_error as exc:
            raise self._translated(exc) from None

    async def _ws(self, call: Callable[[], Awaitable[T]], symbol: str | None = None) -> T:
        """A watch of ``symbol``, its errors translated as a stream's
        (``ccxt_streams.stream_error``); a private watch, without ``symbol``,
        has them translated as any call's."""
        try:
            return await call()
        except self._ccxt_error as exc:
            if symbol is not None:
                error = self.streams.error(exc, symbol, redact(str(exc)))
                if error is not None:
                    raise error from None
            raise self._translated(exc) from None

    def _call_sync(self, call: Callable[[], object]) -> None:
        try:
            call()
        except self._ccxt_error as exc:
            raise self._translated(exc) from None

    def _translated(self, exc: Exception) -> Exception:
        error = translate(exc, self.name)
        if isinstance(error, RateLimitedError):
            # The gate saw HTTP refusals already; a rate-limit code that came
            # another way (a websocket answer) starts the same cool-down.
            cooldown = getattr(exc, "terminal_cooldown", None)
            error.retry_after = cooldown if cooldown is not None else self.rate_gate.refused(None)
        return error

    def _malformed(self, what: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"{self.name} sent {what} the terminal cannot read.", hint="The terminal retries by itself."
        )

    def _check_ohlcv(self, rows: Any, what: str, allow_empty: bool = False) -> list[list[float]]:
        if not isinstance(rows, list):
            raise self._malformed(what)
        good = [list(r) for r in rows if isinstance(r, list | tuple) and len(r) >= 6 and None not in r[:6]]
        if rows and not good:
            raise self._malformed(what)
        if not rows and not allow_empty and rows is None:
            raise self._malformed(what)
        return good

    def _check_book(self, book: Any) -> dict[str, Any]:
        """A fetched book, held to the same rule as a watched one (``book_check``)."""
        if not isinstance(book, dict):
            raise self._malformed("an order book")
        bids, asks = book.get("bids"), book.get("asks")
        if not isinstance(bids, list) or not isinstance(asks, list) or book_problem(bids, asks):
            raise self._malformed("an order book")
        return book

    def _check_trades(self, trades: Any) -> list[dict[str, Any]]:
        if not isinstance(trades, list):
            raise self._malformed("trades")
        good = [
            t for t in trades
            if isinstance(t, dict) and None not in (t.get("price"), t.get("amount"), t.get("timestamp"))
        ]  # fmt: skip
        if trades and not good:
            raise self._malformed("trades")
        return good

    async def _poll_trades(self, symbol: str) -> list[dict[str, Any]]:
        """Trades new since the previous poll (by id), for exchanges without watchTrades."""
        seen = self._polled_trades.setdefault(symbol, set())
        while True:
            await asyncio.sleep(self.poll_interval)
            trades = await self.fetch_trades(symbol, limit=100)
            new = [t for t in trades if str(t.get("id")) not in seen]
            seen.clear()
            seen.update(str(t.get("id")) for t in trades)
            if new:
                return new
