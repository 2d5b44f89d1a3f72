"""The order ticket's form: its fields, their layout and their looks; what
the fields do is ``OrderTicket``'s (``ticket.py``).

Side as two buttons (Buy, Sell); type, and time in force beside it; the
amount with its unit (base or quote: the button switches); limit and stop
prices, shown only for the order types that take them; post-only and
reduce-only; the estimate; Send, in the side's colour. A problem is said on
a line under its field (``field_errors.FieldErrors``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terminal.trading.orders import OrderType, TimeInForce
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

TYPES = (
    ("Market", OrderType.MARKET),
    ("Limit", OrderType.LIMIT),
    ("Stop market", OrderType.STOP_MARKET),
    ("Stop limit", OrderType.STOP_LIMIT),
)
TIFS = (("GTC", TimeInForce.GTC), ("IOC", TimeInForce.IOC), ("FOK", TimeInForce.FOK))
#: fields with a line of their own under them; problems of any other field go to ``general``
FIELD_LINES = ("amount", "price", "stop_price", "options", "general")
OPTION_FIELDS = ("type", "time_in_force", "post_only", "reduce_only")
#: how the number fields read what is typed (``terminal.trading.number_input``)
NUMBER_HINT = (
    "Decimals with a point or a comma (1.5 or 1,5), in any digits; no thousands separators: "
    "what could be read two ways (1,500) is refused, never guessed."
)


class TicketForm(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.theme = theme
        self.compact = compact
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.funds = QLabel(self)  # what the account has free to trade with
        self.buy = QPushButton("Buy", self)
        self.sell = QPushButton("Sell", self)
        self.sides = QButtonGroup(self)
        for button in (self.buy, self.sell):
            button.setCheckable(True)
            self.sides.addButton(button)
        self.buy.setChecked(True)
        self.type_box = QComboBox(self)
        for text, kind in TYPES:
            self.type_box.addItem(text, kind.value)
        self.type_box.setCurrentIndex(1)
        self.tif_box = QComboBox(self)
        for text, tif in TIFS:
            self.tif_box.addItem(text, tif.value)
        self.tif_box.setToolTip(
            "GTC: what does not fill at once rests. IOC: fill what crosses now, cancel the rest. "
            "FOK: all at once or nothing."
        )
        self.amount = QLineEdit(self)
        self.amount.setPlaceholderText("amount")
        self.unit_button = QToolButton(self)
        self.unit_button.setToolTip("Amount in the base or the quote currency (click to switch)")
        self.price = QLineEdit(self)
        self.price.setPlaceholderText("limit price (click the book or Ctrl+click the chart)")
        self.stop = QLineEdit(self)
        self.stop.setPlaceholderText("stop (trigger) price")
        for field in (self.amount, self.price, self.stop):
            field.setToolTip(NUMBER_HINT)
        self.post_only = QCheckBox("Post-only", self)
        self.post_only.setToolTip("Only rest in the book: rejected if it would trade at once")
        self.reduce_only = QCheckBox("Reduce-only", self)
        self.reduce_only.setToolTip("Only shrink a position (a spot sell of at most what is held)")
        self.estimate = QLabel(self)
        self.estimate.setWordWrap(True)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.send_button = QPushButton("Buy", self)
        self.replace_note = QLabel(self)
        self.replace_note.setWordWrap(True)
        self.stop_replacing = QPushButton("Stop replacing", self)
        self.errors = FieldErrors(self, FIELD_LINES, theme.down)
        self._build_layout()

    # -- building ----------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.amount_row = QWidget(self)
        amount_line = QHBoxLayout(self.amount_row)
        amount_line.setContentsMargins(0, 0, 0, 0)
        amount_line.setSpacing(2)
        amount_line.addWidget(self.amount, 1)
        amount_line.addWidget(self.unit_button)
        self.price_row = self.errors.under(self.price, "price")
        self.stop_row = self.errors.under(self.stop, "stop_price")
        options = QWidget(self)
        option_line = QHBoxLayout(options)
        option_line.setContentsMargins(0, 0, 0, 0)
        option_line.addWidget(self.post_only)
        option_line.addWidget(self.reduce_only)
        option_line.addStretch(1)
        self.options_row = self.errors.under(options, "options")
        self.price_label, self.stop_label = QLabel("Price", self), QLabel("Stop", self)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        sides = QHBoxLayout()
        sides.setSpacing(2)
        sides.addWidget(self.buy)
        sides.addWidget(self.sell)
        grid.addLayout(sides, 0, 0, 1, 2)
        kinds = QHBoxLayout()
        kinds.addWidget(self.type_box, 1)
        kinds.addWidget(self.tif_box)
        grid.addWidget(QLabel("Type", self), 1, 0)
        grid.addLayout(kinds, 1, 1)
        grid.addWidget(QLabel("Amount", self), 2, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.errors.under(self.amount_row, "amount"), 2, 1)
        grid.addWidget(self.price_label, 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.price_row, 3, 1)
        grid.addWidget(self.stop_label, 4, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.stop_row, 4, 1)
        grid.addWidget(self.options_row, 5, 1)
        grid.setColumnStretch(1, 1)

        replace_line = QHBoxLayout()
        replace_line.addWidget(self.replace_note, 1)
        replace_line.addWidget(self.stop_replacing)
        column = QVBoxLayout(self)
        margin = 4 if self.compact else 6
        column.setContentsMargins(margin, margin, margin, margin)
        column.setSpacing(4)
        column.addWidget(self.title)
        column.addWidget(self.funds)
        column.addWidget(self.errors.labels["general"])
        column.addLayout(grid)
        column.addWidget(self.estimate)
        column.addLayout(replace_line)
        column.addWidget(self.send_button)
        column.addWidget(self.message)
        column.addStretch(1)
        self.replace_note.hide()
        self.stop_replacing.hide()
        self.tif_box.setVisible(not self.compact)
        self.post_only.setVisible(not self.compact)

    @property
    def order_type(self) -> OrderType:
        return OrderType(self.type_box.currentData())

    def _show_fields(self) -> None:
        """Only the fields the order type takes."""
        kind = self.order_type
        for widget in (self.price_label, self.price_row):
            widget.setVisible(kind.has_price)
        for widget in (self.stop_label, self.stop_row):
            widget.setVisible(kind.is_stop)
        self.post_only.setEnabled(kind.has_price)
        if not kind.has_price:  # a market order always takes: never left ticked out of sight of the user
            self.post_only.setChecked(False)
        self.tif_box.setEnabled(kind is not OrderType.MARKET)

    def _style(self, theme: Theme) -> None:
        self.theme = theme
        self.errors.set_color(theme.down)
        for label in (self.estimate, self.funds):
            label.setStyleSheet(f"color: {theme.muted};")
        self.replace_note.setStyleSheet(f"color: {theme.accent};")
        self.buy.setStyleSheet(_side_style(theme.up, theme))
        self.sell.setStyleSheet(_side_style(theme.down, theme))

    def _style_send(self, color: str) -> None:
        theme = self.theme
        self.send_button.setStyleSheet(
            f"QPushButton {{ background: {color}; color: #ffffff; font-weight: bold; padding: 5px; "
            f"border: none; border-radius: 3px; }}"
            f"QPushButton:disabled {{ background: {theme.grid}; color: {theme.muted}; }}"
        )


def _side_style(color: str, theme: Theme) -> str:
    return (
        f"QPushButton {{ padding: 4px; border: 1px solid {theme.grid}; border-radius: 3px; }}"
        f"QPushButton:checked {{ background: {color}; color: #ffffff; font-weight: bold; border: none; }}"
    )
