"""The one graphics item over the price pane that paints every drawing and takes
the mouse for them.

It covers the view (its bounds are the view, taken when the view changes, never
computed in ``boundingRect``) and sits above the candles and the order lines.
pyqtgraph offers it every hover, click and drag first; it takes them only when
a tool is armed or the press is on a drawing, and otherwise leaves them to the
items below and to the ViewBox, so the chart pans and zooms as before. A drag
it takes is the drawing's: the ViewBox never sees it, so the chart does not
pan while a line is moved or drawn.

What to do with the mouse is the layer's (``DrawingLayer``); this item only
passes on pixels (scene coordinates) and paints what the layer shows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.drawings.shapes import Frame, Outline, outline
from terminal.ui.chart.price_scale import scale_of

if TYPE_CHECKING:
    from terminal.ui.chart.drawings.layer import DrawingLayer

HANDLE_RADIUS = 4.0
FILL_ALPHA = 40  # a rectangle's inside: the candles show through
Z_VALUE = 9  # over the candles, trade marks (5) and order lines (8)


class DrawingsItem(pg.GraphicsObject):
    def __init__(self, layer: DrawingLayer) -> None:
        super().__init__()
        self.layer = layer
        self.setZValue(Z_VALUE)
        self._bounds = QRectF()
        self.font = QFont()
        self.font.setPointSizeF(8.0)
        self.metrics = QFontMetricsF(self.font)
        self.background = QColor("#131722")  # inside the handles (the theme's background)
        self.painted = 0  # drawings painted in the last paint (tests read it)

    # -- geometry ------------------------------------------------------------------------
    def viewRangeChanged(self) -> None:
        # As OrderLines: the ViewBox's own range (the item's cached view may be stale here).
        box = self.getViewBox()
        view = box.viewRect() if box is not None else self.viewRect()
        if view is None or not all(math.isfinite(v) for v in view.getRect()):
            return
        if view != self._bounds:
            self.prepareGeometryChange()
            self._bounds = QRectF(view)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def frame(self) -> Frame | None:
        """Where (time, price) is in scene pixels now (None before the view is placed)."""
        box = self.getViewBox()
        if box is None:
            return None
        view = box.viewRect()
        if not all(math.isfinite(v) for v in view.getRect()) or view.width() <= 0 or view.height() <= 0:
            return None
        # The ViewBox brings its children's transform up to date lazily (on paint, or when
        # asked to map): ask it, as the item's own sceneTransform() may be a frame behind.
        to_scene = box.childTransform() * box.sceneTransform()
        return Frame.of(to_scene, view, self.layer.half_slot(), scale_of(self))

    # -- mouse: passed on to the layer -------------------------------------------------
    def hoverEvent(self, ev: Any) -> None:
        if ev.isExit():
            self.layer.hover(None)
            self.unsetCursor()
            return
        under = self.layer.hover(ev.scenePos())
        if under is None:
            self.unsetCursor()
            return
        left = Qt.MouseButton.LeftButton
        ev.acceptClicks(left)  # a click or a drag starting here is the drawings', not the chart's
        ev.acceptDrags(left)
        if under != "tool":
            ev.acceptClicks(Qt.MouseButton.RightButton)
        cursors = {
            "tool": Qt.CursorShape.CrossCursor,
            "handle": Qt.CursorShape.SizeAllCursor,
            "body": Qt.CursorShape.PointingHandCursor,
        }
        self.setCursor(cursors[under])

    def mouseClickEvent(self, ev: Any) -> None:
        taken = self.layer.click(ev.scenePos(), ev.button(), ev.double(), ev.screenPos())
        if taken:
            ev.accept()
        else:
            ev.ignore()

    def mouseDragEvent(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart() and not self.layer.drag_start(ev.buttonDownScenePos()):
            ev.ignore()  # not on a drawing and no tool: the chart pans
            return
        if not self.layer.dragging:
            ev.ignore()
            return
        ev.accept()
        if ev.isFinish():
            self.layer.drag_end(ev.scenePos())
        else:
            self.layer.drag_move(ev.scenePos())

    # -- painting ------------------------------------------------------------------------
    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self.painted = 0
        shown = self.layer.shown()
        box = self.getViewBox()
        if not shown or box is None:
            return
        frame = Frame.of(p.transform(), box.viewRect(), self.layer.half_slot(), scale_of(self))
        selected = self.layer.selected_id
        p.save()
        p.resetTransform()  # pixels from here on: one-pixel lines and fixed-size labels at any zoom
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self.font)
        for drawing in shown:
            shape = outline(drawing, frame, self.metrics, self.layer.price_text)
            self._paint(p, shape, QColor(drawing.color), drawing.id == selected)
            self.painted += 1
        p.restore()

    def _paint(self, p: QPainter, shape: Outline, color: QColor, selected: bool) -> None:
        if shape.box is not None:
            fill = QColor(color)
            fill.setAlpha(FILL_ALPHA)
            p.fillRect(shape.box, fill)
        width = 2 if selected else 1
        p.setPen(QPen(color, width))
        p.drawLines([_crisp(line, width) for line in shape.lines])
        p.setPen(QPen(color, 1, Qt.PenStyle.DashLine))
        p.drawLines([_crisp(line, 1) for line in shape.dashed])
        for label in shape.labels:
            if label.filled:
                p.fillRect(label.box, color)
                p.setPen(QColor("#ffffff"))
            else:
                p.setPen(color)
            p.drawText(label.box, Qt.AlignmentFlag.AlignCenter, label.text)
        if selected:
            p.setPen(QPen(color, 1.5))
            p.setBrush(QBrush(self.background))
            for handle in shape.handles:
                p.drawEllipse(handle.at, HANDLE_RADIUS, HANDLE_RADIUS)


def _crisp(line: QLineF, width: int) -> QLineF:
    """A level or upright line on whole pixels: antialiased across two rows it would
    show as a dim, blurred band (a sloped line keeps its antialiasing)."""
    offset = 0.5 if width % 2 else 0.0
    if line.y1() == line.y2():
        y = math.floor(line.y1()) + offset
        return QLineF(line.x1(), y, line.x2(), y)
    if line.x1() == line.x2():
        x = math.floor(line.x1()) + offset
        return QLineF(x, line.y1(), x, line.y2())
    return line
