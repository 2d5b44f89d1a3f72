"""The live broker with the real ccxt classes against the loopback exchanges
(tests/loopback): every test runs on both protocols, ``ccxt.pro.binance``
against the loopback Binance and ``ccxt.pro.okx`` against the loopback OKX
(ids "binance" / "okx").

The broker reads its keys through a ``KeySource``. Most tests hand it the keys
from memory (``KeysInMemory``): what they check is the broker, and they run on
any machine. The tests about the keyring itself (keys stored there, none
stored, a locked keyring) use the real one, a throwaway GNOME Keyring in
``scripts/with-keyring``, and are marked ``keyring``.

Every request is signed by ccxt and verified by the server; the market is
paused so the books stay still, and fills come from ``server.trade_through``.
Each test checks the exchange's side too (``server.orders``,
``server.order_requests``): one intent, at most one order.

Where the two differ, the test says so: OKX answers a new order and a cancel
with the ids only (the broker reads the order back), keeps client order ids
without the "-" (``tabc…`` for ``t-abc…``), needs a passphrase, takes a
post-only order that would trade and cancels it at once (Binance refuses it),
places stops as algo orders (refused before sending), and allows 30 s of clock
difference where ccxt's Binance requests allow 10 s.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import secretstorage

from terminal.config import AccountSettings
from terminal.credentials import ApiKey, CredentialError, CredentialStore, KeyringUnavailableError
from terminal.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    InsufficientFundsError,
    NotSupportedError,
    OrderInvalidError,
    OrderNotFoundError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TerminalError,
    TradingError,
)
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.brackets import BracketMode, Exits
from terminal.trading.broker import takes_trailing_stops
from terminal.trading.events import AccountEvent, BalanceChanged, FillAdded, OrderUpdated, PositionChanged
from terminal.trading.fees import Liquidity
from terminal.trading.journal import TradingJournal
from terminal.trading.live.broker import LiveBroker, LiveSettings
from terminal.trading.live.send import ReconcileSettings
from terminal.trading.live.sync import SyncSettings
from terminal.trading.managed_brackets import SPOT_REFUSAL
from terminal.trading.orders import OrderIntent, OrderSide, OrderStatus, OrderType
from tests.conftest import wait_until
from tests.keyring_helpers import needs_keyring, unlock
from tests.loopback.protocols import BINANCE, OKX, PROTOCOLS, Protocol

SYMBOL = "BTC/USDT"
API_KEY = "LiveLoopbackKey-7Hq2ZpX9mN4vB8cR1tY6uJ3kL5wE0aSdFgHzz"
SECRET = "LiveLoopbackSecret-Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xcvv"
PASSPHRASE = "LiveLoopbackPassphrase-5Tg8Yh"  # OKX's third credential (ccxt's ``password``)
FAST = LiveSettings(
    timeout_ms=1_000,
    reconcile=ReconcileSettings(backoff=0.1, backoff_cap=0.4),
    sync=SyncSettings(poll_interval=0.3, resync_interval=60.0, backoff_initial=0.1, backoff_cap=0.5),
)
#: the create_order param that carries the client order id (ccxt: OKX's clOrdId)
CLIENT_ID_PARAM = {"binance": "newClientOrderId", "okx": "clientOrderId"}
#: the terminal's ids ("t-" and 20 of [a-z2-7]) as OKX keeps them
_WIRE_TERMINAL_ID = re.compile(r"^t([a-z2-7]{20})$")

pytestmark = pytest.mark.slow
both = pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)


def the_key(protocol: Protocol) -> ApiKey:
    return ApiKey(API_KEY, SECRET, PASSPHRASE if protocol.passphrase else None)


class KeysInMemory:
    """A ``KeySource`` holding one account's keys in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    def save(self, account: str, key: ApiKey) -> None:
        self.keys[account] = key

    def load(self, account: str) -> ApiKey | None:
        return self.keys.get(account)

    def delete(self, account: str) -> None:
        self.keys.pop(account, None)


class Journal(TradingJournal):
    """The real audit trail, kept in memory (no history file)."""

    def __init__(self) -> None:
        super().__init__(None)

    def of(self, client_order_id: str) -> list[tuple[str, dict[str, Any]]]:
        return [(e.kind, e.payload) for e in self.entries(client_order_id=client_order_id)]

    def outcomes(self, client_order_id: str) -> list[str]:
        """The reconciliations' outcomes for one order."""
        return [
            p["reconcile"]["outcome"]
            for k, p in self.of(client_order_id)
            if k == "response" and "reconcile" in p
        ]


@dataclass
class Live:
    protocol: Protocol
    server: Any  # LoopbackBinance or LoopbackOkx
    broker: LiveBroker
    journal: Journal
    settings: AccountSettings
    store: CredentialStore | KeysInMemory
    events: list[AccountEvent] = field(default_factory=list)
    #: the book the "window" shows is this much above the real asks (a stale book)
    ask_shift: float = 0.0

    def book(self, symbol: str) -> OrderBook:
        bids, asks = self.server.book(symbol, 50)
        book = OrderBook(symbol)
        book.replace(bids, [[round(p * (1 + self.ask_shift), 1), s] for p, s in asks])
        return book

    def price(self, side: str, level: int, symbol: str = SYMBOL) -> Decimal:
        bids, asks = self.server.book(symbol)
        return Decimal(str((bids if side == "bid" else asks)[level][0]))

    def limit_buy(
        self, level: int = 3, amount: str = "0.001", symbol: str = SYMBOL, **kw: Any
    ) -> OrderIntent:
        return OrderIntent(
            symbol,
            OrderSide.BUY,
            OrderType.LIMIT,
            Decimal(amount),
            price=self.price("bid", level, symbol),
            **kw,
        )

    def new_broker(self) -> LiveBroker:
        """Another broker on the same account, keys and book (a restart of the terminal)."""
        return LiveBroker(
            self.settings,
            credentials=self.store,
            journal=self.journal,
            book=self.book,
            symbols=[SYMBOL],
            settings=FAST,
        )

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        await wait_until(condition, what, timeout, interval=0.02)

    async def subscribed(self) -> None:
        await self.until(lambda: self.server.user_stream_count(API_KEY) >= 1, "the user-data subscription")

    def server_orders(self) -> list[tuple[str, str]]:
        """The exchange's orders as (the terminal's client order id, "open" / "filled" /
        "canceled"), oldest first, whatever the protocol calls them."""
        names = {server: unified for unified, server in self.protocol.order_states.items()}
        return [(self.terminal_id(v.client_order_id), names.get(v.status, v.status))
                for v in self.server.orders(API_KEY)]  # fmt: skip

    def terminal_id(self, wire_id: str) -> str:
        found = _WIRE_TERMINAL_ID.match(wire_id) if self.protocol is OKX else None
        return f"t-{found.group(1)}" if found else wire_id

    def polls(self) -> int:
        """Balance requests so far (the REST refresh asks for balances first)."""
        return sum(self.protocol.balance_path in r for r in self.server.requests)


def account(protocol: Protocol, server: Any, name: str = "loopback-live") -> AccountSettings:
    return AccountSettings(
        name=name, exchange=protocol.exchange_id, options=dict(protocol.options), **protocol.urls(server)
    )


_STORED_KEY: Any = object()  # run()'s default: the key the server knows


def run(
    protocol: Protocol,
    scenario: Callable[[Live], Awaitable[None]],
    *,
    stored: Any = _STORED_KEY,
    start: bool = True,
    timeout: float = 25.0,
    keyring: bool = False,
) -> None:
    """``scenario(live)`` with a paused loopback server of ``protocol`` knowing
    ``API_KEY``, the keys ``stored`` for the account (in the real keyring with
    ``keyring``, else in memory), and (``start``) the broker started."""
    if keyring:
        needs_keyring()
    key = the_key(protocol) if stored is _STORED_KEY else stored

    async def main() -> None:
        server = protocol.server(seed=5, history_days=1)
        await server.start()
        server.pause()
        protocol.add_key(server, API_KEY, SECRET, PASSPHRASE)
        service = f"terminal-live-test-{uuid.uuid4().hex[:8]}"
        store: CredentialStore | KeysInMemory = KeysInMemory()
        if keyring:
            store = CredentialStore(service=service)
        settings = account(protocol, server)
        if key is not None:
            await asyncio.to_thread(store.save, settings.name, key)
        journal = Journal()
        live: Live
        broker = LiveBroker(
            settings,
            credentials=store,
            journal=journal,
            book=lambda symbol: live.book(symbol),
            symbols=[SYMBOL],
            settings=FAST,
        )
        live = Live(protocol, server, broker, journal, settings, store)
        broker.subscribe(live.events.append)
        try:
            if start:
                await broker.start()
            await asyncio.wait_for(scenario(live), timeout)
        finally:
            await broker.close()
            await asyncio.to_thread(store.delete, settings.name)
            await server.stop()

    asyncio.run(main())


# -- placing, filling, cancelling ------------------------------------------------------------------
@both
def test_a_limit_order_rests_with_its_client_order_id_and_fills_from_the_stream(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        intent = live.limit_buy(level=3, amount="0.002")
        cid = intent.client_order_id
        order = await live.broker.submit(intent)

        assert order.client_order_id == cid and order.order_id
        assert order.status is OrderStatus.OPEN and order.price == intent.price
        assert [o.client_order_id for o in live.broker.open_orders(SYMBOL)] == [cid]
        assert live.server_orders() == [(cid, "open")]
        assert [v.client_order_id for v in live.server.orders(API_KEY)] == [protocol.wire_client_id(cid)]
        assert [k for k, _ in live.journal.of(cid)][:4] == ["intent", "check", "request", "response"]
        request = dict(live.journal.of(cid))["request"]
        assert request["create"]["params"][CLIENT_ID_PARAM[protocol.name]] == protocol.wire_client_id(cid)
        await live.until(
            lambda: live.broker.balances()["USDT"].reserved == Decimal("0.002") * intent.price,
            "the USDT the order holds, from the balance stream",
        )

        live.server.trade_through(SYMBOL, float(intent.price), 0.0005)  # a public trade through it
        await live.until(
            lambda: live.broker.order(cid).status is OrderStatus.PARTIALLY_FILLED, "a partial fill"
        )
        live.server.trade_through(SYMBOL, float(intent.price), 1.0)
        await live.until(lambda: live.broker.order(cid).status is OrderStatus.FILLED, "the rest filled")
        await live.until(lambda: len(live.broker.fills(SYMBOL)) == 2, "both fills")
        fills = live.broker.fills(SYMBOL)
        assert [(f.amount, f.price, f.liquidity) for f in fills] == [
            (Decimal("0.0005"), intent.price, Liquidity.MAKER),
            (Decimal("0.0015"), intent.price, Liquidity.MAKER),
        ]
        assert {f.client_order_id for f in fills} == {cid} and fills[0].fee_currency == "BTC"
        # a fee paid is positive, from the stream as from REST (OKX pushes it negative)
        assert [f.fee for f in fills] == [Decimal("0.0000005"), Decimal("0.0000015")]
        assert live.broker.open_orders() == []
        assert [k for k, _ in live.journal.of(cid)].count("fill") == 2

    run(protocol, scenario)


@both
def test_a_market_buy_fills_and_the_balance_stream_moves_balances_and_position(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        asked = len(live.server.requests)
        order = await live.broker.submit(
            OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.002"))
        )
        cid = order.client_order_id

        # Binance's answer has the fills; OKX's only the ids: the broker reads the order back.
        assert order.status is OrderStatus.FILLED and order.filled == Decimal("0.002")
        if protocol is BINANCE:
            assert sum(f.amount for f in order.fills) == Decimal("0.002")
        else:
            assert [r.split("?")[0] for r in live.server.requests[asked:]] == [
                "POST /api/v5/trade/batch-orders",
                "GET /api/v5/trade/order",
            ]
        await live.until(
            lambda: sum(f.amount for f in live.broker.order(cid).fills) == Decimal("0.002"),
            "the order's fills",
        )
        assert {f.liquidity for f in live.broker.order(cid).fills} == {Liquidity.TAKER}
        free, locked = live.server.balances(API_KEY)["BTC"]
        btc = Decimal(str(free)) + Decimal(str(locked))
        await live.until(
            lambda: "BTC" in live.broker.balances() and live.broker.balances()["BTC"].total == btc,
            "the BTC balance from watch_balance",
        )
        usdt_free = Decimal(str(live.server.balances(API_KEY)["USDT"][0]))
        await live.until(lambda: live.broker.balances()["USDT"].free == usdt_free, "the USDT balance")
        # from the stream, not from a poll: no balance request went out after the order
        assert not any(protocol.balance_path in r for r in live.server.requests[asked:])
        changed = {e.balance.currency for e in live.events if isinstance(e, BalanceChanged)}
        assert {"BTC", "USDT"} <= changed

        position = live.broker.positions()[SYMBOL]
        assert position.amount == btc
        assert any(isinstance(e, PositionChanged) and e.position.amount == btc for e in live.events)
        assert position.average_cost is not None  # from this session's fills
        live.broker.mark(SYMBOL, float(order.average_price or 0) * 1.01)
        assert live.broker.unrealised_pnl()[SYMBOL] > 0

    run(protocol, scenario)


@both
def test_cancel_one_then_cancel_all_of_a_symbol_then_everywhere(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        broker = live.broker
        first = await broker.submit(live.limit_buy(level=3))
        second = await broker.submit(live.limit_buy(level=4))
        eth = await broker.submit(live.limit_buy(level=3, amount="0.01", symbol="ETH/USDT"))

        cancelled = await broker.cancel(first.client_order_id)
        assert (
            cancelled.status is OrderStatus.CANCELLED and cancelled.client_order_id == first.client_order_id
        )
        with pytest.raises(OrderNotFoundError, match="no longer open"):
            await broker.cancel(first.client_order_id)

        # OKX has no cancel-all in ccxt: one cancel per order there
        by_symbol = await broker.cancel_all(SYMBOL)
        assert [o.client_order_id for o in by_symbol] == [second.client_order_id]
        assert [o.client_order_id for o in broker.open_orders()] == [eth.client_order_id]
        everywhere = await broker.cancel_all()
        assert [(o.client_order_id, o.status) for o in everywhere] == [
            (eth.client_order_id, OrderStatus.CANCELLED)
        ]
        assert broker.open_orders() == [] and await broker.cancel_all() == []
        assert sorted(live.server_orders()) == sorted(
            (o.client_order_id, "canceled") for o in (first, second, eth)
        )

    run(protocol, scenario)


@both
def test_replace_cancels_the_order_then_places_the_new_one(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        old = await live.broker.submit(live.limit_buy(level=3))
        new_intent = live.limit_buy(level=5, amount="0.002")
        new = await live.broker.replace(old.client_order_id, new_intent)
        assert live.broker.order(old.client_order_id).status is OrderStatus.CANCELLED
        assert new.client_order_id == new_intent.client_order_id and new.status is OrderStatus.OPEN
        assert live.server_orders() == [(old.client_order_id, "canceled"), (new.client_order_id, "open")]

    run(protocol, scenario)


@both
def test_an_open_order_from_an_earlier_session_keeps_its_client_order_id(protocol: Protocol) -> None:
    """A restart finds the open order under the id the terminal gave it (OKX keeps
    ``tabc…``: the broker puts the "-" back), and can cancel it by that id."""

    async def scenario(live: Live) -> None:
        placed = await live.broker.submit(live.limit_buy(level=3))
        await live.broker.close()
        again = live.new_broker()
        try:
            await again.start()
            assert [(o.client_order_id, o.order_id) for o in again.open_orders()] == [
                (placed.client_order_id, placed.order_id)
            ]
            cancelled = await again.cancel(placed.client_order_id)
            assert cancelled.status is OrderStatus.CANCELLED
        finally:
            await again.close()
        assert live.server_orders() == [(placed.client_order_id, "canceled")]

    run(protocol, scenario)


@both
def test_a_stop_order_rests_on_binance_and_is_not_sent_to_okx(protocol: Protocol) -> None:
    """ccxt places an OKX stop as an algo order (its own ids, lists and channels),
    which the broker does not follow: it is refused before anything is sent."""

    async def scenario(live: Live) -> None:
        ask = live.price("ask", 0)
        intent = OrderIntent(
            SYMBOL,
            OrderSide.BUY,
            OrderType.STOP_LIMIT,
            Decimal("0.001"),
            price=ask + Decimal(60),
            stop_price=ask + Decimal(50),
        )
        if protocol is OKX:
            with pytest.raises(NotSupportedError, match="algo orders") as caught:
                await live.broker.submit(intent)
            assert live.broker.order(intent.client_order_id).status is OrderStatus.REJECTED
            assert "not sent" in caught.value.user_message()
            assert live.server.order_requests == 0 and live.server.orders(API_KEY) == []
            return
        order = await live.broker.submit(intent)
        assert order.status is OrderStatus.OPEN and order.stop_price == intent.stop_price
        assert [(v.client_order_id, v.type, v.status) for v in live.server.orders(API_KEY)] == [
            (intent.client_order_id, "STOP_LOSS_LIMIT", "NEW")
        ]

    run(protocol, scenario)


@both
def test_a_trailing_stop_and_a_spot_bracket_are_refused_before_anything_is_sent(protocol: Protocol) -> None:
    """Trailing stops are paper-only for now; a spot bracket needs the exchange's
    own OCO order (the coins of the take-profit would be held from the stop-loss)."""

    async def scenario(live: Live) -> None:
        trailing = OrderIntent(
            SYMBOL, OrderSide.SELL, OrderType.TRAILING_STOP, Decimal("0.001"), trail_percent=Decimal(1)
        )
        with pytest.raises(OrderInvalidError) as refused:
            await live.broker.submit(trailing)
        assert refused.value.field == "type"
        assert refused.value.user_message().startswith("Trailing stops are paper-only for now")
        assert [k for k, p in live.journal.of(trailing.client_order_id) if k == "check" and not p["ok"]]

        entry = OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.001"))
        ask = live.price("ask", 0)
        with pytest.raises(OrderInvalidError) as spot:
            await live.broker.brackets.submit(entry, Exits(ask + Decimal(500), ask - Decimal(500)))
        assert spot.value.user_message() == SPOT_REFUSAL
        assert live.broker.brackets.mode is BracketMode.MANAGED and not takes_trailing_stops(live.broker)
        assert live.server.order_requests == 0 and live.server.orders(API_KEY) == []

    run(protocol, scenario)


# -- refusals --------------------------------------------------------------------------------------
def _short_of_usdt(live: Live) -> OrderIntent:
    # the account empties behind the broker's back
    live.protocol.add_key(live.server, API_KEY, SECRET, PASSPHRASE, {"USDT": 10.0})
    return live.limit_buy(level=3)


def _filter_failure(live: Live) -> OrderIntent:
    # ccxt raises both as BadRequest, not InvalidOrder: still a refusal of the order
    if live.protocol is OKX:
        live.server.reject_orders("51000", "Parameter sz error")
    else:
        live.server.reject_orders(-1013, "Filter failure: NOTIONAL")
    return live.limit_buy(level=3)


def _post_only_cross(live: Live) -> OrderIntent:
    live.ask_shift = 0.01  # the window's book is stale: the real best ask looks like a resting price
    return OrderIntent(
        SYMBOL, OrderSide.BUY, OrderType.LIMIT, Decimal("0.001"), price=live.price("ask", 0), post_only=True
    )


def _rate_limited(live: Live) -> OrderIntent:
    live.server.http_error(429, path=live.protocol.order_path)
    return live.limit_buy(level=3)


def _clock_beyond_repair(live: Live) -> OrderIntent:
    live.server.skew_clock(2 * live.protocol.clock_window_ms)
    live.server.http_error(500, times=20, path=live.protocol.time_path)  # so the offset cannot be measured
    return live.limit_buy(level=3)


def _on_both(*words: str) -> dict[str, tuple[str, ...]]:
    return {p.name: words for p in PROTOCOLS}


#: case -> (what makes the exchange refuse, the error, per protocol: words the message must hold)
REFUSALS: dict[str, tuple[Callable[[Live], OrderIntent], type[TerminalError], dict[str, tuple[str, ...]]]] = {
    "insufficient-funds": (
        _short_of_usdt,
        InsufficientFundsError,
        {
            "binance": ("does not hold enough",),
            "okx": ("(Order failed. Insufficient USDT balance in account)", "does not hold enough"),
        },
    ),
    "filter-failure": (
        _filter_failure,
        OrderRejectedError,
        {"binance": ("(Filter failure: NOTIONAL)",), "okx": ("refused the order: Parameter sz error.",)},
    ),
    "post-only-would-take": (
        _post_only_cross,
        OrderRejectedError,
        _on_both("refused the order", "post-only order would have traded at once"),
    ),
    "rate-limited": (_rate_limited, RateLimitedError, _on_both("The order was not sent")),
    "clock-skew": (_clock_beyond_repair, ClockSkewError, _on_both("clock")),
}


@both
@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_reaches_the_caller_in_plain_words_and_leaves_no_order(
    protocol: Protocol, case: str
) -> None:
    prepare, error, words = REFUSALS[case]
    # OKX takes a post-only order that would trade, then cancels it at once
    # (cancelSource 31): the broker reads it back and refuses it as Binance does,
    # but the exchange keeps it, cancelled.
    kept = protocol is OKX and case == "post-only-would-take"

    async def scenario(live: Live) -> None:
        intent = prepare(live)
        with pytest.raises(error) as caught:
            await live.broker.submit(intent)
        message = caught.value.user_message()
        assert [w for w in words[protocol.name] if w not in message] == [], message
        # the exchange's words, not its JSON
        assert "{" not in message and protocol.exchange_id not in message
        assert live.server_orders() == ([(intent.client_order_id, "canceled")] if kept else [])
        refused = live.broker.order(intent.client_order_id)
        assert refused.status is OrderStatus.REJECTED and refused.reason == message
        assert live.broker.open_orders() == []
        assert ("error", {"error": message}) in [
            (k, {"error": p.get("error")}) for k, p in live.journal.of(intent.client_order_id)
        ]

    run(protocol, scenario)


KEY_CASES = ["unknown-key", "wrong-secret", "wrong-passphrase", "no-key-stored", "keyring-locked"]
KEYRING_CASES = ("no-key-stored", "keyring-locked")  # about the keyring itself: the real one


@pytest.mark.parametrize(
    ("protocol", "case"),
    # Binance keys have no passphrase: that case is OKX's alone.
    [
        pytest.param(p, c, id=f"{p.name}-{c}", marks=[pytest.mark.keyring] if c in KEYRING_CASES else [])
        for p in PROTOCOLS
        for c in KEY_CASES
        if c != "wrong-passphrase" or p.passphrase
    ],
)
def test_an_account_whose_keys_cannot_be_used_does_not_start(protocol: Protocol, case: str) -> None:
    passphrase = PASSPHRASE if protocol.passphrase else None
    stored = {
        "unknown-key": ApiKey("NobodysKey-0123456789abcdefghijklmnopqrstuvwxyzABCD", SECRET, passphrase),
        "wrong-secret": ApiKey(API_KEY, "NotTheSecret-0123456789abcdefghijklmnopqrstuvwxyz", passphrase),
        "wrong-passphrase": ApiKey(API_KEY, SECRET, "NotThePassphrase-42"),
        "no-key-stored": None,
        "keyring-locked": the_key(protocol),
    }[case]
    expected: dict[str, tuple[type[Exception], str]] = {
        "unknown-key": (AuthenticationFailedError, "refused the API key"),
        "wrong-secret": (AuthenticationFailedError, "refused the API key"),
        "wrong-passphrase": (AuthenticationFailedError, "refused the API key"),
        "no-key-stored": (CredentialError, "No API keys are stored for the account 'loopback-live'"),
        "keyring-locked": (KeyringUnavailableError, "unlock"),
    }

    async def scenario(live: Live) -> None:
        error, words = expected[case]
        collection = None
        if case == "keyring-locked":
            collection = secretstorage.get_default_collection(secretstorage.dbus_init())
            collection.lock()
        try:
            with pytest.raises(error) as caught:
                await live.broker.start()
        finally:
            if collection is not None:
                unlock(collection)
        assert words in str(caught.value)
        assert live.broker.stream_state == "stopped"
        with pytest.raises(TradingError, match="not started"):
            await live.broker.submit(live.limit_buy())
        assert live.server.order_requests == 0

    # the keyring's own cases go through the real one; the exchange's refusals need none
    run(protocol, scenario, stored=stored, start=False, keyring=case in KEYRING_CASES)


@both
def test_clock_skew_is_corrected_and_the_order_still_goes_in_once(protocol: Protocol) -> None:
    window = protocol.clock_window_ms  # Binance (ccxt's recvWindow): 10 s; OKX: 30 s

    async def scenario(live: Live) -> None:
        placed = await live.broker.submit(live.limit_buy(level=3))
        live.server.skew_clock(2 * window)
        # not an order: retried once after measuring the clock
        cancelled = await live.broker.cancel(placed.client_order_id)
        assert cancelled.status is OrderStatus.CANCELLED

        # drifts further: the next create is refused for its time stamp
        live.server.skew_clock(window * 9 // 2)
        sent = live.server.order_requests
        intent = live.limit_buy(level=4)
        order = await live.broker.submit(intent)
        assert order.status is OrderStatus.OPEN
        assert live.server.order_requests - sent == 2  # refused, looked up (absent), sent once more
        assert [v for v in live.server_orders() if v[0] == intent.client_order_id] == [
            (intent.client_order_id, "open")
        ]
        steps = live.journal.of(intent.client_order_id)
        assert live.journal.outcomes(intent.client_order_id) == ["absent"]
        assert [p["resend"] for k, p in steps if k == "request"] == [False, True]

    run(protocol, scenario)


@both
def test_after_a_clock_correction_a_dropped_user_data_stream_logs_in_again(protocol: Protocol) -> None:
    """The private websocket is signed with the corrected clock too (ccxt's OKX
    stamps its login with the computer's clock unless told otherwise)."""

    async def scenario(live: Live) -> None:
        await live.subscribed()
        placed = await live.broker.submit(live.limit_buy(level=3))
        live.server.skew_clock(2 * protocol.clock_window_ms)
        await live.broker.cancel(placed.client_order_id)  # refused for its time stamp, corrected, retried

        connections = live.server.ws_connections
        assert live.server.close_sockets() >= 1
        await live.until(lambda: live.server.ws_connections > connections, "a new connection")
        await live.until(lambda: live.broker.stream_state == "watching", "the streams back", 10.0)
        await live.subscribed()
        before = -1
        while before != live.polls():  # the catch-up refreshes of the recovery are over
            before = live.polls()
            await asyncio.sleep(0.5)
        again = await live.broker.submit(live.limit_buy(level=3))
        seen = len(live.events)
        live.server.trade_through(SYMBOL, float(again.price or 0), 1.0)
        await live.until(
            lambda: any(isinstance(e, FillAdded) for e in live.events[seen:]), "the fill, from the stream"
        )
        assert live.polls() == before

    run(protocol, scenario)


# -- lost answers: reconcile, never resend blindly ----------------------------------------------------
@both
@pytest.mark.parametrize("fault", ["timeout", "answer-lost", "timeout-on-a-market-order"])
def test_a_lost_answer_on_create_is_reconciled_without_a_duplicate_order(
    protocol: Protocol, fault: str
) -> None:
    async def scenario(live: Live) -> None:
        if fault == "answer-lost":
            live.server.order_answer_lost()
        else:
            live.server.order_timeout(seconds=10.0)  # the broker's timeout is 1 s
        market = fault == "timeout-on-a-market-order"
        intent = (
            OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.001"))
            if market
            else live.limit_buy()
        )
        cid = intent.client_order_id
        order = await live.broker.submit(intent)

        assert order.client_order_id == cid and order.order_id
        assert order.status is (OrderStatus.FILLED if market else OrderStatus.OPEN)
        assert live.server_orders() == [(cid, "filled" if market else "open")]
        assert live.server.order_requests == 1
        assert not live.broker.is_unknown(cid)
        if not market:
            assert [o.client_order_id for o in live.broker.open_orders()] == [cid]
        assert live.journal.outcomes(cid) == ["found"]
        assert [k for k, _ in live.journal.of(cid)].count("request") == 1

    run(protocol, scenario)


@both
def test_a_create_refused_before_it_was_read_is_sent_once_more_with_the_same_id(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        # an unknown error (Binance: HTTP 500; OKX: 50026 "System error"): the order may be in
        live.server.http_error(500, path=protocol.order_path)
        intent = live.limit_buy()
        order = await live.broker.submit(intent)
        assert order.status is OrderStatus.OPEN
        assert live.server.order_requests == 2
        assert live.server_orders() == [(intent.client_order_id, "open")]
        steps = live.journal.of(intent.client_order_id)
        assert live.journal.outcomes(intent.client_order_id) == ["absent"]
        param = CLIENT_ID_PARAM[protocol.name]
        sent = [p["create"]["params"][param] for k, p in steps if k == "request"]
        assert sent == [protocol.wire_client_id(intent.client_order_id)] * 2

    run(protocol, scenario)


@both
def test_an_order_whose_fate_cannot_be_learned_is_unknown_and_never_sent_again(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        await live.server.go_down()
        intent = live.limit_buy()
        cid = intent.client_order_id
        live.ask_shift = 0.0
        with pytest.raises(OrderStatusUnknownError) as caught:
            await live.broker.submit(intent)
        assert "check it on the exchange" in str(caught.value) and caught.value.client_order_id == cid
        assert live.broker.is_unknown(cid)
        shown = live.broker.order(cid)
        assert shown.is_open and shown.reason.startswith("Unknown — check the exchange")
        assert [o.client_order_id for o in live.broker.open_orders()] == [cid]
        with pytest.raises(TradingError, match="sent already"):
            await live.broker.submit(intent)

        await live.server.come_back()
        # The refresh keeps asking; two certain "no such order" answers settle it.
        await live.until(
            lambda: live.broker.order(cid).status is OrderStatus.REJECTED, "the unknown order settled", 10.0
        )
        assert "never reached the exchange" in live.broker.order(cid).reason
        assert live.server.order_requests == 0 and live.server.orders(API_KEY) == []

    run(protocol, scenario)


# -- the user-data stream ---------------------------------------------------------------------------
@both
def test_a_dropped_user_data_stream_recovers_and_catches_up(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        broker = live.broker
        await live.subscribed()
        assert broker.stream_state == "watching"
        resting = await broker.submit(live.limit_buy(level=2, amount="0.003"))

        assert live.server.close_sockets() >= 1
        live.server.trade_through(SYMBOL, float(resting.price or 0), 1.0)  # fills while the stream is down
        await live.until(
            lambda: broker.order(resting.client_order_id).status is OrderStatus.FILLED,
            "the missed fill",
            10.0,
        )
        # its fills from the refresh's fetch_my_trades (OKX: the fees positive there as from the stream)
        missed = resting.client_order_id
        await live.until(
            lambda: sum(f.amount for f in broker.order(missed).fills) == Decimal("0.003"),
            "the missed fill's trades",
            10.0,
        )
        assert all(f.fee > 0 and f.fee_currency == "BTC" for f in broker.order(missed).fills)
        await live.until(lambda: broker.stream_state == "watching", "the streams back", 10.0)
        await live.subscribed()

        # and the streams carry events again: orders, fills and balances, with no polling
        before = -1
        while before != live.polls():  # the catch-up refreshes of the recovery are over
            before = live.polls()
            await asyncio.sleep(0.5)
        again = await broker.submit(live.limit_buy(level=3))
        seen = len(live.events)
        live.server.trade_through(SYMBOL, float(again.price or 0), 1.0)
        free, locked = live.server.balances(API_KEY)["BTC"]
        btc = Decimal(str(free)) + Decimal(str(locked))

        def heard(kind: type, check: Callable[[Any], bool]) -> bool:
            return any(isinstance(e, kind) and check(e) for e in live.events[seen:])

        await live.until(
            lambda: (
                heard(FillAdded, lambda e: e.fill.client_order_id == again.client_order_id)
                and heard(OrderUpdated, lambda e: e.order.status is OrderStatus.FILLED)
                and heard(BalanceChanged, lambda e: e.balance.currency == "BTC" and e.balance.total == btc)
            ),
            "the fill, the order and the balance from the streams",
        )
        assert live.polls() == before

    run(protocol, scenario)
