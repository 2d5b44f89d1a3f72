"""What both loopback servers do alike, against the real ccxt class of each
(``ccxt.pro.binance``, ``ccxt.pro.okx``): the faults that do not depend on the
protocol, ``depth_rate``, ``book_at``, refused subscriptions, a seeded market.
Where ccxt's two classes meet a fault differently, the test says how; what
only one protocol has is in ``test_loopback_server.py`` (Binance) and
``test_loopback_okx.py``."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import pytest

from tests.loopback.binance import LoopbackBinance
from tests.loopback.helpers import (
    SYMBOL,
    assert_book_at_follows,
    assert_in_sync,
    first_error,
    run_with_client,
    synced_book,
)
from tests.loopback.okx import LoopbackOkx

Server = LoopbackBinance | LoopbackOkx
SERVERS = pytest.mark.parametrize("server_class", [LoopbackBinance, LoopbackOkx], ids=["binance", "okx"])


def run(server_class: type[Server], test: Callable[[Any, Any], Awaitable[None]], **server_kw: Any) -> None:
    """``test(server, exchange)`` on a started server with its configured ccxt client."""
    run_with_client(lambda: server_class(**{"seed": 11, "history_days": 2, **server_kw}), test, 15.0)


@SERVERS
def test_rest_fetches_agree_with_the_server_market(server_class: type[Server]) -> None:
    async def check(server: Server, exchange: Any) -> None:
        await exchange.load_markets()
        server.pause()
        engine = server.engine(SYMBOL)
        minutes = await exchange.fetch_ohlcv(SYMBOL, "1m", limit=10)
        assert [b[0] - a[0] for a, b in itertools.pairwise(minutes)] == [60_000] * 9
        assert minutes[-1][0] == int(engine.candles.ts[-1]) and minutes[-1][4] == engine.last_price
        # An hour candle is the aggregate of its sixty minutes.
        hours = await exchange.fetch_ohlcv(SYMBOL, "1h", limit=3)
        parts = await exchange.fetch_ohlcv(SYMBOL, "1m", since=hours[0][0], limit=60)
        assert parts[0][0] == hours[0][0] and len(parts) == 60
        assert hours[0][1:5] == [
            parts[0][1],
            max(p[2] for p in parts),
            min(p[3] for p in parts),
            parts[-1][4],
        ]
        assert hours[0][5] == pytest.approx(sum(p[5] for p in parts))
        bids, asks = server.book(SYMBOL, 1)
        ticker = await exchange.fetch_ticker(SYMBOL)
        assert ticker["last"] == engine.last_price
        assert ticker["bid"] == bids[0][0] and ticker["ask"] == asks[0][0]
        assert ticker["high"] >= ticker["last"] >= ticker["low"] > 0 and ticker["baseVolume"] > 0
        trades = await exchange.fetch_trades(SYMBOL, limit=20)
        assert len(trades) == 20 and trades[-1]["id"] == str(engine.trade_seq)
        assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)
        assert all(t["price"] > 0 and t["amount"] > 0 and t["side"] in ("buy", "sell") for t in trades)

    run(server_class, check)


@SERVERS
def test_watch_order_book_equals_the_server_book_level_for_level(server_class: type[Server]) -> None:
    async def check(server: Server, exchange: Any) -> None:
        nonces: list[int] = []
        while len(nonces) < 8:
            book = await assert_in_sync(server, exchange)
            nonces.append(book["nonce"])
        assert nonces == sorted(set(nonces))  # eight distinct states
        server.pause()
        await assert_in_sync(server, exchange, fresh=False)
        if server_class is LoopbackBinance:  # one REST snapshot, then the diffs
            assert server.requests.count("GET /api/v3/depth?symbol=BTCUSDT&limit=1000") == 1
        else:  # the websocket alone: one connection, no REST request
            assert server.requests == ["GET /api/v5/public/instruments?instType=SPOT"]
            assert server.ws_connections == 1

    run(server_class, check, speed=4.0)


@SERVERS
@pytest.mark.parametrize("fault", ["close_sockets", "abort_sockets"])
def test_socket_close_or_abort_fails_the_watch_then_it_resyncs(
    server_class: type[Server], fault: str
) -> None:
    async def check(server: Server, exchange: Any) -> None:
        await synced_book(server, exchange)
        connections = server.ws_connections
        assert getattr(server, fault)() == 1
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        assert type(error) is ccxt.NetworkError  # on Binance not a ChecksumError either
        assert ("code 1000" if fault == "close_sockets" else "code 1006") in str(error)
        await assert_in_sync(server, exchange)
        assert server.ws_connections == connections + 1

    run(server_class, check, speed=4.0)


@SERVERS
def test_server_down_then_back_on_the_same_port(server_class: type[Server]) -> None:
    async def check(server: Server, exchange: Any) -> None:
        await synced_book(server, exchange)
        port = server.port
        await server.go_down()
        error = await first_error(lambda: exchange.watch_order_book(SYMBOL))
        assert isinstance(error, ccxt.NetworkError)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await exchange.fetch_ticker(SYMBOL)
        with pytest.raises(ccxt.NetworkError):  # reconnecting fails while down
            await exchange.watch_order_book(SYMBOL)
        await server.come_back()
        assert server.port == port
        assert (await exchange.fetch_ticker(SYMBOL))["last"] > 0
        await assert_in_sync(server, exchange)

    run(server_class, check, speed=4.0)


@SERVERS
def test_slow_rest_is_request_timeout(server_class: type[Server]) -> None:
    async def check(server: Server, exchange: Any) -> None:
        await exchange.load_markets()
        exchange.timeout = 300  # ms
        server.slow_rest(1.0)
        started = time.monotonic()
        with pytest.raises(ccxt.RequestTimeout):
            await exchange.fetch_ticker(SYMBOL)
        assert time.monotonic() - started < 0.9
        assert (await exchange.fetch_ticker(SYMBOL))["last"] > 0

    run(server_class, check)


@SERVERS
def test_malformed_rest_body_gives_empty_results_without_exception(server_class: type[Server]) -> None:
    okx = server_class is LoopbackOkx

    async def check(server: Server, exchange: Any) -> None:
        await exchange.load_markets()
        server.malformed_rest()
        ticker = await exchange.fetch_ticker(SYMBOL)
        assert ticker["last"] is None and ticker["bid"] is None
        server.malformed_rest(body="<html><body>502 Bad Gateway</body></html>")
        book = await exchange.fetch_order_book(SYMBOL)
        assert book["bids"] == [] and book["asks"] == [] and book["nonce"] is None
        server.malformed_rest()
        rows = await exchange.fetch_ohlcv(SYMBOL, "1m", limit=5)
        if okx:
            assert rows == []
        else:  # rows of None
            assert rows and all(value is None for value in rows[0])
        server.malformed_rest(path="/instruments" if okx else "/exchangeInfo")
        assert await exchange.load_markets(reload=True) == {}  # cached until the next reload
        if okx:
            with pytest.raises(ccxt.BadSymbol):
                await exchange.fetch_ticker(SYMBOL)
        else:
            assert await exchange.load_markets() == {}
        assert len(await exchange.load_markets(reload=True)) == 5

    run(server_class, check)


@pytest.mark.serial  # a rate per second of wall time: alone, not beside another worker
@pytest.mark.alone
@SERVERS
def test_depth_rate_thousands_per_second_and_ccxt_keeps_up(server_class: type[Server]) -> None:
    # ccxt's OKX class keeps up with fewer than its Binance class (it checks each seqId)
    rate, seconds, least = (5000, 1.5, 3000) if server_class is LoopbackBinance else (3000, 1.0, 2000)

    async def check(server: Server, exchange: Any) -> None:
        start = (await synced_book(server, exchange))["nonce"]
        events = server.depth_events
        server.depth_rate(rate)
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            book = await exchange.watch_order_book(SYMBOL)
        elapsed = time.monotonic() - began
        server.depth_rate(0)
        sent = (server.depth_events - events) / elapsed
        received = (book["nonce"] - start) / elapsed  # one id per synthetic update
        assert sent > least, f"server sent {sent:.0f}/s"
        assert received > 0.9 * sent, f"ccxt applied {received:.0f}/s of {sent:.0f}/s"
        await assert_in_sync(server, exchange)

    run(server_class, check)


@SERVERS
def test_book_at_gives_the_book_a_client_holds(server_class: type[Server]) -> None:
    async def check(server: Server, exchange: Any) -> None:
        held = await assert_book_at_follows(server, exchange, 3)
        with pytest.raises(KeyError):
            server.book_at(SYMBOL, held + 10**9)
        server.pause()
        book = await synced_book(server, exchange, fresh=False)
        assert server.book_at(SYMBOL, book["nonce"], 10) == server.book(SYMBOL, 10)

    run(server_class, check, speed=4.0)


@SERVERS
def test_refused_subscription(server_class: type[Server]) -> None:
    """OKX answers ``{"event": "error", "code": "60018", ...}``: ccxt raises
    BadRequest and, the event naming no request, rejects *every* pending watch of
    that connection. Binance answers ``{"error": {"code": 2, ...}, "id": N}``:
    ExchangeError for that watch only. On both, ccxt keeps the subscription, so
    the next watch of it hangs until the socket is replaced."""
    okx = server_class is LoopbackOkx

    async def check(server: Server, exchange: Any) -> None:
        await synced_book(server, exchange)
        server.pause()  # nothing resolves the pending watch below but the refusal
        await synced_book(server, exchange, fresh=False)  # what was in flight has arrived
        pending = asyncio.ensure_future(exchange.watch_order_book(SYMBOL))
        server.refuse_subscription("ETH/USDT")
        with pytest.raises(ccxt.ExchangeError) as info:
            await exchange.watch_order_book("ETH/USDT")
        if okx:
            assert type(info.value) is ccxt.BadRequest
            assert '"code":"60018"' in str(info.value) and "instId:ETH-USDT doesn't exist" in str(info.value)
            with pytest.raises(ccxt.BadRequest):
                await pending
        else:
            assert type(info.value) is ccxt.ExchangeError
            assert str(info.value) == (
                'binance {"code":2,"msg":"Invalid request: invalid stream ethusdt@depth@100ms"}'
            )
            assert not pending.done()
            pending.cancel()
        server.clear_faults()  # the server would accept it now, but ccxt does not ask again
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.watch_order_book("ETH/USDT"), 0.5)
        server.resume()
        server.close_sockets()
        await first_error(lambda: exchange.watch_order_book(SYMBOL))
        await assert_in_sync(server, exchange, "ETH/USDT")

    run(server_class, check, speed=4.0)


@SERVERS
def test_same_seed_and_clock_give_the_same_market(server_class: type[Server]) -> None:
    async def market(seed: int) -> tuple[Any, ...]:
        now = [1_800_000_000_000]
        server = server_class(seed=seed, clock=lambda: now[0], history_days=2, pump_interval=0.005)
        await server.start()
        try:
            for _ in range(10):
                now[0] += 300
                await asyncio.sleep(0.01)
            engine = server.engine(SYMBOL)
            return server.book(SYMBOL), server.update_id(SYMBOL), engine.trade_seq, engine.last_price
        finally:
            await server.stop()

    async def main() -> None:
        first = await market(9)
        assert first == await market(9)
        assert first != await market(10)

    asyncio.run(main())
