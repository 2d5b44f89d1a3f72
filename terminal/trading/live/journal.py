"""What the live broker writes to the audit trail.

It writes through the core journal's ``AccountJournal``
(``terminal.trading.journal``), as the paper broker's entries go to the same
``TradingJournal``; its kinds are "intent", "check", "request", "response",
"fill", "cancel" and "error". The live broker records:

- ``intent`` before anything else (an intent that cannot be recorded is not
  sent), ``check`` (``PreTradeCheck.payload``), ``request`` per
  ``create_order`` sent (``resend`` true for the one resend after a
  reconciliation), ``response`` per answer: the create's, a lookup by client
  order id (``reconcile``: its outcome), a cancel's, and each order update
  the exchange reports (``cause``: "stream" or "poll");
- ``fill`` per fill, ``cancel`` per cancel asked, ``error`` per refusal.

Payloads are plain data: no key is ever in them (the exchange's answers
echo none), and the journal redacts known secrets again before it writes.
Here are the helpers that turn intents, orders and the exchange's answers
into those payloads.
"""

from __future__ import annotations

from typing import Any

from terminal.trading.orders import Order, OrderIntent

#: the keys of a ccxt order the journal keeps (its raw ``info`` included)
_ORDER_KEYS = frozenset({
    "id", "clientOrderId", "symbol", "type", "side", "status", "price", "triggerPrice", "amount",
    "filled", "remaining", "cost", "average", "fee", "timestamp", "timeInForce", "postOnly", "info",
})  # fmt: skip


def intent_payload(intent: OrderIntent) -> dict[str, Any]:
    return {
        "intent": {
            "client_order_id": intent.client_order_id,
            "symbol": intent.symbol,
            "side": intent.side.value,
            "type": intent.type.value,
            "amount": str(intent.amount),
            "amount_unit": intent.amount_unit.value,
            "price": None if intent.price is None else str(intent.price),
            "stop_price": None if intent.stop_price is None else str(intent.stop_price),
            "time_in_force": intent.time_in_force.value,
            "post_only": intent.post_only,
            "reduce_only": intent.reduce_only,
            "created_ms": intent.created_ms,
        }
    }


def exchange_order(raw: Any) -> dict[str, Any]:
    """The exchange's answer about one order, as plain data."""
    if not isinstance(raw, dict):
        return {"answer": repr(raw)[:300]}
    return {k: _plain(v) for k, v in raw.items() if k in _ORDER_KEYS}


def order_state(order: Order) -> dict[str, Any]:
    """The terminal's view of an order (its fills are journalled one by one)."""
    payload = {k: v for k, v in order.to_dict().items() if k != "fills"}
    payload["fill_count"] = len(order.fills)
    return payload


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
