"""The order ticket's form: its fields, their layout and their looks; what
the fields do is ``OrderTicket``'s (``ticket.py``).

Side as two buttons (Buy, Sell); type, and time in force beside it; the
amount with its unit (base or quote: the button switches); limit and stop
prices, shown only for the order types that take them; post-only and
reduce-only; the estimate; Send, in the side's colour. A problem is said on
a line under its field (``field_errors.FieldErrors``); what concerns the whole
order, and the account's answer, in a message area of a fixed height under Send.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terminal.trading.orders import OrderType, TimeInForce
from terminal.trading.sizing import FRACTIONS
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

TYPES = (
    ("Market", OrderType.MARKET),
    ("Limit", OrderType.LIMIT),
    ("Stop market", OrderType.STOP_MARKET),
    ("Stop limit", OrderType.STOP_LIMIT),
)
#: offered where there is an account (a live one: the terminal holds them, ``terminal.trading.live.held``)
TRAILING = ("Trailing stop", OrderType.TRAILING_STOP)
TIFS = (("GTC", TimeInForce.GTC), ("IOC", TimeInForce.IOC), ("FOK", TimeInForce.FOK))
#: fields with a line of their own under them; problems of any other field go to ``general``
FIELD_LINES = ("amount", "price", "stop_price", "trail", "take_profit", "stop_loss", "options", "general")
OPTION_FIELDS = ("type", "time_in_force", "post_only", "reduce_only")
#: lines of text the message area under Send shows before it scrolls
MESSAGE_LINES = 3
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
        self.exits_offered = False  # the account keeps take-profit / stop-loss pairs
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
        # 25 / 50 / 75 / 100 % of the free balance (fees included) as the amount
        self.share_buttons: list[QToolButton] = []
        for fraction in FRACTIONS:
            share = QToolButton(self)
            share.setText(f"{fraction * 100:.0f}%")
            share.setObjectName(f"share{fraction * 100:.0f}")
            share.setToolTip(
                f"Amount: {fraction * 100:.0f}% of the free balance (a buy: of the quote currency, the fee "
                "included, at the limit price or the best ask; a sell: of the base currency)"
            )
            share.setAutoRaise(True)
            self.share_buttons.append(share)
        self.price = QLineEdit(self)
        self.price.setPlaceholderText("limit price (click the book or Ctrl+click the chart)")
        self.stop = QLineEdit(self)
        self.stop.setPlaceholderText("stop (trigger) price")
        self.trail = QLineEdit(self)
        self.trail.setPlaceholderText("distance from the best price since placed")
        self.trail_unit = QToolButton(self)
        self.trail_unit.setText("%")
        self.trail_unit.setToolTip("The distance in percent or in the quote currency (click to switch)")
        # A take-profit and a stop-loss attached to the order: placed as a pair, one cancelling
        # the other, as the entry fills (``terminal.trading.brackets``).
        self.attach_exits = QCheckBox("TP / SL", self)
        self.attach_exits.setToolTip(
            "Attach a take-profit and/or a stop-loss: placed when the order fills, as a pair in which "
            "one cancels the other"
        )
        self.take_profit = QLineEdit(self)
        self.take_profit.setPlaceholderText("take-profit (limit price)")
        self.stop_loss = QLineEdit(self)
        self.stop_loss.setPlaceholderText("stop-loss (stop price)")
        self.exits_note = QLabel(self)
        self.exits_note.setWordWrap(True)
        for field in (self.amount, self.price, self.stop, self.trail, self.take_profit, self.stop_loss):
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
        shares = QWidget(self)
        share_line = QHBoxLayout(shares)
        share_line.setContentsMargins(0, 0, 0, 0)
        share_line.setSpacing(2)
        for button in self.share_buttons:
            share_line.addWidget(button)
        share_line.addStretch(1)
        share_line.addWidget(self.attach_exits)
        self.price_row = self.errors.under(self.price, "price")
        self.stop_row = self.errors.under(self.stop, "stop_price")
        options = QWidget(self)
        option_line = QHBoxLayout(options)
        option_line.setContentsMargins(0, 0, 0, 0)
        option_line.addWidget(self.post_only)
        option_line.addWidget(self.reduce_only)
        option_line.addStretch(1)
        trail = QWidget(self)
        trail_line = QHBoxLayout(trail)
        trail_line.setContentsMargins(0, 0, 0, 0)
        trail_line.setSpacing(2)
        trail_line.addWidget(self.trail, 1)
        trail_line.addWidget(self.trail_unit)
        self.trail_row = self.errors.under(trail, "trail")
        self.trail_label = QLabel("Trail", self)
        self.exits_box = QWidget(self)
        exits = QGridLayout(self.exits_box)
        exits.setContentsMargins(0, 0, 0, 0)
        exits.setHorizontalSpacing(6)
        exits.setVerticalSpacing(2)
        exits.addWidget(QLabel("TP", self.exits_box), 0, 0, Qt.AlignmentFlag.AlignTop)
        exits.addWidget(self.errors.under(self.take_profit, "take_profit"), 0, 1)
        exits.addWidget(QLabel("SL", self.exits_box), 1, 0, Qt.AlignmentFlag.AlignTop)
        exits.addWidget(self.errors.under(self.stop_loss, "stop_loss"), 1, 1)
        exits.addWidget(self.exits_note, 2, 0, 1, 2)
        exits.setColumnStretch(1, 1)
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
        grid.addWidget(shares, 3, 0, 1, 2)  # under the amount, across the form: it stays narrow
        grid.addWidget(self.price_label, 4, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.price_row, 4, 1)
        grid.addWidget(self.stop_label, 5, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.stop_row, 5, 1)
        grid.addWidget(self.trail_label, 6, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.trail_row, 6, 1)
        grid.addWidget(self.options_row, 7, 1)
        grid.addWidget(self.exits_box, 8, 0, 1, 2)
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
        column.addLayout(grid)
        column.addWidget(self.estimate)
        column.addLayout(replace_line)
        column.addWidget(self.send_button)
        column.addWidget(self._message_area())
        column.addStretch(1)
        self.replace_note.hide()
        self.stop_replacing.hide()
        self.tif_box.setVisible(not self.compact)
        self.post_only.setVisible(not self.compact)
        self.attach_exits.setVisible(not self.compact)
        self.exits_box.hide()
        self.trail_label.hide()
        self.trail_row.hide()

    def _message_area(self) -> QScrollArea:
        """The ticket's messages (what the account answered, what a risk rule or a
        check says of the whole order) in an area of a fixed height under Send: a
        long message wraps and scrolls there instead of pushing or squashing the
        fields, and the area stays put when a message comes or goes."""
        inner = QWidget()
        lines = QVBoxLayout(inner)
        lines.setContentsMargins(0, 0, 0, 0)
        lines.setSpacing(2)
        lines.addWidget(self.errors.labels["general"])
        lines.addWidget(self.message)
        lines.addStretch(1)
        area = QScrollArea(self)
        area.setObjectName("ticketMessages")
        area.setWidget(inner)
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setFixedHeight(self.fontMetrics().lineSpacing() * MESSAGE_LINES + 4)
        self.message_area = area
        return area

    @property
    def order_type(self) -> OrderType:
        return OrderType(self.type_box.currentData())

    def _show_fields(self) -> None:
        """Only the fields the order type takes."""
        kind = self.order_type
        for widget in (self.price_label, self.price_row):
            widget.setVisible(kind.has_price)
        for widget in (self.stop_label, self.stop_row):
            widget.setVisible(kind.has_stop_price)
        for widget in (self.trail_label, self.trail_row):
            widget.setVisible(kind.is_trailing)
        # exits attach to an entry: not to a trailing stop (itself an exit)
        self.attach_exits.setEnabled(self.exits_offered and not kind.is_trailing)
        if not self.attach_exits.isEnabled():
            self.attach_exits.setChecked(False)
        self.exits_box.setVisible(self.attach_exits.isChecked())
        self.post_only.setEnabled(kind.has_price)
        if not kind.has_price:  # a market order always takes: never left ticked out of sight of the user
            self.post_only.setChecked(False)
        self.tif_box.setEnabled(kind is not OrderType.MARKET)

    def _style(self, theme: Theme) -> None:
        self.theme = theme
        self.errors.set_color(theme.down)
        for label in (self.estimate, self.funds, self.exits_note):
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
