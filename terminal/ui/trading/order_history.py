"""Order history: every order the account has closed (filled, cancelled,
rejected), newest first, so an order that left the Orders tab can still be
found. A filter narrows it by symbol, side, type or status text ("btc
cancel"); Export writes the orders shown to a CSV file with their exact
numbers, in a worker thread.

The broker keeps the orders (``Broker.orders()``: a paper account every order
since it started or was reset, as saved; a live one every order this session
has seen). The panel reads them from its ``source`` when the desk says orders
changed, and only while it is on screen: a long history behind another tab
costs nothing until the tab is raised.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from terminal.atomic_file import atomic_text
from terminal.errors import TerminalError, TradingError, describe
from terminal.trading.journal import iso_time
from terminal.trading.orders import Order, OrderSide, OrderStatus
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.market_numbers import MarketNumbers, cash
from terminal.ui.trading.order_words import TYPE_WORDS
from terminal.ui.trading.rows_model import Row, RowsModel, time_text

CSV_HEADER = (
    "closed_utc", "created_utc", "symbol", "side", "type", "price", "stop_price", "amount", "filled",
    "average_price", "cost", "fee", "status", "reason", "client_order_id", "order_id",
)  # fmt: skip


class OrderHistoryExportError(TradingError):
    """The history file could not be written; no partial file is left behind."""

    def __init__(self, message: str, *, hint: str = "", detail: str = "", path: str = "") -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


class HistoryModel(RowsModel):
    headers = ("Closed", "Symbol", "Side", "Type", "Price", "Amount", "Filled", "Avg fill", "Fee", "Status",
               "Reason")  # fmt: skip
    numeric = frozenset({4, 5, 6, 7, 8})


def closed_orders(orders: Sequence[Order]) -> list[Order]:
    """The orders that are done, newest (last changed) first."""
    return sorted((o for o in orders if not o.is_open), key=lambda o: o.updated_ms, reverse=True)


def status_words(order: Order) -> str:
    if order.status is OrderStatus.CANCELLED and order.filled:
        return "part filled, cancelled"
    return order.status.value.replace("_", " ")


def type_words(order: Order) -> str:
    return TYPE_WORDS.get(order.type, order.type.value).removeprefix("at ")


def matches(order: Order, words: Sequence[str]) -> bool:
    """Every word of the filter is in the order's symbol, side, type or status."""
    text = f"{order.symbol} {order.side.value} {type_words(order)} {status_words(order)}".lower()
    return all(word in text for word in words)


class OrderHistoryPanel(QWidget):
    #: a CSV file chosen to export to (the desk runs ``export`` in its task group)
    export_requested = Signal(str)

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.time_zone = "local"
        self.numbers = MarketNumbers()
        self.folder = Path.home()  # where the export dialog starts
        self.model = HistoryModel(self)
        self.view = table(self)
        self.view.setModel(self.model)
        fit_columns(
            self.view,
            ("00-00 00:00:00", "BTC/USDT", "sell", "stop-market", "00,000.0", "0.00000", "0.00000",
             "00,000.00", "0.00", "part filled, cancelled"),
        )  # fmt: skip
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter: symbol, side, type or status (e.g. btc cancelled)")
        self.filter.setClearButtonEnabled(True)
        self.count = QLabel(self)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setToolTip("Write the orders shown (the filter applies) to a CSV file")
        self.note = QLabel(self)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 2)
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.note)
        self.note.hide()
        self._orders: list[Order] = []
        self._shown: list[Order] = []
        self._source: Callable[[], Sequence[Order]] = list
        self._markets: Callable[[], Mapping[str, Mapping[str, Any]]] = dict
        self._stale = False
        self.filter.textChanged.connect(lambda _text: self._show())
        self.export_button.clicked.connect(lambda _checked=False: self.choose_file())
        self._show()

    # -- what is shown --------------------------------------------------------------------
    def set_source(
        self,
        orders: Callable[[], Sequence[Order]],
        markets: Callable[[], Mapping[str, Mapping[str, Any]]],
    ) -> None:
        """Where ``refresh`` reads the orders (every one the broker knows) and the markets."""
        self._source, self._markets = orders, markets
        self.refresh()

    def refresh(self) -> None:
        """The orders changed: read them now if the panel is on screen, else when it shows."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self.set_orders(self._source(), self._markets())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def set_orders(
        self, orders: Sequence[Order], markets: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Every order the broker knows (open ones are left out); ``markets`` give ticks and steps."""
        if markets is not None:
            self.numbers.use(markets)
        self._orders = closed_orders(orders)
        self._show()

    def shown(self) -> list[Order]:
        """The orders on screen, in their order (the filter applied)."""
        return list(self._shown)

    def _show(self) -> None:
        words = self.filter.text().lower().split()
        self._shown = [o for o in self._orders if matches(o, words)]
        self.model.set_rows([self._row(o) for o in self._shown])
        total, shown = len(self._orders), len(self._shown)
        self.count.setText(
            f"{shown:,} of {total:,}" if words else f"{total:,} order{'s' if total != 1 else ''}"
        )
        self.export_button.setEnabled(shown > 0)

    def _row(self, order: Order) -> Row:
        numbers, symbol = self.numbers, order.symbol
        price = order.price if order.price is not None else order.stop_price
        status = status_words(order)
        theme = self.theme
        status_color = (
            theme.down if order.status is OrderStatus.REJECTED else theme.muted if not order.filled else ""
        )
        cells = (
            time_text(order.updated_ms, self.time_zone),
            symbol,
            order.side.value,
            type_words(order),
            numbers.price(symbol, price) if price is not None else "market",
            numbers.amount(symbol, order.amount),
            numbers.amount(symbol, order.filled),
            numbers.price(symbol, order.average_price),
            cash(order.fee) if order.fee else "–",
            status,
            order.reason,
        )
        side_color = theme.up if order.side is OrderSide.BUY else theme.down
        colors = ("", "", side_color, "", "", "", "", "", "", status_color, "")
        return Row(order.client_order_id, cells, colors)

    # -- export ---------------------------------------------------------------------------
    def choose_file(self) -> QFileDialog:
        """A save dialog (non-modal); the chosen file goes to ``export_requested``."""
        stem = f"order-history-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}"
        dialog = QFileDialog(self, "Export the order history", str(self.folder / f"{stem}.csv"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setNameFilters(["CSV files (*.csv)", "All files (*)"])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_requested.emit)
        dialog.open()
        return dialog

    async def export(self, path: str, say: Callable[[str, bool], object] | None = None) -> None:
        """Write the orders shown to ``path`` as CSV, off the GUI thread; says how
        many went (or why none did) under the table and through ``say``."""
        rows = [csv_row(o) for o in self._shown]  # read here: the worker gets plain data
        try:
            await asyncio.to_thread(write_csv, path, rows)
        except TerminalError as exc:
            self._say(f"The order history was not exported: {describe(exc)}", True, say)
            return
        self._say(f"Exported {len(rows):,} order{'s' if len(rows) != 1 else ''} to {path}.", False, say)

    def _say(self, text: str, bad: bool, say: Callable[[str, bool], object] | None) -> None:
        self.note.setStyleSheet(f"color: {self.theme.down if bad else self.theme.muted};")
        self.note.setText(text)
        self.note.show()
        if say is not None:
            say(text, bad)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._show()


def csv_row(order: Order) -> list[str]:
    """An order as the export writes it: exact numbers, UTC times."""

    def number(value: Decimal | None) -> str:
        return "" if value is None else f"{value:f}"

    return [
        iso_time(order.updated_ms), iso_time(order.created_ms), order.symbol, order.side.value,
        order.type.value, number(order.price), number(order.stop_price), number(order.amount),
        number(order.filled), number(order.average_price), number(order.cost), number(order.fee),
        order.status.value, order.reason, order.client_order_id, order.order_id,
    ]  # fmt: skip


def write_csv(path: str | Path, rows: Sequence[Sequence[str]]) -> None:
    """The header and ``rows``, all at once or not at all (in a worker thread)."""
    with atomic_text(path, OrderHistoryExportError) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(rows)
