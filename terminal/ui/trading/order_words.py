"""Orders in plain words: what an order will do (the confirmation), what
happened to it (the ticket's message after sending), and why it was refused
or would be.

The confirmation writes the numbers that are sent (amount, limit and stop
prices) as plain digits with a point, the way the fields take them: "1,500"
would read as one and a half to half the world. No Qt here: the ticket, the
confirmation and the status bar share these texts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from decimal import Decimal

from terminal.errors import OrderInvalidError, RiskCheckFailedError, TerminalError, describe
from terminal.trading.money import fmt, fmt_money, fmt_price
from terminal.trading.number_input import plain
from terminal.trading.orders import AmountUnit, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from terminal.trading.risk import PriceDistance, RiskBlock
from terminal.trading.validation import ValidatedOrder
from terminal.ui.trading.ticket_input import TicketCheck, TicketInput

log = logging.getLogger(__name__)

TYPE_WORDS = {
    OrderType.MARKET: "at market",
    OrderType.LIMIT: "limit",
    OrderType.STOP_MARKET: "stop-market",
    OrderType.STOP_LIMIT: "stop-limit",
    OrderType.TRAILING_STOP: "trailing stop",
}

#: how a risk rule is named on screen (the config key follows in brackets)
RULE_WORDS = {
    "max_order_notional": "largest order",
    "max_position_notional": "largest position (value)",
    "max_position_base": "largest position (amount)",
    "price_band_pct": "price band around the mid",
    "max_open_orders": "most open orders",
    "daily_loss_limit": "daily loss limit",
}


def base_of(symbol: str) -> str:
    return symbol.split("/")[0]


def quote_of(symbol: str) -> str:
    return symbol.partition("/")[2].split(":")[0]


def order_line(
    side: OrderSide,
    type_: OrderType,
    amount: Decimal,
    symbol: str,
    price: Decimal | None,
    stop: Decimal | None,
    *,
    exact: bool = False,
) -> str:
    """ "Buy 0.01 BTC limit at 64,000 USDT", "Sell 0.5 ETH stop-market, stop 3,000 USDT";
    ``exact``: the numbers as plain digits ("64000"), as the fields take them."""
    base, quote = base_of(symbol), quote_of(symbol)
    number = plain if exact else fmt
    text = f"{side.value.capitalize()} {number(amount)} {base} {TYPE_WORDS[type_]}"
    if stop is not None:
        text += f", stop {number(stop)}"
    if price is not None:
        text += f" at {number(price)}"
    if stop is not None or price is not None:
        text += f" {quote}"
    return text


def summary(order: ValidatedOrder) -> str:
    """The order as it will be sent, on one line with its flags, its numbers exact."""
    text = order_line(
        order.side, order.type, order.amount, order.symbol, order.price, order.stop_price, exact=True
    )
    flags = []
    if order.type is not OrderType.MARKET and order.time_in_force is not TimeInForce.GTC:
        flags.append(order.time_in_force.value.upper())
    if order.post_only:
        flags.append("post-only")
    if order.reduce_only:
        flags.append("reduce-only")
    return f"{text} ({', '.join(flags)})" if flags else text


def estimate(order: ValidatedOrder) -> str:
    """ "≈ 640.12 USDT + fee ≈ 0.64 USDT (taker)" for the ticket and the confirmation."""
    quote = order.rules.quote
    at = "" if order.type.has_price else f" at ≈ {fmt_price(order.est_price, order.rules.price_tick)}"
    cost = order.est_cost.quantize(Decimal("0.01")) if order.est_cost >= 1 else order.est_cost
    fee = order.est_fee.quantize(Decimal("0.0001")) if order.est_fee >= Decimal("0.0001") else order.est_fee
    return (
        f"≈ {fmt(cost)} {quote}{at} + fee ≈ {fmt(fee)} {quote} ({order.liquidity.value}, "
        f"{fmt(order.rules.fees.rate(order.liquidity) * 100)}%)"
    )


def confirmation_lines(check: TicketCheck) -> list[str]:
    """What the confirmation says of a checked ticket: the order, each number
    exactly as it is sent (and what was typed, when it was written another
    way), the estimate and notes, how far the price is from the market, and
    every risk rule that would refuse it now."""
    order, intent = check.order, check.intent
    assert order is not None and intent is not None
    typed = check.typed or TicketInput(intent.symbol)
    quote = order.rules.quote
    unit = order.rules.base if intent.amount_unit is AmountUnit.BASE else quote
    lines = [
        summary(order),
        f"Amount: {plain(intent.amount)} {unit}{_typed(typed.amount_text, intent.amount)}",
    ]
    for label, value, text in (
        ("Limit price", intent.price, typed.price_text),
        ("Stop price", intent.stop_price, typed.stop_text),
    ):
        if value is not None:
            lines.append(f"{label}: {plain(value)} {quote}{_typed(text, value)}")
    lines += [estimate(order), *order.notes]
    distance = check.distance
    if distance is not None and (order.type.has_price or check.blocks):
        lines.append(distance_line(distance, quote))
    lines += [f"⚠ {risk_warning(block)}" for block in check.blocks]
    return lines


def distance_line(distance: PriceDistance, quote: str) -> str:
    """ "Limit price 36% above the mid (64000 USDT)"."""
    pct = fmt(distance.pct.quantize(Decimal("0.01")))
    return (
        f"{distance.what.capitalize()} {pct}% {distance.direction} the {distance.centre_name} "
        f"({plain(distance.centre)} {quote})"
    )


def risk_warning(block: RiskBlock) -> str:
    """A risk rule that would refuse the order, said before Send (on the field, in the confirmation)."""
    return f"The risk rule “{rule_name(block.rule)}” ({block.rule}) would refuse this order: {block.message}"


def rule_name(rule: str) -> str:
    return RULE_WORDS.get(rule, rule)


def cleared_note(fields: Sequence[str], symbol: str) -> str:
    """ "Amount cleared: it was for SOL/USDT." (after a symbol change)."""
    what = " and ".join([", ".join(fields[:-1]), fields[-1]] if len(fields) > 1 else fields)
    verb = "they were" if len(fields) > 1 else "it was"
    return f"{what.capitalize()} cleared: {verb} for {symbol}."


_PLAIN = re.compile(r"[0-9]*\.?[0-9]*")


def _typed(text: str, sent: Decimal) -> str:
    """' (typed “1,5”)' when the text was not written as the number sent is shown."""
    shown = text.strip()
    if not shown or (_PLAIN.fullmatch(shown) and Decimal(shown) == sent):
        return ""
    return f" (typed “{shown}”)"


def outcome(order: Order) -> str:
    """What happened to a sent order, in one sentence."""
    base = base_of(order.symbol)
    quote = quote_of(order.symbol)
    verb = "Bought" if order.side is OrderSide.BUY else "Sold"
    filled = ""
    if order.filled and order.average_price is not None:
        average = fmt_price(order.average_price, order.price_tick)
        filled = f"{verb} {fmt(order.filled)} {base} at {average} {quote} (fee {fmt_money(order.fee)})"
    status = order.status
    if status is OrderStatus.FILLED:
        return filled + "."
    if status is OrderStatus.REJECTED:
        return f"Rejected: {order.reason or 'the account refused it.'}"
    if status is OrderStatus.CANCELLED:
        return f"{filled}; the rest was cancelled: {order.reason}" if filled else f"Cancelled: {order.reason}"
    rest = order_line(order.side, order.type, order.remaining, order.symbol, order.price, order.stop_price)
    waiting = "waits for its stop" if order.type.is_stop and not order.triggered else "rests in the book"
    return f"{filled}; {rest} {waiting}." if filled else f"{rest} {waiting}."


def refusal(exc: BaseException) -> tuple[str | None, str]:
    """(the ticket field at fault or None, plain words) for an order the broker
    refused. Never a traceback: errors we did not foresee go to the log in
    full and reach the screen as their class and message."""
    if isinstance(exc, OrderInvalidError):
        return exc.field, exc.user_message()
    if isinstance(exc, RiskCheckFailedError):
        return None, f"Blocked by the risk rule “{rule_name(exc.rule)}” ({exc.rule}): {exc.user_message()}"
    if not isinstance(exc, TerminalError):
        log.error("An order failed unexpectedly", exc_info=exc)
    return None, describe(exc)
