"""OKX v5's spot trading endpoints over an ``OrderDesk`` (``orders.py`` matches,
locks and fills exactly as for Binance): the parameters OKX takes and checks,
the answers in OKX's JSON with its error codes, and the ``orders`` /
``account`` websocket pushes each change produces. Only ``tdMode=cash`` (spot
without margin); the HTTP and websocket plumbing is ``server.py``'s and ``okx*.py``'s."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.loopback.filters import SymbolRules
from tests.loopback.okx_wire import OkxError, bad_param, empty_param, num
from tests.loopback.order_api import OrderView
from tests.loopback.orders import INSUFFICIENT, Account, DeskApi, DeskMarket, Fill, OrderRequest, UserOrder
from tests.loopback.wire import ApiError, opt_int

#: OKX ordType -> the desk's (type, time in force)
ORD_TYPES = {
    "limit": ("LIMIT", "GTC"),
    "post_only": ("LIMIT_MAKER", "GTC"),
    "ioc": ("LIMIT", "IOC"),
    "fok": ("LIMIT", "FOK"),
    "market": ("MARKET", "GTC"),
}
#: the desk's status -> OKX's state (an expired IOC/FOK/market rest is "canceled" on OKX)
STATES = {
    "NEW": "live",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "EXPIRED": "canceled",
}
CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
TAG = re.compile(r"^[A-Za-z0-9]{0,16}$")
MAX_LIST = 100

#: publish(api key, channel, instId or None, data item)
Publish = Callable[[str, str, str | None, dict[str, Any]], None]


@dataclass
class OrderMeta:
    """What OKX says about an order that the desk does not keep."""

    ord_type: str
    tgt_ccy: str  # "base_ccy" / "quote_ccy" for market orders, "" otherwise
    sz: str  # as sent: base amount, or quote amount for a quote_ccy market order
    tag: str
    client_id: str  # clOrdId as sent ("" when none was)


class OkxOrderApi(DeskApi):
    """The trading endpoints of one server: each method takes the caller's API key
    and the request's parameters and returns the ``data`` list (or one entry of a
    batch), raising ``OkxError`` for a request-level error."""

    def __init__(self, market: DeskMarket, publish: Publish) -> None:
        super().__init__(market, publish)
        self.meta: dict[int, OrderMeta] = {}
        self._placing: OrderMeta | None = None  # the meta of the order being placed
        self._unnamed = 0

    # -- orders ----------------------------------------------------------------------
    def place(self, key: str, args: Any) -> dict[str, Any]:
        """One order of ``POST trade/order`` or ``trade/batch-orders``: the entry of
        its answer's ``data`` (``sCode`` "0", or OKX's error code and message)."""
        args = args if isinstance(args, dict) else {}
        given = str(args.get("clOrdId") or "")
        tag = str(args.get("tag") or "")
        now = str(self._clock())
        try:
            req, self._placing = self._parse(args)
            try:
                order = self.desk.place(key, req, crossing_maker_cancels=True)
            except ApiError as e:
                raise _desk_error(e, req, self.rules[req.symbol]) from None
            finally:
                self._placing = None
        except OkxError as e:
            return {"clOrdId": given, "ordId": "", "tag": tag, "ts": now, "sCode": e.code, "sMsg": e.msg}
        assert order is not None
        return {
            "clOrdId": given,
            "ordId": str(order.order_id),
            "tag": tag,
            "ts": now,
            "sCode": "0",
            "sMsg": "Order placed",
        }

    def cancel(self, key: str, args: Any) -> dict[str, Any]:
        """One order of ``POST trade/cancel-order`` / ``cancel-batch-orders``."""
        args = args if isinstance(args, dict) else {}
        given = str(args.get("clOrdId") or "")
        ord_id = str(args.get("ordId") or "")
        now = str(self._clock())
        try:
            order = self._find(key, args, not_found=("51400", _CANCEL_GONE))
            if not order.is_open:
                code, msg = ("51402", _CANCEL_DONE) if order.status == "FILLED" else ("51401", _CANCEL_AGAIN)
                raise OkxError(code, msg)
            self.desk.cancel(key, order.symbol, order.order_id, None, "")
        except OkxError as e:
            return {"clOrdId": given, "ordId": ord_id, "ts": now, "sCode": e.code, "sMsg": e.msg}
        client_id = self.meta[order.order_id].client_id
        return {"clOrdId": client_id, "ordId": str(order.order_id), "ts": now, "sCode": "0", "sMsg": ""}

    def order(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET trade/order`` (``instId`` and ``ordId`` or ``clOrdId``)."""
        return [self.order_json(self._find(key, params, not_found=("51603", "Order does not exist")))]

    def pending(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET trade/orders-pending``: open orders, newest first."""
        orders = [o for o in self._orders(key, params) if o.is_open]
        states = _csv(params.get("state"))
        if states:
            orders = [o for o in orders if STATES[o.status] in states]
        return [self.order_json(o) for o in self._page(orders, params)]

    def history(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET trade/orders-history`` (and ``-archive``): ended orders, newest first;
        ``state`` filled / canceled, ``begin`` / ``end`` on the creation time."""
        if not params.get("instType"):
            raise empty_param("instType")
        states = _csv(params.get("state"))
        begin, end = _opt_int(params, "begin"), _opt_int(params, "end")
        orders = [
            o
            for o in self._orders(key, params)
            if not o.is_open
            and (not states or STATES[o.status] in states)
            and (begin is None or o.time >= begin)
            and (end is None or o.time <= end)
        ]
        return [self.order_json(o) for o in self._page(orders, params)]

    def fills(self, key: str, params: dict[str, str], history: bool) -> list[dict[str, Any]]:
        """``GET trade/fills`` / ``fills-history`` (``instType`` required there):
        the account's executions, newest first; ``ordId``, ``begin`` / ``end`` (ms),
        ``after`` / ``before`` (billId), ``limit`` (100)."""
        if history and not params.get("instType"):
            raise empty_param("instType")
        inst = params.get("instId")
        ord_id = _opt_int(params, "ordId")
        begin, end = _opt_int(params, "begin"), _opt_int(params, "end")
        after, before = _opt_int(params, "after"), _opt_int(params, "before")
        chosen = [
            f
            for f in reversed(self.desk.account(key).trades)
            if (not inst or f.symbol == inst)
            and (ord_id is None or f.order_id == ord_id)
            and (begin is None or f.time >= begin)
            and (end is None or f.time <= end)
            and (after is None or f.trade_id < after)
            and (before is None or f.trade_id > before)
        ]
        return [self._fill_json(f) for f in chosen[: _limit(params)]]

    # -- balances ----------------------------------------------------------------------
    def balance(self, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET account/balance`` (``ccy``: a comma list to keep)."""
        account = self.desk.account(key)
        wanted = _csv(params.get("ccy"))
        assets = [a for a in account.balances if not wanted or a in wanted]
        return [self._account_json(account, assets)]

    def account_snapshot(self, key: str) -> dict[str, Any]:
        """The ``account`` channel's first push: every balance."""
        account = self.desk.account(key)
        return self._account_json(account, list(account.balances))

    def currencies(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """``GET asset/currencies``: one chain per asset the instruments use."""
        wanted = _csv(params.get("ccy"))
        assets = sorted({a for r in self.rules.values() for a in (r.base, r.quote)})
        return [
            {
                "ccy": a,
                "chain": f"{a}-{a}",
                "name": a,
                "canDep": True,
                "canWd": True,
                "canInternal": True,
                "minDep": "0.00000001",
                "minWd": "0.0001",
                "maxWd": "1000000",
                "wdTickSz": "8",
                "minFee": "0",
                "maxFee": "0",
                "fee": "0",
                "mainNet": True,
            }
            for a in assets
            if not wanted or a in wanted
        ]

    # -- inspection ----------------------------------------------------------------------
    def views(self, key: str) -> list[OrderView]:
        """The account's orders with OKX's names (side "buy", type = ordType, status = state)."""
        symbols = {r.market_id: f"{r.base}/{r.quote}" for r in self.rules.values()}
        return [
            OrderView(
                o.order_id,
                self.meta[o.order_id].client_id,
                symbols[o.symbol],
                o.side.lower(),
                self.meta[o.order_id].ord_type,
                STATES[o.status],
                float(o.price),
                float(o.orig_qty),
                float(o.executed_qty),
                float(o.cumm_quote),
                0.0,
                o.time,
            )
            for o in self.desk.account(key).orders.values()
        ]

    # -- DeskListener: the websocket pushes --------------------------------------------------
    def order_update(
        self, account: Account, order: UserOrder, execution: str, fill: Fill | None, cancel_id: str | None
    ) -> None:
        item = self.order_json(order)
        item.update(
            {
                "fillPx": num(fill.price) if fill else "",
                "fillSz": num(fill.qty) if fill else "0",
                "fillTime": str(fill.time) if fill else "",
                "tradeId": str(fill.trade_id) if fill else "",
                "fillFee": num(-fill.commission) if fill else "0",
                "fillFeeCcy": fill.commission_asset if fill else "",
                "execType": ("M" if fill.maker else "T") if fill else "",
                "fillNotionalUsd": num(fill.quote_qty) if fill else "",
                "fillPnl": "0",
                "notionalUsd": num(order.orig_qty * (order.price or self._last_price(order.symbol))),
                "amendResult": "",
                "reqId": "",
                "code": "0",
                "msg": "",
            }
        )
        self._publish(account.key, "orders", order.symbol, item)

    def balance_update(self, account: Account, assets: list[str]) -> None:
        self._publish(account.key, "account", None, self._account_json(account, assets))

    # -- JSON ---------------------------------------------------------------------------------
    def order_json(self, o: UserOrder) -> dict[str, Any]:
        """An order as ``GET trade/order`` / ``orders-pending`` / ``orders-history`` give it."""
        meta = self.meta.get(o.order_id)
        if meta is None:  # its first event, from inside desk.place()
            assert self._placing is not None
            meta = self.meta[o.order_id] = self._placing
        rules = self.rules[o.symbol]
        last = o.fills[-1] if o.fills else None
        fee = sum((f.commission for f in o.fills), Decimal(0))
        fee_ccy, rebate_ccy = (rules.base, rules.quote) if o.side == "BUY" else (rules.quote, rules.base)
        return {
            "instType": "SPOT",
            "instId": o.symbol,
            "tgtCcy": meta.tgt_ccy,
            "ccy": "",
            "ordId": str(o.order_id),
            "clOrdId": meta.client_id,
            "tag": meta.tag,
            "px": num(o.price) if meta.ord_type != "market" else "",
            "pxUsd": "",
            "pxVol": "",
            "pxType": "",
            "sz": meta.sz,
            "pnl": "0",
            "ordType": meta.ord_type,
            "side": o.side.lower(),
            "posSide": "net",
            "tdMode": "cash",
            "accFillSz": num(o.executed_qty),
            "fillPx": num(last.price) if last else "",
            "tradeId": str(last.trade_id) if last else "",
            "fillSz": num(last.qty) if last else "0",
            "fillTime": str(last.time) if last else "",
            "avgPx": num(o.cumm_quote / o.executed_qty) if o.executed_qty else "",
            "state": STATES[o.status],
            "lever": "",
            "attachAlgoClOrdId": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tpOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "slOrdPx": "",
            "attachAlgoOrds": [],
            "linkedAlgoOrd": {"algoId": ""},
            "stpId": "",
            "stpMode": "cancel_maker",
            "feeCcy": fee_ccy,
            "fee": num(-fee),
            "rebateCcy": rebate_ccy,
            "rebate": "0",
            "source": "",
            "category": "normal",
            "reduceOnly": "false",
            "isTpLimit": "false",
            "cancelSource": _cancel_source(o, meta),
            "cancelSourceReason": "",
            "quickMgnType": "",
            "algoClOrdId": "",
            "algoId": "",
            "uTime": str(o.update_time),
            "cTime": str(o.time),
        }

    def _fill_json(self, f: Fill) -> dict[str, Any]:
        return {
            "instType": "SPOT",
            "instId": f.symbol,
            "tradeId": str(f.trade_id),
            "ordId": str(f.order_id),
            "clOrdId": self.meta[f.order_id].client_id,
            "billId": str(f.trade_id),
            "subType": "1" if f.side == "BUY" else "2",
            "tag": self.meta[f.order_id].tag,
            "fillPx": num(f.price),
            "fillSz": num(f.qty),
            "fillIdxPx": "",
            "fillPnl": "0",
            "fillPxVol": "",
            "fillPxUsd": "",
            "fillMarkVol": "",
            "fillFwdPx": "",
            "fillMarkPx": "",
            "side": f.side.lower(),
            "posSide": "net",
            "execType": "M" if f.maker else "T",
            "feeCcy": f.commission_asset,
            "fee": num(-f.commission),
            "ts": str(f.time),
            "fillTime": str(f.time),
        }

    def _account_json(self, account: Account, assets: list[str]) -> dict[str, Any]:
        now = str(account.update_time or self._clock())
        details = []
        for asset in assets:
            b = account.balance(asset)
            total = b.free + b.locked
            details.append(
                {
                    "ccy": asset,
                    "eq": num(total),
                    "cashBal": num(total),
                    "availBal": num(b.free),
                    "frozenBal": num(b.locked),
                    "ordFrozen": num(b.locked),
                    "availEq": "",
                    "disEq": num(total * self._usd(asset)),
                    "eqUsd": num(total * self._usd(asset)),
                    "isoEq": "0",
                    "liab": "",
                    "upl": "",
                    "uTime": now,
                }
            )
        total_usd = sum(((b.free + b.locked) * self._usd(a) for a, b in account.balances.items()), Decimal(0))
        return {
            "uTime": now,
            "totalEq": num(total_usd),
            "isoEq": "0",
            "adjEq": "",
            "availEq": "",
            "ordFroz": "",
            "imr": "",
            "mmr": "",
            "borrowFroz": "",
            "mgnRatio": "",
            "notionalUsd": "",
            "upl": "",
            "details": details,
        }

    def _usd(self, asset: str) -> Decimal:
        if asset in ("USDT", "USDC", "USD"):
            return Decimal(1)
        market = next((r.market_id for r in self.rules.values() if r.base == asset), None)
        return self._last_price(market) if market is not None else Decimal(0)

    # -- parameters ---------------------------------------------------------------------------
    def _parse(self, args: dict[str, Any]) -> tuple[OrderRequest, OrderMeta]:
        inst = str(args.get("instId") or "")
        if not inst:
            raise empty_param("instId")
        rules = self.rules.get(inst)
        if rules is None:
            raise OkxError("51001", "Instrument ID does not exist.")
        td_mode = str(args.get("tdMode") or "")
        if not td_mode:
            raise empty_param("tdMode")
        if td_mode != "cash":
            raise bad_param("tdMode")
        side = str(args.get("side") or "")
        if side not in ("buy", "sell"):
            raise empty_param("side") if not side else bad_param("side")
        ord_type = str(args.get("ordType") or "")
        if ord_type not in ORD_TYPES:
            raise empty_param("ordType") if not ord_type else bad_param("ordType")
        type_, tif = ORD_TYPES[ord_type]
        sz = _decimal(args, "sz")
        if sz is None:
            raise empty_param("sz")
        client_id = str(args.get("clOrdId") or "")
        if client_id and not CL_ORD_ID.match(client_id):
            raise bad_param("clOrdId")
        tag = str(args.get("tag") or "")
        if not TAG.match(tag):
            raise bad_param("tag")
        price = None
        tgt_ccy = ""
        quote_qty = None
        quantity: Decimal | None = sz
        if ord_type == "market":
            tgt_ccy = str(args.get("tgtCcy") or ("quote_ccy" if side == "buy" else "base_ccy"))
            if tgt_ccy not in ("base_ccy", "quote_ccy"):
                raise bad_param("tgtCcy")
            if tgt_ccy == "quote_ccy":
                quantity, quote_qty = None, sz
        else:
            price = _decimal(args, "px")
            if price is None:
                raise OkxError("51204", "The price for the limit order can not be empty.")
            try:
                rules.check_price(price)
            except ApiError:
                raise bad_param("px") from None
        if quantity is not None:
            if quantity < rules.lot:
                raise OkxError("51020", "Order amount should be greater than the min available amount.")
            if quantity % rules.lot:
                raise OkxError("51121", "Order quantity must be a multiple of the lot size.")
            if quantity > rules.max_qty:
                raise OkxError("51203", f"Order amount exceeds the limit {num(rules.max_qty)}.")
        if not client_id:
            self._unnamed += 1
        desk_id = client_id or f"okx-unnamed-{self._unnamed}"
        req = OrderRequest(inst, side.upper(), type_, tif, quantity, quote_qty, price, None, desk_id)
        return req, OrderMeta(ord_type, tgt_ccy, num(sz), tag, client_id)

    def _find(self, key: str, params: dict[str, Any], not_found: tuple[str, str]) -> UserOrder:
        inst = str(params.get("instId") or "")
        if not inst:
            raise empty_param("instId")
        if inst not in self.rules:
            raise OkxError("51001", "Instrument ID does not exist.")
        ord_id_text = str(params.get("ordId") or "")
        client_id = str(params.get("clOrdId") or "")
        if not ord_id_text and not client_id:
            raise OkxError("51003", "Either client order ID or order ID is required.")
        try:
            ord_id = int(ord_id_text) if ord_id_text else None
        except ValueError:
            raise OkxError(*not_found) from None
        account = self.desk.account(key)
        if ord_id is not None:
            order = account.orders.get(ord_id)
            if order is not None and client_id and self.meta[ord_id].client_id != client_id:
                order = None
        else:
            named = [o for o in account.orders.values() if self.meta[o.order_id].client_id == client_id]
            order = named[-1] if named else None
        if order is None or order.symbol != inst:
            raise OkxError(*not_found)
        return order

    def _orders(self, key: str, params: dict[str, str]) -> list[UserOrder]:
        """The account's orders, newest first, filtered by instType/instId/ordType."""
        inst_type = params.get("instType")
        if inst_type and inst_type != "SPOT":
            return []
        inst = params.get("instId")
        types = _csv(params.get("ordType"))
        return [
            o
            for o in reversed(self.desk.account(key).orders.values())
            if (not inst or o.symbol == inst) and (not types or self.meta[o.order_id].ord_type in types)
        ]

    def _page(self, orders: list[UserOrder], params: dict[str, str]) -> list[UserOrder]:
        """OKX's ``after`` (older than this ordId) / ``before`` (newer) and ``limit``."""
        after, before = _opt_int(params, "after"), _opt_int(params, "before")
        chosen = [
            o
            for o in orders
            if (after is None or o.order_id < after) and (before is None or o.order_id > before)
        ]
        return chosen[: _limit(params)]


_CANCEL_GONE = "Order cancellation failed as the order has been filled, canceled or does not exist."
_CANCEL_AGAIN = "Order cancellation failed as the order has been canceled."
_CANCEL_DONE = "Order cancellation failed as the order has been completed."


def _cancel_source(o: UserOrder, meta: OrderMeta) -> str:
    """OKX's cancelSource: "1" canceled by the user, "31" a post-only order that
    would have taken liquidity; other ends (an IOC/FOK/market rest) are left ""."""
    if o.status == "CANCELED":
        return "1"
    if o.status == "EXPIRED" and meta.ord_type == "post_only":
        return "31"
    return ""


def _desk_error(e: ApiError, req: OrderRequest, rules: SymbolRules) -> OkxError:
    """The desk's (Binance-coded) refusal as OKX answers it."""
    if e.msg == INSUFFICIENT:
        asset = rules.quote if req.side == "BUY" else rules.base
        return OkxError("51008", f"Order failed. Insufficient {asset} balance in account.")
    if e.msg == "Duplicate order sent.":
        return OkxError("51016", "Duplicated clOrdId.")
    if "MAX_NUM_ORDERS" in e.msg:
        return OkxError("51025", "Order count exceeds the limit.")
    if "PRICE_FILTER" in e.msg:
        return bad_param("px")
    return bad_param("sz")


def _decimal(params: dict[str, Any], name: str) -> Decimal | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise bad_param(name) from None
    if not value.is_finite() or value <= 0:
        raise bad_param(name)
    return value


def _opt_int(params: dict[str, Any], name: str) -> int | None:
    return opt_int(params, name, bad_param)


def _limit(params: dict[str, Any]) -> int:
    limit = _opt_int(params, "limit")
    return MAX_LIST if limit is None else max(1, min(limit, MAX_LIST))


def _csv(raw: str | None) -> set[str]:
    return {part for part in (raw or "").split(",") if part}
