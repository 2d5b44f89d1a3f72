"""The book shown is the exchange's latest, even when the market goes quiet right after
an update that came between two watches.

ccxt resolves a watch only with a message that comes while the watch waits; an update
that arrives while the terminal is busy with the last book is applied to ccxt's book
but, without the terminal's catch-up (``CcxtSource._book_moved_on``), shown only with
the next message: never, in a market that then goes quiet. Found by the feed-fault
tests on a busy machine (a book one update behind the server's for 10 s).
"""

from __future__ import annotations

import asyncio

import pytest

from terminal.market.ccxt_source import CcxtSource
from tests.conftest import run, wait_until
from tests.loopback.protocols import PROTOCOLS, Protocol

SYMBOL = "BTC/USDT"
LEVELS = 20


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_an_update_between_two_watches_is_shown_though_the_market_then_goes_quiet(protocol: Protocol) -> None:
    async def scenario() -> None:
        server = protocol.server(seed=3, history_days=1, pump_interval=0.02)
        await server.start()
        source = CcxtSource(protocol.exchange_id, **protocol.urls(server), options=protocol.options)
        try:
            first = await source.watch_order_book(SYMBOL)
            cached = source.exchange.orderbooks  # ccxt's books, as its handlers keep them

            # the market moves on while the terminal is elsewhere, then goes quiet
            await wait_until(lambda: cached[SYMBOL]["nonce"] > first["nonce"], "an update after the watch")
            server.pause()
            latest = server.update_id(SYMBOL)
            await wait_until(lambda: cached[SYMBOL]["nonce"] == latest, "ccxt applied the last update")

            book = await asyncio.wait_for(source.watch_order_book(SYMBOL), 5)
            assert book["nonce"] == latest
            bids, asks = server.book(SYMBOL, LEVELS)
            assert [list(level[:2]) for level in book["bids"][:LEVELS]] == bids
            assert [list(level[:2]) for level in book["asks"][:LEVELS]] == asks

            # and the next watch waits for the next update, as before
            waiting = asyncio.ensure_future(source.watch_order_book(SYMBOL))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "a book returned again with nothing new"
            server.resume()
            moved = await asyncio.wait_for(waiting, 5)
            assert moved["nonce"] > latest
        finally:
            await source.close()
            await server.stop()

    run(scenario)
