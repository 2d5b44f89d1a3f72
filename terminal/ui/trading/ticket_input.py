"""What a ticket holds, as typed, and its check against the market: the
ticket's fields are read into an ``OrderIntent`` and run through
``terminal.trading.validate`` (market precision and limits, the book, the
free balances) and the account's risk rules on every keystroke. No Qt here.

Numbers are read by ``terminal.trading.number_input`` (a decimal comma is a
decimal point when nothing else can be meant; a thousands separator is never
guessed): what cannot be read for sure is a problem on its field, never a
number. The intent that Send sends carries the numbers the confirmation
shows: a base amount already rounded down to the market's step.

Empty fields are not complaints: a fresh ticket says nothing until a field
is filled in, but it cannot be sent (``TicketCheck.missing`` names what is
still wanted). A risk rule that would refuse the order is a warning on its
field (``TicketCheck.blocks``); Send stays possible, and the broker, which
knows the account best, decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from terminal.marketdata.orderbook import OrderBook
from terminal.trading.brackets import Exits, check_exits
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.number_input import plain
from terminal.trading.orders import AmountUnit, OrderIntent, OrderSide, OrderType, TimeInForce
from terminal.trading.risk import AccountRisk, PriceDistance, RiskBlock, price_distance
from terminal.trading.validation import FieldProblem, ValidatedOrder, parse_decimal, validate


@dataclass(frozen=True)
class TicketInput:
    symbol: str
    side: OrderSide = OrderSide.BUY
    type: OrderType = OrderType.LIMIT
    amount_text: str = ""
    unit: AmountUnit = AmountUnit.BASE
    price_text: str = ""
    stop_text: str = ""
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    trail_text: str = ""  # a trailing stop's distance
    trail_percent: bool = True  # ... in percent (else in the quote currency)
    exits: bool = False  # a take-profit and/or stop-loss attached
    take_profit_text: str = ""
    stop_loss_text: str = ""

    def with_(self, **changes: Any) -> TicketInput:
        return replace(self, **changes)


@dataclass(frozen=True)
class TicketCheck:
    #: what Send sends: the numbers as read, a base amount on the market's step
    intent: OrderIntent | None = None
    order: ValidatedOrder | None = None
    #: field -> the first problem's message (every field validate can name)
    problems: dict[str, str] = field(default_factory=dict)
    #: what must still be filled in before the order can go ("amount", "price", ...)
    missing: tuple[str, ...] = ()
    #: the texts the numbers were read from
    typed: TicketInput | None = None
    #: the account's risk rules that would refuse the order now
    blocks: tuple[RiskBlock, ...] = ()
    #: how far its price is from the market (what the price band judges), when known
    distance: PriceDistance | None = None
    #: the take-profit / stop-loss attached, checked against the entry (None: none)
    exits: Exits | None = None

    @property
    def ok(self) -> bool:
        return self.order is not None


def check_ticket(
    ticket: TicketInput,
    market: Mapping[str, Any],
    *,
    book: OrderBook | None,
    balances: Mapping[str, Decimal] | None,
    risk: AccountRisk | None = None,
) -> TicketCheck:
    """Read and validate ``ticket``, and risk-check it when ``risk`` is given.
    The intent carries a fresh client order id each time: the one actually
    sent is made when the user sends."""
    problems: dict[str, str] = {}
    missing: list[str] = []

    def number(text: str, name: str) -> Decimal | None:
        if not text.strip():
            missing.append(name)
            return None
        value = parse_decimal(text, name)
        if isinstance(value, FieldProblem):
            problems.setdefault(name, value.message)
            return None
        return value

    amount = number(ticket.amount_text, "amount")
    price = number(ticket.price_text, "price") if ticket.type.has_price else None
    stop = number(ticket.stop_text, "stop_price") if ticket.type.has_stop_price else None
    trail = number(ticket.trail_text, "trail") if ticket.type.is_trailing else None
    exits = _exits(ticket, problems) if ticket.exits and not ticket.type.is_trailing else None
    if problems or missing or amount is None:
        return TicketCheck(problems=problems, missing=tuple(missing), typed=ticket)
    intent = OrderIntent(
        symbol=ticket.symbol,
        side=ticket.side,
        type=ticket.type,
        amount=amount,
        amount_unit=ticket.unit,
        price=price,
        stop_price=stop,
        # a market order fills what it can at once: whatever the box says, it is IOC
        time_in_force=ticket.time_in_force if ticket.type is not OrderType.MARKET else TimeInForce.GTC,
        post_only=ticket.post_only and ticket.type.has_price,
        reduce_only=ticket.reduce_only,
        trail_amount=trail if not ticket.trail_percent else None,
        trail_percent=trail if ticket.trail_percent else None,
    )
    result = validate(intent, market, book=book, balance=balances)
    if not isinstance(result, ValidatedOrder):
        for problem in result:
            problems.setdefault(problem.field, problem.message)
        return TicketCheck(intent=intent, problems=problems, typed=ticket)
    if intent.amount_unit is AmountUnit.BASE:
        # send what the confirmation shows: the amount on the step (validation noted the rounding)
        intent = replace(intent, amount=result.amount)
    if exits is not None:
        exit_problems = check_exits(intent.side, result.est_price, exits, result.rules)
        if exit_problems:
            for problem in exit_problems:
                problems.setdefault(problem.field, problem.message)
            return TicketCheck(intent=intent, problems=problems, typed=ticket, exits=exits)
    mid = to_decimal(book.mid) if book is not None and book.mid is not None else None
    return TicketCheck(
        exits=exits,
        intent=intent,
        order=result,
        typed=ticket,
        blocks=tuple(risk.check(result, book)) if risk is not None else (),
        distance=price_distance(result, mid),
    )


def _exits(ticket: TicketInput, problems: dict[str, str]) -> Exits | None:
    """The take-profit and stop-loss typed (each may be empty, not both)."""
    prices: dict[str, Decimal | None] = {}
    for name, text in (("take_profit", ticket.take_profit_text), ("stop_loss", ticket.stop_loss_text)):
        value = parse_decimal(text, name) if text.strip() else None
        if isinstance(value, FieldProblem):
            problems.setdefault(name, value.message)
            value = None
        prices[name] = value
    if prices["take_profit"] is None and prices["stop_loss"] is None:
        if "take_profit" not in problems and "stop_loss" not in problems:
            problems["take_profit"] = "Enter a take-profit, a stop-loss or both (or untick TP / SL)."
        return None
    return Exits(take_profit=prices["take_profit"], stop_loss=prices["stop_loss"])


def price_on_tick(value: float, market: Mapping[str, Any]) -> Decimal:
    """A price from the screen (a ladder row, a point on the chart: floats)
    on the market's tick: the nearest valid price, as plain digits."""
    price = to_decimal(value)
    tick = to_decimal((market.get("precision") or {}).get("price") or 0)
    if tick > 0:
        price = floor_to_step(price + tick / 2, tick)
    return price


def decimal_text(value: Decimal) -> str:
    """A Decimal as a field shows it: plain digits, no exponent, no grouping."""
    return plain(value)
