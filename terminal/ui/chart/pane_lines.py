"""A pane's guide levels (RSI's 30 and 70) and the crosshair's time, in one item.

The guides are the pane's still picture's (``still.py``): only the crosshair is drawn
over it as the mouse moves.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.still import StillLayer
from terminal.ui.chart.view_rect import view_bounds


class PaneLines(pg.GraphicsObject):
    """A pane's guide levels (RSI's 30 and 70: dotted, across the view) and the
    crosshair's time (dashed, top to bottom), in one item and one paint. Its bounds are
    the view's (they follow every pan and zoom).

    A guide is a one-pixel row filled with a half-tone pattern (every other pixel): a
    dotted pen strokes each of its hundreds of dots on its own, a third of a millisecond
    a frame for a pane's two guides."""

    def __init__(self, levels: Sequence[float]) -> None:
        super().__init__()
        self.levels = tuple(float(v) for v in levels)
        self.cursor_x: float | None = None  # the crosshair's time (seconds); None: hidden
        self.guide_brush = QBrush(QColor("#787b86"), Qt.BrushStyle.Dense4Pattern)
        self.cursor_pen = QPen(QColor("#9598a1"), 1.0, Qt.PenStyle.DashLine)
        self.cursor_pen.setCosmetic(True)
        self._bounds = QRectF()
        self.layer: StillLayer | None = None  # the pane's still picture: the guides are in it
        self._version = 0

    def set_colors(self, guide: QColor, cursor: QPen) -> None:
        self.guide_brush = QBrush(QColor(guide), Qt.BrushStyle.Dense4Pattern)
        self.cursor_pen = QPen(cursor)
        self.cursor_pen.setCosmetic(True)
        self._version += 1
        self.update()

    def still_key(self) -> Hashable:
        return (self._version, self.levels)

    def set_cursor(self, x: float | None) -> None:
        if x != self.cursor_x:
            self.cursor_x = x
            self.update()

    def viewRangeChanged(self) -> None:
        self._bounds = view_bounds(self, self._bounds)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.layer is None or not self.layer.holds(self, p):  # else the guides are in its picture
            self.paint_history(p)
        if self.cursor_x is not None and not self._bounds.isNull():
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(self.cursor_pen)
            p.drawLine(QLineF(self.cursor_x, self._bounds.top(), self.cursor_x, self._bounds.bottom()))

    def paint_history(self, p: QPainter) -> None:
        """The guides."""
        view = self._bounds
        if view.isNull():
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if self.levels:
            to_device = p.transform()
            area = to_device.mapRect(view)  # the view in device pixels
            left, width = round(area.left()), round(area.width())
            p.save()
            p.resetTransform()  # one row of whole pixels
            for level in self.levels:
                y = to_device.map(QPointF(view.left(), level)).y()
                p.fillRect(QRect(left, math.floor(y), width, 1), self.guide_brush)
            p.restore()
