"""The fast path: one numba kernel runs many trials of the SMA cross at once, on
numba's own threads, instead of one process per trial.

A sweep of the built-in SMA cross over ``fast × slow`` asks for the same few
hundred moving averages again and again, and for nothing else: each unique
average is computed once here (``indicators.sma``, the strategy's own
function), then a ``prange`` runs every combination's crossing and position
loop in parallel. The position loop *is* the engine's: the kernel calls
``terminal.backtest.engine.run_bars`` (a numba function may call another), so
the fills, fees, sizing, stops and reversal rules are those of every backtest,
and so is each trial's equity, bit for bit.

The light metrics come out of the kernel as a few numbers per trial, not as
curves: the mean, standard deviation and downside deviation of the bar
returns, the deepest drawdown, and the trades' count and profit sums and
spread. The sums are numpy's own pairwise summation, written out here, so each
metric equals ``light_metrics``'s for the same run bit for bit
(tests/research/test_fast_path.py holds every one of them equal on a sample).

Where it applies (``fast_path_for``): the strategy is exactly the built-in SMA
cross, the sweep varies ``fast`` and ``slow`` only (any settings, held
fixed), and numba itself is installed: the installed app runs kernels compiled
ahead of time, without numba's threading layer, and takes the pool instead.
Everything else takes the process pool (``terminal.research.pool``).

Memory: the averages are kept from call to call, at most ``budget_bytes`` of
them (128 MB: all 150 of the issue's grid at 100,000 bars, 16 at 1,000,000);
a call that needs more is cut into batches that fit, and the kept ones start
over, so the peak does not grow with the number of trials. Each thread's
scratch is a few arrays of one run's length; per trial the kernel returns ten
numbers and the equity at each day's close (for the daily returns).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from terminal.backtest import indicators, jit
from terminal.backtest.engine import (
    N_STATE,
    S_CASH,
    S_STOP,
    S_TAKE_PROFIT,
    S_TRADES,
    _atr_distances,
    parameters,
)
from terminal.backtest.metrics import YEAR_MS, _growth, _ratio, bar_spacing_ms
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import SmaCross
from terminal.backtest.strategy import Strategy
from terminal.backtest.trades import N_TRADE_COLUMNS, T_PNL
from terminal.marketdata.candles import OHLCV
from terminal.research.objectives import LightMetrics
from terminal.research.trial_returns import TrialReturns, _day_index

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: bytes of moving averages held at once (see the module's docstring)
DEFAULT_BUDGET = 128 * 1024 * 1024
#: bars per call of the engine's loop: its trade buffer needs a row per bar of a call
_CHUNK = 8192
#: what the kernel returns per trial, by column
_FINAL, _MEAN, _STD, _DOWNSIDE, _MAX_DD, _TRADES, _WINS, _LOSSES, _PNL_MEAN, _PNL_STD = range(10)
_OUT = 10
_SWEPT = frozenset({"fast", "slow"})


def fast_path_for(
    strategy: Strategy[Any] | type[Strategy[Any]] | str,
    settings: BacktestSettings,
    names: Sequence[str] = ("fast", "slow"),
) -> str | None:
    """None when one kernel can run this sweep's trials; else why not, in plain words
    (the pool runs them). ``names`` are the swept parameters (``Space.names``)."""
    cls = type(strategy) if isinstance(strategy, Strategy) else strategy
    if cls != SmaCross.name and cls is not SmaCross:
        return "the fast path knows the built-in SMA cross only"
    other = [name for name in names if name not in _SWEPT]
    if other:
        return f"the fast path sweeps fast and slow only, not {', '.join(other)}"
    if not isinstance(settings, BacktestSettings):
        return "the settings are not backtest settings"
    if jit.MODE != "numba":
        return "numba is not installed (the kernels were compiled ahead of time, without threads)"
    return None


class SmaCrossFastPath:
    """The SMA cross's trials on ``candles`` with ``settings`` (fixed), many per call."""

    def __init__(
        self,
        candles: OHLCV,
        settings: BacktestSettings,
        base: Mapping[str, Any] | None = None,
        *,
        budget_bytes: int = DEFAULT_BUDGET,
    ) -> None:
        self.candles = candles
        self.settings = settings
        self.base = dict(base or {})
        self.budget_bytes = budget_bytes
        self._prices = tuple(
            indicators.as_prices(getattr(candles, c)) for c in ("open", "high", "low", "close")
        )
        self._stop_dist, self._tp_dist = _atr_distances(candles, settings)
        self._p = parameters(settings)
        ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
        n = len(ts)
        bar_ms = bar_spacing_ms(ts)
        ppy = YEAR_MS / bar_ms if bar_ms > 0 else math.nan
        self._sqrt_ppy = math.sqrt(ppy) if math.isfinite(ppy) else math.nan
        self._elapsed = float(ts[-1] - ts[0] + bar_ms) if n else 0.0
        self.batches = 0  # kernel calls so far
        if n:
            days = _day_index(ts)
            self._first_day, self._day_ends = (
                days.first_day,
                np.ascontiguousarray(days.closes, dtype=np.int64),
            )
        else:
            self._first_day, self._day_ends = 0, np.zeros(0, dtype=np.int64)
        self._most = max(2, budget_bytes // max(1, 8 * n))  # averages held at once
        self._smas = np.empty((0, n))  # made on the first batch: a sweep of other points needs none
        self._rows: dict[int, int] = {}

    def run(self, points: Sequence[Mapping[str, Any]]) -> list[tuple[LightMetrics, TrialReturns] | None]:
        """The light metrics and daily returns of each point (strategy parameters by
        name, the others from ``base``), in order; None for a point the strategy
        refuses (``fast >= slow``, out of bounds): the caller runs it the usual way,
        for its message."""
        results: list[tuple[LightMetrics, TrialReturns] | None] = [None] * len(points)
        if len(self.candles) < 2:
            return results
        pairs: list[tuple[int, int, int]] = []  # (position, fast, slow)
        for i, point in enumerate(points):
            try:
                params = SmaCross.Params.model_validate({**self.base, **point})
            except ValidationError:
                continue
            pairs.append((i, params.fast, params.slow))
        for batch in self._batches(pairs):
            self._run_batch(batch, results)
        return results

    def _batches(self, pairs: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
        """``pairs`` cut in order into batches whose averages fit the budget."""
        most = self._most
        if not len(self._smas):  # np.empty: pages are taken only as averages are written in
            self._smas = np.empty((most, len(self.candles)))
        batches: list[list[tuple[int, int, int]]] = []
        current: list[tuple[int, int, int]] = []
        periods: set[int] = set()
        for pair in pairs:
            more = periods | {pair[1], pair[2]}
            if current and len(more) > most:
                batches.append(current)
                current, more = [], {pair[1], pair[2]}
            current.append(pair)
            periods = more
        if current:
            batches.append(current)
        return batches

    def _run_batch(
        self, batch: list[tuple[int, int, int]], results: list[tuple[LightMetrics, TrialReturns] | None]
    ) -> None:
        rows = self._averages({p for _, fast, slow in batch for p in (fast, slow)})
        fast_rows = np.array([rows[f] for _, f, _ in batch], dtype=np.int64)
        slow_rows = np.array([rows[s] for _, _, s in batch], dtype=np.int64)
        out = np.empty((len(batch), _OUT))
        day_closes = np.empty((len(batch), len(self._day_ends)))
        _kernel()(
            *self._prices, self._smas, fast_rows, slow_rows, self._stop_dist, self._tp_dist, self._p,
            float(self.settings.initial_cash), max(1, min(len(batch), _threads())), self._day_ends, out,
            day_closes,
        )  # fmt: skip
        self.batches += 1
        # trial_returns's steps, on every trial's day closes at once (elementwise: the same bits)
        before = np.empty_like(day_closes)
        before[:, 0] = float(self.settings.initial_cash)
        before[:, 1:] = day_closes[:, :-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            daily = np.where(before > 0.0, day_closes / before - 1.0, 0.0).astype(np.float32)
        for (position, _, _), values, days in zip(batch, out, daily, strict=True):
            results[position] = (self._metrics(values), TrialReturns(self._first_day, days.copy()))

    def _averages(self, periods: set[int]) -> dict[int, int]:
        """The row of each period's SMA in ``self._smas``, computing those not held; the
        rows are kept from batch to batch and start over when the budget is full."""
        missing = [p for p in sorted(periods) if p not in self._rows]
        if len(self._rows) + len(missing) > len(self._smas):
            self._rows.clear()
            missing = sorted(periods)
        close = self._prices[3]
        for period in missing:
            row = len(self._rows)
            self._smas[row] = indicators.sma(close, period)
            self._rows[period] = row
        return self._rows

    def _metrics(self, v: FloatArray) -> LightMetrics:
        """The kernel's numbers as ``light_metrics`` turns the same sums into metrics."""
        initial = self.settings.initial_cash
        final = float(v[_FINAL])
        cagr = _growth(final, initial, YEAR_MS / self._elapsed) if self._elapsed > 0 else math.nan
        max_dd = float(v[_MAX_DD])
        n = int(v[_TRADES])
        return LightMetrics(
            final_equity=final,
            total_return=final / initial - 1.0,
            sharpe=_ratio(float(v[_MEAN]), float(v[_STD])) * self._sqrt_ppy,
            sortino=_ratio(float(v[_MEAN]), float(v[_DOWNSIDE])) * self._sqrt_ppy,
            calmar=_ratio(cagr, -max_dd) if max_dd < 0.0 else math.nan,
            max_drawdown=max_dd,
            trades=n,
            profit_factor=_ratio(float(v[_WINS]), float(-v[_LOSSES])) if n else math.nan,
            sqn=math.sqrt(n) * _ratio(float(v[_PNL_MEAN]), float(v[_PNL_STD])) if n > 1 else math.nan,
        )


# -- the kernel ------------------------------------------------------------------------------------
def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def _kernel() -> Callable[..., None]:
    """The parallel kernel (numba compiles it on first call, or loads it from its cache)."""
    if _sweep is None:  # fast_path_for refuses the sweep first
        raise RuntimeError("the fast path needs numba")
    return _sweep


if jit.MODE == "numba":
    import numba

    from terminal.backtest.engine import run_bars

    @numba.njit(cache=True, nogil=True)
    def _block_sum(a: FloatArray, lo: int, n: int) -> float:  # pragma: no cover - runs compiled
        """numpy's sum of at most 128 values: eight accumulators, then the rest in turn."""
        if n < 8:
            res = 0.0
            for i in range(lo, lo + n):
                res += a[i]
            return res
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        whole = n - n % 8
        while i < whole:
            j = lo + i
            r0 += a[j]
            r1 += a[j + 1]
            r2 += a[j + 2]
            r3 += a[j + 3]
            r4 += a[j + 4]
            r5 += a[j + 5]
            r6 += a[j + 6]
            r7 += a[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res

    @numba.njit(cache=True, nogil=True)
    def pairwise_sum(a: FloatArray, lo: int, n: int) -> float:  # pragma: no cover - runs compiled
        """numpy's own float64 sum of ``a[lo:lo + n]``: its pairwise summation (halves cut
        at a multiple of 8, down to blocks of 128), so that a mean here is numpy's to the
        last bit. Written without recursion: numba's cache cannot hold a recursive
        function (loading one crashes the process)."""
        if n <= 128:
            return _block_sum(a, lo, n)
        los = np.empty(192, dtype=np.int64)  # 3 entries a level; 2**60 values are 53 levels
        ns = np.empty(192, dtype=np.int64)
        combine = np.empty(192, dtype=np.bool_)
        values = np.empty(64)
        top = 1
        los[0], ns[0], combine[0] = lo, n, False
        held = 0
        while top > 0:
            top -= 1
            start, size = los[top], ns[top]
            if combine[top]:  # both halves are summed: left + right, as numpy adds them
                values[held - 2] = values[held - 2] + values[held - 1]
                held -= 1
            elif size <= 128:
                values[held] = _block_sum(a, start, size)
                held += 1
            else:
                half = size // 2
                half -= half % 8
                los[top], ns[top], combine[top] = start, size, True
                los[top + 1], ns[top + 1], combine[top + 1] = start + half, size - half, False
                los[top + 2], ns[top + 2], combine[top + 2] = start, half, False
                top += 3
        return values[0]

    @numba.njit(cache=True, nogil=True)
    def mean_std(x: FloatArray, n: int, scratch: FloatArray) -> tuple[float, float]:  # pragma: no cover
        """``x[:n].mean()`` and ``x[:n].std(ddof=1)`` as numpy computes them."""
        mean = pairwise_sum(x, 0, n) / n
        for i in range(n):
            d = x[i] - mean
            scratch[i] = d * d
        std = math.sqrt(pairwise_sum(scratch, 0, n) / (n - 1)) if n > 1 else np.nan
        return mean, std

    @numba.njit(cache=True, nogil=True)
    def _trial(
        open_: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        a: FloatArray,
        b: FloatArray,
        stop_dist: FloatArray,
        tp_dist: FloatArray,
        p: FloatArray,
        initial: float,
        signal: FloatArray,
        equity: FloatArray,
        position: FloatArray,
        cash: FloatArray,
        trades: FloatArray,
        pnl: FloatArray,
        state: FloatArray,
        day_ends: IntArray,
        out: FloatArray,
        day_closes: FloatArray,
    ) -> None:  # pragma: no cover - runs compiled
        """One trial, in the lane's scratch arrays; its numbers into ``out``, its equity at
        each day's last bar into ``day_closes``."""
        n = len(close)
        # the signals: from_crossings(crossed_above(a, b), crossed_below(a, b))
        signal[0] = np.nan
        for i in range(1, n):
            if a[i - 1] <= b[i - 1] and a[i] > b[i]:
                signal[i] = 1.0
            elif b[i - 1] <= a[i - 1] and b[i] > a[i]:
                signal[i] = -1.0
            else:
                signal[i] = np.nan
        # the engine's loop, as simulate runs it, its closed trades' PnL kept per chunk
        state[:] = 0.0
        state[S_CASH] = initial
        state[S_STOP] = np.nan
        state[S_TAKE_PROFIT] = np.nan
        k = 0
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            state[S_TRADES] = 0.0
            run_bars(
                start, stop, open_, high, low, close, signal, stop_dist, tp_dist, p, state, trades,
                equity, position, cash,
            )  # fmt: skip
            for j in range(int(state[S_TRADES])):
                pnl[k] = trades[j, T_PNL]
                k += 1
        for j in range(len(day_ends)):
            day_closes[j] = equity[day_ends[j]]
        # the bar returns (bar_returns), their mean, spread and downside; the deepest drawdown
        # (drawdown_curve's minimum): within a stretch under one peak, dividing by the peak keeps
        # the order, so the lowest equity of the stretch gives its deepest point, one division each
        r = signal  # reused: the signals are no longer needed
        prev = initial
        peak = max(equity[0], initial)
        low = peak
        max_dd = 0.0 if equity[0] >= initial else np.inf
        for i in range(n):
            e = equity[i]
            r[i] = e / prev - 1.0
            m = min(r[i], 0.0)
            cash[i] = m * m  # squared downside
            prev = e
            if e > peak:
                if low < peak:
                    max_dd = min(max_dd, low / peak - 1.0)
                peak = low = e
                max_dd = min(max_dd, 0.0)
            elif e < low:
                low = e
            elif e == peak:
                max_dd = min(max_dd, 0.0)
        if low < peak:
            max_dd = min(max_dd, low / peak - 1.0)
        downside = math.sqrt(pairwise_sum(cash, 0, n) / n)
        mean, std = mean_std(r, n, position)
        # the closed trades: count, the sums of wins and losses, the PnL's mean and spread
        wins = 0
        losses = 0
        for j in range(k):
            if pnl[j] > 0.0:
                position[wins] = pnl[j]
                wins += 1
        for j in range(k):
            if pnl[j] < 0.0:
                cash[losses] = pnl[j]
                losses += 1
        win_sum = pairwise_sum(position, 0, wins)
        loss_sum = pairwise_sum(cash, 0, losses)
        pnl_mean, pnl_std = mean_std(pnl, k, equity) if k else (np.nan, np.nan)
        out[0] = prev  # the final equity
        out[1] = mean
        out[2] = std
        out[3] = downside
        out[4] = max_dd
        out[5] = k
        out[6] = win_sum
        out[7] = loss_sum
        out[8] = pnl_mean
        out[9] = pnl_std

    @numba.njit(parallel=True, cache=True, nogil=True)
    def sweep(
        open_: FloatArray,
        high: FloatArray,
        low: FloatArray,
        close: FloatArray,
        smas: FloatArray,
        fast_rows: IntArray,
        slow_rows: IntArray,
        stop_dist: FloatArray,
        tp_dist: FloatArray,
        p: FloatArray,
        initial: float,
        lanes: int,
        day_ends: IntArray,
        out: FloatArray,
        day_closes: FloatArray,
    ) -> None:  # pragma: no cover - runs compiled
        n = len(close)
        m = len(fast_rows)
        # one lane per thread, each with its own scratch for all its trials: allocating a
        # run's arrays per trial costs more in page faults than the trial itself
        for lane in numba.prange(lanes):
            signal = np.empty(n)
            equity = np.empty(n)
            position = np.empty(n)
            cash = np.empty(n)
            trades = np.empty((min(n, _CHUNK) + 1, N_TRADE_COLUMNS))
            pnl = np.empty(n + 1)
            state = np.empty(N_STATE)
            for t in range(lane, m, lanes):
                _trial(
                    open_, high, low, close, smas[fast_rows[t]], smas[slow_rows[t]], stop_dist, tp_dist,
                    p, initial, signal, equity, position, cash, trades, pnl, state, day_ends, out[t],
                    day_closes[t],
                )  # fmt: skip

    _sweep: Callable[..., None] | None = sweep
else:
    _sweep = None


def warm_up() -> float:
    """Compile (or load from numba's cache) the fast path's kernel on a tiny input, so that
    the first sweep does not compile it while the window waits on the GIL; the seconds it
    took. Nothing to do without numba (the installed app sweeps in the pool)."""
    if jit.MODE != "numba":
        return 0.0
    t0 = time.perf_counter()
    n = 64
    close = np.linspace(100.0, 110.0, n) + np.sin(np.arange(n))
    candles = OHLCV(np.arange(n, dtype=np.int64) * 60_000, close, close + 1.0, close - 1.0, close, np.ones(n))
    SmaCrossFastPath(candles, BacktestSettings()).run([{"fast": 2, "slow": 5}, {"fast": 3, "slow": 7}])
    return time.perf_counter() - t0
