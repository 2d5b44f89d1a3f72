"""Gaps in candle histories, and the range arithmetic the sync and data manager use."""

from __future__ import annotations

import numpy as np
import pytest

from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store.gaps import (
    Gap,
    covered_ranges,
    find_gaps,
    merge_ranges,
    subtract,
    subtract_ranges,
    total_missing,
)

M = MINUTE_MS
T0 = 1_700_000_040_000  # a whole minute
HOUR = 60 * M


def minutes(*indices: int) -> np.ndarray:
    return T0 + M * np.array(indices, dtype=np.int64)


def gap(first: int, stop: int) -> Gap:
    """Minutes ``first`` .. ``stop - 1`` (counted from T0) missing."""
    return Gap(T0 + first * M, T0 + stop * M, stop - first)


def test_no_gaps_in_a_complete_run() -> None:
    assert find_gaps(minutes(*range(10)), "1m") == []
    assert find_gaps(minutes(*range(10)), "1m", T0, T0 + 10 * M) == []


def test_a_gap_in_the_middle() -> None:
    gaps = find_gaps(minutes(0, 1, 2, 6, 7), "1m")
    assert gaps == [gap(3, 6)]
    assert gaps[0].missing == 3
    assert gaps[0].step_ms == M


def test_several_gaps() -> None:
    assert find_gaps(minutes(0, 2, 3, 7, 9), "1m") == [gap(1, 2), gap(4, 7), gap(8, 9)]


def test_a_gap_at_the_start_of_the_wanted_range() -> None:
    assert find_gaps(minutes(5, 6, 7), "1m", start_ms=T0) == [gap(0, 5)]


def test_a_gap_at_the_end_of_the_wanted_range() -> None:
    assert find_gaps(minutes(0, 1, 2), "1m", end_ms=T0 + 10 * M) == [gap(3, 10)]


def test_gaps_at_start_middle_and_end() -> None:
    gaps = find_gaps(minutes(2, 3, 5, 6), "1m", T0, T0 + 9 * M)
    assert gaps == [gap(0, 2), gap(4, 5), gap(7, 9)]
    assert total_missing(gaps) == 5


def test_unaligned_bounds_take_the_candles_opening_inside_them() -> None:
    # start mid-minute: the candle opening at T0 is not wanted; end mid-minute: the one opening before it is
    gaps = find_gaps(minutes(), "1m", T0 + 1, T0 + 3 * M + 1)
    assert gaps == [gap(1, 4)]


def test_candles_outside_the_wanted_range_are_ignored() -> None:
    ts = minutes(0, 1, 5, 6, 20, 21)
    assert find_gaps(ts, "1m", T0 + 5 * M, T0 + 7 * M) == []
    assert find_gaps(ts, "1m", T0 + 4 * M, T0 + 10 * M) == [gap(4, 5), gap(7, 10)]


def test_no_candles_at_all() -> None:
    assert find_gaps(minutes(), "1m", T0, T0 + 4 * M) == [gap(0, 4)]
    assert find_gaps(minutes(), "1m") == []
    assert find_gaps(minutes(), "1m", start_ms=T0) == []
    assert find_gaps(minutes(0), "1m", T0 + 5 * M, T0 + 5 * M) == []  # empty range


def test_other_timeframes() -> None:
    day = 24 * HOUR
    start = 19_000 * day
    ts = start + day * np.array([0, 1, 4], dtype=np.int64)
    assert find_gaps(ts, "1d") == [Gap(start + 2 * day, start + 4 * day, 2)]


def test_a_large_history_is_scanned_without_a_python_loop_per_candle() -> None:
    ts = T0 + M * np.arange(1_000_000, dtype=np.int64)
    ts = np.delete(ts, [10, 11, 500_000])
    assert find_gaps(ts, "1m") == [gap(10, 12), gap(500_000, 500_001)]


def test_unsorted_or_unaligned_input_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        find_gaps(minutes(2, 1), "1m")
    with pytest.raises(ValueError):
        find_gaps(minutes(1, 1), "1m")
    with pytest.raises(ValueError):
        find_gaps(minutes(0) + 1, "1m")


def test_a_gap_is_a_whole_number_of_candles() -> None:
    with pytest.raises(ValueError):
        Gap(T0, T0 + 90_001, 2)
    with pytest.raises(ValueError):
        Gap(T0, T0, 0)


def test_known_no_trade_ranges_are_not_gaps_to_fetch() -> None:
    gaps = [gap(0, 5), gap(10, 20), gap(30, 31)]
    no_trade = [(T0 + 10 * M, T0 + 20 * M)]  # exactly the middle gap
    assert subtract(gaps, no_trade) == [gap(0, 5), gap(30, 31)]


def test_a_no_trade_range_inside_a_gap_splits_it() -> None:
    assert subtract([gap(0, 10)], [(T0 + 3 * M, T0 + 6 * M)]) == [gap(0, 3), gap(6, 10)]


def test_no_trade_ranges_trim_both_ends_of_a_gap() -> None:
    no_trade = [(T0 - HOUR, T0 + 2 * M), (T0 + 8 * M, T0 + HOUR)]
    assert subtract([gap(0, 10)], no_trade) == [gap(2, 8)]


def test_unaligned_no_trade_ranges_cover_the_candles_opening_inside_them() -> None:
    # [T0 + 2m + 1ms, T0 + 5m + 1ms) holds the open times of minutes 3, 4 and 5
    assert subtract([gap(0, 10)], [(T0 + 2 * M + 1, T0 + 5 * M + 1)]) == [gap(0, 3), gap(6, 10)]
    # a sliver between two open times covers no candle
    assert subtract([gap(0, 10)], [(T0 + 2 * M + 1, T0 + 3 * M)]) == [gap(0, 10)]


def test_overlapping_and_unsorted_no_trade_ranges() -> None:
    no_trade = [(T0 + 7 * M, T0 + 9 * M), (T0 + 1 * M, T0 + 3 * M), (T0 + 2 * M, T0 + 4 * M)]
    assert subtract([gap(0, 10), gap(12, 14)], no_trade) == [gap(0, 1), gap(4, 7), gap(9, 10), gap(12, 14)]


def test_subtracting_nothing_keeps_the_gaps() -> None:
    gaps = [gap(0, 2), gap(5, 6)]
    assert subtract(gaps, []) == gaps


def test_gaps_found_then_no_trade_subtracted_is_what_to_fetch() -> None:
    ts = minutes(0, 1, 2, 40, 41)
    wanted = find_gaps(ts, "1m", T0, T0 + 50 * M)
    assert wanted == [gap(3, 40), gap(42, 50)]
    assert subtract(wanted, [(T0 + 3 * M, T0 + 40 * M)]) == [gap(42, 50)]


def test_merge_ranges_joins_overlapping_and_touching_ranges() -> None:
    assert merge_ranges([(5, 7), (1, 3), (3, 4), (6, 9), (12, 12), (20, 10)]) == [(1, 4), (5, 9)]
    assert merge_ranges([]) == []


def test_subtract_ranges() -> None:
    assert subtract_ranges([(0, 10)], [(2, 3), (5, 7)]) == [(0, 2), (3, 5), (7, 10)]
    assert subtract_ranges([(0, 10), (20, 30)], [(-5, 25)]) == [(25, 30)]
    assert subtract_ranges([(0, 10)], [(0, 10)]) == []
    assert subtract_ranges([(0, 10)], [(10, 20), (-10, 0)]) == [(0, 10)]
    assert subtract_ranges([(0, 10), (5, 15)], []) == [(0, 15)]


def test_covered_ranges_are_the_runs_of_consecutive_candles() -> None:
    assert covered_ranges(minutes(0, 1, 2, 6, 7, 9), "1m") == [
        (T0, T0 + 3 * M),
        (T0 + 6 * M, T0 + 8 * M),
        (T0 + 9 * M, T0 + 10 * M),
    ]
    assert covered_ranges(minutes(), "1m") == []
