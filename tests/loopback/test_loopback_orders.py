"""The loopback server's order API against the real ``ccxt.pro.binance`` class.

Every request is signed by ccxt and verified by the server. What these tests
pin down (with ccxt 4.5.90) is what the terminal's live broker can rely on:
fills, fees and balances as Binance reports them, each rejection's ccxt
exception, reconciliation by client order id after a lost answer, and the
user-data events ``watch_orders`` / ``watch_my_trades`` / ``watch_balance`` get.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tests.conftest import wait_until
from tests.loopback.binance import DEFAULT_BALANCES, LoopbackBinance
from tests.loopback.helpers import run_with_client

SYMBOL = "BTC/USDT"
KEY = "loopback-test-key"
SECRET = "loopback-test-secret"  # a made-up secret for the throwaway server
TICK = 0.1  # BTC/USDT
FEE = 0.001


def run(
    test: Callable[[LoopbackBinance, Any], Awaitable[None]],
    timeout: float = 20.0,
    balances: dict[str, float] | None = None,
    **server_kw: Any,
) -> None:
    """Run ``test(server, exchange)`` with a started server, ``KEY`` added with
    ``balances`` (default: the server's) and a keyed, market-loaded ccxt client;
    both are closed whatever happens."""

    def keyed(server: LoopbackBinance) -> Any:
        server.add_key(KEY, SECRET, balances)
        return server.client(apiKey=KEY, secret=SECRET)

    async def loaded(server: LoopbackBinance, exchange: Any) -> None:
        await exchange.load_markets()
        await test(server, exchange)

    run_with_client(
        lambda: LoopbackBinance(**{"seed": 5, "history_days": 1, **server_kw}), loaded, timeout, keyed
    )


def lots(*amounts: float) -> float:
    """A sum of amounts as the float of its exact decimal (what ccxt sends as is)."""
    return float(sum((Decimal(str(a)) for a in amounts), Decimal(0)))


async def watch_until(
    first: Awaitable[Any],
    again: Callable[[], Awaitable[Any]],
    done: Callable[[Any], bool],
    timeout: float = 5.0,
) -> Any:
    """Await ``first`` (a watch started earlier), then watch ``again`` until ``done``."""
    deadline = time.monotonic() + timeout
    result = await asyncio.wait_for(first, timeout)
    while not done(result):
        result = await asyncio.wait_for(again(), deadline - time.monotonic())
    return result


async def started(watch: Awaitable[Any]) -> asyncio.Future[Any]:
    """``watch`` running, its future registered, so no event can slip past it."""
    task = asyncio.ensure_future(watch)
    await asyncio.sleep(0.01)
    return task


async def subscribed(server: LoopbackBinance, timeout: float = 5.0) -> None:
    await wait_until(lambda: server.user_stream_count(KEY) >= 1, "ccxt's user-data subscription", timeout)


# -- fills, fees and balances -------------------------------------------------------------------
def test_market_buy_walks_the_book_level_by_level_with_taker_fees() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        asks = server.book(SYMBOL)[1]
        half = (Decimal(str(asks[2][1])) / 2).quantize(Decimal("0.00001"), rounding=ROUND_DOWN)
        third = float(max(half, Decimal("0.00001")))
        amount = lots(asks[0][1], asks[1][1], third)
        order = await exchange.create_order(SYMBOL, "market", "buy", amount)

        expected = [(asks[0][0], asks[0][1]), (asks[1][0], asks[1][1]), (asks[2][0], third)]
        assert [(t["price"], t["amount"]) for t in order["trades"]] == expected
        cost = sum(round(p * q, 8) for p, q in expected)
        assert order["status"] == "closed" and order["filled"] == amount
        assert order["cost"] == pytest.approx(cost, rel=1e-12)
        assert order["average"] == pytest.approx(cost / amount, rel=1e-12)
        assert order["fee"]["currency"] == "BTC"
        assert order["fee"]["cost"] == pytest.approx(amount * FEE, abs=1e-8)
        assert server.book(SYMBOL)[1] == asks, "own orders leave the simulated book alone"

        balance = await exchange.fetch_balance()
        assert balance["BTC"]["free"] == pytest.approx(1.0 + amount * (1 - FEE), abs=1e-8)
        assert balance["USDT"]["free"] == pytest.approx(100_000.0 - cost, abs=1e-8)
        assert balance["USDT"]["used"] == 0
        assert server.balances(KEY)["USDT"] == (balance["USDT"]["free"], 0.0)

        trades = await exchange.fetch_my_trades(SYMBOL)
        assert [(t["price"], t["amount"], t["takerOrMaker"], t["side"]) for t in trades] == [
            (p, q, "taker", "buy") for p, q in expected
        ]
        assert {t["order"] for t in trades} == {order["id"]}

    run(check, balances={"USDT": 100_000.0, "BTC": 1.0})


def test_market_order_by_quote_amount_spends_at_most_that_and_sells_pay_fees_in_quote() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        bought = await exchange.create_market_buy_order_with_cost(SYMBOL, 500.0)
        assert bought["status"] == "closed"
        assert 500.0 - server.book(SYMBOL)[1][0][0] * 0.00001 * 2 < bought["cost"] <= 500.0
        sold = await exchange.create_order(SYMBOL, "market", "sell", 0.002)
        bids = server.book(SYMBOL)[0]
        assert sold["trades"][0]["price"] == bids[0][0]
        assert sold["fee"]["currency"] == "USDT"
        assert sold["fee"]["cost"] == pytest.approx(sold["cost"] * FEE, abs=1e-8)

    run(check)


def test_limit_order_rests_with_funds_locked_then_fills_as_trades_go_through() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        bids = server.book(SYMBOL)[0]
        price = bids[3][0]
        order = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, price)
        assert order["status"] == "open" and order["filled"] == 0 and order["trades"] == []
        usdt = DEFAULT_BALANCES["USDT"]
        assert server.balances(KEY)["USDT"] == pytest.approx((usdt - 0.01 * price, 0.01 * price))
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["used"] == pytest.approx(0.01 * price)
        assert [o["id"] for o in await exchange.fetch_open_orders(SYMBOL)] == [order["id"]]

        server.trade_through(SYMBOL, round(price + TICK, 1), 1.0)  # above a buy: no fill
        server.trade_through(SYMBOL, price, 0.004)  # at the price, short: a partial fill
        partial = await exchange.fetch_order(None, SYMBOL, {"origClientOrderId": order["clientOrderId"]})
        assert partial["id"] == order["id"] and partial["status"] == "open"
        assert (partial["filled"], partial["remaining"]) == (0.004, 0.006)

        server.trade_through(SYMBOL, round(price - 5 * TICK, 1), 1.0)  # through it: the rest, at its price
        filled = await exchange.fetch_order(order["id"], SYMBOL)
        assert filled["status"] == "closed" and filled["filled"] == 0.01
        assert filled["average"] == price
        trades = await exchange.fetch_my_trades(SYMBOL)
        assert [(t["price"], t["amount"], t["takerOrMaker"]) for t in trades] == [
            (price, 0.004, "maker"),
            (price, 0.006, "maker"),
        ]
        assert await exchange.fetch_open_orders(SYMBOL) == []
        free, locked = server.balances(KEY)["USDT"]
        assert (free, locked) == (pytest.approx(usdt - 0.01 * price, abs=1e-8), 0.0)
        assert server.balances(KEY)["BTC"][0] == pytest.approx(DEFAULT_BALANCES["BTC"] + 0.01 * (1 - FEE))

    run(check)


def test_limit_order_crossing_the_book_takes_then_rests_the_rest() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        asks = server.book(SYMBOL)[1]
        taken = lots(asks[0][1], asks[1][1])
        amount = lots(taken, 0.005)
        order = await exchange.create_order(SYMBOL, "limit", "buy", amount, asks[1][0])
        assert [(t["price"], t["amount"]) for t in order["trades"]] == [tuple(asks[0]), tuple(asks[1])]
        assert order["status"] == "open" and order["filled"] == taken
        locked = server.balances(KEY)["USDT"][1]
        assert locked == pytest.approx(0.005 * asks[1][0]), "the resting part holds its funds"

    run(check)


def test_a_resting_order_fills_from_the_live_market_and_watch_my_trades_sees_it() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        trades = asyncio.ensure_future(exchange.watch_my_trades(SYMBOL))
        await subscribed(server)
        best_ask = server.book(SYMBOL, 1)[1][0][0]
        order = await exchange.create_order(SYMBOL, "limit", "buy", 0.002, round(best_ask - TICK, 1))
        seen = await watch_until(
            trades,
            lambda: exchange.watch_my_trades(SYMBOL),
            lambda _: sum(t["amount"] for t in exchange.myTrades) >= 0.002 - 1e-12,
            timeout=15.0,
        )
        assert seen and all(t["order"] == order["id"] and t["takerOrMaker"] == "maker" for t in seen)
        assert (await exchange.fetch_order(order["id"], SYMBOL))["status"] == "closed"

    run(check, timeout=25.0, speed=4.0)


# -- stops ---------------------------------------------------------------------------------
def test_stop_orders_wait_for_the_last_price_then_trigger() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        bids = server.book(SYMBOL)[0]
        last = server.engine(SYMBOL).last_price
        stop = round(min(last, bids[0][0]) - 20 * TICK, 1)
        qty = min(0.001, bids[0][1])  # each fills at the best bid (own orders never deplete the book)
        limit_stop = await exchange.create_order(
            SYMBOL, "limit", "sell", qty, round(stop - 50 * TICK, 1), {"stopPrice": stop}
        )
        market_stop = await exchange.create_order(SYMBOL, "market", "sell", qty, None, {"stopPrice": stop})
        # ccxt calls them limit and market orders with a trigger price
        assert [limit_stop["info"]["type"], market_stop["info"]["type"]] == ["STOP_LOSS_LIMIT", "STOP_LOSS"]
        assert [limit_stop["type"], market_stop["type"]] == ["limit", "market"]
        assert limit_stop["triggerPrice"] == market_stop["triggerPrice"] == stop
        open_orders = await exchange.fetch_open_orders(SYMBOL)
        assert {o["status"] for o in open_orders} == {"open"} and len(open_orders) == 2
        assert server.balances(KEY)["BTC"][1] == pytest.approx(2 * qty), "waiting stops lock their amount"

        server.trade_through(SYMBOL, round(stop + TICK, 1), 1.0)  # not there yet
        assert len(await exchange.fetch_open_orders(SYMBOL)) == 2
        server.trade_through(SYMBOL, stop, 0.0001)  # the trigger: both sell into the bids as takers
        for placed in (limit_stop, market_stop):
            done = await exchange.fetch_order(placed["id"], SYMBOL)
            assert done["status"] == "closed" and done["filled"] == qty and done["average"] == bids[0][0]
        assert server.balances(KEY)["BTC"] == (pytest.approx(DEFAULT_BALANCES["BTC"] - 2 * qty), 0.0)

    run(check)


# -- cancels and queries -------------------------------------------------------------------------
def test_cancel_one_then_cancel_all_releases_funds() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        bid = server.book(SYMBOL)[0][5][0]
        eth_bid = server.book("ETH/USDT")[0][5][0]
        a = await exchange.create_order(SYMBOL, "limit", "buy", 0.001, bid, {"clientOrderId": "ticket-a"})
        b = await exchange.create_order(SYMBOL, "limit", "buy", 0.002, bid, {"clientOrderId": "ticket-b"})
        c = await exchange.create_order(SYMBOL, "limit", "sell", 0.003, round(bid * 1.1, 1))
        eth = await exchange.create_order("ETH/USDT", "limit", "buy", 0.01, eth_bid)

        canceled = await exchange.cancel_order(a["id"], SYMBOL)
        assert canceled["status"] == "canceled" and canceled["id"] == a["id"]
        # as on Binance, a cancel's clientOrderId is the cancel's own id; the order's is origClientOrderId
        assert canceled["info"]["origClientOrderId"] == "ticket-a"
        assert canceled["clientOrderId"] != "ticket-a"
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.cancel_order(a["id"], SYMBOL)

        by_client_id = await exchange.cancel_order(None, SYMBOL, {"origClientOrderId": "ticket-b"})
        assert by_client_id["id"] == b["id"] and by_client_id["status"] == "canceled"
        rest = await exchange.cancel_all_orders(SYMBOL)
        assert [o["id"] for o in rest] == [c["id"]] and rest[0]["status"] == "canceled"
        assert await exchange.fetch_open_orders(SYMBOL) == []
        assert [o["id"] for o in await exchange.fetch_open_orders("ETH/USDT")] == [eth["id"]]
        with pytest.raises(ccxt.OrderNotFound):  # Binance: -2011 when nothing is open
            await exchange.cancel_all_orders(SYMBOL)
        assert server.balances(KEY)["BTC"] == (DEFAULT_BALANCES["BTC"], 0.0)
        assert server.balances(KEY)["USDT"][1] == pytest.approx(0.01 * eth_bid)

        history = await exchange.fetch_orders(SYMBOL)
        assert [(o["id"], o["status"]) for o in history] == [
            (a["id"], "canceled"),
            (b["id"], "canceled"),
            (c["id"], "canceled"),
        ]
        assert [(v.client_order_id, v.status) for v in server.orders(KEY)][:2] == [
            ("ticket-a", "CANCELED"),
            ("ticket-b", "CANCELED"),
        ]

    run(check)


# -- rejections --------------------------------------------------------------------------------
async def _limit_buy(
    exchange: Any, server: LoopbackBinance, amount: float, level: int = 3, **params: Any
) -> Any:
    return await exchange.create_order(
        SYMBOL, "limit", "buy", amount, server.book(SYMBOL)[0][level][0], params
    )


async def _raw(exchange: Any, **params: str | None) -> Any:
    """A new order straight through ccxt's signed implicit API (no client-side rounding)."""
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    return await exchange.private_post_order({k: v for k, v in {**base, **params}.items() if v is not None})


async def _duplicate(exchange: Any, server: LoopbackBinance) -> Any:
    await _limit_buy(exchange, server, 0.001, clientOrderId="same-id")
    return await _limit_buy(exchange, server, 0.001, clientOrderId="same-id")


async def _with_client(server: LoopbackBinance, key: str, secret: str) -> Any:
    other = server.client(apiKey=key, secret=secret)
    try:
        return await _limit_buy(other, server, 0.001)
    finally:
        await other.close()


async def _skewed(exchange: Any, server: LoopbackBinance) -> Any:
    server.skew_clock(20_000)  # ccxt sends recvWindow=10000
    return await _limit_buy(exchange, server, 0.001)


async def _injected(exchange: Any, server: LoopbackBinance) -> Any:
    server.reject_orders(-2010, "Account has insufficient balance for requested action.")
    return await _limit_buy(exchange, server, 0.001)


async def _rate_limited(exchange: Any, server: LoopbackBinance) -> Any:
    server.http_error(429, path="/api/v3/order")
    return await _limit_buy(exchange, server, 0.001)


async def _stop_would_trigger(exchange: Any, server: LoopbackBinance) -> Any:
    above = round(server.engine(SYMBOL).last_price + 50 * TICK, 1)
    return await exchange.create_order(SYMBOL, "market", "sell", 0.001, None, {"stopPrice": above})


REJECTIONS: dict[str, tuple[Callable[[Any, LoopbackBinance], Awaitable[Any]], type[Exception], str]] = {
    "insufficient-quote": (
        lambda e, s: _limit_buy(e, s, 1.0),
        ccxt.InsufficientFunds,
        "insufficient balance",
    ),
    "insufficient-base": (
        lambda e, s: e.create_order(SYMBOL, "limit", "sell", 5.0, s.book(SYMBOL)[1][3][0]),
        ccxt.InsufficientFunds,
        "insufficient balance",
    ),
    "insufficient-for-market": (
        lambda e, s: e.create_order(SYMBOL, "market", "buy", 1.0),
        ccxt.InsufficientFunds,
        "insufficient balance",
    ),
    "post-only-would-take": (
        lambda e, s: e.create_order(
            SYMBOL, "limit", "buy", 0.001, s.book(SYMBOL)[1][0][0], {"postOnly": True}
        ),
        ccxt.OrderImmediatelyFillable,
        "Order would immediately match and take.",
    ),
    "stop-would-trigger": (_stop_would_trigger, ccxt.OrderImmediatelyFillable, "Stop price would trigger"),
    "duplicate-client-order-id": (_duplicate, ccxt.InvalidOrder, "Duplicate order sent."),
    "price-off-tick": (
        lambda e, s: _raw(e, quantity="0.001", price="60000.05"),
        ccxt.InvalidOrder,
        "PRICE_FILTER",
    ),
    "quantity-off-step": (
        lambda e, s: _raw(e, quantity="0.000015", price="60000.0"),
        ccxt.InvalidOrder,
        "LOT_SIZE",
    ),
    "market-quantity-too-big": (
        lambda e, s: _raw(e, type="MARKET", timeInForce=None, quantity="150"),
        ccxt.InvalidOrder,
        "MARKET_LOT_SIZE",
    ),
    # -1013 NOTIONAL is a BadRequest in ccxt, not an InvalidOrder: the terminal must map it itself
    "notional-too-small": (
        lambda e, s: _limit_buy(e, s, 0.00001),
        ccxt.BadRequest,
        "Filter failure: NOTIONAL",
    ),
    "unknown-symbol": (
        lambda e, s: _raw(e, symbol="DOGEUSDT", quantity="1", price="1"),
        ccxt.BadSymbol,
        "-1121",
    ),
    "unknown-order-fetch": (lambda e, s: e.fetch_order("424242", SYMBOL), ccxt.OrderNotFound, "-2013"),
    "unknown-order-cancel": (lambda e, s: e.cancel_order("424242", SYMBOL), ccxt.OrderNotFound, "-2011"),
    "cancel-all-with-none-open": (lambda e, s: e.cancel_all_orders(SYMBOL), ccxt.OrderNotFound, "-2011"),
    "wrong-secret": (lambda e, s: _with_client(s, KEY, "not-the-secret"), ccxt.AuthenticationError, "-1022"),
    "unknown-key": (lambda e, s: _with_client(s, "nobody", SECRET), ccxt.AuthenticationError, "-2015"),
    "timestamp-outside-recv-window": (_skewed, ccxt.InvalidNonce, "-1021"),
    "injected-rejection": (_injected, ccxt.InsufficientFunds, "insufficient balance"),
    "rate-limited": (_rate_limited, ccxt.DDoSProtection, "429"),
}


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_rejection_maps_to_its_ccxt_exception_and_leaves_no_order(case: str) -> None:
    call, error, text = REJECTIONS[case]

    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        with pytest.raises(error) as caught:
            await call(exchange, server)
        assert text in str(caught.value)
        if error is ccxt.BadRequest:
            assert not isinstance(caught.value, ccxt.InvalidOrder)
        made = [v.client_order_id for v in server.orders(KEY)]
        assert made == (["same-id"] if case == "duplicate-client-order-id" else [])
        assert server.balances(KEY)["USDT"][1] == pytest.approx(
            0.001 * server.book(SYMBOL)[0][3][0] * len(made)
        )

    run(check)


# -- a lost answer, then reconciliation ------------------------------------------------------------
@pytest.mark.parametrize("fault", ["timeout", "connection-reset"])
def test_a_create_whose_answer_is_lost_leaves_one_order_found_by_its_client_order_id(fault: str) -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        price = server.book(SYMBOL)[0][3][0]
        if fault == "timeout":
            exchange.timeout = 500  # ms
            server.order_timeout(seconds=10.0)
            expected: type[Exception] = ccxt.RequestTimeout
        else:
            server.order_answer_lost()
            expected = ccxt.ExchangeNotAvailable  # a NetworkError
        with pytest.raises(expected):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "intent-7"})

        exchange.timeout = 10_000
        found = await exchange.fetch_order(None, SYMBOL, {"origClientOrderId": "intent-7"})
        assert found["status"] == "open" and found["clientOrderId"] == "intent-7" and found["price"] == price
        # a blind resend would be refused while the first is open; reconciling avoids it
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent"):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.001, price, {"clientOrderId": "intent-7"})
        assert [(v.client_order_id, v.status) for v in server.orders(KEY)] == [("intent-7", "NEW")]
        assert server.order_requests == 2

    run(check)


# -- user-data streams -----------------------------------------------------------------------------
def test_watch_orders_my_trades_and_balance_deliver_a_fill() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        orders = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
        trades = asyncio.ensure_future(exchange.watch_my_trades(SYMBOL))
        balance = asyncio.ensure_future(exchange.watch_balance())
        await subscribed(server)
        price = server.book(SYMBOL)[0][2][0]
        placed = await exchange.create_order(
            SYMBOL, "limit", "buy", 0.003, price, {"clientOrderId": "watched-1"}
        )

        seen = await watch_until(orders, lambda: exchange.watch_orders(SYMBOL), lambda got: bool(got))
        assert seen[-1]["id"] == placed["id"] and seen[-1]["clientOrderId"] == "watched-1"
        usdt_locked = await watch_until(
            balance,
            exchange.watch_balance,
            lambda b: b.get("USDT", {}).get("used") == pytest.approx(0.003 * price),
        )
        assert usdt_locked["USDT"]["free"] == pytest.approx(DEFAULT_BALANCES["USDT"] - 0.003 * price)

        next_orders = await started(exchange.watch_orders(SYMBOL))
        next_balance = await started(exchange.watch_balance())
        server.trade_through(SYMBOL, price, 1.0)
        closed = await watch_until(
            next_orders, lambda: exchange.watch_orders(SYMBOL), lambda got: got[-1]["status"] == "closed"
        )
        assert closed[-1]["filled"] == 0.003 and closed[-1]["clientOrderId"] == "watched-1"
        mine = await watch_until(trades, lambda: exchange.watch_my_trades(SYMBOL), lambda got: bool(got))
        assert [(t["order"], t["price"], t["amount"], t["takerOrMaker"]) for t in mine] == [
            (placed["id"], price, 0.003, "maker")
        ]
        assert mine[0]["fee"] == {"cost": 0.000003, "currency": "BTC"}
        settled = await watch_until(
            next_balance, exchange.watch_balance, lambda b: b["BTC"]["free"] > DEFAULT_BALANCES["BTC"]
        )
        free, locked = server.balances(KEY)["BTC"]
        assert (settled["BTC"]["free"], settled["BTC"]["used"]) == (free, locked)
        assert settled["USDT"]["used"] == 0

    run(check)


def test_user_data_subscription_with_a_wrong_secret_is_refused() -> None:
    async def check(server: LoopbackBinance, _: Any) -> None:
        wrong = server.client(apiKey=KEY, secret="not-the-secret")
        try:
            # ccxt 4.5.90 turns the -1022 answer into an AuthenticationError, then trips
            # over its own cleanup: what reaches the caller is KeyError('spot'),
            # chained from the AuthenticationError
            with pytest.raises(KeyError) as caught:
                await asyncio.wait_for(wrong.watch_orders(SYMBOL), 5.0)
            assert isinstance(caught.value.__context__, ccxt.AuthenticationError)
            assert "-1022" in str(caught.value.__context__)
        finally:
            await wrong.close()
        assert server.user_stream_count(KEY) == 0

    run(check)


def test_user_data_stream_dropped_by_the_server_fails_the_watch_then_resubscribes() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        pending = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
        await subscribed(server)
        server.close_sockets()
        with pytest.raises(ccxt.NetworkError):
            await asyncio.wait_for(pending, 5.0)
        again = await started(exchange.watch_orders(SYMBOL))
        await subscribed(server)
        placed = await exchange.create_order(SYMBOL, "limit", "buy", 0.001, server.book(SYMBOL)[0][3][0])
        seen = await asyncio.wait_for(again, 5.0)
        assert seen[-1]["id"] == placed["id"]

    run(check)


def test_order_test_endpoint_validates_without_placing() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        price = server.book(SYMBOL)[0][3][0]
        await exchange.create_order(SYMBOL, "limit", "buy", 0.001, price, {"test": True})
        with pytest.raises(ccxt.InsufficientFunds):
            await exchange.create_order(SYMBOL, "limit", "buy", 1.0, price, {"test": True})
        assert server.orders(KEY) == [] and server.order_requests == 0
        assert "POST /api/v3/order/test" in server.requests

    run(check)


def test_listen_key_stream_delivers_raw_execution_reports() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        server.pause()
        url = f"{server.rest_base}/v3/userDataStream"
        async with aiohttp.ClientSession(headers={"X-MBX-APIKEY": KEY}) as http:
            async with http.post(url) as r:
                listen_key = (await r.json())["listenKey"]
            async with http.post(url) as r:
                assert (await r.json())["listenKey"] == listen_key, "one active key per account"
            async with http.put(url, data={"listenKey": listen_key}) as r:
                assert r.status == 200 and await r.json() == {}
            async with http.put(url, data={"listenKey": "nope"}) as r:
                assert (r.status, (await r.json())["code"]) == (400, -1125)
            async with http.ws_connect(f"{server.ws_base}/{listen_key}") as ws:
                await subscribed(server)
                best_ask_size = server.book(SYMBOL)[1][0][1]
                await exchange.create_order(SYMBOL, "market", "buy", min(best_ask_size, 0.001))
                events = [json.loads((await ws.receive(timeout=5)).data) for _ in range(3)]
            async with http.delete(url, params={"listenKey": listen_key}) as r:
                assert r.status == 200
        assert [(e["e"], e.get("x"), e.get("X")) for e in events] == [
            ("executionReport", "NEW", "NEW"),
            ("executionReport", "TRADE", "FILLED"),
            ("outboundAccountPosition", None, None),
        ]
        assert {b["a"] for b in events[2]["B"]} == {"BTC", "USDT"}

    run(check)
