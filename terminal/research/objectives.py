"""What a sweep optimises and what it refuses: objectives, filters, and the light
metrics a trial computes for them.

A trial does not compute every metric of ``terminal.backtest.metrics``: the
drawdown episodes and the tail quantiles cost more than the rest together and
no objective or filter needs them. ``light_metrics`` computes the ones that
are needed with the same definitions and the same numpy operations in the
same order, so each equals ``compute_metrics``'s value for the same run bit
for bit (tests/research/test_objectives.py holds them equal). Full metrics
are for the trials the user opens, through ``run_backtest``.

Every objective is maximised. A trial that misses a filter, or whose
objective has no value (a Sharpe ratio of a flat equity, a profit factor
without trades), is kept as *filtered* with the reason, and is never the best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.drawdown import drawdown_curve
from terminal.backtest.metrics import (
    YEAR_MS,
    _growth,  # the metric's own definitions, so that the values are the same by construction
    _ratio,
    bar_returns,
    bar_spacing_ms,
    trade_metrics,
)
from terminal.backtest.trades import TradeTable
from terminal.research.space import SweepError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class Direction(StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class Objective(StrEnum):
    """A metric a sweep optimises; its value is the metric of the same name."""

    SHARPE = "sharpe"
    SORTINO = "sortino"
    CALMAR = "calmar"
    TOTAL_RETURN = "total_return"
    PROFIT_FACTOR = "profit_factor"
    SQN = "sqn"

    @property
    def direction(self) -> Direction:
        return Direction.MAXIMIZE  # each is "more is better"; the type leaves room for a minimised one

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Objective.SHARPE: "Sharpe ratio",
    Objective.SORTINO: "Sortino ratio",
    Objective.CALMAR: "Calmar ratio",
    Objective.TOTAL_RETURN: "total return",
    Objective.PROFIT_FACTOR: "profit factor",
    Objective.SQN: "SQN",
}


def objectives_of(chosen: Objective | str | Sequence[Objective | str]) -> tuple[Objective, ...]:
    """One or two different objectives, by value or name."""
    items = [chosen] if isinstance(chosen, str) else list(chosen)
    try:
        found = tuple(Objective(item) for item in items)
    except ValueError:
        names = ", ".join(o.value for o in Objective)
        raise SweepError(f"Unknown objective in {items!r}.", hint=f"Objectives: {names}.") from None
    if not 1 <= len(found) <= 2 or len(set(found)) != len(found):
        raise SweepError("A sweep optimises one objective or two different ones.")
    return found


@dataclass(frozen=True)
class LightMetrics:
    """The metrics a trial keeps: what objectives and filters need, and the headline
    figures of a trial table. Each equals the ``Metrics`` field of the same name."""

    final_equity: float
    total_return: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    trades: int
    profit_factor: float
    sqn: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def light_metrics(
    equity: FloatArray, ts: IntArray, initial: float, trades: TradeTable, fees_paid: float
) -> LightMetrics:
    """The light metrics of a run, computed as ``terminal.backtest.metrics`` computes
    the full ones (``equity_metrics`` less the drawdown episodes, VaR and CVaR)."""
    n = len(equity)
    bar_ms = bar_spacing_ms(ts)
    ppy = YEAR_MS / bar_ms if bar_ms > 0 else math.nan
    final = float(equity[-1]) if n else initial
    r = bar_returns(equity, initial)
    mean = float(r.mean()) if n else math.nan
    std = float(r.std(ddof=1)) if n > 1 else math.nan
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2))) if n else math.nan
    elapsed = float(ts[-1] - ts[0] + bar_ms) if n else 0.0
    cagr = _growth(final, initial, YEAR_MS / elapsed) if elapsed > 0 else math.nan
    max_dd = float(drawdown_curve(equity, initial).min()) if n else 0.0
    sqrt_ppy = math.sqrt(ppy) if math.isfinite(ppy) else math.nan
    per_trade = trade_metrics(trades, fees_paid)
    return LightMetrics(
        final_equity=final,
        total_return=final / initial - 1.0,
        sharpe=_ratio(mean, std) * sqrt_ppy,
        sortino=_ratio(mean, downside) * sqrt_ppy,
        calmar=_ratio(cagr, -max_dd) if max_dd < 0.0 else math.nan,
        max_drawdown=max_dd,
        trades=int(per_trade["trades"]),
        profit_factor=float(per_trade["profit_factor"]),
        sqn=float(per_trade["sqn"]),
    )


@dataclass(frozen=True)
class Filters:
    """Trials a user does not want, whatever their objective: fewer than
    ``min_trades`` closed trades, or a drawdown deeper than ``max_drawdown``
    (a fraction: 0.25 refuses a trial that fell more than 25% below a peak)."""

    min_trades: int = 0
    max_drawdown: float | None = None

    def __post_init__(self) -> None:
        if self.min_trades < 0:
            raise SweepError(f"The minimum number of trades cannot be negative ({self.min_trades}).")
        if self.max_drawdown is not None and not 0.0 < self.max_drawdown <= 1.0:
            raise SweepError(
                f"The maximum drawdown is a fraction above 0 and at most 1, not {self.max_drawdown}.",
                hint="0.25 refuses a trial that fell more than 25% below a peak.",
            )

    def check(self, metrics: LightMetrics) -> tuple[str, float]:
        """(why the trial is refused, or "" if not; by how much, 0 if not). The amount is
        relative to each limit, so that a search can tell a near miss from a far one."""
        reasons: list[str] = []
        violation = 0.0
        if metrics.trades < self.min_trades:
            reasons.append(f"{metrics.trades} trades, fewer than the minimum of {self.min_trades}")
            violation += (self.min_trades - metrics.trades) / self.min_trades
        if self.max_drawdown is not None and -metrics.max_drawdown > self.max_drawdown:
            reasons.append(
                f"a drawdown of {-metrics.max_drawdown:.1%}, deeper than the maximum of "
                f"{self.max_drawdown:.1%}"
            )
            violation += (-metrics.max_drawdown - self.max_drawdown) / self.max_drawdown
        return "; ".join(reasons), violation


@dataclass(frozen=True)
class Verdict:
    """What the objectives and filters make of a trial's metrics."""

    values: tuple[float, ...]  # one per objective (NaN where the metric has no value)
    reason: str  # "" when the trial counts; else why it is filtered
    violation: float  # how far it missed the filters (0 when it met them)

    @property
    def counts(self) -> bool:
        return not self.reason


def judge(metrics: LightMetrics, objectives: Sequence[Objective], filters: Filters) -> Verdict:
    values = tuple(float(getattr(metrics, o.value)) for o in objectives)
    reason, violation = filters.check(metrics)
    reasons = [reason] if reason else []
    for objective, value in zip(objectives, values, strict=True):
        if math.isnan(value):
            reasons.append(f"the {objective.label} has no value for this run (no trades, or a flat equity)")
    return Verdict(values, "; ".join(reasons), violation)


# -- comparing trials ----------------------------------------------------------------
def better(a: float, b: float, direction: Direction) -> bool:
    """``a`` strictly better than ``b``."""
    return a > b if direction is Direction.MAXIMIZE else a < b


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[Direction]) -> bool:
    """``a`` at least as good as ``b`` in every objective and better in one."""
    at_least = all(not better(y, x, d) for x, y, d in zip(a, b, directions, strict=True))
    return at_least and any(better(x, y, d) for x, y, d in zip(a, b, directions, strict=True))


def pareto_front(values: Sequence[Sequence[float]], directions: Sequence[Direction]) -> list[int]:
    """Indices of the points no other point dominates, in their order (vectorized per
    point: a front of thousands of trials stays fast)."""
    if not len(values):
        return []
    sign = np.array([1.0 if d is Direction.MAXIMIZE else -1.0 for d in directions])
    pts = np.asarray(values, dtype=np.float64).reshape(len(values), len(directions)) * sign
    front = []
    for i, a in enumerate(pts):
        beaten = np.all(pts >= a, axis=1) & np.any(pts > a, axis=1)
        if not beaten.any():
            front.append(i)
    return front
