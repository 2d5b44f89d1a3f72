"""ccxt's orders, trades and balances as the terminal's, and a validated order
as ccxt's ``create_order`` arguments.

The exchange is the authority on an order's state; what arrives (a REST
answer, a websocket event, a poll) may come late or out of order, so
``merge_order`` only moves an order forward: ``filled`` never shrinks, a
closed order never opens again, and the first final state is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from terminal.trading.balances import BalanceView
from terminal.trading.fees import Liquidity
from terminal.trading.money import ZERO, optional_decimal
from terminal.trading.orders import Fill, Order, OrderSide, OrderStatus, OrderType, TimeInForce, now_ms
from terminal.trading.validation import ValidatedOrder

EXPIRED_REASON = (
    "Expired: what did not fill at once was cancelled (IOC, FOK, or a market order the book could not fill)."
)
#: a post-only order the exchange took, then cancelled because it would have traded at
#: once (OKX: ``cancelSource`` 31); Binance refuses such an order instead
POST_ONLY_TOOK = "a post-only order would have traded at once against the book, so the exchange cancelled it"
POST_ONLY_HINT = (
    "Set a price that rests (below the best ask to buy, above the best bid to sell), or untick post-only."
)
POST_ONLY_REASON = f"Rejected by the exchange: {POST_ONLY_TOOK}."
_BALANCE_KEYS = frozenset({"info", "timestamp", "datetime", "free", "used", "total", "debt"})


@dataclass(frozen=True)
class CreateRequest:
    """The arguments of one ``create_order`` call."""

    symbol: str
    type: str  # ccxt's "market" / "limit"; stops add a trigger price in params
    side: str
    amount: float
    price: float | None
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "type": self.type,
            "side": self.side,
            "amount": self.amount,
            "price": self.price,
            "params": dict(self.params),
        }


def create_request(order: ValidatedOrder, client_id_params: dict[str, Any]) -> CreateRequest:
    """ccxt's unified arguments for ``order``. A stop is ccxt's ``triggerPrice``
    (Binance spot: STOP_LOSS / STOP_LOSS_LIMIT, which trigger on a rise for a
    buy and a fall for a sell, as the ticket's stops do); post-only is ccxt's
    ``postOnly`` (Binance: LIMIT_MAKER, which takes no time in force). On a
    spot market reduce-only is not sent: validation enforced it against the
    base balance, and spot APIs do not take it."""
    params: dict[str, Any] = dict(client_id_params)
    kind = "limit" if order.type.has_price else "market"
    if order.stop_price is not None:
        params["triggerPrice"] = float(order.stop_price)
    if order.post_only:
        params["postOnly"] = True
    elif kind == "limit":
        params["timeInForce"] = order.time_in_force.value.upper()
    if order.reduce_only and not order.rules.spot:
        params["reduceOnly"] = True
    return CreateRequest(
        symbol=order.symbol,
        type=kind,
        side=order.side.value,
        amount=float(order.amount),
        price=float(order.price) if order.price is not None else None,
        params=params,
    )


def _dec(value: object) -> Decimal | None:
    return optional_decimal(value)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def ccxt_client_id(raw: dict[str, Any]) -> str | None:
    """The order's own client id. A Binance cancel answer's ``clientOrderId`` is
    the cancel's id; the order's is ``info.origClientOrderId`` there."""
    info = raw.get("info")
    if isinstance(info, dict) and isinstance(info.get("origClientOrderId"), str):
        return str(info["origClientOrderId"])
    cid = raw.get("clientOrderId")
    return str(cid) if cid else None


def order_from_ccxt(raw: dict[str, Any], client_order_id: str, amount_step: Decimal | None = None) -> Order:
    """The terminal's ``Order`` for a ccxt order (its fills are added apart)."""
    amount = _dec(raw.get("amount")) or ZERO
    filled = min(_dec(raw.get("filled")) or ZERO, amount) if amount else _dec(raw.get("filled")) or ZERO
    trigger = _dec(raw.get("triggerPrice")) or _dec(raw.get("stopPrice"))
    kind = str(raw.get("type") or "").lower()
    has_price = "limit" in kind
    if trigger is not None:
        order_type = OrderType.STOP_LIMIT if has_price else OrderType.STOP_MARKET
    else:
        order_type = OrderType.LIMIT if has_price else OrderType.MARKET
    tif_text = str(raw.get("timeInForce") or "").upper()
    tif = TimeInForce.IOC if tif_text == "IOC" else TimeInForce.FOK if tif_text == "FOK" else TimeInForce.GTC
    if order_type is OrderType.MARKET:
        tif = TimeInForce.IOC
    status, reason = _status(str(raw.get("status") or "open"), filled)
    if status is OrderStatus.CANCELLED:
        status, reason = _okx_cancel(raw.get("info"), order_type, tif, status, reason)
    created = _int(raw.get("timestamp")) or now_ms()
    updated = max(
        created,
        _int(raw.get("lastUpdateTimestamp")) or 0,
        _int(raw.get("lastTradeTimestamp")) or 0,
    )
    return Order(
        client_order_id=client_order_id,
        symbol=str(raw.get("symbol") or ""),
        side=OrderSide.SELL if str(raw.get("side")).lower() == "sell" else OrderSide.BUY,
        type=order_type,
        amount=amount,
        price=_dec(raw.get("price")) if has_price else None,
        stop_price=trigger,
        time_in_force=tif,
        post_only=bool(raw.get("postOnly")),
        status=status,
        filled=filled,
        cost=_dec(raw.get("cost")) or ZERO,
        created_ms=created,
        updated_ms=updated,
        reason=reason,
        amount_step=amount_step,
        order_id=str(raw.get("id") or ""),
    )


def _status(ccxt_status: str, filled: Decimal) -> tuple[OrderStatus, str]:
    if ccxt_status == "closed":
        return OrderStatus.FILLED, ""
    if ccxt_status in ("canceled", "cancelled"):
        return OrderStatus.CANCELLED, "Cancelled."
    if ccxt_status == "expired":
        return OrderStatus.CANCELLED, EXPIRED_REASON
    if ccxt_status == "rejected":
        return OrderStatus.REJECTED, "Rejected by the exchange."
    return (OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN), ""


def _okx_cancel(
    info: object, order_type: OrderType, tif: TimeInForce, status: OrderStatus, reason: str
) -> tuple[OrderStatus, str]:
    """Why OKX cancelled an order, from its ``cancelSource`` (an OKX field; other
    exchanges' orders pass through unchanged): 31, a post-only order that would
    have taken, is a refusal; 13 / 14, or no source on an IOC, FOK or market
    order, the part that did not fill at once (Binance says "expired")."""
    if not isinstance(info, dict) or "cancelSource" not in info:
        return status, reason
    source = str(info.get("cancelSource") or "")
    if source == "31":
        return OrderStatus.REJECTED, POST_ONLY_REASON
    immediate = order_type is OrderType.MARKET or tif is not TimeInForce.GTC
    if source in ("13", "14") or (not source and immediate):
        return status, EXPIRED_REASON
    return status, reason


def merge_order(order: Order, fresh: Order) -> bool:
    """Move ``order`` forward to what ``fresh`` (the exchange's newer word) says.
    Returns whether anything changed."""
    before = (order.status, order.filled, order.cost, order.order_id, order.reason, order.amount)
    if fresh.order_id:
        order.order_id = fresh.order_id
    if fresh.amount > 0:
        order.amount = fresh.amount
    if fresh.filled > order.filled or (fresh.filled == order.filled and fresh.cost > order.cost):
        order.filled, order.cost = fresh.filled, fresh.cost
    if order.is_open:
        if fresh.status.is_open:
            order.status = OrderStatus.PARTIALLY_FILLED if order.filled > 0 else OrderStatus.OPEN
            order.reason = ""  # "sending" or "unknown": the exchange has it
        else:
            order.status, order.reason = fresh.status, fresh.reason
    order.updated_ms = max(order.updated_ms, fresh.updated_ms)
    return before != (order.status, order.filled, order.cost, order.order_id, order.reason, order.amount)


def fill_from_ccxt(raw: dict[str, Any], order: Order) -> Fill | None:
    """One of ``order``'s executions from a ccxt trade; None if it lacks an id,
    a price or an amount. Trades inside an order's answer (Binance FULL) have
    no side, time or role: those come from the order (they filled on arrival,
    as a taker)."""
    trade_id, price, amount = raw.get("id"), _dec(raw.get("price")), _dec(raw.get("amount"))
    if trade_id is None or price is None or amount is None or amount <= 0:
        return None
    given = raw.get("fee")
    fee: dict[str, Any] = given if isinstance(given, dict) else {}
    side = str(raw.get("side") or order.side.value).lower()
    return Fill(
        fill_id=str(trade_id),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=OrderSide.SELL if side == "sell" else OrderSide.BUY,
        price=price,
        amount=amount,
        fee=_dec(fee.get("cost")) or ZERO,
        fee_currency=str(fee.get("currency") or ""),
        liquidity=Liquidity.MAKER if raw.get("takerOrMaker") == "maker" else Liquidity.TAKER,
        timestamp=_int(raw.get("timestamp")) or order.updated_ms,
    )


def balance_views(raw: dict[str, Any]) -> dict[str, BalanceView]:
    """Per currency: total and what open orders hold (ccxt's ``used``)."""
    views: dict[str, BalanceView] = {}
    for currency, entry in raw.items():
        if currency in _BALANCE_KEYS or not isinstance(entry, dict):
            continue
        free, used, total = _dec(entry.get("free")), _dec(entry.get("used")), _dec(entry.get("total"))
        if total is None:
            if free is None and used is None:
                continue
            total = (free or ZERO) + (used or ZERO)
        if used is None:
            used = total - free if free is not None else ZERO
        total = max(total, ZERO)
        views[str(currency)] = BalanceView(str(currency), total, min(max(used, ZERO), total))
    return views
