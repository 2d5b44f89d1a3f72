"""Orders in plain words: what an order will do (the confirmation), what
happened to it (the ticket's message after sending), and why it was refused.

No Qt here: the ticket, the confirmation and the status bar share these texts.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from terminal.errors import OrderInvalidError, RiskCheckFailedError, TerminalError, describe
from terminal.trading.money import fmt
from terminal.trading.orders import Order, OrderSide, OrderStatus, OrderType, TimeInForce
from terminal.trading.validation import ValidatedOrder

log = logging.getLogger(__name__)

TYPE_WORDS = {
    OrderType.MARKET: "at market",
    OrderType.LIMIT: "limit",
    OrderType.STOP_MARKET: "stop-market",
    OrderType.STOP_LIMIT: "stop-limit",
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
) -> str:
    """ "Buy 0.01 BTC limit at 64,000 USDT", "Sell 0.5 ETH stop-market, stop 3,000 USDT"."""
    base, quote = base_of(symbol), quote_of(symbol)
    text = f"{side.value.capitalize()} {fmt(amount)} {base} {TYPE_WORDS[type_]}"
    if stop is not None:
        text += f", stop {fmt(stop)}"
    if price is not None:
        text += f" at {fmt(price)}"
    if stop is not None or price is not None:
        text += f" {quote}"
    return text


def summary(order: ValidatedOrder) -> str:
    """The order as it will be sent, on one line with its flags."""
    text = order_line(order.side, order.type, order.amount, order.symbol, order.price, order.stop_price)
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
    at = "" if order.type.has_price else f" at ≈ {fmt(order.est_price)}"
    cost = order.est_cost.quantize(Decimal("0.01")) if order.est_cost >= 1 else order.est_cost
    fee = order.est_fee.quantize(Decimal("0.0001")) if order.est_fee >= Decimal("0.0001") else order.est_fee
    return (
        f"≈ {fmt(cost)} {quote}{at} + fee ≈ {fmt(fee)} {quote} ({order.liquidity.value}, "
        f"{fmt(order.rules.fees.rate(order.liquidity) * 100)}%)"
    )


def outcome(order: Order) -> str:
    """What happened to a sent order, in one sentence."""
    base = base_of(order.symbol)
    quote = quote_of(order.symbol)
    verb = "Bought" if order.side is OrderSide.BUY else "Sold"
    filled = ""
    if order.filled and order.average_price is not None:
        average = order.average_price.quantize(Decimal(1).scaleb(-8)).normalize()
        filled = f"{verb} {fmt(order.filled)} {base} at {fmt(average)} {quote} (fee {fmt(order.fee)})"
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
        name = RULE_WORDS.get(exc.rule, exc.rule)
        return None, f"Blocked by the risk rule “{name}” ({exc.rule}): {exc.user_message()}"
    if not isinstance(exc, TerminalError):
        log.error("An order failed unexpectedly", exc_info=exc)
    return None, describe(exc)
