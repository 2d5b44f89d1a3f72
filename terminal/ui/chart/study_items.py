"""An indicator's lines as drawn: only the visible part, merged per pixel column.

Like the candles (``items.py``), each ``paint`` finds the visible index range by
binary search and draws just that; when there are more than two values per pixel
column, each column is drawn as its first, lowest, highest and last value (M4), so a
frame costs about one vertex per pixel column at any history length. NaN (the
indicator's warm-up) breaks the line.
"""

from __future__ import annotations

import warnings

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.price_scale import scale_of
from terminal.ui.chart.visible import visible_slice

FloatArray = NDArray[np.float64]
STYLES = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine}
MERGE_ABOVE = 2.0  # values per pixel column above which columns are merged


class StudyItem(pg.GraphicsObject):
    """One output of a live indicator over ``series``, drawn ``shift`` slots ahead
    (negative: behind) of the candle it belongs to."""

    def __init__(self, series: CandleSeries, values: FloatArray, shift: int = 0) -> None:
        super().__init__()
        self.series = series
        self.values = values
        self.shift = shift
        self.color = QColor("#f5a623")
        self.width = 1.0
        self.style = "solid"
        self._bounds = QRectF()
        self.drawn = 0  # vertices drawn in the last paint (tests and benchmarks read it)

    def set_style(self, color: str, width: float, style: str) -> None:
        self.color, self.width, self.style = QColor(color), width, style
        self.update()

    def set_values(self, series: CandleSeries, values: FloatArray) -> None:
        """All values changed (computed afresh): bounds from the whole array."""
        self.series, self.values = series, values
        self.prepareGeometryChange()
        self._bounds = self._full_bounds()
        self.update()

    def live_values(self, values: FloatArray, changed_from: int) -> None:
        """Values from ``changed_from`` on changed (the live end): grow the bounds in O(changed)."""
        self.values = values
        tail = values[changed_from:]
        span = self._span(tail)
        if span is not None:
            lo, hi = span
            b = self._bounds if not self._bounds.isNull() else QRectF(self._x(0), lo, 0.0, 0.0)
            right = max(b.right(), self._x(len(values) - 1) + self.slot())
            top, bottom = min(b.top(), lo, self._base()), max(b.bottom(), hi, self._base())
            grown = QRectF(b.left(), top, right - b.left(), bottom - top)
            if grown != self._bounds:
                self.prepareGeometryChange()
                self._bounds = grown
        self.update()

    def slot(self) -> float:
        return self.series.timeframe_ms / 1000.0

    def _x(self, i: int) -> float:
        return float(self.series.ts[i]) / 1000.0 + self.slot() * (self.shift + 0.5)

    def _base(self) -> float:
        return float("nan")

    def scale_changed(self) -> None:
        """The pane's price scale switched (linear, log): bounds afresh in its coordinates."""
        self.set_values(self.series, self.values)

    def _span(self, values: FloatArray) -> tuple[float, float] | None:
        """The pane's y range of ``values`` (None when none has a place there)."""
        if not len(values) or np.isnan(values).all():
            return None
        return scale_of(self).span(float(np.nanmin(values)), float(np.nanmax(values)))

    def _full_bounds(self) -> QRectF:
        v = self.values
        span = self._span(v)
        if span is None:
            return QRectF()
        lo, hi = span
        base = self._base()
        if not np.isnan(base):
            lo, hi = min(lo, base), max(hi, base)
        x0 = self._x(0) - self.slot()
        return QRectF(x0, lo, self._x(len(v) - 1) + self.slot() - x0, hi - lo)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def visible_range(self) -> tuple[float, float] | None:
        """The lowest and highest value in view (the pane's and the price's autoscale)."""
        vb = self.getViewBox()
        if vb is None or not len(self.values):
            return None
        (x0, x1), _ = vb.viewRange()
        i0, i1 = self._slice(float(x0), float(x1))
        part = self._shown(self.values[i0:i1])
        if not len(part) or np.isnan(part).all():
            return None
        return float(np.nanmin(part)), float(np.nanmax(part))

    def _shown(self, values: FloatArray) -> FloatArray:
        """The values as drawn (a comparison scales them)."""
        return values

    def _slice(self, x0: float, x1: float) -> tuple[int, int]:
        offset = self.slot() * self.shift
        i0, i1 = visible_slice(self.series.ts, x0 - offset - self.slot(), x1 - offset + self.slot())
        return i0, min(i1, len(self.values))

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self.drawn = 0
        view = self.viewRect()
        if view is None or not len(self.values) or not len(self.series):
            return
        i0, i1 = self._slice(view.left(), view.right())
        if i1 <= i0:
            return
        x = self.series.ts[i0:i1] / 1000.0 + self.slot() * (self.shift + 0.5)
        y = scale_of(self).to_ys(self._shown(self.values[i0:i1]))  # the price pane may be on a log scale
        px = self.pixelWidth() or self.slot()
        self._paint(p, x, y, px)

    def _pen(self, color: QColor | None = None, width: float | None = None) -> QPen:
        pen = QPen(color or self.color)
        pen.setCosmetic(True)
        pen.setWidthF(width or self.width)
        pen.setStyle(STYLES.get(self.style, Qt.PenStyle.SolidLine))
        return pen

    def _paint(self, p: QPainter, x: FloatArray, y: FloatArray, px: float) -> None:
        raise NotImplementedError


def merged(x: FloatArray, y: FloatArray, px: float) -> tuple[FloatArray, FloatArray]:
    """(x, y) with more than ``MERGE_ABOVE`` values a pixel column reduced to each column's
    first, lowest, highest and last value (M4), in that order; NaN columns stay NaN."""
    if len(x) < 4 or (x[-1] - x[0]) / px * MERGE_ABOVE >= len(x):
        return x, y
    column = np.floor((x - x[0]) / px).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(column)] - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is NaN
        lo = np.fmin.reduceat(y, starts)
        hi = np.fmax.reduceat(y, starts)
    xs = np.repeat(x[0] + (column[starts] + 0.5) * px, 4)
    ys = np.column_stack([y[starts], lo, hi, y[ends]]).ravel()
    return xs, ys


class StudyLine(StudyItem):
    """A line (``style`` solid, dash or dot); ``dots`` draws one dot per value (SAR)."""

    def __init__(self, series: CandleSeries, values: FloatArray, shift: int = 0, dots: bool = False) -> None:
        super().__init__(series, values, shift)
        self.dots = dots
        self._points = PrimitiveArray(QPointF, 2)

    def _paint(self, p: QPainter, x: FloatArray, y: FloatArray, px: float) -> None:
        x, y = merged(x, y, px)
        if self.dots:
            keep = ~np.isnan(y)
            n = int(keep.sum())
            if not n:
                return
            self._points.resize(n)
            mem = self._points.ndarray()
            mem[:, 0], mem[:, 1] = x[keep], y[keep]
            pen = self._pen(width=max(2.5, self.width * 2))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setStyle(Qt.PenStyle.SolidLine)
            p.setPen(pen)
            p.drawPoints(*self._points.drawargs())
            self.drawn = n
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._pen())
        p.drawPath(pg.arrayToQPath(x, y, connect="finite"))
        self.drawn = len(x)


class StudyHistogram(StudyItem):
    """Bars from zero (MACD's histogram): the line's colour above zero, a dimmer one below."""

    def __init__(self, series: CandleSeries, values: FloatArray, shift: int = 0) -> None:
        super().__init__(series, values, shift)
        self._rects = PrimitiveArray(QRectF, 4)

    def _base(self) -> float:
        return 0.0

    def _paint(self, p: QPainter, x: FloatArray, y: FloatArray, px: float) -> None:
        keep = ~np.isnan(y)
        x, y = x[keep], y[keep]
        if not len(x):
            return
        slot = self.slot()
        below = QColor(self.color)
        below.setAlphaF(0.45)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for color, mask in ((self.color, y >= 0), (below, y < 0)):
            if not mask.any():
                continue
            if slot / px >= 2:
                w = slot * 0.7
                self._rects.resize(int(mask.sum()))
                mem = self._rects.ndarray()
                mem[:, 0], mem[:, 1], mem[:, 2], mem[:, 3] = x[mask] - w / 2, 0.0, w, y[mask]
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QBrush(color))
                p.drawRects(*self._rects.drawargs())
            else:
                p.setPen(self._pen(color, 1.0))
                xs, ys = x[mask], y[mask]
                path = pg.arrayToQPath(
                    np.repeat(xs, 2), np.column_stack([np.zeros(len(ys)), ys]).ravel(), connect="pairs"
                )
                p.drawPath(path)
        self.drawn = len(x)
