"""The market data panel, driven as a user drives it, on a real SQLite file:
coverage and gaps as stored, delete with a count, CSV export and import
(and a malformed file that writes nothing), building a longer timeframe,
and downloads from the loopback exchange through the real ccxt class:
only missing pages are fetched, and a cancelled download keeps its candles
and resumes.

Each test builds the panel on the test's qasync loop (see conftest) and
waits with ``until``, never with ``qtbot.wait*`` or a modal ``exec()``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import pytest
import qasync
from PySide6.QtCore import Qt

from terminal.config import AccountSettings, Settings
from terminal.logs import LogBuffer
from terminal.market.history_sources import HistorySources
from terminal.marketdata.candles import COLUMNS, OHLCV
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore, SeriesKey
from terminal.store.series_report import SeriesGaps
from terminal.store.sync_records import CANCELLED, DONE, SyncRecords
from terminal.ui.data import manager as data_manager
from terminal.ui.data.csv_import_dialog import CsvImportDialog
from terminal.ui.data.manager import DataManager
from terminal.ui.data.model import COVERAGE_HEADERS
from tests.conftest import wait_until
from tests.loopback.binance import LoopbackBinance

HOUR = 60 * MINUTE_MS
T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC
KEY = SeriesKey("binance", "BTC/USDT", "1m")
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


# -- helpers -----------------------------------------------------------------------------------
def candles(start: int, n: int, step: int = MINUTE_MS, seed: int = 0) -> OHLCV:
    rng = np.random.default_rng(seed)
    ts = start + step * np.arange(n, dtype=np.int64)
    o, c = rng.uniform(100, 200, n), rng.uniform(100, 200, n)
    return OHLCV(ts, o, np.maximum(o, c) + 1, np.minimum(o, c) - 1, c, rng.uniform(0, 5, n))


def parts(key: SeriesKey) -> tuple[str, str, str]:
    return key.exchange, key.symbol, key.timeframe


def without(data: OHLCV, start: int, stop: int) -> OHLCV:
    keep = np.ones(len(data), dtype=bool)
    keep[start:stop] = False
    return OHLCV(*(getattr(data, name)[keep] for name in ("ts", *COLUMNS)))


async def until(condition: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """``wait_until`` with the patience of a panel whose jobs run in threads."""
    await wait_until(condition, what, timeout, interval=0.02)


def cells(panel: DataManager, key: SeriesKey) -> dict[str, str]:
    """The coverage row of ``key`` as the user reads it, by column title."""
    row = panel.model.row_of(key)
    assert row >= 0, f"{key} is not listed"
    return {title: panel.model.index(row, c).data() for c, title in enumerate(COVERAGE_HEADERS)}


def gap_rows(panel: DataManager) -> list[tuple[str, ...]]:
    model = panel.gaps_model
    return [
        tuple(model.index(r, c).data() for c in range(model.columnCount())) for r in range(model.rowCount())
    ]


async def settled(panel: DataManager) -> None:
    """Wait for the running job and the table's reading (gaps included) to end."""
    await until(lambda: not panel.runner.busy, "the job to end")
    await until(lambda: not panel.refreshing, "the table to be read again")


@asynccontextmanager
async def opened(store: CandleStore, settings: Settings | None = None) -> AsyncIterator[DataManager]:
    panel = DataManager(store, HistorySources(settings or Settings(), list))
    panel.resize(1200, 400)
    panel.show()
    try:
        await settled(panel)
        yield panel
    finally:
        await panel.shutdown()
        panel.close()
        panel.deleteLater()


# -- coverage and gaps ---------------------------------------------------------------------------
async def test_coverage_and_gaps_are_shown_as_stored(qt_loop: qasync.QEventLoop, store: CandleStore) -> None:
    # 600 minutes from T0 with two holes: 30 missing at 01:40, and 10 at 05:00
    # that the exchange confirmed had no trading.
    store.write(*parts(KEY), without(without(candles(T0, 600), 300, 310), 100, 130))
    SyncRecords(store).remember_no_trade(KEY, [(T0 + 300 * MINUTE_MS, T0 + 310 * MINUTE_MS)])
    hours = SeriesKey("binance", "BTC/USDT", "1h")
    store.write("binance", "BTC/USDT", "1h", candles(T0, 24, HOUR))

    async with opened(store) as panel:
        assert [r.key for r in panel.model.rows] == [KEY, hours]
        row = cells(panel, KEY)
        assert row["First (UTC)"] == "2023-11-15 00:00"
        assert row["Last (UTC)"] == "2023-11-15 09:59"
        assert row["Candles"] == "560"
        assert row["Gaps"] == "1", "the confirmed quiet stretch is not a gap"
        assert row["Missing"] == "30"
        assert row["Size"].endswith("KB")
        assert cells(panel, hours)["Gaps"] == "0" and cells(panel, hours)["Candles"] == "24"
        assert "2 series" in panel.summary.text() and "584 candles" in panel.summary.text()

        assert panel.select(KEY)
        assert gap_rows(panel) == [
            ("2023-11-15 01:40", "2023-11-15 02:09", "30", "missing"),
            ("2023-11-15 05:00", "2023-11-15 05:09", "10", "no trading"),
        ]
        assert "1 gap, 30 candles missing; 1 stretch without trading" in panel.gaps_title.text()
        assert panel.buttons["fill"].isEnabled() and not panel.buttons["resume"].isEnabled()


async def test_gap_counts_read_as_pending_until_worked_out(
    qt_loop: qasync.QEventLoop, store: CandleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.write(*parts(KEY), without(candles(T0, 600), 100, 130))
    gate = threading.Event()  # holds the worker that counts gaps, so the moment before is seen
    real = data_manager.series_gaps

    def held(*args: object) -> SeriesGaps:
        gate.wait(10)
        return real(*args)

    monkeypatch.setattr(data_manager, "series_gaps", held)
    panel = DataManager(store, HistorySources(Settings(), list))
    try:
        await until(lambda: panel.model.rows, "the table")
        row = cells(panel, KEY)
        assert row["Candles"] == "570", "what is known is shown at once"
        assert row["Gaps"] == "…" and row["Missing"] == "…"
        assert panel.gaps_title.text() == "Looking for gaps in binance BTC/USDT 1m…"
        gate.set()
        await until(lambda: cells(panel, KEY)["Gaps"] != "…", "the gap count")
        assert cells(panel, KEY)["Missing"] == "30" and len(gap_rows(panel)) == 1
    finally:
        gate.set()
        await panel.shutdown()
        panel.deleteLater()


async def test_an_interrupted_download_shows_how_far_it_got_and_offers_resume(
    qt_loop: qasync.QEventLoop, store: CandleStore
) -> None:
    store.write(*parts(KEY), candles(T0, 400))
    records = SyncRecords(store)
    records.save(
        KEY, "range", cursor_ms=T0 + 400 * MINUTE_MS, target_ms=T0 + 1000 * MINUTE_MS, status=CANCELLED
    )
    failed = SeriesKey("binance", "ETH/USDT", "1m")
    store.write("binance", "ETH/USDT", "1m", candles(T0, 10))
    records.save(
        failed, "range", cursor_ms=T0, target_ms=None, status="failed", message="The exchange is down."
    )

    async with opened(store) as panel:
        assert cells(panel, KEY)["Sync"] == "cancelled 40%"
        assert cells(panel, failed)["Sync"] == "failed: The exchange is down."
        panel.select(KEY)
        assert panel.buttons["resume"].isEnabled()


async def test_a_file_opened_read_only_can_be_looked_at_and_exported_only(
    qt_loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    with CandleStore(tmp_path / "history.sqlite") as writer:
        writer.write(*parts(KEY), candles(T0, 100))
    with CandleStore(tmp_path / "history.sqlite", read_only=True) as store:
        async with opened(store) as panel:
            assert "read-only" in panel.message.text() and panel.summary.text().startswith("Read-only file")
            assert cells(panel, KEY)["Candles"] == "100"
            panel.select(KEY)
            enabled = {name for name, button in panel.buttons.items() if button.isEnabled()}
            assert enabled == {"refresh", "export"}
            export = panel.open_export()
            assert export is not None
            export.path.setText(str(tmp_path / "salvaged.csv"))
            export.export_button.click()
            await settled(panel)
            assert panel.message.text().startswith("Exported 100 candles of binance BTC/USDT 1m")
            assert (tmp_path / "salvaged.csv").is_file()


# -- delete ------------------------------------------------------------------------------------
async def test_delete_says_how_many_candles_go_then_removes_just_those(
    qt_loop: qasync.QEventLoop, store: CandleStore
) -> None:
    store.write(*parts(KEY), candles(T0, 600))
    async with opened(store) as panel:
        panel.select(KEY)
        dialog = panel.open_delete()
        assert dialog is not None and dialog.isVisible()
        assert "This deletes 600 candles of binance BTC/USDT 1m" in dialog.summary.text()

        dialog.part.setChecked(True)
        dialog.range.start.set_ms(T0 + HOUR)
        dialog.range.end.set_ms(T0 + 2 * HOUR)
        await until(lambda: not dialog.counting, "the count of the range")
        assert "This deletes 60 candles" in dialog.summary.text()
        assert dialog.delete_button.text() == "Delete 60 candles"
        dialog.delete_button.click()
        await settled(panel)

        assert panel.message.text() == "Deleted 60 candles of binance BTC/USDT 1m."
        assert cells(panel, KEY)["Candles"] == "540" and cells(panel, KEY)["Missing"] == "60"
        assert len(store.read(*parts(KEY))) == 540

        dialog = panel.open_delete()
        assert dialog is not None
        dialog.delete_button.click()  # the whole series
        await settled(panel)
        assert panel.model.row_of(KEY) < 0 and store.coverage() == []


# -- CSV ---------------------------------------------------------------------------------------
async def test_export_then_import_gives_back_the_same_candles(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    data = candles(T0, 3000, seed=4)
    store.write(*parts(KEY), data)
    path = tmp_path / "btc.csv"
    async with opened(store) as panel:
        panel.select(KEY)
        export = panel.open_export()
        assert export is not None
        export.path.setText(str(path))
        export.export_button.click()
        await settled(panel)
        assert panel.message.text() == f"Exported 3,000 candles of binance BTC/USDT 1m to {path}."

        dialog = await panel.import_file(path)
        assert isinstance(dialog, CsvImportDialog) and dialog.isVisible()
        assert dialog.model.rowCount() == 20, "a preview of the first rows"
        assert dialog.columns["ts"].currentText() == "2: timestamp_ms", "the guess is pre-filled"
        assert dialog.time_unit.currentData() == "ms"
        dialog.exchange.setCurrentText("file")
        dialog.symbol.setText("BTC/USDT")
        dialog.timeframe.setCurrentText("1m")
        dialog.import_button.click()
        await until(lambda: not dialog.busy, "the import")
        await settled(panel)

        assert panel.message.text() == "Imported 3,000 candles from btc.csv into file BTC/USDT 1m."
        back = store.read("file", "BTC/USDT", "1m")
        assert np.array_equal(back.ts, data.ts)
        for name in COLUMNS:
            assert np.array_equal(getattr(back, name), getattr(data, name)), name
        assert cells(panel, SeriesKey("file", "BTC/USDT", "1m"))["Candles"] == "3,000"


async def test_a_malformed_file_names_the_line_and_writes_nothing(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    lines = ["time,open,high,low,close,volume"]
    lines += [f"{T0 + i * MINUTE_MS},100,101,99,100.5,3" for i in range(40)]
    # line 31 of the file, past the preview (which therefore maps every column)
    lines[30] = f"{T0 + 29 * MINUTE_MS},100,101,99,abc,3"
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async with opened(store) as panel:
        dialog = await panel.import_file(path)
        assert dialog is not None
        dialog.exchange.setCurrentText("file")
        dialog.symbol.setText("BTC/USDT")
        dialog.import_button.click()
        await until(lambda: not dialog.busy, "the import")

        assert dialog.isVisible(), "the form stays open to fix the mapping"
        assert dialog.columns["close"].currentText() == "5: close"
        assert "broken.csv, line 31" in dialog.message.text() and "'abc'" in dialog.message.text()
        assert "Nothing was imported" in dialog.message.text()
        assert store.coverage() == []
        dialog.reject()


async def test_a_column_the_guess_left_out_is_chosen_by_hand(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    lines = ["time,open,high,low,price,volume"]  # "price": no name the guess knows for close
    lines += [f"{T0 + i * MINUTE_MS},100,101,99,100.5,3" for i in range(10)]
    lines[7] = f"{T0 + 6 * MINUTE_MS},100,101,99,n/a,3"  # line 8
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async with opened(store) as panel:
        dialog = await panel.import_file(path)
        assert dialog is not None
        assert dialog.columns["close"].currentText() == "—"
        assert dialog.model.headerData(4, Qt.Orientation.Horizontal) == "price\n(not used)"
        dialog.exchange.setCurrentText("file")
        dialog.symbol.setText("BTC/USDT")
        dialog.import_button.click()
        await until(lambda: not dialog.busy, "the import")
        assert "no column is chosen for close" in dialog.message.text()

        dialog.columns["close"].setCurrentIndex(dialog.columns["close"].findData(4))
        assert dialog.model.headerData(4, Qt.Orientation.Horizontal) == "price\n→ close"
        dialog.import_button.click()
        await until(lambda: not dialog.busy, "the import")
        assert "odd.csv, line 8" in dialog.message.text() and "'n/a'" in dialog.message.text()
        assert store.coverage() == []
        dialog.reject()


async def test_cancelling_an_import_writes_nothing(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    # Quoted fields take the careful line-by-line reader, which reports as it goes.
    n = 400_000
    ts = T0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    path = tmp_path / "big.csv"
    body = "".join(f'{t},"100","101","99","100.5","3"\n' for t in ts.tolist())
    path.write_text("time,open,high,low,close,volume\n" + body, encoding="utf-8")

    async with opened(store) as panel:
        dialog = await panel.import_file(path)
        assert dialog is not None
        dialog.exchange.setCurrentText("file")
        dialog.symbol.setText("BTC/USDT")
        dialog.import_button.click()
        await until(lambda: dialog.bar.bar.value() > 0, "the import under way")
        assert dialog.bar.isVisible()
        dialog.bar.cancel_button.click()
        await until(lambda: not dialog.busy, "the import to stop")
        assert dialog.message.text() == "Import cancelled. Nothing was written."
        assert dialog.isVisible() and store.coverage() == []
        dialog.reject()


async def test_candles_refused_by_the_checks_are_counted_with_their_reasons(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{T0 + i * MINUTE_MS},100,101,99,100.5,3" for i in range(10)]
    lines[3] = f"{T0 + 2 * MINUTE_MS},100,98,99,100.5,3"  # low above high
    lines[5] = f"{T0 + 4 * MINUTE_MS},100,101,99,100.5,-1"  # negative volume
    path = tmp_path / "dirty.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    async with opened(store) as panel:
        dialog = await panel.import_file(path)
        assert dialog is not None
        dialog.exchange.setCurrentText("file")
        dialog.symbol.setText("ETH/USDT")
        dialog.import_button.click()
        await until(lambda: not dialog.busy, "the import")
        await settled(panel)

        text = panel.message.text()
        assert text.startswith("Imported 8 candles from dirty.csv into file ETH/USDT 1m.")
        assert "rejected 2 of 10 candles: 1 with low above high, 1 with negative volume" in text
        assert len(store.read("file", "ETH/USDT", "1m")) == 8
        assert cells(panel, SeriesKey("file", "ETH/USDT", "1m"))["Missing"] == "2"


# -- building a longer timeframe ------------------------------------------------------------------
async def test_build_makes_hours_from_minutes(qt_loop: qasync.QEventLoop, store: CandleStore) -> None:
    store.write(*parts(KEY), candles(T0, 5 * 60 + 30))
    async with opened(store) as panel:
        panel.select(KEY)
        dialog = panel.open_build()
        assert dialog is not None
        assert dialog.from_tf.currentText() == "1m"
        dialog.to_tf.setCurrentText("1h")
        dialog.build_button.click()
        await settled(panel)
        assert panel.message.text() == "Built 5 candles of binance BTC/USDT 1h from 1m candles."
        hours = cells(panel, SeriesKey("binance", "BTC/USDT", "1h"))
        assert hours["Candles"] == "5" and hours["Last (UTC)"] == "2023-11-15 04:00"


# -- downloads from the loopback exchange ---------------------------------------------------------
def kline_requests(server: LoopbackBinance) -> int:
    return sum(1 for r in server.requests if "/api/v3/klines" in r)


@asynccontextmanager
async def exchange(store: CandleStore) -> AsyncIterator[tuple[LoopbackBinance, DataManager]]:
    server = LoopbackBinance(seed=5, history_days=3, pump_interval=0.05)
    await server.start()
    account = AccountSettings(
        name="loopback",
        exchange="binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )
    try:
        async with opened(store, Settings(accounts=[account])) as panel:
            yield server, panel
    finally:
        await server.stop()


async def test_download_fetches_only_missing_pages_and_fill_gaps_only_the_hole(
    qt_loop: qasync.QEventLoop, store: CandleStore
) -> None:
    key = SeriesKey("loopback", "BTC/USDT", "1m")
    async with exchange(store) as (server, panel):
        dialog = panel.open_download()
        await until(lambda: not dialog.loading, "the account's markets")
        assert dialog.exchange_name == "loopback"
        assert "BTC/USDT" in dialog.markets["loopback"]
        dialog.symbol.setText("BTC/USD")  # a typo: not listed
        dialog.download_button.click()
        assert "loopback does not list BTC/USD" in dialog.errors.text("symbol") and dialog.isVisible()

        dialog.symbol.setText("BTC/USDT")
        end = dialog.end.ms() - 600 * MINUTE_MS
        dialog.end.set_ms(end)
        dialog.start.set_ms(end - 1500 * MINUTE_MS)
        dialog.download_button.click()
        await settled(panel)

        assert kline_requests(server) == 2, "1,500 candles in pages of 1,000"
        assert panel.message.text().startswith(
            "Downloaded 1,500 candles of loopback BTC/USDT 1m in 2 requests"
        )
        row = cells(panel, key)
        assert row["Candles"] == "1,500" and row["Gaps"] == "0" and row["Sync"] == "complete"

        # The same range again: nothing is missing, nothing is asked for.
        panel.select(key)
        dialog = panel.open_download()
        assert dialog.symbol.text() == "BTC/USDT", "the form starts on the selected series"
        dialog.start.set_ms(end - 1500 * MINUTE_MS)
        dialog.end.set_ms(end)
        dialog.download_button.click()
        await settled(panel)
        assert kline_requests(server) == 2
        assert "nothing was missing" in panel.message.text()

        # A hole of 100 candles: Fill gaps asks for that page alone.
        store.delete("loopback", "BTC/USDT", "1m", end - 900 * MINUTE_MS, end - 800 * MINUTE_MS)
        await panel.refresh()
        assert cells(panel, key)["Missing"] == "100"
        panel.select(key)
        panel.buttons["fill"].click()
        await settled(panel)
        assert kline_requests(server) == 3
        assert panel.message.text().startswith(
            "Filled gaps with 100 candles of loopback BTC/USDT 1m in 1 request"
        )
        assert cells(panel, key)["Missing"] == "0" and cells(panel, key)["Candles"] == "1,500"


async def test_cancel_keeps_what_was_stored_and_resume_fetches_the_rest(
    qt_loop: qasync.QEventLoop, store: CandleStore
) -> None:
    key = SeriesKey("loopback", "BTC/USDT", "1m")
    async with exchange(store) as (server, panel):
        dialog = panel.open_download()
        await until(lambda: not dialog.loading, "the account's markets")
        dialog.symbol.setText("BTC/USDT")
        end = dialog.end.ms() - 60 * MINUTE_MS
        dialog.end.set_ms(end)
        dialog.start.set_ms(end - 3000 * MINUTE_MS)
        server.slow_rest(1.0, times=2, path="/api/v3/klines")  # the 2nd page is still on its way
        dialog.download_button.click()
        await until(lambda: panel.job_bar.bar.value() > 0, "the first page")
        assert panel.job_bar.isVisible() and panel.job_bar.cancel_button.isEnabled()
        panel.job_bar.cancel_button.click()
        await settled(panel)

        assert "cancelled" in panel.message.text() and "Resume continues it" in panel.message.text()
        kept = store.read(*parts(key))
        assert 1000 <= len(kept) < 3000, "the pages stored before the cancel stay"
        record = SyncRecords(store).get(key, "range")
        assert record is not None and record.status == CANCELLED
        assert cells(panel, key)["Sync"].startswith("cancelled ")
        panel.select(key)
        assert panel.buttons["resume"].isEnabled()

        before = kline_requests(server)
        panel.buttons["resume"].click()
        await settled(panel)
        assert panel.message.text().startswith("Resumed: downloaded")
        whole = store.read(*parts(key))
        assert len(whole) == 3000 and np.all(np.diff(whole.ts) == MINUTE_MS)
        missing_pages = -(-(3000 - len(kept)) // 1000)
        assert kline_requests(server) - before == missing_pages, "only what the first run had not stored"
        done = SyncRecords(store).get(key, "range")
        assert done is not None and done.status == DONE
        assert cells(panel, key)["Sync"] == "complete"


async def test_a_download_that_fails_says_why_in_plain_words_on_the_panel_and_in_the_log(
    qt_loop: qasync.QEventLoop, store: CandleStore, log_buffer: LogBuffer
) -> None:
    async with exchange(store) as (server, panel):
        dialog = panel.open_download()
        await until(lambda: not dialog.loading, "the account's markets")
        dialog.symbol.setText("BTC/USDT")
        dialog.start.set_ms(dialog.end.ms() - 200 * MINUTE_MS)
        server.http_error(400, times=1, path="/api/v3/klines", code=-1121)
        dialog.download_button.click()
        await settled(panel)
        text = panel.message.text()
        assert text.startswith("Downloading loopback BTC/USDT 1m failed:")
        assert "Traceback" not in text
        assert "does not know this symbol" in text
        logged = [line.text for line in log_buffer.since(0) if line.level >= logging.WARNING]
        assert any("Downloading loopback BTC/USDT 1m failed" in line for line in logged)
        assert cells(panel, SeriesKey("loopback", "BTC/USDT", "1m"))["Sync"].startswith("failed: ")
