"""Downloading history into the store (terminal.market.history_sync) against
the loopback exchange with the real ccxt classes and a real SQLite file: only
missing pages are fetched, stretches without trading are remembered, bad
candles never reach the file, transient failures are retried and a lasting
one stops with its reason, a reader in another thread never sees a
half-written page, and a download killed with SIGKILL leaves an intact file
that resumes without duplicates or holes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest

from terminal.errors import ExchangeError
from terminal.market.ccxt_source import CcxtSource
from terminal.market.history_sync import HistorySync, SyncProgress
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore, SeriesKey
from terminal.store.gaps import find_gaps
from terminal.store.sync_records import DONE, FAILED, RUNNING, SyncRecords
from tests.conftest import run
from tests.loopback.binance import LoopbackBinance
from tests.loopback.protocols import PROTOCOLS, Protocol

SYMBOL = "BTC/USDT"
NAME = "loopback"
KEY = SeriesKey(NAME, SYMBOL, "1m")
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def source_for(server: LoopbackBinance) -> CcxtSource:
    return CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )


def kline_requests(server: LoopbackBinance) -> int:
    return sum(1 for r in server.requests if "/api/v3/klines" in r)


async def running(seed: int = 3, history_days: int = 3) -> tuple[LoopbackBinance, CcxtSource]:
    server = LoopbackBinance(seed=seed, history_days=history_days, pump_interval=0.05)
    await server.start()
    source = source_for(server)
    await source.load_markets()
    return server, source


@asynccontextmanager
async def market(
    tmp_path: Path, seed: int = 3, history_days: int = 3
) -> AsyncIterator[tuple[LoopbackBinance, CcxtSource, CandleStore]]:
    """A loopback exchange, a ccxt source on it with markets loaded, and a store."""
    server, source = await running(seed, history_days)
    store = CandleStore(tmp_path / "h.sqlite")
    try:
        yield server, source, store
    finally:
        await source.close()
        store.close()
        await server.stop()


def test_a_second_download_of_the_same_range_fetches_only_what_is_missing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with market(tmp_path) as (server, source, store):
            sync = HistorySync(source, store, NAME)
            end = sync.closed_end("1m")
            start = end - 2500 * MINUTE_MS
            progress: list[SyncProgress] = []
            result = await sync.download(SYMBOL, "1m", start, end, progress=progress.append)
            assert result.requests == kline_requests(server) == 3  # 1,000 + 1,000 + 500
            assert progress[-1].done == progress[-1].total == 2500
            assert [p.done for p in progress] == sorted(p.done for p in progress)
            stored = store.read(NAME, SYMBOL, "1m")
            assert len(stored) == 2500 and not find_gaps(stored.ts, "1m", start, end)

            # a hole in the middle: only the pages that cover it are asked for
            store.delete(NAME, SYMBOL, "1m", start + 1200 * MINUTE_MS, start + 1300 * MINUTE_MS)
            before = kline_requests(server)
            again = await sync.download(SYMBOL, "1m", start, end)
            assert kline_requests(server) - before == again.requests == 1
            assert again.written == 100
            assert len(store.read(NAME, SYMBOL, "1m")) == 2500

            # nothing missing: no request at all
            before = kline_requests(server)
            await sync.download(SYMBOL, "1m", start, end)
            assert kline_requests(server) == before
            record = SyncRecords(store).get(KEY, "range")
            assert record is not None and record.status == DONE
            assert record.fraction == 1.0  # the last download dealt with every candle it set out to

    run(scenario, timeout=90)


def test_stretches_the_exchange_has_no_candles_for_are_remembered_not_refetched(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with market(tmp_path) as (server, source, store):
            sync = HistorySync(source, store, NAME)
            end = sync.closed_end("1m")
            start = end - 1500 * MINUTE_MS
            hole = (start + 400 * MINUTE_MS, start + 430 * MINUTE_MS)
            server.kline_holes.append(hole)  # no trading for 30 minutes
            result = await sync.download(SYMBOL, "1m", start, end)
            assert hole in result.no_trade
            assert SyncRecords(store).no_trade(KEY) == [hole]
            stored = store.read(NAME, SYMBOL, "1m")
            gaps = find_gaps(stored.ts, "1m", start, end)
            assert [(g.start_ms, g.end_ms) for g in gaps] == [hole], "the hole stays visible as a gap"
            assert sync.missing(SYMBOL, "1m", start, end) == [], "but it is not missing any more"

            before = kline_requests(server)
            await sync.fill_gaps(SYMBOL, "1m")
            assert kline_requests(server) == before, "a confirmed empty stretch is not asked for again"

    run(scenario, timeout=90)


def test_a_range_before_the_listing_marks_where_history_starts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with market(tmp_path, history_days=1) as (_server, source, store):
            sync = HistorySync(source, store, NAME)
            end = sync.closed_end("1m")
            start = end - 3 * 1440 * MINUTE_MS  # two days before the market's first candle
            await sync.download(SYMBOL, "1m", start, end)
            stored = store.read(NAME, SYMBOL, "1m")
            listed = SyncRecords(store).listed_since(NAME, SYMBOL)
            assert listed == int(stored.ts[0])
            assert listed - start >= 2 * 1440 * MINUTE_MS - 60 * MINUTE_MS

    run(scenario, timeout=90)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_an_empty_page_is_nothing_traded_and_an_unreadable_one_is_an_error(
    tmp_path: Path, protocol: Protocol
) -> None:
    # Binance answers an empty page with [], OKX with {"code":"0","msg":"","data":[]}:
    # both are honest "no candles here". A truncated body or a proxy's HTML page
    # also reaches ccxt as no candles, and must not be remembered as no trading.
    async def scenario() -> None:
        server = protocol.server(seed=3, history_days=1, pump_interval=0.05)
        await server.start()
        source = CcxtSource(protocol.exchange_id, **protocol.urls(server), options=protocol.options)
        try:
            await source.load_markets()
            tomorrow = int(time.time() * 1000) + 1440 * MINUTE_MS  # no candles yet, on either protocol
            assert await source.fetch_ohlcv(SYMBOL, "1m", tomorrow, 100) == []
            for body in (None, "<html><body>502 Bad Gateway</body></html>"):
                server.malformed_rest(times=1, path=protocol.candles_path, body=body)
                with pytest.raises(ExchangeError, match="candles"):
                    await source.fetch_ohlcv(SYMBOL, "1m", tomorrow, 100)
            rows = await source.fetch_ohlcv(SYMBOL, "1m", None, 100)
            assert len(rows) == 100
        finally:
            await source.close()
            await server.stop()

    run(scenario, timeout=90)


def test_transient_failures_are_retried_and_a_lasting_one_stops_with_its_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with market(tmp_path) as (server, source, store):
            sync = HistorySync(source, store, NAME, retries=2)
            end = sync.closed_end("1m")
            server.malformed_rest(times=1, path="/api/v3/klines")
            result = await sync.download(SYMBOL, "1m", end - 500 * MINUTE_MS, end)
            assert result.written == 500 and result.requests == 2

            server.malformed_rest(times=10, path="/api/v3/klines")
            with pytest.raises(ExchangeError):
                await sync.download(SYMBOL, "1m", end - 1500 * MINUTE_MS, end)
            record = SyncRecords(store).get(KEY, "range")
            assert record is not None and record.status == FAILED
            assert "Binance" in record.message and "Traceback" not in record.message
            assert record.unfinished
            server.clear_faults()
            await sync.resume(SYMBOL, "1m", "range")
            stored = store.read(NAME, SYMBOL, "1m")
            assert not find_gaps(stored.ts, "1m", end - 1500 * MINUTE_MS, end)

    run(scenario, timeout=90)


def test_a_reader_thread_never_sees_a_half_written_page(tmp_path: Path) -> None:
    async def scenario() -> None:
        server, source = await running()
        store = CandleStore(tmp_path / "h.sqlite")
        reads: list[int] = []
        problems: list[str] = []
        stop = threading.Event()

        def backtest_reader() -> None:
            while not stop.is_set():
                candles = store.read(NAME, SYMBOL, "1m")
                n = len(candles)
                if n and (np.any(np.diff(candles.ts) <= 0) or n % 100):
                    problems.append(f"a read of {n} candles is not whole pages in order")
                if np.any(candles.low > np.minimum(candles.open, candles.close)):
                    problems.append("a read holds an invalid candle")
                reads.append(n)

        try:
            sync = HistorySync(source, store, NAME, page=100)
            end = sync.closed_end("1m")
            reader = threading.Thread(target=backtest_reader)
            reader.start()
            await sync.download(SYMBOL, "1m", end - 3000 * MINUTE_MS, end)
            stop.set()
            await asyncio.to_thread(reader.join)
            assert not problems, problems[:3]
            assert len(set(reads)) > 5, "the reader saw the history grow page by page"
            # (its last read may have begun before the last page was committed)
            assert max(reads) <= 3000 and len(store.read(NAME, SYMBOL, "1m")) == 3000
        finally:
            stop.set()
            await source.close()
            store.close()
            await server.stop()

    run(scenario, timeout=90)


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from terminal.market.ccxt_source import CcxtSource
    from terminal.market.history_sync import HistorySync
    from terminal.store import CandleStore

    port, path, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    async def main():
        source = CcxtSource("binance", rest_url=f"http://127.0.0.1:{port}",
                            ws_url=f"ws://127.0.0.1:{port}/stream",
                            options={"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                                     "fetchMargins": False})
        await source.load_markets()
        store = CandleStore(path)
        await HistorySync(source, store, "loopback", page=200).download("BTC/USDT", "1m", start, end)
        print("finished", flush=True)

    asyncio.run(main())
    """
)


def test_a_download_killed_mid_way_leaves_an_intact_file_that_resumes_without_dupes_or_holes(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        server, source = await running(history_days=4)
        path = tmp_path / "h.sqlite"
        CandleStore(path).close()  # created (and migrated) before the child starts
        try:
            sync_probe = HistorySync(source, CandleStore(path), NAME)
            end = sync_probe.closed_end("1m")
            sync_probe.store.close()
            start = end - 5000 * MINUTE_MS
            server.slow_rest(0.05, times=10_000, path="/api/v3/klines")  # 25 pages of 200, slowly
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(server.port), str(path), str(start), str(end)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            watcher = CandleStore(path)
            records = SyncRecords(watcher)
            deadline = time.monotonic() + 30
            while True:  # until the child is part-way: some pages stored, most not
                record = records.get(KEY, "range")
                if record is not None and record.cursor_ms >= start + 1000 * MINUTE_MS:
                    break
                assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
                assert time.monotonic() < deadline, "the child never got going"
                await asyncio.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait()
            watcher.close()
            assert child.returncode == -signal.SIGKILL

            store = CandleStore(path)
            try:
                assert store.database.integrity_check() == ["ok"]
                assert store.verify() == []
                interrupted = SyncRecords(store).get(KEY, "range")
                assert interrupted is not None and interrupted.status == RUNNING  # it never said done
                partial = store.read(NAME, SYMBOL, "1m")
                assert 1000 <= len(partial) < 5000
                assert not find_gaps(partial.ts, "1m"), "what was stored is whole pages, in order"

                server.clear_faults()
                before = kline_requests(server)
                sync = HistorySync(source, store, NAME, page=200)
                await sync.resume(SYMBOL, "1m", "range")
                whole = store.read(NAME, SYMBOL, "1m")
                assert len(whole) == 5000 and len(np.unique(whole.ts)) == 5000
                assert not find_gaps(whole.ts, "1m", start, end)
                remaining_pages = -(-(5000 - len(partial)) // 200)
                assert kline_requests(server) - before <= remaining_pages + 1
                assert store.verify() == []
            finally:
                store.close()
        finally:
            await source.close()
            await server.stop()

    run(scenario, timeout=90)
