"""The session keeps history on disk: the second open of a symbol reads the
local candles and fetches only what is missing since; live candles are
written as they close. Real ccxt.pro.binance, the loopback server, a real
SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.market.timeframes import MINUTE_MS
from terminal.store import CandleStore
from tests.loopback.binance import LoopbackBinance

SYMBOL = "BTC/USDT"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}

pytestmark = pytest.mark.slow


def kline_requests(server: LoopbackBinance) -> int:
    return sum(1 for r in server.requests if "/api/v3/klines" in r)


def session_on(server: LoopbackBinance, store: CandleStore) -> MarketSession:
    source = CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )
    return MarketSession(source, [SYMBOL], max_history=3000, store=store, store_name="loopback")


def test_second_open_reads_disk_and_fetches_only_the_gap(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=4, history_days=3, pump_interval=0.05)
        await server.start()
        store = CandleStore(tmp_path / "history.sqlite")
        try:
            first = session_on(server, store)
            await first.start(SYMBOL, "1m")
            pages_first = kline_requests(server)
            assert pages_first >= 3  # 3,000 candles in pages of 1,000
            on_disk = store.read("loopback", SYMBOL, "1m")
            assert len(on_disk) >= 3000
            np.testing.assert_array_equal(on_disk.ts[-len(first.candles) :], first.candles.ts)
            await first.close()

            second = session_on(server, store)
            await second.start(SYMBOL, "1m")
            pages_second = kline_requests(server) - pages_first
            assert pages_second == 1, "the second open should fetch only the gap since the last candle"
            assert len(second.candles) >= 3000
            assert np.all(np.diff(second.candles.ts) == MINUTE_MS), "disk and fetched candles join seamlessly"
            # The chart's candles equal the exchange's own for the same window.
            server.pause()
            rows = await second.source.fetch_ohlcv(
                SYMBOL, "1m", since=int(second.candles.ts[-500]), limit=400
            )
            server.resume()
            ts = np.array([r[0] for r in rows], dtype=np.int64)
            closes = np.array([r[4] for r in rows])
            index = np.searchsorted(second.candles.ts, ts)
            np.testing.assert_array_equal(second.candles.close[index], closes)
            await second.close()
        finally:
            store.close()
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 90))
