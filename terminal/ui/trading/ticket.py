"""The order ticket: side, type, amount (base or quote), limit and stop
prices, time in force, post-only and reduce-only, checked as the user types.

Every edit runs the ticket through ``terminal.trading.validate`` against the
market's rules, the current book and the free balances, and through the
account's risk rules (``ticket_input.check_ticket``, ~0.2 ms): a problem is
said under its field in plain words, and so is a risk rule that would refuse
the order (a limit price far from the market, an order too large); the
estimate (cost, fee, what a quote amount buys) goes under the form, and Send
stays disabled until the market's rules pass. A number that cannot be read
for sure ("1,500", "1 500") is a problem on its field, never a guess.

The ticket sends nothing itself: Send (or Enter) emits ``send_requested``
with a fresh check (its intent, the order as validated, the typed texts, the
risk warnings), and the trading desk confirms, submits and reports back here
(``show_outcome`` / ``show_refusal``). When the symbol changes, an amount or
price typed for the old one is cleared, with a note that says so.

The same widget serves the dock and, compact, the F9 quick ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from terminal.marketdata.orderbook import OrderBook
from terminal.trading.market_rules import market_rules
from terminal.trading.money import ZERO, fmt, to_decimal
from terminal.trading.orders import AmountUnit, Order, OrderSide, OrderType, TimeInForce
from terminal.trading.risk import AccountRisk
from terminal.trading.sizing import FRACTIONS, SizingError, share_of_free
from terminal.trading.validation import parse_decimal
from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.order_words import (
    base_of,
    cleared_note,
    estimate,
    order_line,
    quote_of,
    risk_warning,
)
from terminal.ui.trading.ticket_form import OPTION_FIELDS, TRAILING, TicketForm
from terminal.ui.trading.ticket_input import (
    TicketCheck,
    TicketInput,
    check_ticket,
    decimal_text,
    price_on_tick,
)

#: while only the market moves, re-check (a market order's estimate) this often, not per book update
MARKET_RECHECK_MS = 250

Balances = Callable[[], Mapping[str, Decimal]]
Risk = Callable[[], AccountRisk | None]


def _no_risk() -> AccountRisk | None:
    return None


class OrderTicket(TicketForm):
    #: a ``TicketCheck`` to send: its intent (a fresh client order id each time), order and typed texts
    send_requested = Signal(object)
    #: the user left amend mode
    replace_dropped = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(theme, parent, compact=compact)
        self.symbol = ""
        self.market: Mapping[str, Any] | None = None
        self.book: Callable[[], OrderBook | None] = lambda: None
        self.balances: Balances | None = None
        self.risk: Risk = _no_risk
        self.check = TicketCheck()
        self.replacing: Order | None = None  # amend mode: Send replaces this open order
        self.sending = False
        self._inputs_enabled: bool | None = None
        self._unit = AmountUnit.BASE
        self._recheck = QTimer(self)
        self._recheck.setSingleShot(True)
        self._recheck.setInterval(MARKET_RECHECK_MS)
        self._recheck.timeout.connect(self.revalidate)

        self._connect()
        self.unbind("No trading account is connected to this window.")
        self.apply_theme(theme)

    def _connect(self) -> None:
        # Enter is taken in keyPressEvent: a QLineEdit passes it on after returnPressed,
        # so connecting returnPressed as well would send twice.
        for edit in (self.amount, self.price, self.stop, self.trail, self.take_profit, self.stop_loss):
            edit.textChanged.connect(self._edited)
        self.attach_exits.toggled.connect(lambda _checked: self._edited())
        self.trail_unit.clicked.connect(lambda _checked=False: self._toggle_trail_unit())
        self.sides.buttonToggled.connect(lambda _button, _checked: self._edited())
        self.type_box.currentIndexChanged.connect(lambda _index: self._edited())
        self.tif_box.currentIndexChanged.connect(lambda _index: self._edited())
        self.post_only.toggled.connect(lambda _checked: self._edited())
        self.reduce_only.toggled.connect(lambda _checked: self._edited())
        self.unit_button.clicked.connect(lambda _checked=False: self.toggle_unit())
        self.send_button.clicked.connect(lambda _checked=False: self.try_send())
        self.stop_replacing.clicked.connect(lambda _checked=False: self.set_replacing(None))
        for button, fraction in zip(self.share_buttons, FRACTIONS, strict=True):
            button.clicked.connect(lambda _checked=False, f=fraction: self.fill_share(f))

    # -- where it trades -------------------------------------------------------------------
    def bind(
        self,
        symbol: str,
        market: Mapping[str, Any],
        book: Callable[[], OrderBook | None],
        balances: Balances,
        account: str,
        risk: Risk = _no_risk,
    ) -> None:
        """Trade ``symbol`` (its ccxt market dict) on an account; the book, the
        free balances and the account's risk rules and state are read at each check."""
        old = self.symbol
        self.symbol, self.market, self.book, self.balances, self.risk = symbol, market, book, balances, risk
        if symbol != old:
            self.set_replacing(None)
            self._clear_for(old)
        self.title.setText(f"<b>{symbol}</b> · {account}")
        self._update_unit()
        self.setEnabled(True)
        self.revalidate()

    def _clear_for(self, old: str) -> None:
        """An amount or price typed for ``old`` means nothing for the new symbol
        (2 SOL are not 2 BTC): clear them, and say so where the user looks."""
        fields = (
            ("amount", self.amount),
            ("price", self.price),
            ("stop price", self.stop),
            ("trail", self.trail),
            ("take-profit", self.take_profit),
            ("stop-loss", self.stop_loss),
        )
        cleared = [name for name, edit in fields if edit.text().strip()]
        for _name, edit in fields:
            edit.clear()
        self.clear_message()
        if old and cleared:
            self._say(cleared_note(cleared, old), self.theme.accent)

    def unbind(self, note: str) -> None:
        """No account to trade with: say why, and send nothing."""
        self.market, self.balances, self.risk = None, None, _no_risk
        self.title.setText(note)
        self.title.setEnabled(True)
        self.check = TicketCheck()
        self.set_replacing(None)
        self._update_enabled()
        self.estimate.clear()
        self.funds.clear()

    @property
    def bound(self) -> bool:
        return self.market is not None and self.balances is not None

    # -- reading and setting fields ---------------------------------------------------------
    def input(self) -> TicketInput:
        return TicketInput(
            symbol=self.symbol,
            side=OrderSide.BUY if self.buy.isChecked() else OrderSide.SELL,
            type=self.order_type,
            amount_text=self.amount.text(),
            unit=self._unit,
            price_text=self.price.text(),
            stop_text=self.stop.text(),
            time_in_force=TimeInForce(self.tif_box.currentData()),
            post_only=self.post_only.isChecked(),
            reduce_only=self.reduce_only.isChecked(),
            trail_text=self.trail.text(),
            trail_percent=self.trail_unit.text() == "%",
            exits=self.attach_exits.isChecked() and self.attach_exits.isEnabled(),
            take_profit_text=self.take_profit.text(),
            stop_loss_text=self.stop_loss.text(),
        )

    def offer(self, *, trailing: bool, exits_mode: str | None, exits_explained: str = "") -> None:
        """What the account takes beyond the basic types: trailing stops, and attached
        take-profit / stop-loss pairs (``exits_mode``: who keeps them, said on the ticket)."""
        index = self.type_box.findData(TRAILING[1].value)
        if trailing and index < 0:
            self.type_box.addItem(TRAILING[0], TRAILING[1].value)
        elif not trailing and index >= 0:
            if self.type_box.currentIndex() == index:
                self.set_type(OrderType.LIMIT)
            self.type_box.removeItem(index)
        self.exits_offered = exits_mode is not None
        note = f"Placed when the order fills; one cancels the other ({exits_mode})." if exits_mode else ""
        self.exits_note.setText(note)
        self.exits_note.setToolTip(exits_explained)
        self._show_fields()

    def _toggle_trail_unit(self) -> None:
        quote = quote_of(self.symbol) if self.symbol else "quote"
        self.trail_unit.setText(quote if self.trail_unit.text() == "%" else "%")
        self._edited()

    def set_input(self, ticket: TicketInput) -> None:
        """Fill the form from ``ticket`` (the quick ticket starts as the dock's)."""
        self.set_side(ticket.side)
        self.set_type(ticket.type)
        self._unit = ticket.unit
        self._update_unit()
        self.amount.setText(ticket.amount_text)
        self.price.setText(ticket.price_text)
        self.stop.setText(ticket.stop_text)
        self.tif_box.setCurrentIndex(self.tif_box.findData(ticket.time_in_force.value))
        self.post_only.setChecked(ticket.post_only)
        self.reduce_only.setChecked(ticket.reduce_only)
        self.trail.setText(ticket.trail_text)
        self.trail_unit.setText("%" if ticket.trail_percent else quote_of(ticket.symbol) or "quote")
        self.attach_exits.setChecked(ticket.exits)
        self.take_profit.setText(ticket.take_profit_text)
        self.stop_loss.setText(ticket.stop_loss_text)

    def set_side(self, side: OrderSide) -> None:
        (self.buy if side is OrderSide.BUY else self.sell).setChecked(True)

    def set_type(self, kind: OrderType) -> None:
        self.type_box.setCurrentIndex(self.type_box.findData(kind.value))

    def set_price(self, value: float) -> None:
        """A price picked on the book or the chart, on the tick. It goes where
        the order type takes a price: a market order becomes a limit order,
        a stop-market order takes it as its stop."""
        if self.market is None:
            return
        text = decimal_text(price_on_tick(value, self.market))
        kind = self.order_type
        if kind in (OrderType.MARKET, OrderType.TRAILING_STOP):
            self.set_type(OrderType.LIMIT)
        if kind is OrderType.STOP_MARKET:
            self.stop.setText(text)
        else:
            self.price.setText(text)

    def move_to(self, price: float, *, stop: bool) -> None:
        """The price of the order being amended (its stop when ``stop``) moved to ``price``, on the tick."""
        if self.market is None:
            return
        (self.stop if stop else self.price).setText(decimal_text(price_on_tick(price, self.market)))

    def fill_share(self, fraction: Decimal) -> None:
        """The amount that uses ``fraction`` of the free balance (the % buttons)."""
        if self.market is None or self.balances is None:
            return
        side = OrderSide.BUY if self.buy.isChecked() else OrderSide.SELL
        try:
            amount = share_of_free(
                fraction,
                side,
                self._unit,
                market_rules(self.market),
                self.balances(),
                self._sizing_price(side),
            )
        except SizingError as exc:
            self._say(str(exc), self.theme.down)
            return
        self.amount.setText(decimal_text(amount))

    def _sizing_price(self, side: OrderSide) -> Decimal | None:
        """The price a share is worked out at: the limit price typed, else the stop of a
        stop-market order, else the side of the book a market order takes."""
        kind = self.order_type
        typed = self.price.text() if kind.has_price else self.stop.text() if kind.is_stop else ""
        value = parse_decimal(typed, "price") if typed.strip() else None
        if isinstance(value, Decimal):
            return value
        book = self.book()
        best = None if book is None else book.best_ask if side is OrderSide.BUY else book.best_bid
        return None if best is None else to_decimal(best)

    def toggle_unit(self) -> None:
        self._unit = AmountUnit.QUOTE if self._unit is AmountUnit.BASE else AmountUnit.BASE
        self._update_unit()
        self._edited()

    @property
    def unit(self) -> AmountUnit:
        return self._unit

    def _update_unit(self) -> None:
        currency = (
            (base_of if self._unit is AmountUnit.BASE else quote_of)(self.symbol) if self.symbol else ""
        )
        self.unit_button.setText(currency or "base")

    # -- checking ---------------------------------------------------------------------------
    def _edited(self) -> None:
        self.clear_message()
        self._show_fields()
        self.revalidate()

    def market_moved(self) -> None:
        """The book or the balances changed: check again soon (not per update)."""
        if self.bound and not self._recheck.isActive():
            self._recheck.start()

    def check_input(self, ticket: TicketInput, free: Mapping[str, Decimal] | None = None) -> TicketCheck:
        """``ticket`` checked against this ticket's market, book, free balances
        (``free``, else read now) and account risk (the keyboard's orders are
        checked here too)."""
        assert self.market is not None and self.balances is not None
        free = self.balances() if free is None else free
        return check_ticket(ticket, self.market, book=self.book(), balances=free, risk=self.risk())

    def revalidate(self) -> TicketCheck:
        if not self.bound:
            self._update_enabled()
            return self.check
        assert self.balances is not None
        free = self.balances()
        self.check = self.check_input(self.input(), free)
        base, quote = base_of(self.symbol), quote_of(self.symbol)
        quote_free = free.get(quote, ZERO).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        self.funds.setText(f"Free: {fmt(quote_free)} {quote} · {fmt(free.get(base, ZERO))} {base}")
        self._show_check()
        return self.check

    def _show_check(self) -> None:
        check = self.check
        self.errors.clear()
        warnings = [(block.field or "general", risk_warning(block)) for block in check.blocks]
        for name, text in [*check.problems.items(), *warnings]:
            line = name if name in self.errors.labels else "options" if name in OPTION_FIELDS else "general"
            shown = self.errors.text(line)
            self.errors.show(line, f"{shown}\n{text}" if shown else text)
        if check.order is not None:
            notes = "\n".join(check.order.notes)
            self.estimate.setText(estimate(check.order) + (f"\n{notes}" if notes else ""))
        elif check.missing and not check.problems:
            wanted = {
                "amount": "an amount",
                "price": "a limit price",
                "stop_price": "a stop price",
                "trail": "a trailing distance",
            }
            self.estimate.setText("Enter " + " and ".join(wanted[m] for m in check.missing) + ".")
        else:
            self.estimate.clear()
        self._update_enabled()

    def _update_enabled(self) -> None:
        if self._inputs_enabled is not self.bound:
            self._inputs_enabled = self.bound
            for widget in self.findChildren(QWidget):
                if widget is not self.title:
                    widget.setEnabled(self.bound)
        side = "Buy" if self.buy.isChecked() else "Sell"
        base = base_of(self.symbol) if self.symbol else ""
        label = "Replace order" if self.replacing is not None else f"{side} {base}".strip()
        self.send_button.setText("Sending…" if self.sending else label)
        self.send_button.setEnabled(self.bound and self.check.ok and not self.sending)
        self._restyle_send()

    # -- sending ----------------------------------------------------------------------------
    def try_send(self) -> bool:
        """Send (Enter or the button) if the ticket is valid now; False if not."""
        if self.sending or not self.bound:
            return False
        check = self.revalidate()
        if check.intent is None or not check.ok:
            return False
        self.clear_message()
        self.send_requested.emit(check)
        return True

    def set_sending(self, sending: bool) -> None:
        self.sending = sending
        self._update_enabled()

    def show_outcome(self, text: str, ok: bool = True) -> None:
        self._say(text, self.theme.up if ok else self.theme.down)

    def show_refusal(self, field: str | None, text: str) -> None:
        """The broker refused: plain words under the ticket, and on the field at fault."""
        if field and field in self.errors.labels:
            self.errors.show(field, text)
        self._say(text, self.theme.down)

    def clear_message(self) -> None:
        self.message.clear()
        self.message.hide()

    def _say(self, text: str, color: str) -> None:
        self.message.setStyleSheet(f"color: {color};")
        self.message.setText(text)
        self.message.show()

    # -- amend by cancel/replace -----------------------------------------------------------------
    def set_replacing(self, order: Order | None) -> None:
        """Amend mode: the form holds ``order``'s values; Send cancels it and sends the form."""
        was = self.replacing
        self.replacing = order
        if order is not None:
            self.set_side(order.side)
            self.set_type(order.type)
            self._unit = AmountUnit.BASE
            self._update_unit()
            self.amount.setText(decimal_text(order.remaining))
            self.price.setText(decimal_text(order.price) if order.price is not None else "")
            self.stop.setText(decimal_text(order.stop_price) if order.stop_price is not None else "")
            self.tif_box.setCurrentIndex(self.tif_box.findData(order.time_in_force.value))
            self.post_only.setChecked(order.post_only)
            self.reduce_only.setChecked(order.reduce_only)
            # an amend replaces this one order: exits attached to an entry stay as they are
            self.attach_exits.setChecked(False)
            self.take_profit.clear()
            self.stop_loss.clear()
            line = order_line(
                order.side, order.type, order.remaining, order.symbol, order.price, order.stop_price
            )
            self.replace_note.setText(f"Replacing {line}")
        self.replace_note.setVisible(order is not None)
        self.stop_replacing.setVisible(order is not None)
        self._update_enabled()
        if was is not None and order is None:
            self.replace_dropped.emit()

    # -- keys and looks ----------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.try_send()
            event.accept()
            return
        super().keyPressEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        self._style(theme)
        self._show_fields()
        self._restyle_send()

    def _restyle_send(self) -> None:
        theme = self.theme
        color = (
            theme.accent if self.replacing is not None else theme.up if self.buy.isChecked() else theme.down
        )
        self._style_send(color)
