"""The market source for real exchanges: any ccxt exchange, behind the same
async interface as the simulator (``terminal.market.source.ExchangeSource``).

What ccxt already does is used as it is: markets, precision, rate limiting
(``enableRateLimit``), websocket reconnection and order book resync. This
module adds what ccxt lacks (see docs/architecture.md and the ccxt notes):

- every ccxt exception becomes a terminal error in plain words, without
  secrets (``ccxt_errors.translate``);
- both rate-limit errors lead to one shared cool-down that every REST call
  waits out, growing while the exchange keeps refusing;
- REST answers are sanity-checked: ccxt returns None-filled objects for a
  malformed HTTP-200 body and can cache an empty market map;
- websocket keepalive pings every few seconds, so ccxt's own pong watchdog
  notices a dead connection (e.g. a receive loop killed by a malformed frame)
  in seconds instead of the exchanges' minutes; ``reconnect()`` forces it;
- an exchange without a websocket method is polled, no faster than its rate
  limit allows.

ccxt is imported when the first CcxtSource is made, never at start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from terminal.errors import MalformedResponseError, NotSupportedError, RateLimitedError
from terminal.market.ccxt_errors import translate
from terminal.market.endpoints import Rewrite, override_urls

log = logging.getLogger(__name__)
T = TypeVar("T")

KEEPALIVE_MS = 3_000  # ping interval; ccxt fails a connection after two missed pongs
TIMEOUT_MS = 10_000  # REST timeout
COOLDOWN_START_S = 2.0
COOLDOWN_MAX_S = 60.0


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
        self._secrets: tuple[str, ...] = ()
        if credentials is not None:
            config.update(apiKey=credentials.api_key, secret=credentials.secret)
            if credentials.password:
                config["password"] = credentials.password
            self._secrets = tuple(s for s in (credentials.secret, credentials.password) if s)
        self.exchange: Any = cls(config)
        self.id: str = exchange_id
        self.name: str = str(self.exchange.name)
        if sandbox:
            self._call_sync(lambda: self.exchange.set_sandbox_mode(True))
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
        self._cooldown_until = 0.0
        self._cooldown = COOLDOWN_START_S
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
        if rows == [] and not self._last_body_is_a_list():
            # ccxt turns an unreadable body into no candles; a history download
            # would take that for "nothing traded here" and remember it.
            raise self._malformed("candles")
        return self._check_ohlcv(rows, "candles")

    def _last_body_is_a_list(self) -> bool:
        """Whether the last REST answer was a JSON list (an honest empty page is ``[]``)."""
        body = getattr(self.exchange, "last_http_response", None)
        if not isinstance(body, str):
            return True  # not recorded: nothing to judge by
        try:
            return isinstance(json.loads(body), list)
        except ValueError:
            return False

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
        book = await self._ws(lambda: self.exchange.watch_order_book(symbol, limit, params or {}))
        return {"bids": list(book["bids"]), "asks": list(book["asks"]), "timestamp": book.get("timestamp"),
                "nonce": book.get("nonce"), "symbol": symbol}  # fmt: skip

    async def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        if not self.exchange.has.get("watchTrades"):
            return await self._poll_trades(symbol)
        trades = await self._ws(lambda: self.exchange.watch_trades(symbol, since, limit, params or {}))
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
            lambda: self.exchange.watch_ohlcv(symbol, timeframe, since, limit, params or {})
        )
        return self._check_ohlcv(rows, "candles", allow_empty=True)

    async def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.exchange.has.get("watchTicker"):
            await asyncio.sleep(self.poll_interval)
            return await self.fetch_ticker(symbol)
        ticker = await self._ws(lambda: self.exchange.watch_ticker(symbol, params or {}))
        if ticker.get("last") is None:
            raise self._malformed("a ticker")
        return ticker

    async def reconnect(self) -> None:
        """Drop every websocket connection; the next watch reconnects and resubscribes
        (the session calls this when a stream has been silent too long)."""
        import ccxt

        for client in list(getattr(self.exchange, "clients", {}).values()):
            client.on_error(ccxt.RequestTimeout(f"{self.name}: no data for too long, reconnecting"))

    async def close(self) -> None:
        await self.exchange.close()

    # -- internals -------------------------------------------------------------------
    async def _rest(self, call: Callable[[], Awaitable[T]]) -> T:
        """A REST call after any cool-down, with ccxt's errors translated."""
        wait = self._cooldown_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            result = await call()
        except self._ccxt_error as exc:
            raise self._translated(exc) from None
        self._cooldown = COOLDOWN_START_S
        return result

    async def _ws(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except self._ccxt_error as exc:
            raise self._translated(exc) from None

    def _call_sync(self, call: Callable[[], object]) -> None:
        try:
            call()
        except self._ccxt_error as exc:
            raise self._translated(exc) from None

    def _translated(self, exc: Exception) -> Exception:
        error = translate(exc, self.name, self._secrets)
        if isinstance(error, RateLimitedError):
            # One cool-down for both of ccxt's rate-limit errors and for every
            # REST call: the exchange limits the account or IP, not one stream.
            delay = max(error.retry_after or 0.0, self._cooldown)
            self._cooldown_until = max(self._cooldown_until, time.monotonic() + delay)
            self._cooldown = min(self._cooldown * 2, COOLDOWN_MAX_S)
            log.warning("%s is rate limiting; pausing requests for %.1f s", self.name, delay)
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
        if not isinstance(book, dict):
            raise self._malformed("an order book")
        bids, asks = book.get("bids"), book.get("asks")
        if not isinstance(bids, list) or not isinstance(asks, list) or not (bids or asks):
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
