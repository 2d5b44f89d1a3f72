"""Walk-forward analysis: optimise on one stretch of history, trade the winner on
the next, and repeat along the candles (docs/research.md, "Walk-forward").

A single sweep picks its best trial knowing the whole history; walk-forward
asks how that choice does on bars it has not seen. The candles are cut into
folds (``Windows.plan``), each an in-sample window followed at once by its
out-of-sample window; the out-of-sample windows are consecutive and never
overlap. Rolling folds slide a fixed in-sample window along; anchored folds
keep its start at the first bar, so it grows.

For each fold ``walk_forward`` runs ``run_sweep`` on the in-sample candles,
takes the best trial (by the first objective) and runs it on the
out-of-sample window (``run_window``). That run may look back at
``warmup`` bars before the window so that the indicators are ready at its
first bar, but it trades only on the window's own signals, starts flat with
the starting cash, and its metrics count only the window's bars: nothing
before the window moves its result, and nothing after the in-sample window
moved the choice.

The results: the fold table, the out-of-sample equity stitched across folds
(each fold's curve scaled to start where the previous one ended), the
walk-forward efficiency (out-of-sample annualised return over in-sample),
and how stable the chosen parameters are from fold to fold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from terminal.backtest import signals as signal_rules
from terminal.backtest.drawdown import drawdown_curve
from terminal.backtest.engine import simulate
from terminal.backtest.errors import BacktestError
from terminal.backtest.metrics import YEAR_MS, bar_spacing_ms
from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass, strategy_by_name
from terminal.backtest.strategy import Strategy
from terminal.backtest.trades import to_table
from terminal.marketdata.candles import OHLCV
from terminal.research.methods import MethodKind
from terminal.research.objectives import Filters, LightMetrics, Objective, light_metrics, objectives_of
from terminal.research.space import BoolParam, ChoiceParam, FloatParam, IntParam, Space, SweepError, Value
from terminal.research.sweep import StopReason, StrategyRef, SweepProgress, SweepResult, Trial, run_sweep

if TYPE_CHECKING:
    from terminal.research.cluster.connect import Cluster
    from terminal.research.pool import TrialPool

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: the fewest bars a window may have (a Sharpe ratio needs two returns)
MIN_BARS = 2
#: a window's length: bars, or a duration turned into bars at the candles' bar length
Length = int | timedelta


class WalkForwardError(SweepError):
    """The walk-forward cannot run as asked: the data is too short for the folds, or
    the windows are given in a way that does not add up."""


# -- folds ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Fold:
    """One fold's windows, as bar positions in the candles (``stop`` excluded). The
    in-sample window ends where the out-of-sample one starts."""

    index: int  # 0-based
    in_start: int
    in_stop: int
    out_start: int
    out_stop: int

    @property
    def in_bars(self) -> int:
        return self.in_stop - self.in_start

    @property
    def out_bars(self) -> int:
        return self.out_stop - self.out_start


@dataclass(frozen=True)
class Windows:
    """How the candles are cut into folds.

    Either by lengths: ``in_sample`` and ``out_of_sample`` (bars, or durations
    as ``timedelta``), giving as many folds as fit, ending at the last bar
    (the bars left over at the start are not used, or join the first anchored
    in-sample window); with ``folds`` as well, the last ``folds`` of them.
    Or by ``folds`` alone: the candles cut into ``ratio`` (in-sample to
    out-of-sample) plus ``folds`` out-of-sample lengths. ``anchored`` keeps
    every in-sample window's start at the first bar; otherwise it rolls."""

    in_sample: Length | None = None
    out_of_sample: Length | None = None
    folds: int | None = None
    ratio: float = 4.0
    anchored: bool = False

    @property
    def kind(self) -> str:
        return "anchored" if self.anchored else "rolling"

    def plan(self, candles: OHLCV) -> tuple[Fold, ...]:
        """The folds over ``candles``, or a ``WalkForwardError`` that says why not."""
        n = len(candles)
        if self.folds is not None and self.folds < 1:
            raise WalkForwardError(f"A walk-forward needs one fold or more, not {self.folds}.")
        if (self.in_sample is None) != (self.out_of_sample is None):
            raise WalkForwardError(
                "Give both the in-sample and the out-of-sample length, or neither and a fold count."
            )
        if self.in_sample is not None and self.out_of_sample is not None:
            bar_ms = bar_spacing_ms(np.asarray(candles.ts, dtype=np.int64))
            in_bars = _bars(self.in_sample, bar_ms, "in-sample", n)
            out_bars = _bars(self.out_of_sample, bar_ms, "out-of-sample", n)
            return self._by_lengths(n, in_bars, out_bars, self.folds)
        if self.folds is None:
            raise WalkForwardError("Give the in-sample and out-of-sample lengths, or a number of folds.")
        if not (math.isfinite(self.ratio) and self.ratio > 0.0):
            raise WalkForwardError(
                f"The in-sample to out-of-sample ratio must be above 0, not {self.ratio}.",
                hint="4 means four bars in-sample for each bar out-of-sample.",
            )
        out_bars = math.floor(n / (self.ratio + self.folds))
        in_bars = math.floor(self.ratio * out_bars)
        if out_bars < MIN_BARS or in_bars < MIN_BARS:
            raise WalkForwardError(
                f"The candles have {n:,} bars: {self.folds} {self.kind} folds at {self.ratio:g} to 1 "
                f"leave {in_bars:,} in-sample and {out_bars:,} out-of-sample bars a fold, and a window "
                f"needs at least {MIN_BARS}.",
                hint="Use fewer folds, or load more history.",
            )
        return self._by_lengths(n, in_bars, out_bars, self.folds)

    def _by_lengths(self, n: int, in_bars: int, out_bars: int, folds: int | None) -> tuple[Fold, ...]:
        fit = (n - in_bars) // out_bars if n >= in_bars else 0
        if fit < 1 or (folds is not None and fit < folds):
            want = folds or 1
            raise WalkForwardError(
                f"The candles have {n:,} bars; {want} {self.kind} fold{'s' if want > 1 else ''} of "
                f"{in_bars:,} in-sample and {out_bars:,} out-of-sample bars need "
                f"{in_bars + want * out_bars:,}.",
                hint="Use fewer or shorter folds, or load more history.",
            )
        count = folds if folds is not None else fit
        first = n - count * out_bars  # the out-of-sample windows end at the last bar
        out: list[Fold] = []
        for i in range(count):
            start = first + i * out_bars
            out.append(Fold(i, 0 if self.anchored else start - in_bars, start, start, start + out_bars))
        return tuple(out)


def _bars(length: Length, bar_ms: int, what: str, n: int) -> int:
    if isinstance(length, timedelta):
        if bar_ms <= 0:
            raise WalkForwardError(f"The candles have {n:,} bars: too few to tell their bar length.")
        bars = round(length.total_seconds() * 1000 / bar_ms)
    else:
        bars = int(length)
    if bars < MIN_BARS:
        raise WalkForwardError(f"The {what} window must have at least {MIN_BARS} bars, not {bars}.")
    return bars


# -- the out-of-sample run -----------------------------------------------------------
@dataclass(frozen=True)
class WindowRun:
    """A run of fixed parameters on one window: its equity per bar of the window
    (starting from the starting cash) and its light metrics over those bars."""

    ts: IntArray
    equity: FloatArray
    metrics: LightMetrics
    warmup: int  # bars before the window the indicators saw


def auto_warmup(params: Mapping[str, Any], settings: BacktestSettings) -> int:
    """Bars an out-of-sample run looks back for the indicators: the largest
    whole-number strategy parameter (every built-in strategy's whole numbers
    are lengths in bars), and the ATR's length when the stops use it."""
    lengths = [int(v) for v in params.values() if isinstance(v, int) and not isinstance(v, bool)]
    if settings.stops.uses_atr:
        lengths.append(settings.stops.atr_period)
    return max([0, *lengths])


def run_window(
    candles: OHLCV,
    strategy: StrategyRef,
    params: Mapping[str, Any],
    settings: BacktestSettings,
    start: int,
    stop: int,
    warmup: int,
) -> WindowRun:
    """``strategy`` with ``params`` on the bars ``start:stop`` of ``candles``.

    The strategy sees up to ``warmup`` bars before ``start`` too (as many as
    there are), but its signals on those bars are dropped: the run starts flat
    with the starting cash and trades from the window's first signal. Equity
    and metrics count the window's bars only. Raises a ``BacktestError`` (or the
    strategy's own exception) when the run cannot be made."""
    lead = max(0, min(warmup, start))
    part = candles.slice(start - lead, stop)
    cls = strategy_by_name(strategy) if isinstance(strategy, str) else strategy
    instance = cls.create(dict(params))
    sig = signal_rules.validate(instance.signals(part), len(part), f"The strategy {instance.name!r}").copy()
    sig[:lead] = signal_rules.HOLD  # flat through the warm-up: nothing before the window trades
    out = simulate(part, sig, settings)
    ts = np.ascontiguousarray(part.ts, dtype=np.int64)
    trades = to_table(out.trades, ts)
    equity = out.equity[lead:]
    window_ts = ts[lead:]
    metrics = light_metrics(equity, window_ts, settings.initial_cash, trades, out.fees_paid)
    return WindowRun(window_ts, equity, metrics, lead)


# -- efficiency and stability --------------------------------------------------------
def annualised(total_return: float, bars: int, bar_ms: int) -> float:
    """``total_return`` over ``bars`` bars of ``bar_ms``, scaled to a year without
    compounding: ``total_return × year / (bars × bar_ms)``. Not
    ``Metrics.annualised_return`` (compound): compounded, a few days' return
    becomes an enormous number a year, and the ratio of two such numbers says
    nothing; scaled, it is the ratio of the two rates per unit of time."""
    if bars <= 0 or bar_ms <= 0 or math.isnan(total_return):
        return math.nan
    return total_return * YEAR_MS / (bars * bar_ms)


def efficiency(in_annualised: float, out_annualised: float) -> float:
    """Walk-forward efficiency: the out-of-sample annualised return over the
    in-sample one. NaN when the in-sample one is not a gain (a ratio to a loss
    or to nothing says nothing)."""
    if math.isnan(in_annualised) or math.isnan(out_annualised) or not in_annualised > 0.0:
        return math.nan
    return out_annualised / in_annualised


@dataclass(frozen=True)
class ParamStability:
    """How one parameter's chosen value moved across the folds that chose one.

    ``spread``: for a number, (largest − smallest chosen) / (high − low of its
    range); for a boolean or a choice, (distinct values chosen − 1) / (values
    it may take − 1). 0: the same value every fold; 1: the whole range.
    ``changes``: folds whose value differs from the fold before; ``change_rate``
    that over the folds that have one before."""

    name: str
    values: tuple[Value, ...]
    spread: float
    changes: int

    @property
    def change_rate(self) -> float:
        return self.changes / (len(self.values) - 1) if len(self.values) > 1 else 0.0


def stability(space: Space, chosen: Sequence[Mapping[str, Value]]) -> tuple[ParamStability, ...]:
    """Each parameter of ``space`` across the points ``chosen`` (one per fold, in order)."""
    out = []
    for p in space.params:
        values = tuple(point[p.name] for point in chosen)
        changes = sum(1 for a, b in pairwise(values) if a != b)
        spread = 0.0
        if values and isinstance(p, IntParam | FloatParam):
            numbers = [float(v) for v in values]
            width = float(p.high) - float(p.low)
            spread = (max(numbers) - min(numbers)) / width if width > 0 else 0.0
        elif values and isinstance(p, BoolParam | ChoiceParam):
            size = p.size
            spread = (len(set(values)) - 1) / (size - 1) if size > 1 else 0.0
        out.append(ParamStability(p.name, values, spread, changes))
    return tuple(out)


# -- the walk-forward ----------------------------------------------------------------
@dataclass(frozen=True)
class FoldResult:
    """One fold: its windows, the sweep on the in-sample window, the trial it chose
    and how that trial did out-of-sample. Without a chosen trial (no trial met the
    filters) or with a failed out-of-sample run, the fold stays flat out-of-sample."""

    fold: Fold
    sweep: SweepResult
    best: Trial | None
    params: dict[str, Value] | None  # the chosen point (the swept parameters)
    in_metrics: LightMetrics | None
    out: WindowRun | None
    in_annualised: float
    out_annualised: float
    efficiency: float
    error: str = ""  # why the fold has no out-of-sample run

    @property
    def in_objective(self) -> float:
        return self.best.values[0] if self.best is not None else math.nan

    @property
    def out_objective(self) -> float:
        return float(getattr(self.out.metrics, self.sweep.objectives[0].value)) if self.out else math.nan

    @property
    def in_return(self) -> float:
        return self.in_metrics.total_return if self.in_metrics is not None else math.nan

    @property
    def out_return(self) -> float:
        return self.out.metrics.total_return if self.out is not None else math.nan

    @property
    def in_trades(self) -> int:
        return self.in_metrics.trades if self.in_metrics is not None else 0

    @property
    def out_trades(self) -> int:
        return self.out.metrics.trades if self.out is not None else 0


@dataclass(frozen=True)
class WalkForwardProgress:
    fold: int  # 1-based: the fold being optimised
    folds: int
    sweep: SweepProgress  # that fold's sweep: trials, total, best so far


@dataclass(frozen=True)
class WalkForwardResult:
    windows: Windows
    folds: tuple[FoldResult, ...]  # the folds done (all, unless cancelled)
    planned: int  # the folds planned
    objectives: tuple[Objective, ...]
    stitched_ts: IntArray  # the out-of-sample bars of the folds done, in order
    stitched_equity: FloatArray  # each fold's equity scaled to go on from the one before
    initial_cash: float
    bar_ms: int
    stability: tuple[ParamStability, ...]
    cancelled: bool
    message: str
    seconds: float = 0.0

    @property
    def total_return(self) -> float:
        """The stitched out-of-sample equity's return over the starting cash."""
        if not len(self.stitched_equity):
            return math.nan
        return float(self.stitched_equity[-1]) / self.initial_cash - 1.0

    @property
    def max_drawdown(self) -> float:
        if not len(self.stitched_equity):
            return 0.0
        return float(drawdown_curve(self.stitched_equity, self.initial_cash).min())

    @property
    def in_annualised(self) -> float:
        """The folds' in-sample returns over their time, a year: ``Σ return / Σ years``
        (a fold without a chosen trial counts as no return)."""
        return self._rate([f.in_return if f.in_metrics is not None else 0.0 for f in self.folds], "in")

    @property
    def out_annualised(self) -> float:
        """The folds' out-of-sample returns over their time, a year (a fold that did
        not trade counts as no return)."""
        return self._rate([f.out_return if f.out is not None else 0.0 for f in self.folds], "out")

    def _rate(self, returns: Sequence[float], side: Literal["in", "out"]) -> float:
        bars = sum(f.fold.in_bars if side == "in" else f.fold.out_bars for f in self.folds)
        return annualised(math.fsum(returns), bars, self.bar_ms)

    @property
    def efficiency(self) -> float:
        """Walk-forward efficiency over all the folds done."""
        return efficiency(self.in_annualised, self.out_annualised)

    @property
    def point_changes(self) -> int:
        """How many times the chosen point changed from one fold (that chose one) to the next."""
        points = [f.params for f in self.folds if f.params is not None]
        return sum(1 for a, b in pairwise(points) if a != b)


def walk_forward(
    candles: OHLCV,
    strategy: Strategy[Any] | StrategyClass | str,
    space: Space,
    windows: Windows,
    *,
    method: MethodKind | str = MethodKind.GRID,
    objectives: Objective | str | Sequence[Objective | str] = Objective.SHARPE,
    filters: Filters | None = None,
    settings: BacktestSettings | None = None,
    budget: int | None = None,
    early_stop: int | None = None,
    seed: int = 0,
    warmup: int | Literal["auto"] = "auto",
    cancel: CancelToken | None = None,
    progress: Callable[[WalkForwardProgress], None] | None = None,
    workers: TrialPool | Cluster | None = None,
    folds: int = 1,
    prune: bool = False,
) -> WalkForwardResult:
    """Walk ``strategy`` forward over ``candles`` in the folds ``windows`` plans.

    Each fold's sweep takes ``method``, ``objectives``, ``filters``, ``budget``,
    ``early_stop`` and ``seed`` as ``run_sweep`` does (the same for every
    fold). ``warmup`` is the bars an out-of-sample run may look back for its
    indicators: a number, or ``"auto"`` (``auto_warmup`` of the chosen
    parameters). ``cancel`` is passed to the sweeps and checked between folds:
    a fold cut short is left out and the folds done are returned.
    ``progress`` is called after every trial with the fold and its sweep's
    progress. ``workers`` (a warm ``TrialPool``) runs each fold's trials in its
    processes, as ``run_sweep``'s does. ``folds`` and ``prune`` go to each in-sample
    sweep: a trial is scored over that many parts of the in-sample window, and a weak
    one may be pruned between them (``terminal.research.folds``)."""
    started = time.perf_counter()
    settings = settings or BacktestSettings()
    chosen_objectives = objectives_of(objectives)
    if warmup != "auto" and warmup < 0:
        raise WalkForwardError(f"The warm-up must be zero bars or more, not {warmup}.")
    plan = windows.plan(candles)
    bar_ms = bar_spacing_ms(np.asarray(candles.ts, dtype=np.int64))
    done: list[FoldResult] = []
    cancelled = False
    for fold in plan:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break

        def report(p: SweepProgress, number: int = fold.index + 1) -> None:
            if progress is not None:
                progress(WalkForwardProgress(number, len(plan), p))

        sweep = run_sweep(
            candles.slice(fold.in_start, fold.in_stop),
            strategy,
            space,
            method=method,
            objectives=chosen_objectives,
            filters=filters,
            settings=settings,
            budget=budget,
            early_stop=early_stop,
            seed=seed,
            cancel=cancel,
            progress=report,
            workers=workers,
            folds=folds,
            prune=prune,
        )
        if sweep.stopped is StopReason.CANCELLED:
            cancelled = True
            break
        done.append(_out_of_sample(candles, fold, sweep, warmup, bar_ms))

    stitched_ts, stitched_equity = _stitch(candles, done, settings.initial_cash)
    chosen = [f.params for f in done if f.params is not None]
    message = (
        f"cancelled after {len(done)} of {len(plan)} folds"
        if cancelled
        else f"{len(plan)} {windows.kind} fold{'s' if len(plan) > 1 else ''}"
    )
    return WalkForwardResult(
        windows=windows,
        folds=tuple(done),
        planned=len(plan),
        objectives=chosen_objectives,
        stitched_ts=stitched_ts,
        stitched_equity=stitched_equity,
        initial_cash=settings.initial_cash,
        bar_ms=bar_ms,
        stability=stability(space, chosen),
        cancelled=cancelled,
        message=message,
        seconds=time.perf_counter() - started,
    )


def _out_of_sample(
    candles: OHLCV, fold: Fold, sweep: SweepResult, warmup: int | Literal["auto"], bar_ms: int
) -> FoldResult:
    best = sweep.best
    if best is None or best.metrics is None:
        return FoldResult(
            fold, sweep, None, None, None, None, math.nan, math.nan, math.nan, "no trial met the filters"
        )
    in_annualised = annualised(best.metrics.total_return, fold.in_bars, bar_ms)
    params, trial_settings = sweep.backtest_inputs(best)
    lookback = auto_warmup(params, trial_settings) if warmup == "auto" else warmup
    try:
        run = run_window(
            candles, sweep.strategy, params, trial_settings, fold.out_start, fold.out_stop, lookback
        )
    except BacktestError as exc:
        error = exc.user_message()
    except Exception as exc:  # noqa: BLE001  (a strategy may raise anything: that fold failed, not the walk)
        error = f"{type(exc).__name__}: {exc}"
    else:
        out_annualised = annualised(run.metrics.total_return, fold.out_bars, bar_ms)
        return FoldResult(
            fold,
            sweep,
            best,
            best.params,
            best.metrics,
            run,
            in_annualised,
            out_annualised,
            efficiency(in_annualised, out_annualised),
        )
    return FoldResult(
        fold, sweep, best, best.params, best.metrics, None, in_annualised, math.nan, math.nan, error
    )


def _stitch(candles: OHLCV, folds: Sequence[FoldResult], initial: float) -> tuple[IntArray, FloatArray]:
    """The folds' out-of-sample equity end to end: each curve scaled by the equity
    the one before ended at over the starting cash (a fold without a run stays
    flat)."""
    if not folds:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    first, last = folds[0].fold.out_start, folds[-1].fold.out_stop
    ts = np.ascontiguousarray(candles.ts[first:last], dtype=np.int64)
    equity = np.empty(last - first)
    level = initial
    for f in folds:
        part = equity[f.fold.out_start - first : f.fold.out_stop - first]
        if f.out is None:
            part[:] = level
        else:
            part[:] = f.out.equity * (level / initial)
        level = float(part[-1])
    return ts, equity
