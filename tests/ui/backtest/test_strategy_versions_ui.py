"""The Versions… dialog of a user strategy, in a real window with a real history file
and the strategies' own process: each run of an edited file keeps a new version, the
dialog lists them with their runs side by side, shows the diff, keeps a note, and
restores an old version as a new file that loads beside the current one.

Async tests on the one qasync loop (see conftest): waits are ``t.until``."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from terminal.backtest.queue import JobState
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.panel import BacktestPanel
from terminal.ui.backtest.versions_dialog import NOTE, VERSION_COLUMNS
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE
from tests.ui.harness import Launch, Terminal

pytestmark = pytest.mark.slow  # the strategies' process is a fresh interpreter

FIRST = ABOVE_AVERAGE.format(period=30)
SECOND = FIRST.replace("candles.close > indicators", "candles.close >= indicators")


@asynccontextmanager
async def panel_with_mine(
    launch: Launch, history: HistoryFile, folder: Path
) -> AsyncIterator[tuple[Terminal, BacktestPanel]]:
    async with launch(history_file=history) as t:
        panel = t.window.open_backtest()
        await t.until(lambda: not panel.busy and panel.data.chart is not None, "the panel to read")
        box = panel.strategy
        assert not box.versions_button.isEnabled(), "a built-in has no versions"
        box.reload_button.click()  # "Load yours"
        await t.until(lambda: "above_average" in box.user, "the user's strategy to load")
        assert box.select("above_average")
        assert box.versions_button.isEnabled()
        yield t, panel


async def run_once(t: Terminal, panel: BacktestPanel) -> int:
    job = await panel.run()
    assert job is not None, panel.message.text()
    await t.until(lambda: job.finished and not panel.busy, "the run to finish and be saved", timeout=60)
    assert job.state is JobState.DONE, panel.message.text()
    assert panel.shown is not None
    return panel.shown.summary.id


async def test_runs_of_an_edited_strategy_keep_two_versions_with_diff_note_and_restore(
    launch: Launch, history: HistoryFile, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir()
    mine = folder / "mine.py"
    mine.write_text(FIRST, encoding="utf-8")
    old, new = (hashlib.sha256(text.encode()).hexdigest() for text in (FIRST, SECOND))
    async with panel_with_mine(launch, history, folder) as (t, panel):
        first_runs = [await run_once(t, panel), await run_once(t, panel)]
        mine.write_text(SECOND, encoding="utf-8")  # edited: the next run loads it afresh
        second_run = await run_once(t, panel)
        assert panel.shown is not None and panel.shown.summary.source_hash == new

        panel.strategy.versions_button.click()
        dialog = panel.versions_dialog
        assert dialog is not None and dialog.isVisible()
        await t.until(lambda: dialog.table.rowCount() == 2 and not panel.busy, "the versions listed")
        assert [v.source_hash for v in dialog.listed] == [new, old]  # newest first
        runs_column = VERSION_COLUMNS.index("Runs")
        assert [dialog.table.item(r, runs_column).text() for r in range(2)] == ["1", "2"]
        assert dialog.table.item(0, 0).text() == new[:8]

        # both selected: the diff from the older to the newer, and their runs side by side
        dialog.select([old, new])
        task = dialog.diff()
        assert task is not None
        diff = await task
        shown = dialog.diff_view.toPlainText()
        assert shown == diff and shown.startswith(f"--- {old[:8]}")
        changed = [line for line in shown.splitlines()[2:] if line.startswith(("-", "+"))]
        assert [line.split(".sma")[0] for line in changed] == [
            "-        above = candles.close > indicators",
            "+        above = candles.close >= indicators",
        ]
        left, right = dialog.run_tables
        assert [left.item(r, 0).text() for r in range(left.rowCount())] == [f"#{i}" for i in first_runs[::-1]]
        assert [right.item(r, 0).text() for r in range(right.rowCount())] == [f"#{second_run}"]
        assert right.item(0, 2).text().endswith("%")  # the headline metrics: return first

        # a note typed in the table is kept in the history file: a new dialog reads it back
        dialog.table.item(1, NOTE).setText("before >=")
        await t.until(lambda: "Note kept" in dialog.status.text(), "the note to be kept")
        panel.strategy.versions_button.click()
        again = panel.versions_dialog
        assert again is not None and again is not dialog
        await t.until(lambda: again.table.rowCount() == 2 and not panel.busy, "the versions listed again")
        assert again.table.item(1, NOTE).text() == "before >="

        # the old version restored as a new file, renamed, loads beside the current one
        again.select([old])
        assert again.new_name.text() == f"above_average_{old[:8]}"
        again.new_name.setText("above_average_v1")
        again.restore_button.click()
        box = panel.strategy
        await t.until(lambda: "above_average_v1" in box.user and not panel.busy, "the restored file to load")
        restored = folder / "above_average_v1.py"
        assert restored.read_text(encoding="utf-8") == FIRST.replace(
            'name = "above_average"', 'name = "above_average_v1"'
        )
        assert box.load_errors == [] and "above_average" in box.user
        assert mine.read_text(encoding="utf-8") == SECOND  # the current file is untouched

        # restoring under a name whose file is there writes nothing
        again.select([old])
        again.new_name.setText("above_average_v1")
        task = again.restore()
        assert task is not None and await task is None
        assert "already" in again.status.text()


async def test_a_study_of_a_user_strategy_keeps_its_version(
    launch: Launch, history: HistoryFile, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir()
    (folder / "mine.py").write_text(FIRST, encoding="utf-8")
    async with panel_with_mine(launch, history, folder) as (t, panel):
        view = panel.research
        panel.open_research()
        ranges = view.form.ranges
        await t.until(lambda: [s.name for s in ranges.specs[:1]] == ["period"], "its ranges")
        ranges.set_range("period", "10", "12")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None and not panel.busy, "the sweep", timeout=90)
        assert panel.sweeps.study_id is not None

        panel.strategy.versions_button.click()
        dialog = panel.versions_dialog
        assert dialog is not None
        await t.until(lambda: dialog.table.rowCount() == 1 and not panel.busy, "the version listed")
        [version] = dialog.listed
        assert version.source_hash == hashlib.sha256(FIRST.encode()).hexdigest()
        assert (version.runs, version.studies) == (0, 1)
        assert dialog.table.item(0, VERSION_COLUMNS.index("Studies")).text() == "1"
