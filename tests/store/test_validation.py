"""Candle validation: every kind of bad candle is rejected and counted, good ones kept in order."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.errors import UnsupportedTimeframeError
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store.validation import REASONS, validate

T0 = 1_700_000_040_000  # a whole minute
Row = tuple[int, float, float, float, float, float]


def good_row(i: int, step: int = MINUTE_MS) -> Row:
    price = 100.0 + i
    return (T0 + i * step, price, price + 2.0, price - 2.0, price + 1.0, 10.0 + i)


def batch(rows: list[Row]) -> OHLCV:
    return OHLCV(
        np.array([r[0] for r in rows], dtype=np.int64),
        *(np.array([r[k] for r in rows], dtype=np.float64) for k in range(1, 6)),
    )


def with_values(i: int, **changes: float) -> Row:
    ts, o, h, l, c, v = good_row(i)
    values = {"open": o, "high": h, "low": l, "close": c, "volume": v, **changes}
    return (ts, values["open"], values["high"], values["low"], values["close"], values["volume"])


def test_a_clean_batch_is_kept_whole() -> None:
    data = batch([good_row(i) for i in range(5)])
    result = validate(data, "1m")
    assert result.rejected == {}
    assert result.reordered == 0
    assert result.clean
    assert np.array_equal(result.good.ts, data.ts)
    assert np.array_equal(result.good.close, data.close)
    assert result.summary() == "accepted all 5 candles"


def test_boundary_values_are_valid() -> None:
    # high equal to open/close, low equal to open/close, zero volume: all legitimate
    flat = (T0, 5.0, 5.0, 5.0, 5.0, 0.0)
    result = validate(batch([flat]), "1m")
    assert result.rejected == {}
    assert len(result.good) == 1


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (with_values(1, close=float("nan")), "not_finite"),
        (with_values(1, volume=float("inf")), "not_finite"),
        (with_values(1, high=float("-inf")), "not_finite"),
        (with_values(1, high=90.0, low=99.0), "low_above_high"),
        (with_values(1, high=101.5), "high_below_open_close"),  # close is 102
        (with_values(1, open=104.0, high=104.0, low=100.0, close=99.5), "low_above_open_close"),
        (with_values(1, volume=-0.5), "negative_volume"),
        ((T0 + MINUTE_MS + 1, *good_row(1)[1:]), "misaligned"),
    ],
)
def test_each_kind_of_bad_candle_is_rejected_with_its_reason(bad: Row, reason: str) -> None:
    result = validate(batch([good_row(0), bad, good_row(2)]), "1m")
    assert result.rejected == {reason: 1}
    assert result.good.ts.tolist() == [T0, T0 + 2 * MINUTE_MS]


def test_counts_per_reason_in_one_batch() -> None:
    rows = [good_row(i) for i in range(20)]
    rows[1] = with_values(1, high=101.0)  # high below close (102)
    rows[2] = with_values(2, high=101.5)
    rows[3] = (rows[3][0] + 30_000, *rows[3][1:])  # half a minute off
    rows[4] = with_values(4, volume=-1.0)
    rows[5] = with_values(5, volume=-2.0)
    rows[6] = with_values(6, volume=-3.0)
    rows[7] = with_values(7, open=float("nan"))
    rows[8] = with_values(8, low=111.0, high=107.0)
    rows[9] = with_values(9, open=112.0, low=110.0, high=112.0, close=109.5)
    result = validate(batch(rows), "1m")
    assert result.rejected == {
        "not_finite": 1,
        "low_above_high": 1,
        "high_below_open_close": 2,
        "low_above_open_close": 1,
        "negative_volume": 3,
        "misaligned": 1,
    }
    assert list(result.rejected) == [r for r in REASONS if r in result.rejected]  # reported in a fixed order
    assert result.rejected_count == 9
    assert len(result.good) == 11
    assert result.received == 20


def test_a_candle_is_counted_once_under_its_first_reason() -> None:
    # NaN close and negative volume and misaligned: counted as not finite only
    bad = (T0 + 17, 1.0, 2.0, 0.5, float("nan"), -1.0)
    result = validate(batch([good_row(0), bad]), "1m")
    assert result.rejected == {"not_finite": 1}


def test_alignment_follows_the_timeframe() -> None:
    rows = [good_row(i, step=5 * MINUTE_MS) for i in range(4)]
    rows.append((T0 + 21 * MINUTE_MS, 1.0, 2.0, 0.5, 1.5, 1.0))  # a whole minute, not a whole 5 minutes
    t0_5m = T0 - T0 % (5 * MINUTE_MS)
    rows = [(r[0] - T0 + t0_5m, *r[1:]) for r in rows]
    result = validate(batch(rows), "5m")
    assert result.rejected == {"misaligned": 1}
    assert "not aligned to 5m" in result.summary()


def test_duplicates_keep_the_last_one() -> None:
    first = good_row(1)
    later = (first[0], 200.0, 205.0, 199.0, 204.0, 50.0)  # the same candle, seen again later
    result = validate(batch([good_row(0), first, good_row(2), later]), "1m")
    assert result.rejected == {"duplicate": 1}
    assert result.good.ts.tolist() == [T0, T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]
    assert result.good.close.tolist() == [101.0, 204.0, 103.0]


def test_a_bad_duplicate_does_not_push_out_the_good_one() -> None:
    good = good_row(1)
    bad = (good[0], 1.0, 0.5, 2.0, 1.0, 1.0)  # low above high
    result = validate(batch([good_row(0), good, bad]), "1m")
    assert result.rejected == {"low_above_high": 1}
    assert result.good.close.tolist() == [101.0, 102.0]


def test_out_of_order_candles_are_sorted_not_rejected() -> None:
    rows = [good_row(i) for i in range(6)]
    shuffled = [rows[3], rows[0], rows[1], rows[5], rows[2], rows[4]]
    result = validate(batch(shuffled), "1m")
    assert result.rejected == {}
    assert result.reordered == 4  # rows 0, 1, 2 and 4 came after a later candle
    assert result.good.ts.tolist() == [r[0] for r in rows]
    assert result.good.open.tolist() == [r[1] for r in rows]
    assert not result.clean
    assert result.summary() == "accepted all 6 candles; sorted 4 candles that arrived out of time order"


def test_newest_first_input_comes_out_oldest_first() -> None:
    rows = [good_row(i) for i in range(100)]
    result = validate(batch(rows[::-1]), "1m")
    assert result.good.ts.tolist() == [r[0] for r in rows]
    assert result.reordered == 99


def test_summary_names_counts_and_reasons_in_plain_words() -> None:
    rows = [good_row(i) for i in range(10)]
    rows[2] = with_values(2, high=101.0)
    rows[3] = with_values(3, high=102.0)
    rows[7] = (rows[7][0] + 1, *rows[7][1:])
    result = validate(batch(rows), "1m")
    assert result.summary() == ("rejected 3 of 10 candles: 2 with high below open/close, 1 not aligned to 1m")
    one = validate(batch([good_row(0), with_values(1, volume=-1.0)]), "1m")
    assert one.summary() == "rejected 1 of 2 candles: 1 with negative volume"


def test_large_counts_get_thousands_separators() -> None:
    n = 2_500
    ts = T0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    price = np.full(n, 10.0)
    volume = np.full(n, -1.0)
    result = validate(OHLCV(ts, price, price, price, price, volume), "1m")
    assert result.summary() == "rejected 2,500 of 2,500 candles: 2,500 with negative volume"
    assert len(result.good) == 0


def test_empty_batch() -> None:
    result = validate(OHLCV.empty(), "1h")
    assert len(result.good) == 0
    assert result.rejected == {}
    assert result.summary() == "accepted all 0 candles"


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(UnsupportedTimeframeError):
        validate(batch([good_row(0)]), "7m")


def test_columns_of_different_lengths_are_a_programming_error() -> None:
    data = batch([good_row(0), good_row(1)])
    broken = OHLCV(data.ts, data.open, data.high, data.low, data.close, data.volume[:1])
    with pytest.raises(ValueError, match="length"):
        validate(broken, "1m")


def test_the_good_candles_are_contiguous_arrays_of_the_right_types() -> None:
    rows = [good_row(i) for i in range(6)]
    rows[2] = with_values(2, volume=-1.0)
    result = validate(batch(rows[::-1]), "1m")
    for name in ("ts", "open", "high", "low", "close", "volume"):
        column = getattr(result.good, name)
        assert column.flags.c_contiguous
        assert column.dtype == (np.int64 if name == "ts" else np.float64)
