"""What the backtest panel's Monte Carlo tab computes, apart from the widgets that
show it: the user's choice, one call into ``terminal.research.montecarlo`` per
statistic, and the plain words said about the answer.

Qt-free, and run whole in a worker thread (``simulate``): 10,000 paths of a few
thousand trades take about half a second, too long for the GUI thread. With a
research cluster chosen it runs there as one task (``simulate_on``). The seed
goes to each simulation as the number it is, so calling the module's functions
with the same seed gives the same numbers (the tests do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.result import BacktestResult
from terminal.backtest.settings import BacktestSettings, SizingMode
from terminal.research import montecarlo as mc

if TYPE_CHECKING:
    from terminal.research.cluster.connect import Cluster

FloatArray = NDArray[np.float64]

#: the methods offered, by key, with the words the tab shows for them
METHODS: dict[str, str] = {
    "reshuffle": "Reshuffle trades",
    "resample": "Resample with replacement",
    "blocks": "Block bootstrap",
}
#: the run's open prices for the random-entry baseline, read in the worker thread
#: (None: the run's candles are neither on the chart nor stored any more)
OpensSource = Callable[[], FloatArray | None]
NO_CANDLES = (
    "The random-entry baseline needs this run's candles; they are neither on the chart nor stored any more."
)


@dataclass(frozen=True)
class MonteCarloChoice:
    """What the user asked for. ``drawdown`` and ``ruin`` are fractions: a drawdown
    of 0.2 is 20% below a peak; ruin at 0.5 is equity down to half the starting cash."""

    paths: int = 10_000
    method: str = "reshuffle"
    drawdown: float = 0.20
    ruin: float = 0.50
    seed: int | None = None


@dataclass(frozen=True, eq=False)
class MonteCarloOutcome:
    choice: MonteCarloChoice
    simulation: mc.Simulation
    fan: mc.Fan
    run_equity: FloatArray  # the run's own equity after 0, 1, ..., n trades
    run_drawdown: float  # the run's own deepest drawdown measured the same way (per trade, <= 0)
    bar_drawdown: float  # the run's own per bar (its metrics), which can be deeper
    ruin_level: float  # quote currency
    baseline: mc.Baseline | None
    baseline_note: str  # why there is no baseline ("" when there is one)

    def words(self) -> list[str]:
        """The answer in plain words, a sentence a line."""
        c, s = self.choice, self.simulation
        start = s.initial
        model = "compounded (a share of equity per trade)" if s.model == "compound" else "the same stake"
        beyond = _share(s.prob_drawdown_beyond(c.drawdown))
        lines = [
            f"{s.paths:,} paths, {_method_words(s.method)}, {model}.",
            f"A drawdown of {c.drawdown * 100:g}% or deeper on {beyond} of paths; "
            f"this run's own, after each trade, was {_pct(-self.run_drawdown)} "
            f"({_pct(-self.bar_drawdown)} bar by bar).",
            f"Ruin (equity down to {self.ruin_level:,.2f}, {c.ruin * 100:g}% of the start) on "
            f"{_share(s.prob_ruin(self.ruin_level))} of paths; a loss on {_share(s.prob_loss())}.",
        ]
        returns = np.percentile(s.total_return(), mc.PERCENTILES)
        spread = ", ".join(f"{p:g}%: {_signed(r)}" for p, r in zip(mc.PERCENTILES, returns, strict=True))
        lines.append(f"Final return at the percentiles {spread}.")
        if s.method == "reshuffle":
            final = float(self.run_equity[-1]) / start - 1.0
            lines.append(
                f"Every reshuffled path ends at the run's own {_signed(final)}: the order changes "
                "the way there, not the total."
            )
        lines.append(self.baseline.sentence() if self.baseline is not None else self.baseline_note)
        return lines


def model_for(settings: BacktestSettings) -> mc.Model:
    """Compounded for sizing by a share of equity (fraction, risk); fixed for a quote amount."""
    return "fixed" if settings.sizing.mode is SizingMode.QUOTE else "compound"


def simulate(result: BacktestResult, choice: MonteCarloChoice, opens: OpensSource) -> MonteCarloOutcome:
    """In a worker thread: the simulation chosen, its fan, and the random-entry
    baseline (when the run's candles are at hand). Raises
    ``mc.InsufficientDataError`` with the module's message for a run without trades."""
    settings = result.settings
    steps = mc.TradeSteps.of(result.trades, settings.initial_cash)
    model = model_for(settings)
    if choice.method == "resample":
        simulation = mc.resample(steps, choice.paths, model=model, seed=choice.seed)
    elif choice.method == "blocks":
        simulation = mc.block_resample(steps, choice.paths, model=model, seed=choice.seed)
    else:
        simulation = mc.reshuffle(steps, choice.paths, model=model, seed=choice.seed)
    own = steps.initial + np.concatenate(([0.0], np.cumsum(steps.pnl)))
    peak = np.maximum.accumulate(own)
    baseline: mc.Baseline | None = None
    note = ""
    prices = opens()
    if prices is None:
        note = NO_CANDLES
    else:
        try:
            baseline = mc.random_entry_baseline(
                result.trades,
                prices,
                fee_rate=settings.costs.taker_fee,
                slippage_bps=settings.costs.slippage_bps,
                paths=choice.paths,
                seed=choice.seed,
            )
        except mc.InsufficientDataError as exc:
            note = f"No random-entry baseline: {exc.user_message()}"
    return MonteCarloOutcome(
        choice,
        simulation,
        simulation.fan(),
        own,
        float((own / peak - 1.0).min()),
        float(result.metrics.max_drawdown),
        settings.initial_cash * choice.ruin,
        baseline,
        note,
    )


def simulate_on(
    cluster: Cluster | None, result: BacktestResult, choice: MonteCarloChoice, opens: OpensSource
) -> MonteCarloOutcome:
    """``simulate``, here (``cluster`` None) or as one task on the research cluster the
    user chose: the same seed gives the same paths on either. The run's open prices are
    read here (they come from this machine's chart or history file) and travel with it."""
    if cluster is None:
        return simulate(result, choice, opens)
    prices = opens()
    future = cluster.client.submit(simulate, result, choice, partial(_given, prices), pure=False)
    outcome: MonteCarloOutcome = future.result()
    return outcome


def _given(prices: FloatArray | None) -> FloatArray | None:
    return prices


def _method_words(method: str) -> str:
    if method == "reshuffle":
        return "the trades reshuffled"
    if method == "resample":
        return "trades resampled with replacement"
    length = method.rsplit(" ", 1)[-1]  # "stationary blocks of 7"
    return f"runs of consecutive trades resampled (a block bootstrap, {length} trades a run on average)"


def _share(p: float) -> str:
    return f"{p:.1%}"


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _signed(x: float) -> str:
    return f"{x:+.1%}".replace("-", "−")
