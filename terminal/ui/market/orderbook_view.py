"""The order book ladder: asks above, bids below, the spread between.

Painted directly from the book's arrays (no item per level): each row shows
price, size and cumulative size, with a translucent depth bar for the
cumulative size and a stronger bar for the level's own size. Prices can be
grouped into coarser steps. A click on a row emits its price (the order
ticket takes it). Levels where the account has orders of its own are marked
(a triangle at the row's left edge; between two rows when the order's price
lies between their levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from terminal.marketdata.orderbook import Levels, OrderBook, decimals_for
from terminal.ui.theme import DARK, Theme, monospace_font

GROUP_MULTIPLIERS = (1, 10, 100, 1000)


@dataclass(frozen=True)
class LadderRow:
    side: str  # "asks" | "bids"
    price: float
    size: float
    total: float


class LadderCanvas(QWidget):
    price_clicked = Signal(float)

    def __init__(self, book: OrderBook, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.book = book
        self.theme = theme
        self.step: float | None = None
        self.price_decimals = 2  # of the rows: the grouping step's
        self.tick_decimals = 2  # of mid and spread: the market's own price step
        self.size_decimals = 4
        self.paints = 0
        self._rows: list[tuple[QRectF, float]] = []
        # The account's own resting orders: buy prices (bids), sell prices (asks).
        self.own: dict[str, np.ndarray] = {"bids": np.empty(0), "asks": np.empty(0)}
        self.own_marks: list[tuple[str, float, bool]] = []  # drawn: (side, price, on a level)
        #: why the book is not live ("" when it is): its last good levels are shown dimmed
        self.stale = ""
        #: the most levels a side to show (None: as many as fit), next to the spread
        self.max_levels: int | None = None
        self.setFont(monospace_font())
        self.setMinimumWidth(170)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(False)

    def row_height(self) -> int:
        return QFontMetrics(self.font()).height() + 3

    def rows_per_side(self) -> int:
        return max(1, (self.height() - 2 * self.row_height()) // (2 * self.row_height()))

    def height_for(self, levels: int) -> int:
        """The height that shows ``levels`` levels a side, with the header and the spread row."""
        return (2 * levels + 2) * self.row_height()

    def ladder(self) -> tuple[list[LadderRow], list[LadderRow]]:
        """(asks best-first, bids best-first) as they are drawn, for the visible depth."""
        asks, bids = self.visible_levels()
        return _rows("asks", asks), _rows("bids", bids)

    def visible_levels(self) -> tuple[Levels, Levels]:
        """(asks, bids) grouped, as many as fit (at most ``max_levels``), best first."""
        depth = self.rows_per_side()
        if self.max_levels is not None:
            depth = min(depth, self.max_levels)
        return self.book.levels("asks", self.step, depth), self.book.levels("bids", self.step, depth)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.paints += 1
        theme = self.theme
        p = QPainter(self)
        p.fillRect(self.rect(), theme.color("background"))
        rh = self.row_height()
        width = self.width()
        depth = self.rows_per_side()
        asks, bids = self.visible_levels()
        max_total = (
            max(asks.cumulative[-1] if len(asks) else 0.0, bids.cumulative[-1] if len(bids) else 0.0) or 1.0
        )
        max_size = max(asks.size.max() if len(asks) else 0.0, bids.size.max() if len(bids) else 0.0) or 1.0
        col = (width * 0.36, width * 0.68)  # right edges of price and size columns
        pd, sd = self.price_decimals, self.size_decimals
        self._rows = []

        p.setPen(theme.color("muted"))
        header = QRectF(0, 0, width - 6, rh)
        p.drawText(
            header.adjusted(6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, "Price"
        )
        p.drawText(
            QRectF(0, 0, col[1], rh), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "Size"
        )
        p.drawText(header, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "Total")

        ask_top = rh + (depth - len(asks)) * rh
        spread_y = rh + depth * rh
        for side, levels, color, fill in (
            ("asks", asks, "down", "down_fill"),
            ("bids", bids, "up", "up_fill"),
        ):
            for i in range(len(levels)):
                # asks are drawn best-last (nearest the spread), bids best-first
                y = ask_top + (len(levels) - 1 - i) * rh if side == "asks" else spread_y + rh + i * rh
                row = QRectF(0, y, width, rh)
                price, size, total = (
                    float(levels.price[i]),
                    float(levels.size[i]),
                    float(levels.cumulative[i]),
                )
                depth_w = width * total / max_total
                p.fillRect(QRectF(width - depth_w, y + 1, depth_w, rh - 2), theme.color(fill))
                # the level's own size: a thin strip along the row's foot
                size_w = width * 0.5 * size / max_size
                p.fillRect(QRectF(width - size_w, y + rh - 3, size_w, 2), theme.color(color, 200))
                p.setPen(theme.color(color))
                p.drawText(
                    row.adjusted(6, 0, 0, 0),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    f"{price:,.{pd}f}",
                )
                p.setPen(theme.color("text"))
                p.drawText(
                    QRectF(0, y, col[1], rh),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    f"{size:,.{sd}f}",
                )
                p.drawText(
                    QRectF(0, y, width - 6, rh),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    f"{total:,.{sd}f}",
                )
                self._rows.append((row, price))
            self._mark_own(p, side, levels, ask_top, spread_y, rh)
        if self.stale:
            # The last good levels stay readable, but plainly not live.
            veil = theme.color("background")
            veil.setAlpha(150)
            p.fillRect(self.rect(), veil)

        spread_row = QRectF(0, spread_y, width, rh)
        p.fillRect(spread_row, theme.color("panel"))
        p.setPen(theme.color("text"))
        mid_text, spread_text = self.spread_text()
        if self.stale:
            mid_text, spread_text = "NOT LIVE", "last good levels"
            p.setPen(theme.color("down"))
        fm = QFontMetrics(self.font())
        room = int(width - 24 - fm.horizontalAdvance(mid_text))
        spread_text = fm.elidedText(spread_text, Qt.TextElideMode.ElideLeft, max(room, 0))
        p.drawText(
            spread_row.adjusted(6, 0, -6, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            mid_text,
        )
        p.setPen(theme.color("muted"))
        p.drawText(
            spread_row.adjusted(6, 0, -6, 0),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            spread_text,
        )
        p.end()

    def set_own_orders(self, bids: Sequence[float], asks: Sequence[float]) -> None:
        """Prices of the account's resting buy and sell orders, to mark on the ladder."""
        own = {"bids": np.asarray(sorted(bids), dtype=np.float64), "asks": np.asarray(sorted(asks))}
        if any(not np.array_equal(own[s], self.own[s]) for s in own):
            self.own = own
            self.update()

    def _mark_own(
        self, p: QPainter, side: str, levels: Levels, ask_top: float, spread_y: float, rh: int
    ) -> None:
        """Own orders on the ladder, in the accent colour: a row whose level holds one
        (its group, when grouped) is outlined, with a notch at its left edge; an order
        between two levels is a line between their rows, with the notch on it."""
        if side == "asks":
            self.own_marks = []
        prices = self.own[side]
        n = len(levels)
        if not len(prices) or not n:
            return
        step = self.step
        if step:  # the group an order belongs to, computed as OrderBook.levels groups
            ratio = prices / step
            prices = (np.floor(ratio + 1e-9) if side == "bids" else np.ceil(ratio - 1e-9)) * step
        rows = levels.price
        tolerance = abs(float(rows[0])) * 1e-9
        accent = self.theme.color("accent")
        width = self.width()
        notch = rh * 0.3
        for price in np.unique(prices):
            # rows better than the order's price: a bid row above it, an ask row below it
            better = int(
                (rows > price + tolerance).sum() if side == "bids" else (rows < price - tolerance).sum()
            )
            exact = better < n and abs(float(rows[better]) - price) <= tolerance
            if not exact and better >= n:
                continue  # deeper than the rows shown
            if side == "bids":
                top = spread_y + rh + better * rh
            else:
                top = ask_top + (n - 1 - better) * rh + (0 if exact else rh)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(accent)
            if exact:
                p.drawRect(QRectF(0.5, top + 0.5, width - 1.0, rh - 1.0))
                y = top + rh / 2
            else:
                p.fillRect(QRectF(0, top - 1, width, 2), accent)
                y = top
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(accent)
            p.drawPolygon(QPolygonF([QPointF(0, y - notch), QPointF(notch, y), QPointF(0, y + notch)]))
            self.own_marks.append((side, float(price), exact))

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        return QSize(fm.horizontalAdvance("000,000.00  0,000.00000  0,000.00000") + 16, 500)

    def spread_text(self) -> tuple[str, str]:
        """(mid price, spread with its size in basis points) for the middle row."""
        book = self.book
        mid, spread = book.mid, book.spread
        if mid is None or spread is None:
            return "waiting for the book…", ""
        bps = spread / mid * 10_000
        pd = self.tick_decimals
        return f"{mid:,.{pd + 1}f}", f"spread {spread:,.{pd}f} · {bps:.1f} bp"

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for rect, price in self._rows:
            if rect.contains(event.position()):
                self.price_clicked.emit(price)
                return
        super().mousePressEvent(event)


def _rows(side: str, levels: Levels) -> list[LadderRow]:
    return [
        LadderRow(side, float(levels.price[i]), float(levels.size[i]), float(levels.cumulative[i]))
        for i in range(len(levels))
    ]


#: the levels selector's choices: as many as fit, or a fixed count a side
LEVEL_CHOICES: tuple[int | None, ...] = (None, 5, 10, 20, 50)


class OrderBookView(QWidget):
    """The ladder with a price-grouping selector and a levels selector above it."""

    #: a row was clicked: its price (the order ticket takes it)
    price_clicked = Signal(float)

    def __init__(self, book: OrderBook, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = LadderCanvas(book, theme, self)
        self.canvas.price_clicked.connect(self.price_clicked)
        self.grouping = QComboBox(self)
        self.grouping.setToolTip("Price grouping")
        self.grouping.currentIndexChanged.connect(self._on_grouping)
        self.levels = QComboBox(self)
        self.levels.setObjectName("bookLevels")
        self.levels.setToolTip("Levels a side to show (Fit: as many as the panel holds)")
        for count in LEVEL_CHOICES:
            self.levels.addItem("Fit" if count is None else str(count), count)
        self.levels.currentIndexChanged.connect(self._on_levels)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(QLabel("Group"))
        bar.addWidget(self.grouping)
        bar.addSpacing(8)
        bar.addWidget(QLabel("Levels"))
        bar.addWidget(self.levels)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)
        self._tick = 0.01

    def set_market(self, book: OrderBook, tick: float, lot: float) -> None:
        self.canvas.book = book
        self._tick = tick
        self.canvas.size_decimals = min(decimals_for(lot), 6)
        self.canvas.tick_decimals = decimals_for(tick)
        self.grouping.blockSignals(True)
        self.grouping.clear()
        for m in GROUP_MULTIPLIERS:
            step = tick * m
            self.grouping.addItem(f"{step:,.{decimals_for(step)}f}", step)
        self.grouping.setCurrentIndex(0)
        self.grouping.blockSignals(False)
        self._on_grouping(0)

    def _on_grouping(self, index: int) -> None:
        step = self.grouping.itemData(index) or self._tick
        self.canvas.step = None if index <= 0 else float(step)
        self.canvas.price_decimals = decimals_for(float(step))
        self.canvas.update()

    def _on_levels(self, index: int) -> None:
        self.canvas.max_levels = self.levels.itemData(index)
        self.canvas.update()

    def set_levels(self, count: int | None) -> None:
        """Show at most ``count`` levels a side (None: as many as fit)."""
        index = self.levels.findData(count)
        self.levels.setCurrentIndex(max(index, 0))

    def refresh(self) -> None:
        self.canvas.update()

    def set_stale(self, reason: str) -> None:
        """Show the book as not live (why, in the tooltip), or live again with ""."""
        if reason != self.canvas.stale:
            self.canvas.stale = reason
            self.canvas.setToolTip(reason)
            self.canvas.update()

    def set_own_orders(self, bids: Sequence[float], asks: Sequence[float]) -> None:
        self.canvas.set_own_orders(bids, asks)

    def keep_levels(self, levels: int) -> None:
        """Never shrink below ``levels`` levels a side (the window's layout asks for it)."""
        self.canvas.setMinimumHeight(self.canvas.height_for(levels))

    def apply_theme(self, theme: Theme) -> None:
        self.canvas.theme = theme
        self.canvas.update()
