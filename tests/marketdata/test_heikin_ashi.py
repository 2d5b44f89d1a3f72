"""Heikin-Ashi candles: the vectorised computation and the live updates equal the
textbook rule written out bar by bar."""

from __future__ import annotations

import numpy as np

from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.marketdata.heikin_ashi import REACH, HeikinAshi, heikin_ashi

MINUTE = 60_000


def textbook(o: list[float], h: list[float], l: list[float], c: list[float]) -> list[tuple[float, ...]]:
    """Heikin-Ashi as the books give it, one bar after another."""
    out: list[tuple[float, ...]] = []
    for i in range(len(o)):
        ha_close = (o[i] + h[i] + l[i] + c[i]) / 4
        ha_open = (o[i] + c[i]) / 2 if i == 0 else (out[i - 1][0] + out[i - 1][3]) / 2
        out.append((ha_open, max(h[i], ha_open, ha_close), min(l[i], ha_open, ha_close), ha_close))
    return out


def random_candles(n: int, seed: int = 5, start: float = 100.0) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[start, close[:-1]] * np.exp(rng.normal(0, 0.002, n))  # gaps between candles
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    ts = np.arange(n, dtype=np.int64) * MINUTE
    return OHLCV(ts, open_, high, low, close, rng.uniform(1, 5, n))


def assert_textbook(ha: tuple[np.ndarray, ...], candles: OHLCV) -> None:
    cols = [candles.open.tolist(), candles.high.tolist(), candles.low.tolist(), candles.close.tolist()]
    want = np.array(textbook(*cols))
    got = np.column_stack([np.asarray(col) for col in ha])
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_the_columns_equal_the_textbook_rule_bar_by_bar() -> None:
    candles = random_candles(1000)  # longer than the recurrence's reach
    assert len(candles) > 2 * REACH
    assert_textbook(heikin_ashi(candles.open, candles.high, candles.low, candles.close), candles)


def test_a_trend_that_goes_on_for_thousands_of_bars_stays_exact() -> None:
    # prices a hundredfold apart: the old bars' weights must still vanish, not linger
    candles = random_candles(5000, seed=9, start=1.0)
    candles = OHLCV(
        candles.ts, *(col * np.geomspace(1, 100, len(candles)) for col in (candles.open, candles.high,
                                                                          candles.low, candles.close)),
        candles.volume,
    )  # fmt: skip
    assert_textbook(heikin_ashi(candles.open, candles.high, candles.low, candles.close), candles)


def test_one_candle_and_none() -> None:
    ha = heikin_ashi(np.array([10.0]), np.array([12.0]), np.array([9.0]), np.array([11.0]))
    assert [float(col[0]) for col in ha] == [10.5, 12.0, 9.0, 10.5]
    empty = np.empty(0)
    assert all(len(col) == 0 for col in heikin_ashi(empty, empty, empty, empty))


def test_a_continuation_from_the_previous_bar_equals_the_whole() -> None:
    candles = random_candles(300)
    whole = heikin_ashi(candles.open, candles.high, candles.low, candles.close)
    k = 200
    tail = heikin_ashi(
        candles.open[k:], candles.high[k:], candles.low[k:], candles.close[k:],
        previous=(float(whole.open[k - 1]), float(whole.close[k - 1])),
    )  # fmt: skip
    for got, want in zip(tail, whole, strict=True):
        np.testing.assert_allclose(got, want[k:], rtol=1e-13)


def test_live_ticks_and_new_candles_equal_a_full_recompute_after_each() -> None:
    candles = random_candles(400)
    series = CandleSeries(MINUTE)
    series.replace(candles.slice(0, 300))
    ha = HeikinAshi()
    ha.compute(series)
    rng = np.random.default_rng(1)
    for step in range(60):
        last = series.last()
        assert last is not None
        ts, o, h, l, c, v = last
        if step % 7 == 3:  # a new candle opens (two at once now and then)
            for k in range(1 + (step % 2)):
                price = c * (1 + rng.normal(0, 0.002))
                series.upsert(ts + (k + 1) * MINUTE, c, max(c, price), min(c, price), price, 1.0)
        else:  # the live candle ticks
            price = c * (1 + rng.normal(0, 0.002))
            series.upsert(ts, o, max(h, price), min(l, price), price, v + 0.5)
        ha.update(series)
        assert_textbook((ha.candles.open, ha.candles.high, ha.candles.low, ha.candles.close),
                        series.snapshot())  # fmt: skip
        np.testing.assert_array_equal(ha.candles.ts, series.ts)
        np.testing.assert_array_equal(ha.candles.volume, series.volume)


def test_a_live_tick_recomputes_the_newest_bar_only() -> None:
    series = CandleSeries(MINUTE)
    series.replace(random_candles(500))
    ha = HeikinAshi()
    ha.compute(series)
    older = ha.candles.copy(0, 499)
    ts, o, h, l, c, v = series.last()  # type: ignore[misc]
    series.upsert(ts, o, h * 1.01, l, c * 1.005, v)
    ha.update(series)
    assert ha.candles.last()[2] >= h * 1.01  # type: ignore[index]
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(ha.candles, name)[:499], getattr(older, name))


def test_a_series_replaced_under_it_is_computed_afresh() -> None:
    series = CandleSeries(MINUTE)
    series.replace(random_candles(300))
    ha = HeikinAshi()
    ha.compute(series)
    other = random_candles(120, seed=11, start=50.0)  # another symbol: shorter, other prices
    series.replace(other)
    ha.update(series)
    assert len(ha.candles) == 120
    assert_textbook((ha.candles.open, ha.candles.high, ha.candles.low, ha.candles.close), other)
