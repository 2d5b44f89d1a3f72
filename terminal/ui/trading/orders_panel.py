"""Open orders: one row per order still working (resting, or a stop waiting
for its trigger), newest first. Cancel the selected one (button or Delete),
amend it (its values go to the ticket; Send there cancels and replaces),
or cancel them all (after a confirmation the desk asks for)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terminal.trading.money import fmt
from terminal.trading.orders import Order, OrderSide
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.order_words import TYPE_WORDS
from terminal.ui.trading.rows_model import Row, RowsModel, money, time_text


class OrdersModel(RowsModel):
    headers = ("Time", "Symbol", "Side", "Type", "Price", "Stop", "Amount", "Filled", "Status", "Id")
    numeric = frozenset({4, 5, 6, 7})


def order_row(order: Order, theme: Theme, time_zone: str = "local") -> Row:
    side_color = theme.up if order.side is OrderSide.BUY else theme.down
    status = order.status.value.replace("_", " ")
    if order.type.is_stop and not order.triggered:
        status = "waiting for stop"
        if order.held:  # not on the exchange: the terminal watches the trades (trading.live.held)
            status = "held by the terminal" if not order.note else "held: cannot see trades"
    cells = (
        time_text(order.created_ms, time_zone),
        order.symbol,
        order.side.value,
        TYPE_WORDS[order.type].removeprefix("at "),
        money(order.price),
        money(order.stop_price),
        fmt(order.amount),
        fmt(order.filled),
        status,
        order.client_order_id,
    )
    return Row(order.client_order_id, cells, ("", "", side_color))


class OrdersPanel(QWidget):
    cancel_requested = Signal(str)  # client order id
    amend_requested = Signal(str)
    cancel_all_requested = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.time_zone = "local"
        self._refreshing = False
        self.model = OrdersModel(self)
        self.view = table(self)
        self.view.setModel(self.model)
        fit_columns(self.view, ("00-00 00:00:00", "BTC/USDT", "sell", "stop-market", "000,000.00"))
        self.cancel_button = QPushButton("Cancel (Del)", self)
        self.amend_button = QPushButton("Amend…", self)
        self.amend_button.setToolTip("Load the order into the ticket; Send there cancels and replaces it")
        self.cancel_all_button = QPushButton("Cancel all…", self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        # The buttons stand beside the table, not above it: the bottom strip is
        # low, and every row of orders it can show counts.
        buttons = QVBoxLayout()
        buttons.setContentsMargins(4, 4, 4, 4)
        for button in (self.cancel_button, self.amend_button, self.cancel_all_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        # What a cancel or amend answered: a line across the whole panel under the table,
        # wrapped there (not squeezed under the buttons), cleared when the user moves on.
        self.note.setContentsMargins(4, 0, 4, 2)
        self.note.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.view, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row, 1)
        layout.addWidget(self.note)
        delete = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.view)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.cancel_selected)
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel_selected())
        self.amend_button.clicked.connect(lambda _checked=False: self.amend_selected())
        self.cancel_all_button.clicked.connect(lambda _checked=False: self.cancel_all_requested.emit())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self._update_buttons()

    def set_orders(self, orders: Sequence[Order]) -> None:
        selected = self.selected()
        self._refreshing = True  # the rows changing is not the user moving on: the note stays
        try:
            self.model.set_rows([order_row(o, self.theme, self.time_zone) for o in orders])
            if selected is not None and self.selected() is None:
                row = self.model.row_of(selected)
                if row >= 0:
                    self.view.selectRow(row)
        finally:
            self._refreshing = False
        self._update_buttons()

    def selected(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.key_at(rows[0].row()) if rows else None

    def select(self, client_order_id: str) -> bool:
        row = self.model.row_of(client_order_id)
        if row >= 0:
            self.view.selectRow(row)
        return row >= 0

    def cancel_selected(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.cancel_requested.emit(selected)

    def amend_selected(self) -> None:
        selected = self.selected()
        if selected is not None:
            self.amend_requested.emit(selected)

    def say(self, text: str, bad: bool = False) -> None:
        self.note.setStyleSheet(f"color: {self.theme.down if bad else self.theme.muted};")
        self.note.setText(text)
        self.note.setToolTip(text)
        self.note.setVisible(bool(text))

    def _selection_changed(self) -> None:
        if not self._refreshing:
            self.say("")  # what was said of the last order no longer applies to the one chosen now
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.cancel_button.setEnabled(chosen)
        self.amend_button.setEnabled(chosen)
        self.cancel_all_button.setEnabled(self.model.row_total() > 0)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
