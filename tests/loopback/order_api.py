"""Binance spot's order endpoints over an ``OrderDesk``: the signed parameters
parsed and checked the way Binance does, the answers in Binance's JSON, and the
user-data events (``executionReport``, ``outboundAccountPosition``) each change
produces. The HTTP and websocket plumbing stays in ``binance.py``."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.loopback.orders import (
    MAKER_FEE,
    ORDER_TYPES,
    PRICED_TYPES,
    STOP_TYPES,
    TAKER_FEE,
    Account,
    DeskApi,
    DeskMarket,
    Fill,
    OrderRequest,
    UserOrder,
)
from tests.loopback.wire import DECIMAL_PATTERN, ApiError, fmt, illegal, mandatory, opt_int

CLIENT_ID_PATTERN = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
CLIENT_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
NEW_ORDER_PARAMS = frozenset(
    {
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "quoteOrderQty",
        "price",
        "newClientOrderId",
        "stopPrice",
        "newOrderRespType",
        "selfTradePreventionMode",  # accepted, no effect: own orders never meet
        "strategyId",
        "strategyType",
        "timestamp",
        "recvWindow",
    }
)
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
TIF_TYPES = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
STP = "EXPIRE_MAKER"

Publish = Callable[[str, dict[str, Any]], None]  # (api key, event)


@dataclass(frozen=True)
class OrderView:
    """An order as a test sees it (``LoopbackBinance.orders(key)``)."""

    order_id: int
    client_order_id: str
    symbol: str  # unified, "BTC/USDT"
    side: str  # "BUY" / "SELL"
    type: str  # Binance's: "LIMIT", "MARKET", "STOP_LOSS_LIMIT", ...
    status: str  # "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED"
    price: float
    quantity: float
    executed: float
    quote: float  # cummulativeQuoteQty
    stop_price: float
    time: int


class OrderApi(DeskApi):
    """The order endpoints of one server: each method takes the caller's API key
    and the request's parameters (strings) and returns the JSON answer, or raises
    ``ApiError``. Events go to ``publish(api_key, event)``."""

    def __init__(self, market: DeskMarket, publish: Publish, rng: random.Random) -> None:
        super().__init__(market, publish)
        self._rng = rng

    # -- endpoints -----------------------------------------------------------------
    def new_order(self, key: str, params: dict[str, str], test: bool = False) -> dict[str, Any]:
        """``POST /api/v3/order`` (``test``: ``/order/test``, validation only)."""
        unknown = set(params) - NEW_ORDER_PARAMS
        if unknown:
            raise ApiError(
                400,
                -1104,
                f"Not all sent parameters were read; read '{len(params) - len(unknown)}' parameter(s) "
                f"but was sent '{len(params)}'.",
            )
        req = self._parse_new(params)
        resp_type = params.get("newOrderRespType") or ("FULL" if req.type in ("MARKET", "LIMIT") else "ACK")
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise ApiError(400, -1177, "Invalid newOrderRespType.")
        order = self.desk.place(key, req, test)
        if order is None:
            return {}
        answer: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": order.time,
        }
        if resp_type == "ACK":
            return answer
        answer.update(
            {
                "price": fmt(order.price),
                "origQty": fmt(order.orig_qty),
                "executedQty": fmt(order.executed_qty),
                "origQuoteOrderQty": fmt(order.quote_qty),
                "cummulativeQuoteQty": fmt(order.cumm_quote),
                "status": order.status,
                "timeInForce": order.time_in_force,
                "type": order.type,
                "side": order.side,
                **({"stopPrice": fmt(order.stop_price)} if order.type in STOP_TYPES else {}),
                "workingTime": order.working_time,
                "selfTradePreventionMode": STP,
            }
        )
        if resp_type == "FULL":
            answer["fills"] = [
                {
                    "price": fmt(f.price),
                    "qty": fmt(f.qty),
                    "commission": fmt(f.commission),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id,
                }
                for f in order.fills
            ]
        return answer

    def query_order(self, key: str, params: dict[str, str]) -> dict[str, Any]:
        """``GET /api/v3/order``: by ``orderId`` or ``origClientOrderId``."""
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        return order_json(self.desk.find(key, symbol, order_id, client_id))

    def cancel_order(self, key: str, params: dict[str, str]) -> dict[str, Any]:
        """``DELETE /api/v3/order``. Like Binance, the answer's ``clientOrderId`` is
        the id of the *cancel* (``newClientOrderId`` or a generated one); the
        order's own id is ``origClientOrderId``."""
        symbol = self._symbol(params)
        order_id, client_id = self._order_ref(params)
        cancel_id = self._client_id(params.get("newClientOrderId"), "newClientOrderId")
        order = self.desk.cancel(key, symbol, order_id, client_id, cancel_id)
        return cancel_json(order, cancel_id)

    def cancel_open_orders(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``DELETE /api/v3/openOrders``: every open order of the symbol; with none
        open, -2011 "Unknown order sent." as Binance answers."""
        symbol = self._symbol(params)
        done = self.desk.cancel_all(key, symbol, self.generated_id)
        return [cancel_json(order, cancel_id) for order, cancel_id in done]

    def open_orders(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/openOrders`` (``symbol`` optional)."""
        symbol = self._symbol(params) if params.get("symbol") else None
        return [order_json(o) for o in self.desk.open_orders(key, symbol)]

    def all_orders(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/allOrders``: ``orderId`` (from that id on), ``startTime``,
        ``endTime``, ``limit`` (500, max 1000); otherwise the most recent."""
        symbol = self._symbol(params)
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        from_id = _opt_int(params, "orderId")
        limit = min(_opt_int(params, "limit") or 500, 1000)
        orders = [
            o
            for o in self.desk.account(key).orders.values()
            if o.symbol == symbol
            and (from_id is None or o.order_id >= from_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        orders = orders[:limit] if from_id is not None or start is not None else orders[-limit:]
        return [order_json(o) for o in orders]

    def my_trades(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET /api/v3/myTrades``: ``orderId``, ``startTime``, ``endTime``,
        ``fromId``, ``limit`` (500, max 1000); otherwise the most recent."""
        symbol = self._symbol(params)
        order_id, from_id = _opt_int(params, "orderId"), _opt_int(params, "fromId")
        start, end = _opt_int(params, "startTime"), _opt_int(params, "endTime")
        if from_id is not None and (start is not None or end is not None):
            raise ApiError(400, -1128, "Combination of optional parameters invalid.")
        limit = min(_opt_int(params, "limit") or 500, 1000)
        fills = [
            f
            for f in self.desk.account(key).trades
            if f.symbol == symbol
            and (order_id is None or f.order_id == order_id)
            and (from_id is None or f.trade_id >= from_id)
            and (start is None or f.time >= start)
            and (end is None or f.time <= end)
        ]
        fills = fills[:limit] if from_id is not None or start is not None else fills[-limit:]
        return [trade_json(f) for f in fills]

    def account(self, key: str, params: dict[str, str], now: int) -> dict[str, Any]:
        """``GET /api/v3/account`` (``omitZeroBalances`` honoured)."""
        account = self.desk.account(key)
        omit_zero = params.get("omitZeroBalances") == "true"
        maker, taker = int(MAKER_FEE * 10_000), int(TAKER_FEE * 10_000)
        return {
            "makerCommission": maker,
            "takerCommission": taker,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fmt(MAKER_FEE),
                "taker": fmt(TAKER_FEE),
                "buyer": "0",
                "seller": "0",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": account.update_time or now,
            "accountType": "SPOT",
            "balances": [
                {"asset": a, "free": fmt(b.free), "locked": fmt(b.locked)}
                for a, b in account.balances.items()
                if not (omit_zero and b.free == 0 and b.locked == 0)
            ],
            "permissions": ["SPOT"],
            "uid": 1,
        }

    # -- inspection ------------------------------------------------------------------
    def views(self, key: str) -> list[OrderView]:
        symbols = {r.market_id: f"{r.base}/{r.quote}" for r in self.rules.values()}
        return [
            OrderView(
                o.order_id,
                o.client_order_id,
                symbols[o.symbol],
                o.side,
                o.type,
                o.status,
                float(o.price),
                float(o.orig_qty),
                float(o.executed_qty),
                float(o.cumm_quote),
                float(o.stop_price),
                o.time,
            )
            for o in self.desk.account(key).orders.values()
        ]

    def generated_id(self) -> str:
        """A client order id of Binance's generated kind (22 letters and digits)."""
        return "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(22))

    # -- DeskListener: user-data events ---------------------------------------------------
    def order_update(
        self, account: Account, order: UserOrder, execution: str, fill: Fill | None, cancel_id: str | None
    ) -> None:
        self._publish(account.key, execution_report(order, execution, fill, cancel_id, self._clock()))

    def balance_update(self, account: Account, assets: list[str]) -> None:
        now = self._clock()
        self._publish(
            account.key,
            {
                "e": "outboundAccountPosition",
                "E": now,
                "u": account.update_time,
                "B": [
                    {"a": a, "f": fmt(account.balances[a].free), "l": fmt(account.balances[a].locked)}
                    for a in assets
                ],
            },
        )

    # -- parameters ---------------------------------------------------------------------
    def _parse_new(self, params: dict[str, str]) -> OrderRequest:
        symbol = self._symbol(params)
        side = params.get("side")
        if not side:
            raise mandatory("side")
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1117, "Invalid side.")
        type_ = params.get("type")
        if not type_:
            raise mandatory("type")
        if type_ not in ORDER_TYPES:
            raise ApiError(400, -1116, "Invalid orderType.")
        tif = params.get("timeInForce")
        if type_ in TIF_TYPES:
            if not tif:
                raise mandatory("timeInForce")
            if tif not in TIME_IN_FORCE:
                raise ApiError(400, -1115, "Invalid timeInForce.")
        elif tif:
            raise not_required("timeInForce")
        quantity, quote_qty = _decimal(params, "quantity"), _decimal(params, "quoteOrderQty")
        if type_ == "MARKET":
            if quantity is None and quote_qty is None:
                raise ApiError(
                    400,
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )
            if quantity is not None and quote_qty is not None:
                raise not_required("quoteOrderQty")
        else:
            if quote_qty is not None:
                raise not_required("quoteOrderQty")
            if quantity is None:
                raise mandatory("quantity")
        price = _decimal(params, "price")
        if type_ in PRICED_TYPES and price is None:
            raise mandatory("price")
        if type_ not in PRICED_TYPES and price is not None:
            raise not_required("price")
        stop = _decimal(params, "stopPrice")
        if type_ in STOP_TYPES and stop is None:
            raise mandatory("stopPrice")
        if type_ not in STOP_TYPES and stop is not None:
            raise not_required("stopPrice")
        client_id = self._client_id(params.get("newClientOrderId"), "newClientOrderId")
        return OrderRequest(symbol, side, type_, tif or "GTC", quantity, quote_qty, price, stop, client_id)

    def _symbol(self, params: dict[str, str]) -> str:
        symbol = params.get("symbol")
        if not symbol:
            raise mandatory("symbol")
        if symbol not in self.rules:
            raise ApiError(400, -1121, "Invalid symbol.")
        return symbol

    def _order_ref(self, params: dict[str, str]) -> tuple[int | None, str | None]:
        order_id = _opt_int(params, "orderId")
        client_id = params.get("origClientOrderId") or None
        if order_id is None and client_id is None:
            raise ApiError(
                400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        return order_id, client_id

    def _client_id(self, value: str | None, name: str) -> str:
        if not value:
            return self.generated_id()
        if not CLIENT_ID_PATTERN.match(value):
            raise illegal(name, CLIENT_ID_RANGE)
        return value


def not_required(name: str) -> ApiError:
    return ApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def _decimal(params: dict[str, str], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not DECIMAL_PATTERN.match(raw):
        raise illegal(name, DECIMAL_PATTERN.pattern)
    return Decimal(raw)


def _opt_int(params: dict[str, str], name: str) -> int | None:
    return opt_int(params, name, illegal)


def order_json(o: UserOrder) -> dict[str, Any]:
    """An order as ``GET /api/v3/order`` and ``openOrders`` / ``allOrders`` answer it."""
    return {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "cummulativeQuoteQty": fmt(o.cumm_quote),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": o.type,
        "side": o.side,
        "stopPrice": fmt(o.stop_price),
        "icebergQty": fmt(Decimal(0)),
        "time": o.time,
        "updateTime": o.update_time,
        "isWorking": o.working_time >= 0,
        "workingTime": o.working_time,
        "origQuoteOrderQty": fmt(o.quote_qty),
        "selfTradePreventionMode": STP,
    }


def cancel_json(o: UserOrder, cancel_id: str) -> dict[str, Any]:
    answer = {
        "symbol": o.symbol,
        "origClientOrderId": o.client_order_id,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_id,
        "transactTime": o.update_time,
        "price": fmt(o.price),
        "origQty": fmt(o.orig_qty),
        "executedQty": fmt(o.executed_qty),
        "origQuoteOrderQty": fmt(o.quote_qty),
        "cummulativeQuoteQty": fmt(o.cumm_quote),
        "status": o.status,
        "timeInForce": o.time_in_force,
        "type": o.type,
        "side": o.side,
        "selfTradePreventionMode": STP,
    }
    if o.type in STOP_TYPES:
        answer["stopPrice"] = fmt(o.stop_price)
    return answer


def trade_json(f: Fill) -> dict[str, Any]:
    return {
        "symbol": f.symbol,
        "id": f.trade_id,
        "orderId": f.order_id,
        "orderListId": -1,
        "price": fmt(f.price),
        "qty": fmt(f.qty),
        "quoteQty": fmt(f.quote_qty),
        "commission": fmt(f.commission),
        "commissionAsset": f.commission_asset,
        "time": f.time,
        "isBuyer": f.side == "BUY",
        "isMaker": f.maker,
        "isBestMatch": True,
    }


def execution_report(
    o: UserOrder, execution: str, fill: Fill | None, cancel_id: str | None, now: int
) -> dict[str, Any]:
    """The user-data ``executionReport`` of one change of ``o``. On a cancel, ``c``
    is the cancel's id and ``C`` the order's own (ccxt reads ``C`` first)."""
    return {
        "e": "executionReport",
        "E": now,
        "s": o.symbol,
        "c": cancel_id if cancel_id is not None else o.client_order_id,
        "S": o.side,
        "o": o.type,
        "f": o.time_in_force,
        "q": fmt(o.orig_qty),
        "p": fmt(o.price),
        "P": fmt(o.stop_price),
        "F": fmt(Decimal(0)),
        "g": -1,
        "C": o.client_order_id if cancel_id is not None else "",
        "x": execution,
        "X": o.status,
        "r": "NONE",
        "i": o.order_id,
        "l": fmt(fill.qty if fill else Decimal(0)),
        "z": fmt(o.executed_qty),
        "L": fmt(fill.price if fill else Decimal(0)),
        "n": fmt(fill.commission) if fill else "0",
        "N": fill.commission_asset if fill else None,
        "T": fill.time if fill else o.update_time,
        "t": fill.trade_id if fill else -1,
        "I": o.order_id * 10 + len(o.fills),
        "w": o.on_book,
        "m": fill.maker if fill else False,
        "M": False,
        "O": o.time,
        "Z": fmt(o.cumm_quote),
        "Y": fmt(fill.quote_qty if fill else Decimal(0)),
        "Q": fmt(o.quote_qty),
        "W": o.working_time,
        "V": STP,
    }
