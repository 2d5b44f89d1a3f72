"""The loopback Binance server against the real ``ccxt.pro.binance`` class.

Each test starts a server on a free 127.0.0.1 port in its own ``asyncio.run``
and talks to it with ccxt (or, for the wire protocol itself, a plain aiohttp
client). The fault tests pin down the ccxt behaviour recorded in
``../shared/notes/ccxt-offline.md``: the terminal's own tests rely on it.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import pytest

from tests.loopback.binance import WEEK_OFFSET_MS, LoopbackBinance, configure
from tests.loopback.helpers import (
    SYMBOL,
    assert_in_sync,
    by_hand,
    first_error,
    malformed_frame_on_a_synced_book,
    run_with_client,
    synced_book,
)


def run(
    test: Callable[[LoopbackBinance, Any], Awaitable[None]], timeout: float = 20.0, **server_kw: Any
) -> None:
    """Run ``test(server, exchange)`` with a started server and a configured ccxt
    client in a fresh event loop; both are closed whatever happens."""
    run_with_client(lambda: LoopbackBinance(**{"seed": 11, "history_days": 10, **server_kw}), test, timeout)


# -- set-up ----------------------------------------------------------------------
def test_configure_points_every_url_at_loopback_and_asserts_it() -> None:
    async def main() -> None:
        exchange = ccxt.pro.binance({"enableRateLimit": False})
        try:
            configure(exchange, 4321)
            api = exchange.urls["api"]
            assert api["public"] == "http://127.0.0.1:4321/api/v3"
            assert api["private"] == "http://127.0.0.1:4321/api/v3"
            assert api["v1"] == "http://127.0.0.1:4321/api/v1"
            assert api["sapi"] == "http://127.0.0.1:4321/sapi/v1"
            assert api["ws"]["spot"] == "ws://127.0.0.1:4321/stream/ws"
            assert exchange.urls["test"]["ws"]["spot"] == "ws://127.0.0.1:4321/stream/ws"
            assert exchange.urls["demo"]["public"] == "http://127.0.0.1:4321/api/v3"
            assert exchange.options["fetchMarkets"]["types"] == ["spot"]
            assert exchange.options["fetchCurrencies"] is False
            assert exchange.options["fetchMargins"] is False

            # Keys ccxt may add later are rewritten too, lists included.
            exchange.urls["api"]["new"] = ["https://api.binance.com/x", "wss://x.binance.com/ws"]
            configure(exchange, 4321)
            assert exchange.urls["api"]["new"] == [
                "http://127.0.0.1:4321/x",
                "ws://127.0.0.1:4321/unserved/ws",
            ]
        finally:
            await exchange.close()

    asyncio.run(main())


def test_load_markets_is_one_request_with_precision_even_with_keys() -> None:
    async def check(server: LoopbackBinance, _: Any) -> None:
        server.add_key("k", "s")
        exchange = server.client(apiKey="k", secret="s")
        try:
            markets = await exchange.load_markets()
        finally:
            await exchange.close()
        assert server.requests == ["GET /api/v3/exchangeInfo"]
        assert set(markets) == {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"}
        btc = markets["BTC/USDT"]
        assert btc["spot"] and btc["active"] and btc["id"] == "BTCUSDT"
        assert btc["precision"]["price"] == 0.1
        assert btc["precision"]["amount"] == 0.00001
        assert btc["limits"]["cost"]["min"] == 5.0
        assert markets["XRP/USDT"]["precision"]["price"] == 0.0001

    run(check)


# -- REST ------------------------------------------------------------------------
def test_rest_weeks_book_snapshot_and_both_trade_endpoints() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        weeks = await exchange.fetch_ohlcv(SYMBOL, "1w", limit=2)
        assert len(weeks) == 2
        assert all((w[0] - WEEK_OFFSET_MS) % (7 * 86_400_000) == 0 for w in weeks)  # Mondays
        book = await exchange.fetch_order_book(SYMBOL, 20)
        assert book["nonce"] == server.update_id(SYMBOL)
        assert (book["bids"], book["asks"]) == server.book(SYMBOL, 20)
        trades = await exchange.fetch_trades(SYMBOL, limit=20)  # aggTrades
        raw = await exchange.fetch_trades(SYMBOL, limit=20, params={"fetchTradesMethod": "publicGetTrades"})
        assert len(trades) == 20 and [t["id"] for t in trades] == [t["id"] for t in raw]

    run(check)


# -- streams ---------------------------------------------------------------------
def test_watch_trades_ohlcv_and_tickers_deliver() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        trades = await exchange.watch_trades(SYMBOL)
        assert trades and all(int(t["id"]) <= server.engine(SYMBOL).trade_seq for t in trades)
        candles = await exchange.watch_ohlcv(SYMBOL, "5m")
        assert candles[-1][0] % 300_000 == 0 and candles[-1][4] > 0
        mini = await exchange.watch_ticker(SYMBOL)
        assert mini["last"] > 0 and mini["bid"] is None  # @miniTicker has no bid/ask
        full = await exchange.watch_ticker("ETH/USDT", params={"name": "ticker"})
        assert full["symbol"] == "ETH/USDT" and 0 < full["bid"] < full["ask"]

    run(check, speed=4.0, ticker_interval=0.2)


# -- signed endpoints ------------------------------------------------------------
def test_fetch_balance_checks_key_signature_and_clock() -> None:
    async def check(server: LoopbackBinance, _: Any) -> None:
        server.add_key("key-1", "secret-1", {"USDT": 1234.5, "BTC": 0.25})
        good = server.client(apiKey="key-1", secret="secret-1")
        wrong_secret = server.client(apiKey="key-1", secret="nope")
        wrong_key = server.client(apiKey="key-2", secret="secret-1")
        try:
            balance = await good.fetch_balance()
            assert balance["USDT"]["free"] == 1234.5 and balance["BTC"]["total"] == 0.25
            with pytest.raises(ccxt.AuthenticationError, match="-1022"):
                await wrong_secret.fetch_balance()
            with pytest.raises(ccxt.AuthenticationError, match="-2015"):
                await wrong_key.fetch_balance()
            server.skew_clock(-30_000)  # the client's clock is now 30 s ahead
            with pytest.raises(ccxt.InvalidNonce, match="-1021"):
                await good.fetch_balance()
            server.skew_clock(0)
            # Not in the notes: once an instance has authenticated, ccxt reports -2015
            # as DDoSProtection ("temporary ban"), not AuthenticationError.
            good.apiKey = "key-2"
            with pytest.raises(ccxt.DDoSProtection, match="-2015"):
                await good.fetch_balance()
        finally:
            for exchange in (good, wrong_secret, wrong_key):
                await exchange.close()

    run(check)


# -- faults ----------------------------------------------------------------------
def test_depth_gap_raises_checksum_error_then_resyncs() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        await synced_book(server, exchange)
        server.depth_gap(SYMBOL)
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        assert isinstance(error, ccxt.ChecksumError) and isinstance(error, ccxt.InvalidNonce)
        assert isinstance(error, ccxt.NetworkError)
        await assert_in_sync(server, exchange)
        assert server.requests.count("GET /api/v3/depth?symbol=BTCUSDT&limit=1000") == 2

    run(check, speed=4.0)


def test_http_429_and_418_are_ddos_protection_without_retry() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        await exchange.load_markets()
        for status in (429, 418):
            server.http_error(status, retry_after=1)
            before = len(server.requests)
            with pytest.raises(ccxt.DDoSProtection) as info:
                await exchange.fetch_ticker(SYMBOL)
            assert not isinstance(info.value, ccxt.RateLimitExceeded)
            assert len(server.requests) == before + 1  # Retry-After ignored: no retry
        server.http_error(200)  # code -1003 in an HTTP 200 body
        with pytest.raises(ccxt.RateLimitExceeded):
            await exchange.fetch_ticker(SYMBOL)
        assert (await exchange.fetch_ticker(SYMBOL))["last"] > 0  # faults are used up
        # Not in the notes: watch_order_book's snapshot fetch is retried at once, up to
        # options['watchOrderBook']['maxRetries'] (3) requests; only then does the watch fail.
        server.http_error(429, times=3, path="/depth")
        before = len(server.requests)
        with pytest.raises(ccxt.DDoSProtection):
            await exchange.watch_order_book(SYMBOL)
        assert server.requests[before:] == ["GET /api/v3/depth?symbol=BTCUSDT&limit=1000"] * 3
        server.http_error(429, times=2, path="/depth")
        await assert_in_sync(server, exchange)  # the third try succeeds

    run(check, speed=4.0)


def test_malformed_depth_snapshot_gives_an_empty_book_then_a_silent_hang() -> None:
    """Not in the notes: watch_order_book resolves with the empty book parsed from
    the garbage snapshot (nonce None), then never resolves again: every diff is
    buffered in ``orderbook.cache`` waiting for a snapshot that never comes."""

    async def check(server: LoopbackBinance, exchange: Any) -> None:
        await exchange.load_markets()
        server.malformed_rest(path="/depth")
        book = await asyncio.wait_for(exchange.watch_order_book(SYMBOL), 3.0)
        assert book["nonce"] is None and book["bids"] == [] and book["asks"] == []
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.watch_order_book(SYMBOL), 1.0)
        assert len(exchange.orderbooks[SYMBOL].cache) > 0

    run(check, speed=4.0)


def test_malformed_ws_frame_kills_the_receive_loop_silently() -> None:
    async def check(server: LoopbackBinance, exchange: Any) -> None:
        loop_errors = await malformed_frame_on_a_synced_book(server, exchange)
        with pytest.raises(TimeoutError):  # no exception from ccxt: the watch just hangs
            await asyncio.wait_for(exchange.watch_order_book(SYMBOL), 1.0)
        stale = exchange.orderbooks[SYMBOL]["nonce"]
        assert server.update_id(SYMBOL) > stale  # the server kept sending
        assert server.socket_count == 1  # and the socket is still open
        assert any("JSONDecodeError" in repr(c.get("exception")) for c in loop_errors)
        # Another watch kind has its own connection and is unaffected.
        assert await asyncio.wait_for(exchange.watch_trades(SYMBOL), 3.0)

    run(check, speed=4.0)


# -- the wire protocol, without ccxt ----------------------------------------------
def test_ws_protocol_acks_and_consecutive_update_ids() -> None:
    async def main() -> None:
        async with (
            LoopbackBinance(seed=5, history_days=2, speed=4.0) as server,
            aiohttp.ClientSession() as http,
        ):
            async with http.get(f"{server.rest_base}/v3/ticker/24hr") as response:
                assert len(await response.json()) == 5
            url = f"{server.rest_base}/v3/exchangeInfo?symbol=ETHUSDT"
            async with http.get(url) as response:
                assert [s["symbol"] for s in (await response.json())["symbols"]] == ["ETHUSDT"]
            async with http.get(f"{server.rest_base}/v3/depth?symbol=NOPE") as response:
                assert response.status == 400 and (await response.json())["code"] == -1121
            async with http.ws_connect(f"{server.ws_base}/7") as ws:
                await ws.send_str(
                    json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@depth@100ms"], "id": 7})
                )
                while (ack := json.loads(await ws.receive_str())).get("e"):
                    pass
                assert ack == {"result": None, "id": 7}
                async with http.get(f"{server.rest_base}/v3/depth?symbol=ETHUSDT&limit=1000") as response:
                    last_update_id = (await response.json())["lastUpdateId"]
                previous = None
                while previous is None or previous < last_update_id + 5:
                    event = json.loads(await asyncio.wait_for(ws.receive_str(), 3))
                    assert event["e"] == "depthUpdate" and event["s"] == "ETHUSDT"
                    if event["u"] <= last_update_id:
                        continue  # buffered before the snapshot
                    if previous is None:
                        assert event["U"] - 1 <= last_update_id <= event["u"] - 1
                    else:
                        assert event["U"] == previous + 1
                    previous = event["u"]
                await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 8}))
                await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@bogus"], "id": 9}))
                await ws.send_str(
                    json.dumps({"method": "UNSUBSCRIBE", "params": ["ethusdt@depth@100ms"], "id": 10})
                )
                answers: dict[Any, Any] = {}
                while len(answers) < 3:
                    message = json.loads(await asyncio.wait_for(ws.receive_str(), 3))
                    if "id" in message:
                        answers[message["id"]] = message
                assert answers[8]["result"] == ["ethusdt@depth@100ms"]
                assert answers[9]["error"]["code"] == 2
                assert answers[10] == {"result": None, "id": 10}

    asyncio.run(main())


def test_runs_by_hand_from_the_repo_root() -> None:
    with by_hand("binance") as lines:
        rest = lines[1].split()[1]
        assert rest.startswith("http://127.0.0.1:") and rest.endswith("/api"), lines
        assert lines[2].split()[1] == rest.replace("http://", "ws://").replace("/api", "/stream/ws")
        with urllib.request.urlopen(f"{rest}/v3/time", timeout=5) as response:
            assert abs(json.load(response)["serverTime"] - time.time() * 1000) < 5000
