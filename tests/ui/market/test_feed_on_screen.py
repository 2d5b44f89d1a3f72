"""What the window shows while the exchange misbehaves: a refused watchlist
symbol says so in its row and leaves the feed live; a book that cannot be
trusted stays on screen dimmed as "NOT LIVE" with its last good levels, never
empty. A real window on the real ccxt binance class against the loopback
server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from PySide6.QtCore import Qt

from terminal.market.ccxt_source import CcxtSource
from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from tests.loopback.binance import LoopbackBinance
from tests.loopback.protocols import BINANCE
from tests.ui.harness import Launch

SYMBOL = "BTC/USDT"
pytestmark = pytest.mark.serial  # times the feed: run alone (scripts/test)


@asynccontextmanager
async def loopback_market(watchlist: list[str]) -> AsyncIterator[tuple[LoopbackBinance, MarketSession]]:
    server = LoopbackBinance(seed=8, history_days=1, pump_interval=0.05)
    await server.start()
    source = CcxtSource("binance", **BINANCE.urls(server), options=BINANCE.options)
    session = MarketSession(source, watchlist, max_history=500)
    try:
        yield server, session
    finally:
        await server.stop()


async def test_a_refused_watchlist_symbol_says_so_in_its_row_and_the_feed_stays_live(launch: Launch) -> None:
    async with loopback_market([SYMBOL, "ETH/USDT", "SOL/USDT"]) as (server, session):
        server.refuse_subscription("solusdt@miniTicker")
        async with launch(session=session) as t:
            model = t.window.watchlist_model
            row = model.symbols.index("SOL/USDT")
            await t.until(lambda: model.data(model.index(row, 1)) == "refused", "the row to say refused")
            tip = model.data(model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
            assert tip.startswith("SOL/USDT: Binance refused this stream.")
            await t.until(lambda: "live" in t.window.status.state.text(), "the status bar to say live")
            assert not t.chart.feed_note.isVisible()
            eth = model.symbols.index("ETH/USDT")
            assert model.data(model.index(eth, 1)) not in ("refused", "–")


async def test_an_unreadable_snapshot_leaves_the_last_good_book_on_screen_marked_not_live(
    launch: Launch,
) -> None:
    async with loopback_market([SYMBOL]) as (server, session), launch(session=session) as t:
        canvas = t.window.book_view.canvas
        await t.until(lambda: session.health.stream_state("order book") is FeedState.LIVE, "a live book")
        assert canvas.stale == ""
        # Every snapshot unreadable for a while: the book cannot come back yet.
        server.malformed_rest(times=1000, path="/api/v3/depth")
        server.close_sockets()
        await t.until(lambda: canvas.stale != "", "the book to be marked not live")

        def snapshots() -> int:
            return sum("/api/v3/depth" in r for r in server.requests)

        refused = snapshots()
        seen_empty = False

        def frame() -> bool:
            """One frame as painted; done once two more snapshots were refused meanwhile."""
            nonlocal seen_empty
            t.window.refresh_feed_note()
            asks, bids = canvas.visible_levels()
            seen_empty |= not len(asks) or not len(bids)
            assert canvas.stale, "the book was shown live while no snapshot could be read"
            return snapshots() >= refused + 2

        await t.until(frame, "two more tries at a snapshot, refused", timeout=15)
        assert not seen_empty, "the ladder went empty"
        assert "last good levels" in canvas.toolTip()
        image = canvas.grab().toImage()
        assert not image.isNull()
        server.clear_faults()
        await t.until(lambda: canvas.stale == "", "the book live again", timeout=10)
