"""A sweep killed with the process running it (SIGKILL, as when the terminal is
killed mid-sweep) is listed in the Research tab as interrupted and resumes
from the window: the trials stored before the kill come back as they were, the
sweep runs only the points it had not, and opening the best trial gives the
same figures.

The sweep runs in a process of its own over the same history file the window
then opens, on candles stored there (the window's own sweeps run in its
process, which a test cannot kill without killing the test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.paths import AppPaths
from terminal.research.space import IntParam, Space
from terminal.research.study import StudyStatus, StudyStore, new_study
from terminal.store import CandleStore, SeriesKey
from terminal.store.history_file import HistoryFile
from tests.backtest.backtest_scenarios import random_candles
from tests.research.killed import kill_once_stored, stored_trials
from tests.ui.harness import Launch

MARKET = ("binance", "BTC/USDT", "1m")
GRID = Space((IntParam("fast", 2, 21), IntParam("slow", 10, 40, step=10)), ("fast < slow",))  # 72 points
STORED_BEFORE_KILL = 10

#: the sweep in a process of its own, on the stored candles, paced so that the test can kill it midway
CHILD = """
import sys, time
from terminal.research.study import StudyStore, run_study
from terminal.store import CandleStore

path, study_id = sys.argv[1], int(sys.argv[2])
with CandleStore(path) as store:
    candles = store.read("binance", "BTC/USDT", "1m")
    run_study(StudyStore(store), study_id, candles, progress=lambda p: time.sleep(0.05))
print("finished", flush=True)
"""


@pytest.fixture
def killed_study(app_paths: AppPaths) -> Iterator[tuple[HistoryFile, int, int]]:
    """The window's history file with stored candles and a study whose process was killed
    after it stored some trials: (the file, the study's id, the trials it kept)."""
    path = app_paths.data_dir / "history.sqlite"
    with CandleStore(path) as store:
        store.write(*MARKET, random_candles(np.random.default_rng(152), 4000))
        candles = store.read(*MARKET)
        fees = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
        exchange, symbol, timeframe = MARKET
        spec = new_study(candles, "sma_cross", GRID, exchange=exchange, symbol=symbol, timeframe=timeframe,
                         settings=fees)  # fmt: skip
        study_id = StudyStore(store).create(spec)
    kill_once_stored(CHILD, [str(path), str(study_id)], path, study_id, STORED_BEFORE_KILL)
    held = HistoryFile(path)
    yield held, study_id, stored_trials(path, study_id)
    held.close()


async def test_a_sweep_killed_midway_is_listed_as_interrupted_and_resumes_from_the_window(
    launch: Launch, killed_study: tuple[HistoryFile, int, int], qtbot: Any
) -> None:
    history, study_id, kept = killed_study
    store = history.get()
    assert store is not None
    before = StudyStore(store).load(study_id)
    assert before.summary.status is StudyStatus.RUNNING and STORED_BEFORE_KILL <= kept < GRID.grid_size()

    async with launch(history_file=history) as t:
        await t.activate()
        shift_ctrl = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, shift_ctrl)
        panel = t.window.backtest
        assert panel is not None
        view = panel.research
        await t.until(lambda: view.studies.count() == 1, "the killed study in the list")
        assert view.studies.currentText().endswith(f"{kept:,} trials · interrupted")

        view.resume_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the study to finish", timeout=60)
        numbers = [view.model.trial(r).number for r in range(view.model.row_total())]
        assert numbers == list(range(GRID.grid_size()))
        after = StudyStore(store).load(study_id)
        assert after.summary.status is StudyStatus.DONE
        assert after.trials[:kept] == before.trials  # the trials stored before the kill, as they were
        points = [p for _, p in GRID.iter_grid()]
        assert [tr.params for tr in after.trials] == points  # every point once
        assert "kept as study #" in view.status.text()

        # the best trial opens as a backtest on the study's candles and costs, with its figures
        best = panel.sweeps.result.best if panel.sweeps.result is not None else None
        assert best is not None and best.metrics is not None
        view.open_requested.emit(best)
        await t.until(
            lambda: panel.shown is not None and not panel.busy, "the best trial's backtest", timeout=30
        )
        shown = panel.shown
        assert shown is not None and panel.data.key() == SeriesKey(*MARKET)
        assert shown.result.metrics.final_equity == best.metrics.final_equity
