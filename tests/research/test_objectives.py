"""Objectives, filters and the light metrics a trial computes for them."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest

from terminal.backtest.metrics import Metrics
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Stops
from terminal.marketdata.candles import OHLCV
from terminal.research.objectives import (
    Direction,
    Filters,
    LightMetrics,
    Objective,
    judge,
    light_metrics,
    objectives_of,
    pareto_front,
)
from terminal.research.space import SweepError
from tests.backtest.backtest_scenarios import FixedSignals, random_candles


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(15), 6000)


def same(a: float, b: float) -> bool:
    """Equal bit for bit, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(
    ("strategy", "params", "settings"),
    [
        ("sma_cross", {"fast": 7, "slow": 30}, BacktestSettings()),
        ("rsi_reversion", {}, BacktestSettings(stops=Stops(stop_loss_pct=1.5, take_profit_pct=3.0))),
        ("donchian_breakout", {}, BacktestSettings(close_at_end=False, costs=Costs(slippage_bps=5))),
        (
            "atr_breakout",
            {"multiplier": 1.0},
            BacktestSettings(stops=Stops(stop_loss_atr=2.0), direction="long"),
        ),
    ],
)
def test_light_metrics_equal_the_full_metrics_of_the_same_run_bit_for_bit(
    candles: OHLCV, strategy: str, params: dict[str, float], settings: BacktestSettings
) -> None:
    result = run_backtest(candles, strategy, params, settings)
    light = light_metrics(
        result.equity, result.ts, settings.initial_cash, result.trades, result.metrics.fees_paid
    )
    full = result.metrics.as_dict()
    assert result.metrics.trades > 10  # a run with trades, drawdowns and losses to compare
    for f in fields(LightMetrics):
        assert same(float(getattr(light, f.name)), float(full[f.name])), f.name


def test_light_metrics_of_a_run_without_trades_have_no_ratios(candles: OHLCV) -> None:
    result = run_backtest(candles, FixedSignals(np.full(len(candles), np.nan)))
    light = light_metrics(result.equity, result.ts, 10_000.0, result.trades, 0.0)
    assert light.trades == 0 and light.total_return == 0.0
    assert all(math.isnan(v) for v in (light.sharpe, light.sortino, light.calmar, light.profit_factor))
    verdict = judge(light, (Objective.SHARPE,), Filters())
    assert not verdict.counts and "Sharpe ratio has no value" in verdict.reason


def test_every_light_metric_is_a_metric_of_the_same_name() -> None:
    assert {f.name for f in fields(LightMetrics)} <= set(Metrics.names())
    assert {o.value for o in Objective} <= {f.name for f in fields(LightMetrics)}


def light(trades: int = 30, max_drawdown: float = -0.1, sharpe: float = 1.2) -> LightMetrics:
    return LightMetrics(11_000.0, 0.1, sharpe, 1.5, 2.0, max_drawdown, trades, 1.3, 1.1)


def test_filters_refuse_too_few_trades_and_deep_drawdowns_saying_why() -> None:
    filters = Filters(min_trades=20, max_drawdown=0.25)
    assert filters.check(light()) == ("", 0.0)
    reason, violation = filters.check(light(trades=5, max_drawdown=-0.5))
    assert reason == (
        "5 trades, fewer than the minimum of 20; a drawdown of 50.0%, deeper than the maximum of 25.0%"
    )
    assert violation == pytest.approx(15 / 20 + 0.25 / 0.25)
    _, near = Filters(min_trades=20).check(light(trades=19))
    assert 0.0 < near < violation  # a near miss is told apart from a far one


def test_a_verdict_holds_one_value_per_objective() -> None:
    verdict = judge(light(), (Objective.SHARPE, Objective.PROFIT_FACTOR), Filters())
    assert verdict.values == (1.2, 1.3) and verdict.counts
    refused = judge(light(trades=3), (Objective.SQN,), Filters(min_trades=10))
    assert refused.values == (1.1,) and not refused.counts and "3 trades" in refused.reason


def test_objectives_are_one_or_two_different_known_ones() -> None:
    assert objectives_of("sharpe") == (Objective.SHARPE,)
    assert objectives_of(["calmar", Objective.SQN]) == (Objective.CALMAR, Objective.SQN)
    with pytest.raises(SweepError, match="Unknown objective"):
        objectives_of("sharp")
    with pytest.raises(SweepError, match="one objective or two"):
        objectives_of(["sharpe", "sortino", "calmar"])
    with pytest.raises(SweepError, match="one objective or two"):
        objectives_of(["sharpe", "sharpe"])
    with pytest.raises(SweepError, match="maximum drawdown is a fraction"):
        Filters(max_drawdown=25)


def test_the_pareto_front_keeps_the_points_nothing_beats_in_both() -> None:
    points = [(1.0, 5.0), (2.0, 4.0), (1.5, 3.0), (3.0, 1.0), (2.0, 4.0), (0.5, 0.5)]
    both_max = [Direction.MAXIMIZE, Direction.MAXIMIZE]
    assert pareto_front(points, both_max) == [0, 1, 3, 4]  # (1.5, 3) and (0.5, 0.5) are beaten; equals stay
    assert pareto_front(points, [Direction.MINIMIZE, Direction.MINIMIZE]) == [5]
    assert pareto_front([], both_max) == []
