"""A loopback exchange server that speaks enough of OKX's v5 API for the real
``ccxt.pro.okx`` class, for tests and benchmarks with no internet: the second
protocol next to ``binance.py``, with the same shape and method names.

The market is the terminal's own simulator, as in ``binance.py``. What differs
is how a client keeps its order book: OKX's ``books`` channel sends a
snapshot in answer to the subscribe, then incremental updates, each with
``prevSeqId`` / ``seqId`` and a CRC32 ``checksum`` of the top 25 levels per
side; nothing comes from REST. The pump diffs the engine's book against the
*published* book every ``pump_interval`` and sends the changes as one update,
so a client that applies them holds ``server.book(symbol)``, level for level.

Keys added with ``add_key(key, secret, passphrase)`` trade on an account of the
same ``OrderDesk`` the Binance server uses (``orders.py``), through OKX's
signed endpoints (``okx_orders.py``) and the private websocket's ``orders`` /
``account`` channels. What both loopback servers share (lifecycle, REST
middleware and faults, websocket sockets, the pump, ``depth_rate``,
``book_at``, the command line) is ``server.py``'s; this module holds OKX's
settings, credentials and faults; ``okx_rest.py`` the REST endpoints,
``okx_streams.py`` the websockets and what the pump pushes, ``okx_market.py``
the market data's shapes, ``okx_wire.py`` the numbers, checksums, signatures
and errors.

It runs in the caller's event loop on 127.0.0.1 only, as ``LoopbackBinance``
does (``async with LoopbackOkx(seed=1) as server: exchange = server.client()``,
a configured ``ccxt.pro.okx``), or by hand: ``python -m tests.loopback.okx
--port 8766 [--seed N]``. Faults: the methods in the "faults" sections here
and in ``server.py``; see README.md.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import SplitResult

from aiohttp import web

from terminal.market.simulator.instruments import Instrument
from tests.loopback.filters import SymbolRules
from tests.loopback.market import Book, BookLists
from tests.loopback.okx_market import BARS, PublishedBook, rules_of
from tests.loopback.okx_orders import OkxOrderApi
from tests.loopback.okx_rest import ORDER_PATHS, OkxRest
from tests.loopback.okx_streams import OkxSocket, OkxSymbolState
from tests.loopback.okx_wire import RATE_LIMIT, OkxError
from tests.loopback.server import HOST, OrderFault, point_at_loopback, server_port

__all__ = ["LoopbackOkx", "configure", "main"]


class LoopbackOkx(OkxRest):
    """An OKX-v5-protocol server (spot) on 127.0.0.1 over the simulated market.

    ``LoopbackOkx(seed=1, *, speed=1.0, history_days=30, clock=wall_clock_ms,
    instruments=INSTRUMENTS, pump_interval=0.1, ticker_interval=1.0,
    keep_versions=1024)``: see ``LoopbackServer``."""

    EXCHANGE = "OKX"
    CCXT_ID = "okx"
    REST_PATH = ""  # ccxt adds /api/v5/...
    WS_PATH = "/ws/v5"  # ccxt adds /public, /private, /business
    TASK_PREFIX = "loopback-okx"
    SYMBOL_SEPARATOR = "-"
    NOT_REST = ("/ws/", "/_fault/")  # not REST: not logged, no faults
    ORDER_PATHS = ORDER_PATHS
    ERROR = OkxError
    MALFORMED_BODY = '{"code":"0","msg":"","data":[{"asks":[["6'
    BARS = BARS
    KEY_PARTS = ("KEY", "SECRET", "PASSPHRASE")
    State = OkxSymbolState
    FAULT_PATH = None  # OKX has no REST book snapshot: the REST faults hit whatever comes next
    #: name -> what it does; the REST faults also drop the sockets, so that the
    #: terminal reconnects and meets them on the REST requests that follow.
    FAULTS: ClassVar[dict[str, str]] = {
        "close": "close every websocket",
        "abort": "reset every TCP connection",
        "down": "stop listening for ?seconds=10, then come back on the same port",
        "gap": "skip book seqIds for BTC/USDT (ccxt: InvalidNonce, then a resubscribe)",
        "checksum": "send a wrong checksum in the next BTC/USDT book update (the terminal resyncs)",
        "garble": "change one level's size in the next BTC/USDT book update, checksum of the true book",
        "429": "answer the next 3 REST requests with HTTP 429 (code 50011)",
        "418": "answer the next 3 REST requests with HTTP 418 (code 50011)",
        "malformed-frame": "send invalid JSON on every websocket",
        "malformed-rest": "answer the next REST request with garbage and HTTP 200",
        "slow": "delay the next 4 REST requests by 15 s",
    }

    def _setup(self) -> None:
        self._keys: dict[str, tuple[str, str]] = {}  # API key -> (secret, passphrase)
        self.order_api = OkxOrderApi(self._desk_market, self._publish_private)

    def _rules_of(self, instrument: Instrument) -> SymbolRules:
        return rules_of(instrument)

    def _new_book(self, market_id: str, instrument: Instrument) -> Book:
        return PublishedBook(self.rules[market_id].tick)

    def _configure(self, exchange: Any) -> Any:
        return configure(exchange, self)

    # -- credentials and inspection --------------------------------------------
    def add_key(
        self, key: str, secret: str, passphrase: str, balances: dict[str, float] | None = None
    ) -> None:
        """Accept requests signed with ``key``/``secret``/``passphrase`` for a fresh
        account holding ``balances`` (asset -> free amount; default
        ``DEFAULT_BALANCES``). Adding a key again starts its account afresh."""
        self._keys[key] = (secret, passphrase)
        self._open_account(key, balances)

    def user_stream_count(self, key: str, channels: tuple[str, ...] = ("orders", "account")) -> int:
        """Private websockets logged in with ``key`` that hear its orders or balances
        now (or what else of its private ``channels``)."""
        return sum(
            1
            for s in self._sockets
            if isinstance(s, OkxSocket) and s.key == key and any((c, key) in s.channels for c in channels)
        )

    def seq_id(self, symbol: str) -> int:
        """The ``seqId`` of the symbol's last book update (a synced client's ``nonce``);
        ``update_id()`` under OKX's name."""
        return self.update_id(symbol)

    def book_at(self, symbol: str, seq_id: int, depth: int | None = None) -> BookLists:
        """The published book as of ``seqId`` = ``seq_id`` (what a client whose book
        has that ``nonce`` holds), like ``book()``. The last ``keep_versions``
        updates per symbol are kept; KeyError for an older or never-sent seqId."""
        return super().book_at(symbol, seq_id, depth)

    # -- faults -----------------------------------------------------------------
    def corrupt_checksum(self, symbol: str, times: int = 1) -> None:
        """The symbol's next ``times`` book updates carry a wrong ``checksum`` (data
        and seqIds right). ccxt 4.5.90 does not check it; the terminal does (and resyncs)."""
        self._state(symbol).corrupt += times

    def garble_book_update(self, symbol: str, times: int = 1) -> None:
        """The symbol's next ``times`` book updates change one level's size on the
        way (seqIds and the published book right, the checksum the true book's): a
        client that applies it without checking the checksum holds a wrong book."""
        self._state(symbol).garbled += times

    def http_error(
        self,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = None,
        path: str | None = None,
        code: str | int | None = None,
        body: str | None = None,
    ) -> None:
        """The next ``times`` REST requests (whose path contains ``path``, if given)
        get HTTP ``status`` with an OKX error body: 429, 418 and 200 →
        ``{"msg": "Too Many Requests", "code": "50011"}``, others → ``code``
        (default 50026 "System error, please try again later."); ``body``
        replaces it (e.g. a proxy's HTML page). ``Retry-After: retry_after`` when given."""
        if code is None:
            code = RATE_LIMIT[0] if status in (200, 418, 429) else "50026"
        msg = RATE_LIMIT[1] if str(code) == RATE_LIMIT[0] else "System error, please try again later."
        text = json.dumps({"msg": msg, "code": str(code)}) if body is None else body
        self._error_fault(status, times, retry_after, path, text)

    def malformed_ws_frame(
        self, text: str = '{"arg":{"channel":"books","instId":"BTC-USDT"},"data":['
    ) -> int:
        """Send ``text`` (invalid JSON) as a text frame on every open websocket."""
        return super().malformed_ws_frame(text)

    def reject_orders(self, code: str | int, msg: str, times: int = 1, status: int = 200) -> None:
        """The next ``times`` order requests (after authentication) are refused: every
        order in them gets ``sCode`` = ``code``, ``sMsg`` = ``msg`` (top-level code
        "1", HTTP ``status``); no order is made."""
        self._order_faults.append(OrderFault("reject", times, status=status, code=str(code), msg=msg))

    def _named_fault(self, name: str, request: web.Request) -> bool:
        if name == "checksum":
            self.corrupt_checksum("BTC/USDT")
        elif name == "garble":
            self.garble_book_update("BTC/USDT")
        else:
            return super()._named_fault(name, request)
        return True

    # -- internals ----------------------------------------------------------------
    def _routes(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        api = self.order_api
        get("/api/v5/public/time", self._public(lambda q: [{"ts": str(self._server_time())}]))
        get("/api/v5/public/instruments", self._public(self._instruments_data))
        get("/api/v5/system/status", self._public(lambda q: []))
        get("/api/v5/market/books", self._public(lambda q: self._books_data(q, 1, 400)))
        get("/api/v5/market/books-full", self._public(lambda q: self._books_data(q, 1, 5000)))
        get("/api/v5/market/candles", self._public(lambda q: self._candles_data(q, 300)))
        get("/api/v5/market/history-candles", self._public(lambda q: self._candles_data(q, 300)))
        get("/api/v5/market/ticker", self._public(lambda q: [self._ticker(self._symbol_param(q))]))
        get("/api/v5/market/tickers", self._public(self._tickers_data))
        get("/api/v5/market/trades", self._public(lambda q: self._trades_data(q, 500, history=False)))
        get("/api/v5/market/history-trades", self._public(lambda q: self._trades_data(q, 100, history=True)))
        get("/api/v5/asset/currencies", self._signed(lambda k, p: api.currencies(p)))
        get("/api/v5/account/balance", self._signed(api.balance))
        get("/api/v5/account/config", self._signed(lambda k, p: [self._account_config(k)]))
        get("/api/v5/account/trade-fee", self._signed(lambda k, p: [self._trade_fee(p)]))
        post("/api/v5/trade/order", self._place)
        post("/api/v5/trade/batch-orders", self._place)
        post(
            "/api/v5/trade/cancel-order", self._signed(lambda k, p: self._each(k, p, api.cancel, single=True))
        )
        post("/api/v5/trade/cancel-batch-orders", self._signed(lambda k, p: self._each(k, p, api.cancel)))
        get("/api/v5/trade/order", self._signed(api.order))
        get("/api/v5/trade/orders-pending", self._signed(api.pending))
        get("/api/v5/trade/orders-history", self._signed(api.history))
        get("/api/v5/trade/orders-history-archive", self._signed(api.history))
        get("/api/v5/trade/fills", self._signed(lambda k, p: api.fills(k, p, history=False)))
        get("/api/v5/trade/fills-history", self._signed(lambda k, p: api.fills(k, p, history=True)))
        for url in ("public", "private", "business"):
            get(f"/ws/v5/{url}", self._ws)
        get("/_fault/{name}", self._fault_by_name)

    def _cli_urls(self) -> tuple[str, str]:
        return f"{self.rest_base}   (ccxt urls['api']['rest'])", f"{self.ws_base}   (ccxt urls['api']['ws'])"


def configure(exchange: Any, server: LoopbackOkx | int) -> Any:
    """Point a ``ccxt.pro.okx`` instance at the loopback server (or port).

    Every string under ``urls['api']`` and ``urls['test']`` is rewritten to
    127.0.0.1:PORT: the REST base ``https://{hostname}`` becomes
    ``http://127.0.0.1:PORT`` (ccxt adds ``/api/v5/...``), the websocket base
    ``ws://127.0.0.1:PORT/ws/v5`` (ccxt adds ``/public``, ``/private``,
    ``/business``); any other websocket URL goes to an unserved loopback path.
    Option ``fetchMarkets.types = ['spot']``: ``load_markets()`` is one ``GET
    /api/v5/public/instruments?instType=SPOT`` without keys (with keys ccxt
    first fetches ``/api/v5/asset/currencies``, which the server serves; no
    option turns that off). Raises AssertionError if any URL under those keys is
    left pointing elsewhere. Returns the exchange.
    """
    host = f"{HOST}:{server_port(server)}"

    def ws_url(path: tuple[str, ...], parts: SplitResult) -> str:
        return f"ws://{host}/ws/v5" if path[-1] == "ws" else f"ws://{host}/unserved{parts.path}"

    point_at_loopback(exchange, host, ws_url)
    return exchange


def main(argv: list[str] | None = None) -> None:
    LoopbackOkx.command_line(argv, "okx", __doc__.split("\n")[0], port=8766)


if __name__ == "__main__":
    main()
