"""The depth chart: how much the book holds within a distance of the mid.

Cumulative bids to the left of the mid (the theme's up colour) and asks to its
right (down colour), each a filled step area, read from the same ``OrderBook``
the ladder paints. The price axis is centred on the mid and runs, by default,
as far as *both* sides of the book hold levels (so neither side seems to end
where only the other was cut off); the Range box narrows it to ±N% of the mid.
Hovering reads out, at the cursor's price, the cumulative size and notional of
that side: what a market order sweeping to that price would meet.

Cost: at most ``MAX_LEVELS`` levels a side are read (the book's best ones), so
a frame costs the same however deep the book is. Redraws are throttled to
``REFRESH_MS`` (~10 a second, slower than the ladder: a depth profile changes
shape slowly) and skipped while the chart is not on screen (a tab behind the
ladder); Qt paints it when it comes back into view.

A book that is empty, one-sided, crossed or not live (the window says so, as
for the ladder) is never drawn as if it were live: the chart shows no area,
only a short note saying why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from terminal.marketdata.orderbook import Levels, OrderBook, decimals_for
from terminal.ui.theme import DARK, Theme, monospace_font
from terminal.ui.throttle import Throttle

FloatArray = NDArray[np.float64]

MAX_LEVELS = 500  # a side: the most levels one frame reads and draws
REFRESH_MS = 100  # the throttle's interval: at most ~10 redraws a second
#: the Range box: None is "as far as both sides of the book hold levels", else ± that share of the mid
SPANS: tuple[float | None, ...] = (None, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05)
HEADROOM = 1.08  # the y axis runs a little above the larger side's total

WAITING = "Waiting for the book…"
ONE_SIDED = "One side of the book is empty"
CROSSED = "The book is crossed: not drawn"
NOT_LIVE = "NOT LIVE"


@dataclass(frozen=True)
class DepthSide:
    """One side within the chart's range, best level first."""

    price: FloatArray
    cumulative: FloatArray  # base units
    notional: FloatArray  # cumulative price × size, in the quote currency
    #: the book holds more of this side beyond the range: its last step runs to the chart's edge
    reaches_edge: bool

    def __len__(self) -> int:
        return len(self.price)

    @property
    def total(self) -> float:
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0


@dataclass(frozen=True)
class DepthReading:
    """What one side holds from the best level to ``price``."""

    side: str  # "bids" | "asks"
    price: float
    cumulative: float
    notional: float


@dataclass(frozen=True)
class Depth:
    """The chart's content: both sides within [low, high], centred on ``mid``."""

    mid: float
    low: float
    high: float
    bids: DepthSide
    asks: DepthSide

    @property
    def top(self) -> float:
        """The larger side's cumulative size within the range."""
        return max(self.bids.total, self.asks.total)

    def at(self, price: float) -> DepthReading:
        """The cumulative size and notional of the side ``price`` is on: every bid at or
        above it, or every ask at or below it (none between the best level and the mid)."""
        if price <= self.mid:
            side, name = self.bids, "bids"
            count = int(np.searchsorted(-side.price, -price, side="right"))
        else:
            side, name = self.asks, "asks"
            count = int(np.searchsorted(side.price, price, side="right"))
        if count == 0:
            return DepthReading(name, price, 0.0, 0.0)
        return DepthReading(name, price, float(side.cumulative[count - 1]), float(side.notional[count - 1]))


def depth_of(book: OrderBook, span: float | None = None, max_levels: int = MAX_LEVELS) -> Depth | str:
    """The depth to draw from ``book`` (its best ``max_levels`` a side), or why there is none.

    ``span`` None: the range reaches as far from the mid as both sides hold levels;
    else ± that share of the mid. Never narrower than the spread, so both best
    levels stand inside it.
    """
    if not len(book.bid_price) and not len(book.ask_price):
        return WAITING
    if not len(book.bid_price) or not len(book.ask_price):
        return ONE_SIDED
    if book.is_crossed():
        return CROSSED
    bids, asks = book.levels("bids", None, max_levels), book.levels("asks", None, max_levels)
    best_bid, best_ask = float(bids.price[0]), float(asks.price[0])
    mid = (best_bid + best_ask) / 2
    both_hold = min(mid - float(bids.price[-1]), float(asks.price[-1]) - mid)
    half = max(both_hold if span is None else mid * span, best_ask - best_bid)
    low, high = mid - half, mid + half
    slack = half * 1e-9  # the level that set the range stays in it, whatever the rounding
    bid_count = int(np.searchsorted(-bids.price, slack - low, side="right"))  # bids at or above low
    ask_count = int(np.searchsorted(asks.price, high + slack, side="right"))  # asks at or below high
    return Depth(
        mid,
        low,
        high,
        _within(bids, bid_count, len(book.bid_price)),
        _within(asks, ask_count, len(book.ask_price)),
    )


def _within(levels: Levels, count: int, held: int) -> DepthSide:
    price, size = levels.price[:count], levels.size[:count]
    return DepthSide(
        price=price,
        cumulative=levels.cumulative[:count],
        notional=np.cumsum(price * size),
        reaches_edge=held > count,
    )


def step_outline(side: DepthSide, edge: float) -> tuple[FloatArray, FloatArray]:
    """(prices, cumulative sizes) of a side's step area, from the best level's foot out to
    ``edge`` (the chart's edge, or the side's last level when the book ends in range) and
    down to zero: at a price between two levels the height is the size up to the nearer one."""
    price, cumulative = side.price, side.cumulative
    end = edge if side.reaches_edge else float(price[-1])
    xs = np.concatenate([np.repeat(price, 2), [end, end]])
    ys = np.concatenate([[0.0], np.repeat(cumulative, 2)[:-1], [cumulative[-1], 0.0]])
    return xs, ys


def nice_step(span: float, count: int) -> float:
    """A 1, 2 or 5 × 10^k step that cuts ``span`` into at most about ``count`` parts."""
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 5.0):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10.0 * magnitude


def _short(value: float) -> str:
    """A size in four significant digits (7.056, 12.35, 1,234), for the summary line."""
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def compact(value: float) -> str:
    """A size short enough for an axis label (12.5k, 3.2M)."""
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.4g}"


class DepthCanvas(QWidget):
    """The painted chart. ``refresh()`` is what the window calls on every book change."""

    def __init__(self, book: OrderBook, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.theme = theme
        self.span: float | None = None
        self.price_decimals = 2
        self.size_decimals = 4
        self.base, self.quote = "", ""
        #: why the book is not live ("" when it is): nothing is drawn meanwhile
        self.stale = ""
        self.paints = 0
        #: what the last paint drew: the depth, or the note said instead
        self.drawn: Depth | str | None = None
        self._plot = QRectF()
        self._hover: float | None = None  # the cursor's x, while over the chart
        self._throttle = Throttle(self._redraw, REFRESH_MS, self)
        self.setFont(monospace_font())
        self.setMinimumSize(160, 120)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # -- what the window calls ------------------------------------------------------
    def refresh(self) -> None:
        """The book changed: redraw, at most once per ``REFRESH_MS``."""
        self._throttle()

    def on_screen(self) -> bool:
        """Whether any of the chart can be seen (a dock tabbed behind another cannot)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def _redraw(self) -> None:
        if self.on_screen():
            self.update()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.update()  # what changed while it was hidden

    # -- reading ------------------------------------------------------------------------
    def content(self) -> Depth | str:
        """What the chart shows now: the depth, or the note that replaces it."""
        if self.stale:
            return NOT_LIVE
        return depth_of(self.book, self.span)

    def price_at_x(self, x: float) -> float | None:
        drawn = self.drawn
        if not isinstance(drawn, Depth) or self._plot.width() <= 0:
            return None
        share = (x - self._plot.left()) / self._plot.width()
        return drawn.low + min(max(share, 0.0), 1.0) * (drawn.high - drawn.low)

    def readout(self) -> str:
        """What the chart reads out, on one line (the hover box's lines, or the summary)."""
        return "  ".join(self.readout_lines())

    def summary(self) -> str:
        """The line above the chart: the range and each side's total within it."""
        drawn = self.drawn
        if not isinstance(drawn, Depth):
            return ""
        pct = (drawn.high - drawn.mid) / drawn.mid * 100
        base = f" {self.base}" if self.base else ""
        return f"±{pct:.2f}%  bids {_short(drawn.bids.total)}  asks {_short(drawn.asks.total)}{base}"

    def readout_lines(self) -> list[str]:
        """At the cursor: its price, and that side's cumulative size and notional there
        (what a market order sweeping to that price would meet); not hovering: the summary."""
        drawn = self.drawn
        if not isinstance(drawn, Depth):
            return []
        price = self.price_at_x(self._hover) if self._hover is not None else None
        if price is None:
            return [self.summary()]
        sd, pd = self.size_decimals, self.price_decimals
        base = f" {self.base}" if self.base else ""
        quote = f" {self.quote}" if self.quote else ""
        reading = drawn.at(price)
        where = "bids ≥" if reading.side == "bids" else "asks ≤"
        return [
            f"{where} {price:,.{pd}f}",
            f"{reading.cumulative:,.{sd}f}{base}",
            f"{reading.notional:,.{min(pd, 2)}f}{quote}",
        ]

    # -- painting -----------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        theme = self.theme
        p = QPainter(self)
        p.fillRect(self.rect(), theme.color("background"))
        fm = QFontMetrics(self.font())
        line = fm.height() + 4
        gutter = fm.horizontalAdvance("000.0k") + 8
        plot = QRectF(gutter, line, self.width() - gutter - 6, self.height() - 2 * line)
        self._plot = plot
        depth = self.content()
        self.drawn = depth
        p.setPen(theme.color("grid"))
        p.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        if isinstance(depth, str) or plot.width() <= 0 or plot.height() <= 0:
            self._paint_note(p, plot, depth if isinstance(depth, str) else "")
            p.end()
            return
        top = depth.top * HEADROOM or 1.0
        span = depth.high - depth.low

        def x_of(prices: FloatArray) -> FloatArray:
            return plot.left() + (prices - depth.low) / span * plot.width()

        def y_of(sizes: FloatArray) -> FloatArray:
            return plot.bottom() - sizes / top * plot.height()

        # the size grid, labelled in the gutter
        step = nice_step(top, max(int(plot.height() // (3 * line)), 1))
        for k in range(1, int(top // step) + 1):
            y = float(y_of(np.array([k * step]))[0])
            p.setPen(theme.color("grid"))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(theme.color("muted"))
            p.drawText(
                QRectF(0, y - line / 2, gutter - 4, line),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                compact(k * step),
            )
        for side, edge, color, fill in (
            (depth.bids, depth.low, "up", "up_fill"),
            (depth.asks, depth.high, "down", "down_fill"),
        ):
            if not len(side):
                continue
            xs, ys = step_outline(side, edge)
            points = [QPointF(x, y) for x, y in zip(x_of(xs).tolist(), y_of(ys).tolist(), strict=True)]
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color(fill))
            p.drawPolygon(QPolygonF(points))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(theme.color(color), 2))
            p.drawPolyline(QPolygonF(points[1:-1]))  # the outline: not along the foot
        mid_x = float(x_of(np.array([depth.mid]))[0])
        dashed = QPen(theme.color("muted"), 1, Qt.PenStyle.DashLine)
        p.setPen(dashed)
        p.drawLine(QPointF(mid_x, plot.top()), QPointF(mid_x, plot.bottom()))
        self._paint_prices(p, plot, depth, fm, line)
        p.setPen(theme.color("text"))
        summary = QRectF(6, 0, self.width() - 12, line)  # over the gutter too: the panel is narrow
        p.drawText(
            summary,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            fm.elidedText(self.summary(), Qt.TextElideMode.ElideRight, int(summary.width())),
        )
        hover = self._hover
        if hover is not None and plot.left() <= hover <= plot.right():
            reading = depth.at(self.price_at_x(hover) or depth.mid)
            p.setPen(QPen(theme.color("crosshair"), 1, Qt.PenStyle.DotLine))
            p.drawLine(QPointF(hover, plot.top()), QPointF(hover, plot.bottom()))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.color("up" if reading.side == "bids" else "down"))
            y = float(y_of(np.array([reading.cumulative]))[0])
            p.drawEllipse(QPointF(hover, y), 3.5, 3.5)
            self._paint_hover_box(p, plot, hover, fm)
        p.end()

    def _paint_hover_box(self, p: QPainter, plot: QRectF, x: float, fm: QFontMetrics) -> None:
        """The readout in a box beside the cursor, on the side with room (the panel is narrow)."""
        lines = self.readout_lines()
        width = max(fm.horizontalAdvance(text) for text in lines) + 12
        height = len(lines) * fm.height() + 8
        left = x + 10 if x + 10 + width <= plot.right() else max(plot.left(), x - 10 - width)
        box = QRectF(left, plot.top() + 4, width, height)
        p.setPen(self.theme.color("grid"))
        p.setBrush(self.theme.color("panel"))
        p.drawRect(box)
        p.setPen(self.theme.color("text"))
        p.drawText(box.adjusted(6, 4, -6, -4), Qt.AlignmentFlag.AlignLeft, "\n".join(lines))

    def _paint_prices(self, p: QPainter, plot: QRectF, depth: Depth, fm: QFontMetrics, line: int) -> None:
        """The range's two ends and the mid under the chart (the mid's label wins a clash)."""
        pd = self.price_decimals
        row = QRectF(plot.left(), plot.bottom() + 2, plot.width(), line)
        mid_text = f"{depth.mid:,.{pd + 1}f}"
        ends = (f"{depth.low:,.{pd}f}", f"{depth.high:,.{pd}f}")
        room = (plot.width() - fm.horizontalAdvance(mid_text)) / 2 - 8
        p.setPen(self.theme.color("muted"))
        if all(fm.horizontalAdvance(text) <= room for text in ends):
            p.drawText(row, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, ends[0])
            p.drawText(row, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, ends[1])
        p.setPen(self.theme.color("text"))
        p.drawText(row, Qt.AlignmentFlag.AlignCenter, mid_text)

    def _paint_note(self, p: QPainter, plot: QRectF, note: str) -> None:
        """No depth drawn: the note, centred (NOT LIVE in the down colour, as on the ladder)."""
        p.setPen(self.theme.color("down" if note == NOT_LIVE else "muted"))
        p.drawText(plot, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, note)

    # -- the mouse ------------------------------------------------------------------------
    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._hover = event.position().x()
        self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(260, 300)


class DepthChart(QWidget):
    """The depth canvas with its Range box above it; the window's depth panel."""

    def __init__(self, book: OrderBook, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = DepthCanvas(book, theme, self)
        self.range_box = QComboBox(self)
        self.range_box.setObjectName("depthRange")
        self.range_box.setToolTip("Prices shown either side of the mid (Book: as far as both sides hold)")
        for span in SPANS:
            self.range_box.addItem("Book" if span is None else f"±{span * 100:g}%", span)
        self.range_box.currentIndexChanged.connect(self._on_range)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(QLabel("Range"))
        bar.addWidget(self.range_box)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

    def set_book(self, book: OrderBook) -> None:
        """Show another book (a new market session's)."""
        self.canvas.book = book
        self.canvas.update()

    def set_market(self, book: OrderBook, tick: float, lot: float, symbol: str = "") -> None:
        """The market on screen: its book, its price and size steps, its units ("BTC/USDT")."""
        canvas = self.canvas
        canvas.book = book
        canvas.price_decimals = decimals_for(tick)
        canvas.size_decimals = min(decimals_for(lot), 6)
        base, _, quote = symbol.partition("/")
        canvas.base, canvas.quote = base, quote.partition(":")[0]
        canvas.update()

    def set_span(self, span: float | None) -> None:
        """Show ± ``span`` of the mid (None: as far as both sides hold)."""
        self.range_box.setCurrentIndex(SPANS.index(span))  # not findData: None is no QVariant

    def _on_range(self, index: int) -> None:
        self.canvas.span = self.range_box.itemData(index)
        self.canvas.update()

    def refresh(self) -> None:
        self.canvas.refresh()

    def set_stale(self, reason: str) -> None:
        """Show the book as not live (why, in the tooltip), or live again with ""."""
        if reason != self.canvas.stale:
            self.canvas.stale = reason
            self.canvas.setToolTip(reason)
            self.canvas.update()

    def apply_theme(self, theme: Theme) -> None:
        self.canvas.theme = theme
        self.canvas.update()
