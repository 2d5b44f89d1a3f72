"""History downloads as the user sees them: the chart opens at once while
the rest of its window downloads, with progress and a cancel button in the
status bar; scrolling to the oldest candle brings older history. A real
window on the real ccxt binance class against the loopback server, with a
real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np

from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore, SeriesKey
from terminal.store.sync_records import CANCELLED, SyncRecords
from tests.loopback.binance import LoopbackBinance
from tests.ui.harness import Launch

SYMBOL = "BTC/USDT"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


@asynccontextmanager
async def loopback_market(
    tmp_path: Path, max_history: int, history_days: int = 4
) -> AsyncIterator[tuple[LoopbackBinance, MarketSession]]:
    server = LoopbackBinance(seed=8, history_days=history_days, pump_interval=0.05)
    await server.start()
    store = CandleStore(tmp_path / "history.sqlite")
    source = CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )
    session = MarketSession(source, [SYMBOL], max_history=max_history, store=store, store_name="loopback")
    try:
        yield server, session
    finally:
        store.close()
        await server.stop()


async def test_the_chart_opens_at_once_and_the_status_bar_shows_the_download(
    launch: Launch, tmp_path: Path
) -> None:
    async with loopback_market(tmp_path, max_history=3000) as (server, session):
        server.slow_rest(0.4, times=3, path="/api/v3/klines")  # the two background pages, slowly
        async with launch(session=session) as t:
            indicator = t.window.sync_indicator
            await t.until(indicator.isVisible, "the download in the status bar")
            assert "History BTC/USDT 1m" in indicator.label.text()
            assert len(session.candles) <= 1001, "the chart did not wait for the whole window"
            await t.until(lambda: not indicator.isVisible(), "the download to finish", timeout=20)
            assert len(session.candles) >= 3000
            assert np.all(np.diff(session.candles.ts) == MINUTE_MS)
            right = t.chart.x_range()[1]
            assert right >= session.candles.ts[-1] / 1000.0, "the view still shows the newest candle"


async def test_scrolling_to_the_oldest_candle_loads_older_history_and_cancel_stops_it(
    launch: Launch, tmp_path: Path
) -> None:
    market = loopback_market(tmp_path, max_history=1000, history_days=10)
    async with market as (server, session), launch(session=session) as t:
        await t.until(lambda: session.history_download is None, "the window's history")
        first = int(session.candles.ts[0])
        view = t.chart.x_range()
        width = view[1] - view[0]
        t.chart.set_x_range(first / 1000.0 - 10 * 60, first / 1000.0 - 10 * 60 + width)
        await t.until(lambda: int(session.candles.ts[0]) < first, "older candles")
        assert np.all(np.diff(session.candles.ts) == MINUTE_MS)
        x0, _ = t.chart.x_range()
        assert abs(x0 - (first / 1000.0 - 600)) < 60 * 30, "the view stayed where the user put it"
        await t.until(lambda: session.history_download is None, "the older page to finish")

        # a slow scroll back, cancelled from the status bar
        indicator = t.window.sync_indicator
        await t.until(lambda: not indicator.isVisible(), "the finished download to leave the status bar")
        server.slow_rest(2.0, times=5, path="/api/v3/klines")
        oldest = int(session.candles.ts[0])
        t.chart.set_x_range(oldest / 1000.0 - 600, oldest / 1000.0 - 600 + width)
        await t.until(indicator.isVisible, "the scroll-back download in the status bar")
        indicator.cancel.click()
        await t.until(lambda: not indicator.isVisible(), "the indicator to go away")
        assert session.history_download is None
        assert session.store is not None
        record = SyncRecords(session.store).get(SeriesKey("loopback", SYMBOL, "1m"), "backward")
        assert record is not None and record.status == CANCELLED
        server.clear_faults()
        assert t.window.chart.candles.drawn > 0
