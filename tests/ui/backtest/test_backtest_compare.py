"""The Compare tab's answer to "is the difference real?", driven as a user drives it
in a real window on the simulated market with stored candles: two saved runs
compared show the paired bootstrap of their daily returns in plain words, every
figure what ``terminal.research.compare`` gives for their equity curves with the
tab's seed; a run against its own twin has no difference (p = 1, correlation 1);
with three runs each is compared with the first; runs with no common days say so
and show no figures.

Async tests on the one qasync loop (see conftest): waits are ``t.until``."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from terminal.backtest.result import BacktestResult
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS
from terminal.research import compare as rc
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.compare import RESAMPLES, SEED, Pair
from terminal.ui.backtest.panel import BacktestPanel
from tests.ui.backtest.test_backtest_panel import STORED, run_and_wait, terminal_with_panel
from tests.ui.harness import Launch, Terminal

DAY_MS = rc.DAY_MS
DAYS = 20


async def store_days(history: HistoryFile) -> int:
    """``DAYS`` whole UTC days of 1m candles stored as ``STORED``; the first day's start (ms)."""
    store = await asyncio.to_thread(history.get)
    assert store is not None
    end = (int(time.time() * 1000) // DAY_MS - 30) * DAY_MS
    candles = generate_history(INSTRUMENTS[0], end, DAYS * 1440, np.random.default_rng(11))
    await asyncio.to_thread(store.write, STORED.exchange, STORED.symbol, STORED.timeframe, candles)
    return end - DAYS * DAY_MS


async def run(t: Terminal, panel: BacktestPanel, fast: int, slow: int) -> BacktestResult:
    """SMA cross (fast, slow) on the candles chosen (the stored ones unless the test chose a range)."""
    if panel.data.key() != STORED:
        assert panel.data.select(STORED)
    form = panel.strategy.form
    assert form is not None
    form.set_values({"fast": fast, "slow": slow})
    await run_and_wait(t, panel)
    assert panel.shown is not None and panel.shown.summary.id
    return panel.shown.result


async def compare_all(t: Terminal, panel: BacktestPanel) -> list[Pair]:
    """Select every saved run, press Compare, wait for the answer under the table."""
    panel.tabs.setCurrentWidget(panel.runs)
    panel.runs.select([r.id for r in panel.runs.model.runs])
    panel.runs.buttons["compare"].click()
    assert panel.tabs.currentWidget() is panel.compare
    view = panel.compare
    await t.until(lambda: view.pairs is not None and not panel.busy, "the comparison", timeout=30)
    assert view.pairs is not None
    return view.pairs


def daily(result: BacktestResult) -> rc.DailyReturns:
    return rc.daily_returns(result.ts, result.equity, result.settings.initial_cash)


async def test_two_runs_compared_show_the_modules_bootstrap_in_plain_words(
    launch: Launch, history: HistoryFile
) -> None:
    await store_days(history)
    async with terminal_with_panel(launch, history) as (t, panel):
        older = await run(t, panel, 10, 30)
        newer = await run(t, panel, 60, 240)
        ids = [r.id for r in panel.runs.model.runs]  # newest first, as the table's columns
        pairs = await compare_all(t, panel)

        assert panel.compare.model.columnCount() == 3  # the metrics side by side, still
        # the first column's run (the newer) against the other, the module called directly
        direct = rc.compare(daily(newer), daily(older), resamples=RESAMPLES, seed=SEED)
        assert len(pairs) == 1
        got = pairs[0].comparison
        assert got is not None
        assert got == direct  # every figure, bit for bit: the tab's seed makes them repeatable
        assert direct.days == DAYS and not math.isnan(direct.correlation)
        words = panel.compare.words.text()
        assert direct.sentence((f"run #{ids[0]}", f"run #{ids[1]}")) in words
        assert words.startswith("A paired bootstrap of the runs' daily returns")
        assert f"Over {DAYS:,} common days, run #{ids[0]} made {direct.mean.difference:+.3%} a day" in words
        assert f"correlated {direct.correlation:.2f}" in words
        # the answer to "is the difference real?", with the Sharpe difference a year and its p-value
        sharpe = direct.sharpe.difference * math.sqrt(rc.DAYS_PER_YEAR)
        mean = f"in mean daily return ({direct.mean.difference:+.3%} a day)"
        assert f"Is the difference real? The difference {mean}" in words
        assert f"in Sharpe ({sharpe:+.2f} a year)" in words
        verdict = "within what chance gives" if direct.sharpe.p_value >= 0.05 else "larger than chance"
        assert f"in Sharpe ({sharpe:+.2f} a year) is {verdict}" in words

        # Compare again: the same words (seeded), and the theme changes without a hitch
        again = await compare_all(t, panel)
        assert again[0].comparison == direct and panel.compare.words.text() == words
        t.window.set_theme("light")
        assert panel.compare.words.text() == words
        t.window.set_theme("dark")


async def test_a_run_against_its_twin_has_no_difference_and_a_third_is_compared_with_the_first(
    launch: Launch, history: HistoryFile
) -> None:
    await store_days(history)
    async with terminal_with_panel(launch, history) as (t, panel):
        first = await run(t, panel, 10, 30)
        other = await run(t, panel, 60, 240)
        twin = await run(t, panel, 10, 30)
        np.testing.assert_array_equal(twin.equity, first.equity)
        newest, middle, oldest = (r.id for r in panel.runs.model.runs)
        pairs = await compare_all(t, panel)

        # each against the first column's run (the twin, the newest)
        assert [(p.a, p.b) for p in pairs] == [
            (f"run #{newest}", f"run #{middle}"),
            (f"run #{newest}", f"run #{oldest}"),
        ]
        against_other, against_itself = pairs
        assert against_other.comparison == rc.compare(
            daily(twin), daily(other), resamples=RESAMPLES, seed=SEED
        )
        same = against_itself.comparison
        assert same is not None and against_itself.identical
        assert same.mean.difference == same.sharpe.difference == 0.0
        assert same.mean.p_value == same.sharpe.p_value == 1.0
        assert same.correlation == pytest.approx(1.0)
        words = panel.compare.words.text()
        assert "p = 1.00" in words and "correlated 1.00" in words
        assert "There is none: both made the same return on every common day." in words
        assert f"Each run is compared with run #{newest} (the first column)" in words


async def test_runs_with_no_common_days_say_so_and_show_no_figures(
    launch: Launch, history: HistoryFile
) -> None:
    start = await store_days(history)
    async with terminal_with_panel(launch, history) as (t, panel):
        assert panel.data.select(STORED)
        for first_day, end_day in ((0, 5), (10, 15)):
            panel.data.set_range(start + first_day * DAY_MS, start + end_day * DAY_MS)
            result = await run(t, panel, 10, 30)
            assert result.ts[0] == start + first_day * DAY_MS and result.ts[-1] < start + end_day * DAY_MS
        pairs = await compare_all(t, panel)

        assert len(pairs) == 1 and pairs[0].comparison is None
        words = panel.compare.words.text()
        assert "share 0 day(s); a comparison needs at least three" in words
        assert "p =" not in words and "correlated" not in words and "Is the difference real" not in words


def test_a_run_that_never_moves_has_no_correlation_said_in_words_not_nan() -> None:
    flat, moving = np.zeros(10), np.linspace(-0.01, 0.01, 10)
    comparison = rc.compare(moving, flat, resamples=200, seed=SEED)
    assert math.isnan(comparison.correlation)
    words = Pair("run #2", "run #1", comparison).words()
    assert "nan" not in words
    assert words.endswith("within what chance gives: p = " + f"{comparison.sharpe.p_value:.2f}.")
    assert "Their correlation cannot be measured: a run whose equity never changes has none." in words
