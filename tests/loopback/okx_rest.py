"""The loopback OKX server's REST endpoints (the part of ``LoopbackOkx`` over
its websockets, ``okx_streams.py``): public market data, and the signed
account and trade endpoints over ``OkxOrderApi``, with the order faults
(``reject_orders``, ``order_timeout``, ``order_answer_lost``) applied to
``POST trade/order`` / ``batch-orders``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from terminal.market.simulator.engine import Trade
from tests.loopback.okx_market import BARS, candle_row, candles, instrument_json, trade_json
from tests.loopback.okx_streams import OkxStreams, OkxSymbolState
from tests.loopback.okx_wire import OkxError, bad_param, check_rest_signature, empty_param, no_instrument, ok
from tests.loopback.orders import MAKER_FEE, TAKER_FEE
from tests.loopback.wire import opt_int

ORDER_PATHS = ("/api/v5/trade/order", "/api/v5/trade/batch-orders")


class OkxRest(OkxStreams):
    """The REST half of ``LoopbackOkx``."""

    # -- REST: public -----------------------------------------------------------------
    def _public(
        self, data: Callable[[dict[str, str]], list[Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return ok(data(dict(request.query)))

        return handler

    def _instruments_data(self, query: dict[str, str]) -> list[Any]:
        inst_type = query.get("instType")
        if not inst_type:
            raise empty_param("instType")
        if inst_type != "SPOT":
            return []
        wanted = query.get("instId")
        list_time = self.sim.engine(next(iter(self._instruments.values())).symbol).candles.ts[0]
        return [
            instrument_json(i, self.rules[m], int(list_time))
            for m, i in self._instruments.items()
            if not wanted or m == wanted
        ]

    def _books_data(self, query: dict[str, str], default: int, most: int) -> list[Any]:
        state = self._symbol_param(query)
        depth = min(_int(query, "sz", default, 1), most)
        return [
            {
                "asks": state.book.levels(False, depth),
                "bids": state.book.levels(True, depth),
                "ts": str(self.clock()),
            }
        ]

    def _candles_data(self, query: dict[str, str], most: int) -> list[Any]:
        state = self._symbol_param(query)
        bar = query.get("bar") or "1m"
        if bar not in BARS:
            raise bad_param("bar")
        limit = min(_int(query, "limit", 100, 1), most)
        data = candles(state.engine, bar, _opt(query, "before"), _opt(query, "after"), limit)
        step = BARS[bar][0]
        now = state.engine.time_ms
        rows = [candle_row(data, k, int(data.ts[k]) + step <= now) for k in range(len(data))]
        return rows[::-1]  # newest first

    def _tickers_data(self, query: dict[str, str]) -> list[Any]:
        inst_type = query.get("instType")
        if not inst_type:
            raise empty_param("instType")
        return [self._ticker(s) for s in self._symbols.values()] if inst_type == "SPOT" else []

    def _trades_data(self, query: dict[str, str], most: int, history: bool) -> list[Any]:
        state = self._symbol_param(query)
        limit = min(_int(query, "limit", 100, 1), most)
        published = [t for t in reversed(state.engine.trades) if t.id <= state.trade_cursor]  # newest first
        if history:
            by_time = query.get("type") == "2"
            after, before = _opt(query, "after"), _opt(query, "before")

            def key(t: Trade) -> int:
                return t.timestamp if by_time else t.id

            published = [
                t
                for t in published
                if (after is None or key(t) < after) and (before is None or key(t) > before)
            ]
        return [trade_json(state.market_id, t) for t in published[:limit]]

    def _symbol_param(self, query: dict[str, str]) -> OkxSymbolState:
        market_id = query.get("instId")
        if not market_id:
            raise empty_param("instId")
        state = self._symbols.get(market_id)
        if state is None:
            raise no_instrument()
        return state

    # -- REST: signed ---------------------------------------------------------------------
    async def _authenticate(self, request: web.Request) -> tuple[str, Any]:
        """OKX's signed-request check; returns the key and the parameters (the
        query of a GET, the JSON body of a POST)."""
        body = await request.text() if request.can_read_body else ""
        key = check_rest_signature(
            request.headers, request.method, request.raw_path, body, self._keys, self._server_time()
        )
        if request.method == "GET":
            return key, dict(request.query)
        try:
            return key, json.loads(body) if body else {}
        except ValueError:
            raise OkxError("50002", "Json data format error.", 400) from None

    def _signed(self, action: Callable[[str, Any], Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A handler that authenticates, then answers ``action(key, params)``: a
        ``data`` list, or a whole body (a dict with ``code``)."""

        async def handler(request: web.Request) -> web.Response:
            key, params = await self._authenticate(request)
            inst = params.get("instId") if request.method == "GET" else None
            if inst and inst not in self._symbols:
                raise no_instrument()
            answer = action(key, params)
            return web.json_response(answer) if isinstance(answer, dict) else ok(answer)

        return handler

    def _each(
        self, key: str, params: Any, action: Callable[[str, Any], dict[str, Any]], single: bool = False
    ) -> dict[str, Any]:
        """Run ``action`` on each order of a (batch) request; OKX's answer: code "0"
        if all succeeded, "2" if some, "1" if none."""
        items = [params] if single or not isinstance(params, list) else params
        if not items:
            raise empty_param("data")
        results = [action(key, item) for item in items]
        return _batch_answer(results, single)

    async def _place(self, request: web.Request) -> web.Response:
        key, params = await self._authenticate(request)
        single = request.path.endswith("/order")
        fault = self._order_fault()
        if fault is not None and fault.kind == "reject":
            items = [params] if single or not isinstance(params, list) else params
            results = [
                {
                    "clOrdId": str(i.get("clOrdId") or "") if isinstance(i, dict) else "",
                    "ordId": "",
                    "tag": str(i.get("tag") or "") if isinstance(i, dict) else "",
                    "ts": str(self._server_time()),
                    "sCode": fault.code,
                    "sMsg": fault.msg,
                }
                for i in items
            ]
            return web.json_response(_batch_answer(results, single), status=fault.status)
        answer = self._each(key, params, self.order_api.place, single)
        await self._order_placed(request, fault)
        now = str(self._server_time() * 1000)
        return web.json_response({**answer, "inTime": now, "outTime": now})

    def _account_config(self, key: str) -> dict[str, Any]:
        uid = str(10**15 + sorted(self._keys).index(key))
        return {
            "uid": uid,
            "mainUid": uid,
            "acctLv": "1",
            "acctStpMode": "cancel_maker",
            "posMode": "net_mode",
            "autoLoan": False,
            "greeksType": "PA",
            "level": "Lv1",
            "levelTmp": "",
            "ctIsoMode": "automatic",
            "mgnIsoMode": "automatic",
            "roleType": "0",
            "spotRoleType": "0",
            "traderInsts": [],
            "spotTraderInsts": [],
            "opAuth": "0",
            "kycLv": "1",
            "label": "loopback",
            "ip": "",
            "perm": "read_only,trade",
            "enableSpotBorrow": False,
            "spotBorrowAutoRepay": False,
            "type": "0",
        }

    def _trade_fee(self, params: dict[str, str]) -> dict[str, Any]:
        return {
            "instType": params.get("instType") or "SPOT",
            "instId": params.get("instId") or "",
            "category": "1",
            "level": "Lv1",
            "maker": str(-MAKER_FEE),
            "taker": str(-TAKER_FEE),
            "makerU": "",
            "takerU": "",
            "delivery": "",
            "exercise": "",
            "ts": str(self._server_time()),
        }


def _batch_answer(results: list[dict[str, Any]], single: bool) -> dict[str, Any]:
    failed = sum(1 for r in results if r.get("sCode") != "0")
    if not failed:
        return {"code": "0", "msg": "", "data": results}
    if failed < len(results):
        return {"code": "2", "msg": "Batch operation partially succeeded", "data": results}
    return {"code": "1", "msg": "Operation failed." if single else "All operations failed", "data": results}


def _int(query: dict[str, str], name: str, default: int, low: int) -> int:
    value = _opt(query, name)
    if value is None:
        return default
    if value < low:
        raise bad_param(name)
    return value


def _opt(query: dict[str, str], name: str) -> int | None:
    return opt_int(query, name, bad_param)
