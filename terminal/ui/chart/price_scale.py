"""The price pane's y scale, linear or logarithmic, and its price axis.

pyqtgraph's own log mode (``setLogMode``) transforms only its PlotDataItems, and
no QTransform can bend a linear axis into a log one. So in log mode the price
pane's ViewBox works in log10(price), and every item drawn there in price units
(candles, lines, indicator overlays, order lines, trade marks, the last-price
line) maps its prices through the one ``PriceScale`` the chart owns and hangs on
that ViewBox (``attach``); an item finds it with ``scale_of(item)``. Items in
other panes (volume, indicator panes) find none and stay linear. What reads a
position back as a price (the crosshair's tag, the readout's "@ price", a
Ctrl+click, an order line dragged) maps the other way with ``to_price``.

In linear mode the mapping hands the same arrays back: the scale costs nothing
there. In log mode it is one ``log10`` over the values in view.

The price axis labels prices in both modes; in log mode its ticks are round
prices (a 1-2-5 step chosen per decade, since log packs a decade's top
tightest), so a chart within one decade reads like a linear one and a chart
over several decades shows 1, 2, 5, 10, 20, 50...
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QRectF

from terminal.marketdata.orderbook import decimals_for
from terminal.ui.chart.axis_specs import QuickSpecs
from terminal.ui.chart.grid import TickLevels, TickRecorder

FloatArray = NDArray[np.float64]

LOG_FLOOR = -300.0  # log10 of a price too small to matter: the bound where a value <= 0 has none
MAJOR_PX = 56.0  # labelled ticks at least this far apart (pixels), where they are closest
MINOR_PX = MAJOR_PX / 2  # the finer level (grid lines; labelled when there is room)


class PriceScale:
    """How a price becomes a y coordinate in the price pane: itself, or log10 of itself.
    A price <= 0 has no place on a log scale: it maps to NaN (lines break there)."""

    def __init__(self, log: bool = False) -> None:
        self.log = log

    def to_y(self, price: float) -> float:
        if not self.log:
            return price
        return math.log10(price) if price > 0 else math.nan

    def to_ys(self, prices: FloatArray) -> FloatArray:
        if not self.log:
            return prices
        with np.errstate(divide="ignore", invalid="ignore"):
            ys = np.log10(prices)
        ys[~(prices > 0)] = np.nan  # log10 gives -inf at 0; NaN says "no point" to every drawer
        return ys

    def to_price(self, y: float) -> float:
        return 10.0**y if self.log else y

    def span(self, lo: float, hi: float) -> tuple[float, float] | None:
        """The y range of prices [lo, hi], finite for an item's bounds (None: nothing to bound)."""
        if not self.log:
            return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
        if not hi > 0:
            return None
        return (math.log10(lo) if lo > 0 else LOG_FLOOR), math.log10(hi)

    def rect(self, data: QRectF) -> QRectF:
        """A rectangle in (time, price) as a rectangle in the pane's coordinates."""
        if not self.log or data.isNull():
            return QRectF(data)
        ys = self.span(data.top(), data.bottom())
        if ys is None:
            return QRectF()
        return QRectF(data.left(), ys[0], data.width(), ys[1] - ys[0])


LINEAR = PriceScale()  # what items outside the price pane see; never switched


def attach(view_box: pg.ViewBox, scale: PriceScale) -> None:
    """Make ``scale`` the y scale of everything drawn in ``view_box``."""
    view_box.price_scale = scale


def scale_of(item: Any) -> PriceScale:
    """The y scale of the pane ``item`` is drawn in (linear if it is in none, or in a
    pane without one)."""
    box = item.getViewBox()
    scale = getattr(box, "price_scale", None) if box is not None else None
    return scale if isinstance(scale, PriceScale) else LINEAR


# -- the axis ---------------------------------------------------------------------------
class _ScaledTicks(pg.AxisItem):
    """Ticks at round prices when the scale is log (pyqtgraph's own otherwise)."""

    scale_of_prices: PriceScale = LINEAR

    def tickValues(self, minVal: float, maxVal: float, size: float) -> TickLevels:  # noqa: N803 - Qt's names
        if not self.scale_of_prices.log:
            levels: TickLevels = super().tickValues(minVal, maxVal, size)
            return levels
        return log_ticks(minVal, maxVal, size)


class PriceAxis(QuickSpecs, TickRecorder, _ScaledTicks):
    """Right-hand price axis with the market's price precision, in prices on either scale."""

    decimals = 2
    #: a comparison is on: the labels count in percent from this price (the left edge's close)
    percent_base: float | None = None

    def set_percent_base(self, base: float | None) -> None:
        if base != self.percent_base:
            self.percent_base = base
            self.picture = None
            self.update()

    def set_scale(self, scale: PriceScale) -> None:
        self.scale_of_prices = scale
        self.picture = None  # pyqtgraph's cached labels: drawn afresh on the next paint
        self.update()

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        base = self.percent_base
        if base:
            prices = [10.0**v for v in values] if self.scale_of_prices.log else values
            return [f"{(p / base - 1.0) * 100.0:+.2f}%" for p in prices]
        if self.scale_of_prices.log:
            return log_tick_strings(values, self.decimals)
        decimals = max(self.decimals, decimals_for(spacing) if spacing > 0 else 0)
        return [f"{v:,.{decimals}f}" for v in values]


def log_ticks(lo: float, hi: float, size_px: float) -> TickLevels:
    """Two tick levels over log10 prices [lo, hi] drawn ``size_px`` tall: round prices
    at least ``MAJOR_PX`` apart, then the finer ones at least ``MINOR_PX`` apart."""
    lo, hi = sorted((lo, hi))
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo and size_px > 0):
        return []
    per_px = (hi - lo) / size_px  # decades per pixel
    levels: TickLevels = []
    seen: set[float] = set()
    for px in (MAJOR_PX, MINOR_PX):
        gap = px * per_px
        prices = [p for p in round_prices(lo, hi, gap) if p not in seen]
        seen.update(prices)
        levels.append((gap, [math.log10(p) for p in prices]))
    return levels


def round_prices(lo: float, hi: float, gap: float) -> list[float]:
    """Round prices within [10^lo, 10^hi] at least ``gap`` decades apart. Within each
    decade, whichever gives the most of them: multiples of the smallest 1-2-5 step
    that keeps them so at the decade's top (where log packs them tightest), or 1, 2
    and 5 times its power of ten, or that power alone. When a decade is narrower
    than the gap, every k-th power of ten."""
    if gap >= 1.0:
        k = math.ceil(gap)
        return [10.0**e for e in range(math.ceil(lo), math.floor(hi) + 1) if e % k == 0]
    out: set[float] = set()
    low, high = 10.0**lo * (1 - 1e-12), 10.0**hi * (1 + 1e-12)  # a round price at the very edge stays
    for e in range(math.floor(lo), math.floor(hi) + 1):
        unit = 10.0**e
        a, b = max(unit, low), min(unit * 10, high)
        step = _nice_at_least(b * (1.0 - 10.0**-gap))
        multiples = [step * i for i in range(math.ceil(a / step), math.floor(b / step) + 1)]
        candidates = [[unit, *multiples], [unit, 2 * unit, 5 * unit, 10 * unit], [unit, 10 * unit]]
        best: list[float] = []
        for prices in candidates:
            # rounded to 12 digits: 0.1 * 3 is 0.30000000000000004
            kept = sorted({float(f"{p:.12g}") for p in prices if a <= p <= b})
            if len(kept) > len(best) and all(math.log10(q / p) >= gap * 0.999 for p, q in pairwise(kept)):
                best = kept
        out.update(best)
    return sorted(out)


def _nice_at_least(x: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``x``."""
    unit = 10.0 ** math.floor(math.log10(x))
    for f in (1.0, 2.0, 5.0):
        if f * unit >= x * (1 - 1e-12):
            return f * unit
    return 10.0 * unit


def log_tick_strings(values: list[float], decimals: int) -> list[str]:
    """The prices at log10 positions ``values``, all with the decimals the finest one
    needs (and at least the market's ``decimals``)."""
    prices = [10.0**v for v in values]
    places = decimals
    for p in prices:
        while places < 12 and abs(round(p, places) - p) > abs(p) * 1e-9:
            places += 1
    return [f"{p:,.{places}f}" for p in prices]
