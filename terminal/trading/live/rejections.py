"""An exchange's refusal of an order, in plain words, with its own reason kept.

ccxt raises the exchange's answer as the exception text, e.g.
``binance {"code":-2010,"msg":"Order would immediately match and take."}``.
``exchange_reason`` takes the exchange's own words out of it ("Order would
immediately match and take."; from OKX's answers, the order's own ``sMsg``
rather than the request's "All operations failed"); ``explain`` says what
that means for the trader and what to change. Reasons the table does not know
are shown as the exchange wrote them.
"""

from __future__ import annotations

import json
import re

_MSG = re.compile(r'"msg"\s*:\s*("(?:[^"\\]|\\.)*")')
_S_MSG = re.compile(r'"sMsg"\s*:\s*("(?:[^"\\]|\\.)+")')  # OKX: one order's reason, non-empty
_MAX_REASON = 200

# (words in the exchange's reason, what it means, what to do). First match wins:
# MARKET_LOT_SIZE before LOT_SIZE, MIN_NOTIONAL before NOTIONAL.
_KNOWN: tuple[tuple[str, str, str], ...] = (
    (
        "would immediately match",
        "a post-only order would have traded at once against the book",
        "Set a price that rests (below the best ask to buy, above the best bid to sell), "
        "or untick post-only.",
    ),
    (
        "stop price would trigger immediately",
        "the stop price has already been reached, so the order would trigger at once",
        "Move the stop beyond the last price, or use a market or limit order.",
    ),
    (
        "duplicate order",
        "an open order already has this client order id",
        "Check the open orders: the order is probably there already.",
    ),
    (
        "market_lot_size",
        "the amount is outside what a market order on this market may be",
        "Lower the amount, or use a limit order.",
    ),
    (
        "lot size",  # OKX: "Order quantity must be a multiple of the lot size."
        "the amount is off the market's step or outside its smallest or largest order",
        "Enter an amount on the step, within the market's limits.",
    ),
    (
        "lot_size",
        "the amount is off the market's step or outside its smallest or largest order",
        "Enter an amount on the step, within the market's limits.",
    ),
    (
        "price_filter",
        "the price is off the market's tick or outside its price range",
        "Enter a price on the tick, within the allowed range.",
    ),
    (
        "percent_price",
        "the price is too far from the market's recent average",
        "Move the price closer to the market.",
    ),
    (
        "min_notional",
        "the order is worth less than the smallest order the market accepts",
        "Raise the amount.",
    ),
    (
        "notional",
        "the order's value (amount × price) is outside what the market accepts",
        "Raise the amount if it is small, lower it if it is large.",
    ),
    (
        "max_num_orders",
        "the market already has as many open orders of this account as it allows",
        "Cancel an open order on this market first.",
    ),
    (
        "insufficient balance",
        "the account does not hold enough for it",
        "Lower the amount, or cancel an open order that holds the funds.",
    ),
    (
        "insufficient",  # OKX: "Order failed. Insufficient USDT balance in account."
        "the account does not hold enough for it",
        "Lower the amount, or cancel an open order that holds the funds.",
    ),
)


def exchange_reason(text: str, exchange_id: str = "") -> str:
    """The exchange's own words in a ccxt exception text (``msg`` of a JSON
    answer, else the text after the exchange id), shortened."""
    found = _S_MSG.search(text) or _MSG.search(text)
    if found:
        try:
            reason = str(json.loads(found.group(1)))
        except ValueError:
            reason = found.group(1).strip('"')
    else:
        reason = text
        if exchange_id and reason.lower().startswith(exchange_id.lower()):
            reason = reason[len(exchange_id) :]
        reason = reason.strip()
    reason = " ".join(reason.split())
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"


def explain(exchange_name: str, reason: str) -> tuple[str, str]:
    """(message, hint) for an order the exchange refused with ``reason``."""
    low = reason.lower()
    said = f" ({reason.rstrip('.')})" if reason else ""
    for words, meaning, hint in _KNOWN:
        if words in low:
            return f"{exchange_name} refused the order{said}: {meaning}.", hint
    if reason:
        return f"{exchange_name} refused the order: {reason.rstrip('.')}.", ""
    return f"{exchange_name} refused the order.", ""
