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
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from terminal.errors import ExchangeClosedError, UnknownSymbolError, UnsupportedTimeframeError
from terminal.market.simulator.engine import SymbolMarket, iso8601
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS, Instrument
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.resample import resample
from terminal.marketdata.timeframes import MINUTE_MS, TIMEFRAMES, floor_time, timeframe_ms

log = logging.getLogger(__name__)

MAX_OHLCV_LIMIT = 5000  # per request, as real exchanges cap pages
TRADES_LIMIT = 1000  # ccxt.pro's default trade cache per symbol


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


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
    ) -> None:
        self.seed = seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
        self.clock = clock
        self.pump_interval = pump_interval
        self.latency = latency  # seconds each REST-like call takes, as over a network
        # A longer gap between two advances (the machine slept) is skipped, not
        # replayed event by event; tests that step a manual clock far set it higher.
        self.max_replay_ms = int(max_replay_s * 1000)
        # ``timeframes`` lets a test play an exchange that offers fewer of them.
        self.timeframes = {tf: tf for tf in (timeframes or TIMEFRAMES)}
        self.has: dict[str, Any] = dict.fromkeys(self.CAPABILITIES, True)
        self.start_ms = floor_time(clock(), "1m")
        self._instruments = {i.symbol: i for i in instruments}
        self._speed = speed
        self._history_minutes = history_days * 1440
        self._engines: dict[str, SymbolMarket] = {}
        self.markets: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()  # binds to the loop on first use
        self._pump_task: asyncio.Task[None] | None = None
        self._trade_cursor: dict[str, int] = {}
        self._versions: dict[tuple[str, ...], int] = {}  # what each watch last returned
        self._ohlcv_cursor: dict[tuple[str, str], int] = {}
        self._closed = False

    def milliseconds(self) -> int:
        """The exchange's clock, as ccxt's ``milliseconds()``."""
        return self.clock()

    # -- markets --------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        await self._network()
        if not self.markets or reload:
            self.markets = {s: self._market(i) for s, i in self._instruments.items()}
        return self.markets

    @property
    def symbols(self) -> list[str]:
        return list(self._instruments)

    def engine(self, symbol: str) -> SymbolMarket:
        """The symbol's market, created (with its history) on first use."""
        engine = self._engines.get(symbol)
        if engine is None:
            instrument = self._instruments.get(symbol)
            if instrument is None:
                raise UnknownSymbolError(f"The simulated exchange does not list {symbol}.")
            index = list(self._instruments).index(symbol)
            rng = np.random.default_rng([self.seed, index])
            history = generate_history(instrument, self.start_ms, self._history_minutes, rng)
            engine = SymbolMarket(instrument, rng, self.start_ms, history, 12.0 * self._speed)
            engine.max_replay_ms = self.max_replay_ms
            self._engines[symbol] = engine
        return engine

    def advance(self, t_ms: int | None = None) -> list[str]:
        """Advance every started market to ``t_ms`` (the clock by default);
        returns the symbols whose market changed."""
        t = self.clock() if t_ms is None else t_ms
        return [s for s, e in self._engines.items() if e.advance_to(t)]

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
        engine = self._current(symbol)
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
        return self._book(symbol, limit)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        await self._network()
        return self._ticker(symbol)

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        await self._network()
        return {s: self._ticker(s) for s in (symbols or self.symbols)}

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        await self._network()
        engine = self._current(symbol)
        trades = [t for t in engine.trades if since is None or t.timestamp >= since]
        trades = trades[-(limit or 500) :]
        return [t.as_ccxt(symbol) for t in trades]

    # -- streaming ------------------------------------------------------------
    async def watch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        engine = self.engine(symbol)
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
        engine = self.engine(symbol)
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
        engine = self.engine(symbol)
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
        engine = self.engine(symbol)
        key = ("ticker", symbol)
        await self._wait_for_change(key, lambda: engine.candles.version)
        ticker = self._ticker(symbol)
        self._versions[key] = engine.candles.version  # what this ticker shows
        return ticker

    async def close(self) -> None:
        self._closed = True
        task, self._pump_task = self._pump_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._changed:
            self._changed.notify_all()

    # -- internals ------------------------------------------------------------
    async def _network(self) -> None:
        """A REST round trip: yields to the loop, after ``latency`` seconds."""
        await asyncio.sleep(self.latency)

    def _current(self, symbol: str) -> SymbolMarket:
        engine = self.engine(symbol)
        engine.advance_to(self.clock())
        return engine

    async def _wait_for_change(self, key: tuple[str, ...], version: Callable[[], int]) -> None:
        """Return once ``version()`` differs from what this watch last returned
        (at once if it changed while the caller was busy); a first call waits
        for the next change, as ccxt's do. The caller records in
        ``_versions[key]`` the version its answer shows."""
        seen = self._versions.setdefault(key, version())
        await self._wait(lambda: version() != seen)

    async def _wait(self, ready: Callable[[], bool]) -> None:
        if self._closed:
            raise ExchangeClosedError("The simulated exchange was closed.")
        self._ensure_pump()
        async with self._changed:
            await self._changed.wait_for(lambda: self._closed or ready())
        if self._closed:
            raise ExchangeClosedError("The simulated exchange was closed.")

    def _ensure_pump(self) -> None:
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name="simulator-pump")

    async def _pump(self) -> None:
        while not self._closed:
            if self.advance():
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self.pump_interval)

    def _check_timeframe(self, timeframe: str) -> None:
        timeframe_ms(timeframe)  # raises on unknown ones
        if timeframe not in self.timeframes:
            raise UnsupportedTimeframeError(f"The simulated exchange does not offer {timeframe} candles.")

    def _book(self, symbol: str, limit: int | None) -> dict[str, Any]:
        engine = self._current(symbol)
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
        engine = self._current(symbol)
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
