"""What the live broker writes to the audit trail, and how.

The sink is any object with ``TradingJournal.record``'s signature
(``terminal.trading.journal``); its kinds are "intent", "check", "request",
"response", "fill", "cancel" and "error". The live broker records:

- ``intent`` before anything else (an intent that cannot be recorded is not
  sent), ``check`` (``PreTradeCheck.payload``), ``request`` per
  ``create_order`` sent (``resend`` true for the one resend after a
  reconciliation), ``response`` per answer: the create's, a lookup by client
  order id (``reconcile``: its outcome), a cancel's, and each order update
  the exchange reports (``cause``: "stream" or "poll");
- ``fill`` per fill, ``cancel`` per cancel asked, ``error`` per refusal.

Payloads are plain data: no key is ever in them (the exchange's answers
echo none), and the journal redacts known secrets again before it writes.
A sink whose ``record`` is a coroutine function is awaited (or, from a
stream's callback, scheduled).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Protocol

from terminal.errors import describe
from terminal.trading.orders import Order, OrderIntent

log = logging.getLogger(__name__)

#: the keys of a ccxt order the journal keeps (its raw ``info`` included)
_ORDER_KEYS = frozenset({
    "id", "clientOrderId", "symbol", "type", "side", "status", "price", "triggerPrice", "amount",
    "filled", "remaining", "cost", "average", "fee", "timestamp", "timeInForce", "postOnly", "info",
})  # fmt: skip


class JournalSink(Protocol):
    def record(
        self,
        kind: str,
        account: str,
        payload: dict[str, Any],
        client_order_id: str | None = None,
        symbol: str | None = None,
    ) -> object: ...


class LiveJournal:
    """The broker's side of the journal: records for one account, never
    failing the caller unless told (``required``)."""

    def __init__(self, sink: JournalSink | None, account: str) -> None:
        self._sink = sink
        self._account = account
        self._pending: set[asyncio.Future[Any]] = set()

    async def record(
        self,
        kind: str,
        payload: dict[str, Any],
        client_order_id: str | None = None,
        symbol: str | None = None,
        *,
        required: bool = False,
    ) -> None:
        """Write one entry. ``required``: a failure is raised (the operation
        stops); otherwise it is logged."""
        if self._sink is None:
            return
        try:
            result = self._sink.record(kind, self._account, payload, client_order_id, symbol)
            if inspect.isawaitable(result):
                await result
        except Exception:
            if required:
                raise
            log.exception("the trading journal could not record %s for %s", kind, client_order_id)

    def record_nowait(
        self,
        kind: str,
        payload: dict[str, Any],
        client_order_id: str | None = None,
        symbol: str | None = None,
    ) -> None:
        """``record`` from code that cannot wait (a stream's callback)."""
        if self._sink is None:
            return
        try:
            result = self._sink.record(kind, self._account, payload, client_order_id, symbol)
        except Exception:
            log.exception("the trading journal could not record %s for %s", kind, client_order_id)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._pending.add(task)
            task.add_done_callback(self._done)

    async def close(self) -> None:
        pending = list(self._pending)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _done(self, task: asyncio.Future[Any]) -> None:
        self._pending.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("the trading journal could not record: %s", describe(error))


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
