"""Two runs side by side: is the difference between them real?

A run is kept, for this and for the overfitting odds, as its daily returns
(``daily_returns``: one float per UTC day, whatever the bar length), which is
what a study stores per trial. Two runs' daily returns are aligned on their
common days and compared by a paired bootstrap: the same resampled days for
both, drawn in blocks (the stationary bootstrap, Politis & Romano, 1994), so
that what ties the two runs together on a day (the same market) and what ties
a day to the next (a trend, a volatile week) stays in every resample
(docs/research.md, "Comparing two runs").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from terminal.research.montecarlo import InsufficientDataError, Seed, default_block_length, generator
from terminal.research.montecarlo import stationary_indices as _stationary_indices

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAY_MS = 86_400_000
DAYS_PER_YEAR = 365  # crypto trades every day; the daily series has every calendar day
_CHUNK_ELEMENTS = 1 << 18


@dataclass(frozen=True, eq=False)
class DailyReturns:
    """One return per UTC calendar day, every day from the first to the last."""

    day: IntArray  # days since 1970-01-01 (UTC)
    returns: FloatArray  # that day's equity change: close of the day / close of the day before - 1

    def __len__(self) -> int:
        return len(self.day)


def daily_returns(ts: IntArray, equity: FloatArray, initial: float) -> DailyReturns:
    """A run's daily returns from its equity curve (``result.ts``, ``result.equity``,
    the starting cash).

    A day's equity is the equity at the close of its last bar (bars belong to the
    day of their open time); a day without bars keeps the day before's equity
    (return 0). The first day's return is measured from the starting cash. Once
    equity is 0 or less, later returns are 0 (nothing is left to trade)."""
    t = np.asarray(ts, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    if len(t) != len(e):
        raise ValueError("ts and equity must have the same length")
    if not len(t):
        return DailyReturns(np.zeros(0, dtype=np.int64), np.zeros(0))
    if (np.diff(t) < 0).any():
        raise ValueError("ts must be in ascending order")
    days = t // DAY_MS
    ends = np.append(np.flatnonzero(np.diff(days)), len(days) - 1)  # last bar of each day
    seen = days[ends]
    every = np.arange(seen[0], seen[-1] + 1, dtype=np.int64)
    close = e[ends][np.searchsorted(seen, every, side="right") - 1]
    before = np.concatenate(([float(initial)], close[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(before > 0.0, close / before - 1.0, 0.0)
    return DailyReturns(every, out)


def align(a: DailyReturns, b: DailyReturns) -> tuple[IntArray, FloatArray, FloatArray]:
    """The days both series have, and each one's returns on them."""
    days, ia, ib = np.intersect1d(a.day, b.day, assume_unique=True, return_indices=True)
    return days, a.returns[ia], b.returns[ib]


@dataclass(frozen=True)
class Difference:
    """A's statistic minus B's, with its bootstrap interval and p-value."""

    a: float
    b: float
    difference: float
    low: float  # the percentile interval at the comparison's confidence
    high: float
    p_value: float  # two-sided, for "no difference"


@dataclass(frozen=True)
class Comparison:
    """Two runs' aligned daily returns compared. Means and Sharpe ratios are per day."""

    days: int
    mean: Difference
    sharpe: Difference
    correlation: float  # Pearson's, of the daily returns; NaN if either never moves
    confidence: float
    resamples: int
    block_length: int

    def sentence(self, names: tuple[str, str] = ("A", "B")) -> str:
        a, b = names
        yearly = math.sqrt(DAYS_PER_YEAR)
        m, s = self.mean, self.sharpe
        level = f"{self.confidence:.0%}"
        return (
            f"Over {self.days:,} common days, {a} made {m.difference:+.3%} a day against {b} "
            f"({level} interval {m.low:+.3%} to {m.high:+.3%}; a difference this large would arise by "
            f"chance with probability {m.p_value:.2f}). Sharpe ratio {s.a * yearly:.2f} against "
            f"{s.b * yearly:.2f} a year (difference {level} interval {s.low * yearly:+.2f} to "
            f"{s.high * yearly:+.2f}; p = {s.p_value:.2f}). {self._correlated()}"
        )

    def _correlated(self) -> str:
        if math.isnan(self.correlation):
            return "Their correlation cannot be measured: a run whose equity never changes has none."
        return f"Their daily returns are correlated {self.correlation:.2f}."


def compare(
    a: DailyReturns | FloatArray,
    b: DailyReturns | FloatArray,
    *,
    resamples: int = 10_000,
    block_length: int | None = None,
    confidence: float = 0.95,
    seed: Seed = None,
) -> Comparison:
    """A against B by a paired stationary bootstrap of their daily returns.

    ``DailyReturns`` are aligned on their common days; plain arrays must be aligned
    already. Each resample draws one sequence of days (blocks of mean length
    ``block_length``, default ``default_block_length(days)``) and takes both runs'
    returns on them. The interval is the bootstrap percentile interval of the
    difference; the p-value is two-sided, from the resampled differences centred on
    the observed one (Hall & Wilson, 1991): ``(1 + #{|d* - d| >= |d|}) / (B + 1)``."""
    if isinstance(a, DailyReturns) and isinstance(b, DailyReturns):
        _, ra, rb = align(a, b)
    elif isinstance(a, DailyReturns) or isinstance(b, DailyReturns):
        raise TypeError("give both runs as DailyReturns, or both as aligned arrays")
    else:
        ra, rb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if ra.shape != rb.shape or ra.ndim != 1:
            raise ValueError("aligned returns must be two flat arrays of the same length")
    n = len(ra)
    if n < 3:
        raise InsufficientDataError(f"The two runs share {n} day(s); a comparison needs at least three.")
    if not 0.0 < confidence < 1.0:
        raise ValueError("the confidence must be between 0 and 1")
    if resamples < 1:
        raise ValueError("at least one resample is needed")
    block = block_length or default_block_length(n)
    rng = generator(seed)
    mean_a, mean_b = np.empty(resamples), np.empty(resamples)
    sharpe_a, sharpe_b = np.empty(resamples), np.empty(resamples)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        m = min(rows, resamples - start)
        part = slice(start, start + m)
        days = _stationary_indices(rng, m, n, block)
        mean_a[part], sharpe_a[part] = _mean_sharpe(ra[days])
        mean_b[part], sharpe_b[part] = _mean_sharpe(rb[days])
    ma, sa = (float(v[0]) for v in _mean_sharpe(ra[None, :]))
    mb, sb = (float(v[0]) for v in _mean_sharpe(rb[None, :]))
    with np.errstate(divide="ignore", invalid="ignore"):
        correlation = float(np.corrcoef(ra, rb)[0, 1]) if ra.std() > 0 and rb.std() > 0 else math.nan
    return Comparison(
        days=n,
        mean=_difference(ma, mb, mean_a - mean_b, confidence),
        sharpe=_difference(sa, sb, sharpe_a - sharpe_b, confidence),
        correlation=correlation,
        confidence=confidence,
        resamples=resamples,
        block_length=block,
    )


def _mean_sharpe(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each row's mean and Sharpe ratio (ddof=1; 0 for a row that never moves)."""
    mean = x.mean(axis=1)
    std = x.std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 0.0, mean / std, 0.0)
    return mean, sharpe


def _difference(a: float, b: float, resampled: FloatArray, confidence: float) -> Difference:
    d = a - b
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(resampled, [tail, 1.0 - tail])
    extreme = int(np.count_nonzero(np.abs(resampled - d) >= abs(d)))
    return Difference(a, b, d, float(low), float(high), (1 + extreme) / (len(resampled) + 1))
