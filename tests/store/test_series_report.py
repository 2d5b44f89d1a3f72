"""What the data manager reports per series, on a real SQLite file: gaps
apart from confirmed quiet stretches, and the sync column's words."""

from __future__ import annotations

import numpy as np

from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore, SeriesKey
from terminal.store.series_report import STALE_MS, latest_record, series_gaps, sync_status
from terminal.store.sync_records import CANCELLED, DONE, FAILED, RUNNING, SyncRecord, SyncRecords

MINUTE = 60_000
T0 = 1_700_006_400_000
KEY = SeriesKey("binance", "BTC/USDT", "1m")


def flat(ts: np.ndarray) -> OHLCV:
    one = np.ones(len(ts))
    return OHLCV(ts.astype(np.int64), one, one, one, one, one)


def test_confirmed_quiet_stretches_are_listed_apart_from_missing_candles(store: CandleStore) -> None:
    ts = T0 + MINUTE * np.arange(100)
    store.write(
        KEY.exchange, KEY.symbol, KEY.timeframe, flat(ts[(ts < T0 + 10 * MINUTE) | (ts >= T0 + 30 * MINUTE)])
    )
    records = SyncRecords(store)
    records.remember_no_trade(KEY, [(T0 + 20 * MINUTE, T0 + 25 * MINUTE)])  # inside the hole

    gaps = series_gaps(store, records, KEY)
    assert [(g.start_ms, g.missing) for g in gaps.missing_gaps] == [
        (T0 + 10 * MINUTE, 10),
        (T0 + 25 * MINUTE, 5),
    ]
    assert [(g.start_ms, g.missing) for g in gaps.no_trade] == [(T0 + 20 * MINUTE, 5)]
    assert gaps.missing == 15
    assert [quiet for _, quiet in gaps.listed()] == [False, True, False]


def test_a_series_with_misaligned_candles_says_so_instead_of_failing(store: CandleStore) -> None:
    store.write(KEY.exchange, KEY.symbol, KEY.timeframe, flat(np.array([T0, T0 + MINUTE + 7])))
    gaps = series_gaps(store, SyncRecords(store), KEY)
    assert gaps.problem == "some stored candles are not aligned to 1m" and gaps.missing == 0


def record(
    status: str, updated: int, message: str = "", target: int | None = T0 + 100 * MINUTE
) -> SyncRecord:
    return SyncRecord(KEY, "range", T0 + 40 * MINUTE, target, status, updated, message)


def test_the_sync_column_says_where_each_download_stands() -> None:
    now = T0 + 200 * MINUTE
    assert sync_status(None, T0, now) == ""
    assert sync_status(record(DONE, now), T0, now) == "complete"
    assert sync_status(record(CANCELLED, now), T0, now) == "cancelled 40%"
    assert sync_status(record(RUNNING, now - 1000), T0, now) == "downloading 40%"
    assert sync_status(record(RUNNING, now - STALE_MS - 1), T0, now) == "interrupted 40%", "a crash or a quit"
    assert (
        sync_status(record(FAILED, now, "The exchange is down."), T0, now) == "failed: The exchange is down."
    )
    # without a target the download runs to now
    assert sync_status(record(CANCELLED, now, target=None), T0, now) == "cancelled 20%"
    assert sync_status(record(CANCELLED, now), None, now) == "cancelled", "nothing stored: no percentage"


def test_an_unfinished_download_is_shown_before_a_newer_finished_one() -> None:
    stopped, finished = record(CANCELLED, T0), record(DONE, T0 + MINUTE)
    assert latest_record([finished, stopped]) is stopped
    assert latest_record([record(DONE, T0), finished]) is finished
    assert latest_record([]) is None
