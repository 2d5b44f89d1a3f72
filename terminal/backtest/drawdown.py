"""Drawdown: the curve, and its episodes (peak to recovery)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def drawdown_curve(equity: FloatArray, initial: float) -> FloatArray:
    """Equity over its running peak, minus one (0 at a new high, -0.25 when 25% below
    it). The starting cash counts as the first peak."""
    peak = np.maximum.accumulate(equity)
    np.maximum(peak, initial, out=peak)
    with np.errstate(divide="ignore", invalid="ignore"):
        return equity / peak - 1.0


@dataclass(frozen=True, eq=False)
class Episodes:
    """Each drawdown from the peak bar before it to the bar that regained the
    peak (or the last bar, if none did)."""

    start_bar: IntArray  # the last bar at the peak (bar 0 when the drawdown starts there)
    end_bar: IntArray
    depth: FloatArray  # the lowest drawdown within the episode (< 0)

    def __len__(self) -> int:
        return len(self.depth)


def episodes(dd: FloatArray) -> Episodes:
    """The drawdown episodes of a drawdown curve (numpy only: no compilation on first use)."""
    below = dd < 0.0
    edges = np.diff(below.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    first = np.flatnonzero(edges == 1)  # first bar below the peak
    after = np.flatnonzero(edges == -1)  # first bar back at a peak (len(dd) if never)
    if not len(first):
        empty = np.zeros(0, dtype=np.int64)
        return Episodes(empty, empty.copy(), np.zeros(0))
    # each segment runs from one episode's first bar to the next one's; the bars in
    # between are back at the peak (drawdown 0), so the segment's minimum is the episode's
    depth = np.minimum.reduceat(dd, first)
    start = np.maximum(first - 1, 0).astype(np.int64)
    end = np.minimum(after, len(dd) - 1).astype(np.int64)
    return Episodes(start, end, depth.astype(np.float64))
