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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import numpy as np
from aiohttp import WSMsgType, web

from terminal.market.candles import OHLCV
from terminal.market.resample import resample
from terminal.market.simulator.engine import SymbolMarket
from terminal.market.simulator.exchange import SimulatedExchange
from terminal.market.simulator.instruments import INSTRUMENTS, Instrument
from tests.loopback.filters import SymbolRules
from tests.loopback.order_api import OrderApi, OrderView
from tests.loopback.orders import ORDER_TYPES
from tests.loopback.userstream import UserStreams
from tests.loopback.wire import ApiError, check_signature, check_timestamp, dec, fmt, mandatory, norm_qty

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MINUTE_MS = 60_000
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
#: Weeks open on Monday 00:00 UTC (the epoch was a Thursday).
WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS
#: The market starts this long before ``start()``, so trades exist at once.
WARMUP_MS = 30_000
FIRST_UPDATE_ID = 1_000
DEFAULT_BALANCES = {"USDT": 10_000.0, "BTC": 1.0, "ETH": 10.0}
#: A socket whose unsent backlog grows past this is dropped, as Binance drops slow consumers.
MAX_BACKLOG = 200_000
_CLOSE = object()  # writer-queue sentinel: close the socket cleanly


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _RestFault:
    kind: str  # "slow" | "error" | "malformed"
    times: int
    path: str | None  # only requests whose path contains this
    status: int = 200
    seconds: float = 0.0
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return self.times > 0 and (self.path is None or self.path in path)


@dataclass
class _OrderFault:
    kind: str  # "timeout" | "lost" | "reject"
    times: int
    seconds: float = 0.0
    status: int = 400
    code: int = 0
    msg: str = ""


@dataclass(eq=False)
class _Socket:
    ws: web.WebSocketResponse
    request: web.Request
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    streams: dict[str, tuple[str, ...]] = field(default_factory=dict)  # stream name -> channel
    writer: asyncio.Task[None] | None = None
    closing: bool = False

    def send(self, text: Any) -> None:
        self.queue.put_nowait(text)


@dataclass
class _SymbolState:
    engine: SymbolMarket
    instrument: Instrument
    bids: dict[int, float]  # published book: price in ticks -> size
    asks: dict[int, float]
    update_id: int
    book_version: int
    trade_cursor: int
    pending_gap: int = 0
    kline_emitted: dict[str, tuple[int, int]] = field(default_factory=dict)  # interval -> (open, version)
    top_keys: tuple[list[int], list[int]] = ([], [])


class LoopbackBinance:
    """A Binance-spot-protocol server on 127.0.0.1 over the simulated market."""

    def __init__(
        self,
        seed: int = 1,
        *,
        speed: float = 1.0,
        history_days: int = 30,
        clock: Callable[[], int] = wall_clock_ms,
        instruments: tuple[Instrument, ...] = INSTRUMENTS,
        pump_interval: float = 0.1,
        ticker_interval: float = 1.0,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.pump_interval = pump_interval  # seconds between market steps (depth@100ms)
        self.ticker_interval = ticker_interval  # seconds between ticker events
        self.time_offset_ms = 0  # added to the server time seen by clients (/time, recvWindow)
        self.requests: list[str] = []  # "METHOD /path?query" of every REST request, in order
        self._background: set[asyncio.Task[None]] = set()  # faults playing out over time
        self.ws_connections = 0  # websocket handshakes accepted so far
        self.sim = SimulatedExchange(
            seed=seed,
            history_days=history_days,
            speed=speed,
            clock=lambda: clock() - WARMUP_MS,  # only sets where history ends
            instruments=instruments,
        )
        self._instruments = {i.market_id: i for i in instruments}
        self._keys: dict[str, str] = {}  # API key -> secret
        self._symbols: dict[str, _SymbolState] = {}
        self._sockets: set[_Socket] = set()
        self._channels: dict[tuple[str, ...], set[_Socket]] = {}
        self._faults: list[_RestFault] = []
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._burst_task: asyncio.Task[None] | None = None
        self._paused = False
        # open-time ranges [start, end) the klines endpoint leaves out, as exchanges
        # that skip minutes without trades do
        self.kline_holes: list[tuple[int, int]] = []
        self._next_ticker_ms = 0
        self._rng = random.Random(seed)
        self.depth_events = 0  # depth diff events published (all symbols)
        # user orders: accounts, matching, the user-data streams (see orders.py, order_api.py)
        self.order_requests = 0  # POST /api/v3/order requests received (whatever their fate)
        self._order_faults: list[_OrderFault] = []
        self._stopping = asyncio.Event()  # releases answers held by order_timeout at stop()
        ids = random.Random(seed + 1)  # ids and listen keys, apart from the market's generator
        self.order_api = OrderApi(
            {m: SymbolRules.of(i) for m, i in self._instruments.items()},
            self._levels,
            self._last_price,
            self._server_time,
            self._publish_user_event,
            ids,
        )
        self.user_streams = UserStreams(self._verify_ws_api, self._server_time, ids)

    # -- lifecycle --------------------------------------------------------------
    async def start(self, port: int = 0) -> LoopbackBinance:
        """Create the markets, bind 127.0.0.1:``port`` (0: a free one) and start the pump."""
        self._stopping.clear()
        now = self.clock()
        for market_id, instrument in self._instruments.items():
            engine = self.sim.engine(instrument.symbol)
            engine.advance_to(now)
            self._symbols[market_id] = _SymbolState(
                engine=engine,
                instrument=instrument,
                bids={},
                asks={},
                update_id=FIRST_UPDATE_ID + 1_000_000 * len(self._symbols),
                book_version=engine.book_version,
                trade_cursor=engine.trade_seq,
            )
            self._sync_book(market_id, self._symbols[market_id], emit=False)
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        self._port = port
        await self._listen()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._pump(), name="loopback-pump"))
        return self

    async def stop(self) -> None:
        """Stop the pump, close every connection and release the port."""
        self._stopping.set()
        for task in [*self._tasks, *([self._burst_task] if self._burst_task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._burst_task = None
        self._abort_all_connections()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._site = None

    async def __aenter__(self) -> LoopbackBinance:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_base(self) -> str:
        return f"http://{HOST}:{self._port}/api"

    @property
    def ws_base(self) -> str:
        return f"ws://{HOST}:{self._port}/stream/ws"

    def client(self, **config: Any) -> Any:
        """A ``ccxt.pro.binance`` pointed at this server (``enableRateLimit`` False
        unless given). The caller must ``await exchange.close()``."""
        import ccxt.pro

        exchange = ccxt.pro.binance({"enableRateLimit": False, **config})
        return configure(exchange, self)

    # -- credentials and inspection --------------------------------------------
    def add_key(self, key: str, secret: str, balances: dict[str, float] | None = None) -> None:
        """Accept signed requests with ``key``/``secret`` (HMAC-SHA256), for a fresh
        account holding ``balances`` (asset -> free amount; default
        ``DEFAULT_BALANCES``), which orders and fills then change. Adding a key
        again starts its account afresh."""
        self._keys[key] = secret
        self.order_api.desk.open_account(key, dict(DEFAULT_BALANCES if balances is None else balances))

    def orders(self, key: str) -> list[OrderView]:
        """Every order of ``key``'s account, oldest first, with client ids and states."""
        return self.order_api.views(key)

    def balances(self, key: str) -> dict[str, tuple[float, float]]:
        """``key``'s balances: asset -> (free, locked)."""
        account = self.order_api.desk.account(key)
        return {a: (float(b.free), float(b.locked)) for a, b in account.balances.items()}

    def trade_through(self, symbol: str, price: float, amount: float) -> None:
        """Match resting and stop orders as a public trade of ``amount`` at ``price``
        would (not shown on the public tape; works while paused)."""
        state = self._state(symbol)
        self.order_api.desk.on_trade(state.instrument.market_id, dec(price), dec(amount))

    def user_stream_count(self, key: str) -> int:
        """Websockets that receive ``key``'s user-data events now."""
        return self.user_streams.subscribers(key)

    def book(self, symbol: str, depth: int | None = None) -> tuple[list[list[float]], list[list[float]]]:
        """The published book (what a synced client must hold): bids high to low
        and asks low to high as ``[price, size]``, ``depth`` levels per side."""
        state = self._state(symbol)
        tick = state.instrument.tick
        bid_keys = sorted(state.bids, reverse=True)[:depth]
        ask_keys = sorted(state.asks)[:depth]
        return (
            [[_price(k, tick), state.bids[k]] for k in bid_keys],
            [[_price(k, tick), state.asks[k]] for k in ask_keys],
        )

    def update_id(self, symbol: str) -> int:
        """The ``u`` of the symbol's last depth event (= the REST ``lastUpdateId``)."""
        return self._state(symbol).update_id

    def engine(self, symbol: str) -> SymbolMarket:
        return self._state(symbol).engine

    @property
    def socket_count(self) -> int:
        """Websocket connections open now."""
        return len(self._sockets)

    def pause(self) -> None:
        """Freeze the market: no engine steps, no events (sockets stay open)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def skew_clock(self, offset_ms: int) -> None:
        """Make the server time clients see (``/time``, the recvWindow check) run
        ``offset_ms`` ahead of the market clock: ccxt then gets -1021 (InvalidNonce)."""
        self.time_offset_ms = offset_ms

    def depth_rate(self, per_second: float, symbol: str = "BTC/USDT") -> None:
        """Emit ``per_second`` extra depth diffs for ``symbol`` (0 stops), one level
        per event, with consecutive update ids: sizes of the top 20 levels change,
        now and then a level disappears (the pump restores the engine's book
        later). Up to ~5,000/s from one process. Every depth subscriber of the
        symbol receives every event (``@depth`` and ``@depth@100ms`` alike)."""
        if self._burst_task is not None:
            self._burst_task.cancel()
            self._burst_task = None
        if per_second > 0:
            state = self._state(symbol)
            self._burst_task = asyncio.get_running_loop().create_task(
                self._burst(state, per_second), name="loopback-depth-rate"
            )

    # -- faults -----------------------------------------------------------------
    def close_sockets(self) -> int:
        """Close every open websocket cleanly (close frame 1000, unsent data dropped).
        ccxt: the pending watch raises NetworkError; the next watch reconnects.
        Returns how many were closed."""
        for sock in self._sockets:
            _drain(sock.queue)
            sock.send(_CLOSE)
        return len(self._sockets)

    def abort_sockets(self) -> int:
        """Reset every open websocket's TCP connection (SO_LINGER 0: an RST, no
        close frame). Returns how many."""
        sockets = list(self._sockets)
        for sock in sockets:
            _abort(sock.request.transport)
        return len(sockets)

    async def go_down(self) -> None:
        """Stop listening and drop every connection, REST keep-alives included:
        new connections are refused until ``come_back()``. The market keeps moving."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        self._abort_all_connections()
        await asyncio.sleep(0)

    async def come_back(self) -> None:
        """Listen again on the same port (REST and websocket)."""
        if self._site is None:
            await self._listen()

    def depth_gap(self, symbol: str, skip: int = 5) -> None:
        """The symbol's next depth event skips ``skip`` update ids, once (the
        published book and ``lastUpdateId`` stay right, so a resync heals it)."""
        self._state(symbol).pending_gap += skip

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
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = json.dumps({"code": code, "msg": msg})
        self._faults.append(_RestFault("error", times, path, status=status, body=body, headers=headers))

    def malformed_rest(self, times: int = 1, path: str | None = None, body: str | None = None) -> None:
        """The next ``times`` REST requests get HTTP 200 with a garbage body
        (truncated JSON by default; pass ``body``, e.g. an HTML page, for another)."""
        garbage = '{"symbol": "BTCUSDT", "lastUpdateId": 1, "bids": [["6' if body is None else body
        self._faults.append(_RestFault("malformed", times, path, body=garbage))

    def slow_rest(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` REST requests wait ``seconds`` before being answered."""
        self._faults.append(_RestFault("slow", times, path, seconds=seconds))

    def malformed_ws_frame(self, text: str = '{"e":"depthUpdate","E":') -> int:
        """Send ``text`` (invalid JSON) as a text frame on every open websocket.
        Returns how many sockets got it."""
        for sock in self._sockets:
            sock.send(text)
        return len(self._sockets)

    def order_timeout(self, times: int = 1, seconds: float = 30.0) -> None:
        """The next ``times`` orders created are accepted (they exist, can fill,
        and their user-data events go out) but their HTTP answer is held
        ``seconds`` (released at ``stop()``): a client whose timeout is shorter
        gets RequestTimeout and must reconcile by client order id."""
        self._order_faults.append(_OrderFault("timeout", times, seconds=seconds))

    def order_answer_lost(self, times: int = 1) -> None:
        """The next ``times`` orders created are accepted, then the connection is
        reset before the answer (a network error after the order went in)."""
        self._order_faults.append(_OrderFault("lost", times))

    def reject_orders(self, code: int, msg: str, times: int = 1, status: int = 400) -> None:
        """The next ``times`` order creations (after authentication) are refused
        with HTTP ``status`` and ``{"code": code, "msg": msg}``; no order is made."""
        self._order_faults.append(_OrderFault("reject", times, status=status, code=code, msg=msg))

    def clear_faults(self) -> None:
        """Forget pending REST faults, order faults and depth gaps."""
        self._faults.clear()
        self._order_faults.clear()
        for state in self._symbols.values():
            state.pending_gap = 0

    # -- internals: network -----------------------------------------------------
    async def _listen(self) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, HOST, self._port, reuse_address=True)
        await site.start()
        self._site = site
        if not self._port:
            self._port = self._runner.addresses[0][1]

    def _abort_all_connections(self) -> None:
        server = self._runner.server if self._runner is not None else None
        for handler in list(server.connections) if server is not None else []:
            _abort(handler.transport)
        for sock in list(self._sockets):
            _abort(sock.request.transport)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/stream"):
            return await handler(request)
        self.requests.append(f"{request.method} {request.path_qs}")
        if request.method == "POST" and request.path == "/api/v3/order":
            self.order_requests += 1
        for kind in ("slow", "error", "malformed"):
            fault = next((f for f in self._faults if f.kind == kind and f.matches(request.path)), None)
            if fault is None:
                continue
            fault.times -= 1
            if kind == "slow":
                await asyncio.sleep(fault.seconds)
            elif kind == "error":
                return web.Response(
                    status=fault.status,
                    text=fault.body,
                    content_type="application/json",
                    headers=fault.headers,
                )
            else:
                return web.Response(status=200, text=fault.body, content_type="application/json")
        self._faults = [f for f in self._faults if f.times > 0]
        try:
            return await handler(request)
        except ApiError as e:
            return e.response()

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

    # -- faults on command, for a person watching the terminal -------------------
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

    async def _fault_by_name(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        depth = "/api/v3/depth"
        if name == "close":
            self.close_sockets()
        elif name == "abort":
            self.abort_sockets()
        elif name == "down":
            seconds = float(request.query.get("seconds", "10"))
            asyncio.get_running_loop().call_later(0.2, self._down_for_task, seconds)
        elif name == "gap":
            self.depth_gap("BTC/USDT")
        elif name in ("429", "418"):
            self.http_error(int(name), times=3, path=depth)
            self.close_sockets()
        elif name == "malformed-frame":
            self.malformed_ws_frame()
        elif name == "malformed-rest":
            self.malformed_rest(times=1, path=depth)
            self.close_sockets()
        elif name == "slow":
            self.slow_rest(15.0, times=4, path=depth)
            self.close_sockets()
        else:
            listing = "\n".join(f"  /_fault/{k}: {v}" for k, v in self.FAULTS.items())
            return web.Response(status=404, text=f"unknown fault '{name}'; known:\n{listing}\n")
        return web.Response(text=f"fault '{name}': {self.FAULTS[name]}\n")

    def _down_for_task(self, seconds: float) -> None:
        async def down_then_up() -> None:
            await self.go_down()
            await asyncio.sleep(seconds)
            await self.come_back()

        task = asyncio.get_running_loop().create_task(down_then_up())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
        step = INTERVALS[interval]
        offset = WEEK_OFFSET_MS if interval == "1w" else 0
        candles = engine.candles
        ts = candles.ts
        if not len(ts):
            return OHLCV.empty()

        def floor(t: int) -> int:
            return t - (t - offset) % step

        last_open = floor(int(ts[-1]))
        if end is not None:
            last_open = min(last_open, floor(end))
        if start is not None:
            first_open = floor(start) if floor(start) == start else floor(start) + step
            # like Binance: a start before the first candle answers from the first candle
            first_open = max(first_open, floor(int(ts[0])))
            last_open = min(last_open, first_open + (limit - 1) * step)
        else:
            first_open = last_open - (limit - 1) * step
        if last_open < first_open:
            return OHLCV.empty()
        i0 = int(np.searchsorted(ts, first_open))
        i1 = int(np.searchsorted(ts, last_open + step))
        data = candles.copy(i0, i1)
        if interval != "1m":
            shifted = OHLCV(data.ts - offset, data.open, data.high, data.low, data.close, data.volume)
            out = resample(shifted, step)
            data = OHLCV(out.ts + offset, out.open, out.high, out.low, out.close, out.volume)
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

    def _select_trades(self, request: web.Request, state: _SymbolState, from_param: str | None) -> list[Any]:
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
        fault = next((f for f in self._order_faults if f.times > 0), None)
        if fault is not None and fault.kind == "reject":
            fault.times -= 1
            raise ApiError(fault.status, fault.code, fault.msg)
        answer = self.order_api.new_order(key, params)
        if fault is not None:  # the order is in; now lose or hold its answer
            fault.times -= 1
            if fault.kind == "timeout":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), fault.seconds)
            else:
                _abort(request.transport)
        self._order_faults = [f for f in self._order_faults if f.times > 0]
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

    def _levels(self, market_id: str, asks: bool) -> list[tuple[Decimal, Decimal]]:
        """The published book's asks (low to high) or bids (high to low)."""
        state = self._symbols[market_id]
        side = state.asks if asks else state.bids
        tick = state.instrument.tick
        return [(dec(_price(k, tick)), dec(side[k])) for k in sorted(side, reverse=not asks)]

    def _last_price(self, market_id: str) -> Decimal:
        return dec(self._symbols[market_id].engine.last_price)

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
    def _server_time(self) -> int:
        return self.clock() + self.time_offset_ms

    def _state(self, symbol: str) -> _SymbolState:
        market_id = symbol.replace("/", "").upper()
        state = self._symbols.get(market_id)
        if state is None:
            raise KeyError(f"The loopback server does not list {symbol} (or was not started).")
        return state

    def _symbol_param(self, request: web.Request) -> tuple[str, _SymbolState]:
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
        candles = engine.candles
        now = engine.time_ms
        i0 = int(np.searchsorted(candles.ts, now - now % MINUTE_MS - 24 * 60 * MINUTE_MS + MINUTE_MS))
        last = engine.last_price
        if i0 < len(candles):
            open_ = float(candles.open[i0])
            high, low = float(candles.high[i0:].max()), float(candles.low[i0:].min())
            volume = float(candles.volume[i0:].sum())
            quote = float(
                (candles.volume[i0:] * (candles.high[i0:] + candles.low[i0:] + candles.close[i0:]) / 3).sum()
            )
        else:
            open_ = high = low = last
            volume = quote = 0.0
        open_time = now - 24 * 60 * MINUTE_MS
        trades = [t for t in engine.trades if t.timestamp >= open_time and t.id <= state.trade_cursor]
        first_id, last_id = (trades[0].id, trades[-1].id) if trades else (-1, -1)
        last_qty = trades[-1].amount if trades else 0.0
        tick = state.instrument.tick
        best_bid = max(state.bids) if state.bids else None
        best_ask = min(state.asks) if state.asks else None
        bid = (_price(best_bid, tick), state.bids[best_bid]) if best_bid is not None else (0.0, 0.0)
        ask = (_price(best_ask, tick), state.asks[best_ask]) if best_ask is not None else (0.0, 0.0)
        change = last - open_
        pct = change / open_ * 100 if open_ else 0.0
        vwap = quote / volume if volume else last
        if rest:
            return {
                "symbol": market_id,
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
        event: dict[str, Any] = {
            "e": "24hrTicker" if full else "24hrMiniTicker",
            "E": self.clock(),
            "s": market_id,
        }
        if full:
            event.update(
                {
                    "p": fmt(change),
                    "P": f"{pct:.3f}",
                    "w": fmt(vwap),
                    "x": fmt(open_),
                    "c": fmt(last),
                    "Q": fmt(last_qty),
                    "b": fmt(bid[0]),
                    "B": fmt(bid[1]),
                    "a": fmt(ask[0]),
                    "A": fmt(ask[1]),
                    "o": fmt(open_),
                    "h": fmt(high),
                    "l": fmt(low),
                    "v": fmt(volume),
                    "q": fmt(quote),
                    "O": open_time,
                    "C": now,
                    "F": first_id,
                    "L": last_id,
                    "n": len(trades),
                }
            )
        else:
            event.update(
                {
                    "c": fmt(last),
                    "o": fmt(open_),
                    "h": fmt(high),
                    "l": fmt(low),
                    "v": fmt(volume),
                    "q": fmt(quote),
                }
            )
        return event

    # -- websocket ----------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws_connections += 1
        sock = _Socket(ws, request)
        sock.writer = asyncio.get_running_loop().create_task(self._writer(sock), name="loopback-ws-writer")
        self._sockets.add(sock)
        on_frame: Callable[[_Socket, str], None] = self._on_frame
        if request.path.endswith("/ws-api/v3"):
            on_frame = self.user_streams.on_frame
        else:  # ".../<listenKey>": a user-data stream (public SUBSCRIBEs still work on it)
            self.user_streams.attach(sock, request.match_info.get("tail", "").lstrip("/"))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    on_frame(sock, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._drop(sock)
            if sock.writer is not None:
                if sock.closing:  # let the clean close finish its handshake
                    await asyncio.wait([sock.writer], timeout=2.0)
                sock.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sock.writer
        return ws

    async def _writer(self, sock: _Socket) -> None:
        try:
            while True:
                item = await sock.queue.get()
                if item is _CLOSE:
                    sock.closing = True
                    self._drop(sock)
                    await sock.ws.close(code=1000, message=b"closed by the loopback server")
                    return
                await sock.ws.send_str(item)
        except (ConnectionError, RuntimeError):
            self._drop(sock)

    def _drop(self, sock: _Socket) -> None:
        self.user_streams.drop(sock)
        if sock in self._sockets:
            self._sockets.discard(sock)
            for channel in set(sock.streams.values()):
                self._channels.get(channel, set()).discard(sock)
            sock.streams.clear()

    def _on_frame(self, sock: _Socket, text: str) -> None:
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
        if any(channel is None for _, channel in channels):
            bad = next(name for name, channel in channels if channel is None)
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
                self._channels.setdefault(channel, set()).add(sock)
            else:
                sock.streams.pop(name, None)
                if channel not in sock.streams.values():
                    self._channels.get(channel, set()).discard(sock)
        sock.send(json.dumps({"result": None, "id": req_id}))

    def _broadcast(self, channel: tuple[str, ...], message: dict[str, Any]) -> None:
        subscribers = self._channels.get(channel)
        if not subscribers:
            return
        text = json.dumps(message, separators=(",", ":"))
        for sock in list(subscribers):
            if sock.queue.qsize() > MAX_BACKLOG:
                log.warning("loopback: dropping a websocket that is %d messages behind", MAX_BACKLOG)
                _abort(sock.request.transport)
                self._drop(sock)
                continue
            sock.send(text)

    def _subscribed(self, channel: tuple[str, ...]) -> bool:
        return bool(self._channels.get(channel))

    # -- the market pump ----------------------------------------------------------
    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(self.pump_interval)
            if self._paused:
                continue
            try:
                self._step()
            except Exception:
                log.exception("loopback: the market pump failed a step")

    def _step(self) -> None:
        now = self.clock()
        self.sim.advance(now)
        for market_id, state in self._symbols.items():
            self._sync_book(market_id, state, emit=True)
            trades = self._publish_trades(market_id, state)
            self._publish_klines(market_id, state)
            for t in trades:  # user orders meet the market's trades (orders.py)
                self.order_api.desk.on_trade(market_id, dec(t.price), dec(t.amount))
        if now >= self._next_ticker_ms:
            self._next_ticker_ms = now + int(self.ticker_interval * 1000)
            for market_id in self._symbols:
                for full, kind in ((False, "miniTicker"), (True, "ticker")):
                    if self._subscribed((kind, market_id)):
                        self._broadcast((kind, market_id), self._ticker_stats(market_id, full))

    def _sync_book(self, market_id: str, state: _SymbolState, emit: bool) -> None:
        """Bring the published book to the engine's, as one diff event."""
        engine = state.engine
        tick = state.instrument.tick
        sides = []
        for theirs, ours in ((engine.bids, state.bids), (engine.asks, state.asks)):
            changes: list[list[str]] = []
            target = {k: q for k, q in ((k, norm_qty(q)) for k, q in theirs.items()) if q > 0}
            for k, q in target.items():
                if ours.get(k) != q:
                    ours[k] = q
                    changes.append([fmt(_price(k, tick)), fmt(q)])
            for k in [k for k in ours if k not in target]:
                del ours[k]
                changes.append([fmt(_price(k, tick)), fmt(0.0)])
            sides.append(changes)
        state.top_keys = (sorted(state.bids, reverse=True)[:20], sorted(state.asks)[:20])
        events = max(1, engine.book_version - state.book_version)
        state.book_version = engine.book_version
        if emit and (sides[0] or sides[1]):
            self._emit_depth(market_id, state, sides[0], sides[1], events)

    def _emit_depth(
        self, market_id: str, state: _SymbolState, bids: list[list[str]], asks: list[list[str]], events: int
    ) -> None:
        first = state.update_id + 1 + state.pending_gap
        state.pending_gap = 0
        state.update_id = first + events - 1
        self.depth_events += 1
        channel = ("depth", market_id)
        if self._subscribed(channel):
            self._broadcast(
                channel,
                {
                    "e": "depthUpdate",
                    "E": self.clock(),
                    "s": market_id,
                    "U": first,
                    "u": state.update_id,
                    "b": bids,
                    "a": asks,
                },
            )

    def _publish_trades(self, market_id: str, state: _SymbolState) -> list[Any]:
        """Publish the engine's new trades; returns them."""
        engine = state.engine
        if engine.trade_seq <= state.trade_cursor:
            return []
        new = []
        for t in reversed(engine.trades):
            if t.id <= state.trade_cursor:
                break
            new.append(t)
        new.reverse()
        state.trade_cursor = engine.trade_seq
        want_trade = self._subscribed(("trade", market_id))
        want_agg = self._subscribed(("aggTrade", market_id))
        now = self.clock()
        for t in new:
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
        return new

    def _publish_klines(self, market_id: str, state: _SymbolState) -> None:
        candles = state.engine.candles
        if not len(candles):
            return
        for interval in INTERVALS:
            channel = ("kline", market_id, interval)
            if not self._subscribed(channel):
                state.kline_emitted.pop(interval, None)
                continue
            step = INTERVALS[interval]
            offset = WEEK_OFFSET_MS if interval == "1w" else 0
            last_ts = int(candles.ts[-1])
            open_ = last_ts - (last_ts - offset) % step
            emitted = state.kline_emitted.get(interval)
            if emitted == (open_, candles.version):
                continue
            if emitted is not None and emitted[0] < open_:
                self._broadcast(
                    channel, self._kline_event(market_id, state, interval, emitted[0], closed=True)
                )
            self._broadcast(channel, self._kline_event(market_id, state, interval, open_, closed=False))
            state.kline_emitted[interval] = (open_, candles.version)

    def _kline_event(
        self, market_id: str, state: _SymbolState, interval: str, open_: int, closed: bool
    ) -> dict[str, Any]:
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

    async def _burst(self, state: _SymbolState, per_second: float) -> None:
        """Synthetic depth diffs at ``per_second`` (see ``depth_rate``)."""
        loop = asyncio.get_running_loop()
        market_id = state.instrument.market_id
        tick, lot = state.instrument.tick, state.instrument.lot
        rng = self._rng
        t0 = loop.time()
        sent = 0
        while True:
            await asyncio.sleep(0.002)
            if self._paused:
                t0, sent = loop.time(), 0
                continue
            due = int((loop.time() - t0) * per_second) - sent
            if due > per_second * 0.05:  # fell behind by more than 50 ms: do not catch up in a burst
                t0, sent = loop.time(), 0
                due = max(1, int(per_second * 0.002))
            for _ in range(due):
                is_bid = rng.random() < 0.5
                keys = state.top_keys[0 if is_bid else 1]
                if not keys:
                    continue
                book = state.bids if is_bid else state.asks
                key = keys[rng.randrange(len(keys))]
                size = book.get(key)
                if size is not None and rng.random() < 0.1:
                    del book[key]
                    qty = 0.0
                else:
                    base = size if size is not None else lot * 100
                    qty = norm_qty(max(lot, round(base * rng.uniform(0.5, 1.5) / lot) * lot))
                    book[key] = qty
                level = [[fmt(_price(key, tick)), fmt(qty)]]
                self._emit_depth(market_id, state, level if is_bid else [], [] if is_bid else level, 1)
            sent += due


def _channel(stream: str) -> tuple[str, ...] | None:
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


def _price(key: int, tick: float) -> float:
    return round(key * tick, 10)


def _ws_value(value: Any) -> str:
    """A WebSocket API parameter as it is signed (ccxt's urlencode: true/false)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = _opt_int(request, name)
    if value is None:
        return default
    if value < low:
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{low}'.")
    return min(value, high)


def _opt_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from None


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


def _abort(transport: asyncio.BaseTransport | None) -> None:
    """Reset a TCP connection: SO_LINGER 0 makes the close an RST."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport):
        transport.abort()
    else:
        transport.close()


def _loopback_urls(urls: Any, path: tuple[str, ...] = ()) -> Iterable[tuple[tuple[str, ...], str]]:
    if isinstance(urls, dict):
        for k, v in urls.items():
            yield from _loopback_urls(v, (*path, str(k)))
    elif isinstance(urls, list):
        for v in urls:
            yield from _loopback_urls(v, path)
    elif isinstance(urls, str):
        yield path, urls


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
    port = server.port if isinstance(server, LoopbackBinance) else int(server)
    host = f"{HOST}:{port}"
    ws_base = f"ws://{host}/stream/ws"

    def rewrite(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v, path) for v in value]
        if not isinstance(value, str):
            return value
        parts = urlsplit(value)
        if parts.scheme in ("ws", "wss"):
            if "ws-api" in path:  # the WebSocket API: spot's is served (user-data streams)
                return (
                    f"ws://{host}/stream{parts.path}"
                    if path[-1] == "spot"
                    else f"ws://{host}/unserved{parts.path}"
                )
            if path[-1] in ("spot", "margin"):
                return ws_base
            return f"ws://{host}/unserved{parts.path}"
        return urlunsplit(("http", host, parts.path, parts.query, ""))

    for section in ("api", "test", "demo"):
        if section in exchange.urls:
            exchange.urls[section] = rewrite(exchange.urls[section], (section,))
    fetch_markets = dict(exchange.options.get("fetchMarkets") or {})
    fetch_markets["types"] = ["spot"]
    exchange.options["fetchMarkets"] = fetch_markets
    exchange.options["fetchCurrencies"] = False
    exchange.options["fetchMargins"] = False
    for section in ("api", "test", "demo"):
        for path, url in _loopback_urls(exchange.urls.get(section, {}), (section,)):
            assert url.startswith((f"http://{host}/", f"ws://{host}/")), f"{'.'.join(path)} = {url}"
    return exchange


async def _serve(args: argparse.Namespace) -> None:
    server = LoopbackBinance(seed=args.seed, speed=args.speed, history_days=args.history_days)
    await server.start(args.port)
    if args.depth_rate:
        server.depth_rate(args.depth_rate, args.depth_symbol)
    # A key for trading on the demo comes through the environment (never the
    # command line, a file or the output): scripts/demo-loopback makes one.
    key, secret = os.environ.get("LOOPBACK_API_KEY"), os.environ.get("LOOPBACK_API_SECRET")
    if key and secret:
        server.add_key(key, secret, {"USDT": 100_000.0, "BTC": 2.0, "ETH": 20.0})
        print("Trading key: accepted (from the environment)")
    print(f"Loopback Binance (seed {args.seed}) on {HOST}:{server.port}")
    print(f"REST: {server.rest_base}   (ccxt urls['api']['public'] = {server.rest_base}/v3)")
    print(f"WS:   {server.ws_base}   (ccxt urls['api']['ws']['spot'])")
    print("Symbols: " + ", ".join(i.symbol for i in server._instruments.values()))
    print(f"Faults while you watch: curl http://{HOST}:{server.port}/_fault/<name>, names:")
    for name, what in LoopbackBinance.FAULTS.items():
        print(f"  {name:16} {what}")
    print("Ctrl+C to stop.", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()
        print("Stopped.", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.loopback.binance", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=1.0, help="market event rate multiplier")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--depth-rate", type=float, default=0.0, help="extra depth diffs per second")
    parser.add_argument("--depth-symbol", default="BTC/USDT")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
