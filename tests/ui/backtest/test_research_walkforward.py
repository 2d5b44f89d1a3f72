"""The Research tab's walk-forward, driven as a user drives it in a real window on
the simulated market: Walk-forward ticked under the ranges turns Start into a
walk-forward of the form's sweep; its fold table, stitched out-of-sample equity
and plain-word summary are those of ``walk_forward`` run directly on the same
candles; data too short for the folds is said on the tab, and no fold runs.

Async tests on the one qasync loop (see conftest): waits are ``t.until``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from terminal.backtest.strategies import SmaCross
from terminal.research.walkforward import Windows, walk_forward
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.panel import BacktestPanel
from terminal.ui.research.view import ResearchView
from tests.ui.backtest.research_helpers import open_research
from tests.ui.harness import Launch


def _cell(panel: BacktestPanel, row: int, column: int) -> str:
    view = panel.research.walk_view
    return str(view.proxy.index(row, column).data())


def _record_status(view: ResearchView, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every line the status says, in order (progress lines come and go between frames)."""
    said: list[str] = []
    say = view.say

    def recording(text: str, error: bool = False) -> None:
        said.append(text)
        say(text, error)

    monkeypatch.setattr(view, "say", recording)
    return said


async def test_a_walk_forward_of_three_folds_shows_the_analysis_own_figures(
    launch: Launch, history: HistoryFile, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        said = _record_status(view, monkeypatch)
        assert panel.strategy.strategy() is SmaCross
        view.form.ranges.set_range("fast", "4", "8")
        view.form.ranges.set_range("slow", "6", "12")
        view.form.min_trades.setValue(1)
        assert view.start_button.text() == "Start sweep"
        view.walk.setChecked(True)
        assert view.start_button.text() == "Start walk-forward"
        view.walk.folds.setValue(3)
        view.walk.ratio.setValue(3.0)

        view.start_button.click()
        runner = panel.sweeps.walk
        assert runner.job is not None and panel.sweeps.running
        assert view.results.currentWidget() is view.walk_view
        await t.until(lambda: runner.outcome is not None, "the walk-forward to end", timeout=90)
        outcome = runner.outcome
        assert outcome is not None
        assert view.start_button.isEnabled() and not view.cancel_button.isEnabled()
        assert view.status.text().startswith("3 rolling folds in ")
        # progress named the fold: the last fold's sweep, with its trials, before the end
        assert any(line.startswith("Fold 3 of 3 · ") and " trials" in line for line in said)

        # the same walk, run directly on the same candles with the form's strategy, costs and sweep
        request = panel.request()
        assert request is not None
        choice = view.form.choice()
        direct = walk_forward(
            outcome.candles,
            request.strategy.create(request.params.model_dump()),
            choice.space,
            Windows(folds=3, ratio=3.0),
            method=choice.method,
            objectives=choice.objectives,
            filters=choice.filters,
            settings=request.settings,
            seed=choice.seed,
        )
        shown = outcome.result
        assert len(shown.folds) == len(direct.folds) == 3
        assert any(f.out_trades for f in direct.folds)  # a walk that traded, not three flat folds
        for mine, theirs in zip(shown.folds, direct.folds, strict=True):
            assert mine.fold == theirs.fold
            assert mine.params == theirs.params
            assert (mine.in_objective, mine.in_return, mine.in_trades) == (
                theirs.in_objective, theirs.in_return, theirs.in_trades,
            )  # fmt: skip
            assert (mine.out_return, mine.out_trades) == (theirs.out_return, theirs.out_trades)
        assert np.array_equal(shown.stitched_equity, direct.stitched_equity)
        assert np.array_equal(shown.stitched_ts, direct.stitched_ts)

        # the fold table: a row a fold, its windows as dates, the chosen point, in and out
        walk = view.walk_view
        assert walk.model.row_total() == 3
        header = [str(walk.model.headerData(c, Qt.Orientation.Horizontal)) for c in range(12)]
        assert header[:4] == ["Fold", "In-sample (UTC)", "Out-of-sample (UTC)", "Chosen"]
        assert header[4] == f"In {choice.objectives[0].label}"
        for row, fold in enumerate(direct.folds):
            assert _cell(panel, row, 0) == str(row + 1)
            assert " → " in _cell(panel, row, 1) and _cell(panel, row, 1)[:2] == "20"  # a UTC date
            assert fold.params is not None
            assert _cell(panel, row, 3) == f"fast {fold.params['fast']} · slow {fold.params['slow']}"
            assert _cell(panel, row, 7) == f"{fold.out_return:+.2%}"
            assert _cell(panel, row, 9) == f"{fold.out_trades:,}"
        # one fold's out-of-sample window starts where its in-sample window ends
        assert _cell(panel, 0, 1).split(" → ")[1] == _cell(panel, 0, 2).split(" → ")[0]

        # the stitched out-of-sample equity on the plot
        xs, ys = walk.plot.equity_curve.getOriginalDataset()
        assert xs is not None and ys is not None
        assert np.array_equal(ys, direct.stitched_equity)
        assert np.array_equal(xs, direct.stitched_ts / 1000.0)

        # the summary in words: the efficiency overall and how the parameters moved
        summary = walk.summary.text()
        assert f"{direct.total_return:+.2%}" in summary
        efficiency = direct.efficiency
        assert (
            ("not given" in summary) if np.isnan(efficiency) else (f"efficiency {efficiency:.2f}" in summary)
        )
        for p in direct.stability:
            said = (
                f"{p.name} kept {p.values[0]} in every fold"
                if p.changes == 0
                else f"{p.name} changed in {p.changes} of 2 folds, spread {p.spread:.0%} of its range"
            )
            assert said in summary


async def test_data_too_short_for_the_folds_is_said_and_no_fold_runs(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        view.form.ranges.set_range("fast", "4", "8")
        view.form.ranges.set_range("slow", "6", "12")
        view.walk.setChecked(True)
        view.walk.cut.setCurrentIndex(view.walk.cut.findData("lengths"))
        assert view.walk.in_bars.isVisibleTo(view.walk) and not view.walk.ratio.isVisibleTo(view.walk)
        view.walk.in_bars.setValue(50_000_000)
        view.walk.out_bars.setValue(1_000)
        view.walk.folds.setValue(2)

        view.start_button.click()
        runner = panel.sweeps.walk
        # not only the job's end: the panel says why a turn later (Start comes back with it)
        await t.until(
            lambda: not panel.sweeps.running and view.start_button.isEnabled(), "the walk-forward to refuse"
        )
        said = view.walk_view.summary.text()
        assert said.startswith("The candles have ")
        assert "2 rolling folds of 50,000,000 in-sample and 1,000 out-of-sample bars need 50,002,000." in said
        assert said.endswith("Use fewer or shorter folds, or load more history.")
        assert view.status.text() == said
        # nothing ran: no fold, no result, no trial; Start is back
        assert runner.outcome is None and view.walk_view.model.row_total() == 0
        assert view.model.row_total() == 0 and view.start_button.isEnabled()


async def test_cancel_stops_a_walk_forward_and_shows_the_folds_done(
    launch: Launch, history: HistoryFile, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        said = _record_status(view, monkeypatch)
        view.form.ranges.set_range("fast", "2", "400")
        view.form.ranges.set_range("slow", "3", "800")  # about 200,000 points a fold: minutes of work
        view.walk.setChecked(True)
        view.walk.folds.setValue(3)
        view.start_button.click()
        runner = panel.sweeps.walk
        await t.until(lambda: any(line.startswith("Fold 1 of 3 · ") for line in said), "the first fold", 30)
        view.cancel_button.click()
        await t.until(lambda: runner.outcome is not None, "the walk-forward to stop", timeout=10)
        outcome = runner.outcome
        assert outcome is not None and outcome.result.cancelled
        done = len(outcome.result.folds)
        assert done < 3 and view.walk_view.model.row_total() == done
        assert f"Cancelled after {done} of 3 folds" in view.status.text()
        assert view.start_button.isEnabled() and not panel.sweeps.running


async def test_each_fold_sweeps_in_the_warm_worker_pool(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        panel = await open_research(t, qtbot)
        view = panel.research
        assert panel.strategy.select("ema_cross")  # no one-kernel fast path: the trials go to the pool
        await t.until(lambda: [s.name for s in view.form.ranges.specs][:2] == ["fast", "slow"], "its ranges")
        view.form.ranges.set_range("fast", "4", "6")
        view.form.ranges.set_range("slow", "8", "10")
        view.walk.setChecked(True)
        view.walk.folds.setValue(2)
        view.start_button.click()
        runner = panel.sweeps.walk
        await t.until(lambda: runner.outcome is not None, "the walk-forward in the pool", timeout=90)
        outcome = runner.outcome
        assert outcome is not None and len(outcome.result.folds) == 2
        assert [f.sweep.path for f in outcome.result.folds] == ["pool", "pool"]
        assert panel.sweeps.pool is not None and panel.sweeps.pool.pids
