"""Live indicators: the chart's streaming update equals a full recompute after every tick."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.analysis.catalogue import SPECS, IndicatorSpec
from terminal.analysis.live import LiveIndicator
from terminal.marketdata.candles import OHLCV, CandleSeries
from tests.analysis.candles import walk

DATA = walk(2_400)
FIRST = 1_800  # candles loaded before the market starts ticking


def series_of(data: OHLCV, n: int) -> CandleSeries:
    series = CandleSeries(60_000)
    series.replace(data.slice(0, n))
    return series


def assert_same(live: LiveIndicator, full: LiveIndicator, where: str) -> None:
    assert len(live) == len(full), where
    for k, line in enumerate(live.spec.lines):
        a, b = live.line(k), full.line(k)
        # the warm-up (NaN) is the same, and every value agrees to rounding
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{where}: {line.name}'s warm-up differs"
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{where}: {line.name}")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_every_tick_of_a_forming_candle_and_every_close_match_a_full_recompute(spec: IndicatorSpec) -> None:
    series = series_of(DATA, FIRST)
    live = LiveIndicator(spec, spec.defaults())
    live.compute(series)
    d = DATA
    for i in range(FIRST, FIRST + 150):
        o = float(d.open[i])
        ticks = [  # the candle opens, trades up, down, and closes as the data says
            (o, o, o, o, 0.0),
            (
                o,
                max(o, float(d.close[i])),
                min(o, float(d.close[i])),
                float(d.close[i]),
                float(d.volume[i]) / 2,
            ),
            (o, float(d.high[i]), float(d.low[i]), float(d.close[i]), float(d.volume[i])),
        ]
        for tick in ticks:
            series.upsert(int(d.ts[i]), *tick)
            live.update(series)
            full = LiveIndicator(spec, spec.defaults())
            full.compute(series)
            assert_same(live, full, f"{spec.key} at candle {i}, tick {tick}")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.key)
def test_several_candles_at_once_and_older_history_are_recomputed(spec: IndicatorSpec) -> None:
    series = series_of(DATA, FIRST)
    live = LiveIndicator(spec, spec.defaults())
    live.compute(series)
    # a reconnect brings five candles in one go
    for i in range(FIRST, FIRST + 5):
        series.upsert(
            int(DATA.ts[i]), *(float(getattr(DATA, c)[i]) for c in ("open", "high", "low", "close", "volume"))
        )
    live.update(series)
    full = LiveIndicator(spec, spec.defaults())
    full.compute(series)
    assert_same(live, full, f"{spec.key} after five candles")
    # older history loads in front: the chart recomputes everything
    older = series_of(DATA, FIRST + 5)
    older.replace(DATA.slice(0, FIRST + 5))
    live.compute(older)
    assert_same(live, full, f"{spec.key} after a full recompute")


def test_a_decaying_indicator_far_into_the_history_is_recomputed_from_a_bounded_tail() -> None:
    """The live update reads a tail of 64 lookbacks, not the history: its result
    after 20,000 candles equals the full recompute all the same."""
    data = walk(20_200, seed=9)
    series = series_of(data, 20_000)
    spec = next(s for s in SPECS if s.key == "RSI")
    live = LiveIndicator(spec, {"period": 14})
    live.compute(series)
    for i in range(20_000, 20_200):
        series.upsert(
            int(data.ts[i]), *(float(getattr(data, c)[i]) for c in ("open", "high", "low", "close", "volume"))
        )
        live.update(series)
    full = LiveIndicator(spec, {"period": 14})
    full.compute(series)
    assert_same(live, full, "RSI 14 after 200 live candles")


def test_sar_on_a_market_a_day_old_waits_for_three_candles_then_streams() -> None:
    spec = next(s for s in SPECS if s.key == "SAR")
    series = CandleSeries(86_400_000)
    live = LiveIndicator(spec, spec.defaults())
    for i in range(8):
        o = float(DATA.open[i])
        series.upsert(
            int(DATA.ts[i]) * 1440, o, float(DATA.high[i]), float(DATA.low[i]), float(DATA.close[i]), 1.0
        )
        live.update(series)
        full = LiveIndicator(spec, spec.defaults())
        full.compute(series)
        assert_same(live, full, f"SAR at {i + 1} candles")
    assert np.isfinite(live.line(0)[-1])
