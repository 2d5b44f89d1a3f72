"""Candle and volume graphics items that paint only what is visible.

One item draws the whole series, but each ``paint`` looks up the visible
index range with a binary search and draws just those candles, with at most
four batched QPainter calls (up/down bodies, up/down wicks) fed straight from
numpy through pyqtgraph's PrimitiveArray. When candles are narrower than two
pixels they are merged per pixel column (M4), so a frame costs at most about
one primitive per pixel column whatever the history length. A live update of
the newest candle moves the cached bounds in O(1) and repaints; nothing is
rebuilt from the whole history (piker's approach, unlike a QPicture of all
candles).

The price is drawn in one of the chart's styles (``PRICE_STYLES``): candles
(``CandlestickItem``, which also draws Heikin-Ashi candles when handed their
series), a line through the closes (``CloseLineItem``, merged per pixel column
the same way) or that line over a filled area (``CloseAreaItem``). Prices go
through the price pane's scale (``price_scale.scale_of``): on a log scale each
item draws log10 of the prices in view; in other panes, and on a linear scale,
the values as they are.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Hashable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.price_scale import PriceScale, scale_of
from terminal.ui.chart.still import StillLayer
from terminal.ui.chart.view_rect import pixel_width
from terminal.ui.chart.visible import DrawnCandles, candles, envelope, visible_slice

BODY_FRACTION = 0.7  # body width as a fraction of the candle's time slot
MERGE_BELOW_PX = 2.0  # slots narrower than this are merged per pixel column
# The close line's width in pixels. One pixel, antialiased, is Qt's fast cosmetic stroke:
# 1.5 goes through the general stroker and cost 4 ms for 500 closes, 40 ms for 5,000.
LINE_WIDTH = 1.0
AREA_ALPHA = 48  # the area's fill: the line's colour, mostly transparent (of 255)
PRICE_STYLES = ("candles", "line", "area", "heikin_ashi")  # ChartWidget.set_style's names
WHOLE, HISTORY, LIVE = 0, 1, 2  # the parts of a paint (terminal.ui.chart.still)
LIVE_MARGIN_PX = 3  # around what a tick repaints: a merged pixel column, a line's antialiasing
PRICE_Z = -1.0  # over the grid (-100), under the last-price line and the crosshair (0) added after it


class SeriesItem(pg.GraphicsObject):
    """Shared machinery: the series, cached bounds, the visible slice, colours."""

    #: whether its history can go in the plot's still picture (the area's fill cannot: two
    #: translucent fills meeting at the live segment would show their seam)
    still = True

    def __init__(self, series: CandleSeries) -> None:
        super().__init__()
        self.series = series
        self._bounds = QRectF()
        self._rects = (PrimitiveArray(QRectF, 4), PrimitiveArray(QRectF, 4))
        self._lines = (PrimitiveArray(QLineF, 4), PrimitiveArray(QLineF, 4))
        self._colors = (QColor("#26a69a"), QColor("#ef5350"))
        self.drawn = 0  # primitives drawn in the last paint (tests and benchmarks read it)
        self.merged = False  # whether the last paint merged candles per pixel
        self.on_painted: Callable[[], None] | None = None  # called once after candles are drawn
        self.layer: StillLayer | None = None  # the plot's still picture, when it holds the history
        self._version = 0  # bumped when the history as drawn changes (colours, a new series)
        self._history_drawn = 0
        self.set_series(series)

    def set_colors(self, up: QColor, down: QColor) -> None:
        self._colors = (QColor(up), QColor(down))
        self._version += 1
        self.update()

    # -- data ------------------------------------------------------------------
    def set_series(self, series: CandleSeries) -> None:
        """A new or reloaded series: bounds from the whole history, once."""
        self.series = series
        self.prepareGeometryChange()
        self._bounds = self._full_bounds()
        self._version += 1
        self.update()

    def live_update(self) -> None:
        """The newest candle changed or one was appended: grow the bounds, repaint its slot
        (or, when the bounds grew, everything)."""
        last = self.series.last()
        if last is None:
            return
        bounds = self._grow_bounds(self._bounds, last)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
            self.update()
        else:  # the view repaints the slot only (pyqtgraph's views paint the region asked for)
            self.update(self._live_strip(float(last[0]) / 1000.0))

    def _live_strip(self, x: float) -> QRectF:
        """The pixels a tick can change: the newest candle's slot, from top to bottom, with a
        margin for a pixel column's merged candles and for antialiasing."""
        slot = self.slot_s()
        margin = slot + LIVE_MARGIN_PX * pixel_width(self, slot)
        bounds = self.boundingRect()
        return QRectF(x - margin, bounds.top(), slot + 2 * margin, bounds.height())

    def scale_changed(self) -> None:
        """The pane's price scale switched (linear, log): bounds afresh in its coordinates."""
        self.set_series(self.series)

    def price_range(self, i0: int, i1: int) -> tuple[float, float] | None:
        """The lowest and highest price drawn for candles [i0, i1) (the price axis fits it)."""
        if i1 <= i0:
            return None
        return float(self.series.low[i0:i1].min()), float(self.series.high[i0:i1].max())

    def slot_s(self) -> float:
        return self.series.timeframe_ms / 1000.0

    def _box(self, lo: float, hi: float) -> QRectF:
        """The whole series' slots across, prices [lo, hi] up, in the pane's coordinates."""
        s = self.series
        ys = scale_of(self).span(lo, hi)
        if ys is None:
            return QRectF()
        x0 = s.ts[0] / 1000.0
        return QRectF(x0, ys[0], s.ts[-1] / 1000.0 + self.slot_s() - x0, ys[1] - ys[0])

    def _grown(self, bounds: QRectF, ts: int, lo: float, hi: float) -> QRectF:
        """``bounds`` taking in a slot opening at ``ts`` with prices [lo, hi]."""
        if bounds.isNull():
            return self._full_bounds()
        right = max(bounds.right(), ts / 1000.0 + self.slot_s())
        top, bottom = bounds.top(), bounds.bottom()
        ys = scale_of(self).span(lo, hi)
        if ys is not None:
            top, bottom = min(top, ys[0]), max(bottom, ys[1])
        return QRectF(bounds.left(), top, right - bounds.left(), bottom - top)

    def _full_bounds(self) -> QRectF:
        raise NotImplementedError

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        raise NotImplementedError

    # -- QGraphicsItem ---------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.layer is not None and self.layer.holds(self, p):  # the history is in its picture
            self.drawn = self._history_drawn + self._paint_live(p)
        else:
            self.drawn = self._paint_part(p, WHOLE)
        if self.drawn and self.on_painted is not None:
            callback, self.on_painted = self.on_painted, None
            callback()

    # -- the still layer's parts (terminal.ui.chart.still) ---------------------------------
    def still_key(self) -> Hashable:
        """What the history part draws: the series and its length (a tick rewrites only the
        newest candle; anything older goes through ``set_series``, which bumps the version)."""
        return (self._version, id(self.series), len(self.series))

    def paint_history(self, p: QPainter) -> None:
        self._history_drawn = self._paint_part(p, HISTORY)

    def _live_from(self, n: int) -> int:
        """The first index a live tick redraws: the newest candle (a line: the segment to it)."""
        return n - 1

    def _paint_live(self, p: QPainter) -> int:
        """The newest candle over the still picture, in as few calls as a tick allows (its
        drawing as the whole paint draws it: the same shapes, colours and pixel columns)."""
        series = self.series
        n = len(series)
        box = self.getViewBox()
        if not n or box is None:
            return 0
        m11, m22 = p.transform().m11(), p.transform().m22()
        slot = self.slot_s()
        (x0, x1), _ = box.viewRange()
        t = float(series.ts[n - 1]) / 1000.0
        if t + 2 * slot < x0 or t - slot > x1:
            return 0
        px = 1.0 / abs(m11) if m11 else slot
        self.merged = slot / px < MERGE_BELOW_PX
        if self.merged:  # the envelope's pixel column (visible.envelope), from the same origin
            left = x0 - slot
            x = left + (math.floor((t - left) / px) + 0.5) * px
        else:
            x = t + slot / 2
        _, o, h, lo, c, v = series.last() or (0, 0.0, 0.0, 0.0, 0.0, 0.0)
        scale = scale_of(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        return self._live_shape(
            p,
            x,
            (scale.to_y(o), scale.to_y(h), scale.to_y(lo), scale.to_y(c), v),
            slot,
            1.0 / abs(m22 or 1.0),
        )

    def _live_shape(
        self, p: QPainter, x: float, ohlcv: tuple[float, float, float, float, float], slot: float, px_h: float
    ) -> int:
        """Draw the newest candle at ``x`` (its prices as the pane's y); the primitives drawn."""
        raise NotImplementedError

    def _pen_of(self, k: int) -> QPen:
        pen = QPen(self._colors[k])
        pen.setCosmetic(True)
        pen.setWidth(1)
        return pen

    def _paint_part(self, p: QPainter, part: int) -> int:
        """Paint the visible candles of ``part`` (WHOLE, HISTORY or LIVE); the primitives drawn."""
        series = self.series
        self.drawn = 0
        n = len(series)
        view = self.viewRect()
        if view is None or not n:
            return 0
        slot = self.slot_s()
        i0, i1 = visible_slice(series.ts, view.left() - slot, view.right() + slot)
        if part == HISTORY:
            i1 = min(i1, n - 1)
        elif part == LIVE:
            i0 = max(i0, self._live_from(n))
        if i1 <= i0:
            return 0
        px = self.pixelWidth() or slot
        self._paint_visible(p, i0, i1, view, slot, px)
        return self.drawn

    def _paint_visible(self, p: QPainter, i0: int, i1: int, view: QRectF, slot: float, px: float) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        scale = scale_of(self)
        if slot / px < MERGE_BELOW_PX:
            self.merged = True
            self._paint_merged(p, _scaled(envelope(self.series, i0, i1, view.left() - slot, px), scale))
        else:
            self.merged = False
            self._paint_slots(p, _scaled(candles(self.series, i0, i1), scale), slot)

    def _paint_slots(self, p: QPainter, cs: DrawnCandles, slot: float) -> None:
        raise NotImplementedError

    def _paint_merged(self, p: QPainter, cs: DrawnCandles) -> None:
        raise NotImplementedError

    # -- batched drawing ---------------------------------------------------------
    def _draw_rects(
        self, p: QPainter, k: int, x0: np.ndarray, y0: np.ndarray, w: float | np.ndarray, hgt: np.ndarray
    ) -> None:
        n = len(x0)
        if not n:
            return
        arr = self._rects[k]
        arr.resize(n)
        mem = arr.ndarray()
        mem[:, 0], mem[:, 1], mem[:, 2], mem[:, 3] = x0, y0, w, hgt
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(self._colors[k]))
        p.drawRects(*arr.drawargs())
        self.drawn += n

    def _draw_vlines(self, p: QPainter, k: int, x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> None:
        n = len(x)
        if not n:
            return
        arr = self._lines[k]
        arr.resize(n)
        mem = arr.ndarray()
        mem[:, 0], mem[:, 1], mem[:, 2], mem[:, 3] = x, y0, x, y1
        p.setPen(self._pen_of(k))
        p.drawLines(*arr.drawargs())
        self.drawn += n


class CandlestickItem(SeriesItem):
    """Candles: a body from open to close and a wick from low to high, in the up or down colour."""

    def _full_bounds(self) -> QRectF:
        s = self.series
        if not len(s):
            return QRectF()
        return self._box(float(s.low.min()), float(s.high.max()))

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        ts, _, high, low, _, _ = last
        return self._grown(bounds, ts, low, high)

    def _paint_slots(self, p: QPainter, cs: DrawnCandles, slot: float) -> None:
        up = cs.close >= cs.open
        body_w = slot * BODY_FRACTION
        min_h = abs(self.pixelHeight()) or 0.0  # a doji is still one pixel tall
        bottom = np.minimum(cs.open, cs.close)
        height = np.maximum(np.abs(cs.close - cs.open), min_h)
        for k, mask in enumerate((up, ~up)):
            self._draw_vlines(p, k, cs.x[mask], cs.low[mask], cs.high[mask])
            self._draw_rects(p, k, cs.x[mask] - body_w / 2, bottom[mask], body_w, height[mask])

    def _paint_merged(self, p: QPainter, cs: DrawnCandles) -> None:
        up = cs.close >= cs.open
        for k, mask in enumerate((up, ~up)):
            self._draw_vlines(p, k, cs.x[mask], cs.low[mask], cs.high[mask])

    def _live_shape(
        self, p: QPainter, x: float, ohlcv: tuple[float, float, float, float, float], slot: float, px_h: float
    ) -> int:
        o, h, lo, c, _ = ohlcv
        if not all(math.isfinite(y) for y in (o, h, lo, c)):  # no place on a log scale
            return 0
        k = 0 if c >= o else 1
        p.setPen(self._pen_of(k))
        p.drawLine(QLineF(x, lo, x, h))
        if self.merged:
            return 1
        w = slot * BODY_FRACTION
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(self._colors[k]))
        p.drawRect(QRectF(x - w / 2, min(o, c), w, max(abs(c - o), px_h)))
        return 2


class VolumeItem(SeriesItem):
    def _full_bounds(self) -> QRectF:
        s = self.series
        if not len(s):
            return QRectF()
        x0 = s.ts[0] / 1000.0
        return QRectF(x0, 0.0, s.ts[-1] / 1000.0 + self.slot_s() - x0, float(s.volume.max()))

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        if bounds.isNull():
            return self._full_bounds()
        ts, *_, volume = last
        right = max(bounds.right(), ts / 1000.0 + self.slot_s())
        return QRectF(bounds.left(), 0.0, right - bounds.left(), max(bounds.bottom(), volume))

    def _paint_slots(self, p: QPainter, cs: DrawnCandles, slot: float) -> None:
        up = cs.close >= cs.open
        w = slot * BODY_FRACTION
        zeros = np.zeros(len(cs.x))
        for k, mask in enumerate((up, ~up)):
            self._draw_rects(p, k, cs.x[mask] - w / 2, zeros[mask], w, cs.volume[mask])

    def _paint_merged(self, p: QPainter, cs: DrawnCandles) -> None:
        up = cs.close >= cs.open
        zeros = np.zeros(len(cs.x))
        for k, mask in enumerate((up, ~up)):
            self._draw_vlines(p, k, cs.x[mask], zeros[mask], cs.volume[mask])

    def _live_shape(
        self, p: QPainter, x: float, ohlcv: tuple[float, float, float, float, float], slot: float, px_h: float
    ) -> int:
        o, _, _, c, v = ohlcv
        k = 0 if c >= o else 1
        if self.merged:
            p.setPen(self._pen_of(k))
            p.drawLine(QLineF(x, 0.0, x, v))
            return 1
        w = slot * BODY_FRACTION
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(self._colors[k]))
        p.drawRect(QRectF(x - w / 2, 0.0, w, v))
        return 1


class CloseLineItem(SeriesItem):
    """A line through the candles' closes, each at the middle of its slot. When
    slots are narrower than ``MERGE_BELOW_PX``, each pixel column is drawn as its
    first, lowest, highest and last close (M4), in the candles' own columns."""

    def __init__(self, series: CandleSeries) -> None:
        super().__init__(series)
        self.line_color = QColor("#2962ff")

    def set_line_color(self, color: QColor) -> None:
        self.line_color = QColor(color)
        self._version += 1
        self.update()

    def _live_from(self, n: int) -> int:
        return n - 2  # the segment from the candle before

    def _paint_live(self, p: QPainter) -> int:
        return self._paint_part(p, LIVE)  # a segment of the line as the whole paint draws it

    def price_range(self, i0: int, i1: int) -> tuple[float, float] | None:
        if i1 <= i0:
            return None
        close = self.series.close[i0:i1]
        return float(close.min()), float(close.max())

    def _full_bounds(self) -> QRectF:
        s = self.series
        if not len(s):
            return QRectF()
        return self._box(float(s.close.min()), float(s.close.max()))

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        ts, _, _, _, close, _ = last
        return self._grown(bounds, ts, close, close)

    def _paint_visible(self, p: QPainter, i0: int, i1: int, view: QRectF, slot: float, px: float) -> None:
        x = self.series.ts[i0:i1] / 1000.0 + slot / 2
        y = scale_of(self).to_ys(self.series.close[i0:i1])
        self.merged = slot / px < MERGE_BELOW_PX
        top = None  # when merged, each column's highest close: the area's edge
        if self.merged:
            middle, first, low, high, last = close_columns(x, y, view.left() - slot, px)
            x, y = np.repeat(middle, 4), np.column_stack([first, low, high, last]).ravel()
            top = (middle, high)
        self._draw_close(p, x, y, view, top)
        self.drawn = len(x)

    def _draw_close(
        self,
        p: QPainter,
        x: np.ndarray,
        y: np.ndarray,
        view: QRectF,
        top: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        """The line through (x, y); ``top`` is the upper edge of merged columns (the area fills to it)."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._line_pen())
        p.setBrush(Qt.BrushStyle.NoBrush)  # a path is filled with the brush, even an open one
        p.drawPath(pg.arrayToQPath(x, y, connect="finite"))

    def _line_pen(self) -> QPen:
        pen = QPen(self.line_color)
        pen.setCosmetic(True)
        pen.setWidthF(LINE_WIDTH)
        return pen


class CloseAreaItem(CloseLineItem):
    """The close line over a translucent fill down to the bottom of the view. The
    fill reaches below the closes, so the bounds take in the view's bottom, taken
    when the view changes (never computed in ``boundingRect``)."""

    _floor = math.nan  # the view's bottom, in the pane's coordinates (set as the view changes)
    still = False

    def viewRangeChanged(self) -> None:
        box = self.getViewBox()
        if box is None:
            return
        floor = float(box.viewRect().top())  # pyqtgraph's view rect: top() is the lowest y
        if math.isfinite(floor) and floor != self._floor:
            self.prepareGeometryChange()
            self._floor = floor

    def boundingRect(self) -> QRectF:
        bounds = QRectF(self._bounds)
        if bounds.isNull() or not math.isfinite(self._floor) or self._floor >= bounds.top():
            return bounds
        return QRectF(bounds.left(), self._floor, bounds.width(), bounds.bottom() - self._floor)

    def _draw_close(
        self,
        p: QPainter,
        x: np.ndarray,
        y: np.ndarray,
        view: QRectF,
        top: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        # The fill first, without antialiasing (the line covers its edge): one vertex per
        # close, or per pixel column when merged, since the cost grows with the vertices.
        fx, fy = (x, y) if top is None else top
        keep = np.isfinite(fy)  # a close with no place on a log scale leaves no hole in the fill
        if not keep.all():
            fx, fy = fx[keep], fy[keep]
        if len(fx):
            floor = min(view.top(), view.bottom())
            outline = pg.arrayToQPath(np.r_[fx, fx[-1], fx[0]], np.r_[fy, floor, floor], connect="all")
            outline.closeSubpath()
            fill = QColor(self.line_color)
            fill.setAlpha(AREA_ALPHA)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(fill))
            p.drawPath(outline)
        super()._draw_close(p, x, y, view, top)


def price_item(style: str, series: CandleSeries) -> SeriesItem:
    """The item that draws the price in ``style`` (one of ``PRICE_STYLES``); Heikin-Ashi
    is the candle item, handed the Heikin-Ashi series by the chart."""
    item: SeriesItem
    if style in ("candles", "heikin_ashi"):
        item = CandlestickItem(series)
    elif style == "line":
        item = CloseLineItem(series)
    elif style == "area":
        item = CloseAreaItem(series)
    else:
        raise ValueError(f"unknown chart style {style!r}: one of {', '.join(PRICE_STYLES)}")
    item.setZValue(PRICE_Z)
    return item


def close_columns(
    x: np.ndarray, y: np.ndarray, x0: float, px: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closes ``y`` at ``x`` merged into columns ``px`` wide from ``x0`` (as ``envelope``
    merges candles): each column's middle, first, lowest, highest and last close.
    NaN (no place on a log scale) is left out of the lowest and highest."""
    column = np.floor((x - x0) / px).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    ends = np.r_[starts[1:], len(column)] - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column stays NaN
        low, high = np.fmin.reduceat(y, starts), np.fmax.reduceat(y, starts)
    middle = np.asarray(x0 + (column[starts] + 0.5) * px, dtype=np.float64)
    return middle, y[starts], low, high, y[ends]


def _scaled(cs: DrawnCandles, scale: PriceScale) -> DrawnCandles:
    """Candles with their prices as the pane's y (the same object on a linear scale).
    On a log scale a candle with a price <= 0 has no place and is left out."""
    if not scale.log:
        return cs
    low = scale.to_ys(cs.low)
    keep = np.isfinite(low)
    if not keep.all():
        cs = DrawnCandles(*(col[keep] for col in (cs.x, cs.open, cs.high, cs.low, cs.close, cs.volume)))
        low = low[keep]
    to_ys = scale.to_ys
    return DrawnCandles(cs.x, to_ys(cs.open), to_ys(cs.high), low, to_ys(cs.close), cs.volume)
