"""The CSV import form: the timeframe it preselects from the file's times, its
warning before candles are filed under another timeframe, bad lines counted
and listed, and preview rows numbered as the messages number lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
import qasync
from PySide6.QtCore import Qt

from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore, SeriesKey
from terminal.store.csv_io import sniff
from terminal.ui.data.csv_import_dialog import CsvImportDialog
from tests.conftest import wait_until

T0 = 1_700_006_400_000  # 2023-11-15 00:00 UTC
HOUR = 60 * MINUTE_MS
HEADER = "time,open,high,low,close,volume"


def candle_lines(n: int, step: int) -> list[str]:
    return [f"{T0 + i * step},100,101,99,100.5,3" for i in range(n)]


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


async def until(condition: Callable[[], object], what: str) -> None:
    await wait_until(condition, what, 15.0, interval=0.02)


@asynccontextmanager
async def form(
    store: CandleStore, path: Path, selected: SeriesKey | None = None
) -> AsyncIterator[CsvImportDialog]:
    dialog = CsvImportDialog(sniff(path), store, ["binance"], selected)
    dialog.show()
    try:
        yield dialog
    finally:
        await dialog.shutdown()
        dialog.close()
        dialog.deleteLater()


async def imported(dialog: CsvImportDialog) -> None:
    dialog.import_button.click()
    await until(lambda: not dialog.busy, "the import")


async def test_hourly_candles_preselect_1h_over_the_selected_series(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "hours.csv", candle_lines(200, HOUR))
    async with form(store, path, SeriesKey("binance", "BTC/USDT", "1m")) as dialog:
        assert dialog.timeframe.currentText() == "1h", "what the file holds, not the selected series' 1m"
        assert dialog.symbol.text() == "BTC/USDT", "the rest of the selection stays"
        assert dialog.timeframe_note.text() == "The rows are 1 hour apart."

        await imported(dialog)
        assert dialog.result() == dialog.DialogCode.Accepted and not dialog.isVisible()
        assert len(store.read("binance", "BTC/USDT", "1h")) == 200


async def test_a_mismatched_timeframe_warns_and_writes_only_once_confirmed(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "hours.csv", candle_lines(200, HOUR))
    async with form(store, path) as dialog:
        dialog.symbol.setText("BTC/USDT")
        dialog.timeframe.setCurrentText("1m")
        note = dialog.timeframe_note.text()
        assert note.startswith("The rows are 1 hour apart, not 1m: choose 1h"), note

        await imported(dialog)
        text = dialog.message.text()
        assert text.startswith("These candles are 1 hour apart; importing them as 1m would report 199 gaps.")
        assert "Nothing was written" in text
        assert dialog.isVisible() and store.coverage() == [], "nothing written without a yes"
        assert dialog.import_button.text() == "Import as 1m anyway"

        dialog.timeframe.setCurrentText("5m")  # a changed choice lapses the question
        assert dialog.import_button.text() == "Import"
        await imported(dialog)
        assert "importing them as 5m would report 199 gaps" in dialog.message.text()
        assert store.coverage() == []

        await imported(dialog)  # "Import as 5m anyway"
        assert store.read("binance", "BTC/USDT", "5m").ts.tolist() == [T0 + i * HOUR for i in range(200)]


async def test_every_bad_line_is_counted_and_the_first_ten_listed(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    rows = candle_lines(300, MINUTE_MS)
    bad = list(range(40, 280, 10))  # 24 bad rows, all past the preview
    for i in bad:
        rows[i] = f"{T0 + i * MINUTE_MS},100,101,99,oops,3"
    path = write(tmp_path / "broken.csv", rows)
    async with form(store, path) as dialog:
        dialog.symbol.setText("BTC/USDT")
        await imported(dialog)
        lines = dialog.message.text().split("\n")
        assert lines[0] == "Importing broken.csv failed: broken.csv: 24 lines cannot be read; the first 10:"
        assert lines[1:11] == [f"line {i + 2}: 'oops' is not a number in column close." for i in bad[:10]]
        assert lines[11] == "… and 14 more. Nothing was imported."
        assert dialog.isVisible() and store.coverage() == []


async def test_preview_rows_carry_the_line_numbers_errors_use(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    rows = candle_lines(30, MINUTE_MS)
    rows[10] = f"{T0 + 10 * MINUTE_MS},100,101,99,abc,3"
    path = tmp_path / "gappy.csv"
    path.write_text("\n".join(["", HEADER, *rows[:5], "", *rows[5:]]) + "\n", encoding="utf-8")
    async with form(store, path) as dialog:
        model = dialog.model
        row = next(r for r in range(model.rowCount()) if model.index(r, 4).data() == "abc")
        shown = model.headerData(row, Qt.Orientation.Vertical)
        assert shown == "14", "a blank line, the header, 5 rows, a blank line, 5 rows"
        dialog.columns["close"].setCurrentIndex(dialog.columns["close"].findData(4))  # "abc": not guessed
        dialog.symbol.setText("BTC/USDT")
        await imported(dialog)
        assert f"gappy.csv, line {shown}: 'abc' is not a number" in dialog.message.text()


async def test_minutes_chosen_as_hours_say_how_many_would_be_refused(
    qt_loop: qasync.QEventLoop, store: CandleStore, tmp_path: Path
) -> None:
    path = write(tmp_path / "minutes.csv", candle_lines(120, MINUTE_MS))
    async with form(store, path) as dialog:
        assert dialog.timeframe.currentText() == "1m"
        dialog.symbol.setText("ETH/USDT")
        dialog.timeframe.setCurrentText("1h")
        await imported(dialog)
        assert "importing them as 1h would reject 118 of 120 as not aligned to 1h" in dialog.message.text()
        assert store.coverage() == []
        assert np.array_equal(store.read("binance", "ETH/USDT", "1h").ts, np.empty(0, dtype=np.int64))
