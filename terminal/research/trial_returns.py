"""A trial's daily returns, kept compactly for the overfitting odds (PBO needs every
trial's returns per period) and for comparing trials.

``trial_returns`` gives what ``terminal.research.compare.daily_returns`` gives, bit
for bit before the cast, as float32 with the first day: a year of days is 1.5 KB. It
runs once per trial, so the part that depends only on the candles (which bar closes
each calendar day) is worked out once per candle array and kept (``_DayIndex``); what
is left per trial is a gather of one value per day. On 1,000,000 one-minute bars the
index takes ~10 ms once and each trial ~20 µs after it.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from terminal.research.compare import DAY_MS, DailyReturns

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
F32 = np.dtype("<f4")

#: candle arrays whose day index is kept (a walk-forward alternates between a few folds)
_KEPT = 4


@dataclass(frozen=True, eq=False)
class TrialReturns:
    """One return per UTC calendar day from ``first_day`` (days since 1970-01-01) on,
    every day, as float32."""

    first_day: int
    returns: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.returns)

    def to_bytes(self) -> bytes:
        """The returns as little-endian float32 bytes (what the history file keeps)."""
        return np.ascontiguousarray(self.returns, dtype=F32).tobytes()

    @classmethod
    def from_bytes(cls, first_day: int, blob: bytes) -> TrialReturns:
        if len(blob) % F32.itemsize:
            raise ValueError(f"{len(blob)} bytes are not whole float32 values")
        return cls(int(first_day), np.frombuffer(blob, dtype=F32).astype(np.float32))

    def daily(self) -> DailyReturns:
        """As ``compare`` and ``overfitting`` take them (float64; the float32 values widened)."""
        days = self.first_day + np.arange(len(self.returns), dtype=np.int64)
        return DailyReturns(days, self.returns.astype(np.float64))


@dataclass(frozen=True)
class _DayIndex:
    first_day: int
    closes: IntArray  # for every calendar day, the index of the bar whose close ends it


_index_lock = threading.Lock()
_indices: OrderedDict[int, tuple[weakref.ref[IntArray], _DayIndex]] = OrderedDict()


def _day_index(ts: IntArray) -> _DayIndex:
    """Which bar closes each day of ``ts``, kept for the array's life (by identity: the
    sweep hands every trial the same candles)."""
    with _index_lock:
        kept = _indices.get(id(ts))
        if kept is not None and kept[0]() is ts:
            _indices.move_to_end(id(ts))
            return kept[1]
    days = ts // DAY_MS  # the steps of compare.daily_returns, without the equity
    ends = np.append(np.flatnonzero(np.diff(days)), len(days) - 1)
    seen = days[ends]
    every = np.arange(seen[0], seen[-1] + 1, dtype=np.int64)
    index = _DayIndex(int(seen[0]), ends[np.searchsorted(seen, every, side="right") - 1])
    try:
        ref = weakref.ref(ts)
    except TypeError:  # not an array that takes weak references: nothing to key on
        return index
    with _index_lock:
        _indices[id(ts)] = (ref, index)
        while len(_indices) > _KEPT:
            _indices.popitem(last=False)
    return index


def trial_returns(ts: IntArray, equity: FloatArray, initial: float) -> TrialReturns:
    """The daily returns of a run (its bars' open times, its equity, the starting cash),
    as ``compare.daily_returns`` defines them, kept as float32."""
    if len(ts) != len(equity):
        raise ValueError("ts and equity must have the same length")
    if not len(ts):
        return TrialReturns(0, np.zeros(0, dtype=np.float32))
    index = _day_index(ts)
    close = np.asarray(equity, dtype=np.float64)[index.closes]
    before = np.concatenate(([float(initial)], close[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(before > 0.0, close / before - 1.0, 0.0)
    return TrialReturns(index.first_day, out.astype(np.float32))
