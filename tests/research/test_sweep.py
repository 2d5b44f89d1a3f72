"""Sweeps end to end: every trial is a backtest bit for bit; budget, grid end, early
stop and cancel stop the loop and say why; a study resumes without running a point twice."""

from __future__ import annotations

import math
import pickle
import threading
from dataclasses import fields

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.backtest.strategies import SmaCross
from terminal.marketdata.candles import OHLCV
from terminal.research.methods import Completed, MethodKind, Proposal, SearchMethod
from terminal.research.objectives import Filters, LightMetrics, Objective, dominates
from terminal.research.space import FloatParam, IntParam, Space, SweepError
from terminal.research.sweep import (
    StopReason,
    SweepProgress,
    SweepResult,
    Trial,
    TrialState,
    evaluate,
    run_sweep,
)
from tests.backtest.backtest_scenarios import random_candles

SPACE = Space((IntParam("fast", 3, 12), IntParam("slow", 8, 30, step=2)), ("fast < slow",))
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(150), 5000)


@pytest.fixture(scope="module")
def grid(candles: OHLCV) -> SweepResult:
    return run_sweep(candles, "sma_cross", SPACE, settings=FEES)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_every_trial_equals_a_single_backtest_bit_for_bit(candles: OHLCV) -> None:
    space = Space(
        (
            IntParam("fast", 4, 8, step=2),
            IntParam("slow", 10, 20, step=5),
            FloatParam("settings.stops.stop_loss_pct", 1.0, 2.0, 1.0),
        ),
        ("fast < slow",),
    )
    result = run_sweep(candles, SmaCross.create({"fast": 5}), space, settings=FEES)
    assert len(result.trials) == 3 * 3 * 2 and {t.state for t in result.trials} == {TrialState.DONE}
    for trial in result.trials:
        params, settings = result.backtest_inputs(trial)
        assert settings.stops.stop_loss_pct == trial.params["settings.stops.stop_loss_pct"]
        full = run_backtest(candles, "sma_cross", params, settings).metrics
        assert trial.metrics is not None
        for f in fields(LightMetrics):
            assert same(float(getattr(trial.metrics, f.name)), float(getattr(full, f.name))), (trial, f.name)
        assert trial.values == (full.sharpe,)


def test_a_grid_sweep_runs_every_point_once_in_order_and_says_it_is_done(grid: SweepResult) -> None:
    assert [t.params for t in grid.trials] == [p for _, p in SPACE.iter_grid()]
    assert [t.number for t in grid.trials] == list(range(SPACE.grid_size()))
    assert grid.stopped is StopReason.EXHAUSTED
    assert grid.message == f"stopped: every point was tried ({SPACE.grid_size()} trials)"
    best = grid.best
    assert best is not None and best.values[0] == max(t.values[0] for t in grid.counted)


def test_the_indicator_memo_serves_repeated_averages_and_changes_no_result(
    candles: OHLCV, grid: SweepResult
) -> None:
    kept = run_sweep(candles, "sma_cross", SPACE, settings=FEES, fast=False)  # the fast path has no memo
    without = run_sweep(candles, "sma_cross", SPACE, settings=FEES, memo=False, fast=False)
    assert without.memo_hits == 0 and kept.path == "serial" and grid.path == "fast path"
    periods = {*range(3, 13), *range(8, 31, 2)}  # an SMA(10) is one array, whether fast or slow
    assert kept.memo_hits == 2 * len(kept.trials) - len(periods)  # each average computed once
    assert [(t.values, t.metrics) for t in without.trials] == [(t.values, t.metrics) for t in kept.trials]
    assert [(t.values, t.metrics) for t in without.trials] == [(t.values, t.metrics) for t in grid.trials]


def test_the_budget_stops_a_sweep_and_says_so(candles: OHLCV) -> None:
    result = run_sweep(candles, "sma_cross", SPACE, method="random", budget=7, settings=FEES)
    assert len(result.trials) == 7 and result.stopped is StopReason.BUDGET
    assert result.message == "stopped: the budget of 7 trials is spent"


def test_early_stop_fires_when_no_better_trial_came_and_says_so(candles: OHLCV) -> None:
    result = run_sweep(candles, "sma_cross", SPACE, method="random", budget=500, early_stop=6, seed=2)
    assert result.stopped is StopReason.EARLY_STOP
    assert result.message == "stopped: no better trial in the last 6"
    best = result.best
    assert best is not None and best.number == len(result.trials) - 7  # then six without a better one
    assert len(result.trials) < SPACE.grid_size()


def test_cancel_stops_between_trials(candles: OHLCV) -> None:
    cancel = threading.Event()
    seen: list[SweepProgress] = []

    def progress(report: SweepProgress) -> None:
        seen.append(report)
        if report.done == 3:
            cancel.set()

    result = run_sweep(candles, "sma_cross", SPACE, cancel=cancel, progress=progress)
    assert len(result.trials) == 3 and result.stopped is StopReason.CANCELLED
    assert result.message == "stopped: cancelled after 3 trials"
    assert [r.done for r in seen] == [1, 2, 3] and seen[-1].total == SPACE.grid_size()
    assert seen[-1].best is not None and seen[-1].best.values[0] == max(t.values[0] for t in result.trials)


def test_a_resumed_grid_runs_no_point_twice(candles: OHLCV, grid: SweepResult) -> None:
    first = run_sweep(candles, "sma_cross", SPACE, settings=FEES, budget=10)
    resumed = run_sweep(candles, "sma_cross", SPACE, settings=FEES, budget=25, completed=first.trials)
    assert resumed.trials[:10] == first.trials
    assert [t.number for t in resumed.trials] == list(range(25))
    assert [t.params for t in resumed.trials] == [t.params for t in grid.trials[:25]]
    finished = run_sweep(candles, "sma_cross", SPACE, settings=FEES, completed=resumed.trials)
    assert [(t.params, t.values) for t in finished.trials] == [(t.params, t.values) for t in grid.trials]


def test_a_resumed_random_sweep_goes_on_as_an_uninterrupted_one(candles: OHLCV) -> None:
    whole = run_sweep(candles, "sma_cross", SPACE, method="random", budget=12, seed=9)
    first = run_sweep(candles, "sma_cross", SPACE, method="random", budget=5, seed=9)
    resumed = run_sweep(
        candles, "sma_cross", SPACE, method="random", budget=12, seed=9, completed=first.trials
    )
    assert [(t.params, t.values) for t in resumed.trials] == [(t.params, t.values) for t in whole.trials]


def test_a_trial_whose_parameters_do_not_validate_fails_with_the_reason(candles: OHLCV) -> None:
    space = Space((IntParam("fast", 8, 12, step=2), IntParam("slow", 10, 10)))  # no fast < slow
    result = run_sweep(candles, "sma_cross", space)
    states = {t.params["fast"]: t for t in result.trials}
    assert states[8].state is TrialState.DONE
    for fast in (10, 12):
        assert states[fast].state is TrialState.FAILED and states[fast].metrics is None
        assert f"the fast average ({fast}) must be shorter than the slow one (10)" in states[fast].reason
        assert math.isnan(states[fast].values[0])
    assert result.best is states[8]


def test_filtered_trials_are_kept_with_the_reason_and_never_best(candles: OHLCV, grid: SweepResult) -> None:
    trades = sorted(t.metrics.trades for t in grid.trials if t.metrics is not None)
    least = trades[len(trades) // 2]
    result = run_sweep(candles, "sma_cross", SPACE, settings=FEES, filters=Filters(min_trades=least))
    filtered = [t for t in result.trials if t.state is TrialState.FILTERED]
    assert filtered and len(filtered) + len(result.counted) == len(result.trials)
    for trial in filtered:
        assert trial.metrics is not None and trial.metrics.trades < least
        assert f"fewer than the minimum of {least}" in trial.reason and trial.violation > 0.0
    best = result.best
    assert best is not None and best.state is TrialState.DONE and best.metrics is not None
    assert best.metrics.trades >= least


def test_two_objectives_give_a_pareto_front(candles: OHLCV, grid: SweepResult) -> None:
    objectives = (Objective.SHARPE, Objective.PROFIT_FACTOR)
    result = run_sweep(candles, "sma_cross", SPACE, settings=FEES, objectives=objectives)
    front = result.pareto_front()
    assert front and all(len(t.values) == 2 for t in result.trials)
    directions = [o.direction for o in objectives]
    for trial in result.counted:
        if any(trial is f for f in front):  # nothing beats it in both
            assert not any(dominates(o.values, trial.values, directions) for o in result.counted)
        else:  # something on the front does
            assert any(dominates(f.values, trial.values, directions) for f in front)


@pytest.mark.parametrize("objectives", [(Objective.SHARPE,), (Objective.SHARPE, Objective.PROFIT_FACTOR)])
def test_a_streamed_sweep_hands_every_trial_over_and_keeps_only_the_best_and_the_front(
    candles: OHLCV, objectives: tuple[Objective, ...]
) -> None:
    handed: list[Trial] = []
    streamed = run_sweep(
        candles, "sma_cross", SPACE, settings=FEES, objectives=objectives, on_trial=handed.append,
        keep_trials=False,
    )  # fmt: skip
    whole = run_sweep(candles, "sma_cross", SPACE, settings=FEES, objectives=objectives)
    assert [(t.params, t.values) for t in handed] == [(t.params, t.values) for t in whole.trials]
    assert streamed.count == len(whole.trials) == SPACE.grid_size() and streamed.message == whole.message
    front = {t.number for t in whole.pareto_front()} if len(objectives) == 2 else set()
    assert whole.best is not None
    assert [t.number for t in streamed.trials] == sorted(front | {whole.best.number})
    assert streamed.best is not None and streamed.best.number == whole.best.number


class Twice(SearchMethod):
    """Proposes one point twice (optuna may), then stops."""

    kind = MethodKind.GRID

    def __init__(self) -> None:
        super().__init__(SPACE)
        self.told: list[Completed] = []

    def ask(self) -> Proposal | None:
        return Proposal(len(self.told), {"fast": 4, "slow": 20}) if len(self.told) < 2 else None

    def tell(self, proposal: Proposal, result: Completed) -> None:
        self.told.append(result)


def test_a_point_proposed_again_is_not_run_again(candles: OHLCV) -> None:
    method = Twice()
    result = run_sweep(candles, "sma_cross", SPACE, method=method)
    first, again = result.trials
    assert again.repeat_of == first.number == 0 and again.values == first.values and again.seconds == 0.0
    assert method.told[0] == method.told[1]
    assert result.best is first


def test_a_sweep_over_a_parameter_the_strategy_lacks_is_refused_before_any_trial(candles: OHLCV) -> None:
    with pytest.raises(SweepError, match="The strategy 'sma_cross' has no parameter 'fsat'"):
        run_sweep(candles, "sma_cross", Space((IntParam("fsat", 1, 3),)))
    with pytest.raises(SweepError, match="need a budget"):
        run_sweep(candles, "sma_cross", SPACE, method="tpe")


def test_a_trial_is_a_pure_function_of_picklable_inputs(candles: OHLCV) -> None:
    objectives = (Objective.SHARPE, Objective.SQN)
    inputs = (candles, "sma_cross", {"fast": 5, "slow": 20}, FEES, objectives)
    outcome = evaluate(*pickle.loads(pickle.dumps(inputs)))
    again = pickle.loads(pickle.dumps(evaluate(*inputs)))
    assert outcome.metrics == again.metrics and outcome.error == ""
    assert outcome.metrics is not None and outcome.values == (outcome.metrics.sharpe, outcome.metrics.sqn)
    bad = {"fast": 5, "slow": 20, "settings.stops.stop_loss_pct": -1.0}
    failed = evaluate(candles, "sma_cross", bad, FEES, objectives)
    assert failed.metrics is None and "stops.stop_loss_pct" in failed.error
    assert len(failed.values) == 2 and all(math.isnan(v) for v in failed.values)


def test_bayesian_sweeps_run_through_the_same_loop(candles: OHLCV) -> None:
    for kind in ("tpe", "cmaes", "nsga2"):
        result = run_sweep(candles, "sma_cross", SPACE, method=kind, budget=15, seed=1, settings=FEES)
        assert len(result.trials) == 15 and result.stopped is StopReason.BUDGET
        assert all(SPACE.satisfies(t.params) for t in result.trials)
