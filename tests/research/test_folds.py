"""Trials scored across folds, and optuna's median pruner stopping weak ones between
folds: each fold is a single backtest on its part of the candles, the trial combines
them as terminal.research.folds says, a pruned trial ran fewer folds and was worse
than the median of the earlier trials where it stopped, and a pruned study is kept
and resumed with what the pruner needs."""

from __future__ import annotations

import math
import statistics
import threading
from typing import Any

import numpy as np
import pytest

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.marketdata.candles import OHLCV
from terminal.research import evaluators
from terminal.research.folds import fold_bounds
from terminal.research.methods import MethodKind, OptunaSearch, make_method
from terminal.research.objectives import Objective
from terminal.research.space import IntParam, Space, SweepError
from terminal.research.study import StudyStore, new_study, run_study
from terminal.research.sweep import SweepProgress, Trial, TrialState, evaluate, run_sweep
from terminal.store.candles import CandleStore
from tests.backtest.backtest_scenarios import random_candles

SPACE = Space((IntParam("fast", 3, 30), IntParam("slow", 10, 80, step=2)), ("fast < slow",))
SMALL = Space((IntParam("fast", 4, 12, step=4), IntParam("slow", 20, 40, step=10)))
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(17), 8000)


def test_the_folds_cut_the_candles_into_consecutive_parts() -> None:
    assert fold_bounds(1000, 3) == [(0, 333), (333, 667), (667, 1000)]
    assert fold_bounds(1000, 1) == [(0, 1000)]
    with pytest.raises(SweepError, match="too short"):
        fold_bounds(900, 20)
    with pytest.raises(SweepError, match="from 1 to 20"):
        fold_bounds(100_000, 21)


def test_a_folded_trial_combines_its_folds_each_run_alone(candles: OHLCV) -> None:
    objectives = (Objective.SHARPE, Objective.TOTAL_RETURN)
    result = run_sweep(candles, "sma_cross", SMALL, folds=3, settings=FEES, objectives=objectives, fast=False)
    assert len(result.trials) == SMALL.grid_size()
    for trial in result.trials:
        assert trial.state is not TrialState.FAILED and trial.metrics is not None
        parts = [
            evaluate(candles.slice(a, b), "sma_cross", trial.params, FEES, objectives)
            for a, b in fold_bounds(len(candles), 3)
        ]
        metrics = [p.metrics for p in parts if p.metrics is not None]
        assert trial.metrics.trades == sum(m.trades for m in metrics)
        assert trial.metrics.max_drawdown == min(m.max_drawdown for m in metrics)
        assert trial.metrics.total_return == pytest.approx(math.prod(1 + m.total_return for m in metrics) - 1)
        sharpes = [m.sharpe for m in metrics if not math.isnan(m.sharpe)]
        assert trial.values[0] == pytest.approx(statistics.fmean(sharpes))
        # the value after each fold: the Sharpe averaged over the folds so far
        assert trial.folds == pytest.approx(tuple(statistics.fmean(sharpes[: k + 1]) for k in range(3)))
        assert trial.daily is not None  # the folds' days, one series
        days = (int(candles.ts[-1]) - int(candles.ts[0])) // 86_400_000 + 1
        assert len(trial.daily) in (days, days + 1)

    # the fast path runs each fold in its kernel: the same trials
    fast = run_sweep(candles, "sma_cross", SMALL, folds=3, settings=FEES, objectives=objectives)
    assert fast.path == "fast path"
    assert [(t.params, t.values, t.folds) for t in fast.trials] == [
        (t.params, t.values, t.folds) for t in result.trials
    ]


def counted_folds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many points each fold run computed, in order."""
    runs: list[int] = []
    run = evaluators.Serial.run

    def counting(self: evaluators.Serial, points: Any, cancel: Any) -> Any:
        runs.append(len(points))
        return run(self, points, cancel)

    monkeypatch.setattr(evaluators.Serial, "run", counting)
    return runs


def earlier_median(trials: list[Trial], before: int, step: int) -> float:
    """The median of the earlier complete trials' values after fold ``step + 1``, as
    optuna's median pruner takes it."""
    values = [
        t.folds[step]
        for t in trials
        if t.number < before and t.state is not TrialState.PRUNED and t.repeat_of is None
        and t.state is not TrialState.FAILED and len(t.folds) > step and not math.isnan(t.folds[step])
    ]  # fmt: skip
    return statistics.median(values)


def test_pruning_stops_weak_trials_between_folds_and_says_so(
    candles: OHLCV, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = counted_folds(monkeypatch)
    result = run_sweep(
        candles, "sma_cross", SPACE, method="tpe", budget=40, folds=4, prune=True, settings=FEES, fast=False
    )
    trials = list(result.trials)
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    assert pruned, "no trial was pruned"
    assert f"({len(pruned)} pruned after fewer than 4 folds)" in result.message
    for trial in pruned:
        after = len(trial.folds)
        assert 1 <= after < 4 and trial.reason.startswith(f"pruned after fold {after}: Sharpe")
        assert trial.daily is None  # its returns cover part of the period: left out of PBO
        # the median rule: its best value so far worse than the earlier complete trials' median there
        assert max(trial.folds) < earlier_median(trials, trial.number, after - 1)
    assert min(t.number for t in pruned) >= 5  # optuna waits for five complete trials
    # the folds a pruned trial did not run were not computed
    ran = sum(len(t.folds) for t in trials if t.repeat_of is None)
    assert sum(runs) == ran < 4 * sum(1 for t in trials if t.repeat_of is None)


def test_pruning_is_refused_where_optuna_cannot_prune(candles: OHLCV) -> None:
    with pytest.raises(SweepError, match="TPE or CMA-ES"):
        run_sweep(candles, "sma_cross", SMALL, folds=3, prune=True)
    with pytest.raises(SweepError, match="two folds"):
        run_sweep(candles, "sma_cross", SMALL, method="tpe", budget=5, prune=True)
    with pytest.raises(SweepError, match="TPE or CMA-ES"):
        new_study(
            candles, "sma_cross", SMALL, exchange="binance", symbol="BTC/USDT", timeframe="1m",
            method="nsga2", objectives=("sharpe", "total_return"), budget=10, folds=3, prune=True,
        )  # fmt: skip


def test_a_pruned_study_is_kept_and_resumes_with_the_pruner_told_its_folds(
    candles: OHLCV, tmp_path: Any
) -> None:
    with CandleStore(tmp_path / "history.sqlite") as store:
        studies = StudyStore(store)
        spec = new_study(
            candles, "sma_cross", SPACE, exchange="binance", symbol="BTC/USDT", timeframe="1m", method="tpe",
            budget=60, settings=FEES, folds=4, prune=True,
        )  # fmt: skip
        study_id = studies.create(spec)
        stored = studies.load(study_id).summary.spec
        assert (stored.folds, stored.prune) == (4, True)
        cancel = threading.Event()

        def stop_after(progress: SweepProgress) -> None:
            if progress.done == 40:  # the fast path asks 16 at a time: the third round stopped midway
                cancel.set()

        run_study(studies, study_id, candles, cancel=cancel, progress=stop_after)
        kept = studies.load(study_id).trials
        assert len(kept) == 40 and any(t.state is TrialState.PRUNED for t in kept)
        assert all(1 <= len(t.folds) <= 4 for t in kept if t.state is not TrialState.FAILED)

        # rebuilt from the stored trials, optuna has the pruned ones and every value after each fold
        method = make_method(MethodKind.TPE, SPACE, [Objective.SHARPE.direction],
                             completed=[t.completed() for t in kept], prune=True)  # fmt: skip
        assert isinstance(method, OptunaSearch)
        told = method._study.get_trials(deepcopy=False)
        assert [t.state.name for t in told] == [
            "PRUNED" if t.state is TrialState.PRUNED else "COMPLETE" for t in kept
        ]
        for optuna_trial, trial in zip(told, kept, strict=True):
            assert list(optuna_trial.intermediate_values.values()) == pytest.approx(list(trial.folds))

        result = run_study(studies, study_id, candles)
        after = studies.load(study_id).trials
        assert result.count == len(after) == 60 and [t.number for t in after] == list(range(60))
        assert after[:40] == kept
        # the cache keeps a folded trial's outcome under its folds, never a pruned one's
        again = studies.create(spec)
        rerun = run_study(studies, again, candles)
        complete = {str(t.params) for t in after if t.state is not TrialState.PRUNED}
        assert rerun.cache_hits > 0
        assert all(str(t.params) in complete for t in studies.load(again).trials if t.cached)
