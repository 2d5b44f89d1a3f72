"""Candle series, OHLCV bundles, and building candles from finer data."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from terminal.marketdata.candles import OHLCV, CandleSeries, Change
from terminal.marketdata.resample import candles_from_trades, resample
from terminal.marketdata.timeframes import MINUTE_MS

HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def utc(ts_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC)


def series_of(*rows: tuple[int, float, float, float, float, float], capacity: int = 1024) -> CandleSeries:
    series = CandleSeries(MINUTE_MS, capacity=capacity)
    for row in rows:
        series.upsert(*row)
    return series


def minutes(start: int, closes: list[float]) -> OHLCV:
    """Minute candles from ``start``, each opening at the previous close."""
    close = np.array(closes, dtype=np.float64)
    open_ = np.r_[close[0], close[:-1]]
    n = len(close)
    ts = start + MINUTE_MS * np.arange(n, dtype=np.int64)
    high = np.maximum(open_, close) + 0.5
    low = np.minimum(open_, close) - 0.5
    volume = np.arange(1, n + 1, dtype=np.float64)
    return OHLCV(ts, open_, high, low, close, volume)


# -- CandleSeries.upsert -------------------------------------------------------


def test_update_of_the_newest_candle_changes_it_in_place() -> None:
    series = series_of((0, 10, 11, 9, 10, 1), (MINUTE_MS, 10, 12, 10, 11, 2))
    version = series.version

    change = series.upsert(MINUTE_MS, 10, 13, 9.5, 12, 3)

    assert change is Change.LAST
    assert len(series) == 2
    assert series.last() == (MINUTE_MS, 10, 13, 9.5, 12, 3)
    assert series.close.tolist() == [10, 12]
    assert series.version > version


def test_newer_candle_is_appended() -> None:
    series = series_of((0, 10, 11, 9, 10, 1))

    change = series.upsert(MINUTE_MS, 10, 10, 10, 10, 0)

    assert change is Change.APPEND
    assert series.ts.tolist() == [0, MINUTE_MS]


def test_correction_of_an_older_candle_is_a_history_change() -> None:
    series = series_of(*((i * MINUTE_MS, 1, 1, 1, 1, 1) for i in range(5)))

    change = series.upsert(2 * MINUTE_MS, 5, 6, 4, 5, 7)

    assert change is Change.HISTORY
    assert len(series) == 5
    assert series.close.tolist() == [1, 1, 5, 1, 1]
    assert series.volume.tolist() == [1, 1, 7, 1, 1]


def test_late_candle_missing_from_history_is_inserted_in_order() -> None:
    series = series_of((0, 1, 1, 1, 1, 1), (2 * MINUTE_MS, 3, 3, 3, 3, 3), (3 * MINUTE_MS, 4, 4, 4, 4, 4))

    change = series.upsert(MINUTE_MS, 2, 2, 2, 2, 2)

    assert change is Change.HISTORY
    assert series.ts.tolist() == [0, MINUTE_MS, 2 * MINUTE_MS, 3 * MINUTE_MS]
    assert series.close.tolist() == [1, 2, 3, 4]
    # Live updates still land on the newest candle afterwards.
    assert series.upsert(3 * MINUTE_MS, 4, 5, 4, 5, 5) is Change.LAST
    assert series.close.tolist() == [1, 2, 3, 5]


def test_series_grows_past_its_capacity_without_losing_candles() -> None:
    series = CandleSeries(MINUTE_MS, capacity=4)
    for i in range(50):
        assert series.upsert(i * MINUTE_MS, i, i + 1, i - 1, i + 0.5, 2 * i) is Change.APPEND

    assert len(series) == 50
    assert series.ts.tolist() == [i * MINUTE_MS for i in range(50)]
    assert series.open.tolist() == list(range(50))
    assert series.high.tolist() == [i + 1 for i in range(50)]
    assert series.low.tolist() == [i - 1 for i in range(50)]
    assert series.close.tolist() == [i + 0.5 for i in range(50)]
    assert series.volume.tolist() == [2 * i for i in range(50)]


def test_snapshot_stays_valid_after_the_series_changes() -> None:
    series = series_of((0, 1, 1, 1, 1, 1), capacity=1)
    snap = series.snapshot()
    series.upsert(0, 9, 9, 9, 9, 9)
    for i in range(1, 10):
        series.upsert(i * MINUTE_MS, 2, 2, 2, 2, 2)
    assert snap.ts.tolist() == [0]
    assert snap.close.tolist() == [1]


def test_replace_swaps_the_whole_series() -> None:
    series = series_of((0, 1, 1, 1, 1, 1))
    version = series.version
    data = minutes(10 * MINUTE_MS, [5, 6, 7])

    series.replace(data)

    assert series.ts.tolist() == data.ts.tolist()
    assert series.close.tolist() == [5, 6, 7]
    assert series.version > version
    assert series.upsert(13 * MINUTE_MS, 7, 8, 7, 8, 1) is Change.APPEND


def test_upsert_rows_skips_incomplete_rows_and_reports_the_widest_change() -> None:
    series = series_of((0, 1, 1, 1, 1, 1), (MINUTE_MS, 2, 2, 2, 2, 2))

    assert series.upsert_rows([[MINUTE_MS, 2, 3, 2, 3, 3]]) is Change.LAST
    assert series.upsert_rows([[MINUTE_MS, 2, 3, 2, 3, 4], [2 * MINUTE_MS, 3, 3, 3, 3, 1]]) is Change.APPEND
    assert series.upsert_rows([[0, 1, 1, 1, 1, 9], [2 * MINUTE_MS, 3, 4, 3, 4, 2]]) is Change.HISTORY
    incomplete: list[Any] = [3 * MINUTE_MS, None, 1, 1, 1, 1]  # as ccxt sends a gap
    assert series.upsert_rows([incomplete]) is Change.NONE
    assert series.ts.tolist() == [0, MINUTE_MS, 2 * MINUTE_MS]
    assert series.volume.tolist() == [9, 4, 2]


# -- OHLCV ---------------------------------------------------------------------


def test_ohlcv_rows_with_a_missing_value_are_dropped() -> None:
    rows: list[list[float | int | None]] = [
        [0, 1.0, 2.0, 0.5, 1.5, 10.0],
        [MINUTE_MS, None, 2.0, 0.5, 1.5, 10.0],
        [2 * MINUTE_MS, 1.5, 2.5, 1.0, 2.0, None],
        [3 * MINUTE_MS, 2.0, 3.0, 1.5, 2.5, 12.0],
    ]
    data = OHLCV.from_rows(rows)

    assert data.ts.tolist() == [0, 3 * MINUTE_MS]
    assert data.ts.dtype == np.int64
    assert data.to_rows() == [rows[0], rows[3]]
    assert all(isinstance(row[0], int) for row in data.to_rows())


def test_ohlcv_rows_without_six_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="six columns"):
        OHLCV.from_rows([[0, 1.0, 2.0]])


def test_empty_rows_give_empty_candles() -> None:
    assert len(OHLCV.from_rows([])) == 0
    assert len(resample(OHLCV.empty(), HOUR_MS)) == 0


# -- resample --------------------------------------------------------------------


def test_four_hour_candles_open_at_utc_multiples_of_four_hours() -> None:
    start = utc_ms(2024, 3, 5, 1, 30)
    data = minutes(start, [100 + (i % 37) for i in range(10 * 60)])  # 01:30 .. 11:29

    out = resample(data, 4 * HOUR_MS)

    assert [utc(t).strftime("%H:%M") for t in out.ts] == ["00:00", "04:00", "08:00"]
    bounds = [start, utc_ms(2024, 3, 5, 4), utc_ms(2024, 3, 5, 8), start + 10 * HOUR_MS]
    for k in range(3):
        inside = (data.ts >= bounds[k]) & (data.ts < bounds[k + 1])
        assert out.open[k] == data.open[inside][0]
        assert out.high[k] == data.high[inside].max()
        assert out.low[k] == data.low[inside].min()
        assert out.close[k] == data.close[inside][-1]
        assert out.volume[k] == data.volume[inside].sum()


def test_daily_candles_open_at_utc_midnight() -> None:
    start = utc_ms(2024, 3, 5, 18)
    hours = OHLCV(
        start + HOUR_MS * np.arange(12, dtype=np.int64),  # 18:00 on the 5th to 05:00 on the 6th
        np.arange(12.0) + 100,
        np.arange(12.0) + 101,
        np.arange(12.0) + 99,
        np.arange(12.0) + 100.5,
        np.ones(12),
    )

    out = resample(hours, DAY_MS)

    assert [utc(t) for t in out.ts] == [
        dt.datetime(2024, 3, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 3, 6, tzinfo=dt.UTC),
    ]
    assert out.open.tolist() == [100, 106]
    assert out.close.tolist() == [105.5, 111.5]
    assert out.high.tolist() == [106, 112]
    assert out.low.tolist() == [99, 105]
    assert out.volume.tolist() == [6, 6]


def test_partial_last_bucket_is_kept_as_the_live_candle() -> None:
    data = minutes(0, [10, 11, 12, 13, 14, 15, 16])  # 5m buckets: [0..4], [5, 6]

    out = resample(data, 5 * MINUTE_MS)

    assert out.ts.tolist() == [0, 5 * MINUTE_MS]
    assert out.open.tolist() == [10, 14]
    assert out.close.tolist() == [14, 16]
    assert out.volume.tolist() == [1 + 2 + 3 + 4 + 5, 6 + 7]


def test_resampling_to_the_same_timeframe_changes_nothing() -> None:
    data = minutes(utc_ms(2024, 1, 1), [1, 3, 2, 5, 4])
    out = resample(data, MINUTE_MS)
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert getattr(out, name).tolist() == getattr(data, name).tolist()


def test_candles_from_trades_are_exact() -> None:
    base = utc_ms(2024, 6, 1, 12, 0)
    trades = [  # (ts, price, amount), time-ordered; minute 2 has no trade
        (base + 1_000, 100.0, 0.5),
        (base + 20_000, 103.5, 0.25),
        (base + 40_000, 99.0, 1.0),
        (base + 59_999, 101.0, 2.0),
        (base + 60_000, 101.5, 0.125),
        (base + 3 * MINUTE_MS + 5, 98.0, 3.0),
        (base + 3 * MINUTE_MS + 6, 98.0, 1.0),
    ]
    ts, price, amount = (np.array(col) for col in zip(*trades, strict=True))

    out = candles_from_trades(ts, price, amount, MINUTE_MS)

    assert out.to_rows() == [
        [base, 100.0, 103.5, 99.0, 101.0, 3.75],
        [base + MINUTE_MS, 101.5, 101.5, 101.5, 101.5, 0.125],
        [base + 3 * MINUTE_MS, 98.0, 98.0, 98.0, 98.0, 4.0],
    ]


def test_candles_from_no_trades_are_empty() -> None:
    empty = np.array([])
    assert len(candles_from_trades(empty, empty, empty, MINUTE_MS)) == 0


def test_replaying_an_older_candle_unchanged_is_no_change() -> None:
    # A stream that replays its cache must not make the chart reload.
    series = CandleSeries(MINUTE_MS)
    series.upsert(0, 1.0, 2.0, 0.5, 1.5, 10.0)
    series.upsert(MINUTE_MS, 1.5, 2.5, 1.0, 2.0, 5.0)
    version = series.version
    assert series.upsert(0, 1.0, 2.0, 0.5, 1.5, 10.0) is Change.NONE
    assert series.version == version
    assert series.upsert(0, 1.0, 2.0, 0.5, 1.6, 10.0) is Change.HISTORY  # a real correction


# -- merging downloaded or stored candles into a live series -------------------------
def _ohlcv(ts: list[int], value: float) -> OHLCV:
    t = np.array(ts, dtype=np.int64)
    return OHLCV(t, *(np.full(len(t), value) for _ in range(5)))


def _series(ts: list[int], value: float) -> CandleSeries:
    series = CandleSeries(60_000)
    series.replace(_ohlcv(ts, value))
    return series


def test_merge_fills_a_hole_and_the_download_wins_where_both_have_a_candle() -> None:
    m = 60_000
    series = _series([0, m, 5 * m, 6 * m], 1.0)
    series.merge(_ohlcv([m, 2 * m, 3 * m, 4 * m], 2.0))
    assert series.ts.tolist() == [0, m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m]
    assert series.close.tolist() == [1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]


def test_merge_never_overwrites_the_live_candle() -> None:
    m = 60_000
    series = _series([0, m, 2 * m], 1.0)
    version = series.version
    series.merge(_ohlcv([m, 2 * m, 3 * m], 2.0))
    assert series.ts.tolist() == [0, m, 2 * m]
    assert series.close.tolist() == [1.0, 2.0, 1.0]
    assert series.version > version


def test_merge_of_older_candles_prepends_in_order() -> None:
    m = 60_000
    series = _series([10 * m, 11 * m], 1.0)
    series.merge(_ohlcv([7 * m, 8 * m, 9 * m], 3.0))
    assert series.ts.tolist() == [7 * m, 8 * m, 9 * m, 10 * m, 11 * m]
    assert series.open.tolist() == [3.0, 3.0, 3.0, 1.0, 1.0]
    series.upsert(12 * m, 5, 5, 5, 5, 5)  # still growable at the live end
    assert series.ts[-1] == 12 * m and len(series) == 6
