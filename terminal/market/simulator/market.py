"""The simulated market: every symbol's ``SymbolMarket``, one clock and one pump.

One per process: every window on the simulated exchange connects to it
(``SimulatedExchange``), so they all see the same prices and trades. With a
``MarketMemory`` (the history file) it keeps its 1m candles and its record, and
the next start continues from where it stopped: the minutes it was closed are
filled by the simulator's own rules from the last kept close, and ``started``
says how long it was away. A different seed asked for on purpose starts a new
market and says which one it replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from terminal.errors import UnknownSymbolError, describe
from terminal.market.simulator.engine import SymbolMarket
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS, Instrument
from terminal.market.simulator.memory import MarketMemory
from terminal.marketdata.candles import OHLCV, concat
from terminal.marketdata.timeframes import MINUTE_MS, floor_time
from terminal.store.market_records import MarketRecord

log = logging.getLogger(__name__)

SAVE_EVERY_S = 60.0  # how often the closed minutes are written to the history file


def wall_clock_ms() -> int:
    import time

    return int(time.time() * 1000)


def new_seed() -> int:
    return int(np.random.SeedSequence().generate_state(1)[0])


@dataclass(frozen=True)
class MarketStart:
    """How the market began this run: continued (``resumed_after_ms``: the time it
    was closed), or new (``replaced_seed``: the seed of the market it replaced)."""

    seed: int
    resumed_after_ms: int | None = None
    replaced_seed: int | None = None


class SimulatedMarket:
    def __init__(
        self,
        seed: int | None = None,
        history_days: int = 30,
        speed: float = 1.0,
        clock: Callable[[], int] = wall_clock_ms,
        instruments: tuple[Instrument, ...] = INSTRUMENTS,
        pump_interval: float = 0.05,
        max_replay_s: float = 30.0,
        memory: Callable[[], MarketMemory | None] | None = None,
        new: bool = False,
    ) -> None:
        self.requested_seed = seed  # None: continue the kept market, or a new one
        self.new = new  # a new market on purpose, even with the kept one's seed
        self.seed = seed if seed is not None else new_seed()
        self.clock = clock
        self.pump_interval = pump_interval
        # A longer gap between two advances (the machine slept) is skipped, not
        # replayed event by event; tests that step a manual clock far set it higher.
        self.max_replay_ms = int(max_replay_s * 1000)
        self.start_ms = floor_time(clock(), "1m")
        self.instruments = {i.symbol: i for i in instruments}
        self._speed = speed
        self._history_minutes = history_days * 1440
        self._engines: dict[str, SymbolMarket] = {}
        self.changed = asyncio.Condition()  # binds to the loop on first use
        self._pump_task: asyncio.Task[None] | None = None
        self.closed = False
        # Keeping: None, a market of this run only (tests, no history file).
        self._memory_of = memory
        self._memory: MarketMemory | None = None
        self._record: MarketRecord | None = None
        self._opened = memory is None
        self._opening: asyncio.Task[None] | None = None
        self._open_lock = threading.Lock()
        self._kept_to: dict[str, int] = {}  # per symbol: the newest open time written
        self._saving = asyncio.Lock()
        self.started: MarketStart | None = None if memory is not None else MarketStart(self.seed)
        self.on_start: list[Callable[[MarketStart], None]] = []  # see when_started

    # -- symbols ----------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return list(self.instruments)

    def engine(self, symbol: str) -> SymbolMarket:
        """The symbol's market, made (with its history) on first use. Blocks on
        the history file when there is one: async callers use ``ready``."""
        engine = self._engines.get(symbol)
        if engine is None:
            if symbol not in self.instruments:
                raise UnknownSymbolError(f"The simulated exchange does not list {symbol}.")
            self._open()
            engine = self._engines.get(symbol) or self._make(symbol, self._recall(symbol))
        return engine

    async def ready(self, symbol: str) -> SymbolMarket:
        """``engine(symbol)``, with the history file read off the event loop."""
        engine = self._engines.get(symbol)
        if engine is not None:
            return engine
        if symbol not in self.instruments:
            raise UnknownSymbolError(f"The simulated exchange does not list {symbol}.")
        if not self._opened:
            if self._opening is None:
                self._opening = asyncio.get_running_loop().create_task(asyncio.to_thread(self._open))
            await asyncio.shield(self._opening)
            self._announce()
        kept = await asyncio.to_thread(self._recall, symbol)
        return self._engines.get(symbol) or self._make(symbol, kept)

    def advance(self, t_ms: int | None = None) -> list[str]:
        """Advance every started symbol to ``t_ms`` (the clock by default);
        returns the symbols whose market changed."""
        t = self.clock() if t_ms is None else t_ms
        return [s for s, e in self._engines.items() if e.advance_to(t)]

    # -- waiting ----------------------------------------------------------------
    async def wait(self, ready: Callable[[], bool], gone: Callable[[], bool]) -> None:
        """Until ``ready()`` or ``gone()`` (the caller's connection closed) or the market closed."""
        self._ensure_pump()
        async with self.changed:
            await self.changed.wait_for(lambda: self.closed or gone() or ready())

    async def wake(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def _ensure_pump(self) -> None:
        if self.closed:
            return
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name="simulator-pump")

    async def _pump(self) -> None:
        saved_at = self.clock()
        while not self.closed:
            if self.advance():
                await self.wake()
            if self._memory is not None and self.clock() - saved_at >= SAVE_EVERY_S * 1000:
                saved_at = self.clock()
                await self._save_quietly(final=False)
            await asyncio.sleep(self.pump_interval)

    async def close(self, *, save: bool = True) -> None:
        """Stop, after writing what it made since the last save (``save``)."""
        if self.closed:
            return
        self.closed = True
        task, self._pump_task = self._pump_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.wake()
        if save:
            await self._save_quietly(final=True)

    # -- keeping ----------------------------------------------------------------
    async def save(self, *, final: bool = False) -> None:
        """Write the minutes made since the last save (the live one too when ``final``)
        and the time the market ran to. Raises what the history file raises."""
        memory, record = self._memory, self._record
        if memory is None or record is None:
            return
        async with self._saving:
            now = self.clock()
            new: dict[str, OHLCV] = {}
            for symbol, engine in self._engines.items():
                candles = engine.candles
                end = len(candles) if final else len(candles) - 1  # the live minute when final only
                start = int(np.searchsorted(candles.ts, self._kept_to.get(symbol, -1), side="right"))
                if end > start:
                    new[symbol] = candles.copy(start, end)
            await asyncio.to_thread(_write, memory, record, new, now)
            for symbol, rows in new.items():
                self._kept_to[symbol] = int(rows.ts[-1])

    async def keep_in(self, memory: MarketMemory) -> None:
        """Keep this market in ``memory`` from now on: it ran without one (a first start
        makes the history file only after the first candles). Its record is written now,
        its candles at the next save."""
        if self.closed or self._memory is not None:
            return
        await asyncio.to_thread(memory.begin, self.seed, self.start_ms)
        self._memory, self._record = memory, await asyncio.to_thread(memory.record)
        log.info("The simulated market (seed %s) is kept in the history file from now on", self.seed)

    async def _save_quietly(self, *, final: bool) -> None:
        try:
            await self.save(final=final)
        except Exception as exc:  # noqa: BLE001 - the market goes on; the next save tries again
            log.warning("Could not keep the simulated market: %s", describe(exc, detailed=True))

    def _open(self) -> None:
        """Find the kept market (blocks): continue it, or begin a new one."""
        with self._open_lock:
            if not self._opened:
                self._find_kept()
                self._opened = True

    def _find_kept(self) -> None:
        try:
            memory = self._memory_of() if self._memory_of is not None else None
            record = memory.record() if memory is not None else None
            if memory is None:
                self.started = MarketStart(self.seed)
                log.info("The simulated market runs without a history file: it starts anew")
                return
            if record is not None and not self.new and self.requested_seed in (None, record.seed):
                self.seed = record.seed
                away = max(0, self.start_ms - record.saved_ms)
                self.started = MarketStart(self.seed, resumed_after_ms=away)
            else:
                memory.begin(self.seed, self.start_ms)
                self.started = MarketStart(self.seed, replaced_seed=None if record is None else record.seed)
            self._memory, self._record = memory, memory.record()
        except Exception as exc:  # noqa: BLE001 - the market runs anyway, only not kept
            log.warning("The simulated market cannot be kept: %s", describe(exc, detailed=True))
            self._memory = self._record = None
            self.started = MarketStart(self.seed)

    def when_started(self, listener: Callable[[MarketStart], None]) -> None:
        """Tell ``listener`` how the market began, once that is known (at once if it is)."""
        if self._opened and self.started is not None:
            listener(self.started)
        else:
            self.on_start.append(listener)

    def _announce(self) -> None:
        listeners, self.on_start = list(self.on_start), []
        if self.started is not None:
            for listener in listeners:
                listener(self.started)

    def _recall(self, symbol: str) -> OHLCV:
        memory = self._memory
        if memory is None:
            return OHLCV.empty()
        try:
            return memory.recall(symbol, self.start_ms - self._history_minutes * MINUTE_MS)
        except Exception as exc:  # noqa: BLE001 - this symbol starts anew; said in the log
            log.warning("Could not read the kept %s market: %s", symbol, describe(exc, detailed=True))
            return OHLCV.empty()

    def _make(self, symbol: str, kept: OHLCV) -> SymbolMarket:
        """The symbol's market from its kept candles (continued to now by the
        simulator's own rules), or from generated history when none are kept."""
        instrument = self.instruments[symbol]
        index = list(self.instruments).index(symbol)
        # A restart within the minute it stopped: that minute is this run's live one.
        kept = kept.slice(0, int(np.searchsorted(kept.ts, self.start_ms)))
        if len(kept):
            first_missing = int(kept.ts[-1]) + MINUTE_MS
            # Deterministic for a given market and stop: the same gap however often it is read.
            rng = np.random.default_rng([self.seed, index, first_missing // MINUTE_MS])
            minutes = min((self.start_ms - first_missing) // MINUTE_MS, self._history_minutes)
            gap = generate_history(instrument, self.start_ms, minutes, rng, start_price=float(kept.close[-1]))
            history = concat(kept, gap)
            history = history.slice(max(0, len(history) - self._history_minutes), len(history))
            self._kept_to[symbol] = int(kept.ts[-1])
        else:
            rng = np.random.default_rng([self.seed, index])
            history = generate_history(instrument, self.start_ms, self._history_minutes, rng)
        engine = SymbolMarket(instrument, rng, self.start_ms, history, 12.0 * self._speed)
        engine.max_replay_ms = self.max_replay_ms
        self._engines[symbol] = engine
        return engine


def _write(memory: MarketMemory, record: MarketRecord, new: dict[str, OHLCV], now: int) -> None:
    for symbol, rows in new.items():
        memory.keep(symbol, rows)
    memory.ran_to(record, now)
