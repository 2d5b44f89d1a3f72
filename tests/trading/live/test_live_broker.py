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
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import secretstorage

from terminal.credentials import ApiKey, CredentialError, KeyringUnavailableError
from terminal.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    InsufficientFundsError,
    NotSupportedError,
    OrderNotFoundError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TerminalError,
    TradingError,
)
from terminal.trading.events import BalanceChanged, FillAdded, OrderUpdated, PositionChanged
from terminal.trading.fees import Liquidity
from terminal.trading.orders import OrderIntent, OrderSide, OrderStatus, OrderType
from tests.keyring_helpers import unlock
from tests.loopback.protocols import BINANCE, OKX, PROTOCOLS, Protocol
from tests.trading.live.live_helpers import (
    API_KEY,
    CLIENT_ID_PARAM,
    PASSPHRASE,
    SECRET,
    SYMBOL,
    Live,
    both,
    run,
    the_key,
)

pytestmark = pytest.mark.slow


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
