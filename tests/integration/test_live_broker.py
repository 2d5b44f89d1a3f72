"""The live broker with the real ``ccxt.pro.binance`` class against the loopback
Binance server (tests/loopback), keys from the real keyring.

Run inside ``scripts/with-keyring`` (``scripts/test`` does): the keys go into a
throwaway GNOME Keyring through ``CredentialStore`` and the broker reads them
from there. Every request is signed by ccxt and verified by the server; the
market is paused so the books stay still, and fills come from
``server.trade_through``. Each test checks the exchange's side too
(``server.orders``, ``server.order_requests``): one intent, at most one order.
"""

from __future__ import annotations

import asyncio
import os
import time
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
    OrderNotFoundError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TerminalError,
    TradingError,
)
from terminal.market.orderbook import OrderBook
from terminal.trading.events import AccountEvent, BalanceChanged, FillAdded, OrderUpdated, PositionChanged
from terminal.trading.fees import Liquidity
from terminal.trading.journal import TradingJournal
from terminal.trading.live_broker import LiveBroker, LiveSettings
from terminal.trading.live_send import ReconcileSettings
from terminal.trading.live_sync import SyncSettings
from terminal.trading.orders import OrderIntent, OrderSide, OrderStatus, OrderType
from tests.integration.test_credentials import unlock
from tests.loopback.binance import LoopbackBinance

SYMBOL = "BTC/USDT"
API_KEY = "LiveLoopbackKey-7Hq2ZpX9mN4vB8cR1tY6uJ3kL5wE0aSdFgHzz"
SECRET = "LiveLoopbackSecret-Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xcvv"
THE_KEY = ApiKey(API_KEY, SECRET)
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
FAST = LiveSettings(
    timeout_ms=1_000,
    reconcile=ReconcileSettings(backoff=0.1, backoff_cap=0.4),
    sync=SyncSettings(poll_interval=0.3, resync_interval=60.0, backoff_initial=0.1, backoff_cap=0.5),
)

pytestmark = pytest.mark.slow


def needs_keyring() -> None:
    if not os.environ.get("WITH_KEYRING_PASSWORD"):
        pytest.fail(
            "run this test through scripts/test or scripts/with-keyring (it needs the throwaway keyring)"
        )


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
    server: LoopbackBinance
    broker: LiveBroker
    journal: Journal
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

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
            await asyncio.sleep(0.02)

    async def subscribed(self) -> None:
        await self.until(lambda: self.server.user_stream_count(API_KEY) >= 1, "the user-data subscription")

    def server_orders(self) -> list[tuple[str, str]]:
        return [(v.client_order_id, v.status) for v in self.server.orders(API_KEY)]


def account(server: LoopbackBinance, name: str = "loopback-live") -> AccountSettings:
    port = server.port
    return AccountSettings(
        name=name,
        exchange="binance",
        rest_url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}/stream",
        options=SPOT_ONLY,
    )


def run(
    scenario: Callable[[Live], Awaitable[None]],
    *,
    stored: ApiKey | None = THE_KEY,
    start: bool = True,
    timeout: float = 25.0,
) -> None:
    """``scenario(live)`` with a paused loopback server knowing ``API_KEY``, the
    keyring holding ``stored`` for the account, and (``start``) the broker started."""
    needs_keyring()

    async def main() -> None:
        server = LoopbackBinance(seed=5, history_days=1)
        await server.start()
        server.pause()
        server.add_key(API_KEY, SECRET)
        store = CredentialStore(service=f"terminal-live-test-{uuid.uuid4().hex[:8]}")
        settings = account(server)
        if stored is not None:
            await asyncio.to_thread(store.save, settings.name, stored)
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
        live = Live(server, broker, journal)
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
def test_a_limit_order_rests_with_its_client_order_id_and_fills_from_the_stream() -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        intent = live.limit_buy(level=3, amount="0.002")
        cid = intent.client_order_id
        order = await live.broker.submit(intent)

        assert order.client_order_id == cid and order.order_id
        assert order.status is OrderStatus.OPEN and order.price == intent.price
        assert [o.client_order_id for o in live.broker.open_orders(SYMBOL)] == [cid]
        assert live.server_orders() == [(cid, "NEW")]
        assert [k for k, _ in live.journal.of(cid)][:4] == ["intent", "check", "request", "response"]
        request = dict(live.journal.of(cid))["request"]
        assert request["create"]["params"]["newClientOrderId"] == cid
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
        assert live.broker.open_orders() == []
        assert [k for k, _ in live.journal.of(cid)].count("fill") == 2

    run(scenario)


def test_a_market_buy_fills_and_the_balance_stream_moves_balances_and_position() -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        asked = len(live.server.requests)
        order = await live.broker.submit(
            OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.002"))
        )

        assert order.status is OrderStatus.FILLED and order.filled == Decimal("0.002")
        assert sum(f.amount for f in order.fills) == Decimal("0.002")
        assert {f.liquidity for f in order.fills} == {Liquidity.TAKER}
        free, locked = live.server.balances(API_KEY)["BTC"]
        btc = Decimal(str(free)) + Decimal(str(locked))
        await live.until(
            lambda: "BTC" in live.broker.balances() and live.broker.balances()["BTC"].total == btc,
            "the BTC balance from watch_balance",
        )
        usdt_free = Decimal(str(live.server.balances(API_KEY)["USDT"][0]))
        await live.until(lambda: live.broker.balances()["USDT"].free == usdt_free, "the USDT balance")
        # from the stream, not from a poll: no balance request went out after the order
        assert not any("/api/v3/account" in r for r in live.server.requests[asked:])
        changed = {e.balance.currency for e in live.events if isinstance(e, BalanceChanged)}
        assert {"BTC", "USDT"} <= changed

        position = live.broker.positions()[SYMBOL]
        assert position.amount == btc
        assert any(isinstance(e, PositionChanged) and e.position.amount == btc for e in live.events)
        assert position.average_cost is not None  # from this session's fills
        live.broker.mark(SYMBOL, float(order.average_price or 0) * 1.01)
        assert live.broker.unrealised_pnl()[SYMBOL] > 0

    run(scenario)


def test_cancel_one_then_cancel_all_of_a_symbol_then_everywhere() -> None:
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

        by_symbol = await broker.cancel_all(SYMBOL)
        assert [o.client_order_id for o in by_symbol] == [second.client_order_id]
        assert [o.client_order_id for o in broker.open_orders()] == [eth.client_order_id]
        everywhere = await broker.cancel_all()
        assert [(o.client_order_id, o.status) for o in everywhere] == [
            (eth.client_order_id, OrderStatus.CANCELLED)
        ]
        assert broker.open_orders() == [] and await broker.cancel_all() == []
        assert sorted(live.server_orders()) == sorted(
            (o.client_order_id, "CANCELED") for o in (first, second, eth)
        )

    run(scenario)


def test_replace_cancels_the_order_then_places_the_new_one() -> None:
    async def scenario(live: Live) -> None:
        old = await live.broker.submit(live.limit_buy(level=3))
        new_intent = live.limit_buy(level=5, amount="0.002")
        new = await live.broker.replace(old.client_order_id, new_intent)
        assert live.broker.order(old.client_order_id).status is OrderStatus.CANCELLED
        assert new.client_order_id == new_intent.client_order_id and new.status is OrderStatus.OPEN
        assert live.server_orders() == [(old.client_order_id, "CANCELED"), (new.client_order_id, "NEW")]

    run(scenario)


# -- refusals --------------------------------------------------------------------------------------
def _short_of_usdt(live: Live) -> OrderIntent:
    live.server.add_key(API_KEY, SECRET, {"USDT": 10.0})  # the account empties behind the broker's back
    return live.limit_buy(level=3)


def _filter_failure(live: Live) -> OrderIntent:
    live.server.reject_orders(-1013, "Filter failure: NOTIONAL")  # ccxt: BadRequest, not InvalidOrder
    return live.limit_buy(level=3)


def _post_only_cross(live: Live) -> OrderIntent:
    live.ask_shift = 0.01  # the window's book is stale: the real best ask looks like a resting price
    return OrderIntent(
        SYMBOL, OrderSide.BUY, OrderType.LIMIT, Decimal("0.001"), price=live.price("ask", 0), post_only=True
    )


def _rate_limited(live: Live) -> OrderIntent:
    live.server.http_error(429, path="/api/v3/order")
    return live.limit_buy(level=3)


def _clock_beyond_repair(live: Live) -> OrderIntent:
    live.server.skew_clock(20_000)  # ccxt sends recvWindow=10000
    live.server.http_error(500, times=20, path="/api/v3/time")  # so the offset cannot be measured
    return live.limit_buy(level=3)


REFUSALS: dict[str, tuple[Callable[[Live], OrderIntent], type[TerminalError], str]] = {
    "insufficient-funds": (_short_of_usdt, InsufficientFundsError, "does not hold enough"),
    "filter-failure": (_filter_failure, OrderRejectedError, "(Filter failure: NOTIONAL)"),
    "post-only-would-take": (
        _post_only_cross,
        OrderRejectedError,
        "post-only order would have traded at once",
    ),
    "rate-limited": (_rate_limited, RateLimitedError, "The order was not sent"),
    "clock-skew": (_clock_beyond_repair, ClockSkewError, "clock"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_reaches_the_caller_in_plain_words_and_leaves_no_order(case: str) -> None:
    prepare, error, words = REFUSALS[case]

    async def scenario(live: Live) -> None:
        intent = prepare(live)
        with pytest.raises(error) as caught:
            await live.broker.submit(intent)
        message = caught.value.user_message()
        assert words in message
        assert "{" not in message and "binance" not in message  # the exchange's words, not its JSON
        assert live.server.orders(API_KEY) == []
        refused = live.broker.order(intent.client_order_id)
        assert refused.status is OrderStatus.REJECTED and refused.reason == message
        assert live.broker.open_orders() == []
        assert ("error", {"error": message}) in [
            (k, {"error": p.get("error")}) for k, p in live.journal.of(intent.client_order_id)
        ]

    run(scenario)


@pytest.mark.parametrize("case", ["unknown-key", "wrong-secret", "no-key-stored", "keyring-locked"])
def test_an_account_whose_keys_cannot_be_used_does_not_start(case: str) -> None:
    stored = {
        "unknown-key": ApiKey("NobodysKey-0123456789abcdefghijklmnopqrstuvwxyzABCD", SECRET),
        "wrong-secret": ApiKey(API_KEY, "NotTheSecret-0123456789abcdefghijklmnopqrstuvwxyz"),
        "no-key-stored": None,
        "keyring-locked": ApiKey(API_KEY, SECRET),
    }[case]
    expected: dict[str, tuple[type[Exception], str]] = {
        "unknown-key": (AuthenticationFailedError, "refused the API key"),
        "wrong-secret": (AuthenticationFailedError, "refused the API key"),
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

    run(scenario, stored=stored, start=False)


def test_clock_skew_is_corrected_and_the_order_still_goes_in_once() -> None:
    async def scenario(live: Live) -> None:
        placed = await live.broker.submit(live.limit_buy(level=3))
        live.server.skew_clock(20_000)
        # not an order: retried once after measuring the clock
        cancelled = await live.broker.cancel(placed.client_order_id)
        assert cancelled.status is OrderStatus.CANCELLED

        live.server.skew_clock(45_000)  # drifts further: the next create is refused for its time stamp
        sent = live.server.order_requests
        intent = live.limit_buy(level=4)
        order = await live.broker.submit(intent)
        assert order.status is OrderStatus.OPEN
        assert live.server.order_requests - sent == 2  # refused, looked up (absent), sent once more
        assert [v for v in live.server_orders() if v[0] == intent.client_order_id] == [
            (intent.client_order_id, "NEW")
        ]
        steps = live.journal.of(intent.client_order_id)
        assert live.journal.outcomes(intent.client_order_id) == ["absent"]
        assert [p["resend"] for k, p in steps if k == "request"] == [False, True]

    run(scenario)


# -- lost answers: reconcile, never resend blindly ----------------------------------------------------
@pytest.mark.parametrize("fault", ["timeout", "answer-lost", "timeout-on-a-market-order"])
def test_a_lost_answer_on_create_is_reconciled_without_a_duplicate_order(fault: str) -> None:
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
        assert live.server_orders() == [(cid, "FILLED" if market else "NEW")]
        assert live.server.order_requests == 1
        assert not live.broker.is_unknown(cid)
        if not market:
            assert [o.client_order_id for o in live.broker.open_orders()] == [cid]
        assert live.journal.outcomes(cid) == ["found"]
        assert [k for k, _ in live.journal.of(cid)].count("request") == 1

    run(scenario)


def test_a_create_refused_before_it_was_read_is_sent_once_more_with_the_same_id() -> None:
    async def scenario(live: Live) -> None:
        live.server.http_error(500, path="/api/v3/order")  # an unknown error: the order may be in
        intent = live.limit_buy()
        order = await live.broker.submit(intent)
        assert order.status is OrderStatus.OPEN
        assert live.server.order_requests == 2
        assert live.server_orders() == [(intent.client_order_id, "NEW")]
        steps = live.journal.of(intent.client_order_id)
        assert live.journal.outcomes(intent.client_order_id) == ["absent"]
        sent = [p["create"]["params"]["newClientOrderId"] for k, p in steps if k == "request"]
        assert sent == [intent.client_order_id] * 2

    run(scenario)


def test_an_order_whose_fate_cannot_be_learned_is_unknown_and_never_sent_again() -> None:
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

    run(scenario)


# -- the user-data stream ---------------------------------------------------------------------------
def test_a_dropped_user_data_stream_recovers_and_catches_up() -> None:
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
        await live.until(lambda: broker.stream_state == "watching", "the streams back", 10.0)
        await live.subscribed()

        # and the streams carry events again: orders, fills and balances, with no polling
        def polls() -> int:
            return sum("/api/v3/account" in r for r in live.server.requests)

        before = -1
        while before != polls():  # the catch-up refreshes of the recovery are over
            before = polls()
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
        assert polls() == before

    run(scenario)
