"""Alerts benchmark (issue 18): 1,000 alerts over 20 symbols, the feed at 5,000 messages/s.

    .venv/bin/python benchmarks/bench_alerts.py [--seconds 10] [--rate 5000] [--no-diagnostic]

Targets (issue 18, "Performance"): evaluation <= 20 ms of CPU per second of feed; from
the message that crosses to the notification request, p99 <= 100 ms.

The path measured is the app's: a qasync event loop on an offscreen QApplication, a real
``MarketSession`` whose ticker watches (20 symbols) and background candle sessions (the
alerts' 1m series) feed the app's ``AlertCenter`` through its ``AlertFeed``; the center
keeps its alerts and firings in a real history file, logs at INFO to a real log file (the
app's default), and sends a desktop notification per firing (from its queue, in the order
they fired). Only two things are not the app's own:

* the source (``PacedSource``, implementing ``terminal.market.source.ExchangeSource``)
  hands out ticker messages of a pre-generated random walk per symbol at ``--rate`` in
  total: a pacer task queues every message that is due, in batches every ~2 ms, and
  ``watch_ticker`` returns them one by one, one per loop step as from a socket (every
  message is delivered, none coalesced; when the loop falls behind, they queue up).
  Each message is stamped with ``perf_counter_ns`` when ``watch_ticker`` hands it over.
  Its 1m candles are built from the same walk and handed to the candle watches once a
  second (about Binance's kline cadence); the chart's book ticks ten times a second;
  there are no trades;
* the desktop notifier is ``RecordingNotifications``: its ``notify`` records
  ``perf_counter_ns`` at the call (the notification request) and returns True; the
  n-th call is the n-th firing's (the center sends them in order: checked by title).
  No webhooks are set up.

The alerts (trigger EVERY, so firings keep happening): per symbol 35 price levels
(log-uniformly 0.05% to 5% either side of the start, directions up/down/either), 5 drawn
lines (3 trend lines, a ray and a horizontal line, 0.05% to 2% off the start, some
sloping through the walk), 5 percent moves (0.05% in 1 min ... 1% in 15 min); and 100
indicator and volume conditions on the 1m candles of 8 symbols (the feed watches at most
``MAX_SERIES`` = 8 candle series per exchange): RSI levels, EMA and SMA crosses, close
outside BB, volume spikes.

Steady state: a percent-move alert looks back over its window (up to 15 minutes), so the
engine keeps that much price history per market. Before the paced feed starts, 15
minutes of earlier prices (one per second per symbol, past timestamps) go through the
same path, as if the terminal had been running for a while; then 3 s of warm-up, then
``--seconds`` measured.

Figures, over the measured window:
* evaluation CPU: time inside the session's ``on_price`` hook (the alerts feed's queue)
  and the feed's ``flush`` every ``FLUSH_S`` (each symbol's queued prices ->
  ``engine.price_runs`` -> the firings, listed by ``AlertCenter._on_fire``, and the task
  of the loop turn that fired), inside ``engine.candles``, and inside
  ``AlertCenter._dispatch``, which that task runs after the turn (the turn's firings
  queued for the desktop notification, the Qt signal, the log; their sending from the
  center's queue and the history file's write run after, as the notification and save
  tasks did, outside the meters): the GUI thread's CPU clock around
  every 8th call (a read costs ~0.8 us here, too much for every one of 5,000 calls a
  second), scaled to all calls, and ``perf_counter_ns`` (wall) around every call. The
  meters' own cost is taken off, as measured ON THE LIVE LOOP: a short extra live pass
  (same set-up, a few seconds) with the feed's hook and flush replaced by no-ops behind
  the same meters gives the meter's cost per call there (CPU and wall), which is what is
  subtracted. The same meter around a no-op in a tight loop costs several times less
  (its code and the clocks hot in the caches), far below its cost between the loop's
  other work: taking that off left the hook's CPU above its wall time, impossible for
  code on one thread. Both calibrations are printed, and the evaluation as metered,
  before the meter's live cost is taken off. The pass runs no evaluation between the
  meters, so its loop is a little lighter than the measured run's and the hook's 5,000
  calls a second make its figure the most sensitive: the live cost varies by ~15% from
  run to run, 2-3 ms/s of the hook's figure. Also per message and at the full rate (when
  the loop could not keep up), the firings' share (``engine._fire`` with
  ``AlertCenter._on_fire``, and ``_dispatch``), and the whole process's and GUI thread's CPU;
* messages handed over per second, firings per second, event-loop lag (5 ms probe);
* latency from the hand-over of the message that fired to the ``notify`` call: p50 /
  p99 / max; and from the moment the pacer queued it (its due time), which adds any
  backlog in the source when the loop falls behind. Each message's hand-over stamp waits
  beside the feed's queue (outside the meters) and a firing looks its message up by the
  price's time and value: no work per message inside the meters.

Reference, same messages (the hand-overs of the live run, replayed after it, no loop):
* a naive evaluator: on each message a loop over all the symbol's price, line and move
  alerts comparing the previous and the new price with each level (plain tuples);
* the engine alone (``AlertEngine.price``, a no-op ``on_fire``): us per message; the
  same without the move alerts. Both also count firings: the engine alone, fed price by
  price, must fire the price, line and move alerts exactly as the live run did (where the
  feed hands over each symbol's queued run in one call), and the naive loop the price
  alerts exactly as the engine and the lines within 2 % (the engine places a line once a
  second; the naive loop computes its level on every price): a check that nothing was lost.

``--flush-ms 0`` evaluates each price as it comes (the hook then holds the flush: its
figure counts both).

A replay runs hot in the caches; in the app the loop's other work runs between two
messages, and the same engine calls cost several times more there (here ~3x: the live
figure is the one the target is about; the replays compare the two evaluators like for
like).

A second, diagnostic live run repeats the first without the 100 move alerts (skip it
with ``--no-diagnostic``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import math
import shutil
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import _common
import numpy as np
import qasync
from _common import print_table, verdict
from PySide6.QtWidgets import QApplication

app = QApplication.instance() or QApplication(["bench_alerts"])

from terminal.alerts import feed as alert_feed  # noqa: E402
from terminal.alerts.delivery.desktop import DesktopNotifications, Sound  # noqa: E402
from terminal.alerts.engine import AlertEngine  # noqa: E402
from terminal.alerts.feed import MAX_SERIES  # noqa: E402
from terminal.alerts.keeping import AlertBook  # noqa: E402
from terminal.alerts.rules import (  # noqa: E402
    Alert,
    Direction,
    Firing,
    IndicatorCondition,
    LineCross,
    Move,
    PriceCross,
    Trigger,
    VolumeSpike,
)
from terminal.errors import ExchangeClosedError  # noqa: E402
from terminal.logs import setup_logging  # noqa: E402
from terminal.market.session import MarketSession  # noqa: E402
from terminal.marketdata.candles import CandleSeries  # noqa: E402
from terminal.store.history_file import HistoryFile  # noqa: E402
from terminal.ui.alerts.center import AlertCenter  # noqa: E402

RATE = 5_000  # ticker messages per second, all symbols together
PACE_S = 0.002  # the pacer queues what is due this often
WARMUP_S = 3.0
PREROLL_S = 900  # the longest move window: 15 minutes of earlier prices before the run
STEP_SIGMA = 1e-5  # log-price step per message (per symbol ~250/s: ~0.12% a minute)
CANDLE_EVERY_NS = 1_000_000_000  # candle updates per watched series
BOOK_EVERY_NS = 100_000_000
PROBE_S = 0.005
HISTORY_BARS = 1_200  # 1m candles the source has before the run
REPLAY_CAP = 5_000  # measured messages replayed through each reference (time bound)
CPU_TARGET_MS = 20.0
LATENCY_TARGET_MS = 100.0
EXCHANGE = "bench"
CALIBRATION_S = 3.0  # the meters' live calibration pass (no-ops behind them), measured seconds
MINUTE_MS = 60_000

SYMBOLS: dict[str, float] = {
    "BTC/USDT": 64_000.0, "ETH/USDT": 3_200.0, "SOL/USDT": 150.0, "BNB/USDT": 580.0, "XRP/USDT": 0.52,
    "ADA/USDT": 0.45, "DOGE/USDT": 0.12, "AVAX/USDT": 35.0, "DOT/USDT": 7.0, "LINK/USDT": 15.0,
    "POL/USDT": 0.7, "LTC/USDT": 80.0, "TRX/USDT": 0.12, "ATOM/USDT": 9.0, "UNI/USDT": 7.5,
    "XLM/USDT": 0.11, "NEAR/USDT": 5.0, "APT/USDT": 9.0, "ARB/USDT": 1.1, "OP/USDT": 2.5,
}  # fmt: skip
NAMES = list(SYMBOLS)
CANDLE_SYMBOLS = NAMES[:MAX_SERIES]  # the feed watches at most this many candle series per exchange
CHART_SYMBOL = NAMES[-1]  # the symbol the window shows (its chart and book streams run too)
WATCHLIST = NAMES[:5]
BUSY = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 1.5, 0.8)  # volume of each candle symbol's live minutes vs its past
INDICATORS = (
    "RSI 14 > 70", "RSI 14 < 30", "RSI 7 > 65", "RSI 7 < 35", "EMA 9 crosses EMA 21",
    "EMA 5 crosses above EMA 13", "close crosses SMA 20", "close outside BB 20 2",
)  # fmt: skip
VOLUMES = ((2.0, 20), (3.0, 20), (1.5, 10), (5.0, 50), (2.5, 30))
MOVES = ((0.05, 1), (0.1, 2), (0.2, 5), (0.5, 10), (1.0, 15))
ON_PRICE_KINDS = ("price", "line", "move")

# The hand-over of the message being evaluated: set before the engine runs, so a firing knows
# which message it was (its notification, sent later from the center's queue, by its place in
# the order of the firings).
Stamp = tuple[int, int, int]  # (handed-over ns, due ns, index in the hand-over record; -1: candles)
STAMP: contextvars.ContextVar[Stamp | None] = contextvars.ContextVar("bench_alerts_stamp", default=None)


# -- the feed ---------------------------------------------------------------------------
def tick_of(price: float) -> float:
    return float(10.0 ** (math.floor(math.log10(price)) - 5))


@dataclass(frozen=True)
class Walk:
    """The pre-generated messages: which symbol, at what price, with what traded size."""

    sym: list[int]
    price: list[float]
    size: list[float]
    preroll: list[list[float]]  # per symbol: one price a second for PREROLL_S seconds, ending at the start

    def __len__(self) -> int:
        return len(self.sym)


def make_walk(n: int, seed: int = 18) -> Walk:
    rng = np.random.default_rng(seed)
    sym = rng.integers(0, len(NAMES), n)
    price = np.empty(n)
    preroll: list[list[float]] = []
    for s, p0 in enumerate(SYMBOLS.values()):
        mine = np.flatnonzero(sym == s)
        path = p0 * np.exp(np.cumsum(rng.normal(0.0, STEP_SIGMA, len(mine))))
        price[mine] = np.round(path / tick_of(p0)) * tick_of(p0)
        back = rng.normal(0.0, STEP_SIGMA * math.sqrt(RATE / len(NAMES)), PREROLL_S)
        before = p0 * np.exp(-np.cumsum(back))[::-1]  # ends one step before p0
        preroll.append((np.round(before / tick_of(p0)) * tick_of(p0)).tolist())
    busy = np.array([BUSY[NAMES.index(s)] if s in CANDLE_SYMBOLS else 1.0 for s in NAMES])
    size = np.round(rng.lognormal(-1.0, 1.0, n) * busy[sym], 6)
    return Walk(sym.tolist(), price.tolist(), size.tolist(), preroll)


class PacedSource:
    """An ``ExchangeSource`` that hands out the walk's tickers at the pace it is told."""

    id = EXCHANGE
    name = "Benchmark exchange"

    def __init__(self, walk: Walk, rate: int) -> None:
        self.walk = walk
        self.rate = rate
        self.timeframes = {"1m": "1m"}
        self.has: dict[str, Any] = {
            "fetchOHLCV": True, "fetchOrderBook": True, "fetchTickers": True, "fetchTrades": False,
            "watchOHLCV": True, "watchOrderBook": True, "watchTicker": True, "watchTrades": True,
        }  # fmt: skip
        self.markets: dict[str, dict[str, Any]] = {}
        self._queues: dict[str, deque[tuple[float, int, int]]] = {s: deque() for s in NAMES}
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._candle_waiters: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._book_waiters: dict[str, asyncio.Future[None]] = {}
        self._never: list[asyncio.Future[None]] = []
        self.trade_ids = 0  # the trades of the symbol on screen, numbered
        self._bars: dict[str, list[float]] = {}  # symbol -> the live 1m bar [ts, o, h, l, c, v]
        self._closed_bars: dict[str, list[float]] = {}  # symbol -> the last closed bar
        self._last: dict[str, float] = dict(SYMBOLS)
        self.closed = False
        # what was handed over, in order (replayed through the references afterwards)
        self.h_sym: list[str] = []
        self.h_price: list[float] = []
        self.h_ts: list[int] = []
        self.stamps: dict[str, Stamp] = {}  # symbol -> its last ticker's stamp
        self.candle_stamps: dict[tuple[str, str], Stamp] = {}
        self.watching: set[str] = set()  # symbols whose ticker is watched
        self.candle_watching: set[tuple[str, str]] = set()

    # -- ExchangeSource ------------------------------------------------------------------
    def milliseconds(self) -> int:
        return int(time.time() * 1000)

    async def load_markets(self, reload: bool = False) -> dict[str, dict[str, Any]]:
        if not self.markets or reload:
            self.markets = {s: _market(s, p) for s, p in SYMBOLS.items()}
        return self.markets

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        rows = self._history(symbol)
        out = [r for r in rows if since is None or r[0] >= since]
        return out[: limit or len(out)]

    async def fetch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._book(symbol)

    async def fetch_tickers(
        self, symbols: list[str] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        return {s: self._ticker(s, self._last[s], self.milliseconds()) for s in symbols or NAMES}

    async def fetch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        return []

    async def watch_order_book(
        self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await self._wait(self._book_waiters, symbol)
        return self._book(symbol)

    async def watch_trades(
        self,
        symbol: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        if symbol != CHART_SYMBOL:
            await self._forever()  # the window watches the trades of the symbol it shows only
        # the symbol on screen: its messages come as trades (the app takes its prices from
        # them, not from its ticker, which lags them)
        price, ts = await self._next(symbol)
        self.trade_ids += 1
        trade = {"id": str(self.trade_ids), "symbol": symbol, "timestamp": ts, "price": price, "amount": 0.01}
        return [trade]

    async def _forever(self) -> None:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._never.append(never)
        await never
        raise ExchangeClosedError("closed")

    async def watch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        key = (symbol, timeframe)
        self.candle_watching.add(key)
        await self._wait(self._candle_waiters, key)
        now = time.perf_counter_ns()
        self.candle_stamps[key] = (now, now, -1)
        live = self._bars.get(symbol)
        if live is None:
            return []
        closed = self._closed_bars.get(symbol)
        return [list(closed), list(live)] if closed is not None else [list(live)]

    async def watch_ticker(self, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if symbol == CHART_SYMBOL:  # its messages go out as trades (watch_trades)
            self.watching.add(symbol)
            await self._forever()
        price, ts = await self._next(symbol)
        return self._ticker(symbol, price, ts)

    async def _next(self, symbol: str) -> tuple[float, int]:
        """The symbol's next message, stamped and recorded as handed over."""
        self.watching.add(symbol)
        queue = self._queues[symbol]
        if queue:  # one message per loop step, as from a socket: a backlog does not starve the loop
            await asyncio.sleep(0)
        while not queue:
            await self._wait(self._waiters, symbol)
        price, ts, due = queue.popleft()
        self.stamps[symbol] = (time.perf_counter_ns(), due, len(self.h_sym))
        self.h_sym.append(symbol)
        self.h_price.append(price)
        self.h_ts.append(ts)
        return price, ts

    async def close(self) -> None:
        self.closed = True
        futures = [*self._waiters.values(), *self._candle_waiters.values(), *self._book_waiters.values()]
        for fut in [*futures, *self._never]:
            if not fut.done():
                fut.cancel()

    # -- feeding ---------------------------------------------------------------------------
    def queue_preroll(self, start_ms: int) -> int:
        """The minutes before the run: one price a second per symbol, handed out at once."""
        now = time.perf_counter_ns()
        count = 0
        for s, name in enumerate(NAMES):
            prices = self.walk.preroll[s]
            for k, p in enumerate(prices):
                self._queues[name].append((p, start_ms - (len(prices) - k) * 1000, now))
                count += 1
            self._wake(self._waiters, name)
        return count

    def backlog(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def pace(self, t0_ns: int, start_ms: int, stop: asyncio.Event) -> None:
        """Queue each message when it is due (message i at t0 + i / rate), in batches."""
        walk, rate, n = self.walk, self.rate, len(self.walk)
        sym, price, size = walk.sym, walk.price, walk.size
        queues, waiters, bars, closed_bars = self._queues, self._waiters, self._bars, self._closed_bars
        tracked = {NAMES.index(s) for s in (*CANDLE_SYMBOLS, CHART_SYMBOL)}
        for s in tracked:  # the live bar opens at the walk's start price
            name = NAMES[s]
            self._roll(name, start_ms - start_ms % MINUTE_MS, SYMBOLS[name], 0.0)
        sent = 0
        while not stop.is_set() and sent < n:
            now = time.perf_counter_ns()
            due = min(n, (now - t0_ns) * rate // 1_000_000_000)
            for i in range(sent, due):
                s = sym[i]
                name = NAMES[s]
                p = price[i]
                ts = start_ms + i * 1000 // rate
                queues[name].append((p, ts, t0_ns + i * 1_000_000_000 // rate))
                waiter = waiters.pop(name, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
                if s in tracked:
                    bar = bars[name]
                    if ts - ts % MINUTE_MS != bar[0]:
                        closed_bars[name] = bar
                        self._roll(name, ts - ts % MINUTE_MS, p, size[i])
                    else:
                        bar[2], bar[3], bar[4], bar[5] = max(bar[2], p), min(bar[3], p), p, bar[5] + size[i]
                self._last[name] = p
            sent = due
            await asyncio.sleep(PACE_S)

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """The chart's book ten times a second, the candle series' live bars once a second."""
        beats = 0
        while not stop.is_set():
            await asyncio.sleep(BOOK_EVERY_NS / 1e9)
            beats += 1
            for symbol in list(self._book_waiters):
                self._wake(self._book_waiters, symbol)
            if beats % (CANDLE_EVERY_NS // BOOK_EVERY_NS) == 0:
                for key in list(self._candle_waiters):
                    self._wake(self._candle_waiters, key)

    # -- helpers ---------------------------------------------------------------------------
    async def _wait[K](self, waiters: dict[K, asyncio.Future[None]], key: K) -> None:
        if self.closed:
            raise ExchangeClosedError("The benchmark exchange is closed.")
        fut = waiters.get(key)
        if fut is None or fut.done():
            fut = waiters[key] = asyncio.get_running_loop().create_future()
        await fut

    @staticmethod
    def _wake[K](waiters: dict[K, asyncio.Future[None]], key: K) -> None:
        fut = waiters.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _roll(self, name: str, minute: int, price: float, size: float) -> None:
        self._bars[name] = [float(minute), price, price, price, price, size]

    def _history(self, symbol: str) -> list[list[float]]:
        """HISTORY_BARS closed 1m candles ending at the symbol's start price, and the live one."""
        now = self.milliseconds()
        minute = now - now % MINUTE_MS
        p0 = SYMBOLS[symbol]
        rng = np.random.default_rng(NAMES.index(symbol))
        steps = rng.normal(0.0, STEP_SIGMA * math.sqrt(RATE / len(NAMES) * 60), HISTORY_BARS)
        close = p0 * np.exp(-np.cumsum(steps))[::-1]
        open_ = np.concatenate([[close[0]], close[:-1]])
        wiggle = np.abs(rng.normal(0.0, 5e-4, (2, HISTORY_BARS)))
        high = np.maximum(open_, close) * (1 + wiggle[0])
        low = np.minimum(open_, close) * (1 - wiggle[1])
        per_minute = RATE / len(NAMES) * 60 * math.exp(-0.5)  # the walk's mean size is e^-0.5
        volume = per_minute * rng.lognormal(0.0, 0.3, HISTORY_BARS)
        ts = minute - MINUTE_MS * np.arange(HISTORY_BARS, 0, -1)
        rows = np.column_stack([ts, open_, high, low, close, volume]).tolist()
        bar = self._bars.get(symbol) or [float(minute), p0, p0, p0, p0, 0.0]
        self._bars.setdefault(symbol, bar)
        return [*rows, list(bar)]

    def _book(self, symbol: str) -> dict[str, Any]:
        p, tick = self._last[symbol], tick_of(SYMBOLS[symbol])
        return {
            "symbol": symbol,
            "bids": [[p - k * tick, 1.0] for k in range(1, 21)],
            "asks": [[p + k * tick, 1.0] for k in range(1, 21)],
            "timestamp": self.milliseconds(),
            "nonce": None,
        }

    @staticmethod
    def _ticker(symbol: str, price: float, ts: int) -> dict[str, Any]:
        return {"symbol": symbol, "timestamp": ts, "last": price, "close": price, "bid": price, "ask": price}


def _market(symbol: str, price: float) -> dict[str, Any]:
    base, quote = symbol.split("/")
    tick = tick_of(price)
    return {
        "id": symbol.replace("/", ""), "symbol": symbol, "base": base, "quote": quote, "baseId": base,
        "quoteId": quote, "type": "spot", "spot": True, "margin": False, "swap": False, "future": False,
        "option": False, "contract": False, "active": True, "taker": 0.001, "maker": 0.001,
        "precision": {"price": tick, "amount": 1e-5},
        "limits": {"amount": {"min": 1e-5, "max": None}, "price": {"min": tick, "max": None},
                   "cost": {"min": 5.0, "max": None}},
        "info": {},
    }  # fmt: skip


# -- the alerts ---------------------------------------------------------------------------
def make_alerts(start_ms: int, seed: int = 7) -> list[Alert]:
    """1,000 alerts: per symbol 35 levels, 5 lines, 5 moves; 100 candle conditions on 8 symbols."""
    rng = np.random.default_rng(seed)
    ways = (Direction.UP, Direction.DOWN, Direction.EITHER)
    hour = 3_600_000
    alerts: list[Alert] = []

    def add(symbol: str, condition: Any) -> None:
        alerts.append(
            Alert(exchange=EXCHANGE, symbol=symbol, condition=condition, trigger=Trigger.EVERY,
                  created_ms=start_ms)
        )  # fmt: skip

    for name, p0 in SYMBOLS.items():
        tick = tick_of(p0)
        for k in range(35):
            distance = math.exp(rng.uniform(math.log(5e-4), math.log(5e-2)))
            level = round(p0 * (1 + distance * (1 if k % 2 else -1)) / tick) * tick
            add(name, PriceCross(level=level, direction=ways[k % 3]))
        shapes: tuple[Literal["trend", "ray", "hline"], ...] = ("trend", "trend", "trend", "ray", "hline")
        for k, shape in enumerate(shapes):
            off = math.exp(rng.uniform(math.log(5e-4), math.log(2e-2))) * (1 if k % 2 else -1)
            mid = p0 * (1 + off)
            slope = rng.uniform(0.002, 0.01) * (-1 if off > 0 else 1)  # towards the walk, per hour
            if shape == "hline":
                add(name, LineCross(shape="hline", p1=mid, direction=ways[k % 3]))
                continue
            t1, t2 = start_ms - hour, start_ms + hour
            add(name, LineCross(shape=shape, t1_ms=t1, p1=mid * (1 - slope), t2_ms=t2, p2=mid * (1 + slope)))
        for percent, minutes in MOVES:
            add(name, Move(percent=percent, minutes=minutes))
    for k, name in enumerate(CANDLE_SYMBOLS):  # 100 over 8 series: 8 indicators and 4 or 5 volume spikes each
        for expression in INDICATORS:
            add(name, IndicatorCondition(expression=expression, timeframe="1m"))
        for factor, bars in VOLUMES[: 5 if k < 4 else 4]:
            add(name, VolumeSpike(factor=factor, bars=bars, timeframe="1m"))
    assert len(alerts) == 1_000, len(alerts)
    return alerts


# -- the measurement ------------------------------------------------------------------------
class RecordingNotifications(DesktopNotifications):
    """The system's notifications, replaced by a record of when each was asked for.

    The center sends them one after another in the order the alerts fired, from a task of
    its own: the n-th call is the n-th firing sent (``expected``: its title and stamp, put
    there when it fired); a call out of that order is counted in ``out_of_order``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, Stamp | None]] = []
        self.expected: deque[tuple[str, Stamp | None]] = deque()
        self.out_of_order = 0

    async def notify(
        self,
        title: str,
        body: str,
        sound: Sound = Sound(),  # noqa: B008 - as the base
        on_clicked: Callable[[], object] | None = None,
        *,
        since: float | None = None,
    ) -> bool:
        now = time.perf_counter_ns()
        expected, stamp = self.expected.popleft() if self.expected else ("", None)
        if expected != title:
            self.out_of_order += 1
        self.calls.append((now, stamp))
        return True


@dataclass
class Meter:
    """Time inside one hook: wall on every call, the GUI thread's CPU on every ``SAMPLE``-th."""

    ns: int = 0
    calls: int = 0
    cpu_ns: int = 0
    sampled: int = 0

    def copy(self) -> Meter:
        return Meter(self.ns, self.calls, self.cpu_ns, self.sampled)


SAMPLE = 8  # a thread-CPU clock read costs ~0.8 us here: every 8th call is enough for the mean


def metered[**P](inner: Callable[P, None], meter: Meter, every: int = SAMPLE) -> Callable[P, None]:
    """``inner`` with its time added to ``meter`` (``every`` 0: wall time only)."""
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns

    def call(*args: P.args, **kwargs: P.kwargs) -> None:
        meter.calls += 1
        if not every or meter.calls % every:
            t = clock()
            inner(*args, **kwargs)
            meter.ns += clock() - t
            return
        c = cpu_clock()
        t = clock()
        inner(*args, **kwargs)
        meter.ns += clock() - t
        meter.cpu_ns += cpu_clock() - c
        meter.sampled += 1

    return call


@dataclass(frozen=True)
class Bias:
    """What the meter itself adds to each call (measured around a call that does nothing)."""

    wall_ns: float
    cpu_ns: float  # per sampled call


def calibrate(every: int) -> Bias:
    """The meter around a no-op in a tight loop (printed for comparison, not used: see the docstring)."""
    meter = Meter()
    call = metered(lambda: None, meter, every)
    for _ in range(40_000):
        call()
    return Bias(meter.ns / meter.calls, meter.cpu_ns / max(meter.sampled, 1))


NO_BIAS = Bias(0.0, 0.0)


def live_bias(a: Meter, b: Meter) -> Bias:
    """The meter's own cost per call, from a meter around a no-op between two marks of a live pass."""
    return Bias(
        (b.ns - a.ns) / max(b.calls - a.calls, 1), (b.cpu_ns - a.cpu_ns) / max(b.sampled - a.sampled, 1)
    )


def cpu_ms_per_s(meters: Sequence[tuple[Meter, Meter, Bias]], wall: float) -> tuple[float, float]:
    """(CPU, wall) ms per second inside the hooks between two marks, less the meter's own cost.
    ``meters``: (start, end, the meter's cost) per hook; the sampled calls' CPU is scaled to all calls."""
    cpu = walls = 0.0
    for a, b, bias in meters:
        calls, sampled = b.calls - a.calls, b.sampled - a.sampled
        walls += (b.ns - a.ns) - bias.wall_ns * calls
        if sampled:
            cpu += ((b.cpu_ns - a.cpu_ns) - bias.cpu_ns * sampled) * calls / sampled
    return cpu / 1e6 / wall, walls / 1e6 / wall


@dataclass
class Mark:
    wall_ns: int
    cpu: float
    thread_cpu: float
    handed: int
    meters: dict[str, Meter]  # see METERS
    fires: int


#: the hooks timed in a live run
METERS = (
    "price",  # the session's on_price hook: the alerts feed's queue
    "flush",  # AlertFeed.flush: each symbol's queued prices through AlertEngine.price_runs, every FLUSH_S
    "candles",  # AlertEngine.candles
    "turn",  # AlertCenter._dispatch: a loop turn's firings sent and shown, in the task after the turn
    "fire",  # AlertEngine._fire: the Firing and its texts, then AlertCenter._on_fire
    "dispatch",  # AlertCenter._on_fire: the history list, the loop turn's list and its task
    "deliver",  # AlertCenter._deliver (in "turn"): the notification's queue, webhooks
)
#: the meters whose sum is the evaluation's cost: the hook, the flush, the candles, and the
#: dispatch of what they fired, which runs in a task after the loop turn
EVALUATION = ("price", "flush", "candles", "turn")


def meter_costs(calibration: LiveResult) -> dict[str, Bias]:
    """Per evaluation meter, its own cost per call on the live loop (a pass with no-ops behind the
    meters): the hook's (every 8th call's CPU sampled) and the flush's (every call's), which
    engine.candles's meter (every call's too) shares."""
    hook, flush = live_bias(*calibration.meter("price")), live_bias(*calibration.meter("flush"))
    return {"price": hook, "flush": flush, "candles": flush, "turn": flush}


@dataclass
class LiveResult:
    label: str
    alerts: int
    start: Mark
    end: Mark
    lags_ms: list[float]
    notify_ms: list[float]  # hand-over -> notify
    notify_due_ms: list[float]  # due -> notify
    fire_ms: list[float]  # hand-over -> firing (in the hook)
    fires_by_kind: Counter[str]  # over the whole run, per kind
    fires_window: Counter[str]  # in the measured window
    gaps: int
    problems: int
    preroll: int
    preroll_fires: int
    backlog_end: int
    handed: tuple[list[str], list[float], list[int]]
    window: tuple[int, int]  # hand-over indices of the measured window
    fire_index: list[tuple[int, str]] = field(default_factory=list)  # (hand-over index, kind)

    @property
    def wall(self) -> float:
        return (self.end.wall_ns - self.start.wall_ns) / 1e9

    def per_s(self, a: int, b: int) -> float:
        return (b - a) / self.wall

    def eval_ms_per_s(self, biases: dict[str, Bias]) -> tuple[float, float]:
        """(CPU, wall) ms per second inside the on_price hook, the feed's flush, engine.candles and the
        dispatch of their firings after the loop turn."""
        return cpu_ms_per_s([self.part(name, biases) for name in EVALUATION], self.wall)

    def meter(self, name: str) -> tuple[Meter, Meter]:
        return self.start.meters[name], self.end.meters[name]

    def part(self, name: str, biases: dict[str, Bias]) -> tuple[Meter, Meter, Bias]:
        return *self.meter(name), biases.get(name, NO_BIAS)

    def wall_ms_per_s(self, name: str) -> float:
        a, b = self.meter(name)
        return (b.ns - a.ns) / 1e6 / self.wall


def snapshot(source: PacedSource, meters: dict[str, Meter], fires: int) -> Mark:
    return Mark(
        time.perf_counter_ns(), time.process_time(), time.thread_time(), len(source.h_sym),
        {name: m.copy() for name, m in meters.items()}, fires,
    )  # fmt: skip


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


async def run_live(
    label: str, alerts: list[Alert], walk: Walk, rate: int, seconds: float, no_ops: bool = False
) -> LiveResult:
    """The app's path on the running qasync loop; see the module docstring. ``no_ops``: the
    meters' live calibration: the feed's hook and flush are no-ops behind the same meters
    (the flush still comes every FLUSH_S after a price, scheduled outside the meters)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    try:
        setup_logging(tmp / "logs", "INFO")  # the app's default level: each firing writes a log line
        history = HistoryFile(tmp / "history.sqlite")
        store = await asyncio.to_thread(history.get)
        assert store is not None, history.error

        def keep() -> None:
            book = AlertBook(store)
            for alert in alerts:
                book.save(alert)

        await asyncio.to_thread(keep)  # as after a restart: the alerts come from the history file

        def no_credentials() -> Any:
            raise AssertionError("no webhooks in this benchmark")

        desktop = RecordingNotifications()
        center = AlertCenter(history.get, no_credentials, desktop=desktop)
        await center.load()
        source = PacedSource(walk, rate)
        session = MarketSession(source, list(WATCHLIST), max_history=1_000)
        center.watch("window", session, EXCHANGE)
        engine = center.engine

        # -- instruments --
        meters = {name: Meter() for name in METERS}
        fires: list[tuple[int, Stamp | None, str]] = []
        gaps = [0]
        hook = session.on_price
        assert hook is not None
        feed = center.feeds["window"]
        flush_inner: Callable[[], None] = feed.flush
        loop = asyncio.get_running_loop()
        flush_due: list[asyncio.TimerHandle | None] = [None]
        if no_ops:

            def nothing(symbol: str, price: float, ts_ms: int) -> None:
                return None

            def flush_nothing() -> None:
                return None

            hook, flush_inner = nothing, flush_nothing
        stamps, candle_stamps = source.stamps, source.candle_stamps
        clock = time.perf_counter_ns
        timed_hook = metered(hook, meters["price"])
        # the feed evaluates queued prices every FLUSH_S: each keeps its hand-over stamp till
        # then, per symbol and in order; a firing finds the stamp of its message by the price's
        # time and value (a line placed at a new second fires at the time of the price that
        # began the second, with the price before it: then the time alone), outside the meters
        handed_stamps: dict[str, list[tuple[int, float, Stamp]]] = {}

        def on_price(symbol: str, price: float, ts_ms: int) -> None:
            handed_stamps.setdefault(symbol, []).append((ts_ms, price, stamps[symbol]))
            timed_hook(symbol, price, ts_ms)
            if no_ops and flush_due[0] is None:  # the feed's own timer, outside the meters
                flush_due[0] = loop.call_later(alert_feed.FLUSH_S, flush)

        def stamp_of(symbol: str, ts_ms: int | None, value: float | None) -> Stamp | None:
            handed = handed_stamps.get(symbol, ())
            same_time = [(p, stamp) for t, p, stamp in handed if t == ts_ms]
            exact = [stamp for p, stamp in same_time if p == value]
            return exact[0] if exact else same_time[0][1] if same_time else None

        session.on_price = on_price
        timed_flush = metered(flush_inner, meters["flush"], every=1)
        flushing = [False]

        def flush() -> None:
            flush_due[0] = None
            flushing[0] = True
            try:
                timed_flush()
            finally:
                flushing[0] = False
                handed_stamps.clear()  # all evaluated

        feed.flush = flush  # type: ignore[method-assign]
        timed_candles = metered(engine.candles, meters["candles"], every=1)

        def candles(
            exchange: str, symbol: str, timeframe: str, series: CandleSeries, now_ms: int | None = None
        ) -> None:
            STAMP.set(candle_stamps.get((symbol, timeframe)))
            timed_candles(exchange, symbol, timeframe, series, now_ms)

        engine.candles = candles  # type: ignore[method-assign]
        dispatch = metered(engine._on_fire, meters["dispatch"], every=0)

        def on_fire(alert: Alert, firing: Firing) -> None:
            stamp = STAMP.get()
            fires.append((clock(), stamp, alert.condition.kind))
            if alert.delivery.desktop and not center.muted:
                desktop.expected.append((firing.title, stamp))
            dispatch(alert, firing)

        engine._on_fire = on_fire
        engine_fire, fire_meter = engine._fire, meters["fire"]

        def fire(alert: Alert, value: float | None, what: str, at_ms: int | None = None) -> bool:
            if flushing[0]:  # a price alert: the message that fired it (candles set theirs)
                STAMP.set(stamp_of(alert.symbol, at_ms, value))
            t = clock()
            fired = engine_fire(alert, value, what, at_ms)
            fire_meter.ns += clock() - t
            fire_meter.calls += 1
            return fired

        engine._fire = fire  # type: ignore[method-assign]
        center._deliver = metered(center._deliver, meters["deliver"], every=0)  # type: ignore[method-assign]
        center._dispatch = metered(center._dispatch, meters["turn"], every=1)  # type: ignore[method-assign]
        engine_gap = engine.gap

        def gap(exchange: str, symbol: str, **kinds: bool) -> None:
            gaps[0] += 1
            engine_gap(exchange, symbol, **kinds)

        engine.gap = gap  # type: ignore[method-assign]

        # -- start as a window does, wait until every stream is watched --
        starting = asyncio.ensure_future(session.start(CHART_SYMBOL, "1m"))
        stop = asyncio.Event()
        heartbeat = asyncio.ensure_future(source.heartbeat(stop))  # the book's and the candles' updates
        deadline = time.monotonic() + 60
        wanted_candles = {(s, "1m") for s in (*CANDLE_SYMBOLS, CHART_SYMBOL)}
        while not (source.watching >= set(NAMES) and source.candle_watching >= wanted_candles):
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{label}: the streams did not start (tickers {sorted(source.watching)}, "
                    f"candles {sorted(source.candle_watching)}, problems {center.problems()})"
                )
            await asyncio.sleep(0.05)
        problems = len(center.problems())

        # -- the 15 minutes before, then the paced feed --
        start_ms = source.milliseconds() + 200
        preroll = source.queue_preroll(start_ms)
        while source.backlog() or center._tasks.busy:  # its notifications and saves settle too
            if time.monotonic() > deadline + 120:
                raise SystemExit(f"{label}: the pre-roll did not settle")
            await asyncio.sleep(0.05)
        preroll_fires = len(fires)
        t0 = time.perf_counter_ns()
        pacer = asyncio.ensure_future(source.pace(t0, max(start_ms, source.milliseconds()), stop))
        await asyncio.sleep(WARMUP_S / 3 if no_ops else WARMUP_S)

        start = snapshot(source, meters, len(fires))
        lags: list[float] = []
        end_at = time.perf_counter() + seconds
        while time.perf_counter() < end_at:
            t = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            lags.append((time.perf_counter() - t - PROBE_S) * 1000.0)
        end = snapshot(source, meters, len(fires))
        stop.set()
        await asyncio.gather(pacer, heartbeat)
        backlog = source.backlog()
        if flush_due[0] is not None:
            flush_due[0].cancel()
        await asyncio.sleep(0.5)  # notifications of the window's last messages

        # -- close as the app does --
        await center.release("window")
        await session.close()
        await asyncio.gather(starting, return_exceptions=True)
        await center.close()
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if desktop.out_of_order:
        raise SystemExit(f"{label}: {desktop.out_of_order} notifications out of the order of the firings")
    in_window = range(start.handed, end.handed)
    notify_ms = [(t - s[0]) / 1e6 for t, s in desktop.calls if s is not None and s[2] in in_window]
    notify_due_ms = [(t - s[1]) / 1e6 for t, s in desktop.calls if s is not None and s[2] in in_window]
    candle_notify = [(t - s[0]) / 1e6 for t, s in desktop.calls if s is not None and s[2] < 0
                     and start.wall_ns <= s[0] < end.wall_ns]  # fmt: skip
    fire_ms = [(t - s[0]) / 1e6 for t, s, _k in fires if s is not None and s[2] in in_window]
    by_kind = Counter(kind for _t, _s, kind in fires)
    window_kinds = Counter(kind for _t, s, kind in fires[start.fires : end.fires])
    return LiveResult(
        label=label, alerts=len(alerts), start=start, end=end, lags_ms=lags,
        notify_ms=notify_ms + candle_notify, notify_due_ms=notify_due_ms + candle_notify, fire_ms=fire_ms,
        fires_by_kind=by_kind, fires_window=window_kinds, gaps=gaps[0], problems=problems,
        preroll=preroll, preroll_fires=preroll_fires,
        backlog_end=backlog, handed=(source.h_sym, source.h_price, source.h_ts),
        window=(start.handed, end.handed),
        fire_index=[(s[2], kind) for _t, s, kind in fires if s is not None and s[2] >= 0],
    )  # fmt: skip


# -- the references -----------------------------------------------------------------------------
class NaiveEvaluator:
    """On each message, every price-watching alert of the symbol checked in turn: levels and
    lines against the previous and the new price, moves against a low and high kept per alert
    since its window began. Plain tuples and lists, no index."""

    UP, DOWN, EITHER = 0, 1, 2

    def __init__(self, alerts: list[Alert]) -> None:
        code = {Direction.UP: self.UP, Direction.DOWN: self.DOWN, Direction.EITHER: self.EITHER}
        self.by_symbol: dict[str, list[list[Any]]] = {}
        self.prev: dict[str, float] = {}
        self.fired = [0, 0, 0]  # price, line, move
        for a in alerts:
            c = a.condition
            row: list[Any]
            if isinstance(c, PriceCross):
                row = [0, c.level, code[c.direction], 0]  # the side the price was last strictly on
            elif isinstance(c, LineCross):
                row = [1, c.shape, c.t1_ms, c.p1, c.t2_ms, c.p2, code[c.direction], None]
            elif isinstance(c, Move):
                row = [2, c.percent / 100, c.minutes * 60_000, code[c.direction], 0.0, 0.0, 0]
            else:
                continue
            self.by_symbol.setdefault(a.symbol, []).append(row)

    @staticmethod
    def _level(shape: str, t1: int, p1: float, t2: int, p2: float, t: int) -> float | None:
        if shape == "hline":
            return p1
        lo, hi = (t1, t2) if t1 <= t2 else (t2, t1)
        if t < lo or (shape == "trend" and t > hi):
            return None
        return p1 + (p2 - p1) * (t - t1) / (t2 - t1)

    def price(self, symbol: str, price: float, ts: int) -> None:
        rows = self.by_symbol.get(symbol)
        if rows is None:
            return
        prev = self.prev.get(symbol)
        self.prev[symbol] = price
        up_code, down_code, fired, level_at = self.UP, self.DOWN, self.fired, self._level
        for row in rows:
            kind = row[0]
            if kind == 0:  # a crossing is a change of side; reaching the level is none
                level = row[1]
                side = 1 if price > level else -1 if price < level else 0
                before = row[3]
                if prev is None:
                    row[3] = side
                    continue
                if side == 0:
                    continue
                row[3] = side
                if before == -side and row[2] != (down_code if side > 0 else up_code):
                    fired[0] += 1
            elif kind == 1:
                level = level_at(row[1], row[2], row[3], row[4], row[5], ts)
                before = row[7]
                diff = None if level is None else price - level
                row[7] = diff
                if prev is None or before is None or diff is None:
                    continue
                up, down = before < 0 <= diff, before > 0 >= diff
                if (up and row[6] != down_code) or (down and row[6] != up_code):
                    fired[1] += 1
            else:
                if prev is None or ts - row[6] >= row[2]:
                    row[4] = row[5] = price
                    row[6] = ts
                    continue
                row[4], row[5] = min(row[4], price), max(row[5], price)
                up = row[3] != down_code and price >= row[4] * (1 + row[1])
                down = row[3] != up_code and price <= row[5] * (1 - row[1])
                if up or down:
                    fired[2] += 1
                    row[4] = row[5] = price
                    row[6] = ts


@dataclass
class Replay:
    us_per_msg: float
    fired: Counter[str]  # over the whole replay


def replay(
    evaluate: Callable[[str, float, int], None],
    handed: tuple[list[str], list[float], list[int]],
    first: int,
    last: int,
    fired: Callable[[], Counter[str]],
) -> Replay:
    """Messages [0, first) untimed (the state the live run had), then [first, last) timed (CPU)."""
    syms, prices, tss = handed
    for i in range(first):
        evaluate(syms[i], prices[i], tss[i])
    cpu = time.process_time()
    for i in range(first, last):
        evaluate(syms[i], prices[i], tss[i])
    spent = time.process_time() - cpu
    return Replay(spent / max(last - first, 1) * 1e6, fired())


def engine_replay(alerts: list[Alert], live: LiveResult, last: int) -> tuple[Replay, float]:
    """The engine alone, and the cost of its once-a-second tick (us)."""
    counts: Counter[str] = Counter()
    engine = AlertEngine(lambda alert, firing: counts.update((alert.condition.kind,)))
    engine.load(alerts)
    result = replay(
        lambda s, p, t: engine.price(EXCHANGE, s, p, t), live.handed, live.window[0], last, lambda: counts
    )
    t = time.perf_counter()
    for _ in range(20):
        engine.tick()
    return result, (time.perf_counter() - t) / 20 * 1e6


def naive_replay(alerts: list[Alert], live: LiveResult, last: int) -> Replay:
    naive = NaiveEvaluator(alerts)

    def fired() -> Counter[str]:
        return Counter(dict(zip(ON_PRICE_KINDS, naive.fired, strict=True)))

    return replay(naive.price, live.handed, live.window[0], last, fired)


# -- output ----------------------------------------------------------------------------------
def lat(values: Sequence[float]) -> str:
    if not values:
        return "no firings"
    return f"{pct(values, 99):.1f} ms (p50 {pct(values, 50):.1f}, max {max(values):.1f}, n={len(values)})"


def live_rows(r: LiveResult, rate: int, biases: dict[str, Bias], naive_us: float | None) -> list[list[str]]:
    s, e = r.start, r.end
    cpu, wall = r.eval_ms_per_s(biases)
    raw_cpu, raw_wall = r.eval_ms_per_s({})
    raw = [cpu_ms_per_s([r.part(name, {})], r.wall)[0] for name in EVALUATION]
    price_cpu, price_wall = cpu_ms_per_s([r.part("price", biases)], r.wall)
    flush_cpu, flush_wall = cpu_ms_per_s([r.part("flush", biases)], r.wall)
    candle_cpu, candle_wall = cpu_ms_per_s([r.part("candles", biases)], r.wall)
    turn_cpu, turn_wall = cpu_ms_per_s([r.part("turn", biases)], r.wall)
    calls = {name: (b.calls - a.calls) / r.wall for name, (a, b) in ((n, r.meter(n)) for n in METERS)}
    fire, dispatch = r.wall_ms_per_s("fire"), r.wall_ms_per_s("dispatch")
    deliver = r.wall_ms_per_s("deliver")
    each = fire / calls["fire"] * 1e3 if calls["fire"] else math.nan
    delivered = r.per_s(s.handed, e.handed)
    per_msg_us = cpu * 1e3 / max(delivered, 1.0)  # evaluation CPU per ticker message (candles included)
    at_rate = per_msg_us * rate / 1e3
    full = delivered >= 0.97 * rate
    naive = "-" if naive_us is None else f"naive, replayed: {naive_us * delivered / 1e3:.1f} ms/s"
    naive_at = "-"
    if naive_us is not None:
        naive_at = f"naive, replayed: {naive_us:.1f} us -> {naive_us * rate / 1e3:.0f} ms/s"
    # met only if both the hand-over and the due time (any backlog in the source) are within the target
    p99 = max(pct(r.notify_ms, 99), pct(r.notify_due_ms, 99))
    return [
        ["evaluation CPU per second of feed (as delivered)", f"{cpu:.1f} ms/s (wall {wall:.1f})", naive,
         f"<= {CPU_TARGET_MS:.0f} ms/s", verdict(cpu <= CPU_TARGET_MS) if full else "n/a"],
        ["  as metered, before the meter's live cost is taken off",
         f"{raw_cpu:.1f} ms/s (wall {raw_wall:.1f}): hook {raw[0]:.1f}, flush {raw[1]:.1f}, "
         f"candles {raw[2]:.1f}, firings sent {raw[3]:.1f}", "-", "-", "n/a"],
        [f"evaluation CPU per message -> at {rate:,}/s", f"{per_msg_us:.1f} us -> {at_rate:.0f} ms/s",
         naive_at, f"<= {CPU_TARGET_MS:.0f} ms/s", verdict(at_rate <= CPU_TARGET_MS)],
        ["  on_price hook (tickers, queued)",
         f"{price_cpu:.1f} ms/s (wall {price_wall:.1f}; {calls['price']:,.0f} calls/s)", "-", "-", "n/a"],
        ["  the feed's flush (the queued prices through the engine)",
         f"{flush_cpu:.1f} ms/s (wall {flush_wall:.1f}; {calls['flush']:,.0f} calls/s)", "-", "-", "n/a"],
        ["  engine.candles (1m series)",
         f"{candle_cpu:.1f} ms/s (wall {candle_wall:.1f}; {calls['candles']:.1f} calls/s)", "-", "-", "n/a"],
        ["  a loop turn's firings sent and shown, after it (AlertCenter._dispatch)",
         f"{turn_cpu:.1f} ms/s (wall {turn_wall:.1f}; {calls['turn']:.1f} calls/s; of which "
         f"AlertCenter._deliver {deliver:.1f})", "-", "-", "n/a"],
        ["  in the flush and candles: firings (engine._fire), wall",
         f"{fire:.1f} ms/s ({calls['fire']:.1f}/s, {each:.0f} us each)", "-", "-", "n/a"],
        ["    of which AlertCenter._on_fire (the lists, the loop turn's task)", f"{dispatch:.1f} ms/s",
         "-", "-", "n/a"],
        ["crossing message -> notify(), p99", lat(r.notify_ms), "-",
         f"<= {LATENCY_TARGET_MS:.0f} ms", verdict(bool(r.notify_ms) and p99 <= LATENCY_TARGET_MS)],
        ["  message due (queued by the source) -> notify(), p99", lat(r.notify_due_ms), "-",
         f"<= {LATENCY_TARGET_MS:.0f} ms", "(in the above)"],
        ["  hand-over -> firing (tickers), p99", lat(r.fire_ms), "-", "-", "n/a"],
        ["ticker messages handed over per second", f"{delivered:,.0f}", "-", f"{rate:,}/s", verdict(full)],
        ["firings per second", f"{r.per_s(s.fires, e.fires):.1f} ({_kinds(r.fires_window)})", "-", "-",
         "n/a"],
        ["event-loop lag (5 ms probe), p99", f"{pct(r.lags_ms, 99):.1f} ms (p50 {pct(r.lags_ms, 50):.1f}, "
         f"max {max(r.lags_ms):.1f})", "-", "-", "n/a"],
        ["process CPU per second (all threads)", f"{(e.cpu - s.cpu) / r.wall * 1e3:.0f} ms/s", "-", "-",
         "n/a"],
        ["GUI thread CPU per second", f"{(e.thread_cpu - s.thread_cpu) / r.wall * 1e3:.0f} ms/s", "-", "-",
         "n/a"],
        ["messages still queued in the source at the end", f"{r.backlog_end:,}", "-", "0", "n/a"],
    ]  # fmt: skip


def _kinds(counts: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per live run")
    parser.add_argument("--rate", type=int, default=RATE, help="ticker messages per second in total")
    parser.add_argument("--no-diagnostic", action="store_true", help="skip the run without move alerts")
    parser.add_argument(
        "--flush-ms", type=float, default=None,
        help="the alerts feed's batching (terminal/alerts/feed.py FLUSH_S); 0: each price at once",
    )  # fmt: skip
    args = parser.parse_args()
    if args.flush_ms is not None:
        alert_feed.FLUSH_S = args.flush_ms / 1000
    print(f"Alerts feed: queued prices evaluated every {alert_feed.FLUSH_S * 1e3:g} ms (0: each at once)")
    print("Machine:", _common.machine())
    rate = args.rate
    walk = make_walk(int(rate * (WARMUP_S + args.seconds + 3.0)))
    alerts = make_alerts(int(time.time() * 1000))
    kinds = Counter[str](a.condition.kind for a in alerts)
    print(
        f"{len(alerts):,} alerts (trigger every) over {len(NAMES)} symbols: {_kinds(kinds)}; candle "
        f"conditions on {len(CANDLE_SYMBOLS)} symbols' 1m series. Feed: {rate:,} tickers/s in total, batches "
        f"every {PACE_S * 1e3:.0f} ms; {PREROLL_S // 60} min of earlier prices first, {WARMUP_S:g} s "
        f"warm-up, {args.seconds:g} s measured. qasync loop, offscreen QApplication, history file and "
        "INFO log in /tmp."
    )

    tight = {"price": calibrate(SAMPLE), "flush": calibrate(1)}
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    calibration = loop.run_until_complete(
        run_live("the meters around no-ops", alerts, walk, rate, CALIBRATION_S, no_ops=True)
    )
    biases = meter_costs(calibration)
    main_run = loop.run_until_complete(run_live("all 1,000 alerts", alerts, walk, rate, args.seconds))
    without_moves = [a for a in alerts if not isinstance(a.condition, Move)]
    diagnostic = None
    if not args.no_diagnostic:
        diagnostic = loop.run_until_complete(
            run_live("without the 100 move alerts", without_moves, walk, rate, args.seconds)
        )

    # references over the main run's messages: the measured window's first REPLAY_CAP
    first, last = main_run.window
    last = min(last, first + REPLAY_CAP)
    ours, tick_us = engine_replay(alerts, main_run, last)
    ours_no_moves, _ = engine_replay(without_moves, main_run, last)
    naive = naive_replay(alerts, main_run, last)
    delivered = main_run.per_s(*main_run.window)
    loop.close()  # and its worker threads (the history file's writes)

    print_table(
        f"Alerts under {rate:,} ticker messages/s: live path on the qasync loop ({main_run.label}; "
        "reference: a naive loop over the symbol's alerts, the same messages replayed without the loop)",
        live_rows(main_run, rate, biases, naive.us_per_msg),
    )
    print(
        f"Pre-roll: {main_run.preroll:,} earlier prices ({main_run.preroll_fires:,} firings); feed gaps seen "
        f"by the engine: {main_run.gaps}; alerts with a problem (not evaluated): {main_run.problems}. Naive "
        f"reference per second = its us per message x the messages handed over per second in the live run "
        f"({delivered:,.0f})."
    )
    hook_live, flush_live = biases["price"], biases["flush"]
    print(
        f"The meters' own cost per call, taken off (used): on the live loop, a {CALIBRATION_S:g} s pass with "
        f"no-ops behind the meters ({calibration.per_s(*calibration.window):,.0f} messages/s): hook "
        f"{hook_live.wall_ns:.0f} ns wall, {hook_live.cpu_ns:.0f} ns CPU a sampled call (1 in {SAMPLE}); "
        f"flush and candles {flush_live.wall_ns:.0f} ns wall, {flush_live.cpu_ns:.0f} ns CPU. Not used, "
        f"for comparison: the same meters around a no-op in a tight loop (hot in the caches, far below "
        f"their cost between the loop's other work): hook {tight['price'].wall_ns:.0f} ns wall, "
        f"{tight['price'].cpu_ns:.0f} ns CPU a sampled call; flush {tight['flush'].wall_ns:.0f} ns wall, "
        f"{tight['flush'].cpu_ns:.0f} ns CPU."
    )

    live_count = Counter(k for i, k in main_run.fire_index if i < last and k in ON_PRICE_KINDS)
    engine_count = Counter({k: v for k, v in ours.fired.items() if k in ON_PRICE_KINDS})
    agree_live = all(live_count[k] == engine_count[k] for k in ON_PRICE_KINDS)
    # price levels exactly; lines within 2 %: the engine places a line once a second (a trend
    # line moves by a hair in a second), the naive loop computes its level on every price
    lines_off = abs(naive.fired["line"] - engine_count["line"]) / max(naive.fired["line"], 1)
    agree_naive = naive.fired["price"] == engine_count["price"] and lines_off <= 0.02
    at_rate = rate / 1e3
    print_table(
        f"Evaluation alone, no loop and no session: the live run's first {last:,} messages "
        f"(timed: {last - first:,} of the measured window), us per message (CPU) and at {rate:,}/s",
        [
            ["engine: all 1,000 alerts", f"{ours.us_per_msg:.1f} us ({ours.us_per_msg * at_rate:.0f} ms/s)",
             f"{naive.us_per_msg:.1f} us ({naive.us_per_msg * at_rate:.0f} ms/s)",
             f"<= {CPU_TARGET_MS / at_rate:.1f} us ({CPU_TARGET_MS:.0f} ms/s)",
             verdict(ours.us_per_msg * at_rate <= CPU_TARGET_MS)],
            ["engine: without the 100 move alerts",
             f"{ours_no_moves.us_per_msg:.1f} us ({ours_no_moves.us_per_msg * at_rate:.0f} ms/s)",
             "-", f"<= {CPU_TARGET_MS / at_rate:.1f} us",
             verdict(ours_no_moves.us_per_msg * at_rate <= CPU_TARGET_MS)],
            ["engine.tick() (expiry, feeds down), once a second", f"{tick_us:.0f} us", "-", "-", "n/a"],
            ["firings, engine alone vs live run (price, line, move)",
             f"{_kinds(engine_count)}", f"live: {_kinds(live_count)}", "equal", verdict(agree_live)],
            ["firings, naive vs engine alone (price, line)",
             f"engine: price {engine_count['price']}, line {engine_count['line']}",
             f"naive: price {naive.fired['price']}, line {naive.fired['line']}", "price equal, line ±2 %",
             verdict(agree_naive)],
        ],
    )  # fmt: skip

    if diagnostic is not None:
        print_table(
            f"Diagnostic: the same live run {diagnostic.label} ({diagnostic.alerts} alerts)",
            live_rows(diagnostic, rate, biases, None),
        )
        print(
            f"Feed gaps seen by the engine: {diagnostic.gaps}; alerts with a problem: {diagnostic.problems}; "
            f"pre-roll firings: {diagnostic.preroll_fires:,}."
        )


if __name__ == "__main__":
    main()
