"""CandleStore on real SQLite files: exact round trips, upserts that merge,
range reads across chunk boundaries, isolation of series, threads, and a
writer killed with SIGKILL."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.errors import DatabaseDamagedError, UnsupportedTimeframeError
from terminal.marketdata.candles import COLUMNS, OHLCV
from terminal.store import CandleStore, SeriesKey
from terminal.store import chunks as chunk_layout

MINUTE = 60_000
DAY = 1440 * MINUTE
T0 = 1_700_006_400_000  # a UTC midnight (2023-11-15)
REPO = Path(__file__).resolve().parents[2]


def make(start: int, n: int, step: int = MINUTE, seed: int = 0, every: int = 1) -> OHLCV:
    """``n`` candles from ``start`` (every ``every``-th step) with random values."""
    rng = np.random.default_rng(seed)
    ts = start + step * every * np.arange(n, dtype=np.int64)
    o, h, l, c = (rng.uniform(100, 200, n) for _ in range(4))
    return OHLCV(ts, o, h, l, c, rng.uniform(0, 5, n))


def same_bits(a: OHLCV, b: OHLCV) -> bool:
    """Equal column by column, bit for bit (NaN payloads and -0.0 included)."""
    if len(a) != len(b) or not np.array_equal(a.ts, b.ts):
        return False
    return all(
        np.array_equal(np.asarray(getattr(a, n)).view(np.uint64), np.asarray(getattr(b, n)).view(np.uint64))
        for n in COLUMNS
    )


def pick(data: OHLCV, mask: np.ndarray) -> OHLCV:
    return OHLCV(*(getattr(data, n)[mask] for n in ("ts", *COLUMNS)))


# -- round trips --------------------------------------------------------------------
def test_round_trip_is_bit_exact_for_every_column(tmp_path: Path) -> None:
    data = make(T0 - 3 * DAY + 17 * MINUTE, 5000)
    odd = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.7976931348623157e308])
    odd_bits = odd.view(np.uint64).copy()
    odd_bits[0] = 0x7FF8_DEAD_BEEF_0001  # a NaN with a payload
    data.open[:6] = odd_bits.view(np.float64)
    data.volume[10:16] = odd
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        assert store.write("binance", "BTC/USDT", "1m", data) == 5000
        assert same_bits(store.read("binance", "BTC/USDT", "1m"), data)
    with CandleStore(path) as store:  # and from the file, after a reopen
        back = store.read("binance", "BTC/USDT", "1m")
    assert same_bits(back, data)
    assert back.ts.dtype == np.int64 and back.close.dtype == np.float64


def test_compressed_chunks_read_back_the_same_and_mix_with_raw_ones(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    raw, packed = make(T0, 3000, seed=1), make(T0 + 2000 * MINUTE, 3000, seed=2)
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", raw)
    with CandleStore(path, compress=True) as store:
        store.write("x", "A/B", "1m", packed)
        with store.database.reading() as conn:
            codecs = {row[0] for row in conn.execute("SELECT codec FROM candle_chunk")}
        back = store.read("x", "A/B", "1m")
        assert store.verify() == []
    assert codecs == {chunk_layout.RAW, chunk_layout.ZLIB}
    expected = pick(raw, raw.ts < packed.ts[0])
    assert same_bits(back.slice(0, len(expected)), expected)
    assert same_bits(back.slice(len(expected), len(back)), packed)


def test_unsorted_input_is_stored_sorted_and_a_repeated_time_keeps_its_last_value(store: CandleStore) -> None:
    data = make(T0, 10)
    order = np.array([9, 3, 0, 5, 1, 8, 2, 7, 4, 6, 3])
    shuffled = OHLCV(*(getattr(data, n)[order].copy() for n in ("ts", *COLUMNS)))
    shuffled.close[-1] = 999.0  # the second candle at ts[3] comes last: it wins
    assert store.write("x", "A/B", "1m", shuffled) == 10
    back = store.read("x", "A/B", "1m")
    assert np.array_equal(back.ts, data.ts)
    assert back.close[3] == 999.0
    assert np.array_equal(np.delete(back.open, 3), np.delete(data.open, 3))


# -- upserts --------------------------------------------------------------------------
def test_overlapping_write_merges_and_the_newer_candle_wins(store: CandleStore) -> None:
    first = make(T0, 3 * 1440, seed=1)  # three whole days
    second = make(T0 + 2000 * MINUTE, 3000, seed=2)  # from inside day 2 into day 5
    store.write("x", "A/B", "1m", first)
    store.write("x", "A/B", "1m", second)
    back = store.read("x", "A/B", "1m")
    kept = pick(first, first.ts < second.ts[0])
    assert len(back) == len(kept) + len(second)
    assert same_bits(back.slice(0, len(kept)), kept)
    assert same_bits(back.slice(len(kept), len(back)), second)
    assert store.verify() == []


def test_candles_written_between_stored_ones_interleave_in_order(store: CandleStore) -> None:
    evens = make(T0, 2000, step=2 * MINUTE, seed=1)
    odds = make(T0 + MINUTE, 2000, step=2 * MINUTE, seed=2)
    store.write("x", "A/B", "1m", evens)
    store.write("x", "A/B", "1m", odds)
    back = store.read("x", "A/B", "1m")
    assert np.array_equal(back.ts, T0 + MINUTE * np.arange(4000))
    assert np.array_equal(back.high[0::2], evens.high) and np.array_equal(back.high[1::2], odds.high)
    assert store.verify() == []


def test_writing_the_same_candles_twice_changes_nothing(store: CandleStore) -> None:
    data = make(T0, 3000)
    store.write("x", "A/B", "1m", data)
    store.write("x", "A/B", "1m", data)
    assert same_bits(store.read("x", "A/B", "1m"), data)
    [cov] = store.coverage()
    assert (cov.candles, cov.chunks) == (3000, 3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 5000), st.integers(0, 1500), st.integers(1, 3), st.integers(0, 2**31)),
        min_size=1,
        max_size=6,
    )
)
def test_any_sequence_of_writes_reads_back_as_a_last_write_wins_map(tmp_path: Path, writes: list) -> None:
    model: dict[int, float] = {}
    path = tmp_path / f"h{abs(hash(tuple(writes)))}.sqlite"
    with CandleStore(path, check=False) as store:
        for start, n, every, seed in writes:
            data = make(T0 + start * MINUTE, n, seed=seed, every=every)
            store.write("x", "A/B", "1m", data)
            model.update(zip(data.ts.tolist(), data.close.tolist(), strict=True))
        back = store.read("x", "A/B", "1m")
        assert back.ts.tolist() == sorted(model)
        assert back.close.tolist() == [model[t] for t in sorted(model)]
        assert store.verify() == []


# -- reading ranges ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (T0, T0 + DAY),  # exactly one chunk
        (T0 + DAY - MINUTE, T0 + DAY + MINUTE),  # across a boundary
        (T0 - DAY, T0 + 10 * MINUTE),  # begins before the data
        (T0 + 2 * DAY + 5 * MINUTE, None),  # open end
        (None, T0 + DAY + 1),  # end not on a candle
        (T0 + 30_001, T0 + 3 * DAY - 1),  # neither bound on a candle
        (T0 + 5 * DAY, T0 + 6 * DAY),  # after the data
        (T0 + 100 * MINUTE, T0 + 100 * MINUTE),  # empty range
        (T0 + 100 * MINUTE, T0 + 99 * MINUTE),  # reversed
    ],
)
def test_range_reads_return_exactly_the_candles_in_start_inclusive_end_exclusive(
    store: CandleStore, start: int | None, end: int | None
) -> None:
    data = make(T0 + 7 * MINUTE, 4 * 1440 - 20)
    store.write("x", "A/B", "1m", data)
    mask = np.ones(len(data), dtype=bool)
    if start is not None:
        mask &= data.ts >= start
    if end is not None:
        mask &= data.ts < end
    assert same_bits(store.read("x", "A/B", "1m", start, end), pick(data, mask))


def test_hour_candles_use_sixty_day_chunks_and_read_back(store: CandleStore) -> None:
    hour = 60 * MINUTE
    data = make(T0, 5000, step=hour)
    store.write("x", "A/B", "1h", data)
    [cov] = store.coverage(timeframe="1h")
    assert cov.chunks == len(np.unique(data.ts // (1440 * hour)))
    assert same_bits(store.read("x", "A/B", "1h", T0 + 1000 * hour, T0 + 3000 * hour), data.slice(1000, 3000))


def test_nothing_stored_reads_as_empty_columns(store: CandleStore) -> None:
    assert len(store.read("x", "A/B", "1m")) == 0
    assert store.write("x", "A/B", "1m", OHLCV.empty()) == 0
    store.write("x", "A/B", "1m", make(T0, 10))
    empty = store.read("x", "A/B", "5m")
    assert len(empty) == 0 and empty.ts.dtype == np.int64
    assert len(store.read("x", "A/B", "1m", T0 - DAY, T0)) == 0
    assert store.coverage(exchange="nowhere") == []


def test_an_unknown_timeframe_is_refused_before_anything_is_written(store: CandleStore) -> None:
    with pytest.raises(UnsupportedTimeframeError):
        store.write("x", "A/B", "7m", make(T0, 10))
    assert store.keys() == []


# -- many series ------------------------------------------------------------------------
def test_series_are_isolated_and_coverage_reports_each(store: CandleStore) -> None:
    written = {}
    for i, (exchange, symbol, tf) in enumerate(
        (e, s, tf) for e in ("binance", "kraken") for s in ("BTC/USDT", "ETH/USDT") for tf in ("1m", "5m")
    ):
        step = 5 * MINUTE if tf == "5m" else MINUTE
        data = make(T0 + i * MINUTE * 5, 1000 + 100 * i, step=step, seed=i)
        store.write(exchange, symbol, tf, data)
        written[SeriesKey(exchange, symbol, tf)] = data
    assert store.keys() == sorted(written, key=lambda k: (k.exchange, k.symbol, k.timeframe == "5m"))
    for key, data in written.items():
        assert same_bits(store.read(key.exchange, key.symbol, key.timeframe), data)
    by_key = {cov.key: cov for cov in store.coverage()}
    for key, data in written.items():
        cov = by_key[key]
        assert (cov.first_ts, cov.last_ts, cov.candles) == (data.ts[0], data.ts[-1], len(data))
        assert cov.stored_bytes == len(data) * chunk_layout.BYTES_PER_CANDLE
    assert [c.key.symbol for c in store.coverage(exchange="kraken", timeframe="5m")] == [
        "BTC/USDT",
        "ETH/USDT",
    ]


def test_delete_removes_a_range_across_chunks_and_leaves_the_rest(store: CandleStore) -> None:
    data = make(T0, 4 * 1440)
    other = make(T0, 100, seed=9)
    store.write("x", "A/B", "1m", data)
    store.write("x", "C/D", "1m", other)
    lo, hi = T0 + 1000 * MINUTE, T0 + 3 * DAY + 10 * MINUTE  # part of day 0, days 1-2, part of day 3
    assert store.delete("x", "A/B", "1m", lo, hi) == int(((data.ts >= lo) & (data.ts < hi)).sum())
    assert same_bits(store.read("x", "A/B", "1m"), pick(data, (data.ts < lo) | (data.ts >= hi)))
    assert store.coverage(symbol="A/B")[0].chunks == 2
    assert store.delete("x", "A/B", "1m", T0 + 20 * MINUTE, T0 + 5 * MINUTE) == 0  # an empty range
    assert store.delete("x", "A/B", "1m", end_ms=T0 + 10 * MINUTE) == 10
    assert store.delete("x", "A/B", "1m") == len(data) - int(((data.ts >= lo) & (data.ts < hi)).sum()) - 10
    assert store.keys() == [SeriesKey("x", "C/D", "1m")]
    assert store.delete("x", "A/B", "1m") == 0
    assert same_bits(store.read("x", "C/D", "1m"), other)
    assert store.verify() == []


def test_a_damaged_chunk_is_reported_not_misread(store: CandleStore) -> None:
    store.write("x", "A/B", "1m", make(T0, 3000))
    with store.database.writing() as conn:
        conn.execute("UPDATE candle_chunk SET data = substr(data, 1, 100) WHERE chunk_start = ?", (T0 + DAY,))
    with pytest.raises(DatabaseDamagedError) as caught:
        store.read("x", "A/B", "1m")
    assert "damaged" in caught.value.user_message()
    assert len(store.read("x", "A/B", "1m", T0, T0 + DAY)) == 1440  # the sound chunks still read
    [problem] = store.verify()
    assert str(T0 + DAY) in problem and "bytes" in problem


# -- threads -----------------------------------------------------------------------------
def test_a_reader_thread_sees_only_whole_writes_while_a_writer_thread_writes(store: CandleStore) -> None:
    """Each write replaces three days (three chunks) with candles all equal to
    the round number: a read that saw part of a write would mix rounds."""
    n = 3 * 1440
    ts = T0 - 100 * MINUTE + MINUTE * np.arange(n, dtype=np.int64)  # spans four chunks
    store.write("x", "A/B", "1m", OHLCV(ts, *(np.zeros(n) for _ in COLUMNS)))
    rounds, stop, seen, failures = 60, threading.Event(), [], []

    def writer() -> None:
        try:
            for r in range(1, rounds + 1):
                store.write("x", "A/B", "1m", OHLCV(ts, *(np.full(n, float(r)) for _ in COLUMNS)))
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            stop.set()

    def reader() -> None:
        try:
            while not stop.is_set() or len(seen) < 3:
                back = store.read("x", "A/B", "1m")
                assert np.array_equal(back.ts, ts)
                values = np.concatenate([getattr(back, c) for c in COLUMNS])
                assert values.min() == values.max(), "a read mixed two writes"
                seen.append(values[0])
        except Exception as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert seen == sorted(seen) and len(set(seen)) > 1, "the reader never saw the writer progress"
    assert seen[-1] == rounds or store.read("x", "A/B", "1m").close[0] == rounds


def test_writes_from_several_threads_are_serialised_and_all_kept(store: CandleStore) -> None:
    parts = [make(T0 + i * 700 * MINUTE, 1000, seed=i) for i in range(6)]  # each overlaps the next

    def write(i: int) -> None:
        for _ in range(3):
            store.write("x", "A/B", "1m", parts[i])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    back = store.read("x", "A/B", "1m")
    assert np.array_equal(back.ts, np.unique(np.concatenate([p.ts for p in parts])))
    assert store.verify() == []
