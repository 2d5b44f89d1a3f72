"""An indicator's lines as drawn: only the visible part, merged per pixel column.

Like the candles (``items.py``), each ``paint`` finds the visible index range by
binary search and draws just that; when there are more than two values per pixel
column, each column is drawn as its first, lowest, highest and last value (M4), so a
frame costs about one vertex per pixel column at any history length. NaN (the
indicator's warm-up) breaks the line.

A study is one graphics item however many outputs it draws (``StudyGraphic``:
Bollinger's three lines, MACD's two lines and its histogram): the scene walks, clips
and calls one ``paint`` per study, and the view's range, the pixel size and the
visible slice are found once for all its outputs. ``StudyLine`` is the same drawing
for a single line (the comparison with another symbol).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from numpy.typing import NDArray
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.price_scale import scale_of
from terminal.ui.chart.still import StillLayer
from terminal.ui.chart.view_rect import pixel_width
from terminal.ui.chart.visible import visible_slice

FloatArray = NDArray[np.float64]
STYLES = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine, "dot": Qt.PenStyle.DotLine}
MERGE_ABOVE = 2.0  # values per pixel column above which columns are merged
KINDS = ("line", "dots", "histogram")
WHOLE, HISTORY, LIVE = 0, 1, 2  # the parts of a paint (terminal.ui.chart.still)
LIVE_MARGIN_PX = 3  # around what a tick repaints: a merged pixel column, a line's antialiasing
SMALL = 8  # a tail this short is scanned in Python (numpy's nanmin costs more than the values)


class Output:
    """One output of a study as drawn: its values (one per candle), the slots it is drawn
    ahead of its candle (negative: behind), ``kind`` ("line", "dots" or "histogram") and
    colour. ``drawn``: the vertices (or bars) of the last paint (tests and benchmarks read it)."""

    __slots__ = ("_history_drawn", "_range", "color", "drawn", "kind", "pen", "shift", "values", "visible")

    def __init__(self, values: FloatArray, shift: int = 0, kind: str = "line") -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown output kind {kind!r}: one of {', '.join(KINDS)}")
        self.values = values
        self.shift = shift
        self.kind = kind
        self.color = QColor("#f5a623")
        self.pen = QPen()  # its line's, made when its style is set (not at every paint)
        self.visible = True
        self.drawn = 0
        self._history_drawn = 0  # drawn by the last paint of its history (the still picture's)
        #: (i0, end, lo, hi): the lowest and highest value in [i0, end), which a live candle
        #: does not change (it rewrites the values from the last one on)
        self._range: tuple[int, int, float, float] | None = None


class LinesItem(pg.GraphicsObject):
    """Outputs over one candle series, drawn in one paint (see the module's docstring)."""

    #: the visible range of the values a live candle cannot change is kept between calls (a
    #: subclass that rewrites its values in place, or scales them as drawn, keeps nothing)
    holds_ranges = True

    def __init__(self, series: CandleSeries, outputs: list[Output]) -> None:
        super().__init__()
        self.series = series
        self.outputs = outputs
        self.width = 1.0
        self.style = "solid"
        self._bounds = QRectF()
        self._line = QPolygonF()  # the vertices of a line, rewritten in place at each paint
        self._rects = PrimitiveArray(QRectF, 4)
        self._slices: dict[tuple[object, ...], tuple[int, int]] = {}  # ``_slice``'s, by view and candles
        self.drawn = 0  # vertices drawn in the last paint, all outputs (tests and benchmarks read it)
        self.layer: StillLayer | None = None  # the plot's still picture, when it holds the history
        self._version = 0  # bumped when the history as drawn changes (values, style)
        self._style([o.color.name() for o in outputs], self.width, self.style)

    # -- values ----------------------------------------------------------------------
    def _style(self, colors: Sequence[str], width: float, style: str) -> None:
        self.width, self.style = width, style
        for output, color in zip(self.outputs, colors, strict=True):
            output.color = QColor(color)
            if output.kind == "dots":
                pen = self._pen(output.color, max(2.5, width * 2))
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                pen.setStyle(Qt.PenStyle.SolidLine)
            else:
                pen = self._pen(output.color)
            output.pen = pen
        self._version += 1
        self.update()

    def _set_arrays(self, series: CandleSeries, arrays: Sequence[FloatArray]) -> None:
        """All values changed (computed afresh): bounds from the whole arrays."""
        self.series = series
        for output, values in zip(self.outputs, arrays, strict=True):
            output.values = values
            output._range = None
        self._slices.clear()  # another history: its times may differ at the same length
        self.prepareGeometryChange()
        self._bounds = self._full_bounds()
        self._version += 1
        self.update()

    def _live_arrays(self, arrays: Sequence[FloatArray], changed_from: int) -> None:
        """Values from ``changed_from`` on changed (the live end): grow the bounds in O(changed)."""
        b = self._bounds
        lo, hi = math.inf, -math.inf
        right = b.right() if not b.isNull() else -math.inf
        revised = any(changed_from < len(values) - 1 for values in arrays)  # more than the live value
        if revised:
            self._version += 1
        for output, values in zip(self.outputs, arrays, strict=True):
            output.values = values
            kept = output._range
            if kept is not None and kept[1] > changed_from:
                output._range = None
            span = self._span(values[changed_from:])
            if span is not None:
                lo, hi = min(lo, span[0]), max(hi, span[1])
                if output.kind == "histogram":
                    lo, hi = min(lo, 0.0), max(hi, 0.0)
            if len(values):
                right = max(right, self._x(len(values) - 1, output.shift) + self.slot())
        if lo <= hi:
            if b.isNull():
                b = QRectF(self._x(0, 0), lo, 0.0, 0.0)
            top, bottom = min(b.top(), lo), max(b.bottom(), hi)
            grown = QRectF(b.left(), top, max(right, b.right()) - b.left(), bottom - top)
            if grown != self._bounds:
                self.prepareGeometryChange()
                self._bounds = grown
                revised = True
        if revised:
            self.update()
        else:  # the view repaints the last segments only
            self.update(self._live_strip())

    def _live_strip(self) -> QRectF:
        """The pixels a tick can change: from each output's value before the last to the
        last, from top to bottom, with a margin for a bar's width and for antialiasing."""
        slot = self.slot()
        left, right = math.inf, -math.inf
        for output in self.outputs:
            k = len(output.values) - 1
            if k >= 0:
                left = min(left, self._x(max(k - 1, 0), output.shift))
                right = max(right, self._x(k, output.shift))
        if left > right:
            return QRectF()
        margin = slot + LIVE_MARGIN_PX * pixel_width(self, slot)
        bounds = self._bounds
        return QRectF(left - margin, bounds.top(), right - left + 2 * margin, bounds.height())

    def slot(self) -> float:
        return self.series.timeframe_ms / 1000.0

    def _x(self, i: int, shift: int) -> float:
        return float(self.series.ts[i]) / 1000.0 + self.slot() * (shift + 0.5)

    def scale_changed(self) -> None:
        """The pane's price scale switched (linear, log): bounds afresh in its coordinates."""
        self._set_arrays(self.series, [o.values for o in self.outputs])

    def _span(self, values: FloatArray) -> tuple[float, float] | None:
        """The pane's y range of ``values`` (None when none has a place there)."""
        found = _minmax(values)
        if found is None:
            return None
        return scale_of(self).span(*found)

    def _full_bounds(self) -> QRectF:
        lo, hi = math.inf, -math.inf
        left, right = math.inf, -math.inf
        for output in self.outputs:
            v = output.values
            span = self._span(v)
            if span is None:
                continue
            lo, hi = min(lo, span[0]), max(hi, span[1])
            if output.kind == "histogram":
                lo, hi = min(lo, 0.0), max(hi, 0.0)
            left = min(left, self._x(0, output.shift) - self.slot())
            right = max(right, self._x(len(v) - 1, output.shift) + self.slot())
        if lo > hi:
            return QRectF()
        return QRectF(left, lo, right - left, hi - lo)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def visible_range(self) -> tuple[float, float] | None:
        """The lowest and highest value in view, all outputs (the pane's and the price's
        autoscale). The part a live candle cannot change is remembered while the view's
        candles stay the same, so a tick costs the last values only."""
        vb = self.getViewBox()
        if vb is None:
            return None
        (x0, x1), _ = vb.viewRange()
        lo, hi = math.inf, -math.inf
        for output in self.outputs:
            if not output.visible or not len(output.values):
                continue
            i0, i1 = self._slice(output.shift, float(x0), float(x1), len(output.values))
            if i1 <= i0:
                continue
            found = self._output_range(output, i0, i1)
            if found is not None:
                lo, hi = min(lo, found[0]), max(hi, found[1])
        return (lo, hi) if lo <= hi else None

    def _output_range(self, output: Output, i0: int, i1: int) -> tuple[float, float] | None:
        if not self.holds_ranges:
            return _minmax(self._shown(output.values[i0:i1]))
        kept = output._range
        stable = len(output.values) - 1  # from here on a live candle rewrites the values
        if kept is not None and kept[0] == i0 and kept[1] == min(i1, stable):
            lo, hi = kept[2], kept[3]
        else:
            end = min(i1, stable)
            found = _minmax(self._shown(output.values[i0:end])) if end > i0 else None
            lo, hi = found if found is not None else (math.inf, -math.inf)
            output._range = (i0, max(end, i0), lo, hi)
        if i1 > stable:
            found = _minmax(self._shown(output.values[max(stable, i0) : i1]))
            if found is not None:
                lo, hi = min(lo, found[0]), max(hi, found[1])
        return (lo, hi) if lo <= hi else None

    def _shown(self, values: FloatArray) -> FloatArray:
        """The values as drawn (a comparison scales them)."""
        return values

    def _slice(self, shift: int, x0: float, x1: float, n: int) -> tuple[int, int]:
        """The values in view, [i0, i1): kept for the same view and candles (a tick asks for
        it again for every output, for the price's and the pane's autoscale)."""
        series = self.series
        key = (shift, x0, x1, id(series), len(series))
        found = self._slices.get(key)
        if found is None:
            if len(self._slices) > 32:
                self._slices.clear()
            slot = self.slot()
            offset = slot * shift
            found = self._slices[key] = visible_slice(series.ts, x0 - offset - slot, x1 - offset + slot)
        return found[0], min(found[1], n)

    # -- drawing ----------------------------------------------------------------------
    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.layer is not None and self.layer.holds(self, p):  # the history is in its picture
            self._paint_live(p)
            for output in self.outputs:
                output.drawn += output._history_drawn
            self.drawn += sum(o._history_drawn for o in self.outputs)
        else:
            self._paint_part(p, WHOLE)

    # -- the still layer's parts (terminal.ui.chart.still) ---------------------------------
    def still_key(self) -> Hashable:
        """What the history part draws: the values (a tick rewrites the last one only; more
        than that bumps the version), their length and which outputs are shown."""
        return (self._version, id(self.series), len(self.series), tuple(o.visible for o in self.outputs))

    def paint_history(self, p: QPainter) -> None:
        self._paint_part(p, HISTORY)
        for output in self.outputs:
            output._history_drawn = output.drawn

    def _paint_live(self, p: QPainter) -> None:
        """Each output's last value over the still picture, in as few calls as a tick allows:
        a line's segment from the value before, a dot, a bar (drawn as the whole paint draws
        them, at the same places)."""
        self.drawn = 0
        for output in self.outputs:
            output.drawn = 0
        vb = self.getViewBox()
        series = self.series
        n = len(series)
        if vb is None or n < 1:
            return
        (x0, x1), _ = vb.viewRange()
        m11 = abs(p.transform().m11())
        slot = self.slot()
        px = 1.0 / m11 if m11 > 0 else slot
        scale = scale_of(self)
        for output in self.outputs:
            values = output.values
            k = len(values) - 1
            if not output.visible or k < 0 or k >= n:
                continue
            x = float(series.ts[k]) / 1000.0 + slot * (output.shift + 0.5)
            if x < x0 - 2 * slot or x - slot > x1 + slot:
                continue
            y = float(scale.to_ys(self._shown(values[k : k + 1]))[0])
            if not math.isfinite(y):
                continue
            if output.kind == "line":
                if k < 1:
                    continue
                before = float(scale.to_ys(self._shown(values[k - 1 : k]))[0])
                if not math.isfinite(before):
                    continue
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                p.setPen(output.pen)
                x_before = float(series.ts[k - 1]) / 1000.0 + slot * (output.shift + 0.5)
                p.drawLine(QLineF(x_before, before, x, y))
                output.drawn = 2
            elif output.kind == "dots":
                p.setPen(output.pen)
                p.drawPoint(QPointF(x, y))
                output.drawn = 1
            else:
                output.drawn = self._paint_bars(p, output.color, np.array([x]), np.array([y]), px)
            self.drawn += output.drawn

    def _paint_part(self, p: QPainter, part: int) -> None:
        """Paint the visible values of ``part`` (WHOLE, HISTORY or LIVE: the last value, and a
        line's segment to it)."""
        self.drawn = 0
        for output in self.outputs:
            output.drawn = 0
        vb = self.getViewBox()
        series = self.series
        if vb is None or not len(series):
            return
        (x0, x1), _ = vb.viewRange()
        scale_x = abs(p.transform().m11())  # device pixels a second, the painter's (a grab's too)
        slot = self.slot()
        px = 1.0 / scale_x if scale_x > 0 else slot
        scale = scale_of(self)
        sliced: dict[int, tuple[int, int, FloatArray]] = {}  # by shift: outputs drawn alike share it
        for output in self.outputs:
            if not output.visible or not len(output.values):
                continue
            found = sliced.get(output.shift)
            if found is None:
                i0, i1 = self._slice(output.shift, float(x0), float(x1), len(series))
                x = series.ts[i0:i1] / 1000.0 + slot * (output.shift + 0.5)
                found = sliced[output.shift] = (i0, i1, x)
            s0, i1, x = found
            n = len(output.values)
            i0, i1 = s0, min(i1, n)
            if part == HISTORY:
                i1 = min(i1, n - 1)
            elif part == LIVE:
                i0 = max(i0, n - 2 if output.kind == "line" else n - 1)
            if i1 <= i0:
                continue
            y = scale.to_ys(self._shown(output.values[i0:i1]))  # the price pane may be on a log scale
            xs = x[i0 - s0 : i1 - s0]
            if output.kind == "histogram":
                output.drawn = self._paint_bars(p, output.color, xs, y, px)
            else:
                output.drawn = self._paint_line(p, output, xs, y, px)
            self.drawn += output.drawn

    def _pen(self, color: QColor, width: float | None = None) -> QPen:
        pen = QPen(color)
        pen.setCosmetic(True)
        pen.setWidthF(width or self.width)
        pen.setStyle(STYLES.get(self.style, Qt.PenStyle.SolidLine))
        return pen

    def _paint_line(self, p: QPainter, output: Output, x: FloatArray, y: FloatArray, px: float) -> int:
        x, y = merged(x, y, px)
        finite = np.isfinite(y)
        if output.kind == "dots":  # one dot per value (SAR)
            n = int(finite.sum())
            if not n:
                return 0
            points = fn.create_qpolygonf(n)
            mem = fn.ndarray_from_qpolygonf(points)
            mem[:, 0], mem[:, 1] = x[finite], y[finite]
            p.setPen(output.pen)
            p.drawPoints(points)
            return n
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(output.pen)
        drawn = 0
        for a, b in _runs(finite):  # NaN (a warm-up) breaks the line
            if b - a < 2:
                continue
            drawn += self._polyline(p, x[a:b], y[a:b])
        return drawn

    def _polyline(self, p: QPainter, x: FloatArray, y: FloatArray) -> int:
        line = self._line
        if line.size() != len(x):
            line.resize(len(x))
        mem = fn.ndarray_from_qpolygonf(line)
        mem[:, 0] = x
        mem[:, 1] = y
        p.drawPolyline(line)
        return len(x)

    def _paint_bars(self, p: QPainter, color: QColor, x: FloatArray, y: FloatArray, px: float) -> int:
        """Bars from zero: ``color`` above it, a dimmer one below (MACD's histogram)."""
        keep = ~np.isnan(y)
        x, y = x[keep], y[keep]
        if not len(x):
            return 0
        slot = self.slot()
        below = QColor(color)
        below.setAlphaF(0.45)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for shade, mask in ((color, y >= 0), (below, y < 0)):
            if not mask.any():
                continue
            if slot / px >= 2:
                w = slot * 0.7
                self._rects.resize(int(mask.sum()))
                mem = self._rects.ndarray()
                mem[:, 0], mem[:, 1], mem[:, 2], mem[:, 3] = x[mask] - w / 2, 0.0, w, y[mask]
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QBrush(shade))
                p.drawRects(*self._rects.drawargs())
            else:
                p.setPen(self._pen(shade, 1.0))
                xs, ys = x[mask], y[mask]
                path = pg.arrayToQPath(
                    np.repeat(xs, 2), np.column_stack([np.zeros(len(ys)), ys]).ravel(), connect="pairs"
                )
                p.drawPath(path)
        return len(x)


class StudyGraphic(LinesItem):
    """Every output of one study, in one item: ``arrays`` are the study's drawn outputs in
    order, ``shifts`` and ``kinds`` theirs (see ``Output``)."""

    def __init__(
        self,
        series: CandleSeries,
        arrays: Sequence[FloatArray],
        shifts: Sequence[int],
        kinds: Sequence[str],
    ) -> None:
        outputs = [Output(v, s, k) for v, s, k in zip(arrays, shifts, kinds, strict=True)]
        super().__init__(series, outputs)

    def set_style(self, colors: Sequence[str], width: float, style: str) -> None:
        self._style(colors, width, style)

    def set_values(self, series: CandleSeries, arrays: Sequence[FloatArray]) -> None:
        """All values changed (computed afresh)."""
        self._set_arrays(series, arrays)

    def live_values(self, arrays: Sequence[FloatArray], changed_from: int) -> None:
        """Values from ``changed_from`` on changed (the live end)."""
        self._live_arrays(arrays, changed_from)


class StudyLine(LinesItem):
    """One line (``style`` solid, dash or dot); ``dots`` draws one dot per value."""

    holds_ranges = False  # a comparison rewrites its last values in place and rescales them

    def __init__(self, series: CandleSeries, values: FloatArray, shift: int = 0, dots: bool = False) -> None:
        super().__init__(series, [Output(values, shift, "dots" if dots else "line")])

    @property
    def values(self) -> FloatArray:
        return self.outputs[0].values

    @values.setter
    def values(self, values: FloatArray) -> None:
        self.outputs[0].values = values
        self.outputs[0]._range = None

    @property
    def shift(self) -> int:
        return self.outputs[0].shift

    def set_style(self, color: str, width: float, style: str) -> None:
        self._style([color], width, style)

    def set_values(self, series: CandleSeries, values: FloatArray) -> None:
        self._set_arrays(series, [values])

    def live_values(self, values: FloatArray, changed_from: int) -> None:
        self._live_arrays([values], changed_from)


def _runs(finite: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in ``finite`` (one run, at once, when all are)."""
    if finite.all():
        return [(0, len(finite))]
    edges = np.flatnonzero(np.diff(np.r_[False, finite, False].astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _minmax(values: FloatArray) -> tuple[float, float] | None:
    """The lowest and highest value of ``values`` but NaN (None when all are NaN)."""
    if len(values) <= SMALL:
        kept = [v for v in values.tolist() if v == v]
        return (min(kept), max(kept)) if kept else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: NaN, said below
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return None if math.isnan(lo) else (lo, hi)


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
