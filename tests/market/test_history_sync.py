"""The session keeps history on disk and shows it before the network answers:
the first open of a symbol shows the newest page at once and fills the rest
of the window in the background; the second open shows the candles on disk
and fetches only the gap; scrolling back loads older candles until the
exchange's first; a cancelled download resumes where it stopped. Real
ccxt.pro.binance, the loopback server, a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession, Topic
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore
from terminal.store.sync_records import CANCELLED, DONE, SyncRecords
from tests.conftest import run, wait_until
from tests.loopback.binance import LoopbackBinance

SYMBOL = "BTC/USDT"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}

pytestmark = pytest.mark.slow


def kline_requests(server: LoopbackBinance) -> int:
    return sum(1 for r in server.requests if "/api/v3/klines" in r)


def session_on(server: LoopbackBinance, store: CandleStore, max_history: int = 3000) -> MarketSession:
    source = CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )
    return MarketSession(source, [SYMBOL], max_history=max_history, store=store, store_name="loopback")


async def downloaded(session: MarketSession) -> None:
    """Wait for the session's background history download to end."""
    task = session.history_download
    if task is not None:
        await task


def seamless(session: MarketSession) -> bool:
    return bool(np.all(np.diff(session.candles.ts) == MINUTE_MS))


async def exchange_closes(session: MarketSession, server: LoopbackBinance, since: int) -> np.ndarray:
    server.pause()
    rows = await session.source.fetch_ohlcv(SYMBOL, "1m", since=since, limit=400)
    server.resume()
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    index = np.searchsorted(session.candles.ts, ts)
    np.testing.assert_array_equal(session.candles.ts[index], ts)
    return np.array([r[4] for r in rows]) - session.candles.close[index]


def test_first_open_shows_the_newest_page_then_fills_the_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=4, history_days=3, pump_interval=0.05)
        await server.start()
        store = CandleStore(tmp_path / "history.sqlite")
        session = session_on(server, store)
        try:
            server.slow_rest(0.3, times=10, path="/api/v3/klines")  # so the background part is seen running
            await session.start(SYMBOL, "1m")
            assert kline_requests(server) == 1, "the chart opens on the newest page alone"
            assert 900 <= len(session.candles) <= 1001
            assert session.history_download is not None, "the rest of the window downloads in the background"
            await downloaded(session)
            assert kline_requests(server) in (3, 4)  # 2,000 older candles in pages of 1,000
            assert len(session.candles) >= 3000 and seamless(session)
            on_disk = store.read("loopback", SYMBOL, "1m")
            np.testing.assert_array_equal(on_disk.ts, session.candles.ts[: len(on_disk)])
            assert not np.any(await exchange_closes(session, server, int(session.candles.ts[-2500])))
        finally:
            await session.close()
            store.close()
            await server.stop()

    run(scenario, timeout=90)


def test_second_open_shows_disk_at_once_and_fetches_only_the_gap(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=4, history_days=3, pump_interval=0.05)
        await server.start()
        store = CandleStore(tmp_path / "history.sqlite")
        try:
            first = session_on(server, store)
            await first.start(SYMBOL, "1m")
            await downloaded(first)
            await first.close()
            # As if the terminal had been closed for three hours: the exchange
            # has candles the disk does not.
            on_disk = store.read("loopback", SYMBOL, "1m")
            store.delete("loopback", SYMBOL, "1m", int(on_disk.ts[-180]), None)
            stored = store.read("loopback", SYMBOL, "1m")
            before = kline_requests(server)

            server.slow_rest(1.0, times=1, path="/api/v3/klines")
            second = session_on(server, store)
            await second.start(SYMBOL, "1m")
            assert kline_requests(server) == before, "the chart opened without waiting for the exchange"
            np.testing.assert_array_equal(second.candles.ts[: len(stored)], stored.ts[-len(second.candles) :])
            await downloaded(second)
            assert kline_requests(server) - before == 1, "only the gap since the last stored candle"
            assert seamless(second)
            assert not np.any(await exchange_closes(second, server, int(second.candles.ts[-300])))
            await second.close()
        finally:
            store.close()
            await server.stop()

    run(scenario, timeout=90)


def test_scrolling_back_loads_older_history_until_the_listing(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=5, history_days=3, pump_interval=0.05)
        await server.start()
        store = CandleStore(tmp_path / "history.sqlite")
        session = session_on(server, store, max_history=1000)
        try:
            await session.start(SYMBOL, "1m")
            await downloaded(session)
            first_before = int(session.candles.ts[0])
            reloads: list[Topic] = []
            session.subscribe(lambda t: reloads.append(t) if t & Topic.CANDLES_CORRECTED else None)
            task = session.request_older()
            assert task is not None
            await task
            assert int(session.candles.ts[0]) < first_before and seamless(session)
            assert reloads, "the chart hears of the older candles"
            # 3 days are 4,320 candles: the next scroll back meets the first one
            while not session.history_start_reached:
                task = session.request_older()
                assert task is not None
                await task
            assert session.request_older() is None, "nothing older to ask for"
            listed = SyncRecords(store).listed_since("loopback", SYMBOL)
            assert listed == int(session.candles.ts[0])
            assert len(store.read("loopback", SYMBOL, "1m")) >= 4300
        finally:
            await session.close()
            store.close()
            await server.stop()

    run(scenario, timeout=90)


def test_a_cancelled_download_resumes_where_it_stopped(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=6, history_days=3, pump_interval=0.05)
        await server.start()
        store = CandleStore(tmp_path / "history.sqlite")
        try:
            first = session_on(server, store, max_history=4000)
            # the chart's page and the 1st and 2nd background pages come slowly
            server.slow_rest(0.5, times=3, path="/api/v3/klines")
            await first.start(SYMBOL, "1m")
            await wait_until(
                lambda: first.sync_progress and 0 < first.sync_progress.done < first.sync_progress.total,
                "the first background page",
            )
            assert first.cancel_sync()  # while the 2nd background page is on its way
            await asyncio.gather(*(t for t in [first.history_download] if t), return_exceptions=True)
            record = SyncRecords(store).get(_key(), "forward")
            assert record is not None and record.status == CANCELLED
            # newest pages first: the cursor cannot tell how far it got, the counts can
            assert record.fraction is not None and 0 < record.fraction < 1
            partial = store.read("loopback", SYMBOL, "1m")
            assert 1000 <= len(partial) < 4000
            await first.close()

            before = kline_requests(server)
            second = session_on(server, store, max_history=4000)
            await second.start(SYMBOL, "1m")
            await downloaded(second)
            done = SyncRecords(store).get(_key(), "forward")
            assert done is not None and done.status == DONE
            whole = store.read("loopback", SYMBOL, "1m")
            assert len(whole) >= 4000 and np.all(np.diff(whole.ts) == MINUTE_MS)
            # only what the first run had not stored: at most the missing pages, plus the gap to now
            missing_pages = -(-(4000 - len(partial)) // 1000)
            assert kline_requests(server) - before <= missing_pages + 1
            await second.close()
        finally:
            store.close()
            await server.stop()

    run(scenario, timeout=90)


def _key():  # type: ignore[no-untyped-def]
    from terminal.store import SeriesKey

    return SeriesKey("loopback", SYMBOL, "1m")
