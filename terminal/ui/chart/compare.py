"""Another symbol on the same chart, in percent from the left edge.

The other symbol's closes are lined up with the chart's candles (its candle of
each of their open times; NaN where it has none) and drawn on the price pane
multiplied by one factor: the chart's close over the other's at the first candle
in view. Both lines therefore start at one point at the left edge, and the height
between any two points is the same percentage for either symbol; the price axis
then counts in percent from there (``PriceAxis.percent_base``). Panning moves the
left edge and so the factor: a multiplication at paint time, nothing recomputed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.study_items import StudyLine
from terminal.ui.chart.view_rect import view_bounds

FloatArray = NDArray[np.float64]
COLOR = "#ff9800"


def aligned_closes(main: CandleSeries, other: CandleSeries, start: int = 0) -> FloatArray:
    """``other``'s close at each of ``main``'s open times from ``start`` (NaN where it has no candle)."""
    ts = main.ts[start:]
    out = np.full(len(ts), np.nan)
    if not len(other) or not len(ts):
        return out
    idx = np.searchsorted(other.ts, ts)
    inside = idx < len(other)
    hit = np.zeros(len(ts), dtype=bool)
    hit[inside] = other.ts[idx[inside]] == ts[inside]
    out[hit] = other.close[idx[hit]]
    return out


class CompareLine(StudyLine):
    """``symbol``'s closes over the chart's candles, scaled at the left edge."""

    def __init__(self, main: CandleSeries, symbol: str) -> None:
        super().__init__(main, np.empty(0))
        self.symbol = symbol
        self.other: CandleSeries | None = None
        self.factor = 1.0
        self.base_index = -1  # the chart's candle both lines start from (-1: none in view)
        self.set_style(COLOR, 1.0, "solid")

    def set_other(self, main: CandleSeries, other: CandleSeries | None) -> None:
        """Everything afresh (either series reloaded)."""
        self.series, self.other = main, other
        self.values = aligned_closes(main, other) if other is not None else np.full(len(main), np.nan)
        self.update()

    def follow(self, main: CandleSeries) -> None:
        """New candles at the live end of either series: the last ones lined up again."""
        other = self.other
        if other is None:
            return
        n = len(main)
        start = max(0, min(len(self.values), n) - 3)
        if len(self.values) != n:
            grown = np.full(n, np.nan)
            keep = min(len(self.values), n)
            grown[:keep] = self.values[:keep]
            self.values = grown
        self.series = main
        self.values[start:] = aligned_closes(main, other, start)
        self.update()

    def rebase(self, i0: int, i1: int) -> float | None:
        """Candles [i0, i1) are in view: the factor from the first of them that both symbols
        have; returns the chart's close there (the axis's 0%), or None (then nothing is drawn:
        the other symbol has no candle in view)."""
        main = self.series
        finite = np.flatnonzero(np.isfinite(self.values[i0:i1]))
        if not len(finite) or not len(main):
            self.base_index = -1
            return None
        i = i0 + int(finite[0])
        self.base_index = i
        self.factor = float(main.close[i]) / float(self.values[i])
        self.update()
        return float(main.close[i])

    def percent_at(self, index: int) -> float | None:
        """The other symbol's change from the left edge to candle ``index``, in percent."""
        b = self.base_index
        if b < 0 or not (0 <= index < len(self.values)) or not np.isfinite(self.values[index]):
            return None
        return (float(self.values[index]) / float(self.values[b]) - 1.0) * 100.0

    def _shown(self, values: FloatArray) -> FloatArray:
        if self.base_index < 0:  # no candle of the other symbol in view: no start, no line
            return np.full(len(values), np.nan)
        return values * self.factor

    # its bounds are the view (the factor moves it with every pan)
    def viewRangeChanged(self) -> None:
        self._bounds = view_bounds(self, self._bounds)

    def set_values(self, series: CandleSeries, values: FloatArray) -> None:
        self.series, self.values = series, values
        self.update()

    def scale_changed(self) -> None:
        self.update()  # its bounds are the view's, on either scale
