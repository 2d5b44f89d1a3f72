"""The fast path: one kernel runs many SMA-cross trials on numba's threads, and each
equals a single ``run_backtest`` of the same inputs, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, Stops
from terminal.backtest.strategies import EmaCross, SmaCross
from terminal.marketdata.candles import OHLCV
from terminal.research.fast_path import SmaCrossFastPath, fast_path_for
from terminal.research.objectives import light_metrics
from terminal.research.space import IntParam, Space
from terminal.research.sweep import evaluate, run_sweep
from terminal.research.trial_returns import trial_returns
from tests.backtest.backtest_scenarios import random_candles

FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
WHOLE_UNITS = BacktestSettings(
    initial_cash=1e6, costs=Costs(taker_fee=0.001, maker_fee=0.002, slippage_bps=2.0),
    sizing=Sizing(amount_step=1.0), close_at_end=False,
)  # fmt: skip
STOPS = BacktestSettings(
    costs=Costs(taker_fee=0.001, maker_fee=0.0005), stops=Stops(stop_loss_atr=2.0, take_profit_pct=3.0),
    direction=Direction.LONG, sizing=Sizing(fraction=0.5),
)  # fmt: skip


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(151), 20_000)  # crosses more than a day boundary


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("settings", [FEES, WHOLE_UNITS, STOPS], ids=["fees", "whole-units", "stops"])
def test_every_trial_of_the_kernel_equals_a_single_backtest_bit_for_bit(
    candles: OHLCV, settings: BacktestSettings
) -> None:
    points = [{"fast": f, "slow": s} for f in (2, 5, 9, 17) for s in (3, 12, 30, 61) if f < s]
    results = SmaCrossFastPath(candles, settings, budget_bytes=3 * 8 * len(candles)).run(points)
    ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
    for point, result in zip(points, results, strict=True):
        assert result is not None
        metrics, daily = result
        run = run_backtest(candles, "sma_cross", point, settings)
        expected = light_metrics(run.equity, ts, settings.initial_cash, run.trades, run.metrics.fees_paid)
        for name, value in expected.as_dict().items():
            assert same(getattr(metrics, name), value), (point, name, getattr(metrics, name), value)
        for name in ("final_equity", "sharpe", "sortino", "max_drawdown", "trades", "profit_factor", "sqn"):
            assert same(getattr(metrics, name), getattr(run.metrics, name)), (point, name)
        want = trial_returns(ts, run.equity, settings.initial_cash)
        assert daily.first_day == want.first_day and daily.returns.tobytes() == want.returns.tobytes()


def test_a_point_the_strategy_refuses_is_left_to_the_usual_path(candles: OHLCV) -> None:
    results = SmaCrossFastPath(candles, FEES).run([{"fast": 9, "slow": 9}, {"fast": 3, "slow": 9}])
    assert results[0] is None and results[1] is not None


def test_a_grid_sweep_takes_the_fast_path_and_gives_the_serial_sweeps_trials(candles: OHLCV) -> None:
    space = Space((IntParam("fast", 2, 14, step=3), IntParam("slow", 4, 40, step=4)), ("fast < slow",))
    fast = run_sweep(candles, "sma_cross", space, settings=FEES, objectives=("sharpe", "calmar"))
    serial = run_sweep(
        candles, "sma_cross", space, settings=FEES, objectives=("sharpe", "calmar"), fast=False
    )
    assert (fast.path, serial.path) == ("fast path", "serial")
    assert [(t.number, t.params, t.values, t.metrics, t.state) for t in fast.trials] == [
        (t.number, t.params, t.values, t.metrics, t.state) for t in serial.trials
    ]
    assert fast.best is not None and serial.best is not None and fast.best.number == serial.best.number


def test_only_the_sma_cross_over_fast_and_slow_takes_it() -> None:
    assert fast_path_for("sma_cross", FEES) is None
    assert fast_path_for(SmaCross.create({"fast": 3, "slow": 8}), STOPS, ("slow",)) is None
    assert fast_path_for(EmaCross, FEES) == "the fast path knows the built-in SMA cross only"
    reason = fast_path_for(SmaCross, FEES, ("fast", "settings.stops.stop_loss_pct"))
    assert reason == "the fast path sweeps fast and slow only, not settings.stops.stop_loss_pct"


def test_a_trial_the_fast_path_refuses_fails_with_the_strategys_message(candles: OHLCV) -> None:
    space = Space((IntParam("fast", 5, 7), IntParam("slow", 6, 6)))
    result = run_sweep(candles, "sma_cross", space, settings=FEES)
    failed = [t for t in result.trials if t.metrics is None]
    assert [t.params for t in failed] == [{"fast": 6, "slow": 6}, {"fast": 7, "slow": 6}]
    assert failed[0].reason == evaluate(candles, "sma_cross", {"fast": 6, "slow": 6}, FEES).error


def test_the_warm_up_runs_the_kernel_so_the_first_sweep_need_not_compile() -> None:
    """What the app's warm-up thread calls after the engine's kernels (terminal/app.py)."""
    from terminal.research import fast_path

    assert fast_path.warm_up() > 0.0  # with numba installed, it ran the kernel on its tiny input
