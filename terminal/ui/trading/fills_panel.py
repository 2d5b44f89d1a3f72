"""Fills: every execution of the account's orders, newest first, with its
price, amount, fee and whether it took or made liquidity."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from terminal.trading.money import fmt
from terminal.trading.orders import Fill, OrderSide
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.rows_model import Row, RowsModel, money, time_text


class FillsModel(RowsModel):
    headers = ("Time", "Symbol", "Side", "Price", "Amount", "Cost", "Fee", "Role", "Order")
    numeric = frozenset({3, 4, 5, 6})


class FillsPanel(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.time_zone = "local"
        self.model = FillsModel(self)
        self.view = table(self)
        self.view.setModel(self.model)
        fit_columns(
            self.view, ("00-00 00:00:00", "BTC/USDT", "sell", "000,000.00", "0.00000000", "00,000.00")
        )
        self.count = QLabel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.count)
        layout.addWidget(self.view, 1)
        self.set_fills([])

    def set_fills(self, fills: Sequence[Fill]) -> None:
        """``fills`` newest first, as the broker gives them."""
        theme = self.theme
        rows = [
            Row(
                f.fill_id,
                (
                    time_text(f.timestamp, self.time_zone),
                    f.symbol,
                    f.side.value,
                    fmt(f.price),
                    fmt(f.amount),
                    money(f.cost, 2),
                    f"{fmt(f.fee)} {f.fee_currency}",
                    f.liquidity.value,
                    f.client_order_id,
                ),
                ("", "", theme.up if f.side is OrderSide.BUY else theme.down),
            )
            for f in fills
        ]
        self.model.set_rows(rows)
        self.count.setText(f"  {len(rows):,} fills" if rows else "  No fills yet.")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
