"""ADX, CCI, the stochastic and MFI in one pass each (``terminal.backtest.oscillators``)
against TA-Lib, which computed them before, and at the edges a chart meets.

``test_reference_values.py`` holds every indicator to its formula on 3,000 candles; here
the long run: 300,000 candles with several parameter sets give TA-Lib's values (to
1e-9, the reference test's tolerance), from the same first bar; series shorter than an
indicator's warm-up give NaN and no error; a million bars leave no running-sum residue
where a window is flat; and the arrays are what the catalogue, and so the chart and a
strategy, get."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from numpy.typing import NDArray

from terminal.analysis.catalogue import spec_for
from terminal.backtest import indicators as ind
from terminal.backtest import oscillators as osc
from terminal.marketdata.candles import OHLCV

Array = NDArray[np.float64]


def candles(n: int, seed: int, tick: float = 0.0) -> OHLCV:
    """A random walk around 30,000 with wicks and gaps; prices on ``tick`` if given."""
    rng = np.random.default_rng(seed)
    close = 30_000.0 * np.exp(np.cumsum(0.0006 * rng.standard_t(3, n)))
    open_ = np.r_[close[:1], close[:-1]] * (1.0 + 0.0002 * rng.standard_normal(n))
    high = np.maximum(open_, close) + 0.0004 * np.abs(rng.standard_t(3, n)) * close
    low = np.minimum(open_, close) - 0.0004 * np.abs(rng.standard_t(3, n)) * close
    if tick:
        open_, high, low, close = (np.round(x / tick) * tick for x in (open_, high, low, close))
    volume = rng.lognormal(1.0, 0.8, n)
    return OHLCV(60_000 * np.arange(n, dtype=np.int64), open_, high, low, close, volume)


def talib_outputs(key: str, c: OHLCV, p: tuple[int, ...]) -> tuple[Array, ...]:
    h, lo, cl, v = c.high, c.low, c.close, c.volume
    match key:
        case "ADX":
            return (
                talib.ADX(h, lo, cl, timeperiod=p[0]),
                talib.PLUS_DI(h, lo, cl, timeperiod=p[0]),
                talib.MINUS_DI(h, lo, cl, timeperiod=p[0]),
            )
        case "CCI":
            return (talib.CCI(h, lo, cl, timeperiod=p[0]),)
        case "STOCH":
            k, d = talib.STOCH(
                h, lo, cl, fastk_period=p[0], slowk_period=p[1], slowk_matype=talib.MA_Type.SMA,
                slowd_period=p[2], slowd_matype=talib.MA_Type.SMA,
            )  # fmt: skip
            return k, d
        case "MFI":
            return (talib.MFI(h, lo, cl, v, timeperiod=p[0]),)
    raise AssertionError(key)


def ours(key: str, c: OHLCV, p: tuple[int, ...]) -> tuple[Array, ...]:
    match key:
        case "ADX":
            return ind.adx(c.high, c.low, c.close, p[0])
        case "CCI":
            return (ind.cci(c.high, c.low, c.close, p[0]),)
        case "STOCH":
            return ind.stochastic(c.high, c.low, c.close, *p)
        case "MFI":
            return (ind.mfi(c.high, c.low, c.close, c.volume, p[0]),)
    raise AssertionError(key)


CASES = [
    ("ADX", (14,)), ("ADX", (2,)), ("ADX", (50,)),
    ("CCI", (20,)), ("CCI", (14,)), ("CCI", (7,)), ("CCI", (100,)),
    ("STOCH", (14, 3, 3)), ("STOCH", (5, 1, 1)), ("STOCH", (21, 7, 4)), ("STOCH", (1, 2, 2)),
    ("MFI", (14,)), ("MFI", (2,)), ("MFI", (60,)),
]  # fmt: skip


@pytest.fixture(scope="module")
def long_candles() -> OHLCV:
    return candles(300_000, seed=7)


@pytest.mark.parametrize(("key", "params"), CASES, ids=[f"{k}-{'-'.join(map(str, p))}" for k, p in CASES])
def test_values_are_talibs_over_a_long_series(key: str, params: tuple[int, ...], long_candles: OHLCV) -> None:
    for got, expected in zip(
        ours(key, long_candles, params), talib_outputs(key, long_candles, params), strict=True
    ):
        assert np.array_equal(np.isnan(got), np.isnan(expected)), f"{key}: another first bar"
        finite = ~np.isnan(expected)
        scale = float(np.max(np.abs(expected[finite])))
        np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9, atol=1e-11 * scale, err_msg=key)


@pytest.mark.parametrize(("key", "params"), CASES, ids=[f"{k}-{'-'.join(map(str, p))}" for k, p in CASES])
def test_a_series_shorter_than_the_warm_up_is_nan_where_talibs_is(key: str, params: tuple[int, ...]) -> None:
    warm = sum(params) * 2 + 2
    for n in sorted({0, 1, 2, 3, params[0] - 1, params[0], params[0] + 1, warm - 1, warm, warm + 1}):
        if n < 0:
            continue
        c = candles(n, seed=n + 1)
        for got, expected in zip(ours(key, c, params), talib_outputs(key, c, params), strict=True):
            assert len(got) == n
            assert np.array_equal(np.isnan(got), np.isnan(expected)), f"{key} on {n} candles"
            both = ~np.isnan(expected)
            np.testing.assert_allclose(got[both], expected[both], rtol=1e-9, atol=1e-9)


def test_a_flat_window_after_a_million_bars_is_zero_exactly() -> None:
    """Running sums over a million bars: where the market stops moving, the CCI, the raw
    stochastic's %D once its windows are flat, and MFI's rising flow are 0, not a residue."""
    c = candles(1_000_000, seed=3, tick=0.1)
    flat = slice(len(c) - 200, len(c))
    for col in (c.open, c.high, c.low, c.close):
        col[flat] = c.close[flat.start - 1]
    n = 20
    settled = flat.start + 3 * n  # every window (and each smoothing of it) inside the flat part
    assert (ind.cci(c.high, c.low, c.close, n)[settled:] == 0.0).all()
    k, d = ind.stochastic(c.high, c.low, c.close, n, 3, 3)
    assert (k[settled:] == 0.0).all() and (d[settled:] == 0.0).all()
    assert (ind.mfi(c.high, c.low, c.close, c.volume, n)[settled:] == 0.0).all()
    assert all(np.isfinite(out[settled:]).all() for out in ind.adx(c.high, c.low, c.close, n))


def test_cci_over_two_bars_is_two_thirds_of_a_hundred_either_way() -> None:
    """(typical - mean) / (0.015 x mean deviation) of two values is ±66.67 by construction;
    where two typical prices are a hair apart the ratio is a difference of near-equal
    prices over another (a rounding of the mean counts 1e-8 there, TA-Lib's as ours)."""
    c = candles(300_000, seed=7)
    got = ind.cci(c.high, c.low, c.close, 2)
    assert np.isnan(got[0]) and not np.isnan(got[1:]).any()
    moved = got[1:] != 0.0
    np.testing.assert_allclose(np.abs(got[1:][moved]), 200.0 / 3.0, rtol=1e-7)
    np.testing.assert_allclose(got, talib.CCI(c.high, c.low, c.close, timeperiod=2), rtol=1e-7)


def test_a_typical_price_an_ulp_away_is_unchanged_for_mfi() -> None:
    """Equal sums of other highs, lows and closes can land an ulp apart once divided by 3:
    no money flows on such a bar (TA-Lib counted it as a rise or a fall)."""
    # bar 1 rises; bar 2's typical price is bar 1's but an ulp higher; bar 3 falls
    high = np.array([9.6, 9.7, 9.6, 9.6])
    low = np.array([9.4, 9.5, 9.5, 9.4])
    close = np.array([9.5, 9.5, 9.6, 9.5])
    tp = (high + low + close) / 3.0
    assert tp[2] > tp[1] and tp[2] - tp[1] < 1e-12 * tp[1]  # the ulp apart
    out = osc.mfi(high, low, close, np.ones(4), 2)
    assert out[2] == 100.0  # bars 1 and 2: a rise, and no flow
    assert out[3] == 0.0  # bars 2 and 3: no flow, and a fall


def test_periods_are_checked_in_words() -> None:
    c = candles(50, seed=1)
    with pytest.raises(ValueError, match="ADX's period must be a whole number >= 2"):
        osc.adx(c.high, c.low, c.close, 1)
    with pytest.raises(ValueError, match="%K smoothing must be a whole number >= 1"):
        osc.stochastic(c.high, c.low, c.close, 14, 0, 3)
    with pytest.raises(ValueError, match="CCI's period"):
        osc.cci(c.high, c.low, c.close, 2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["ADX", "CCI", "STOCH", "MFI"])
def test_the_catalogue_draws_these_arrays(key: str) -> None:
    """One implementation: the chart's entry computes exactly what a strategy's call returns."""
    spec = spec_for(key)
    c = candles(5_000, seed=11)
    params = spec.defaults()
    drawn = spec.compute(c, params)
    direct = ours(key, c, tuple(int(v) for v in params.values()))
    for a, b in zip(drawn, direct, strict=True):
        assert a.tobytes() == b.tobytes()
