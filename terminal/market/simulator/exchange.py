"""The built-in simulated exchange: ccxt's async interface over SymbolMarket.

It answers the same calls as a ``ccxt.pro`` exchange, in ccxt's data shapes,
so the rest of the terminal cannot tell them apart (DESIGN principle 5).
Time comes from ``clock`` (wall time by default); a pump task advances every
market to the clock a few times a second and wakes the watchers. Watch calls
follow ccxt.pro's default ``newUpdates`` behaviour: trades and candles return
what is new since the caller's previous call, books and tickers return the
current state after the next change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from terminal.errors import ExchangeClosedError, UnsupportedTimeframeError
from terminal.market.simulator.engine import SymbolMarket, iso8601
from terminal.market.simulator.instruments import INSTRUMENTS, Instrument
from terminal.market.simulator.market import SimulatedMarket, wall_clock_ms
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.resample import resample
from terminal.marketdata.timeframes import MINUTE_MS, TIMEFRAMES, floor_time, timeframe_ms

log = logging.getLogger(__name__)

MAX_OHLCV_LIMIT = 5000  # per request, as real exchanges cap pages
TRADES_LIMIT = 1000  # ccxt.pro's default trade cache per symbol


class SimulatedExchange:
    id = "simulated"
    name = "Simulated"
    #: What the simulator can do, in ccxt's ``has`` vocabulary.
    CAPABILITIES: ClassVar[tuple[str, ...]] = (
        "fetchOHLCV", "fetchOrderBook", "fetchTicker", "fetchTickers", "fetchTrades",
        "watchOrderBook", "watchTrades", "watchOHLCV", "watchTicker",
    )  # fmt: skip

    def __init__(
        self,
        seed: int | None = None,
        history_days: int = 30,
        speed: float = 1.0,
        clock: Callable[[], int] = wall_clock_ms,
        instruments: tuple[Instrument, ...] = INSTRUMENTS,
        pump_interval: float = 0.05,
        timeframes: list[str] | None = None,
        latency: float = 0.0,
        max_replay_s: float = 30.0,
        market: SimulatedMarket | None = None,
    ) -> None:
        # A connection to ``market`` (shared by every window), or to a market of its own.
        self._own_market = market is None
        self.market = market or SimulatedMarket(
            seed=seed,
            history_days=history_days,
            speed=speed,
            clock=clock,
            instruments=instruments,
            pump_interval=pump_interval,
            max_replay_s=max_replay_s,
        )
        self.latency = latency  # seconds each REST-like call takes, as over a network
        # ``timeframes`` lets a test play an exchange that offers fewer of them.
        self.timeframes = {tf: tf for tf in (timeframes or TIMEFRAMES)}
        self.has: dict[str, Any] = dict.fromkeys(self.CAPABILITIES, True)
        self.markets: dict[str, dict[str, Any]] = {}
        # What this connection's watches last returned (ccxt.pro's ``newUpdates``): its own,
        # so that two windows watching the same symbol do not take each other's updates.
        self._trade_cursor: dict[str, int] = {}
        self._versions: dict[tuple[str, ...], int] = {}
        self._ohlcv_cursor: dict[tuple[str, str], int] = {}
        self._closed = False

    @property
    def seed(self) -> int:
        return self.market.seed

    @property
    def clock(self) -> Callable[[], int]:
        return self.market.clock

    @property
    def start_ms(self) -> int:
        return self.market.start_ms

    def milliseconds(self) -> int:
        """The exchange's clock, as ccxt's ``milliseconds()``."""
        return self.market.clock()

    # -- markets --------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        await self._network()
        if not self.markets or reload:
            self.markets = {s: self._market(i) for s, i in self.market.instruments.items()}
        return self.markets

    @property
    def symbols(self) -> list[str]:
        return self.market.symbols

    def engine(self, symbol: str) -> SymbolMarket:
        """The symbol's market, created (with its history) on first use."""
        return self.market.engine(symbol)

    def advance(self, t_ms: int | None = None) -> list[str]:
        """Advance every started market to ``t_ms`` (the clock by default);
        returns the symbols whose market changed."""
        return self.market.advance(t_ms)

    # -- REST-like calls ------------------------------------------------------
    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        await self._network()
        self._check_timeframe(timeframe)
        engine = await self._current(symbol)
        limit = min(limit or 500, MAX_OHLCV_LIMIT)
        tf_ms = timeframe_ms(timeframe)
        minutes = engine.candles
        if since is None:  # the newest `limit` candles
            first_minute = floor_time(int(minutes.ts[-1]), timeframe) - (limit - 1) * tf_ms
        else:
            first_minute = floor_time(int(since) + tf_ms - 1, timeframe)  # first open >= since
        # Like Binance: a `since` before the first candle starts at the first one.
        start = int(np.searchsorted(minutes.ts, first_minute))
        stop = (
            int(np.searchsorted(minutes.ts, int(minutes.ts[start]) + limit * tf_ms))
            if start < len(minutes)
            else start
        )
        data = minutes.copy(start, stop)
        if timeframe != "1m":
            data = resample(data, tf_ms)
        return data.slice(0, limit).to_rows()

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self._network()
        await self._current(symbol)
        return self._book(symbol, limit)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._network()
        await self._current(symbol)
        return self._ticker(symbol)

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        await self._network()
        wanted = symbols or self.symbols
        for symbol in wanted:
            await self._current(symbol)
        return {s: self._ticker(s) for s in wanted}

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        await self._network()
        engine = await self._current(symbol)
        trades = [t for t in engine.trades if since is None or t.timestamp >= since]
        trades = trades[-(limit or 500) :]
        return [t.as_ccxt(symbol) for t in trades]

    # -- streaming ------------------------------------------------------------
    async def watch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        engine = await self.market.ready(symbol)
        key = ("book", symbol)
        await self._wait_for_change(key, lambda: engine.book_version)
        book = self._book(symbol, limit)
        self._versions[key] = engine.book_version  # what this book shows
        return book

    async def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        engine = await self.market.ready(symbol)
        cursor = self._trade_cursor.setdefault(symbol, engine.trade_seq)
        await self._wait(lambda: engine.trade_seq > cursor)
        # Like ccxt's trade cache: at most TRADES_LIMIT of the newest come back.
        backlog = min(engine.trade_seq - cursor, TRADES_LIMIT)
        new = [t for t in engine.trades[-backlog:] if t.id > cursor]
        self._trade_cursor[symbol] = engine.trade_seq
        return [t.as_ccxt(symbol) for t in new]

    async def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        """Candles of ``timeframe`` changed since this caller's last call
        (the live one, and any that closed in between), oldest first."""
        self._check_timeframe(timeframe)
        engine = await self.market.ready(symbol)
        key = (symbol, timeframe)
        if len(engine.candles):
            # A first call starts from the candle live when it was made, so
            # candles that change or close while it waits are not lost.
            self._ohlcv_cursor.setdefault(key, int(engine.candles.ts[-1]))
        await self._wait_for_change(("ohlcv", symbol, timeframe), lambda: engine.candles.version)
        self._versions[("ohlcv", symbol, timeframe)] = engine.candles.version
        tf_ms = timeframe_ms(timeframe)
        newest = int(engine.candles.ts[-1])
        first = self._ohlcv_cursor.get(key, newest)
        first = floor_time(max(first, newest - MAX_OHLCV_LIMIT * tf_ms), timeframe)
        self._ohlcv_cursor[key] = floor_time(newest, timeframe)
        start = int(np.searchsorted(engine.candles.ts, first))
        data = engine.candles.copy(start, len(engine.candles))
        return (resample(data, tf_ms) if timeframe != "1m" else data).to_rows()

    async def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        engine = await self.market.ready(symbol)
        key = ("ticker", symbol)
        await self._wait_for_change(key, lambda: engine.candles.version)
        ticker = self._ticker(symbol)
        self._versions[key] = engine.candles.version  # what this ticker shows
        return ticker

    async def close(self) -> None:
        """Close this connection (its watches end); a market of its own closes too."""
        self._closed = True
        if self._own_market:
            await self.market.close()
        else:
            await self.market.wake()

    # -- internals ------------------------------------------------------------
    async def _network(self) -> None:
        """A REST round trip: yields to the loop, after ``latency`` seconds."""
        await asyncio.sleep(self.latency)

    async def _current(self, symbol: str) -> SymbolMarket:
        engine = await self.market.ready(symbol)
        engine.advance_to(self.market.clock())
        return engine

    async def _wait_for_change(self, key: tuple[str, ...], version: Callable[[], int]) -> None:
        """Return once ``version()`` differs from what this watch last returned
        (at once if it changed while the caller was busy); a first call waits
        for the next change, as ccxt's do. The caller records in
        ``_versions[key]`` the version its answer shows."""
        seen = self._versions.setdefault(key, version())
        await self._wait(lambda: version() != seen)

    async def _wait(self, ready: Callable[[], bool]) -> None:
        if self._closed or self.market.closed:
            raise ExchangeClosedError("The simulated exchange was closed.")
        await self.market.wait(ready, lambda: self._closed)
        if self._closed or self.market.closed:
            raise ExchangeClosedError("The simulated exchange was closed.")

    def _check_timeframe(self, timeframe: str) -> None:
        timeframe_ms(timeframe)  # raises on unknown ones
        if timeframe not in self.timeframes:
            raise UnsupportedTimeframeError(f"The simulated exchange does not offer {timeframe} candles.")

    def _book(self, symbol: str, limit: int | None) -> dict[str, Any]:
        engine = self.engine(symbol)
        engine.advance_to(self.market.clock())
        bids, asks = engine.book_snapshot(limit)
        return {
            "symbol": symbol,
            "bids": bids,
            "asks": asks,
            "timestamp": engine.time_ms,
            "datetime": iso8601(engine.time_ms),
            "nonce": engine.book_version,
        }

    def _ticker(self, symbol: str) -> dict[str, Any]:
        engine = self.engine(symbol)
        engine.advance_to(self.market.clock())
        candles = engine.candles
        now = engine.time_ms
        # The 1440 minute candles that opened in the last 24 h, the live one
        # included (counting from ``now`` itself would drop one mid-minute).
        start = int(np.searchsorted(candles.ts, now - now % MINUTE_MS - 24 * 3600 * 1000 + MINUTE_MS))
        day = OHLCV(
            candles.ts[start:],
            candles.open[start:],
            candles.high[start:],
            candles.low[start:],
            candles.close[start:],
            candles.volume[start:],
        )
        last = engine.last_price
        open_ = float(day.open[0]) if len(day) else last
        base_volume = float(day.volume.sum())
        quote_volume = float((day.volume * (day.high + day.low + day.close) / 3).sum())
        bid, ask = engine.best_bid_ask()
        change = last - open_
        return {
            "symbol": symbol,
            "timestamp": now,
            "datetime": iso8601(now),
            "high": float(day.high.max()) if len(day) else last,
            "low": float(day.low.min()) if len(day) else last,
            "bid": bid,
            "ask": ask,
            "open": open_,
            "close": last,
            "last": last,
            "change": change,
            "percentage": change / open_ * 100 if open_ else None,
            "baseVolume": base_volume,
            "quoteVolume": quote_volume,
            "vwap": quote_volume / base_volume if base_volume else None,
            "info": {},
        }

    def _market(self, i: Instrument) -> dict[str, Any]:
        return {
            "id": i.market_id,
            "symbol": i.symbol,
            "base": i.base,
            "quote": i.quote,
            "baseId": i.base,
            "quoteId": i.quote,
            "type": "spot",
            "spot": True,
            "margin": False,
            "swap": False,
            "future": False,
            "option": False,
            "contract": False,
            "active": True,
            "taker": 0.001,
            "maker": 0.001,
            "precision": {"price": i.tick, "amount": i.lot},
            "limits": {
                "amount": {"min": i.lot, "max": None},
                "price": {"min": i.tick, "max": None},
                "cost": {"min": 5.0, "max": None},
            },
            "info": {},
        }
