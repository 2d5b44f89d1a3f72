"""The built-in strategies, the registry, parameter models and signal helpers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from terminal.backtest import indicators, signals
from terminal.backtest.errors import BacktestError, InvalidSignalsError
from terminal.backtest.runner import run_backtest
from terminal.backtest.strategies import BUILTIN, DonchianBreakout, RsiReversion, SmaCross, strategy_by_name
from terminal.backtest.strategy import param_specs
from terminal.marketdata.candles import OHLCV
from tests.backtest.backtest_scenarios import F, H, L, S, random_candles

EXPECTED_NAMES = {
    "sma_cross",
    "ema_cross",
    "rsi_reversion",
    "bollinger_reversion",
    "donchian_breakout",
    "atr_breakout",
    "support_resistance_rsi",
}


@pytest.fixture(scope="module")
def market() -> OHLCV:
    return random_candles(np.random.default_rng(21), 4000)


def test_the_registry_lists_every_builtin_by_name() -> None:
    assert set(BUILTIN) == EXPECTED_NAMES
    for name, cls in BUILTIN.items():
        assert cls.name == name and strategy_by_name(name) is cls
        assert cls.title and cls.summary
    with pytest.raises(BacktestError, match="no strategy called 'nope'"):
        strategy_by_name("nope")


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_parameters_have_defaults_and_bounds_a_form_and_a_grid_can_use(name: str) -> None:
    cls = BUILTIN[name]
    specs = param_specs(cls.Params)
    assert specs
    cls.Params()  # the defaults validate
    for spec in specs:
        assert spec.kind in (int, float)
        assert spec.minimum is not None and spec.maximum is not None
        assert spec.minimum <= spec.default <= spec.maximum
        assert spec.description
        with pytest.raises(ValidationError):
            cls.Params(**{spec.name: spec.maximum + 1})


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_signals_are_valid_and_use_no_future_bar(name: str, market: OHLCV) -> None:
    strategy = BUILTIN[name].create()
    full = strategy.signals(market)
    signals.validate(full, len(market))
    assert np.count_nonzero(~np.isnan(full)) > 0
    for t in (0, 10, 60, 61, 500, 3998):
        np.testing.assert_array_equal(strategy.signals(market.slice(0, t + 1)), full[: t + 1])


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_each_builtin_trades_with_its_defaults(name: str, market: OHLCV) -> None:
    result = run_backtest(market, name)
    assert len(result.trades) >= 3


def test_sma_cross_requests_only_at_crossings(market: OHLCV) -> None:
    got = SmaCross.create({"fast": 5, "slow": 15}).signals(market)
    fast = pd.Series(market.close).rolling(5).mean().to_numpy()
    slow = pd.Series(market.close).rolling(15).mean().to_numpy()
    diff = np.sign(fast - slow)
    crossed = np.r_[False, (diff[1:] != diff[:-1]) & ~np.isnan(diff[:-1]) & (diff[1:] != 0)]
    assert np.array_equal(~np.isnan(got), crossed)
    np.testing.assert_array_equal(got[crossed], diff[crossed])


def test_rsi_reversion_follows_its_levels(market: OHLCV) -> None:
    p = RsiReversion.Params(period=10, oversold=35, overbought=65, exit_level=50)
    got = RsiReversion(p).signals(market)
    rsi = indicators.rsi(market.close, 10)
    with np.errstate(invalid="ignore"):
        assert np.all(got[rsi < 35] == L) and np.all(got[rsi > 65] == S)
        # a flat request only between the levels, where an exit belongs
        flat = got == F
        assert np.all((rsi[flat] >= 35) & (rsi[flat] <= 65))


def test_donchian_breaks_out_of_the_previous_bars_channel(market: OHLCV) -> None:
    got = DonchianBreakout.create({"entry_period": 20, "exit_period": 10}).signals(market)
    prev_high = pd.Series(market.high).rolling(20).max().shift(1).to_numpy()
    prev_low = pd.Series(market.low).rolling(20).min().shift(1).to_numpy()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got == L, market.close > prev_high)
        np.testing.assert_array_equal(got == S, market.close < prev_low)


def test_parameter_models_check_their_relations() -> None:
    with pytest.raises(ValidationError, match="shorter"):
        SmaCross.Params(fast=20, slow=10)
    with pytest.raises(ValidationError, match="ordered"):
        RsiReversion.Params(oversold=60, exit_level=50)
    with pytest.raises(ValidationError):
        SmaCross.Params(fast=5, slow=10, colour="red")  # type: ignore[call-arg]


def test_create_takes_a_model_a_mapping_or_nothing() -> None:
    assert SmaCross.create().params == SmaCross.Params()
    assert SmaCross.create({"fast": 3}).params.fast == 3
    model = SmaCross.Params(fast=4, slow=9)
    assert SmaCross.create(model).params is model


def test_from_rules_applies_exits_to_their_own_side() -> None:
    t, f = True, False
    got = signals.from_rules(
        np.array([t, f, f, f, f, f, f]),  # long entry
        np.array([f, f, t, t, f, f, t]),  # long exit
        np.array([f, f, f, f, t, f, f]),  # short entry
        np.array([f, t, f, f, f, t, f]),  # short exit
    )
    # bar 1: a short exit while long does nothing; bar 2: the long exits (once);
    # bar 6: a long exit while flat does nothing
    np.testing.assert_array_equal(got, [L, H, F, H, S, F, H])


def test_from_rules_repeats_an_entry_while_it_holds_and_ignores_both_at_once() -> None:
    t, f = True, False
    got = signals.from_rules(
        np.array([t, t, t]), np.array([f, f, f]), np.array([f, f, t]), np.array([f, f, f])
    )
    np.testing.assert_array_equal(got, [L, L, H])


def test_validate_says_what_is_wrong() -> None:
    with pytest.raises(InvalidSignalsError, match="one value per candle"):
        signals.validate(np.zeros(3), 4)
    with pytest.raises(InvalidSignalsError, match=r"0\.5.* at bar 1"):
        signals.validate(np.array([1.0, 0.5, np.nan]), 3)
    ok = signals.validate(np.array([1, -1, 0], dtype=np.int8), 3)
    assert ok.dtype == np.float64
    assert math.isnan(signals.validate([np.nan], 1)[0])
