"""The Research tab of the backtest panel, driven as a user drives it in a real
window on the simulated market: Ctrl+Shift+B opens it with ranges for the
form's strategy, a grid sweep runs off the GUI thread with its trials in the
table, a bad range is said before anything runs, Cancel stops a long sweep,
and a trial opens as a normal backtest with the same result.

Async tests on the one qasync loop (see conftest): waits are ``t.until``."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt

from terminal.backtest.strategies import SmaCross
from terminal.paths import AppPaths
from terminal.research.study import StudyStore
from terminal.research.sweep import TrialState
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.panel import BacktestPanel
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE
from tests.ui.backtest.research_helpers import open_research
from tests.ui.harness import Launch


def _ranges(panel: BacktestPanel, fast: tuple[str, str], slow: tuple[str, str]) -> None:
    ranges = panel.research.form.ranges
    ranges.set_range("fast", *fast)
    ranges.set_range("slow", *slow)


async def test_a_grid_sweep_fills_the_table_and_its_best_trial_opens_as_the_same_backtest(
    launch: Launch, history: HistoryFile, qtbot: Any, tmp_path: Path
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        assert panel.strategy.strategy() is SmaCross
        assert [s.name for s in view.form.ranges.specs][:2] == ["fast", "slow"]
        assert view.form.constraints.text() == "fast < slow"  # a crossing's fast stays below its slow
        _ranges(panel, ("4", "8"), ("6", "12"))
        await t.until(lambda: "points in the grid" in view.form.grid_note.text(), "the grid's size")
        size = view.form.space().grid_size()
        assert f"{size:,} points" in view.form.grid_note.text()

        view.start_button.click()
        job = panel.sweeps.job
        assert job is not None
        await t.until(lambda: panel.sweeps.result is not None, "the sweep to end", timeout=60)
        result = panel.sweeps.result
        assert result is not None
        assert view.model.row_total() == result.count == size  # the result keeps the best; the table all
        assert view.start_button.isEnabled() and not view.cancel_button.isEnabled()
        assert "every point was tried" in view.status.text() and "Best: #" in view.status.text()
        # kept in the history file as a study, listed to show or resume
        assert f"kept as study #{panel.sweeps.study_id}" in view.status.text()
        await t.until(lambda: view.studies.count() == 1, "the study in the list")
        # the odds that the best is an artefact of trying many, in words
        await t.until(lambda: "deflated Sharpe ratio" in view.odds.text(), "the overfitting odds")
        assert f"the best of {size:,} trials" in view.odds.text()
        assert "probability of backtest overfitting" in view.odds.text()
        assert "Importance (PED-ANOVA): " in view.odds.text()  # which of fast and slow matters
        assert view.studies.currentText().endswith(f"{size:,} trials · done")
        done = [tr for tr in view.model.trials if tr.state is TrialState.DONE]
        assert done and all(tr.params["fast"] < tr.params["slow"] for tr in view.model.trials)

        # sorted by the objective, highest first: the best trial on top
        view.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # #, fast, slow, Sharpe
        top = view.model.trial(view.proxy.mapToSource(view.proxy.index(0, 0)).row())
        assert result.best is not None and top.number == result.best.number

        # the heatmap: fast across, slow up, the best trial's cell holds its value
        view.results.setCurrentWidget(view.heatmap)
        shown_map = view.heatmap.canvas.map
        assert shown_map is not None and (shown_map.x_name, shown_map.y_name) == ("fast", "slow")
        assert result.best.number in shown_map.trials
        assert float(np.nanmax(shown_map.values)) == result.best.values[0]
        view.results.setCurrentWidget(view.table)

        # the trials as CSV: one row each, the parameters, objectives and metrics
        view.export_button.click()
        dialog = panel.sweeps.file_dialog
        assert dialog is not None and dialog.isVisible()
        target = tmp_path / "trials.csv"
        dialog.selectFile(str(target))
        dialog.accept()
        await t.until(lambda: f"Wrote {size:,} trials" in view.status.text(), "the export")
        rows = list(csv.DictReader(target.open()))
        assert len(rows) == size
        assert {"fast", "slow", "sharpe", "final_equity", "trades", "state"} <= set(rows[0])
        best_row = rows[result.best.number]
        assert float(best_row["sharpe"]) == result.best.values[0]

        # the sweep as one self-contained page: set-up, odds, heatmap, the best trials, every trial
        view.report_button.click()
        report = panel.sweeps.file_dialog
        assert report is not None and report.isVisible()
        page_file = tmp_path / "sweep.html"
        report.selectFile(str(page_file))
        report.accept()
        await t.until(lambda: "Wrote the report" in view.status.text(), "the HTML report")
        page = page_file.read_text(encoding="utf-8")
        assert (
            page.startswith("<!DOCTYPE html>")
            and "<script" not in page
            and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        )
        assert "Constraints</th><td>fast &lt; slow" in page and "deflated Sharpe ratio" in page
        assert "<svg" in page and "The best 20 of " in page and f"Every trial ({size:,})" in page

        view.table.selectRow(0)
        assert view.open_button.isEnabled()
        view.open_button.click()
        await t.until(lambda: panel.shown is not None and not panel.busy, "the trial's backtest", timeout=30)
        shown = panel.shown
        assert shown is not None and panel.tabs.currentWidget() is panel.results
        assert {k: shown.result.params[k] for k in ("fast", "slow")} == top.params
        # the trial's figures are the run's: the same candles, strategy and costs
        assert top.metrics is not None
        assert shown.result.metrics.final_equity == top.metrics.final_equity
        assert shown.result.metrics.sharpe == top.metrics.sharpe


async def test_a_bad_range_is_said_and_nothing_runs(launch: Launch, history: HistoryFile, qtbot: Any) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        _ranges(panel, ("4", "x"), ("6", "12"))
        await t.until(lambda: "needs numbers" in view.form.grid_note.text(), "the message under the ranges")
        view.start_button.click()
        assert panel.sweeps.job is None
        assert "'fast'" in view.status.text() and "needs numbers" in view.status.text()
        _ranges(panel, ("0", "8"), ("6", "12"))  # below the model's lower bound
        view.start_button.click()
        assert panel.sweeps.job is None and "'fast' takes values" in view.status.text()


async def test_cancel_stops_a_long_sweep_and_keeps_its_trials(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        _ranges(panel, ("2", "400"), ("3", "800"))  # about 200,000 points: minutes of work
        view.start_button.click()
        await t.until(lambda: view.model.row_total() > 0, "the first trials in the table", timeout=30)
        view.cancel_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep to stop", timeout=10)
        result = panel.sweeps.result
        assert result is not None and result.stopped.value == "cancelled"
        assert view.model.row_total() == result.count < view.form.space().grid_size()
        assert view.start_button.isEnabled()
        first = result.count

        # Resume: the kept trials come back, the sweep goes on after them, none runs twice
        await t.until(lambda: "cancelled" in view.studies.currentText(), "the study listed as cancelled")
        view.resume_button.click()
        await t.until(lambda: panel.sweeps.running, "the study running again")
        await t.until(lambda: view.model.row_total() > first + 5, "more trials", timeout=30)
        view.cancel_button.click()
        await t.until(lambda: not panel.sweeps.running and panel.sweeps.result is not None, "stopped again")
        numbers = [view.model.trial(r).number for r in range(view.model.row_total())]
        assert numbers == list(range(len(numbers))) and len(numbers) > first
        study_id = panel.sweeps.study_id
        assert study_id is not None
        kept = StudyStore(history.get()).load(study_id)  # type: ignore[arg-type]
        assert [tr.number for tr in kept.trials] == numbers
        points = {(tr.params["fast"], tr.params["slow"]) for tr in kept.trials}
        assert len(points) == len(numbers)  # no point ran twice


async def test_a_user_strategy_is_swept_in_worker_processes_never_in_the_window(
    launch: Launch, history: HistoryFile, qtbot: Any, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir()
    (folder / "mine.py").write_text(ABOVE_AVERAGE.format(period=30), encoding="utf-8")
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        panel.strategy.reload_button.click()  # "Load yours"
        await t.until(lambda: "above_average" in panel.strategy.user, "the user strategy loaded")
        assert panel.strategy.select("above_average")
        specs = view.form.ranges
        await t.until(lambda: [s.name for s in specs.specs[:1]] == ["period"], "its ranges")
        view.form.ranges.set_range("period", "10", "21")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep in the pool", timeout=90)
        result = panel.sweeps.result
        assert result is not None and result.path == "pool"
        assert [tr.state for tr in view.model.trials] == [TrialState.DONE] * 12
        pool = panel.sweeps.pool
        assert pool is not None and pool.pids and os.getpid() not in pool.pids
        # the study keeps the file's hash: a changed file cannot resume it as if unchanged
        assert panel.sweeps.study_id is not None
        kept = StudyStore(history.get()).load(panel.sweeps.study_id)  # type: ignore[arg-type]
        assert len(kept.summary.spec.source_hash) == 64


async def test_a_stop_loss_swept_with_the_strategy_opens_with_that_stop(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        _ranges(panel, ("4", "6"), ("8", "9"))
        ranges = view.form.ranges
        ranges.tick("settings.stops.stop_loss_pct")
        ranges.set_range("settings.stops.stop_loss_pct", "1", "3", "1")
        await t.until(lambda: "18 points in the grid" in view.form.grid_note.text(), "3 x 2 x 3 points")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep", timeout=60)
        result = panel.sweeps.result
        assert result is not None and result.path == "pool"  # settings varied: not the fast path
        stops = sorted({tr.params["settings.stops.stop_loss_pct"] for tr in view.model.trials})
        assert stops == [1.0, 2.0, 3.0]
        trial = next(tr for tr in view.model.trials if tr.params["settings.stops.stop_loss_pct"] == 2.0)
        view.open_requested.emit(trial)
        await t.until(lambda: panel.shown is not None and not panel.busy, "the trial's backtest", timeout=30)
        shown = panel.shown
        assert shown is not None and shown.result.settings.stops.stop_loss_pct == 2.0
        assert trial.metrics is not None and shown.result.metrics.final_equity == trial.metrics.final_equity


async def test_a_bayesian_sweep_over_folds_prunes_weak_trials_and_says_so(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view, form = panel.research, panel.research.form
        _ranges(panel, ("3", "30"), ("10", "80"))
        form.method.setCurrentIndex(form.method.findData("tpe"))
        form.budget.setValue(60)
        assert not form.prune.isEnabled()  # one fold: nothing to prune between
        form.folds.setValue(4)
        assert form.prune.isEnabled()
        form.prune.setChecked(True)
        await t.until(lambda: "Each scored over 4 folds, weak ones pruned" in form.grid_note.text(), "said")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep", timeout=90)
        pruned = [tr for tr in view.model.trials if tr.state is TrialState.PRUNED]
        assert pruned and f"({len(pruned)} pruned after fewer than 4 folds)" in view.status.text()
        row = view.model.trials.index(pruned[0])
        note = view.model.index(row, view.model.columnCount() - 1).data()
        assert note.startswith("pruned after fold ") and "worse than the median" in note
        assert panel.sweeps.study_id is not None
        kept = StudyStore(history.get()).load(panel.sweeps.study_id)  # type: ignore[arg-type]
        assert (kept.summary.spec.folds, kept.summary.spec.prune) == (4, True)
        assert [tr.state for tr in kept.trials] == [tr.state for tr in view.model.trials]

        form.second.setCurrentIndex(form.second.findData("sortino"))  # two objectives: no median to prune by
        assert not form.prune.isEnabled() and not form.choice().prune


async def test_the_direction_is_swept_as_a_list_of_choices(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        _ranges(panel, ("4", "5"), ("8", "8"))
        ranges = view.form.ranges
        ranges.tick("settings.direction")
        ranges.set_range("settings.direction", "long, short", "", "")
        await t.until(lambda: "4 points in the grid" in view.form.grid_note.text(), "2 x 1 x 2 points")
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep", timeout=60)
        result = panel.sweeps.result
        assert result is not None
        assert sorted({tr.params["settings.direction"] for tr in view.model.trials}) == ["long", "short"]
        short = next(tr for tr in view.model.trials if tr.params["settings.direction"] == "short")
        view.open_requested.emit(short)
        await t.until(lambda: panel.shown is not None and not panel.busy, "the trial's backtest", timeout=30)
        assert panel.shown is not None and panel.shown.result.settings.direction == "short"

        ranges.set_range("settings.direction", " , ", "", "")  # nothing listed
        view.start_button.click()
        assert "List the values of 'settings.direction'" in view.status.text()


async def test_without_a_history_file_the_sweep_runs_and_says_it_is_not_kept(
    launch: Launch, qtbot: Any
) -> None:
    async with launch() as t:  # no history file: as when it cannot be opened
        panel = await open_research(t, qtbot)
        view = panel.research
        _ranges(panel, ("4", "5"), ("8", "9"))
        view.start_button.click()
        await t.until(lambda: panel.sweeps.result is not None, "the sweep", timeout=60)
        assert panel.sweeps.study_id is None and "; not kept." in view.status.text()
        assert view.model.row_total() == 4 and view.studies.count() == 0
