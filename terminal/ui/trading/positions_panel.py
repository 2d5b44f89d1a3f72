"""Positions and balances, with the account summed up in a line above them.

Per symbol: what is held, the average entry price (fill prices only) and the
fees paid apart, and the profit (unrealised at the latest mid the broker saw,
and realised, both after fees); per currency the total, what open orders
hold and what is free. Numbers are written to the market's precision
(``market_numbers``). The summary line (``account_summary``) gives equity,
free funds, the day's P&L and the P&L since the start. A position can be
flattened whatever the chart shows, and double-clicked to open its chart; a
paper account can be reset to its start balances (after a confirmation).

The columns are compact, so that at 1280×800 with the default layout every
one of them, the P&L ones included, shows without scrolling.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget

from terminal.trading.balances import BalanceView
from terminal.trading.money import ZERO
from terminal.trading.positions import Position
from terminal.ui.tables import CELL_PADDING, table
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.account_summary import AccountFigures
from terminal.ui.trading.market_numbers import MarketNumbers, cash, percent, signed_cash
from terminal.ui.trading.rows_model import Row, RowsModel


class TippedModel(RowsModel):
    """Rows whose column headers explain themselves in a tooltip."""

    tips: ClassVar[tuple[str, ...]] = ()

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.ToolTipRole
            and section < len(self.tips)
        ):
            return self.tips[section]
        return super().headerData(section, orientation, role)


class PositionsModel(TippedModel):
    headers = ("Symbol", "Amount", "Avg entry", "Fees", "Unrealised", "Realised")
    numeric = frozenset({1, 2, 3, 4, 5})
    tips = (
        "The market",
        "Base currency held (bought here and not yet sold), to the market's amount step",
        "Avg entry: the average fill price of what is held, fees not included",
        "Fees: paid on this symbol's fills (buys and sells) since the account started, in the quote "
        "currency; already counted in the P&L",
        "Unrealised P&L of what is held, at the latest mid, after fees (quote currency)",
        "Realised P&L of what was sold since the account started, after fees (quote currency)",
    )


class BalancesModel(TippedModel):
    headers = ("Asset", "Total", "In orders", "Free")
    numeric = frozenset({1, 2, 3})
    tips = (
        "The currency",
        "All of it, free and held",
        "Held by open orders (a buy holds its cost and fee, a sell its amount)",
        "What new orders can use",
    )


#: typical widest cells: what the columns are sized for
POSITION_CELLS = ("BTC/USDT", "0.00000", "00,000.00", "0.0000", "+0,000.00", "+0,000.00")
BALANCE_CELLS = ("USDT", "00,000.00", "0,000.00", "00,000.00")


class PositionsPanel(QWidget):
    flatten_requested = Signal(str)  # symbol
    reset_requested = Signal()
    chart_requested = Signal(str)  # a position double-clicked: open its chart

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.numbers = MarketNumbers()
        self.positions = PositionsModel(self)
        self.balances = BalancesModel(self)
        self.positions_view = table(self)
        self.positions_view.setModel(self.positions)
        self.balances_view = table(self)
        self.balances_view.setModel(self.balances)
        fit_tight(self.positions_view, POSITION_CELLS)
        fit_tight(self.balances_view, BALANCE_CELLS)
        self.summary = SummaryLine(theme, self)
        self.flatten_button = QPushButton("Flatten…", self)
        self.flatten_button.setToolTip(
            "Sell the selected position at market (reduce-only), whatever the chart shows. "
            "Double-click a position to open its chart."
        )
        self.reset_button = QPushButton("Reset paper…", self)
        self.reset_button.setToolTip("Reset the paper account to its start balances (asks first)")
        self.reset_button.hide()
        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.split.addWidget(self.positions_view)
        self.split.addWidget(self.balances_view)
        self.split.setChildrenCollapsible(False)
        # what each table needs: the positions' six columns get the larger share
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([_columns_width(self.positions_view), _columns_width(self.balances_view)])
        # the summary and the buttons share one line: the bottom strip is low, every row counts
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(self.summary, 1)
        top.addWidget(self.flatten_button)
        top.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.split, 1)
        self.flatten_button.clicked.connect(lambda _checked=False: self._flatten_selected())
        self.reset_button.clicked.connect(lambda _checked=False: self.reset_requested.emit())
        self.positions_view.doubleClicked.connect(
            lambda index: self.chart_requested.emit(self.positions.key_at(index.row()))
        )
        self.positions_view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def set_paper(self, paper: bool) -> None:
        self.reset_button.setVisible(paper)

    def set_state(
        self,
        positions: Mapping[str, Position],
        unrealised: Mapping[str, Decimal],
        balances: Mapping[str, BalanceView],
        markets: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Show the broker's state; ``markets`` (ccxt's, the window's exchange) give
        each market's tick and step."""
        if markets is not None:
            self.numbers.use(markets)
        numbers = self.numbers
        rows = []
        for symbol in sorted(positions):
            p = positions[symbol]
            if not p.amount and not p.realised:
                continue
            open_pnl = unrealised.get(symbol) if p.amount else None
            rows.append(
                Row(
                    symbol,
                    (
                        symbol,
                        numbers.amount(symbol, p.amount),
                        numbers.price(symbol, p.average_entry),
                        cash(p.fees),
                        signed_cash(open_pnl) if open_pnl is not None else "–",
                        signed_cash(p.realised),
                    ),
                    ("", "", "", "", self._pnl_color(open_pnl or ZERO), self._pnl_color(p.realised)),
                )
            )
        self.positions.set_rows(rows)
        self.balances.set_rows(
            [
                Row(
                    c,
                    (
                        c,
                        numbers.balance(c, b.total),
                        numbers.balance(c, b.reserved),
                        numbers.balance(c, b.free),
                    ),
                )
                for c, b in sorted(balances.items())
                if b.total or b.reserved
            ]
        )
        self._update_buttons()

    def set_summary(self, figures: AccountFigures | None) -> None:
        self.summary.show_figures(figures)

    def selected(self) -> str | None:
        rows = self.positions_view.selectionModel().selectedRows()
        return self.positions.key_at(rows[0].row()) if rows else None

    def _flatten_selected(self) -> None:
        symbol = self.selected()
        if symbol is not None:
            self.flatten_requested.emit(symbol)

    def _pnl_color(self, value: Decimal) -> str:
        return self.theme.up if value > 0 else self.theme.down if value < 0 else ""

    def _update_buttons(self) -> None:
        self.flatten_button.setEnabled(self.selected() is not None)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.summary.apply_theme(theme)


class SummaryLine(QWidget):
    """Equity, free, day P&L and P&L since the start: one label each, each with
    a tooltip that says what it counts."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.equity = QLabel(self)
        self.free = QLabel(self)
        self.day = QLabel(self)
        self.since = QLabel(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        for label in (self.equity, self.free, self.day, self.since):
            label.setTextFormat(Qt.TextFormat.PlainText)
            # the line gives way in a narrow dock (clipped at the right) rather than widen the window
            label.setMinimumWidth(1)
            layout.addWidget(label)
        layout.addStretch(1)
        self.figures: AccountFigures | None = None
        self.show_figures(None)

    def show_figures(self, figures: AccountFigures | None) -> None:
        self.figures = figures
        if figures is None:
            for label in (self.equity, self.free, self.day, self.since):
                label.clear()
                label.setToolTip("")
            self.equity.setText("No account")
            return
        c = figures.currency
        unpriced = (
            f"; not counted: {', '.join(figures.unpriced)} (no price in {c})" if figures.unpriced else ""
        )
        self.equity.setText(f"Equity {cash(figures.equity)} {c}{' ≈' if figures.unpriced else ''}")
        self.equity.setToolTip(
            f"Every balance valued in {c} at its latest mid (the book on screen, else its ticker, "
            f"else the position's mark){unpriced}"
        )
        self.free.setText(f"Free {cash(figures.free)} {c}")
        self.free.setToolTip(f"{c} not held by open orders")
        day = figures.day_pnl
        self.day.setText(f"Day {signed_cash(day)}" if day is not None else "Day –")
        self.day.setToolTip(
            f"P&L since 00:00 UTC in {c}, realised and unrealised, after fees (markets quoted in {c}); "
            "what the daily loss limit counts"
        )
        self._color(self.day, day)
        since = figures.since_start
        self.since.setText(f"Since start {percent(since)}" if since is not None else "Since start –")
        if figures.start == "paper":
            self.since.setToolTip(
                f"Equity now against the paper account's start balances ({figures.start_note}), valued "
                "at today's prices: what trading made since the account started or was last reset"
            )
        else:
            when = f" at {figures.start_note}" if figures.start_note != "nothing" else ""
            self.since.setToolTip(
                f"Equity now against the equity when this terminal started watching the account{when}: "
                "a live account's own start is not known"
            )
        self._color(self.since, since)

    def _color(self, label: QLabel, value: Decimal | None) -> None:
        color = (
            self.theme.up
            if value is not None and value > 0
            else self.theme.down
            if value is not None and value < 0
            else ""
        )
        label.setStyleSheet(f"color: {color};" if color else "")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.show_figures(self.figures)


def fit_tight(view: QTableView, cells: tuple[str, ...]) -> None:
    """Each column as wide as its title or its typical cell, whichever is wider, and
    one padding: the compact headers then leave room for every column at 1280×800."""
    header, model = view.horizontalHeader(), view.model()
    body, head = view.fontMetrics(), header.fontMetrics()
    for column, cell in enumerate(cells):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = max(body.horizontalAdvance(cell), head.horizontalAdvance(title))
        header.resizeSection(column, width + CELL_PADDING)


def _columns_width(view: QTableView) -> int:
    header = view.horizontalHeader()
    return sum(header.sectionSize(c) for c in range(header.count()))
