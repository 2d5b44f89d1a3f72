"""Each kind of drawing as it stands on screen, in pixels: the lines, box and
labels to paint, the handles to drag, and whether a pixel is on it.

One function per kind turns a ``Drawing`` into an ``Outline`` through a
``Frame`` (where the chart's time and price are on screen now). Painting and
hit-testing both read the outline, so what the user sees is exactly what the
mouse can take. Everything is in pixels, so lines stay one pixel thick, labels
keep their size and the grab tolerance is the same at any zoom.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QFontMetricsF, QTransform

from terminal.ui.chart.drawings.model import FIB_LEVELS, Drawing, Kind, Point, fib_price
from terminal.ui.chart.price_scale import LINEAR, PriceScale

HIT_PX = 5.0  # a press this close to a drawing's line takes the drawing
HANDLE_PX = 7.0  # a press this close to a handle takes that handle
LABEL_PAD = 3.0

PriceText = Callable[[float], str]


@dataclass(frozen=True)
class Frame:
    """Where (time, price) is on screen: the item's transform to pixels, the view
    in pixels, and half a candle slot (a point stands in the middle of its
    candle's slot, as the candle does)."""

    transform: QTransform
    view: QRectF  # the visible data, in pixels
    half_slot: float
    scale: PriceScale = LINEAR  # the price pane's (log10 of the price on a log scale)

    @classmethod
    def of(cls, transform: QTransform, view: QRectF, half_slot: float, scale: PriceScale = LINEAR) -> Frame:
        return cls(transform, transform.mapRect(view).normalized(), half_slot, scale)

    def px(self, point: Point) -> QPointF:
        return self.transform.map(QPointF(point[0] + self.half_slot, self.scale.to_y(point[1])))

    def point(self, px: QPointF) -> Point:
        """The (time, price) at pixel ``px``."""
        inverse, _ok = self.transform.inverted()
        at = inverse.map(px)
        return at.x() - self.half_slot, self.scale.to_price(at.y())


@dataclass(frozen=True)
class Handle:
    """A point a drag can move: it sets the time of point ``time_of`` and the price
    of point ``price_of`` (the same point for a line's ends)."""

    at: QPointF
    time_of: int
    price_of: int


@dataclass(frozen=True)
class Label:
    box: QRectF
    text: str
    filled: bool = False  # white text on the drawing's colour (a line's price), else text in its colour


@dataclass
class Outline:
    lines: list[QLineF] = field(default_factory=list)
    dashed: list[QLineF] = field(default_factory=list)
    box: QRectF | None = None  # a rectangle's filled inside
    labels: list[Label] = field(default_factory=list)
    handles: list[Handle] = field(default_factory=list)
    body: QRectF | None = None  # an area that takes the mouse besides the lines (a note's text)

    def handle_at(self, px: QPointF, tolerance: float = HANDLE_PX) -> Handle | None:
        near = [(QLineF(h.at, px).length(), i) for i, h in enumerate(self.handles)]
        near = [(d, i) for d, i in near if d <= tolerance]
        return self.handles[min(near)[1]] if near else None

    def touches(self, px: QPointF, tolerance: float = HIT_PX) -> bool:
        """Whether a press at ``px`` is on the drawing."""
        if any(_distance(px, line) <= tolerance for line in (*self.lines, *self.dashed)):
            return True
        return any(
            area is not None and area.adjusted(-tolerance, -tolerance, tolerance, tolerance).contains(px)
            for area in (self.box, self.body)
        )


def outline(drawing: Drawing, frame: Frame, metrics: QFontMetricsF, price_text: PriceText) -> Outline:
    return _BUILDERS[drawing.kind](drawing, frame, metrics, price_text)


def _hline(drawing: Drawing, frame: Frame, metrics: QFontMetricsF, price_text: PriceText) -> Outline:
    at = frame.px(drawing.points[0])
    view = frame.view
    y = at.y()
    # the handle where the line was placed, kept on screen when that moment is not
    x = min(max(at.x(), view.left() + HANDLE_PX), view.right() - HANDLE_PX)
    text = price_text(drawing.points[0][1])
    width = metrics.horizontalAdvance(text) + 2 * LABEL_PAD
    height = metrics.height() + 2 * LABEL_PAD
    label = Label(QRectF(view.right() - width - LABEL_PAD, y - height, width, height), text, filled=True)
    return Outline(
        lines=[QLineF(view.left(), y, view.right(), y)], labels=[label], handles=[Handle(QPointF(x, y), 0, 0)]
    )


def _trend(drawing: Drawing, frame: Frame, *_: object) -> Outline:
    a, b = frame.px(drawing.points[0]), frame.px(drawing.points[1])
    return Outline(lines=[QLineF(a, b)], handles=[Handle(a, 0, 0), Handle(b, 1, 1)])


def _ray(drawing: Drawing, frame: Frame, *_: object) -> Outline:
    a, b = frame.px(drawing.points[0]), frame.px(drawing.points[1])
    direction = QLineF(a, b)
    if direction.length() > 0:
        # on past B far enough to leave the view whatever its size (the view clips it)
        view = frame.view
        reach = QLineF(view.topLeft(), view.bottomRight()).length() + QLineF(a, view.center()).length()
        direction.setLength(max(reach, direction.length()))
    return Outline(lines=[direction], handles=[Handle(a, 0, 0), Handle(b, 1, 1)])


def _rect(drawing: Drawing, frame: Frame, *_: object) -> Outline:
    a, b = frame.px(drawing.points[0]), frame.px(drawing.points[1])
    box = QRectF(a, b).normalized()
    corners = [box.topLeft(), box.topRight(), box.bottomRight(), box.bottomLeft()]
    edges = [QLineF(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    handles = [
        Handle(a, 0, 0),
        Handle(b, 1, 1),
        Handle(QPointF(a.x(), b.y()), 0, 1),
        Handle(QPointF(b.x(), a.y()), 1, 0),
    ]
    return Outline(lines=edges, box=box, handles=handles)


def _fib(drawing: Drawing, frame: Frame, metrics: QFontMetricsF, price_text: PriceText) -> Outline:
    a, b = frame.px(drawing.points[0]), frame.px(drawing.points[1])
    left, right = min(a.x(), b.x()), max(a.x(), b.x())
    height = metrics.height() + 2 * LABEL_PAD
    lines, labels = [], []
    for level in FIB_LEVELS:
        price = fib_price(drawing, level)
        y = frame.px((drawing.points[0][0], price)).y()
        lines.append(QLineF(left, y, right, y))
        text = f"{level:g} ({price_text(price)})"
        width = metrics.horizontalAdvance(text) + 2 * LABEL_PAD
        labels.append(Label(QRectF(left, y - height, width, height), text))
    return Outline(
        lines=lines, dashed=[QLineF(a, b)], labels=labels, handles=[Handle(a, 0, 0), Handle(b, 1, 1)]
    )


def _note(drawing: Drawing, frame: Frame, metrics: QFontMetricsF, *_: object) -> Outline:
    at = frame.px(drawing.points[0])
    text = drawing.text or " "
    width = metrics.horizontalAdvance(text) + 2 * LABEL_PAD
    height = metrics.height() + 2 * LABEL_PAD
    box = QRectF(at.x(), at.y() - height, width, height)  # the text stands just above-right of its point
    return Outline(labels=[Label(box, drawing.text)], body=box, handles=[Handle(at, 0, 0)])


_BUILDERS: dict[Kind, Callable[[Drawing, Frame, QFontMetricsF, PriceText], Outline]] = {
    Kind.HLINE: _hline,
    Kind.TREND: _trend,
    Kind.RAY: _ray,
    Kind.RECT: _rect,
    Kind.FIB: _fib,
    Kind.NOTE: _note,
}


def _distance(px: QPointF, line: QLineF) -> float:
    """Pixels from ``px`` to the segment ``line``."""
    dx, dy = line.dx(), line.dy()
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return QLineF(px, line.p1()).length()
    t = ((px.x() - line.x1()) * dx + (px.y() - line.y1()) * dy) / length2
    t = min(max(t, 0.0), 1.0)
    return math.hypot(px.x() - (line.x1() + t * dx), px.y() - (line.y1() + t * dy))
