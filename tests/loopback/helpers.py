"""What the loopback servers' own tests (``test_loopback_*.py``) share: a server
and a ccxt client in a fresh event loop, a book watched until it is the
server's, the first error of a watch, and a server run by hand as a person
would run it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import ccxt

from tests.conftest import wait_until
from tests.loopback.server import LoopbackServer

SYMBOL = "BTC/USDT"
REPO = Path(__file__).resolve().parents[2]
Server = LoopbackServer[Any]


def run_with_client(
    make_server: Callable[[], Server],
    test: Callable[[Any, Any], Awaitable[None]],
    timeout: float,
    client: Callable[[Any], Any] | None = None,
) -> None:
    """In a fresh event loop, start ``make_server()``, make its ccxt client
    (``client(server)``, default ``server.client()``) and run ``test(server,
    exchange)`` within ``timeout`` seconds; both are closed whatever happens."""

    async def main() -> None:
        server = make_server()
        await server.start()
        exchange = server.client() if client is None else client(server)
        try:
            await asyncio.wait_for(test(server, exchange), timeout)
        finally:
            await exchange.close()
            await server.stop()

    asyncio.run(main())


async def synced_book(
    server: Server, exchange: Any, symbol: str = SYMBOL, timeout: float = 5.0, fresh: bool = True
) -> Any:
    """Watch (at least once if ``fresh``; not on a paused server whose updates ccxt
    already has) until ccxt's book is at the server's latest update (``u`` /
    seqId), then return it (compare it before the next ``await``: ccxt keeps
    updating it)."""
    deadline = time.monotonic() + timeout
    book = None if fresh else exchange.orderbooks.get(symbol)
    while book is None or book["nonce"] != server.update_id(symbol):
        book = await asyncio.wait_for(exchange.watch_order_book(symbol), deadline - time.monotonic())
    return book


def assert_same_book(server: Server, book: Any, symbol: str = SYMBOL) -> None:
    """ccxt's ``book`` is the server's published book, level for level (and
    deeper than the 25 levels a checksum covers)."""
    bids, asks = server.book(symbol)
    assert book["bids"] == bids
    assert book["asks"] == asks
    assert len(bids) > 25 and len(asks) > 25


async def assert_in_sync(server: Server, exchange: Any, symbol: str = SYMBOL, fresh: bool = True) -> Any:
    """``synced_book``, then ``assert_same_book``; returns the book."""
    book = await synced_book(server, exchange, symbol, fresh=fresh)
    assert_same_book(server, book, symbol)
    return book


async def first_error(call: Callable[[], Awaitable[Any]], timeout: float = 3.0) -> BaseException:
    """Repeat ``call`` until it raises (messages already in flight may resolve the
    first calls); return the exception."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await asyncio.wait_for(call(), deadline - time.monotonic())
        except (ccxt.BaseError, OSError) as e:  # TimeoutError is an OSError
            return e


async def malformed_frame_on_a_synced_book(server: Server, exchange: Any) -> list[dict[str, Any]]:
    """Sync ccxt's book, then send invalid JSON on its (only) websocket; returns
    the list the event loop's exception handler now appends its errors to."""
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
    await synced_book(server, exchange)
    assert server.malformed_ws_frame() == 1
    return loop_errors


async def assert_book_at_follows(server: Server, exchange: Any, rounds: int, symbol: str = SYMBOL) -> int:
    """While the market moves on, ``book_at()`` gives the book as of the version a
    client holds, ``rounds`` times; returns the last version held."""
    held = -1

    def moved_past(version: int) -> Callable[[], bool]:
        return lambda: server.update_id(symbol) > version + 2  # a few updates on

    for _ in range(rounds):
        book = await exchange.watch_order_book(symbol)
        bids, asks = [list(level) for level in book["bids"]], [list(level) for level in book["asks"]]
        held = book["nonce"]
        await wait_until(moved_past(held), "the market to move on")
        assert server.book_at(symbol, held) == (bids, asks)
    return held


@contextlib.contextmanager
def by_hand(module: str) -> Iterator[list[str]]:
    """``python -m tests.loopback.<module>`` from the repository root on a free
    port; yields the first three lines it prints (who it is, REST, WS), then
    stops it with Ctrl+C and checks that it stopped cleanly."""
    command = ["-m", f"tests.loopback.{module}", "--port", "0", "--seed", "3", "--history-days", "1"]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield [process.stdout.readline() for _ in range(3)]
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert "Stopped." in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
