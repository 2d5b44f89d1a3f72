"""Trials scored across folds, and optuna's pruning between the folds.

A sweep with ``folds=K`` cuts its candles into K consecutive parts of (nearly) equal
length, walk-forward's windows without an optimisation in each, and runs every trial
on each part in turn, each part from the initial cash. The trial's metrics combine
its folds (``combine``): the returns compounded, the ratios (Sharpe, Sortino, Calmar,
profit factor, SQN) averaged over the folds that have one, the deepest drawdown, the
trades summed. A setting then has to do well in every period, not in one lucky
stretch; and each fold's run is a single ``run_backtest`` on that part's candles.

With ``prune`` (TPE or CMA-ES, one objective), after each fold but the last the
trial's value so far (its first objective over the folds run) is reported to optuna
as the trial's intermediate value at that fold, and optuna's ``MedianPruner`` stops a
trial whose value so far is worse than the median of the earlier trials' at the same
fold: its other folds are not run, and it is kept as pruned, with the fold it
stopped after and its values so far. (The pruner waits for five complete trials
before it prunes anything.) This is what "optuna's pruning across walk-forward folds"
is here: bad settings are dropped after one or two periods instead of being run on
all of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from terminal.backtest.runner import CancelToken
from terminal.research.methods import MethodKind
from terminal.research.objectives import LightMetrics, Objective
from terminal.research.space import SweepError
from terminal.research.sweep import TrialOutcome
from terminal.research.trial_returns import TrialReturns

#: the most folds a sweep may cut its candles into
MAX_FOLDS = 20
#: the fewest candles a fold may have
MIN_FOLD_BARS = 50
#: the metrics averaged over the folds (NaN folds left out)
_AVERAGED = ("sharpe", "sortino", "calmar", "profit_factor", "sqn")

#: ``report(point, fold, value_so_far)``: True when the trial of that point is to stop there
Report = Callable[[int, int, float], bool]


def fold_bounds(n: int, folds: int) -> list[tuple[int, int]]:
    """``folds`` consecutive (start, end) index ranges covering ``n`` candles, the
    earlier ones a candle shorter when they do not divide evenly."""
    check_folds(n, folds)
    edges = [round(n * k / folds) for k in range(folds + 1)]
    return list(itertools.pairwise(edges))


def check_folds(n: int, folds: int) -> None:
    if not 1 <= folds <= MAX_FOLDS:
        raise SweepError(f"Folds must be from 1 to {MAX_FOLDS}, not {folds}.")
    if folds > 1 and n // folds < MIN_FOLD_BARS:
        raise SweepError(
            f"{n:,} candles make folds of {n // folds:,} candles: too short to judge a setting on.",
            hint=f"Use at most {max(1, n // MIN_FOLD_BARS)} folds, or more candles.",
        )


def check_pruning(kind: MethodKind, objectives: Sequence[Objective], folds: int) -> None:
    if folds < 2:
        raise SweepError("Pruning stops trials between folds: set two folds or more.")
    if kind not in (MethodKind.TPE, MethodKind.CMAES) or len(objectives) != 1:
        raise SweepError(
            "Pruning needs TPE or CMA-ES on one objective.",
            hint="optuna prunes a trial by the median of the others', which two objectives do not have.",
        )


def combine(
    outcomes: Sequence[TrialOutcome], objectives: Sequence[Objective], initial_cash: float
) -> TrialOutcome:
    """One trial's folds as one outcome (see the module's docstring). A failed fold
    fails the trial, with its reason."""
    seconds = sum(o.seconds for o in outcomes)
    for k, outcome in enumerate(outcomes):
        if outcome.metrics is None:
            failed = tuple(math.nan for _ in objectives)
            return TrialOutcome(None, failed, f"fold {k + 1}: {outcome.error}", seconds)
    metrics = [o.metrics for o in outcomes if o.metrics is not None]
    growth = math.prod(1.0 + m.total_return for m in metrics)
    averaged = {name: _mean([getattr(m, name) for m in metrics]) for name in _AVERAGED}
    merged = LightMetrics(
        final_equity=initial_cash * growth,
        total_return=growth - 1.0,
        max_drawdown=min(m.max_drawdown for m in metrics),
        trades=sum(m.trades for m in metrics),
        **averaged,
    )
    values = tuple(float(getattr(merged, o.value)) for o in objectives)
    return TrialOutcome(merged, values, "", seconds, stitch([o.daily for o in outcomes]))


def stitch(parts: Sequence[TrialReturns | None]) -> TrialReturns | None:
    """The folds' daily returns as one series; a day two folds share (one ends and
    the next begins on it) compounds both."""
    kept = [p for p in parts if p is not None and len(p)]
    if len(kept) != len(parts) or not kept:
        return None
    first = min(p.first_day for p in kept)
    last = max(p.first_day + len(p) for p in kept)
    growth = np.ones(last - first)
    for part in kept:
        at = part.first_day - first
        growth[at : at + len(part)] *= 1.0 + part.returns.astype(np.float64)
    return TrialReturns(first, (growth - 1.0).astype(np.float32))


def _mean(values: Sequence[float]) -> float:
    usable = [v for v in values if not math.isnan(v)]
    return math.fsum(usable) / len(usable) if usable else math.nan


class Folded:
    """An evaluator that runs each trial fold by fold, through one evaluator per fold
    (serial, fast path or pool, as a sweep without folds would), stopping a trial
    between folds when ``report`` says so."""

    def __init__(
        self,
        evaluators: Sequence[Any],
        objectives: Sequence[Objective],
        initial_cash: float,
    ) -> None:
        self.evaluators = list(evaluators)
        self.objectives = tuple(objectives)
        self.initial_cash = initial_cash
        self.path = str(self.evaluators[0].path)

    def round_size(self, kind: MethodKind) -> int:
        return int(self.evaluators[0].round_size(kind))

    def run(
        self,
        points: Sequence[Mapping[str, Any]],
        cancel: CancelToken | None,
        report: Report | None = None,
    ) -> list[TrialOutcome | None]:
        folds = len(self.evaluators)
        done: list[list[TrialOutcome]] = [[] for _ in points]
        pruned: set[int] = set()
        alive = list(range(len(points)))
        for k, evaluator in enumerate(self.evaluators):
            if not alive:
                break
            ran = evaluator.run([points[i] for i in alive], cancel)
            going = []
            for i, outcome in zip(alive, ran, strict=True):
                if outcome is None:  # a cancel left it unrun: the trial has no outcome
                    continue
                done[i].append(outcome)
                if outcome.metrics is None:  # failed: its other folds would fail alike
                    continue
                if report is not None and k < folds - 1:
                    so_far = combine(done[i], self.objectives, self.initial_cash)
                    if report(i, k, so_far.values[0]):
                        pruned.add(i)
                        continue
                going.append(i)
            alive = going
        out: list[TrialOutcome | None] = []
        for i, parts in enumerate(done):
            complete = len(parts) == folds or i in pruned or (parts and parts[-1].metrics is None)
            if not parts or not complete:
                out.append(None)
                continue
            merged = combine(parts, self.objectives, self.initial_cash)
            cash = self.initial_cash
            steps = tuple(combine(parts[: j + 1], self.objectives, cash).values[0] for j in range(len(parts)))
            out.append(merged.with_folds(steps, pruned=i in pruned))
        return out


class Windowed(Protocol):
    """A sweep's session that runs trials on a window of its candles (the pool's, a
    cluster's): the candles went to its workers once, for every fold."""

    path: str

    def round_size(self, kind: MethodKind) -> int: ...

    def run_window(
        self,
        points: Sequence[Mapping[str, Any]],
        cancel: CancelToken | None,
        window: tuple[int, int] | None,
    ) -> list[TrialOutcome | None]: ...


class FoldOf:
    """One fold's evaluator in a session that holds the whole candles: its trials on
    the fold's ``window`` (start, end) of them."""

    def __init__(self, session: Windowed, window: tuple[int, int]) -> None:
        self.session = session
        self.window = window
        self.path = session.path

    def round_size(self, kind: MethodKind) -> int:
        return self.session.round_size(kind)

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        return self.session.run_window(points, cancel, self.window)
