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
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.visible import DrawnCandles, candles, envelope, visible_slice

BODY_FRACTION = 0.7  # body width as a fraction of the candle's time slot
MERGE_BELOW_PX = 2.0  # slots narrower than this are merged per pixel column


class SeriesItem(pg.GraphicsObject):
    """Shared machinery: the series, cached bounds, the visible slice, colours."""

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
        self.set_series(series)

    def set_colors(self, up: QColor, down: QColor) -> None:
        self._colors = (QColor(up), QColor(down))
        self.update()

    # -- data ------------------------------------------------------------------
    def set_series(self, series: CandleSeries) -> None:
        """A new or reloaded series: bounds from the whole history, once."""
        self.series = series
        self.prepareGeometryChange()
        self._bounds = self._full_bounds()
        self.update()

    def live_update(self) -> None:
        """The newest candle changed or one was appended: grow the bounds, repaint."""
        last = self.series.last()
        if last is None:
            return
        bounds = self._grow_bounds(self._bounds, last)
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def slot_s(self) -> float:
        return self.series.timeframe_ms / 1000.0

    def _full_bounds(self) -> QRectF:
        raise NotImplementedError

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        raise NotImplementedError

    # -- QGraphicsItem ---------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        series = self.series
        self.drawn = 0
        view = self.viewRect()
        if view is None or not len(series):
            return
        slot = self.slot_s()
        i0, i1 = visible_slice(series.ts, view.left() - slot, view.right() + slot)
        if i1 <= i0:
            return
        px = self.pixelWidth() or slot
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if slot / px < MERGE_BELOW_PX:
            self.merged = True
            self._paint_merged(p, envelope(series, i0, i1, view.left() - slot, px))
        else:
            self.merged = False
            self._paint_slots(p, candles(series, i0, i1), slot)
        if self.drawn and self.on_painted is not None:
            callback, self.on_painted = self.on_painted, None
            callback()

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
        pen = QPen(self._colors[k])
        pen.setCosmetic(True)
        pen.setWidth(1)
        p.setPen(pen)
        p.drawLines(*arr.drawargs())
        self.drawn += n


class CandlestickItem(SeriesItem):
    def _full_bounds(self) -> QRectF:
        s = self.series
        if not len(s):
            return QRectF()
        slot = self.slot_s()
        lo, hi = float(s.low.min()), float(s.high.max())
        x0 = s.ts[0] / 1000.0
        return QRectF(x0, lo, s.ts[-1] / 1000.0 + slot - x0, hi - lo)

    def _grow_bounds(self, bounds: QRectF, last: tuple[int, float, float, float, float, float]) -> QRectF:
        if bounds.isNull():
            return self._full_bounds()
        ts, _, high, low, _, _ = last
        right = max(bounds.right(), ts / 1000.0 + self.slot_s())
        top, bottom = min(bounds.top(), low), max(bounds.bottom(), high)
        return QRectF(bounds.left(), top, right - bounds.left(), bottom - top)

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
