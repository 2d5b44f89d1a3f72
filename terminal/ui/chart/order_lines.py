"""The account's open orders over the price pane: a horizontal line at each
order's price (solid for a limit, dashed for a stop's trigger) in the side's
colour, with a small label ("BUY 0.01 @ 64,000.0"). An order above or below
the prices in view keeps its label, pinned to that edge with an arrow, so
no working order is ever out of sight. Labels that would overlap (orders
close in price, several pinned to one edge) are moved apart.

A line can be dragged to another price: the line follows the mouse (its label
says the new price) and, when it is dropped, ``on_moved(key, price)`` asks for
the order to be amended there (the desk puts it through the ticket: the same
checks and confirmation as typing it). A press away from every line is left
to the chart, which pans as before.

There are few open orders (the risk rules cap them at 50 by default), so the
item keeps a plain list and draws each line; all drawing is in pixels (the
painter's view transform is dropped after mapping the prices), so lines stay
one pixel thick and labels keep their size at any zoom.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.price_scale import scale_of

LABEL_PAD = 3.0  # pixels around a label's text
LABEL_LEFT = 6.0  # pixels from the pane's left edge
GRAB_PX = 5.0  # a press this close to a line (in pixels) takes hold of it


@dataclass(frozen=True)
class OrderLine:
    price: float
    buy: bool
    label: str
    stop: bool = False  # a stop's trigger price (dashed)
    key: str = ""  # the order's client id: a line with a key can be dragged to amend the order


class OrderLines(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self.setZValue(8)  # over the candles and trade marks, under the crosshair
        self.lines: list[OrderLine] = []
        self._bounds = QRectF()
        self._colors = (QColor("#26a69a"), QColor("#ef5350"))
        self._font = QFont()
        self._font.setPointSizeF(8.0)
        self.drawn = 0  # lines drawn in view in the last paint (tests read them)
        self.pinned = 0  # labels pinned to an edge in the last paint
        # Dragging: the line held (its key) and where it is now; told where it was dropped.
        self.on_moved: Callable[[str, float], None] | None = None
        self.format_price: Callable[[float], str] = lambda price: f"{price:,.8g}"
        self._held: tuple[str, float] | None = None

    def set_lines(self, lines: Sequence[OrderLine]) -> None:
        new = list(lines)
        if new != self.lines:
            self.lines = new
            self.viewRangeChanged()  # bounds before the view first moves
            self.update()

    def prices(self) -> list[float]:
        return [line.price for line in self.lines]

    # -- dragging a line to amend its order ------------------------------------------------
    def line_near(self, price: float, tolerance: float) -> OrderLine | None:
        """The draggable line closest to ``price``, within ``tolerance`` (in price)."""
        near = [ln for ln in self.lines if ln.key and abs(ln.price - price) <= tolerance]
        return min(near, key=lambda ln: abs(ln.price - price)) if near else None

    def grab(self, price: float, tolerance: float) -> bool:
        """Take hold of the line near ``price``; False (nothing held) when there is none."""
        line = self.line_near(price, tolerance)
        self._held = None if line is None else (line.key, line.price)
        return line is not None

    def drag_to(self, price: float) -> None:
        if self._held is not None:
            self._held = (self._held[0], price)
            self.update()

    def drop(self) -> None:
        """Let go: the held line's order is asked to move to where it was dropped."""
        held, self._held = self._held, None
        self.update()
        if held is None:
            return
        key, price = held
        line = next((ln for ln in self.lines if ln.key == key), None)
        if line is not None and price != line.price and self.on_moved is not None:
            self.on_moved(key, price)

    def mouseDragEvent(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        if ev.isStart() and not self.grab(*self._price_near(ev.buttonDownPos().y())):
            ev.ignore()  # not on a line: the chart pans
            return
        if self._held is None:
            ev.ignore()
            return
        ev.accept()
        self.drag_to(scale_of(self).to_price(ev.pos().y()))
        if ev.isFinish():
            self.drop()

    def hoverEvent(self, ev: Any) -> None:
        if ev.isExit():
            self.unsetCursor()
            return
        if self.line_near(*self._price_near(ev.pos().y())) is not None:
            ev.acceptDrags(Qt.MouseButton.LeftButton)  # a drag starting here is this item's
            self.setCursor(Qt.CursorShape.SizeVerCursor)
        else:
            self.unsetCursor()

    def _price_near(self, y: float) -> tuple[float, float]:
        """The price at the pane's ``y`` and the price distance ``GRAB_PX`` pixels make there
        (the pane may be on a log scale)."""
        scale = scale_of(self)
        reach = GRAB_PX * (self.pixelHeight() or 0.0)
        return scale.to_price(y), abs(scale.to_price(y + reach) - scale.to_price(y - reach)) / 2

    def _shown_lines(self) -> list[OrderLine]:
        """The lines as drawn: the one held where it is being dragged to."""
        held = self._held
        if held is None:
            return self.lines
        key, price = held
        moved = [ln for ln in self.lines if ln.key != key]
        for ln in self.lines:
            if ln.key == key:
                moved.append(replace(ln, price=price, label=f"{ln.label} → {self.format_price(price)}"))
        return moved

    def set_colors(self, up: QColor, down: QColor) -> None:
        self._colors = (QColor(up), QColor(down))
        self.update()

    # -- geometry ------------------------------------------------------------------------
    def viewRangeChanged(self) -> None:
        # Lines span the view and labels stay inside it: the bounds are the view,
        # taken here when it changes, never inside boundingRect() (lessons learned).
        # The ViewBox's own range, not the item's viewRect(): pyqtgraph calls this before it
        # refreshes the item's cached view, and stale bounds would miss a press on a line.
        box = self.getViewBox()
        view = box.viewRect() if box is not None else self.viewRect()
        if view is None or not all(math.isfinite(v) for v in view.getRect()):
            return
        if view != self._bounds:
            self.prepareGeometryChange()
            self._bounds = QRectF(view)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    # -- drawing -------------------------------------------------------------------------
    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self.drawn = self.pinned = 0
        view = self.viewRect()
        if view is None or not self.lines:
            return
        to_px = p.transform()
        left = to_px.map(QPointF(view.left(), view.top())).x()
        right = to_px.map(QPointF(view.right(), view.top())).x()
        top_px = min(to_px.map(QPointF(0, view.top())).y(), to_px.map(QPointF(0, view.bottom())).y())
        bottom_px = max(to_px.map(QPointF(0, view.top())).y(), to_px.map(QPointF(0, view.bottom())).y())
        metrics = QFontMetricsF(self._font)
        height = metrics.height() + 2 * LABEL_PAD
        p.save()
        p.resetTransform()
        p.setFont(self._font)
        labels: list[tuple[float, str, QColor]] = []  # (y, text, colour), top to bottom
        scale = scale_of(self)
        for line in sorted(self._shown_lines(), key=lambda item: -item.price):
            color = self._colors[0 if line.buy else 1]
            y = to_px.map(QPointF(0, scale.to_y(line.price))).y()
            text = line.label
            if y < top_px or y > bottom_px:
                # off the prices in view: pin the label to the nearest edge
                above = y < top_px
                text = ("▲ " if above else "▼ ") + text
                y = top_px + height / 2 if above else bottom_px - height / 2
                self.pinned += 1
            else:
                pen = QPen(color, 1, Qt.PenStyle.DashLine if line.stop else Qt.PenStyle.SolidLine)
                p.setPen(pen)
                p.drawLine(QPointF(left, y), QPointF(right, y))
                self.drawn += 1
            labels.append((y, text, color))
        ys = _apart([y for y, _, _ in labels], height + 1, top_px + height / 2, bottom_px - height / 2)
        for y, (_, text, color) in zip(ys, labels, strict=True):
            width = metrics.horizontalAdvance(text) + 2 * LABEL_PAD
            box = QRectF(left + LABEL_LEFT, y - height / 2, width, height)
            p.fillRect(box, color)
            p.setPen(QColor("#ffffff"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()


def _apart(ys: list[float], gap: float, low: float, high: float) -> list[float]:
    """Label centres (ascending) moved the least so that none is closer than
    ``gap`` to the next, kept within [low, high] where there is room: lines
    close in price would otherwise print their labels over each other."""
    out = list(ys)
    for i in range(1, len(out)):  # push down what overlaps the label above
        out[i] = max(out[i], out[i - 1] + gap)
    if out and out[-1] > high:  # then back up from the bottom edge
        out[-1] = high
        for i in range(len(out) - 2, -1, -1):
            out[i] = min(out[i], out[i + 1] - gap)
    if out and out[0] < low:
        shift = low - out[0]
        out = [y + shift for y in out]
    return out
