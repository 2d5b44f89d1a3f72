"""The backtest panel's Monte Carlo tab, driven as a user drives it in a real window
on the simulated market: after a run, Run with a seed draws the fan and the
drawdown histogram, and every number on screen is what ``terminal.research.montecarlo``
gives for the run's trades with that seed; reshuffling ends every path at the run's
own final equity; a run without trades says why and draws nothing.

Async tests on the one qasync loop (see conftest): waits are ``t.until``."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.research import montecarlo as mc
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.montecarlo_view import MonteCarloView
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.backtest.panel import BacktestPanel
from tests.ui.backtest.test_backtest_panel import candles_between, run_and_wait, terminal_with_panel
from tests.ui.harness import Launch, Terminal

PATHS = 2_000
SEED = 7


def set_text(field: NumberEdit, text: str) -> None:
    field.lineEdit().selectAll()
    field.lineEdit().insert(text)


async def simulate(t: Terminal, panel: BacktestPanel, method: str) -> MonteCarloView:
    """Choose ``method`` with the test's paths and seed, press Run, wait for the answer."""
    view = panel.montecarlo
    panel.tabs.setCurrentWidget(view)
    set_text(view.paths, str(PATHS))
    set_text(view.seed, str(SEED))
    view.method.setCurrentIndex(view.method.findData(method))
    view.outcome = None
    view.run_button.click()
    await t.until(lambda: view.outcome is not None and not panel.busy, f"the {method} simulation", 30)
    return view


def pct(x: float) -> str:
    return f"{x:.1%}"


async def test_a_seeded_reshuffle_shows_the_fan_histogram_and_the_modules_numbers(
    launch: Launch, history: HistoryFile
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        assert not panel.montecarlo.run_button.isEnabled()  # nothing to simulate yet
        await run_and_wait(t, panel)
        assert panel.shown is not None
        result = panel.shown.result
        trades, initial = result.trades, result.settings.initial_cash
        assert len(trades) > 10 and len(result.open_trade) == 0

        view = await simulate(t, panel, "reshuffle")
        outcome = view.outcome
        assert outcome is not None
        steps = mc.TradeSteps.of(trades, initial)
        direct = mc.reshuffle(steps, PATHS, seed=SEED)
        np.testing.assert_array_equal(outcome.simulation.max_drawdown, direct.max_drawdown)
        np.testing.assert_array_equal(outcome.simulation.min_equity, direct.min_equity)
        # the order does not change the total: every path ends at the run's own equity
        np.testing.assert_allclose(outcome.simulation.final_equity, result.equity[-1], rtol=1e-9)

        # the fan drawn: five percentile curves over trade number, the run's own path on it
        fan = direct.fan()
        for curve, expected in zip(view.plots.fan_curves, fan.equity, strict=True):
            x, y = curve.getData()
            np.testing.assert_array_equal(x, fan.trades)
            np.testing.assert_array_equal(y, expected)
        x, y = view.plots.run_curve.getData()
        assert len(x) == len(trades) + 1 and y[0] == initial
        assert y[-1] == pytest.approx(result.equity[-1], rel=1e-9)
        _, top = view.plots.fan_curves[-1].getData()
        _, bottom = view.plots.fan_curves[0].getData()
        assert top[-1] == pytest.approx(bottom[-1], rel=1e-9)  # the fan closes at the end

        # the drawdown histogram: every path counted once, the run's own drawdown marked
        assert view.plots.drawn and int(view.plots.counts.sum()) == PATHS
        own = initial + np.concatenate(([0.0], np.cumsum(trades["pnl"])))
        run_drawdown = float((own / np.maximum.accumulate(own) - 1.0).min())
        assert view.plots.run_line.value() == pytest.approx(run_drawdown * 100.0)
        assert view.plots.run_line.isVisible()

        # the words: the module's probabilities and percentiles, and the baseline
        words = view.words.text()
        assert f"A drawdown of 20% or deeper on {pct(direct.prob_drawdown_beyond(0.20))} of paths" in words
        assert f"this run's own, after each trade, was {pct(-run_drawdown)}" in words
        ruin = direct.prob_ruin(initial * 0.5)
        assert f"{pct(ruin)} of paths; a loss on {pct(direct.prob_loss())}" in words
        candles = candles_between(t, int(result.ts[0]), int(result.ts[-1]))
        baseline = mc.random_entry_baseline(
            trades,
            candles.open,
            fee_rate=result.settings.costs.taker_fee,
            slippage_bps=result.settings.costs.slippage_bps,
            paths=PATHS,
            seed=SEED,
        )
        assert outcome.baseline is not None
        np.testing.assert_array_equal(outcome.baseline.returns, baseline.returns)
        assert baseline.sentence() in words

        t.window.set_theme("light")  # the tab follows the theme without a hitch
        t.window.set_theme("dark")


async def test_block_bootstrap_and_resampling_follow_the_method_chosen(
    launch: Launch, history: HistoryFile
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        await run_and_wait(t, panel)
        assert panel.shown is not None
        result = panel.shown.result
        steps = mc.TradeSteps.of(result.trades, result.settings.initial_cash)

        view = await simulate(t, panel, "blocks")
        assert view.outcome is not None
        blocks = mc.block_resample(steps, PATHS, seed=SEED)
        assert view.outcome.simulation.method == blocks.method
        np.testing.assert_array_equal(view.outcome.simulation.final_equity, blocks.final_equity)
        returns = np.percentile(blocks.total_return(), mc.PERCENTILES)
        median = f"{returns[2]:+.1%}".replace("-", "−")
        assert f"50%: {median}" in view.words.text()

        view = await simulate(t, panel, "resample")
        assert view.outcome is not None
        drawn = mc.resample(steps, PATHS, seed=SEED)
        np.testing.assert_array_equal(view.outcome.simulation.final_equity, drawn.final_equity)
        assert np.ptp(drawn.final_equity) > 0  # unlike reshuffling, the totals spread


async def test_a_run_without_trades_says_why_and_draws_nothing(launch: Launch, history: HistoryFile) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        form = panel.strategy.form
        assert form is not None
        fast, slow = form.fields["fast"], form.fields["slow"]
        assert isinstance(fast, NumberEdit) and isinstance(slow, NumberEdit)
        set_text(slow, "200")
        set_text(fast, "100")
        chart = panel.chart_candles()
        assert chart is not None
        panel.data.set_range(chart.last_ms - 100 * 60_000, chart.last_ms)  # 100 bars: no slow average
        await run_and_wait(t, panel)
        assert panel.shown is not None and len(panel.shown.result.trades) == 0

        view = panel.montecarlo
        panel.tabs.setCurrentWidget(view)
        view.run_button.click()
        await t.until(lambda: "no closed trades" in view.status.text() and not panel.busy, "the refusal")
        assert view.status.text() == "The run has no closed trades to simulate."
        assert view.outcome is None and not view.plots.drawn and view.words.text() == ""


async def test_with_a_dask_cluster_chosen_the_simulation_runs_there_with_the_same_paths(
    launch: Launch, history: HistoryFile
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        await run_and_wait(t, panel)
        assert panel.shown is not None
        here = await simulate(t, panel, "blocks")
        assert here.outcome is not None and " on " not in here.status.text()
        local = here.outcome

        box = panel.research.compute  # Run on, in the Research tab: a local Dask cluster
        box.where.setCurrentIndex(box.where.findData("dask-local"))
        there = await simulate(t, panel, "blocks")
        assert there.outcome is not None
        assert "on a local Dask cluster" in there.status.text()
        np.testing.assert_array_equal(there.outcome.simulation.max_drawdown, local.simulation.max_drawdown)
        np.testing.assert_array_equal(there.outcome.simulation.final_equity, local.simulation.final_equity)
        assert there.outcome.baseline is not None and local.baseline is not None
        np.testing.assert_array_equal(there.outcome.baseline.returns, local.baseline.returns)
