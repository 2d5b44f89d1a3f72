"""A loopback exchange server that speaks enough of Binance spot for the real
``ccxt.pro.binance`` class, for tests and benchmarks with no internet.

The market behind it is the terminal's own simulator (``SimulatedExchange`` /
``SymbolMarket``): a seeded book, trades and 1m candles per instrument. A pump
task advances every market to the server clock ``pump_interval`` seconds at a
time and publishes what changed:

- the *published* book of each symbol follows the engine's book through diff
  events (``depthUpdate``: level size changes, ``"0"`` for a removed level) with
  consecutive update ids ``U``/``u``; ``GET /api/v3/depth`` serves the published
  book with ``lastUpdateId`` = the ``u`` of the last diff, so a client that syncs
  the Binance way ends up with the published book, level for level
  (``server.book(symbol)``);
- new trades as ``trade`` and ``aggTrade`` events, candles as ``kline`` events,
  and every ``ticker_interval`` seconds ``24hrMiniTicker`` / ``24hrTicker``.

Keys added with ``add_key`` own an account that trades: Binance's signed order
endpoints, balances that fills change, and user-data events on the WebSocket
API (``orders.py`` matches, ``order_api.py`` speaks the endpoints,
``userstream.py`` delivers the events); the pump feeds the market's trades to
the resting orders.

It runs in the caller's event loop on 127.0.0.1 only::

    server = LoopbackBinance(seed=1)
    await server.start()            # port 0: a free port
    exchange = server.client()      # a configured ccxt.pro.binance
    ...
    await exchange.close()
    await server.stop()

By hand (prints the URLs, runs until Ctrl+C)::

    python -m tests.loopback.binance --port 8765 [--seed N]

Faults are injected by the methods in the "faults" section; see README.md.
The plumbing both loopback servers share (lifecycle, REST middleware and
faults, websocket sockets, the pump, ``depth_rate``, ``book_at``, the command
line) is ``server.py``'s; this module is what is Binance's.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import SplitResult, parse_qsl

import numpy as np
from aiohttp import web

from terminal.market.simulator.engine import SymbolMarket, Trade
from terminal.market.simulator.instruments import Instrument
from terminal.marketdata.candles import OHLCV
from tests.loopback.filters import SymbolRules
from tests.loopback.market import (
    DAY_MS,
    MINUTE_MS,
    WEEK_OFFSET_MS,
    Book,
    bar_open,
    day_stats,
    price_of,
    resample_aligned,
)
from tests.loopback.order_api import OrderApi, OrderView
from tests.loopback.orders import ORDER_TYPES
from tests.loopback.server import (
    DEFAULT_BALANCES,
    FIRST_UPDATE_ID,
    HOST,
    MAX_BACKLOG,
    WARMUP_MS,
    Channel,
    FrameHandler,
    LoopbackServer,
    OrderFault,
    Socket,
    SymbolState,
    point_at_loopback,
    server_port,
    wall_clock_ms,
)
from tests.loopback.userstream import UserStreams
from tests.loopback.versions import Undo
from tests.loopback.wire import (
    ApiError,
    check_signature,
    check_timestamp,
    dec,
    fmt,
    illegal,
    mandatory,
    opt_int,
)

__all__ = [
    "DEFAULT_BALANCES",
    "FIRST_UPDATE_ID",
    "HOST",
    "INTERVALS",
    "MAX_BACKLOG",
    "MINUTE_MS",
    "WARMUP_MS",
    "WEEK_OFFSET_MS",
    "LoopbackBinance",
    "OrderView",
    "configure",
    "main",
    "wall_clock_ms",
]

#: Binance kline intervals the server offers (1s and 1M are not offered).
INTERVALS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}


#: The REST ticker's fields (``ticker/24hr``) as a ``24hrTicker`` event names them.
TICKER_EVENT = {
    "priceChange": "p",
    "priceChangePercent": "P",
    "weightedAvgPrice": "w",
    "prevClosePrice": "x",
    "lastPrice": "c",
    "lastQty": "Q",
    "bidPrice": "b",
    "bidQty": "B",
    "askPrice": "a",
    "askQty": "A",
    "openPrice": "o",
    "highPrice": "h",
    "lowPrice": "l",
    "volume": "v",
    "quoteVolume": "q",
    "openTime": "O",
    "closeTime": "C",
    "firstId": "F",
    "lastId": "L",
    "count": "n",
}
#: ... and the few a ``24hrMiniTicker`` carries.
MINI_TICKER_EVENT = {
    name: TICKER_EVENT[name]
    for name in ("lastPrice", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume")
}


class DepthBook(Book):
    """A symbol's published book as Binance's depth events carry it: levels
    ``[price, size]`` with 8 decimals (size ``"0.00000000"``: removed)."""

    def __init__(self, tick: float) -> None:
        super().__init__()
        self.tick = tick
        self.top_keys: tuple[list[int], list[int]] = ([], [])  # as of the last pump step

    def set(self, is_bid: bool, key: int, size: float) -> tuple[list[str], Undo]:
        side = self.side(is_bid)
        old = side.get(key)
        if size > 0:
            side[key] = size
        else:
            side.pop(key, None)
        return [fmt(price_of(key, self.tick)), fmt(size)], (is_bid, key, old)

    def top(self, is_bid: bool) -> list[int]:
        return self.top_keys[0 if is_bid else 1]  # sorting for every synthetic change would cost

    def synced(self) -> None:
        self.top_keys = (super().top(True), super().top(False))

    def desk_levels(self, asks: bool) -> list[tuple[Decimal, Decimal]]:
        side = self.side(not asks)
        return [(dec(price_of(k, self.tick)), dec(side[k])) for k in self.best(not asks, None)]


@dataclass(eq=False)
class BinanceSocket(Socket):
    streams: dict[str, Channel] = field(default_factory=dict)  # stream name -> channel

    def leave_all(self) -> set[Channel]:
        channels = set(self.streams.values())
        self.streams.clear()
        return channels


class LoopbackBinance(LoopbackServer[SymbolState]):
    """A Binance-spot-protocol server on 127.0.0.1 over the simulated market.

    ``LoopbackBinance(seed=1, *, speed=1.0, history_days=30, clock=wall_clock_ms,
    instruments=INSTRUMENTS, pump_interval=0.1, ticker_interval=1.0,
    keep_versions=1024)``: see ``LoopbackServer``."""

    EXCHANGE = "Binance"
    CCXT_ID = "binance"
    REST_PATH = "/api"
    WS_PATH = "/stream/ws"
    TASK_PREFIX = "loopback"
    SYMBOL_SEPARATOR = ""
    NOT_REST = ("/stream",)
    ORDER_PATHS = ("/api/v3/order",)
    ERROR = ApiError
    MALFORMED_BODY = '{"symbol": "BTCUSDT", "lastUpdateId": 1, "bids": [["6'
    BARS: ClassVar[dict[str, tuple[int, int]]] = {
        name: (step, WEEK_OFFSET_MS if name == "1w" else 0) for name, step in INTERVALS.items()
    }
    FAULT_PATH = "/api/v3/depth"  # the REST faults hit the snapshot the terminal's next watch fetches
    #: name -> what it does; the REST faults also drop the sockets, so that the
    #: terminal resubscribes and meets them on its next depth snapshot.
    FAULTS: ClassVar[dict[str, str]] = {
        "close": "close every websocket",
        "abort": "reset every TCP connection",
        "down": "stop listening for ?seconds=10, then come back on the same port",
        "gap": "skip depth update ids for BTC/USDT",
        "429": "answer the next 3 depth snapshots with HTTP 429",
        "418": "answer the next 3 depth snapshots with HTTP 418",
        "malformed-frame": "send invalid JSON on every websocket",
        "malformed-rest": "answer the next depth snapshot with garbage and HTTP 200",
        "slow": "delay the next 4 depth snapshots by 15 s",
    }

    order_api: OrderApi

    def _setup(self) -> None:
        self._keys: dict[str, str] = {}  # API key -> secret
        # open-time ranges [start, end) the klines endpoint leaves out, as exchanges
        # that skip minutes without trades do
        self.kline_holes: list[tuple[int, int]] = []
        # user orders: accounts, matching, the user-data streams (see orders.py, order_api.py)
        self.order_api = OrderApi(self._desk_market, self._publish_user_event, self._ids)
        self.user_streams = UserStreams(self._verify_ws_api, self._server_time, self._ids)

    def _rules_of(self, instrument: Instrument) -> SymbolRules:
        return SymbolRules.of(instrument)

    def _new_book(self, market_id: str, instrument: Instrument) -> Book:
        return DepthBook(instrument.tick)

    def _configure(self, exchange: Any) -> Any:
        return configure(exchange, self)

    # -- credentials and inspection --------------------------------------------
    def add_key(self, key: str, secret: str, balances: dict[str, float] | None = None) -> None:
        """Accept signed requests with ``key``/``secret`` (HMAC-SHA256), for a fresh
        account holding ``balances`` (asset -> free amount; default
        ``DEFAULT_BALANCES``), which orders and fills then change. Adding a key
        again starts its account afresh."""
        self._keys[key] = secret
        self._open_account(key, balances)

    def user_stream_count(self, key: str) -> int:
        """Websockets that receive ``key``'s user-data events now."""
        return self.user_streams.subscribers(key)

    # -- faults -----------------------------------------------------------------
    def http_error(
        self,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
        code: int | None = None,
    ) -> None:
        """The next ``times`` REST requests (whose path contains ``path``, if given)
        get HTTP ``status`` with a Binance error body: 429 → code -1003 "Too many
        requests", 418 → -1003 "IP banned", others → ``code`` (default -1000).
        ``Retry-After: retry_after`` is added when given. ``status=200`` with the
        default code -1003 plays the body-only rate-limit answer."""
        if code is None:
            code = -1003 if status in (200, 418, 429) else -1000
        if status == 418:
            msg = f"Way too much request weight used; IP banned until {self.clock() + 120_000}."
        elif code == -1003:
            msg = "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute."
        else:
            msg = "An unknown error occurred while processing the request."
        self._error_fault(status, times, retry_after, path, json.dumps({"code": code, "msg": msg}))

    def malformed_ws_frame(self, text: str = '{"e":"depthUpdate","E":') -> int:
        """Send ``text`` (invalid JSON) as a text frame on every open websocket.
        Returns how many sockets got it."""
        return super().malformed_ws_frame(text)

    def reject_orders(self, code: int, msg: str, times: int = 1, status: int = 400) -> None:
        """The next ``times`` order creations (after authentication) are refused
        with HTTP ``status`` and ``{"code": code, "msg": msg}``; no order is made."""
        self._order_faults.append(OrderFault("reject", times, status=status, code=code, msg=msg))

    def mute(self, kind: str, symbol: str) -> None:
        """Send nothing more on one stream (``kind`` "depth", "trade", "aggTrade",
        "miniTicker" or "ticker" of ``symbol``) while the connection and every
        other stream go on: a stream gone silent. ``unmute()`` ends it."""
        super().mute(kind, symbol)

    # -- internals: network -----------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        get = app.router.add_get
        get("/api/v3/ping", self._ping)
        get("/api/v3/time", self._time)
        get("/api/v3/exchangeInfo", self._exchange_info)
        get("/api/v3/depth", self._depth)
        get("/api/v3/klines", self._klines)
        get("/api/v3/uiKlines", self._klines)
        get("/api/v3/ticker/24hr", self._ticker_24hr)
        get("/api/v3/aggTrades", self._agg_trades)
        get("/api/v3/trades", self._trades)
        get("/api/v3/account", self._signed(lambda k, p: self.order_api.account(k, p, self._server_time())))
        # user orders (order_api.py)
        api = self.order_api
        app.router.add_post("/api/v3/order", self._order_new)
        app.router.add_post("/api/v3/order/test", self._signed(lambda k, p: api.new_order(k, p, test=True)))
        get("/api/v3/order", self._signed(api.query_order))
        app.router.add_delete("/api/v3/order", self._signed(api.cancel_order))
        get("/api/v3/openOrders", self._signed(api.open_orders))
        app.router.add_delete("/api/v3/openOrders", self._signed(api.cancel_open_orders))
        get("/api/v3/allOrders", self._signed(api.all_orders))
        get("/api/v3/myTrades", self._signed(api.my_trades))
        for method in ("POST", "PUT", "DELETE"):
            app.router.add_route(method, "/api/v3/userDataStream", self._user_data_stream)
        # the WebSocket API (user-data subscriptions), before the stream route that would match it
        get("/stream/ws-api/v3", self._ws)
        get("/ws-api/v3", self._ws)
        get("/stream/ws{tail:.*}", self._ws)
        get("/_fault/{name}", self._fault_by_name)

    def _cli_urls(self) -> tuple[str, str]:
        return (
            f"{self.rest_base}   (ccxt urls['api']['public'] = {self.rest_base}/v3)",
            f"{self.ws_base}   (ccxt urls['api']['ws']['spot'])",
        )

    # -- REST handlers ----------------------------------------------------------
    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._server_time()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        wanted = self._symbol_list(request)
        symbols = [self._symbol_info(i) for i in self._instruments.values()]
        if wanted is not None:
            symbols = [s for s in symbols if s["symbol"] in wanted]
        return web.json_response(
            {
                "timezone": "UTC",
                "serverTime": self._server_time(),
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 6000,
                    },
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
                ],
                "exchangeFilters": [],
                "symbols": symbols,
            }
        )

    def _symbol_info(self, i: Instrument) -> dict[str, Any]:
        return {
            "symbol": i.market_id,
            "status": "TRADING",
            "baseAsset": i.base,
            "baseAssetPrecision": 8,
            "quoteAsset": i.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(ORDER_TYPES),
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": self.order_api.rules[i.market_id].filters(),
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    async def _depth(self, request: web.Request) -> web.Response:
        market_id, state = self._symbol_param(request)
        limit = _int_param(request, "limit", 100, 1, 5000)
        bids, asks = self.book(market_id, limit)
        return web.json_response(
            {
                "lastUpdateId": state.update_id,
                "bids": [[fmt(p), fmt(q)] for p, q in bids],
                "asks": [[fmt(p), fmt(q)] for p, q in asks],
            }
        )

    async def _klines(self, request: web.Request) -> web.Response:
        _, state = self._symbol_param(request)
        interval = request.query.get("interval")
        if interval is None:
            raise ApiError(
                400, -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed."
            )
        if interval not in INTERVALS:
            raise ApiError(400, -1120, "Invalid interval.")
        limit = _int_param(request, "limit", 500, 1, 1000)
        start = _opt_int(request, "startTime")
        end = _opt_int(request, "endTime")
        data = self._klines_data(state.engine, interval, start, end, limit)
        if self.kline_holes:
            keep = np.ones(len(data), dtype=bool)
            for hole_start, hole_end in self.kline_holes:
                keep &= (data.ts < hole_start) | (data.ts >= hole_end)
            columns = ("ts", "open", "high", "low", "close", "volume")
            data = OHLCV(*(getattr(data, name)[keep] for name in columns))
        step = INTERVALS[interval]
        rows = [
            [
                int(data.ts[k]),
                fmt(data.open[k]),
                fmt(data.high[k]),
                fmt(data.low[k]),
                fmt(data.close[k]),
                fmt(data.volume[k]),
                int(data.ts[k]) + step - 1,
                fmt(data.volume[k] * (data.high[k] + data.low[k] + data.close[k]) / 3),
                0,
                fmt(data.volume[k] / 2),
                fmt(data.volume[k] * (data.high[k] + data.low[k] + data.close[k]) / 6),
                "0",
            ]
            for k in range(len(data))
        ]
        return web.json_response(rows)

    def _klines_data(
        self, engine: SymbolMarket, interval: str, start: int | None, end: int | None, limit: int
    ) -> OHLCV:
        """Binance's paging: with ``start``, the first ``limit`` candles opening at or
        after it; otherwise the last ``limit`` opening at or before ``end`` (or now)."""
        step, offset = self.BARS[interval]
        candles = engine.candles
        ts = candles.ts
        if not len(ts):
            return OHLCV.empty()
        last_open = bar_open(int(ts[-1]), step, offset)
        if end is not None:
            last_open = min(last_open, bar_open(end, step, offset))
        if start is not None:
            first_open = bar_open(start, step, offset)
            first_open += 0 if first_open == start else step
            # like Binance: a start before the first candle answers from the first candle
            first_open = max(first_open, bar_open(int(ts[0]), step, offset))
            last_open = min(last_open, first_open + (limit - 1) * step)
        else:
            first_open = last_open - (limit - 1) * step
        if last_open < first_open:
            return OHLCV.empty()
        i0 = int(np.searchsorted(ts, first_open))
        i1 = int(np.searchsorted(ts, last_open + step))
        data = candles.copy(i0, i1)
        if interval != "1m":
            data = resample_aligned(data, step, offset)
        return data.slice(0, limit) if start is not None else data.slice(max(0, len(data) - limit), len(data))

    async def _ticker_24hr(self, request: web.Request) -> web.Response:
        wanted = self._symbol_list(request)
        if "symbol" in request.query:
            market_id, _ = self._symbol_param(request)
            return web.json_response(self._ticker_stats(market_id, full=True, rest=True))
        ids = [m for m in self._symbols if wanted is None or m in wanted]
        return web.json_response([self._ticker_stats(m, full=True, rest=True) for m in ids])

    async def _agg_trades(self, request: web.Request) -> web.Response:
        _, state = self._symbol_param(request)
        trades = self._select_trades(request, state, "fromId")
        return web.json_response(
            [
                {
                    "a": t.id,
                    "p": fmt(t.price),
                    "q": fmt(t.amount),
                    "f": t.id,
                    "l": t.id,
                    "T": t.timestamp,
                    "m": t.side == "sell",
                    "M": True,
                }
                for t in trades
            ]
        )

    async def _trades(self, request: web.Request) -> web.Response:
        _, state = self._symbol_param(request)
        trades = self._select_trades(request, state, None)
        return web.json_response(
            [
                {
                    "id": t.id,
                    "price": fmt(t.price),
                    "qty": fmt(t.amount),
                    "quoteQty": fmt(t.price * t.amount),
                    "time": t.timestamp,
                    "isBuyerMaker": t.side == "sell",
                    "isBestMatch": True,
                }
                for t in trades
            ]
        )

    def _select_trades(self, request: web.Request, state: SymbolState, from_param: str | None) -> list[Any]:
        limit = _int_param(request, "limit", 500, 1, 1000)
        published = [t for t in state.engine.trades if t.id <= state.trade_cursor]
        from_id = _opt_int(request, from_param) if from_param else None
        start, end = _opt_int(request, "startTime"), _opt_int(request, "endTime")
        if from_id is not None:
            return [t for t in published if t.id >= from_id][:limit]
        if start is not None or end is not None:
            chosen = [
                t
                for t in published
                if (start is None or t.timestamp >= start) and (end is None or t.timestamp <= end)
            ]
            return chosen[:limit]
        return published[-limit:]

    # -- user orders and streams ------------------------------------------------------
    def _signed(
        self, action: Callable[[str, dict[str, str]], Any]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """A handler that authenticates, then answers ``action(key, params)`` as JSON."""

        async def handler(request: web.Request) -> web.Response:
            key, params = await self._authenticate(request)
            return web.json_response(action(key, params))

        return handler

    async def _order_new(self, request: web.Request) -> web.Response:
        key, params = await self._authenticate(request)
        fault = self._order_fault()
        if fault is not None and fault.kind == "reject":
            raise ApiError(fault.status, int(fault.code), fault.msg)
        answer = self.order_api.new_order(key, params)
        await self._order_placed(request, fault)
        return web.json_response(answer)

    async def _user_data_stream(self, request: web.Request) -> web.Response:
        """``/api/v3/userDataStream``: API key only, no signature (as Binance)."""
        key = self._api_key(request)
        if request.method == "POST":
            return web.json_response({"listenKey": self.user_streams.listen_key(key)})
        params = dict(parse_qsl(await request.text())) | dict(request.query)
        listen_key = params.get("listenKey")
        if not listen_key:
            raise mandatory("listenKey")
        if request.method == "PUT":
            self.user_streams.keepalive(key, listen_key)
        else:
            self.user_streams.close(key, listen_key)
        return web.json_response({})

    def _verify_ws_api(self, params: dict[str, Any]) -> str:
        """A WebSocket API request's signature: HMAC-SHA256 of its params but
        ``signature``, sorted by name, as ``k=v`` joined by ``&``."""
        key = str(params.get("apiKey") or "")
        if not key:
            raise mandatory("apiKey")
        if key not in self._keys:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = params.get("signature")
        if not signature:
            raise mandatory("signature")
        flat = {k: _ws_value(v) for k, v in params.items() if k != "signature"}
        check_signature(self._keys[key], "&".join(f"{k}={flat[k]}" for k in sorted(flat)), str(signature))
        check_timestamp(flat, self._server_time())
        return key

    def _publish_user_event(self, key: str, event: dict[str, Any]) -> None:
        self.user_streams.publish(key, event)

    def _api_key(self, request: web.Request) -> str:
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise ApiError(401, -2014, "API-key format invalid.")
        if key not in self._keys:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return key

    async def _authenticate(self, request: web.Request) -> tuple[str, dict[str, str]]:
        """Binance's SIGNED check: known key, HMAC-SHA256 of the query string
        followed by the body (``signature`` left out), timestamp within recvWindow.
        Returns the key and the request's parameters (query and body)."""
        key = self._api_key(request)
        query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
        body = await request.text() if request.can_read_body else ""
        signature = None
        parts = []
        for chunk in (query, body):
            kept = []
            for item in chunk.split("&") if chunk else []:
                if item.startswith("signature="):
                    signature = item[len("signature=") :]
                else:
                    kept.append(item)
            parts.append("&".join(kept))
        if signature is None:
            raise mandatory("signature")
        check_signature(self._keys[key], parts[0] + parts[1], signature)
        params = dict(parse_qsl(parts[0])) | dict(parse_qsl(parts[1]))
        check_timestamp(params, self._server_time())
        return key, params

    # -- REST helpers -----------------------------------------------------------
    def _symbol_param(self, request: web.Request) -> tuple[str, SymbolState]:
        market_id = request.query.get("symbol")
        if not market_id:
            raise ApiError(
                400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        state = self._symbols.get(market_id)
        if state is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return market_id, state

    def _symbol_list(self, request: web.Request) -> set[str] | None:
        if "symbols" in request.query:
            try:
                return set(json.loads(request.query["symbols"]))
            except (ValueError, TypeError):
                raise ApiError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
        if "symbol" in request.query:
            return {request.query["symbol"]}
        return None

    def _ticker_stats(self, market_id: str, full: bool, rest: bool = False) -> dict[str, Any]:
        """24h statistics from the 1m candles (the live one included), the published
        top of book and the published trades, as REST (``rest``) or as a
        ``24hrTicker`` / ``24hrMiniTicker`` event."""
        state = self._symbols[market_id]
        engine = state.engine
        now = engine.time_ms
        last = engine.last_price
        open_, high, low, volume, quote = day_stats(engine, now)
        open_time = now - DAY_MS
        trades = [t for t in engine.trades if t.timestamp >= open_time and t.id <= state.trade_cursor]
        first_id, last_id = (trades[0].id, trades[-1].id) if trades else (-1, -1)
        last_qty = trades[-1].amount if trades else 0.0
        tick = state.instrument.tick
        bids, asks = state.book.bids, state.book.asks
        best_bid = max(bids) if bids else None
        best_ask = min(asks) if asks else None
        bid = (price_of(best_bid, tick), bids[best_bid]) if best_bid is not None else (0.0, 0.0)
        ask = (price_of(best_ask, tick), asks[best_ask]) if best_ask is not None else (0.0, 0.0)
        change = last - open_
        pct = change / open_ * 100 if open_ else 0.0
        vwap = quote / volume if volume else last
        stats = {
            "priceChange": fmt(change),
            "priceChangePercent": f"{pct:.3f}",
            "weightedAvgPrice": fmt(vwap),
            "prevClosePrice": fmt(open_),
            "lastPrice": fmt(last),
            "lastQty": fmt(last_qty),
            "bidPrice": fmt(bid[0]),
            "bidQty": fmt(bid[1]),
            "askPrice": fmt(ask[0]),
            "askQty": fmt(ask[1]),
            "openPrice": fmt(open_),
            "highPrice": fmt(high),
            "lowPrice": fmt(low),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote),
            "openTime": open_time,
            "closeTime": now,
            "firstId": first_id,
            "lastId": last_id,
            "count": len(trades),
        }
        if rest:
            return {"symbol": market_id, **stats}
        names = TICKER_EVENT if full else MINI_TICKER_EVENT
        event = {"e": "24hrTicker" if full else "24hrMiniTicker", "E": self.clock(), "s": market_id}
        return event | {short: stats[name] for name, short in names.items()}

    # -- websocket ----------------------------------------------------------------
    def _accept(self, ws: web.WebSocketResponse, request: web.Request) -> tuple[Socket, FrameHandler]:
        sock = BinanceSocket(ws, request)
        if request.path.endswith("/ws-api/v3"):
            return sock, self.user_streams.on_frame
        # ".../<listenKey>": a user-data stream (public SUBSCRIBEs still work on it)
        self.user_streams.attach(sock, request.match_info.get("tail", "").lstrip("/"))
        return sock, self._on_frame

    def _drop(self, sock: Socket) -> None:
        self.user_streams.drop(sock)
        super()._drop(sock)

    def _on_frame(self, sock: BinanceSocket, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError as e:
            sock.send(json.dumps({"error": {"code": 3, "msg": f"Invalid JSON: {e}"}, "id": None}))
            return
        if not isinstance(frame, dict):
            sock.send(json.dumps({"error": {"code": 2, "msg": "Invalid request"}, "id": None}))
            return
        method, params, req_id = frame.get("method"), frame.get("params") or [], frame.get("id")
        if method == "LIST_SUBSCRIPTIONS":
            sock.send(json.dumps({"result": sorted(sock.streams), "id": req_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            sock.send(
                json.dumps(
                    {"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": req_id}
                )
            )
            return
        channels = [(str(name), _channel(str(name))) for name in params]
        # an unknown stream, or one refuse_subscription() names: Binance's "invalid stream"
        bad = next(
            (n for n, c in channels if c is None or (method == "SUBSCRIBE" and self._refuses(n, c))), None
        )
        if bad is not None:
            sock.send(
                json.dumps(
                    {"error": {"code": 2, "msg": f"Invalid request: invalid stream {bad}"}, "id": req_id}
                )
            )
            return
        for name, channel in channels:
            assert channel is not None
            if method == "SUBSCRIBE":
                sock.streams[name] = channel
                self._join(sock, channel)
            else:
                sock.streams.pop(name, None)
                if channel not in sock.streams.values():
                    self._leave(sock, channel)
        sock.send(json.dumps({"result": None, "id": req_id}))

    def _refuses(self, name: str, channel: tuple[str, ...] | None) -> bool:
        if not self._refused or channel is None:
            return False
        symbol, _, kind = name.partition("@")
        return any(
            t in (name, kind, channel[0]) or t.replace("/", "").lower() == symbol for t in self._refused
        )

    # -- the market pump's events ---------------------------------------------------------
    def _push_book(self, state: SymbolState, bids: list[list[str]], asks: list[list[str]], prev: int) -> None:
        channel = ("depth", state.market_id)
        if self._subscribed(channel):
            self._broadcast(
                channel,
                {
                    "e": "depthUpdate",
                    "E": self.clock(),
                    "s": state.market_id,
                    "U": prev + 1,
                    "u": state.update_id,
                    "b": bids,
                    "a": asks,
                },
            )

    def _publish_trades(self, state: SymbolState, trades: list[Trade]) -> None:
        market_id = state.market_id
        want_trade = self._subscribed(("trade", market_id))
        want_agg = self._subscribed(("aggTrade", market_id))
        now = self.clock()
        for t in trades:
            common = {
                "p": fmt(t.price),
                "q": fmt(t.amount),
                "T": t.timestamp,
                "m": t.side == "sell",
                "M": True,
            }
            if want_trade:
                self._broadcast(
                    ("trade", market_id), {"e": "trade", "E": now, "s": market_id, "t": t.id, **common}
                )
            if want_agg:
                self._broadcast(
                    ("aggTrade", market_id),
                    {"e": "aggTrade", "E": now, "s": market_id, "a": t.id, **common, "f": t.id, "l": t.id},
                )

    def _publish_tickers(self, state: SymbolState) -> None:
        for full, kind in ((False, "miniTicker"), (True, "ticker")):
            if self._subscribed((kind, state.market_id)):
                self._broadcast((kind, state.market_id), self._ticker_stats(state.market_id, full))

    def _candle_channel(self, state: SymbolState, bar: str) -> Channel:
        return ("kline", state.market_id, bar)

    def _candle_push(self, state: SymbolState, bar: str, open_: int, closed: bool) -> dict[str, Any]:
        """A ``kline`` event of the ``bar`` (interval) candle opening at ``open_``."""
        market_id, interval = state.market_id, bar
        step = INTERVALS[interval]
        candles = state.engine.candles
        i0 = int(np.searchsorted(candles.ts, open_))
        i1 = int(np.searchsorted(candles.ts, open_ + step))
        o, h, l = float(candles.open[i0]), float(candles.high[i0:i1].max()), float(candles.low[i0:i1].min())
        c, v = float(candles.close[i1 - 1]), float(candles.volume[i0:i1].sum())
        q = v * (h + l + c) / 3
        return {
            "e": "kline",
            "E": self.clock(),
            "s": market_id,
            "k": {
                "t": open_,
                "T": open_ + step - 1,
                "s": market_id,
                "i": interval,
                "f": -1,
                "L": -1,
                "o": fmt(o),
                "c": fmt(c),
                "h": fmt(h),
                "l": fmt(l),
                "v": fmt(v),
                "n": 0,
                "x": closed,
                "q": fmt(q),
                "V": fmt(v / 2),
                "Q": fmt(q / 2),
                "B": "0",
            },
        }


def _channel(stream: str) -> Channel | None:
    """``btcusdt@depth@100ms`` -> ("depth", "BTCUSDT"); None for a stream kind not served."""
    symbol, _, kind = stream.partition("@")
    if not symbol or not kind:
        return None
    market_id = symbol.upper()
    if kind in ("depth", "depth@100ms", "depth@1000ms"):
        return ("depth", market_id)
    if kind in ("trade", "aggTrade", "miniTicker", "ticker"):
        return (kind, market_id)
    if kind.startswith("kline_") and kind[len("kline_") :] in INTERVALS:
        return ("kline", market_id, kind[len("kline_") :])
    return None


def _ws_value(value: Any) -> str:
    """A WebSocket API parameter as it is signed (ccxt's urlencode: true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = _opt_int(request, name)
    if value is None:
        return default
    if value < low:
        raise illegal(name, str(low))
    return min(value, high)


def _opt_int(request: web.Request, name: str) -> int | None:
    return opt_int(request.query, name, illegal)


def configure(exchange: Any, server: LoopbackBinance | int) -> Any:
    """Point a ``ccxt.pro.binance`` instance at the loopback server (or port).

    Every string under ``urls['api']``, ``urls['test']`` and ``urls['demo']`` is
    rewritten to 127.0.0.1:PORT: http(s) URLs keep their path (``/api/v3``,
    ``/api/v1``, ``/sapi/v1``, ...), the spot and margin websocket URLs become
    ``ws://127.0.0.1:PORT/stream/ws`` (ccxt tells spot from contract messages by
    ``/stream`` in the URL), the spot WebSocket API (user-data streams) becomes
    ``ws://127.0.0.1:PORT/stream/ws-api/v3`` (where the terminal's endpoint
    override with base ``ws://127.0.0.1:PORT/stream`` puts it too), other
    websocket URLs go to an unserved loopback path. Options: spot markets only,
    no currencies, no margin pairs, so ``load_markets()`` is one
    ``GET /api/v3/exchangeInfo``. Raises AssertionError
    if any URL under those keys is left pointing elsewhere. Returns the exchange.
    """
    host = f"{HOST}:{server_port(server)}"

    def ws_url(path: tuple[str, ...], parts: SplitResult) -> str:
        if "ws-api" in path:  # the WebSocket API: spot's is served (user-data streams)
            return (
                f"ws://{host}/stream{parts.path}"
                if path[-1] == "spot"
                else f"ws://{host}/unserved{parts.path}"
            )
        if path[-1] in ("spot", "margin"):
            return f"ws://{host}/stream/ws"
        return f"ws://{host}/unserved{parts.path}"

    point_at_loopback(exchange, host, ws_url)
    exchange.options["fetchCurrencies"] = False
    exchange.options["fetchMargins"] = False
    return exchange


def main(argv: list[str] | None = None) -> None:
    LoopbackBinance.command_line(argv, "binance", __doc__.split("\n")[0], port=8765)


if __name__ == "__main__":
    main()
