"""What part of a candle series is on screen, and its per-pixel envelope.

Pure numpy (no Qt): the chart items call these from ``paint`` with the view's
x range, so the work per frame is proportional to the candles in view, never
to the history length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from terminal.marketdata.candles import CandleSeries

FloatArray = NDArray[np.float64]


def visible_slice(ts_ms: NDArray[np.int64], x_min_s: float, x_max_s: float, pad: int = 1) -> tuple[int, int]:
    """Index range [i0, i1) of candles whose open time lies in the x range (seconds), padded.

    The keys are int64 like the timestamps: a float key would make numpy
    convert the whole history on every call (O(n) instead of O(log n)).
    """
    lo = int(np.searchsorted(ts_ms, ms_key(math.floor(x_min_s * 1000.0)), side="left")) - pad
    hi = int(np.searchsorted(ts_ms, ms_key(math.ceil(x_max_s * 1000.0)), side="right")) + pad
    return max(lo, 0), min(hi, len(ts_ms))


def ms_key(value: float) -> np.int64:
    """A millisecond search key of the timestamps' own dtype, clamped to int64."""
    return np.int64(min(max(value, -(2**62)), 2**62))


def index_at(ts_ms: NDArray[np.int64], x_s: float) -> int:
    """Index of the candle whose slot contains ``x_s`` (clamped to the series)."""
    i = int(np.searchsorted(ts_ms, ms_key(math.floor(x_s * 1000.0)), side="right")) - 1
    return min(max(i, 0), len(ts_ms) - 1)


@dataclass(frozen=True)
class DrawnCandles:
    """Candles as they are drawn: x of each centre (seconds) and its OHLCV.
    Either the candles themselves, or candles merged per pixel column."""

    x: FloatArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def candles(series: CandleSeries, i0: int, i1: int) -> DrawnCandles:
    """Candles [i0, i1), each centred in its time slot (views, no copies)."""
    slot_s = series.timeframe_ms / 1000.0
    return DrawnCandles(
        series.ts[i0:i1] / 1000.0 + slot_s / 2,
        series.open[i0:i1],
        series.high[i0:i1],
        series.low[i0:i1],
        series.close[i0:i1],
        series.volume[i0:i1],
    )


def envelope(series: CandleSeries, i0: int, i1: int, x0_s: float, px_s: float) -> DrawnCandles:
    """Merge candles [i0, i1) into columns ``px_s`` seconds wide starting at
    ``x0_s`` (M4 downsampling): first open, max high, min low, last close,
    and the largest volume in each column."""
    x = series.ts[i0:i1] / 1000.0
    column = np.floor((x - x0_s) / px_s).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(column)] - 1
    return DrawnCandles(
        np.asarray(x0_s + (column[starts] + 0.5) * px_s, dtype=np.float64),
        series.open[i0:i1][starts],
        np.maximum.reduceat(series.high[i0:i1], starts),
        np.minimum.reduceat(series.low[i0:i1], starts),
        series.close[i0:i1][ends],
        np.maximum.reduceat(series.volume[i0:i1], starts),
    )


def visible_price_range(series: CandleSeries, i0: int, i1: int) -> tuple[float, float] | None:
    if i1 <= i0:
        return None
    return float(series.low[i0:i1].min()), float(series.high[i0:i1].max())


def visible_volume_max(series: CandleSeries, i0: int, i1: int) -> float | None:
    if i1 <= i0:
        return None
    return float(series.volume[i0:i1].max())
