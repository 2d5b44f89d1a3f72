"""Own order events said in the window: every fill, partial fill, cancel and
rejection, once each, as a message (status bar and log) and, when the user
turned it on, a sound; and the ticket that sent an order follows what becomes
of it ("rests in the book" turns into "Filled" when the market fills it).

The account tells its listeners the fills of an operation first, then each
order's final state (``terminal.trading.events``): the fills are gathered per
order until its update comes, so one message says what that update did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from terminal.trading.broker import Broker
from terminal.trading.events import AccountEvent, AccountReset, FillAdded, OrderUpdated
from terminal.trading.money import ZERO, fmt, fmt_money, fmt_price
from terminal.trading.orders import Fill, Order, OrderSide, OrderStatus
from terminal.ui.trading.order_words import TYPE_WORDS, base_of, order_line, outcome, quote_of

Post = Callable[[str, bool], None]  # (text, bad)


def _average(fills: Sequence[Fill]) -> tuple[Decimal, Decimal, Decimal]:
    """(amount, average price, fee) of ``fills``."""
    amount = sum((f.amount for f in fills), ZERO)
    cost = sum((f.amount * f.price for f in fills), ZERO)
    fee = sum((f.fee for f in fills), ZERO)
    price = (cost / amount).quantize(Decimal(1).scaleb(-8)).normalize() if amount else ZERO
    return amount, price, fee


def _what(order: Order) -> str:
    """ "BTC/USDT, buy limit" / "BTC/USDT, sell at market" """
    return f"{order.symbol}, {order.side.value} {TYPE_WORDS[order.type]}"


def announcement(order: Order, fills: Sequence[Fill]) -> tuple[str, bool] | None:
    """What to say of ``order``'s update with its new ``fills`` (None: nothing new)."""
    base, quote = base_of(order.symbol), quote_of(order.symbol)
    verb = "bought" if order.side is OrderSide.BUY else "sold"
    done = ""
    if fills:
        amount, price, fee = _average(fills)
        fee_currency = fills[-1].fee_currency or quote
        shown = fmt_price(price, order.price_tick)
        done = f"{verb} {fmt(amount)} {base} at {shown} {quote}, fee {fmt_money(fee)} {fee_currency}"
    status = order.status
    if status is OrderStatus.FILLED and done:
        return f"Filled: {done} ({_what(order)}).", False
    if status is OrderStatus.PARTIALLY_FILLED and done:
        rest = f"{fmt(order.remaining)} of {fmt(order.amount)} {base} still open"
        return f"Partly filled: {done}; {rest} ({_what(order)}).", False
    if status is OrderStatus.CANCELLED:
        left = order.remaining
        line = order_line(order.side, order.type, left, order.symbol, order.price, order.stop_price)
        why = f": {order.reason}" if order.reason else "."
        if done:
            return f"Partly filled: {done}; the rest was cancelled ({line}){why}", False
        return f"Cancelled: {line}{why}", False
    if status is OrderStatus.REJECTED:
        line = order_line(order.side, order.type, order.amount, order.symbol, order.price, order.stop_price)
        return f"Rejected: {line}: {order.reason or 'the account refused it.'}", True
    if order.triggered and order.triggered_ms == order.updated_ms and not done:
        return f"Stop triggered: the {_what(order)} order is now working.", False
    return None


class OrderEvents:
    """One window's announcer of its account's order events."""

    def __init__(self, post: Post, sound: Callable[[], bool], beep: Callable[[], None]) -> None:
        self._post = post
        self._sound = sound  # read at each event: a changed preference applies at once
        self._beep = beep
        self._broker: Broker | None = None
        self._fills: dict[str, list[Fill]] = {}  # per order: fills not yet said
        self._said: dict[str, tuple[OrderStatus, Decimal, bool]] = {}  # per order: what was said last
        # The ticket's outcome line follows the newest order it sent while that order is open.
        self._following: tuple[str, Callable[[str, bool], None]] | None = None
        # hears each order that ended filled, cancelled or rejected, with what was said of it (alerts)
        self.on_outcome: Callable[[Order, str], None] | None = None

    def attach(self, broker: Broker | None) -> None:
        if self._broker is not None:
            self._broker.unsubscribe(self._on_event)
        self._broker = broker
        self._fills.clear()
        self._following = None
        if broker is not None:
            broker.subscribe(self._on_event)

    def follow(self, order: Order, show: Callable[[str, bool], None]) -> None:
        """Show on ``show`` (the ticket's outcome line) what becomes of ``order`` while it
        is open, until the ticket sends another."""
        self._following = None
        if order.status.is_open:
            self._following = (order.client_order_id, show)
            self._said[order.client_order_id] = (order.status, order.filled, order.triggered)

    def _on_event(self, event: AccountEvent) -> None:
        if isinstance(event, FillAdded):
            self._fills.setdefault(event.fill.client_order_id, []).append(event.fill)
        elif isinstance(event, OrderUpdated):
            self._order_updated(event.order)
        elif isinstance(event, AccountReset):
            self._fills.clear()
            self._following = None
            self._said.clear()

    def _order_updated(self, order: Order) -> None:
        cid = order.client_order_id
        fills = self._fills.pop(cid, [])
        state = (order.status, order.filled, order.triggered)
        if self._said.get(cid) == state:
            return  # told already (the same update seen again)
        self._said[cid] = state
        said = announcement(order, fills)
        if said is not None:
            text, bad = said
            self._post(text, bad)
            if fills and self._sound():
                self._beep()
            ended = order.status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)
            if ended and self.on_outcome is not None:
                self.on_outcome(order, text)
        following = self._following
        if following is not None and following[0] == cid:
            following[1](outcome(order), order.status is not OrderStatus.REJECTED)
            if not order.status.is_open:
                self._following = None
        if not order.status.is_open:
            self._said.pop(cid, None)
