"""The last price across the price pane: a dotted line in the up or down colour, and the
price in a label of that colour at the pane's right edge.

It moves at every tick, so it is two plain items that draw a line and a filled label
and nothing else: pyqtgraph's ``InfiniteLine`` with a text label (what this replaces)
took 0.6 ms of a tick's 1.5 ms (its label is a rich-text item laid out again at each
price, its position worked out through several signals) and its own repaint again.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.view_rect import view_bounds

LABEL_AT = 0.98  # of the view's width: the label's right edge
LINE_Z = 6.0  # over the indicators (5) and trade marks, under own orders' lines (8)
LABEL_Z = 1e5  # over the lines, under the indicators' legends (1e6)
PAD_X, PAD_Y = 4.0, 1.0


class LastPriceLabel(QGraphicsItem):
    """The price in a filled box, its right edge and middle at its position: a child of the
    view box (whose coordinates are pixels), not of the data's coordinates, so that it keeps
    its size as the view scales."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setZValue(LABEL_Z)
        self.text = ""
        self.fill = QColor("#26a69a")
        self.ink = QColor("#ffffff")
        self.font = QFont()
        self._rect = QRectF()

    def set_text(self, text: str) -> None:
        if text == self.text:
            return
        metrics = QFontMetricsF(self.font)
        width = metrics.horizontalAdvance(text) + 2 * PAD_X
        height = metrics.height() + 2 * PAD_Y
        self.prepareGeometryChange()
        self._rect = QRectF(-width, -height / 2, width, height)
        self.text = text
        self.update()

    def toPlainText(self) -> str:
        return self.text

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self.text:
            return
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(self.fill))
        p.drawRect(self._rect)
        p.setPen(QPen(self.ink))
        p.setFont(self.font)
        p.drawText(self._rect, int(Qt.AlignmentFlag.AlignCenter), self.text)


class LastPriceLine(pg.GraphicsObject):
    """The line at the last price (in the pane's y: log10 of it on a log scale) and its label."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(LINE_Z)
        self.label = LastPriceLabel(self)
        self._y = math.nan
        self._view = QRectF()
        self._color = QColor("#26a69a")
        self._pen = self._dotted(self._color)

    @staticmethod
    def _dotted(color: QColor) -> QPen:
        pen = QPen(color)
        pen.setCosmetic(True)
        pen.setWidth(1)
        pen.setStyle(Qt.PenStyle.DotLine)
        return pen

    def value(self) -> float:
        return self._y

    def set_colors(self, ink: QColor) -> None:
        self.label.ink = QColor(ink)
        self.label.update()

    def set_price(self, y: float, text: str, color: QColor) -> None:
        if color != self._color:
            self._color = QColor(color)
            self._pen = self._dotted(self._color)
            self.label.fill = self._color
            self.label.update()
        self.label.set_text(text)
        if y != self._y:
            self.prepareGeometryChange()
            self._y = y
            self._place_label()
        self.update()

    def viewRangeChanged(self) -> None:
        self._view = view_bounds(self, self._view)  # (its bounds are a sliver of it)
        self._place_label()

    def viewTransformChanged(self) -> None:
        self._place_label()  # the view was resized: the same price is at another pixel

    def _place_label(self) -> None:
        box = self.getViewBox()
        if not isinstance(box, pg.ViewBox) or not math.isfinite(self._y) or self._view.isEmpty():
            return
        if self.label.parentItem() is not box:
            self.label.setParentItem(box)
        at = box.childGroup.mapToParent(QPointF(self._view.left() + self._view.width() * LABEL_AT, self._y))
        self.label.setPos(at)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:
        # shown and hidden with the line, though it hangs from the view box
        if change == QGraphicsItem.GraphicsItemChange.ItemVisibleHasChanged:
            self.label.setVisible(bool(value))
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:
        if not math.isfinite(self._y) or self._view.isEmpty():
            return QRectF()
        thin = self._view.height() * 0.01  # a line: a sliver of the view around its price
        return QRectF(self._view.left(), self._y - thin, self._view.width(), 2 * thin)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not math.isfinite(self._y) or self._view.isEmpty():
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._pen)
        p.drawLine(QLineF(self._view.left(), self._y, self._view.right(), self._y))
