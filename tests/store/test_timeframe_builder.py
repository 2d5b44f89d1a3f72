"""Building higher timeframes from stored lower ones, on real SQLite files:
the aggregate is exact, only buckets that have ended are built, buckets with
holes are built from what exists, and a bad result never reaches the store."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.errors import UnsupportedTimeframeError
from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore, SeriesKey, timeframe_builder
from terminal.store.sync_records import SyncRecords
from terminal.store.timeframe_builder import build_timeframe

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 1_700_006_400_000  # a UTC midnight (2023-11-15)
EX, SYM = "binance", "BTC/USDT"


def minutes(start: int, n: int, seed: int = 0) -> OHLCV:
    """``n`` consistent 1m candles from ``start`` (low <= open, close <= high)."""
    rng = np.random.default_rng(seed)
    ts = start + MINUTE * np.arange(n, dtype=np.int64)
    o = rng.uniform(100, 200, n)
    c = rng.uniform(100, 200, n)
    h = np.maximum(o, c) + rng.uniform(0, 5, n)
    l = np.minimum(o, c) - rng.uniform(0, 5, n)
    return OHLCV(ts, o, h, l, c, rng.uniform(0, 5, n))


def test_hours_are_the_exact_aggregate_of_their_minutes(store: CandleStore) -> None:
    data = minutes(T0, 3 * 60)
    store.write(EX, SYM, "1m", data)

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 3
    hours = store.read(EX, SYM, "1h")
    np.testing.assert_array_equal(hours.ts, [T0, T0 + HOUR, T0 + 2 * HOUR])
    for k in range(3):
        part = slice(60 * k, 60 * (k + 1))
        assert hours.open[k] == data.open[part][0]
        assert hours.high[k] == data.high[part].max()
        assert hours.low[k] == data.low[part].min()
        assert hours.close[k] == data.close[part][-1]
        assert hours.volume[k] == pytest.approx(data.volume[part].sum())


def test_the_hour_still_forming_is_left_out_until_its_last_minute_is_stored(store: CandleStore) -> None:
    store.write(EX, SYM, "1m", minutes(T0, 2 * 60 + 59))  # 00:00 .. 02:58

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 2
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + HOUR])

    store.write(EX, SYM, "1m", minutes(T0 + 2 * HOUR + 59 * MINUTE, 1, seed=1))  # 02:59 arrives
    assert build_timeframe(store, EX, SYM, "1m", "1h") == 3
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + HOUR, T0 + 2 * HOUR])


def test_a_bucket_with_holes_is_built_from_the_candles_it_has(store: CandleStore) -> None:
    data = minutes(T0, 3 * 60)
    keep = np.ones(len(data), dtype=bool)
    keep[70:100] = False  # half an hour missing in the second hour
    keep[0] = False  # and the first minute of the first
    holey = OHLCV(*(getattr(data, n)[keep] for n in ("ts", "open", "high", "low", "close", "volume")))
    store.write(EX, SYM, "1m", holey)

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 3
    hours = store.read(EX, SYM, "1h")
    assert hours.ts[0] == T0, "the bucket keeps its aligned open time"
    assert hours.open[0] == data.open[1], "the first candle it has opens it"
    second = holey.ts // HOUR == (T0 + HOUR) // HOUR
    assert hours.volume[1] == pytest.approx(holey.volume[second].sum())
    assert hours.high[1] == holey.high[second].max()


def test_a_whole_hour_missing_gives_no_candle_for_it(store: CandleStore) -> None:
    data = minutes(T0, 3 * 60)
    keep = (data.ts < T0 + HOUR) | (data.ts >= T0 + 2 * HOUR)
    store.write(
        EX,
        SYM,
        "1m",
        OHLCV(*(getattr(data, n)[keep] for n in ("ts", "open", "high", "low", "close", "volume"))),
    )

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 2
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + 2 * HOUR])


def test_a_range_builds_only_the_buckets_opening_inside_it(store: CandleStore) -> None:
    store.write(EX, SYM, "1m", minutes(T0, 6 * 60))

    # from 01:30 (rounded up to 02:00) to 04:10 (the 04:00 bucket opens inside it)
    written = build_timeframe(
        store, EX, SYM, "1m", "1h", T0 + HOUR + 30 * MINUTE, T0 + 4 * HOUR + 10 * MINUTE
    )
    assert written == 3
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0 + 2 * HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR])


def test_days_are_aligned_to_utc_midnight_and_built_across_windows(
    store: CandleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeframe_builder, "WINDOW_CANDLES", 1500)  # about one day per window
    data = minutes(T0 + 13 * MINUTE, 4 * 1440 - 13)
    store.write(EX, SYM, "1m", data)
    seen: list[float] = []

    assert build_timeframe(store, EX, SYM, "1m", "1d", progress=seen.append) == 4
    days = store.read(EX, SYM, "1d")
    np.testing.assert_array_equal(days.ts, T0 + DAY * np.arange(4))
    assert days.volume.sum() == pytest.approx(data.volume.sum())
    assert seen[-1] == 1.0 and len(seen) == 4


def test_rebuilding_replaces_the_candles_and_adds_no_duplicates(store: CandleStore) -> None:
    store.write(EX, SYM, "1m", minutes(T0, 120))
    build_timeframe(store, EX, SYM, "1m", "15m")
    store.write(EX, SYM, "1m", minutes(T0, 120, seed=5))  # corrected minutes
    assert build_timeframe(store, EX, SYM, "1m", "15m") == 8
    quarters = store.read(EX, SYM, "15m")
    assert len(quarters) == 8
    assert quarters.open[0] == store.read(EX, SYM, "1m").open[0]


def test_impossible_timeframes_are_refused_in_plain_words(store: CandleStore) -> None:
    store.write(EX, SYM, "1h", minutes(T0, 10))
    with pytest.raises(UnsupportedTimeframeError, match="cannot be built from"):
        build_timeframe(store, EX, SYM, "1h", "1m")
    with pytest.raises(UnsupportedTimeframeError):
        build_timeframe(store, EX, SYM, "1h", "1h")


def test_nothing_stored_builds_nothing(store: CandleStore) -> None:
    assert build_timeframe(store, EX, SYM, "1m", "1h") == 0
    assert store.coverage() == []


def test_a_build_stopped_by_its_progress_keeps_whole_windows_only(
    store: CandleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeframe_builder, "WINDOW_CANDLES", 120)  # two hours per window
    store.write(EX, SYM, "1m", minutes(T0, 8 * 60))

    class StopError(Exception):
        pass

    def stop_after_first(fraction: float) -> None:
        raise StopError

    with pytest.raises(StopError):
        build_timeframe(store, EX, SYM, "1m", "1h", progress=stop_after_first)
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + HOUR])


def test_a_bad_stored_candle_spoils_only_its_own_bucket(store: CandleStore) -> None:
    data = minutes(T0, 3 * 60)
    data.volume[75] = np.nan  # written around validation (an old file, a bug): the store does not judge
    store.write(EX, SYM, "1m", data)

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 2
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + 2 * HOUR])


def test_hours_wholly_inside_a_confirmed_quiet_stretch_are_quiet_too(store: CandleStore) -> None:
    data = minutes(T0, 6 * 60)
    keep = (data.ts < T0 + HOUR + 30 * MINUTE) | (data.ts >= T0 + 4 * HOUR)  # 01:30 .. 03:59 empty
    store.write(
        EX,
        SYM,
        "1m",
        OHLCV(*(getattr(data, n)[keep] for n in ("ts", "open", "high", "low", "close", "volume"))),
    )
    records = SyncRecords(store)
    records.remember_no_trade(SeriesKey(EX, SYM, "1m"), [(T0 + HOUR + 30 * MINUTE, T0 + 4 * HOUR)])

    assert build_timeframe(store, EX, SYM, "1m", "1h") == 4
    np.testing.assert_array_equal(store.read(EX, SYM, "1h").ts, [T0, T0 + HOUR, T0 + 4 * HOUR, T0 + 5 * HOUR])
    # 02:00 and 03:00 are wholly quiet; 01:00 had half an hour of trading
    assert records.no_trade(SeriesKey(EX, SYM, "1h")) == [(T0 + 2 * HOUR, T0 + 4 * HOUR)]
