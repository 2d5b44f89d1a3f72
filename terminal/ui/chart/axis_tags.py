"""The crosshair's price and time as filled labels on the axes, where a trader's
eye goes for them (the readout above the chart says the candle's OHLCV).

An ``AxisTag`` is a child of an axis item: a filled rectangle with the text in
it, moved along the axis to the cursor's place (the price at the cursor's
height on the price axis, the candle's open time under it on the time axis).
It draws nothing while hidden, and one tag is a rectangle and a short text: no
cost when the crosshair moves beyond a repaint of the axis."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

PAD_X = 4.0
PAD_Y = 2.0


class AxisTag(QGraphicsItem):
    """A label on ``axis`` that follows the crosshair: ``show_at(scene_pos, text)``."""

    def __init__(self, axis: pg.AxisItem) -> None:
        super().__init__(axis)
        self.axis = axis
        self.vertical = axis.orientation in ("left", "right")  # moves up and down the price axis
        self.text = ""
        self._rect = QRectF()
        self._fill = QColor("#363a45")
        self._ink = QColor("#ffffff")
        self.setZValue(1000)  # over the tick labels
        self.hide()

    def set_colors(self, fill: QColor, ink: QColor) -> None:
        self._fill, self._ink = QColor(fill), QColor(ink)
        self.update()

    def show_at(self, scene_pos: QPointF, text: str) -> None:
        """Centre the tag on ``scene_pos``'s height (price axis) or place (time axis)."""
        metrics = pg.QtGui.QFontMetricsF(self.axis.style.get("tickFont") or self.axis.font())
        width = metrics.horizontalAdvance(text) + 2 * PAD_X
        height = metrics.height() + 2 * PAD_Y
        local = self.mapFromScene(scene_pos)
        bounds = self.axis.boundingRect()
        self.prepareGeometryChange()
        if self.vertical:
            width = max(width, bounds.width() - 1)
            self._rect = QRectF(bounds.left() + 1, local.y() - height / 2, width, height)
        else:
            self._rect = QRectF(local.x() - width / 2, bounds.top() + 1, width, height)
        self.text = text
        self.show()
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self.text:
            return
        p.setPen(QPen(self._fill))
        p.setBrush(QBrush(self._fill))
        p.drawRect(self._rect)
        p.setPen(QPen(self._ink))
        p.setFont(self.axis.style.get("tickFont") or self.axis.font())
        p.drawText(self._rect, int(pg.QtCore.Qt.AlignmentFlag.AlignCenter), self.text)
