"""Heikin-Ashi candles, computed from real ones.

The textbook rule, per bar::

    HA close = (open + high + low + close) / 4
    HA open  = (previous HA open + previous HA close) / 2     the first: (open + close) / 2
    HA high  = max(high, HA open, HA close)
    HA low   = min(low, HA open, HA close)

Only HA open depends on the bar before, so a live tick recomputes the newest
bar alone from the one before it: ``HeikinAshi.update`` is O(1) for a tick and
O(k) for k new candles. The whole history is computed vectorised
(``heikin_ashi``): HA open is the first-order recurrence x[i] = (x[i-1] + c[i-1]) / 2,
for which numpy has no scan, so it is summed by doubling, each pass adding
the terms 2^k bars further back with their weight 2^-(2^k).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from terminal.marketdata.candles import OHLCV, CandleSeries

FloatArray = NDArray[np.float64]

# After the passes that reach 128 bars back, an older bar's weight is below 2^-128
# (1e-38 of its price): far below a double's precision for any prices a chart holds.
REACH = 128


class HeikinAshiColumns(NamedTuple):
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray


def heikin_ashi(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    previous: tuple[float, float] | None = None,
) -> HeikinAshiColumns:
    """HA columns for the candles given; ``previous`` is the (HA open, HA close) of
    the bar before the first one, when these candles continue a series."""
    ha_close = open_ + high
    ha_close += low
    ha_close += close
    ha_close *= 0.25
    n = len(ha_close)
    # the recurrence's inputs: the seed, then half of each HA close but the last
    ha_open = np.empty(n, dtype=np.float64)
    if n:
        ha_open[0] = (open_[0] + close[0]) / 2.0 if previous is None else sum(previous) / 2.0
        np.multiply(ha_close[:-1], 0.5, out=ha_open[1:])
        ha_open = _scan_halving(ha_open)
    ha_high = np.maximum(ha_open, ha_close)
    np.maximum(ha_high, high, out=ha_high)
    ha_low = np.minimum(ha_open, ha_close)
    np.minimum(ha_low, low, out=ha_low)
    return HeikinAshiColumns(ha_open, ha_high, ha_low, ha_close)


def _scan_halving(b: FloatArray) -> FloatArray:
    """x[i] = x[i-1] / 2 + b[i] for all i at once: after the pass with shift s, x[i]
    holds the terms of the 2s bars up to i, each halved once per bar of age."""
    n = len(b)
    x, y = b, np.empty(n, dtype=np.float64)
    shift, weight = 1, 0.5
    while shift < n and shift < REACH:
        y[:shift] = x[:shift]
        np.multiply(x[:-shift], weight, out=y[shift:])
        y[shift:] += x[shift:]
        x, y = y, x
        shift, weight = shift * 2, weight * weight
    return x


class HeikinAshi:
    """The HA candles of one real series, kept in step with it (same open times and
    volumes): ``compute`` for the whole history, ``update`` for its live end."""

    def __init__(self) -> None:
        self.candles = CandleSeries(60_000)

    def compute(self, series: CandleSeries) -> None:
        """All HA candles afresh (a new series, or one changed before its live end)."""
        ha = heikin_ashi(series.open, series.high, series.low, series.close)
        self.candles.timeframe_ms = series.timeframe_ms
        self.candles.replace(OHLCV(series.ts.copy(), *ha, series.volume.copy()))

    def update(self, series: CandleSeries) -> None:
        """The newest candle changed or candles were appended: the HA bars from the
        last one computed on (it may have changed before it closed)."""
        done, n = len(self.candles), len(series)
        start = done - 1
        if start < 0 or n < done or self.candles.ts[start] != series.ts[start]:
            self.compute(series)  # not a continuation of what was computed
            return
        previous = None
        if start > 0:
            previous = (float(self.candles.open[start - 1]), float(self.candles.close[start - 1]))
        ha = heikin_ashi(
            series.open[start:], series.high[start:], series.low[start:], series.close[start:], previous
        )
        for k in range(n - start):
            i = start + k
            self.candles.upsert(
                int(series.ts[i]),
                float(ha.open[k]),
                float(ha.high[k]),
                float(ha.low[k]),
                float(ha.close[k]),
                float(series.volume[i]),
            )
