"""Positions and balances: per symbol what is held, its average cost and
profit (unrealised at the latest mid the broker saw, and realised); per
currency the total, what open orders hold and what is free. A paper account
can be reset to its start balances from here (after a confirmation)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from terminal.trading.balances import BalanceView
from terminal.trading.money import ZERO, fmt
from terminal.trading.positions import Position
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.order_words import quote_of
from terminal.ui.trading.rows_model import Row, RowsModel, amount, money, signed


class PositionsModel(RowsModel):
    headers = ("Symbol", "Amount", "Avg cost", "Unrealised P&L", "Realised P&L")
    numeric = frozenset({1, 2, 3, 4})


class BalancesModel(RowsModel):
    headers = ("Currency", "Total", "In orders", "Free")
    numeric = frozenset({1, 2, 3})


class PositionsPanel(QWidget):
    flatten_requested = Signal(str)  # symbol
    reset_requested = Signal()
    chart_requested = Signal(str)  # a position double-clicked: open its chart

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.positions = PositionsModel(self)
        self.balances = BalancesModel(self)
        self.positions_view = table(self)
        self.positions_view.setModel(self.positions)
        self.balances_view = table(self)
        self.balances_view.setModel(self.balances)
        fit_columns(self.positions_view, ("BTC/USDT", "0.00000000", "000,000.00", "+00,000.00"))
        fit_columns(self.balances_view, ("USDT", "000,000.00000", "000,000.00000"))
        self.total = QLabel(self)
        self.flatten_button = QPushButton("Flatten selected…", self)
        self.flatten_button.setToolTip(
            "Sell the selected position at market (reduce-only). Double-click a position to open its chart."
        )
        self.reset_button = QPushButton("Reset paper account…", self)
        self.reset_button.hide()
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.positions_view)
        split.addWidget(self.balances_view)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        # beside the tables, as in the orders panel: the bottom strip is low
        side = QVBoxLayout()
        side.setContentsMargins(4, 4, 4, 4)
        side.addWidget(self.flatten_button)
        side.addWidget(self.reset_button)
        side.addWidget(self.total, 1, Qt.AlignmentFlag.AlignTop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(split, 1)
        layout.addLayout(side)
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
    ) -> None:
        rows = []
        totals: dict[str, Decimal] = {}
        for symbol in sorted(positions):
            p = positions[symbol]
            if not p.amount and not p.realised:
                continue
            open_pnl = unrealised.get(symbol, ZERO) if p.amount else ZERO
            quote = quote_of(symbol)
            totals[quote] = totals.get(quote, ZERO) + open_pnl + p.realised
            rows.append(
                Row(
                    symbol,
                    (
                        symbol,
                        fmt(p.amount),
                        money(p.average_cost, 2) if p.average_cost is not None else "–",
                        signed(open_pnl) if p.amount else "–",
                        signed(p.realised),
                    ),
                    ("", "", "", self._pnl_color(open_pnl), self._pnl_color(p.realised)),
                )
            )
        self.positions.set_rows(rows)
        self.balances.set_rows(
            [
                Row(c, (c, amount(b.total), amount(b.reserved), amount(b.free)))
                for c, b in sorted(balances.items())
                if b.total or b.reserved
            ]
        )
        self.total.setText(
            "  ".join(f"P&L {signed(v)} {q}" for q, v in sorted(totals.items())) if totals else ""
        )
        self._update_buttons()

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
