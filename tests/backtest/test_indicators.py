"""Indicators against pandas (or a hand example), and their causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from terminal.backtest import indicators as ind
from tests.backtest.backtest_scenarios import random_candles


@pytest.fixture(scope="module")
def prices() -> np.ndarray:
    # a long random walk at BTC-like prices: where a naive running sum loses digits
    rng = np.random.default_rng(11)
    return 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, 200_000)))


def test_sma_matches_pandas_rolling_mean(prices: np.ndarray) -> None:
    for n in (1, 10, 20, 200):
        expected = pd.Series(prices).rolling(n).mean().to_numpy()
        np.testing.assert_allclose(ind.sma(prices, n), expected, rtol=1e-12, equal_nan=True)


def test_ema_is_seeded_with_the_sma_then_smoothed_with_2_over_n_plus_1(prices: np.ndarray) -> None:
    n = 12
    x = prices[:2000]
    seeded = x[n - 1 :].copy()
    seeded[0] = x[:n].mean()
    expected = pd.Series(seeded).ewm(span=n, adjust=False).mean().to_numpy()
    got = ind.ema(x, n)
    assert np.isnan(got[: n - 1]).all()
    np.testing.assert_allclose(got[n - 1 :], expected, rtol=1e-12)


def test_rsi_is_wilders(prices: np.ndarray) -> None:
    n = 14
    x = prices[:3000]
    d = np.diff(x)
    gain, loss = np.clip(d, 0, None), np.clip(-d, 0, None)

    def wilder(v: np.ndarray) -> np.ndarray:
        s = v[n - 1 :].copy()
        s[0] = v[:n].mean()
        return pd.Series(s).ewm(alpha=1 / n, adjust=False).mean().to_numpy()

    expected = 100 - 100 / (1 + wilder(gain) / wilder(loss))
    got = ind.rsi(x, n)
    assert np.isnan(got[:n]).all()
    np.testing.assert_allclose(got[n:], expected, rtol=1e-10)


def test_rsi_extremes() -> None:
    up = np.arange(1.0, 40.0)
    assert ind.rsi(up, 14)[-1] == 100.0
    assert ind.rsi(np.full(30, 5.0), 14)[-1] == 50.0
    zigzag = np.array([10.0, 11.0] * 30)
    assert ind.rsi(zigzag, 14)[-1] == pytest.approx(50.0, abs=2.0)


def test_atr_of_a_constant_range_is_that_range() -> None:
    close = np.full(30, 100.0)
    got = ind.atr(close + 1, close - 1, close, 5)
    assert np.isnan(got[:4]).all()
    np.testing.assert_allclose(got[4:], 2.0)


def test_true_range_includes_the_gap_from_the_previous_close() -> None:
    high, low, close = np.array([101.0, 111.0]), np.array([99.0, 109.0]), np.array([100.0, 110.0])
    np.testing.assert_allclose(ind.true_range(high, low, close), [2.0, 11.0])


def test_rolling_std_max_min_match_pandas(prices: np.ndarray) -> None:
    s = pd.Series(prices[:50_000])
    x = s.to_numpy()
    np.testing.assert_allclose(ind.rolling_std(x, 20), s.rolling(20).std(ddof=0), rtol=1e-7, equal_nan=True)
    np.testing.assert_array_equal(ind.rolling_max(x, 37), s.rolling(37).max())
    np.testing.assert_array_equal(ind.rolling_min(x, 37), s.rolling(37).min())


@pytest.mark.parametrize("period", [20, 200])
def test_the_rolling_deviation_does_not_drift_over_a_million_bars(period: int) -> None:
    """Each window's deviation worked out on its own (numpy, two passes) against the
    sliding update: the same to 1e-10 relative at every bar, however long the array
    (the sliding update alone drifted to 7e-7 by bar 787,000 of 1,000,000)."""
    rng = np.random.default_rng(23)
    x = 30_000.0 * np.exp(np.cumsum(rng.normal(0, 0.001, 1_000_000)))
    exact = np.lib.stride_tricks.sliding_window_view(x, period).std(axis=1)
    ours = ind.rolling_std(x, period)[period - 1 :]
    assert float(np.max(np.abs(ours - exact) / exact)) < 1e-10


def test_bollinger_and_donchian() -> None:
    c = random_candles(np.random.default_rng(2), 300)
    mid, upper, lower = ind.bollinger(c.close, 20, 2.0)
    sd = pd.Series(c.close).rolling(20).std(ddof=0).to_numpy()
    np.testing.assert_allclose(upper - mid, 2 * sd, rtol=1e-7, equal_nan=True)
    np.testing.assert_allclose(mid - lower, 2 * sd, rtol=1e-7, equal_nan=True)
    hi, lo = ind.donchian(c.high, c.low, 10)
    np.testing.assert_array_equal(hi, pd.Series(c.high).rolling(10).max())
    np.testing.assert_array_equal(lo, pd.Series(c.low).rolling(10).min())


def test_crossings() -> None:
    a = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 2.0, 3.0, np.nan, 3.0])
    b = np.full(len(a), 2.5)
    assert ind.crossed_above(a, b).tolist() == [False, False, True, False, False, False, True, False, False]
    assert ind.crossed_below(a, b).tolist() == [False, False, False, False, True, False, False, False, False]


def test_a_crossing_through_an_exact_tie_is_a_crossing() -> None:
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([2.0, 2.0, 2.0])
    assert ind.crossed_above(a, b).tolist() == [False, False, True]
    assert not ind.crossed_below(a, b).any()


@pytest.mark.parametrize(
    "fn",
    [
        lambda c: ind.sma(c.close, 7),
        lambda c: ind.ema(c.close, 7),
        lambda c: ind.rsi(c.close, 7),
        lambda c: ind.atr(c.high, c.low, c.close, 7),
        lambda c: ind.rolling_std(c.close, 7),
        lambda c: ind.rolling_max(c.high, 7),
        lambda c: ind.rolling_min(c.low, 7),
        lambda c: ind.shift(c.close, 2),
    ],
    ids=["sma", "ema", "rsi", "atr", "std", "max", "min", "shift"],
)
def test_indicators_use_no_future_bar(fn: object) -> None:
    c = random_candles(np.random.default_rng(5), 120)
    full = fn(c)  # type: ignore[operator]
    for t in (0, 3, 6, 7, 50, 118):
        np.testing.assert_array_equal(fn(c.slice(0, t + 1)), full[: t + 1])  # type: ignore[operator]


def test_a_period_must_be_a_whole_number_of_bars() -> None:
    with pytest.raises(ValueError, match="whole number"):
        ind.sma(np.ones(5), 0)
    with pytest.raises(ValueError, match="whole number"):
        ind.ema(np.ones(5), 2.5)  # type: ignore[arg-type]


def test_read_only_and_integer_inputs_are_accepted() -> None:
    x = np.arange(10, dtype=np.int64)
    ro = np.arange(10.0)
    ro.flags.writeable = False
    np.testing.assert_array_equal(ind.sma(x, 2), ind.sma(ro, 2))
