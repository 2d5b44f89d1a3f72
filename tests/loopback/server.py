"""What the loopback exchange servers (``binance.py``, ``okx.py``) share: the
aiohttp plumbing and everything that does not depend on the protocol spoken.

``LoopbackServer`` holds it; a protocol's server subclasses it and fills in the
hooks (its routes, its websocket frames, how a book update, a trade, a ticker
or a candle is written, its error answers). The base class runs:

- the lifecycle: ``start`` / ``stop`` / ``async with``, 127.0.0.1 on a free or
  given port, ``go_down`` / ``come_back`` on the same port;
- the REST middleware: the request log, ``order_requests``, and the REST
  faults (``http_error`` bodies come from the protocol; ``malformed_rest``,
  ``slow_rest``), then the protocol's error answers;
- websockets: one writer task per socket (a queue, so a slow client never
  blocks the pump), ``close_sockets`` / ``abort_sockets`` /
  ``malformed_ws_frame``, channels, ``_broadcast`` with the backlog guard and
  ``mute`` / ``unmute``;
- the market: the simulator, the pump that advances it and publishes what
  changed (the published book as a diff with its update ids, new trades,
  candles, tickers), ``depth_rate`` bursts, ``book`` / ``book_at`` from the
  kept versions, ``pause`` / ``resume``, ``skew_clock``;
- accounts on the shared ``OrderDesk`` and the order faults
  (``order_timeout``, ``order_answer_lost``; ``reject_orders`` answers in the
  protocol's words);
- ``/_fault/<name>`` for a person watching the terminal, and the command line
  (``python -m tests.loopback.binance`` / ``.okx``).
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
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Protocol, Self, cast
from urllib.parse import SplitResult, urlsplit, urlunsplit

from aiohttp import WSMsgType, web

from terminal.market.simulator.engine import SymbolMarket, Trade
from terminal.market.simulator.exchange import SimulatedExchange
from terminal.market.simulator.instruments import INSTRUMENTS, Instrument
from tests.loopback.filters import SymbolRules
from tests.loopback.market import Book, BookLists, bar_open, book_lists
from tests.loopback.order_api import OrderView
from tests.loopback.orders import DeskApi, DeskMarket
from tests.loopback.versions import BookVersions, Undo
from tests.loopback.wire import dec, norm_qty

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: The market starts this long before ``start()``, so trades exist at once.
WARMUP_MS = 30_000
#: The first symbol's first book update id; each further symbol starts a million higher.
FIRST_UPDATE_ID = 1_000
DEFAULT_BALANCES = {"USDT": 10_000.0, "BTC": 1.0, "ETH": 10.0}
#: What the command line's key (from the environment) holds.
DEMO_BALANCES = {"USDT": 100_000.0, "BTC": 2.0, "ETH": 20.0}
#: A socket whose unsent backlog grows past this is dropped, as exchanges drop slow consumers.
MAX_BACKLOG = 200_000
CLOSE = object()  # writer-queue sentinel: close the socket cleanly

Channel = tuple[str, ...]  # what a socket subscribes to: (kind, market id, ...)
FrameHandler = Callable[[Any, str], None]  # (socket, text frame)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class RestFault:
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
class OrderFault:
    kind: str  # "timeout" | "lost" | "reject"
    times: int
    seconds: float = 0.0
    status: int = 200
    code: int | str = 0
    msg: str = ""


@dataclass(eq=False)
class Socket:
    """One websocket connection; frames go out through ``queue`` and its writer task."""

    ws: web.WebSocketResponse
    request: web.Request
    _: KW_ONLY
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None
    closing: bool = False

    def send(self, text: Any) -> None:
        self.queue.put_nowait(text)

    def leave_all(self) -> set[Channel]:
        """Forget every subscription; returns the channels it was in."""
        raise NotImplementedError


@dataclass(kw_only=True)
class SymbolState:
    """One symbol's published market."""

    engine: SymbolMarket
    instrument: Instrument
    market_id: str  # the protocol's id: "BTCUSDT", "BTC-USDT"
    book: Book
    update_id: int  # the id of the last book update (Binance's ``u``, OKX's ``seqId``)
    book_version: int  # the engine's book version the published book is at
    trade_cursor: int  # the id of the last published trade
    versions: BookVersions  # recent books, by update id
    pending_gap: int = 0  # ids the next book update skips (depth_gap)
    candle_emitted: dict[str, tuple[int, int]] = field(default_factory=dict)  # bar -> (open, version)

    def clear_faults(self) -> None:
        self.pending_gap = 0


class ErrorAnswer(Protocol):
    """A protocol's error exception: raised by a handler, answered by the middleware."""

    def response(self) -> web.Response: ...


class LoopbackServer[S: SymbolState]:
    """The protocol-independent part of a loopback exchange server on 127.0.0.1
    over the simulated market (see the module docstring); ``S``: its symbols' state."""

    # -- what each protocol sets ---------------------------------------------------
    EXCHANGE: ClassVar[str]  # "Binance", "OKX": for the command line and the log
    TASK_PREFIX: ClassVar[str]  # names of the server's asyncio tasks
    SYMBOL_SEPARATOR: ClassVar[str]  # "BTC/USDT" -> market id: "BTCUSDT" with "", "BTC-USDT" with "-"
    NOT_REST: ClassVar[tuple[str, ...]]  # path prefixes that are not logged and not faulted
    ORDER_PATHS: ClassVar[tuple[str, ...]]  # POSTs that count as order_requests
    ERROR: ClassVar[type[Exception]]  # the protocol's ErrorAnswer
    MALFORMED_BODY: ClassVar[str]  # malformed_rest()'s default garbage
    BARS: ClassVar[dict[str, tuple[int, int]]]  # candle bar -> (length, offset) it opens at
    FAULTS: ClassVar[dict[str, str]]  # /_fault/<name> -> what it does
    FAULT_PATH: ClassVar[str | None]  # the REST requests /_fault/429 etc. hit (None: any)
    KEY_PARTS: ClassVar[tuple[str, ...]] = ("KEY", "SECRET")  # add_key()'s, from LOOPBACK_API_<PART>
    CCXT_ID: ClassVar[str]  # the ccxt.pro class that speaks the protocol
    REST_PATH: ClassVar[str]  # rest_base = http://127.0.0.1:PORT<REST_PATH>
    WS_PATH: ClassVar[str]  # ws_base = ws://127.0.0.1:PORT<WS_PATH>
    State: ClassVar[type[SymbolState]] = SymbolState  # S

    order_api: DeskApi  # set by _setup()

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
        keep_versions: int = 1024,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.keep_versions = keep_versions  # book updates per symbol that book_at() can go back
        self.pump_interval = pump_interval  # seconds between market steps (book updates every 100 ms)
        self.ticker_interval = ticker_interval  # seconds between ticker pushes
        self.time_offset_ms = 0  # added to the server time seen by clients (skew_clock)
        self.requests: list[str] = []  # "METHOD /path?query" of every REST request, in order
        self.ws_connections = 0  # websocket handshakes accepted so far
        self.depth_events = 0  # book updates published (all symbols)
        self.order_requests = 0  # order-placing POSTs received (whatever their fate)
        self.sim = SimulatedExchange(
            seed=seed,
            history_days=history_days,
            speed=speed,
            clock=lambda: clock() - WARMUP_MS,  # only sets where history ends
            instruments=instruments,
        )
        self._instruments = {self._market_id(i.symbol): i for i in instruments}
        self.rules: dict[str, SymbolRules] = {m: self._rules_of(i) for m, i in self._instruments.items()}
        self._symbols: dict[str, S] = {}
        self._sockets: set[Socket] = set()
        self._channels: dict[Channel, set[Socket]] = {}
        self._faults: list[RestFault] = []
        self._order_faults: list[OrderFault] = []
        self._refused: set[str] = set()  # refuse_subscription() targets
        self._muted: set[Channel] = set()  # mute() channels: nothing is sent on them
        self._background: set[asyncio.Task[None]] = set()  # faults playing out over time
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._burst_task: asyncio.Task[None] | None = None
        self._paused = False
        self._printed = 0  # trades made by print_trade
        self._next_ticker_ms = 0
        self._rng = random.Random(seed)  # synthetic depth
        self._ids = random.Random(seed + 1)  # ids, apart from the market's generator
        self._stopping = asyncio.Event()  # releases answers held by order_timeout at stop()
        self._desk_market = DeskMarket(self.rules, self._levels, self._last_price, self._server_time)
        self._setup()

    # -- hooks: what each protocol fills in ------------------------------------------
    def _setup(self) -> None:
        """The protocol's own parts, at the end of ``__init__``: ``order_api`` (over
        ``_desk_market``) at least."""
        raise NotImplementedError

    def _rules_of(self, instrument: Instrument) -> SymbolRules:
        raise NotImplementedError

    def _new_book(self, market_id: str, instrument: Instrument) -> Book:
        raise NotImplementedError

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _accept(self, ws: web.WebSocketResponse, request: web.Request) -> tuple[Socket, FrameHandler]:
        """A new websocket connection and what handles its text frames."""
        raise NotImplementedError

    def _push_book(self, state: S, bids: list[list[str]], asks: list[list[str]], prev: int) -> None:
        """Send a book update (``prev``: the id the update follows, gaps included)."""
        raise NotImplementedError

    def _publish_trades(self, state: S, trades: list[Trade]) -> None:
        raise NotImplementedError

    def _publish_tickers(self, state: S) -> None:
        raise NotImplementedError

    def _candle_channel(self, state: S, bar: str) -> Channel:
        raise NotImplementedError

    def _candle_push(self, state: S, bar: str, open_: int, closed: bool) -> dict[str, Any]:
        raise NotImplementedError

    def _cli_urls(self) -> tuple[str, str]:
        """What the command line says about ``rest_base`` and ``ws_base``."""
        raise NotImplementedError

    # -- lifecycle --------------------------------------------------------------
    async def start(self, port: int = 0) -> Self:
        """Create the markets, bind 127.0.0.1:``port`` (0: a free one) and start the pump."""
        self._stopping.clear()
        now = self.clock()
        for market_id, instrument in self._instruments.items():
            engine = self.sim.engine(instrument.symbol)
            engine.advance_to(now)
            state = self.State(
                engine=engine,
                instrument=instrument,
                market_id=market_id,
                book=self._new_book(market_id, instrument),
                update_id=FIRST_UPDATE_ID + 1_000_000 * len(self._symbols),
                book_version=engine.book_version,
                trade_cursor=engine.trade_seq,
                versions=BookVersions(self.keep_versions),
            )
            self._symbols[market_id] = cast(S, state)
            self._sync_book(self._symbols[market_id], emit=False)
        app = web.Application(middlewares=[self._middleware])
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        self._port = port
        await self._listen()
        pump = asyncio.get_running_loop().create_task(self._pump(), name=f"{self.TASK_PREFIX}-pump")
        self._tasks.append(pump)
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

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_base(self) -> str:
        """The REST base URL as ccxt's ``urls['api']`` hold it (Binance's ``public``
        without ``/v3``; OKX's ``rest``, to which ccxt adds ``/api/v5/...``)."""
        return f"http://{HOST}:{self._port}{self.REST_PATH}"

    @property
    def ws_base(self) -> str:
        """The websocket base URL as ccxt's ``urls['api']['ws']`` hold it (Binance's
        ``spot``; OKX's, to which ccxt adds ``/public``, ``/private``, ``/business``)."""
        return f"ws://{HOST}:{self._port}{self.WS_PATH}"

    def client(self, **config: Any) -> Any:
        """A ``ccxt.pro`` client of the protocol pointed at this server
        (``enableRateLimit`` False unless given; to trade, pass ``apiKey``,
        ``secret`` and, for OKX, ``password``, the passphrase). The caller must
        ``await exchange.close()``."""
        import ccxt.pro

        return self._configure(getattr(ccxt.pro, self.CCXT_ID)({"enableRateLimit": False, **config}))

    def _configure(self, exchange: Any) -> Any:
        """The protocol module's ``configure(exchange, self)``."""
        raise NotImplementedError

    # -- accounts and inspection -------------------------------------------------------
    #: add_key(key, secret, [passphrase,] balances=None): a fresh account for the protocol's credentials
    add_key: Callable[..., None]

    def _open_account(self, key: str, balances: dict[str, float] | None) -> None:
        self.order_api.desk.open_account(key, dict(DEFAULT_BALANCES if balances is None else balances))

    def orders(self, key: str) -> list[OrderView]:
        """Every order of ``key``'s account, oldest first, with client ids and
        states, in the protocol's names (see README.md)."""
        return self.order_api.views(key)

    def balances(self, key: str) -> dict[str, tuple[float, float]]:
        """``key``'s balances: asset -> (free, locked)."""
        account = self.order_api.desk.account(key)
        return {a: (float(b.free), float(b.locked)) for a, b in account.balances.items()}

    def trade_through(self, symbol: str, price: float, amount: float) -> None:
        """Match resting and stop orders as a public trade of ``amount`` at ``price``
        would (not shown on the public tape; works while paused)."""
        self.order_api.desk.on_trade(self._state(symbol).market_id, dec(price), dec(amount))

    def print_trade(self, symbol: str, price: float, amount: float, side: str = "sell") -> None:
        """A public trade of ``amount`` at ``price`` on the tape (the trade streams
        publish it) that matches resting and stop orders as ``trade_through`` does.
        Works while paused; its id follows the engine's, past any it made."""
        state = self._state(symbol)
        self._printed += 1
        trade = Trade(10**9 + self._printed, self.clock(), price, amount, side)
        self._publish_trades(state, [trade])
        self.order_api.desk.on_trade(state.market_id, dec(price), dec(amount))

    def trade_watchers(self, symbol: str) -> int:
        """Sockets subscribed to ``symbol``'s public trades (Binance's "trade" and
        "aggTrade" streams, OKX's "trades" channel)."""
        market_id = self._state(symbol).market_id
        return sum(len(self._channels.get((kind, market_id), ())) for kind in ("trade", "aggTrade", "trades"))

    def book(self, symbol: str, depth: int | None = None) -> BookLists:
        """The published book (what a synced client must hold): bids high to low
        and asks low to high as ``[price, size]``, ``depth`` levels per side."""
        state = self._state(symbol)
        return book_lists(state.book.bids, state.book.asks, state.instrument.tick, depth)

    def update_id(self, symbol: str) -> int:
        """The id of the symbol's last book update (Binance's ``u`` = the REST
        ``lastUpdateId``; OKX's ``seqId``): a synced client's ``nonce``."""
        return self._state(symbol).update_id

    def book_at(self, symbol: str, update_id: int, depth: int | None = None) -> BookLists:
        """The published book as it was right after the update with id ``update_id``
        (what a client whose book has that ``nonce`` holds), like ``book()``. The
        last ``keep_versions`` updates per symbol are kept; KeyError for an id older
        than that, or one that was never the id of an update (skipped by
        ``depth_gap``; on Binance, inside an event's ``U..u`` span)."""
        state = self._state(symbol)
        bids, asks = state.versions.rebuild(update_id, state.update_id, state.book.bids, state.book.asks)
        return book_lists(bids, asks, state.instrument.tick, depth)

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
        """Make the server time clients see (the time endpoint, the timestamp
        checks of signed requests) run ``offset_ms`` ahead of the market clock."""
        self.time_offset_ms = offset_ms

    def depth_rate(self, per_second: float, symbol: str = "BTC/USDT") -> None:
        """Publish ``per_second`` extra book updates for ``symbol`` (0 stops), one
        level each, with consecutive ids: sizes of the top 20 levels change, now
        and then a level disappears (the pump restores the engine's book later).
        Up to ~5,000/s from one process; every book subscriber of the symbol
        receives every update."""
        if self._burst_task is not None:
            self._burst_task.cancel()
            self._burst_task = None
        if per_second > 0:
            self._burst_task = asyncio.get_running_loop().create_task(
                self._burst(self._state(symbol), per_second), name=f"{self.TASK_PREFIX}-depth-rate"
            )

    # -- faults -----------------------------------------------------------------
    def close_sockets(self) -> int:
        """Close every open websocket cleanly (close frame 1000, unsent data dropped).
        ccxt: the pending watch raises NetworkError; the next watch reconnects.
        Returns how many were closed."""
        for sock in self._sockets:
            _drain(sock.queue)
            sock.send(CLOSE)
        return len(self._sockets)

    def abort_sockets(self) -> int:
        """Reset every open websocket's TCP connection (SO_LINGER 0: an RST, no
        close frame). Returns how many."""
        sockets = list(self._sockets)
        for sock in sockets:
            abort(sock.request.transport)
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
        """The symbol's next book update skips ``skip`` update ids, once (the
        published book stays right, so a resync heals it). ccxt: Binance
        ChecksumError, OKX InvalidNonce."""
        self._state(symbol).pending_gap += skip

    def refuse_subscription(self, target: str) -> None:
        """Answer every later subscribe that ``target`` names (a symbol
        ``"BTC/USDT"``, the protocol's market id, a stream kind or channel such as
        ``"depth"`` / ``"books"``, or a whole stream name) with the protocol's
        error for a stream it does not know, until ``clear_faults()``."""
        self._refused.add(target)

    def malformed_rest(self, times: int = 1, path: str | None = None, body: str | None = None) -> None:
        """The next ``times`` REST requests get HTTP 200 with a garbage body
        (truncated JSON by default; pass ``body``, e.g. an HTML page, for another)."""
        garbage = self.MALFORMED_BODY if body is None else body
        self._faults.append(RestFault("malformed", times, path, body=garbage))

    def slow_rest(self, seconds: float, times: int = 1, path: str | None = None) -> None:
        """The next ``times`` REST requests wait ``seconds`` before being answered."""
        self._faults.append(RestFault("slow", times, path, seconds=seconds))

    #: http_error(status=429, times=1, retry_after=None, path=None, code=None, ...): the
    #: next ``times`` REST requests get HTTP ``status`` with the protocol's error body
    http_error: Callable[..., None]

    def _error_fault(
        self, status: int, times: int, retry_after: int | None, path: str | None, body: str
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._faults.append(RestFault("error", times, path, status=status, body=body, headers=headers))

    def malformed_ws_frame(self, text: str = "{") -> int:
        """Send ``text`` (invalid JSON; each server has its own default) as a text
        frame on every open websocket. Returns how many sockets got it."""
        for sock in self._sockets:
            sock.send(text)
        return len(self._sockets)

    def order_timeout(self, times: int = 1, seconds: float = 30.0) -> None:
        """The next ``times`` order requests are carried out (the orders exist, can
        fill, and their events go out) but their HTTP answer is held ``seconds``
        (released at ``stop()``): a client whose timeout is shorter gets
        RequestTimeout and must reconcile by client order id."""
        self._order_faults.append(OrderFault("timeout", times, seconds=seconds))

    def order_answer_lost(self, times: int = 1) -> None:
        """The next ``times`` order requests are carried out, then the connection is
        reset before the answer (a network error after the order went in)."""
        self._order_faults.append(OrderFault("lost", times))

    def mute(self, channel: str, symbol: str) -> None:
        """Send nothing more on one stream of ``symbol`` (``channel``: the
        protocol's name, OKX's ``"books"``, ``"trades"``, ``"tickers"``,
        ``"candle1m"``, ...; Binance's server names it ``kind``), not even OKX's
        snapshot on a new subscribe, while the connection and every other stream go
        on: a stream gone silent. Update ids go on, so after ``unmute()`` a client
        that kept its book sees a gap. ``unmute()`` ends it."""
        self._muted.add((channel, self._state(symbol).market_id))

    def unmute(self) -> None:
        self._muted.clear()

    def clear_faults(self) -> None:
        """Forget pending REST and order faults, refused subscriptions and each
        symbol's pending book faults (gaps; OKX: bad checksums, garbled updates)."""
        self._faults.clear()
        self._order_faults.clear()
        self._refused.clear()
        for state in self._symbols.values():
            state.clear_faults()

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
            abort(handler.transport)
        for sock in list(self._sockets):
            abort(sock.request.transport)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(self.NOT_REST):
            return await handler(request)
        self.requests.append(f"{request.method} {request.path_qs}")
        if request.method == "POST" and request.path in self.ORDER_PATHS:
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
        except self.ERROR as e:
            return cast(ErrorAnswer, e).response()

    def _order_fault(self) -> OrderFault | None:
        """The order fault the next order request meets; a ``reject`` is used up
        here (the caller refuses the request in its protocol's words)."""
        fault = next((f for f in self._order_faults if f.times > 0), None)
        if fault is not None and fault.kind == "reject":
            fault.times -= 1
        return fault

    async def _order_placed(self, request: web.Request, fault: OrderFault | None) -> None:
        """The orders are in: now hold (``timeout``) or lose (``lost``) the answer."""
        if fault is not None:
            fault.times -= 1
            if fault.kind == "timeout":
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), fault.seconds)
            else:
                abort(request.transport)
        self._order_faults = [f for f in self._order_faults if f.times > 0]

    # -- faults on command, for a person watching the terminal -------------------
    async def _fault_by_name(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.FAULTS or not self._named_fault(name, request):
            listing = "\n".join(f"  /_fault/{k}: {v}" for k, v in self.FAULTS.items())
            return web.Response(status=404, text=f"unknown fault '{name}'; known:\n{listing}\n")
        return web.Response(text=f"fault '{name}': {self.FAULTS[name]}\n")

    def _named_fault(self, name: str, request: web.Request) -> bool:
        """Inject the fault ``FAULTS[name]``; False for a name the server does not know."""
        path = self.FAULT_PATH
        if name == "close":
            self.close_sockets()
        elif name == "abort":
            self.abort_sockets()
        elif name == "down":
            seconds = float(request.query.get("seconds", "10"))
            asyncio.get_running_loop().call_later(0.2, self._down_for_task, seconds)
        elif name == "gap":
            self.depth_gap("BTC/USDT")
        elif name == "malformed-frame":
            self.malformed_ws_frame()
        elif name in ("429", "418", "malformed-rest", "slow"):
            if name == "malformed-rest":
                self.malformed_rest(times=1, path=path)
            elif name == "slow":
                self.slow_rest(15.0, times=4, path=path)
            else:
                self.http_error(int(name), times=3, path=path)
            # a REST fault also drops the sockets: the terminal resubscribes and meets it
            self.close_sockets()
        else:
            return False
        return True

    def _down_for_task(self, seconds: float) -> None:
        async def down_then_up() -> None:
            await self.go_down()
            await asyncio.sleep(seconds)
            await self.come_back()

        task = asyncio.get_running_loop().create_task(down_then_up())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- helpers -----------------------------------------------------------------
    def _server_time(self) -> int:
        return self.clock() + self.time_offset_ms

    def _state(self, symbol: str) -> S:
        state = self._symbols.get(self._market_id(symbol))
        if state is None:
            raise KeyError(f"The loopback server does not list {symbol} (or was not started).")
        return state

    def _market_id(self, symbol: str) -> str:
        """A unified symbol ("BTC/USDT") as the protocol's market id."""
        return symbol.replace("/", self.SYMBOL_SEPARATOR).upper()

    def _levels(self, market_id: str, asks: bool) -> list[tuple[Decimal, Decimal]]:
        """The published book's asks (low to high) or bids (high to low), for the desk."""
        return self._symbols[market_id].book.desk_levels(asks)

    def _last_price(self, market_id: str) -> Decimal:
        return dec(self._symbols[market_id].engine.last_price)

    # -- websocket ----------------------------------------------------------------
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.ws_connections += 1
        sock, on_frame = self._accept(ws, request)
        loop = asyncio.get_running_loop()
        sock.writer = loop.create_task(self._writer(sock), name=f"{self.TASK_PREFIX}-ws-writer")
        self._sockets.add(sock)
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

    async def _writer(self, sock: Socket) -> None:
        try:
            while True:
                item = await sock.queue.get()
                if item is CLOSE:
                    sock.closing = True
                    self._drop(sock)
                    await sock.ws.close(code=1000, message=b"closed by the loopback server")
                    return
                await sock.ws.send_str(item)
        except (ConnectionError, RuntimeError):
            self._drop(sock)

    def _drop(self, sock: Socket) -> None:
        if sock in self._sockets:
            self._sockets.discard(sock)
            for channel in sock.leave_all():
                self._channels.get(channel, set()).discard(sock)

    def _join(self, sock: Socket, channel: Channel) -> None:
        self._channels.setdefault(channel, set()).add(sock)

    def _leave(self, sock: Socket, channel: Channel) -> None:
        self._channels.get(channel, set()).discard(sock)

    def _broadcast(self, channel: Channel, message: dict[str, Any] | str) -> None:
        subscribers = self._channels.get(channel)
        if not subscribers or channel in self._muted:
            return
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        for sock in list(subscribers):
            if sock.queue.qsize() > MAX_BACKLOG:
                log.warning("loopback: dropping a websocket that is %d messages behind", MAX_BACKLOG)
                abort(sock.request.transport)
                self._drop(sock)
                continue
            sock.send(text)

    def _subscribed(self, channel: Channel) -> bool:
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
                log.exception("loopback: the %s market pump failed a step", self.EXCHANGE)

    def _step(self) -> None:
        now = self.clock()
        self.sim.advance(now)
        for state in self._symbols.values():
            self._sync_book(state, emit=True)
            trades = self._new_trades(state)
            self._publish_trades(state, trades)
            self._publish_candles(state)
            for t in trades:  # user orders meet the market's trades (orders.py)
                self.order_api.desk.on_trade(state.market_id, dec(t.price), dec(t.amount))
        if now >= self._next_ticker_ms:
            self._next_ticker_ms = now + int(self.ticker_interval * 1000)
            for state in self._symbols.values():
                self._publish_tickers(state)

    def _sync_book(self, state: S, emit: bool) -> None:
        """Bring the published book to the engine's, as one update."""
        engine, book = state.engine, state.book
        sides: list[list[list[str]]] = []
        undo: list[Undo] = []
        for is_bid, theirs in ((True, engine.bids), (False, engine.asks)):
            ours = book.side(is_bid)
            target = {k: q for k, q in ((k, norm_qty(q)) for k, q in theirs.items()) if q > 0}
            gone = [k for k in ours if k not in target]
            changed = [(k, q) for k, q in target.items() if ours.get(k) != q] + [(k, 0.0) for k in gone]
            levels = [book.set(is_bid, k, q) for k, q in changed]
            sides.append([level for level, _ in levels])
            undo.extend(change for _, change in levels)
        book.synced()
        events = max(1, engine.book_version - state.book_version)
        state.book_version = engine.book_version
        if emit and (sides[0] or sides[1]):
            self._emit_book(state, sides[0], sides[1], events, undo)

    def _emit_book(
        self,
        state: S,
        bids: list[list[str]],
        asks: list[list[str]],
        events: int,
        undo: list[Undo] | tuple[Undo, ...],
    ) -> None:
        """A book update covering ``events`` engine events: the next update ids
        (after any pending gap), the version kept, then the protocol's push."""
        before = state.update_id
        prev = state.update_id + state.pending_gap
        state.pending_gap = 0
        state.update_id = prev + events
        state.versions.record(before, state.update_id, undo)
        self.depth_events += 1
        self._push_book(state, bids, asks, prev)

    def _new_trades(self, state: S) -> list[Trade]:
        """The engine's trades since the last published one, oldest first; they
        are published from now on."""
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
        return new

    def _candle_open(self, state: S, bar: str) -> int:
        """When the symbol's current ``bar`` candle opened."""
        return bar_open(int(state.engine.candles.ts[-1]), *self.BARS[bar])

    def _publish_candles(self, state: S) -> None:
        """Each subscribed bar's current candle when it changed; the finished one
        once more (closed) when the next opens."""
        candles = state.engine.candles
        if not len(candles):
            return
        for bar in self.BARS:
            channel = self._candle_channel(state, bar)
            if not self._subscribed(channel):
                state.candle_emitted.pop(bar, None)
                continue
            open_ = self._candle_open(state, bar)
            emitted = state.candle_emitted.get(bar)
            if emitted == (open_, candles.version):
                continue
            if emitted is not None and emitted[0] < open_:
                self._broadcast(channel, self._candle_push(state, bar, emitted[0], closed=True))
            self._broadcast(channel, self._candle_push(state, bar, open_, closed=False))
            state.candle_emitted[bar] = (open_, candles.version)

    async def _burst(self, state: S, per_second: float) -> None:
        """Synthetic book updates at ``per_second`` (see ``depth_rate``)."""
        loop = asyncio.get_running_loop()
        lot = state.instrument.lot
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
                keys = state.book.top(is_bid)
                if not keys:
                    continue
                key = keys[rng.randrange(len(keys))]
                size = state.book.side(is_bid).get(key)
                if size is not None and rng.random() < 0.1:
                    qty = 0.0
                else:
                    base = size if size is not None else lot * 100
                    qty = norm_qty(max(lot, round(base * rng.uniform(0.5, 1.5) / lot) * lot))
                level, change = state.book.set(is_bid, key, qty)
                self._emit_book(state, [level] if is_bid else [], [] if is_bid else [level], 1, (change,))
            sent += due

    # -- the command line -------------------------------------------------------------
    @classmethod
    def command_line(cls, argv: list[str] | None, module: str, description: str, port: int) -> None:
        """``python -m tests.loopback.<module>``: serve until Ctrl+C."""
        parser = argparse.ArgumentParser(prog=f"python -m tests.loopback.{module}", description=description)
        parser.add_argument("--port", type=int, default=port)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--speed", type=float, default=1.0, help="market event rate multiplier")
        parser.add_argument("--history-days", type=int, default=30)
        parser.add_argument("--depth-rate", type=float, default=0.0, help="extra book updates per second")
        parser.add_argument("--depth-symbol", default="BTC/USDT")
        args = parser.parse_args(argv)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(cls._serve(args))

    @classmethod
    async def _serve(cls, args: argparse.Namespace) -> None:
        server = cls(seed=args.seed, speed=args.speed, history_days=args.history_days)
        await server.start(args.port)
        if args.depth_rate:
            server.depth_rate(args.depth_rate, args.depth_symbol)
        # A key for trading on the demo comes through the environment (never the
        # command line, a file or the output): scripts/demo-loopback makes one.
        key = [os.environ.get(f"LOOPBACK_API_{part}") for part in cls.KEY_PARTS]
        if all(key):
            server.add_key(*key, DEMO_BALANCES)
            print("Trading key: accepted (from the environment)")
        rest, ws = server._cli_urls()
        print(f"Loopback {cls.EXCHANGE} (seed {args.seed}) on {HOST}:{server.port}")
        print(f"REST: {rest}")
        print(f"WS:   {ws}")
        print("Symbols: " + ", ".join(i.symbol for i in server._instruments.values()))
        print(f"Faults while you watch: curl http://{HOST}:{server.port}/_fault/<name>, names:")
        for name, what in cls.FAULTS.items():
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


def _drain(queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        queue.get_nowait()


def abort(transport: asyncio.BaseTransport | None) -> None:
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


def point_at_loopback(
    exchange: Any, host: str, ws_url: Callable[[tuple[str, ...], SplitResult], str]
) -> None:
    """Rewrite every URL under ``exchange.urls['api']``, ``['test']`` and
    ``['demo']`` to ``host`` (127.0.0.1:PORT): http(s) URLs keep their path and
    query, websocket URLs become ``ws_url(path of keys, parts)``. Keeps
    ``load_markets()`` to spot markets (``options['fetchMarkets']``). Raises
    AssertionError if any URL under those keys is left pointing elsewhere."""

    def rewrite(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            return {k: rewrite(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [rewrite(v, path) for v in value]
        if not isinstance(value, str):
            return value
        parts = urlsplit(value)
        if parts.scheme in ("ws", "wss"):
            return ws_url(path, parts)
        return urlunsplit(("http", host, parts.path, parts.query, ""))

    for section in ("api", "test", "demo"):
        if section in exchange.urls:
            exchange.urls[section] = rewrite(exchange.urls[section], (section,))
    fetch_markets = dict(exchange.options.get("fetchMarkets") or {})
    fetch_markets["types"] = ["spot"]
    exchange.options["fetchMarkets"] = fetch_markets
    for section in ("api", "test", "demo"):
        for path, url in _strings(exchange.urls.get(section, {}), (section,)):
            loopback = url == f"http://{host}" or url.startswith((f"http://{host}/", f"ws://{host}/"))
            assert loopback, f"{'.'.join(path)} = {url}"


def _strings(urls: Any, path: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], str]]:
    if isinstance(urls, dict):
        for k, v in urls.items():
            yield from _strings(v, (*path, str(k)))
    elif isinstance(urls, list):
        for v in urls:
            yield from _strings(v, path)
    elif isinstance(urls, str):
        yield path, urls


def server_port(server: LoopbackServer[Any] | int) -> int:
    return server.port if isinstance(server, LoopbackServer) else int(server)
