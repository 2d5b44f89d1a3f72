"""The loopback OKX server against the real ``ccxt.pro.okx`` class.

Each test starts a server on a free 127.0.0.1 port in its own ``asyncio.run``
and talks to it with ccxt (or, for the wire protocol itself, a plain aiohttp
client). What these pin down (ccxt 4.5.90) is how ccxt's OKX class meets the
faults the terminal must survive; ``README.md`` lists the findings. The
refused-subscription and ``book_at`` tests run on both servers.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import zlib
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_UP
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tests.conftest import wait_until
from tests.loopback.binance import LoopbackBinance
from tests.loopback.helpers import (
    SYMBOL,
    assert_in_sync,
    by_hand,
    first_error,
    malformed_frame_on_a_synced_book,
    run_with_client,
    synced_book,
)
from tests.loopback.okx import LoopbackOkx, configure
from tests.loopback.wire import dec

KEY = "loopback-okx-key"
SECRET = "loopback-okx-secret"  # made up, for the throwaway server
PASSPHRASE = "loopback-okx-passphrase"
Server = LoopbackOkx | LoopbackBinance


def run(
    test: Callable[[Any, Any], Awaitable[None]],
    timeout: float = 15.0,
    keyed: bool = False,
    server_class: type[Server] = LoopbackOkx,
    client: dict[str, Any] | None = None,
    **server_kw: Any,
) -> None:
    """Run ``test(server, exchange)`` with a started server and a configured ccxt
    client (``keyed``: ``KEY`` added and the client signing with it) in a fresh
    event loop; both are closed whatever happens."""

    def make_client(server: Server) -> Any:
        config = dict(client or {})
        if keyed:
            assert isinstance(server, LoopbackOkx)
            server.add_key(KEY, SECRET, PASSPHRASE)
            config.update(apiKey=KEY, secret=SECRET, password=PASSPHRASE)
        return server.client(**config)

    run_with_client(
        lambda: server_class(**{"seed": 11, "history_days": 2, **server_kw}), test, timeout, make_client
    )


# -- set-up ----------------------------------------------------------------------
def test_configure_points_every_url_at_loopback() -> None:
    async def main() -> None:
        exchange = ccxt.pro.okx({"enableRateLimit": False})
        try:
            configure(exchange, 4321)
            assert exchange.urls["api"] == {
                "rest": "http://127.0.0.1:4321",
                "ws": "ws://127.0.0.1:4321/ws/v5",
            }
            assert exchange.urls["test"]["ws"] == "ws://127.0.0.1:4321/ws/v5"
            assert exchange.options["fetchMarkets"]["types"] == ["spot"]
            assert exchange.get_url("books") == "ws://127.0.0.1:4321/ws/v5/public"
            assert exchange.get_url("candle1m") == "ws://127.0.0.1:4321/ws/v5/business"
            assert exchange.get_url("orders", "private") == "ws://127.0.0.1:4321/ws/v5/private"
        finally:
            await exchange.close()

    asyncio.run(main())


def test_load_markets_is_one_request_without_keys_two_with() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        markets = await exchange.load_markets()
        assert server.requests == ["GET /api/v5/public/instruments?instType=SPOT"]
        assert set(markets) == {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"}
        btc = markets["BTC/USDT"]
        assert btc["spot"] and btc["active"] and btc["id"] == "BTC-USDT"
        assert btc["precision"]["amount"] == 0.00001 and btc["precision"]["price"] == 0.1
        assert btc["limits"]["amount"]["min"] == 0.00001
        assert markets["XRP/USDT"]["precision"]["price"] == 0.0001
        # With keys, ccxt first fetches the currencies (a signed request); no option avoids it.
        server.add_key(KEY, SECRET, PASSPHRASE)
        keyed = server.client(apiKey=KEY, secret=SECRET, password=PASSPHRASE)
        try:
            await keyed.load_markets()
        finally:
            await keyed.close()
        assert server.requests[1:] == [
            "GET /api/v5/asset/currencies",
            "GET /api/v5/public/instruments?instType=SPOT",
        ]
        assert keyed.currencies["BTC"]["id"] == "BTC"

    run(check)


# -- REST ------------------------------------------------------------------------
def test_rest_days_book_levels_and_all_tickers() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        days = await exchange.fetch_ohlcv(SYMBOL, "1d", limit=2)  # ccxt asks for bar=1Dutc
        assert all(d[0] % 86_400_000 == 0 for d in days)
        assert "bar=1Dutc" in server.requests[-1]
        book = await exchange.fetch_order_book(SYMBOL, 20)
        bids, asks = server.book(SYMBOL, 20)
        # ccxt keeps a REST level's third element (OKX's always-"0" liquidated orders) as a count.
        assert all(len(level) == 3 and level[2] == 0 for level in book["bids"] + book["asks"])
        assert [level[:2] for level in book["bids"]] == bids and [level[:2] for level in book["asks"]] == asks
        assert book["nonce"] is None
        tickers = await exchange.fetch_tickers()
        assert set(tickers) == set(exchange.markets)
        assert tickers[SYMBOL]["last"] == server.engine(SYMBOL).last_price

    run(check)


# -- streams ---------------------------------------------------------------------
def test_watch_trades_ohlcv_tickers_and_top_of_book_deliver() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        trades = await exchange.watch_trades(SYMBOL)
        assert trades and all(int(t["id"]) <= server.engine(SYMBOL).trade_seq for t in trades)
        candles = await exchange.watch_ohlcv(SYMBOL, "5m")  # on /ws/v5/business
        assert candles[-1][0] % 300_000 == 0 and candles[-1][4] > 0
        ticker = await exchange.watch_ticker("ETH/USDT")
        assert ticker["symbol"] == "ETH/USDT" and 0 < ticker["bid"] < ticker["ask"]
        top = await exchange.watch_order_book(SYMBOL, 5)  # limit 5: the books5 channel
        assert len(top["bids"]) == 5 and len(top["asks"]) == 5
        assert top["bids"][0][0] < top["asks"][0][0]
        assert {c.url.rsplit("/", 1)[-1] for c in exchange.clients.values()} == {"public", "business"}

    run(check, speed=4.0, ticker_interval=0.2)


# -- book faults -----------------------------------------------------------------
def test_depth_gap_raises_invalid_nonce_then_resubscribes_on_the_same_socket() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await synced_book(server, exchange)
        connections = server.ws_connections
        server.depth_gap(SYMBOL)
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        # Not ChecksumError, as on Binance: ccxt's OKX class checks prevSeqId only.
        assert type(error) is ccxt.InvalidNonce and isinstance(error, ccxt.NetworkError)
        assert str(error) == "okx watchOrderBook received invalid nonce"
        assert SYMBOL not in exchange.orderbooks
        # The next watch unsubscribes, subscribes again and gets a new snapshot.
        await assert_in_sync(server, exchange)
        assert server.ws_connections == connections

    run(check, speed=4.0)


def test_a_wrong_checksum_goes_unnoticed_by_ccxt() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await synced_book(server, exchange)
        events = server.depth_events
        server.corrupt_checksum(SYMBOL, times=3)
        while server.depth_events < events + 4:
            await exchange.watch_order_book(SYMBOL)
        await assert_in_sync(server, exchange)

    run(check, speed=4.0)


def test_a_muted_book_goes_silent_and_unmuted_shows_a_gap() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await synced_book(server, exchange)
        server.mute("books", SYMBOL)
        seq = server.seq_id(SYMBOL)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.watch_order_book(SYMBOL), 0.6)
        assert server.seq_id(SYMBOL) > seq and await exchange.watch_trades(SYMBOL)  # the rest flows
        server.unmute()
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        assert type(error) is ccxt.InvalidNonce
        await assert_in_sync(server, exchange)

    run(check, speed=4.0)


# -- REST faults -------------------------------------------------------------------
def test_http_errors_map_to_ccxt_classes_and_keep_retry_after() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()
        for status in (429, 418, 200):  # each with {"code": "50011", "msg": "Too Many Requests"}
            server.http_error(status, retry_after=3)
            before = len(server.requests)
            with pytest.raises(ccxt.RateLimitExceeded, match="50011"):
                await exchange.fetch_ticker(SYMBOL)
            assert exchange.last_response_headers["Retry-After"] == "3"
            assert len(server.requests) == before + 1  # no retry
        # A 429 without OKX's body (a proxy's page): okx's httpExceptions say ExchangeNotAvailable.
        server.http_error(429, body="<html><body>429 Too Many Requests</body></html>")
        with pytest.raises(ccxt.ExchangeNotAvailable) as info:
            await exchange.fetch_ticker(SYMBOL)
        assert not isinstance(info.value, ccxt.DDoSProtection)
        server.http_error(503)  # code 50026 "System error"
        with pytest.raises(ccxt.ExchangeNotAvailable, match="50026"):
            await exchange.fetch_ticker(SYMBOL)
        assert (await exchange.fetch_ticker(SYMBOL))["last"] > 0  # faults are used up

    run(check)


# -- websocket faults ----------------------------------------------------------------
def test_malformed_ws_frame_kills_the_receive_loop_until_the_keepalive_times_out() -> None:
    """As on Binance the bad frame kills the connection's receive loop (the error
    only reaches the event loop's exception handler), but OKX's text ping goes on
    and its pongs are never read: after keepAlive x maxPingPongMisses (18 s x 2
    by default; 0.25 s x 2 here) the watch fails with RequestTimeout."""

    async def check(server: LoopbackOkx, exchange: Any) -> None:
        loop_errors = await malformed_frame_on_a_synced_book(server, exchange)
        connections = server.ws_connections
        started = time.monotonic()
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        assert type(error) is ccxt.RequestTimeout
        assert "ping-pong keepalive missing" in str(error)
        assert time.monotonic() - started > 0.2
        assert any("JSONDecodeError" in repr(c.get("exception")) for c in loop_errors)
        await assert_in_sync(server, exchange)
        assert server.ws_connections == connections + 1

    run(check, speed=4.0, client={"streaming": {"keepAlive": 250}})


# -- signed requests ------------------------------------------------------------------
def test_signed_requests_check_key_passphrase_signature_and_clock() -> None:
    async def check(server: LoopbackOkx, good: Any) -> None:
        balance = await good.fetch_balance()
        assert balance["USDT"] == {"free": 10_000.0, "used": 0.0, "total": 10_000.0}
        assert balance["BTC"]["total"] == 1.0
        bad = {
            "50113": server.client(apiKey=KEY, secret="nope", password=PASSPHRASE),
            "50105": server.client(apiKey=KEY, secret=SECRET, password="nope"),
            "50111": server.client(apiKey="nobody", secret=SECRET, password=PASSPHRASE),
        }
        try:
            for code, exchange in bad.items():
                with pytest.raises(ccxt.AuthenticationError, match=code):
                    await exchange.fetch_balance()
        finally:
            for exchange in bad.values():
                await exchange.close()
        server.skew_clock(-60_000)  # the client's clock is now a minute ahead
        with pytest.raises(ccxt.InvalidNonce, match="50102"):
            await good.fetch_balance()

    run(check, keyed=True)


def test_orders_create_fetch_cancel_fill_and_their_errors() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        bids, asks = server.book(SYMBOL)
        order = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, bids[5][0])
        assert server.order_requests == 1 and "POST /api/v5/trade/batch-orders" in server.requests
        fetched = await exchange.fetch_order(order["id"], SYMBOL)
        assert (fetched["status"], fetched["type"], fetched["price"], fetched["amount"]) == (
            "open",
            "limit",
            bids[5][0],
            0.01,
        )
        assert fetched["clientOrderId"] == order["clientOrderId"]
        assert [o["id"] for o in await exchange.fetch_open_orders(SYMBOL)] == [order["id"]]
        lock = dec(bids[5][0]) * dec(0.01)
        assert server.balances(KEY)["USDT"] == (float(10_000 - lock), float(lock))
        await exchange.cancel_order(order["id"], SYMBOL)
        assert (await exchange.fetch_order(order["id"], SYMBOL))["status"] == "canceled"
        with pytest.raises(ccxt.OrderNotFound, match="51401"):
            await exchange.cancel_order(order["id"], SYMBOL)
        with pytest.raises(ccxt.OrderNotFound, match="51603"):
            await exchange.fetch_order("999999", SYMBOL)

        amount = min(0.01, asks[0][1])  # what the best ask fills alone
        fee = dec(amount) * dec(0.001)
        market = await exchange.create_order(SYMBOL, "market", "buy", amount)
        filled = await exchange.fetch_order(market["id"], SYMBOL)
        assert (filled["status"], filled["filled"], filled["average"]) == ("closed", amount, asks[0][0])
        assert filled["fee"] == {"cost": float(fee), "currency": "BTC"}
        [trade] = await exchange.fetch_my_trades(SYMBOL)
        assert (trade["order"], trade["price"], trade["amount"], trade["takerOrMaker"]) == (
            market["id"],
            asks[0][0],
            amount,
            "taker",
        )
        assert [o["id"] for o in await exchange.fetch_closed_orders(SYMBOL)] == [market["id"]]
        assert server.balances(KEY)["BTC"] == (float(1 + dec(amount) - fee), 0.0)

        # A post-only order that would take is accepted, then canceled (OKX's way).
        post = await exchange.create_order(SYMBOL, "limit", "buy", 0.01, asks[0][0], {"postOnly": True})
        done = await exchange.fetch_order(post["id"], SYMBOL)
        assert done["status"] == "canceled" and done["postOnly"] and done["info"]["cancelSource"] == "31"

        with pytest.raises(ccxt.InsufficientFunds, match="51008"):
            await exchange.create_order(SYMBOL, "limit", "buy", 1.0, bids[0][0])
        # ccxt rounds amounts and prices to the market's precision; sent raw, the server refuses them.
        rejections = [
            (ccxt.InvalidOrder, "51121", ("0.000015", str(bids[0][0]))),  # not a multiple of the lot
            (ccxt.InvalidOrder, "51020", ("0.000001", str(bids[0][0]))),  # below minSz
            (ccxt.BadRequest, "51000", ("0.01", str(bids[0][0] + 0.05))),  # off the tick
        ]
        for error, code, (size, price) in rejections:
            raw = {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": size,
                "px": price,
            }
            with pytest.raises(error, match=code):
                await exchange.private_post_trade_order(raw)
        server.reject_orders("51008", "Order failed. Insufficient USDT balance in account.")
        with pytest.raises(ccxt.InsufficientFunds):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.01, bids[5][0])
        assert len(server.orders(KEY)) == 3 and server.order_requests == 8

    run(check, keyed=True)


def test_lost_order_answers_are_found_again_by_client_order_id() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        price = server.book(SYMBOL)[0][5][0]
        exchange.timeout = 300
        server.order_timeout(seconds=2.0)
        with pytest.raises(ccxt.RequestTimeout):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "late1"})
        server.order_answer_lost()
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await exchange.create_order(SYMBOL, "limit", "buy", 0.01, price, {"clientOrderId": "lost1"})
        for client_id in ("late1", "lost1"):
            found = await exchange.fetch_order(None, SYMBOL, {"clientOrderId": client_id})
            assert found["clientOrderId"] == client_id and found["status"] == "open"
        assert [o.client_order_id for o in server.orders(KEY)] == ["late1", "lost1"]

    run(check, keyed=True)


def test_watch_orders_balance_and_my_trades_hear_a_fill() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        balance = await exchange.watch_balance()  # the account channel's snapshot
        assert balance["USDT"]["free"] == 10_000.0
        price = server.book(SYMBOL)[1][3][0]
        orders = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
        await wait_until(lambda: server.user_stream_count(KEY, ("orders",)) == 1, "the orders channel")
        order = await exchange.create_order(SYMBOL, "limit", "sell", 0.01, price)
        assert [(o["id"], o["status"]) for o in await orders] == [(order["id"], "open")]
        assert server.user_stream_count(KEY) == 1
        orders = asyncio.ensure_future(exchange.watch_orders(SYMBOL))
        trades = asyncio.ensure_future(exchange.watch_my_trades(SYMBOL))
        balances = asyncio.ensure_future(exchange.watch_balance())
        await asyncio.sleep(0.1)
        server.trade_through(SYMBOL, price, 1.0)
        [filled] = [o for o in await orders if o["id"] == order["id"]]
        assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 0.01, price)
        [trade] = await trades
        assert (trade["order"], trade["price"], trade["takerOrMaker"]) == (order["id"], price, "maker")
        # ccxt's OKX class takes the pushed fillFee as is: a fee paid shows as a negative cost.
        quote = dec(price) * dec(0.01)
        fee = (quote * dec(0.001)).quantize(dec(0.00000001), rounding=ROUND_HALF_UP)
        assert trade["fee"] == {"cost": -float(fee), "currency": "USDT"}
        balance = await balances  # perhaps still the lock of the sell, pushed as it was placed
        while balance["USDT"]["total"] == 10_000:
            balance = await exchange.watch_balance()
        assert balance["BTC"] == {"free": 0.99, "used": 0.0, "total": 0.99}
        assert balance["USDT"]["total"] == float(10_000 + quote - fee)

    run(check, keyed=True)


def test_private_login_with_a_wrong_passphrase_fails_the_watch() -> None:
    async def check(server: LoopbackOkx, exchange: Any) -> None:
        await exchange.load_markets()  # with the wrong passphrase this would fail first (50105)
        exchange.password = "wrong"
        with pytest.raises(ccxt.AuthenticationError, match="60024"):
            await exchange.watch_orders()

    run(check, keyed=True)


# -- the wire protocol, without ccxt ----------------------------------------------
def _crc(bids: dict[str, str], asks: dict[str, str]) -> int:
    """OKX's checksum of a book held as price string -> size string, from scratch."""
    best_bids = sorted(bids, key=float, reverse=True)[:25]
    best_asks = sorted(asks, key=float)[:25]
    parts: list[str] = []
    for i in range(25):
        if i < len(best_bids):
            parts += [best_bids[i], bids[best_bids[i]]]
        if i < len(best_asks):
            parts += [best_asks[i], asks[best_asks[i]]]
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


def test_ws_protocol_snapshot_updates_checksums_and_errors() -> None:
    async def main() -> None:
        async with (
            LoopbackOkx(seed=5, history_days=1, speed=4.0) as server,
            aiohttp.ClientSession() as http,
        ):
            async with http.get(f"{server.rest_base}/api/v5/market/books?instId=NOPE-USDT") as response:
                assert (await response.json())["code"] == "51001"
            async with http.ws_connect(f"{server.ws_base}/public") as ws:
                await ws.send_str("ping")
                assert await ws.receive_str() == "pong"
                arg = {"channel": "books", "instId": "ETH-USDT"}
                await ws.send_str(json.dumps({"op": "subscribe", "args": [arg]}))
                ack = json.loads(await ws.receive_str())
                assert ack["event"] == "subscribe" and ack["arg"] == arg and ack["connId"]
                snapshot = json.loads(await ws.receive_str())
                assert snapshot["action"] == "snapshot" and snapshot["data"][0]["prevSeqId"] == -1
                data = snapshot["data"][0]
                bids = {p: s for p, s, *_ in data["bids"]}
                asks = {p: s for p, s, *_ in data["asks"]}
                assert _crc(bids, asks) == data["checksum"]
                seq = data["seqId"]
                server.corrupt_checksum("ETH/USDT")
                for n in range(6):
                    update = json.loads(await asyncio.wait_for(ws.receive_str(), 3))
                    item = update["data"][0]
                    assert update["action"] == "update" and item["prevSeqId"] == seq < item["seqId"]
                    for side, levels in ((bids, item["bids"]), (asks, item["asks"])):
                        for price, size, *_ in levels:
                            if size == "0":
                                del side[price]
                            else:
                                side[price] = size
                    assert (_crc(bids, asks) == item["checksum"]) == (n > 0)  # the first one is corrupt
                    seq = item["seqId"]
                server.pause()
                while seq != server.seq_id("ETH/USDT"):  # apply what is still in flight
                    item = json.loads(await asyncio.wait_for(ws.receive_str(), 3))["data"][0]
                    for side, levels in ((bids, item["bids"]), (asks, item["asks"])):
                        side.update({price: size for price, size, *_ in levels})
                        for price in [p for p, size in side.items() if size == "0"]:
                            del side[price]
                    seq = item["seqId"]
                held = [
                    [[float(p), float(side[p])] for p in sorted(side, key=float, reverse=r)]
                    for side, r in ((bids, True), (asks, False))
                ]
                assert tuple(held) == server.book("ETH/USDT")
                errors = [
                    ({"channel": "candle1m", "instId": "ETH-USDT"}, "60018"),  # candles live on /business
                    ({"channel": "books-l2-tbt", "instId": "ETH-USDT"}, "60029"),
                    ({"channel": "books", "instId": "NOPE-USDT"}, "60018"),
                ]
                for bad, code in errors:
                    await ws.send_str(json.dumps({"op": "subscribe", "args": [bad], "id": code}))
                await ws.send_str("{not json")
                await ws.send_str(json.dumps({"op": "unsubscribe", "args": [arg]}))
                answers = [json.loads(await asyncio.wait_for(ws.receive_str(), 3)) for _ in range(5)]
                assert [(a.get("event"), a.get("code")) for a in answers] == [
                    ("error", "60018"),
                    ("error", "60029"),
                    ("error", "60018"),
                    ("error", "60012"),
                    ("unsubscribe", None),
                ]
                assert answers[0]["id"] == "60018"
            async with http.ws_connect(f"{server.ws_base}/private") as ws:
                await ws.send_str(
                    json.dumps({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
                )
                assert json.loads(await ws.receive_str())["code"] == "60011"  # log in first

    asyncio.run(main())


def test_runs_by_hand_from_the_repo_root() -> None:
    with by_hand("okx") as lines:
        rest = lines[1].split()[1]
        assert rest.startswith("http://127.0.0.1:"), lines
        assert lines[2].split()[1] == rest.replace("http://", "ws://") + "/ws/v5"
        with urllib.request.urlopen(f"{rest}/api/v5/public/time", timeout=5) as response:
            assert abs(int(json.load(response)["data"][0]["ts"]) - time.time() * 1000) < 5000
