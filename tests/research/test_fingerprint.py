"""The data fingerprint and the trial key decide what the trial cache serves: the
same inputs give the same key, any change of candle, parameter, setting or strategy
source another; and a trial's compact daily returns are ``compare.daily_returns``."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.marketdata.candles import OHLCV
from terminal.research.compare import daily_returns
from terminal.research.fingerprint import data_fingerprint, settings_json, trial_key
from terminal.research.trial_returns import TrialReturns, trial_returns
from tests.backtest.backtest_scenarios import random_candles


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(15), 3000)


def changed(candles: OHLCV, column: str, index: int) -> OHLCV:
    names = ("ts", "open", "high", "low", "close", "volume")
    arrays = {name: getattr(candles, name).copy() for name in names}
    a = arrays[column]
    a[index] = a[index] + 1 if a.dtype.kind == "i" else np.nextafter(a[index], np.inf)
    return OHLCV(**arrays)


def test_the_same_candles_have_the_same_fingerprint_even_as_copies(candles: OHLCV) -> None:
    copy = OHLCV(*(np.array(getattr(candles, n)) for n in ("ts", "open", "high", "low", "close", "volume")))
    assert data_fingerprint(copy) == data_fingerprint(candles)
    assert len(data_fingerprint(candles)) == 64


@pytest.mark.parametrize("column", ["ts", "open", "high", "low", "close", "volume"])
def test_one_changed_value_in_any_column_changes_the_fingerprint(candles: OHLCV, column: str) -> None:
    assert data_fingerprint(changed(candles, column, 1234)) != data_fingerprint(candles)


def test_a_missing_or_extra_candle_changes_the_fingerprint(candles: OHLCV) -> None:
    whole = data_fingerprint(candles)
    assert data_fingerprint(candles.slice(0, len(candles) - 1)) != whole
    assert data_fingerprint(candles.slice(1, len(candles))) != whole


def test_the_trial_key_is_the_same_for_the_same_inputs_and_differs_for_any_change() -> None:
    settings = settings_json(BacktestSettings())
    base = ("f" * 64, "sma_cross", "builtin:1", {"fast": 5, "slow": 20}, settings)
    key = trial_key(*base)
    assert trial_key("f" * 64, "sma_cross", "builtin:1", {"slow": 20, "fast": 5}, settings) == key
    fees = settings_json(BacktestSettings(costs=Costs(taker_fee=0.002)))
    others = [
        ("e" * 64, *base[1:]),  # other candles
        (base[0], "ema_cross", *base[2:]),  # another strategy
        (*base[:2], "sha256-of-an-edited-file", *base[3:]),  # another version of its source
        (*base[:3], {"fast": 6, "slow": 20}, settings),  # another parameter value
        (*base[:3], {"fast": 5.0, "slow": 20, "extra": 1}, settings),  # another parameter
        (*base[:4], fees),  # other settings
    ]
    keys = {trial_key(*other) for other in others}
    assert key not in keys and len(keys) == len(others)


def test_trial_returns_are_compare_daily_returns_in_float32_and_survive_the_bytes(candles: OHLCV) -> None:
    result = run_backtest(candles, "sma_cross", {"fast": 5, "slow": 20})
    kept = trial_returns(result.ts, result.equity, result.settings.initial_cash)
    again = trial_returns(result.ts, result.equity, result.settings.initial_cash)  # the day index kept
    full = daily_returns(result.ts, result.equity, result.settings.initial_cash)
    assert kept.first_day == int(full.day[0]) and len(kept) == len(full) == 4  # 3,000 minutes on 4 UTC days
    assert np.array_equal(kept.returns, full.returns.astype(np.float32))
    assert np.array_equal(again.returns, kept.returns)
    back = TrialReturns.from_bytes(kept.first_day, kept.to_bytes())
    assert np.array_equal(back.returns, kept.returns) and back.first_day == kept.first_day
    assert np.array_equal(back.daily().day, full.day)
    assert len(kept.to_bytes()) == 4 * len(kept)


def test_trial_returns_follow_other_candles_of_the_same_length(candles: OHLCV) -> None:
    """The day index is kept per candle array: other candles must not get it."""
    equity = np.linspace(10_000.0, 11_000.0, len(candles))
    first = trial_returns(candles.ts, equity, 10_000.0)
    later = candles.ts + 5 * 86_400_000
    shifted = trial_returns(later, equity, 10_000.0)
    assert shifted.first_day == first.first_day + 5
    assert np.array_equal(shifted.returns, daily_returns(later, equity, 10_000.0).returns.astype(np.float32))
