"""A parameter sweep: many backtests of one strategy on one set of candles, the
points chosen by a search method, each trial judged by the objectives and
filters.

``run_sweep`` is serial and in-process: it asks the method for a point, runs
the trial with ``evaluate``, tells the method, and stops on the budget, when
the grid is done, when no better trial came for ``early_stop`` trials, or when
the cancel token is set (checked between trials). ``evaluate`` is a pure
function of picklable inputs, so a process pool can run it instead of the
loop: the loop is the one place that asks, tells and keeps the trials.

A trial runs what ``run_backtest`` runs (the strategy's signals, the position
loop) and the light metrics (``terminal.research.objectives``), so its final
equity and metrics are those of a ``run_backtest`` with the same inputs, bit
for bit; opening a trial is ``run_backtest(candles, strategy,
*result.backtest_inputs(trial))``. The indicator arrays are kept for the
sweep's life (``terminal.research.indicator_cache``).

A user's strategy is code the terminal runs only in the strategies' process
(docs/backtesting.md): a sweep of one belongs in that process too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from terminal.backtest import signals as signal_rules
from terminal.backtest.engine import simulate
from terminal.backtest.errors import BacktestError
from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass, strategy_by_name
from terminal.backtest.strategy import Strategy
from terminal.backtest.trades import to_table
from terminal.marketdata.candles import OHLCV
from terminal.research.indicator_cache import indicator_memo
from terminal.research.methods import (
    Completed,
    GridSearch,
    MethodKind,
    OptunaSearch,
    Proposal,
    RandomSearch,
    SearchMethod,
    make_method,
)
from terminal.research.objectives import (
    Direction,
    Filters,
    LightMetrics,
    Objective,
    better,
    dominates,
    judge,
    light_metrics,
    objectives_of,
    pareto_front,
)
from terminal.research.space import Space, SweepError, Value, apply_settings, split_point
from terminal.research.trial_returns import TrialReturns, trial_returns

if TYPE_CHECKING:
    from terminal.research.cluster.connect import Cluster
    from terminal.research.evaluators import Evaluator
    from terminal.research.pool import TrialPool

#: the search methods that can be asked for a round of points before being told of them
_ASKS_AHEAD = (GridSearch, RandomSearch, OptunaSearch)

#: a strategy as a trial names it: a built-in's registry name (picklable as text) or its class
StrategyRef = str | StrategyClass


class TrialState(StrEnum):
    DONE = "done"  # counts: its values compete for the best
    FILTERED = "filtered"  # ran, but a filter refused it or an objective has no value
    FAILED = "failed"  # did not run to the end: the parameters or the strategy raised
    PRUNED = "pruned"  # stopped between folds by optuna's pruner (``terminal.research.folds``)


class StopReason(StrEnum):
    BUDGET = "budget"
    EXHAUSTED = "exhausted"  # the grid is done, or a small space has no untried point
    EARLY_STOP = "early_stop"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TrialOutcome:
    """What ``evaluate`` returns: the light metrics and the objectives' values, or why
    the trial failed (then no metrics and NaN values)."""

    metrics: LightMetrics | None
    values: tuple[float, ...] = ()
    error: str = ""
    seconds: float = 0.0
    daily: TrialReturns | None = None  # the run's daily returns (for PBO), when it ran
    folds: tuple[float, ...] = ()  # a folded trial's first objective after each fold it ran
    pruned: bool = False  # stopped after ``len(folds)`` folds by the pruner

    def with_folds(self, steps: tuple[float, ...], *, pruned: bool) -> TrialOutcome:
        """This combined outcome with its value after each fold; a pruned one without
        daily returns (they cover only the folds it ran: no use for PBO)."""
        return replace(self, folds=steps, pruned=pruned, daily=None if pruned else self.daily)


#: ``cache(points)``: the outcome known for each point (None: compute it), one per point
Cache = Callable[[Sequence[Mapping[str, Any]]], Sequence[TrialOutcome | None]]


@dataclass(frozen=True)
class Trial:
    """One trial of a sweep. ``params`` is the point (the swept parameters only;
    the others keep the values ``SweepResult.base_params`` and the settings give);
    ``values`` has one value per objective (NaN where there is none)."""

    number: int
    params: dict[str, Value]
    values: tuple[float, ...]
    metrics: LightMetrics | None
    state: TrialState
    reason: str = ""
    violation: float = 0.0  # how far a filtered trial missed the filters
    seconds: float = 0.0
    repeat_of: int | None = None  # a point tried before: its outcome, not run again
    daily: TrialReturns | None = field(default=None, repr=False, compare=False)
    cached: bool = False  # its outcome came from the trial cache (``run_sweep(cache=...)``), not a run
    folds: tuple[float, ...] = ()  # with folds: the first objective after each fold it ran

    def completed(self) -> Completed:
        """This trial as a search method is told of it."""
        usable = self.state not in (TrialState.FAILED, TrialState.PRUNED)
        return Completed(
            self.params,
            self.values if usable else None,
            self.violation,
            steps=self.folds,
            pruned=self.state is TrialState.PRUNED,
        )


@dataclass(frozen=True)
class SweepProgress:
    done: int  # trials so far, those of a resumed study included
    total: int | None  # the budget, or the grid's size if smaller; None when unbounded
    best: Trial | None  # by the first objective
    elapsed: float  # seconds in this run


@dataclass(frozen=True)
class SweepResult:
    """How a sweep went. ``trials`` are every trial of the study, or, for a sweep run
    with ``keep_trials=False`` (its trials went to ``on_trial`` and were dropped), only
    the notable ones: the best and the front. ``count`` is always how many there were."""

    trials: tuple[Trial, ...]
    objectives: tuple[Objective, ...]
    stopped: StopReason
    message: str  # "stopped: no better trial in the last 50"
    strategy: StrategyRef
    base_params: dict[str, Any]  # the strategy parameters the points do not set
    settings: BacktestSettings
    seconds: float = 0.0
    memo_hits: int = 0  # indicator arrays served from the sweep's memo
    cache_hits: int = 0  # trials of this run whose outcome the ``cache`` gave (not computed)
    path: str = "serial"  # where the trials ran: "serial", "pool" or "fast path"
    count: int = -1  # trials in the study (those resumed from included); -1: len(trials)
    directions: tuple[Direction, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "directions", tuple(o.direction for o in self.objectives))
        if self.count < 0:
            object.__setattr__(self, "count", len(self.trials))

    @property
    def counted(self) -> list[Trial]:
        return [t for t in self.trials if t.state is TrialState.DONE]

    @property
    def best(self) -> Trial | None:
        """The best counted trial by the first objective (the earliest of equals)."""
        return _best(self.counted, self.objectives[0])

    def pareto_front(self) -> list[Trial]:
        """The counted trials no other counted trial beats in every objective."""
        counted = self.counted
        return [counted[i] for i in pareto_front([t.values for t in counted], self.directions)]

    def backtest_inputs(self, trial: Trial) -> tuple[dict[str, Any], BacktestSettings]:
        """(strategy parameters, settings) that ``run_backtest`` takes to run ``trial`` again."""
        strategy_values, settings_values = split_point(trial.params)
        return {**self.base_params, **strategy_values}, apply_settings(self.settings, settings_values)


def evaluate(
    candles: OHLCV,
    strategy: StrategyRef,
    params: Mapping[str, Any],
    settings: BacktestSettings,
    objectives: Sequence[Objective] = (),
) -> TrialOutcome:
    """One trial: ``strategy`` with ``params`` (strategy parameters by name, backtest
    settings as ``settings.<section>.<field>``) on ``candles``, and the values of
    ``objectives``. Pure, and picklable in every argument and in what it returns. A
    trial whose parameters do not validate, or whose strategy raises, is an outcome
    with the error, not an exception."""
    start = time.perf_counter()
    failed = tuple(math.nan for _ in objectives)
    strategy_values, settings_values = split_point(params)
    try:
        run_settings = apply_settings(settings, settings_values)
        cls = strategy_by_name(strategy) if isinstance(strategy, str) else strategy
        instance = cls.create(strategy_values)
        raw = instance.signals(candles)
        sig = signal_rules.validate(raw, len(candles), f"The strategy {instance.name!r}")
        out = simulate(candles, sig, run_settings)
    except ValidationError as exc:
        return TrialOutcome(None, failed, _validation_text(exc), time.perf_counter() - start)
    except BacktestError as exc:
        return TrialOutcome(None, failed, exc.user_message(), time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001  (a strategy may raise anything: that trial failed, not the sweep)
        return TrialOutcome(None, failed, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
    trades = to_table(out.trades, ts)
    metrics = light_metrics(out.equity, ts, run_settings.initial_cash, trades, out.fees_paid)
    values = tuple(float(getattr(metrics, o.value)) for o in objectives)
    daily = trial_returns(ts, out.equity, run_settings.initial_cash)
    return TrialOutcome(metrics, values, "", time.perf_counter() - start, daily)


def _validation_text(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def run_sweep(
    candles: OHLCV,
    strategy: Strategy[Any] | StrategyClass | str,
    space: Space,
    *,
    method: MethodKind | str | SearchMethod = MethodKind.GRID,
    objectives: Objective | str | Sequence[Objective | str] = Objective.SHARPE,
    filters: Filters | None = None,
    settings: BacktestSettings | None = None,
    budget: int | None = None,
    early_stop: int | None = None,
    seed: int = 0,
    completed: Sequence[Trial] = (),
    cancel: CancelToken | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    memo: bool = True,
    on_trial: Callable[[Trial], None] | None = None,
    cache: Cache | None = None,
    workers: TrialPool | Cluster | None = None,
    fast: bool = True,
    keep_trials: bool = True,
    folds: int = 1,
    prune: bool = False,
) -> SweepResult:
    """Sweep ``strategy`` over ``space`` on ``candles``.

    ``strategy`` is a registry name, a class, or an instance (whose parameters
    are the fixed values of those the space does not vary). ``method`` is a
    kind (grid, random, tpe, cmaes, nsga2) or a ready ``SearchMethod``. ``budget``
    is the most trials the study may have, ``completed`` ones included (a grid
    needs none: it ends when done). ``early_stop=N`` stops when the last N
    trials brought no better one (with two objectives: no trial that joined the
    front). ``completed`` are the trials of the study being resumed: the method
    is rebuilt from them and the new trials are numbered after them.
    ``progress`` is called after each trial, ``cancel.is_set()`` checked before each.
    ``on_trial`` is given each new trial as it completes (a study stores it then);
    ``cache`` is asked for a round's outcomes at once (one per point, each point what
    ``evaluate`` would take as ``params``) before they run: an outcome it gives is not
    computed again.
    ``workers`` is a ``TrialPool``: the trials run in its processes, a round at a time
    (``terminal.research.evaluators``); or a ``Cluster``: they run on its Dask workers
    (``terminal.research.cluster``), never on the fast path; without it, in this thread. Either way the
    SMA cross over fast × slow takes the fast path (one kernel, numba's threads)
    unless ``fast`` is False; ``SweepResult.path`` says which path ran the trials.
    ``keep_trials=False`` streams: each trial goes to ``on_trial`` and is dropped (the
    result keeps the best and the front), so memory stays flat however many trials run;
    what a method that can propose a point again needs to repeat its trial is kept
    without the daily returns.
    ``folds=K`` runs each trial on K consecutive parts of the candles in turn and
    scores it over all of them; ``prune`` (TPE or CMA-ES) lets optuna's median pruner
    stop a weak trial between folds (``terminal.research.folds``)."""
    started = time.perf_counter()
    chosen = objectives_of(objectives)
    directions = [o.direction for o in chosen]
    filters = filters or Filters()
    settings = settings or BacktestSettings()
    ref, base = _strategy_ref(strategy)
    _check_names(ref, space)
    if budget is not None and budget < 1:
        raise SweepError(f"The budget must be one trial or more, not {budget}.")
    if early_stop is not None and early_stop < 1:
        raise SweepError(f"Early stop needs one trial or more, not {early_stop}.")
    from terminal.research import folds as folding  # it imports this module

    folding.check_folds(len(candles), folds)
    if isinstance(method, SearchMethod):
        searcher = method
    else:
        if prune:
            folding.check_pruning(MethodKind(method), chosen, folds)
        searcher = make_method(
            method, space, directions, seed=seed, completed=[t.completed() for t in completed], prune=prune
        )
    if searcher.kind is not MethodKind.GRID and budget is None:
        raise SweepError("Random and Bayesian search need a budget: the most trials to run.")
    grid_total = getattr(searcher, "total", None)
    total = min(x for x in (budget, grid_total) if x is not None) if (budget or grid_total) else None

    trials = list(completed)
    # a grid proposes each point once (and not those of the trials resumed): no repeats to answer
    repeats = not isinstance(searcher, GridSearch)
    seen = {space.key(t.params): t for t in trials if t.repeat_of is None} if repeats else {}
    tracker = _Improvement(chosen)
    for trial in trials:
        tracker.add(trial)
    count, new = len(trials), 0
    if not keep_trials:
        trials = []
    stopped: StopReason | None = None
    hits = cache_hits = pruned = 0
    evaluator, session = _evaluator(candles, ref, space, settings, chosen, workers, fast, folds)
    report = searcher.report if prune and folds > 1 and isinstance(searcher, OptunaSearch) else None
    with indicator_memo(candles) if memo and folds == 1 else nullcontext() as kept, session:
        while stopped is None:
            if budget is not None and count >= budget:
                stopped = StopReason.BUDGET
            elif early_stop is not None and tracker.since_better >= early_stop:
                stopped = StopReason.EARLY_STOP
            elif cancel is not None and cancel.is_set():
                stopped = StopReason.CANCELLED
            else:
                # the methods here take several asks before a tell; another may not
                room = evaluator.round_size(searcher.kind) if isinstance(searcher, _ASKS_AHEAD) else 1
                if budget is not None:
                    room = min(room, budget - count)
                proposals = _ask(searcher, room)
                if not proposals:
                    stopped = StopReason.EXHAUSTED
                    continue
                ran = _run_round(
                    count, proposals, seen, space, ref, base, chosen, filters, cache, evaluator, cancel,
                    repeats=repeats, slim=not keep_trials, report=report,
                )  # fmt: skip
                for proposal, trial in ran:
                    # told and kept in proposal order; past an early stop or a cancel the
                    # serial loop would not have run them, so neither are they kept here
                    if (early_stop is not None and tracker.since_better >= early_stop) or (
                        cancel is not None and cancel.is_set()
                    ):
                        break
                    searcher.tell(proposal, trial.completed())
                    count, new = count + 1, new + 1
                    cache_hits += trial.cached
                    pruned += trial.state is TrialState.PRUNED
                    if keep_trials:
                        trials.append(trial)
                    tracker.add(trial)
                    if on_trial is not None:
                        on_trial(trial)
                    if progress is not None:
                        progress(SweepProgress(count, total, tracker.best, time.perf_counter() - started))
        hits = kept.hits if kept is not None else 0
    if not keep_trials:
        trials = tracker.notable()
    return SweepResult(
        trials=tuple(trials),
        objectives=chosen,
        stopped=stopped,
        message=_stop_message(stopped, count, budget, early_stop)
        + (f" ({pruned:,} pruned after fewer than {folds} folds)" if pruned else ""),
        strategy=ref,
        base_params=base,
        settings=settings,
        seconds=time.perf_counter() - started,
        memo_hits=hits,
        cache_hits=cache_hits,
        path=evaluator.path,
        count=count,
    )


def _evaluator(
    candles: OHLCV,
    ref: StrategyRef,
    space: Space,
    settings: BacktestSettings,
    objectives: Sequence[Objective],
    workers: TrialPool | Cluster | None,
    fast: bool,
    folds: int = 1,
) -> tuple[Evaluator, AbstractContextManager[Any]]:
    """Where this sweep's trials run, and what to hold open while they do: with folds,
    one evaluator per fold, run in turn (in the pool, one session for all of them)."""
    from terminal.research import evaluators  # they import this module
    from terminal.research import folds as folding

    if workers is not None and not isinstance(workers, evaluators.TrialPool):  # a cluster: the job runs there
        from terminal.research.cluster.evaluator import ClusterEvaluator

        on_cluster = ClusterEvaluator(workers, candles, ref, settings, objectives)
        if folds == 1:
            return on_cluster, on_cluster
        windows = [folding.FoldOf(on_cluster, w) for w in folding.fold_bounds(len(candles), folds)]
        return folding.Folded(windows, objectives, settings.initial_cash), on_cluster
    fast_path = evaluators.fast_reason(ref, settings, space.names, fast) is None
    if folds > 1:
        bounds = folding.fold_bounds(len(candles), folds)
        parts: list[Evaluator]
        session: AbstractContextManager[Any] = nullcontext()
        if workers is not None and not fast_path:  # one session: the candles go to the workers once
            pooled = evaluators.Pooled(workers, candles, ref, settings, objectives)
            parts, session = [folding.FoldOf(pooled, window) for window in bounds], pooled
        else:
            parts = [_evaluator(candles.slice(a, b), ref, space, settings, objectives, None, fast)[0]
                     for a, b in bounds]  # fmt: skip
        return folding.Folded(parts, objectives, settings.initial_cash), session

    serial = evaluators.Serial(candles, ref, settings, objectives)
    if fast_path:
        return evaluators.FastPath(serial), nullcontext()
    if workers is None:
        return serial, nullcontext()
    pooled = evaluators.Pooled(workers, candles, ref, settings, objectives)
    return pooled, pooled


def _ask(searcher: SearchMethod, room: int) -> list[Proposal]:
    """Up to ``room`` proposals (fewer when the method runs out)."""
    proposals: list[Proposal] = []
    while len(proposals) < room:
        proposal = searcher.ask()
        if proposal is None:
            break
        proposals.append(proposal)
    return proposals


def _run_round(
    first: int,
    proposals: Sequence[Proposal],
    seen: dict[tuple[Value, ...], Trial],
    space: Space,
    strategy: StrategyRef,
    base: Mapping[str, Any],
    objectives: Sequence[Objective],
    filters: Filters,
    cache: Cache | None,
    evaluator: Evaluator,
    cancel: CancelToken | None,
    *,
    repeats: bool = True,
    slim: bool = False,
    report: Callable[[Proposal, int, float], bool] | None = None,
) -> list[tuple[Proposal, Trial]]:
    """The trials of a round of proposals, numbered from ``first`` in their order. Each
    new point runs once (a point proposed again, here or before, repeats its trial);
    the cache answers first, the evaluator runs the rest together. A point a cancel
    left unrun has no trial. Without ``repeats`` (a grid) no point can come again and
    ``seen`` is left as it is; with ``slim`` it keeps trials without their daily returns.
    ``report`` hears a folded trial's value after each fold (the pruner's question)."""
    todo: dict[tuple[Value, ...], dict[str, Any]] = {}
    for proposal in proposals:
        key = space.key(proposal.params)
        if key not in seen and key not in todo:
            todo[key] = {**base, **proposal.params}
    outcomes: dict[tuple[Value, ...], tuple[TrialOutcome, bool]] = {}
    to_run: list[tuple[tuple[Value, ...], dict[str, Any]]] = []
    hits = cache(list(todo.values())) if cache is not None and todo else [None] * len(todo)
    for (key, params), hit in zip(todo.items(), hits, strict=True):
        if hit is not None:
            outcomes[key] = (hit, True)
        else:
            to_run.append((key, params))
    points = [params for _, params in to_run]
    if not to_run:
        ran: list[TrialOutcome | None] = []
    elif report is not None:
        from terminal.research.folds import Folded  # it imports this module

        assert isinstance(evaluator, Folded), "a trial reports between folds only"
        asker = {space.key(p.params): p for p in reversed(proposals)}  # a point's first proposal
        proposal_of = [asker[key] for key, _ in to_run]
        ran = evaluator.run(points, cancel, lambda i, step, value: report(proposal_of[i], step, value))
    else:
        ran = evaluator.run(points, cancel)
    for (key, _), outcome in zip(to_run, ran, strict=True):
        if outcome is not None:
            outcomes[key] = (outcome, False)
    out: list[tuple[Proposal, Trial]] = []
    for proposal in proposals:
        key = space.key(proposal.params)
        number = first + len(out)
        before = seen.get(key)
        if before is not None:
            trial = replace(
                before,
                number=number,
                params=proposal.params,
                seconds=0.0,
                repeat_of=before.number,
                cached=False,
            )
        elif key in outcomes:
            outcome, cached = outcomes[key]
            trial = _trial_of(number, proposal, outcome, cached, objectives, filters)
            if repeats:
                seen[key] = replace(trial, daily=None) if slim else trial
        else:
            continue  # cancelled before it ran
        out.append((proposal, trial))
    return out


def _trial_of(
    number: int,
    proposal: Proposal,
    outcome: TrialOutcome,
    cached: bool,
    objectives: Sequence[Objective],
    filters: Filters,
) -> Trial:
    if outcome.metrics is None:
        return Trial(
            number,
            proposal.params,
            values=outcome.values,
            metrics=None,
            state=TrialState.FAILED,
            reason=outcome.error,
            seconds=outcome.seconds,
            daily=outcome.daily,
            cached=cached,
        )
    if outcome.pruned:
        after, value = len(outcome.folds), outcome.folds[-1]
        return Trial(
            number,
            proposal.params,
            values=outcome.values,
            metrics=outcome.metrics,
            state=TrialState.PRUNED,
            reason=f"pruned after fold {after}: {objectives[0].label} {value:,.3f} so far, worse than "
            "the median of the earlier trials there",
            seconds=outcome.seconds,
            daily=None,
            cached=cached,
            folds=outcome.folds,
        )
    verdict = judge(outcome.metrics, objectives, filters)
    return Trial(
        number,
        proposal.params,
        values=verdict.values,
        metrics=outcome.metrics,
        state=TrialState.DONE if verdict.counts else TrialState.FILTERED,
        reason=verdict.reason,
        violation=verdict.violation,
        seconds=outcome.seconds,
        daily=outcome.daily,
        cached=cached,
        folds=outcome.folds,
    )


def _strategy_ref(strategy: Strategy[Any] | StrategyClass | str) -> tuple[StrategyRef, dict[str, Any]]:
    """(what a trial names the strategy by, the fixed parameter values)."""
    if isinstance(strategy, Strategy):
        return type(strategy), strategy.params.model_dump()
    if isinstance(strategy, str):
        strategy_by_name(strategy)  # an unknown name fails here, not in every trial
    return strategy, {}


def _check_names(strategy: StrategyRef, space: Space) -> None:
    cls = strategy_by_name(strategy) if isinstance(strategy, str) else strategy
    fields = cls.Params.model_fields
    strategy_names, _ = split_point({name: None for name in space.names})
    for name in strategy_names:
        if name not in fields:
            known = ", ".join(fields) or "none"
            raise SweepError(
                f"The strategy {cls.name!r} has no parameter {name!r}.", hint=f"Its parameters: {known}."
            )


class _Improvement:
    """The best trial so far and how many trials ago it came. With two objectives a
    trial improves when it joins the front (no earlier counted trial is as good in
    both)."""

    def __init__(self, objectives: Sequence[Objective]) -> None:
        self.objectives = objectives
        self.directions = [o.direction for o in objectives]
        self.front: list[Trial] = []
        self.best: Trial | None = None
        self.since_better = 0

    def add(self, trial: Trial) -> None:
        self.since_better += 1
        if trial.state is not TrialState.DONE or trial.repeat_of is not None:
            return
        first = self.objectives[0]
        if self.best is None or better(trial.values[0], self.best.values[0], first.direction):
            self.best = trial
        if len(self.objectives) == 1:
            improved = self.best is trial
        else:
            improved = not any(
                t.values == trial.values or dominates(t.values, trial.values, self.directions)
                for t in self.front
            )
            if improved:
                self.front = [t for t in self.front if not dominates(trial.values, t.values, self.directions)]
                self.front.append(trial)
        if improved:
            self.since_better = 0

    def notable(self) -> list[Trial]:
        """The best trial and the front, in trial order."""
        kept = {t.number: t for t in self.front}
        if self.best is not None:
            kept[self.best.number] = self.best
        return [kept[n] for n in sorted(kept)]


def _best(trials: Sequence[Trial], objective: Objective) -> Trial | None:
    best = None
    for trial in trials:
        if best is None or better(trial.values[0], best.values[0], objective.direction):
            best = trial
    return best


def _stop_message(reason: StopReason, trials: int, budget: int | None, early_stop: int | None) -> str:
    if reason is StopReason.BUDGET:
        return f"stopped: the budget of {budget:,} trials is spent"
    if reason is StopReason.EXHAUSTED:
        return f"stopped: every point was tried ({trials:,} trials)"
    if reason is StopReason.EARLY_STOP:
        return f"stopped: no better trial in the last {early_stop:,}"
    return f"stopped: cancelled after {trials:,} trials"
