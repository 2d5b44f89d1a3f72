"""A backtest's trades drawn over the price pane: a triangle at each fill (up,
below the price, for a buy; down, above it, for a sell) and a dashed line from
entry to exit, green for a winning trade and red for a losing one.

Cheap at any number of trades: the marks are numpy arrays, and each paint
finds the trades overlapping the view by binary search (trades follow one
another in time, so entry and exit times both ascend) and draws only those,
in four batched calls (the lines of winners and of losers, the triangles of
buys and of sells). Triangles keep their size in pixels whatever the zoom.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.price_scale import scale_of

FloatArray = NDArray[np.float64]

TRIANGLE_W = 11.0  # pixels
TRIANGLE_H = 10.0


class TradeMarks(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self.setZValue(5.5)  # over the candles and indicators (5), under the crosshair
        empty = np.empty(0, dtype=np.float64)
        self.entry_x, self.entry_y, self.exit_x, self.exit_y = empty, empty, empty, empty
        self.side = np.empty(0, dtype=np.int8)
        self.win = np.empty(0, dtype=bool)
        self.selected = -1  # index of the trade drawn stronger (the one clicked in the table)
        self._data = QRectF()
        self._bounds = QRectF()
        # up, down, the selected trade, the triangles' outline (which sets them off the candles)
        self._colors = (QColor("#26a69a"), QColor("#ef5350"), QColor("#2962ff"), QColor("#d1d4dc"))
        self._lines = (PrimitiveArray(QLineF, 4), PrimitiveArray(QLineF, 4))
        self.drawn = 0  # trades drawn in the last paint (tests read it)

    # -- data ------------------------------------------------------------------------
    def set_trades(
        self,
        entry_ts_ms: NDArray[np.int64],
        entry_price: FloatArray,
        exit_ts_ms: NDArray[np.int64],
        exit_price: FloatArray,
        side: NDArray[np.int8],
        pnl: FloatArray,
        slot_ms: int,
    ) -> None:
        """Trades in time order; marks sit in the middle of their candles' slots, as candles do."""
        half = slot_ms / 2000.0
        self.entry_x = np.asarray(entry_ts_ms, dtype=np.float64) / 1000.0 + half
        self.exit_x = np.asarray(exit_ts_ms, dtype=np.float64) / 1000.0 + half
        self.entry_y = np.asarray(entry_price, dtype=np.float64)
        self.exit_y = np.asarray(exit_price, dtype=np.float64)
        self.side = np.asarray(side, dtype=np.int8)
        self.win = np.asarray(pnl, dtype=np.float64) > 0
        self.selected = -1
        if len(self.entry_x):
            x0, x1 = float(self.entry_x[0]), float(self.exit_x.max())
            lo = float(min(self.entry_y.min(), self.exit_y.min()))
            hi = float(max(self.entry_y.max(), self.exit_y.max()))
            self._data = QRectF(x0, lo, x1 - x0, hi - lo)
        else:
            self._data = QRectF()
        self._update_bounds()
        self.update()

    def clear(self) -> None:
        empty = np.empty(0, dtype=np.int64)
        self.set_trades(
            empty, np.empty(0), empty, np.empty(0), np.empty(0, dtype=np.int8), np.empty(0), 60_000
        )

    def __len__(self) -> int:
        return len(self.entry_x)

    def select(self, index: int) -> None:
        self.selected = index
        self.update()

    def set_colors(self, up: QColor, down: QColor, accent: QColor, outline: QColor) -> None:
        self._colors = (QColor(up), QColor(down), QColor(accent), QColor(outline))
        self.update()

    # -- geometry ----------------------------------------------------------------------
    def viewRangeChanged(self) -> None:
        # Triangles reach a few pixels past their prices; the bounds take that in
        # here, when the view changes, never inside boundingRect() (lessons learned).
        self._update_bounds()

    def _update_bounds(self) -> None:
        if self._data.isNull() and not len(self.entry_x):
            bounds = QRectF()
        else:
            px, py = self._pixel_size()
            data = scale_of(self).rect(self._data)  # the pane may be on a log scale
            bounds = data.adjusted(
                -px * TRIANGLE_W, -py * TRIANGLE_H * 1.5, px * TRIANGLE_W, py * TRIANGLE_H * 1.5
            )
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds

    def _pixel_size(self) -> tuple[float, float]:
        px, py = self.pixelWidth(), self.pixelHeight()
        ok = np.isfinite(px) and np.isfinite(py) and px > 0 and py > 0
        return (float(px), float(py)) if ok else (0.0, 0.0)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    # -- drawing ------------------------------------------------------------------------
    def visible(self, x0: float, x1: float) -> tuple[int, int]:
        """Index range of the trades overlapping [x0, x1] (seconds)."""
        i0 = int(np.searchsorted(self.exit_x, x0, side="left"))
        i1 = int(np.searchsorted(self.entry_x, x1, side="right"))
        return i0, max(i0, i1)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self.drawn = 0
        view = self.viewRect()
        if view is None or not len(self.entry_x):
            return
        px, py = self._pixel_size()
        if not px:
            return
        i0, i1 = self.visible(view.left() - px * TRIANGLE_W, view.right() + px * TRIANGLE_W)
        if i1 <= i0:
            return
        sl = slice(i0, i1)
        to_ys = scale_of(self).to_ys  # the pane may be on a log scale
        ex, ey, xx, xy = self.entry_x[sl], to_ys(self.entry_y[sl]), self.exit_x[sl], to_ys(self.exit_y[sl])
        side, win = self.side[sl], self.win[sl]
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for k, mask in enumerate((win, ~win)):
            self._draw_lines(p, k, ex[mask], ey[mask], xx[mask], xy[mask])
        if i0 <= self.selected < i1:
            pen = QPen(self._colors[2], 2)
            pen.setCosmetic(True)
            p.setPen(pen)
            s = self.selected - i0
            p.drawLine(QLineF(ex[s], ey[s], xx[s], xy[s]))
        # a long buys at entry and sells at exit; a short the other way round
        buys_x = np.concatenate([ex[side > 0], xx[side < 0]])
        buys_y = np.concatenate([ey[side > 0], xy[side < 0]])
        sells_x = np.concatenate([ex[side < 0], xx[side > 0]])
        sells_y = np.concatenate([ey[side < 0], xy[side > 0]])
        self._draw_triangles(p, 0, buys_x, buys_y, px, py, up=True)
        self._draw_triangles(p, 1, sells_x, sells_y, px, py, up=False)
        self.drawn = i1 - i0

    def _draw_lines(
        self, p: QPainter, k: int, x0: FloatArray, y0: FloatArray, x1: FloatArray, y1: FloatArray
    ) -> None:
        n = len(x0)
        if not n:
            return
        arr = self._lines[k]
        arr.resize(n)
        mem = arr.ndarray()
        mem[:, 0], mem[:, 1], mem[:, 2], mem[:, 3] = x0, y0, x1, y1
        pen = QPen(self._colors[k], 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawLines(*arr.drawargs())

    def _draw_triangles(
        self, p: QPainter, k: int, x: FloatArray, y: FloatArray, px: float, py: float, *, up: bool
    ) -> None:
        """Triangles with their tips at (x, y): pointing up from below for buys,
        down from above for sells; one path, one fill (outlined: over a candle of
        the same colour a bare triangle disappears)."""
        n = len(x)
        if not n:
            return
        half, height = px * TRIANGLE_W / 2, py * TRIANGLE_H * (1.0 if up else -1.0)
        xs = np.empty((n, 4))
        ys = np.empty((n, 4))
        xs[:, 0], ys[:, 0] = x, y  # tip
        xs[:, 1], ys[:, 1] = x - half, y - height
        xs[:, 2], ys[:, 2] = x + half, y - height
        xs[:, 3], ys[:, 3] = x, y  # back to the tip: closed
        connect = np.tile(np.array([1, 1, 1, 0], dtype=np.int32), n)
        path = pg.arrayToQPath(xs.ravel(), ys.ravel(), connect=connect)
        # a reversal's exit and next entry are the same fill twice: with the default
        # odd-even rule two identical triangles cancel out and show hollow
        path.setFillRule(Qt.FillRule.WindingFill)
        pen = QPen(self._colors[3], 1)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(QBrush(self._colors[k]))
        p.drawPath(path)
