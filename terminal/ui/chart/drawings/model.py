"""What a drawing is: plain, immutable data, independent of the chart's timeframe.

A drawing's points are (time, price): the time in seconds since the epoch, as
a candle's open time (the store keeps them so); the chart draws a point in the
middle of the slot of the candle that opens then, as it draws that candle. So
a line drawn on the 1h chart stands at the same moments and prices on the 5m
chart, and a point the magnet put on a candle's high sits on that high on any
timeframe that has the candle.

Drawings never change in place: a move or an edit makes a new ``Drawing`` with
the same ``id``, which is what the undo stack keeps (before and after).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

Point = tuple[float, float]  # (time in seconds, price)


class Kind(StrEnum):
    HLINE = "hline"  # a horizontal line at one price, across the whole chart
    TREND = "trend"  # a segment from A to B
    RAY = "ray"  # from A through B, on to the edge of the chart and beyond
    RECT = "rect"  # a box with corners A and B
    FIB = "fib"  # Fibonacci retracement: levels between A (1) and B (0)
    NOTE = "note"  # a text at a point


#: what each tool is called in menus and messages
TITLES: dict[Kind, str] = {
    Kind.HLINE: "Horizontal line",
    Kind.TREND: "Trend line",
    Kind.RAY: "Ray",
    Kind.RECT: "Rectangle",
    Kind.FIB: "Fibonacci retracement",
    Kind.NOTE: "Text note",
}

#: clicks (points) that make a drawing of each kind
CLICKS: dict[Kind, int] = {Kind.HLINE: 1, Kind.NOTE: 1, Kind.TREND: 2, Kind.RAY: 2, Kind.RECT: 2, Kind.FIB: 2}

#: the lines an "alert on this line" makes sense for (issue 18)
ALERTABLE = frozenset({Kind.HLINE, Kind.TREND, Kind.RAY})

#: Fibonacci retracement levels, as TradingView draws them by default
FIB_LEVELS = (0.0, 0.236, 0.382, 0.5, 0.618, 0.786, 1.0)

DEFAULT_COLOR = "#2962ff"
#: the colours the context menu offers
PALETTE: tuple[tuple[str, str], ...] = (
    ("Blue", "#2962ff"),
    ("Red", "#f23645"),
    ("Green", "#089981"),
    ("Orange", "#ff9800"),
    ("Purple", "#9c27b0"),
    ("Yellow", "#fdd835"),
    ("Grey", "#787b86"),
)


@dataclass(frozen=True)
class Drawing:
    id: str
    kind: Kind
    points: tuple[Point, ...]
    text: str = ""
    color: str = DEFAULT_COLOR

    def moved_by(self, dt: float, dp: float) -> Drawing:
        """The whole drawing shifted by ``dt`` seconds and ``dp`` in price."""
        return replace(self, points=tuple((t + dt, p + dp) for t, p in self.points))

    def with_coordinates(self, time_of: int, price_of: int, point: Point) -> Drawing:
        """Point ``time_of`` given ``point``'s time and point ``price_of`` its price
        (the same index for an end of a line; a rectangle's other corners take one
        coordinate from each of its two points)."""
        points = list(self.points)
        points[time_of] = (point[0], points[time_of][1])
        points[price_of] = (points[price_of][0], point[1])
        return replace(self, points=tuple(points))


def new_id() -> str:
    return uuid.uuid4().hex


def fib_price(drawing: Drawing, level: float) -> float:
    """The price of ``level`` on a retracement drawn from A to B: 0 at B, 1 at A
    (drawn from a low up to a high, 0.618 is the usual pull-back from the high)."""
    (_, a), (_, b) = drawing.points[0], drawing.points[1]
    return b + (a - b) * level
