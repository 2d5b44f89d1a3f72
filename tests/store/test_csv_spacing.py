"""How far apart a CSV file's candles are: the timeframe the import form
preselects, and the warning before candles are filed under another one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from terminal.marketdata.timeframes import MINUTE_MS, TIMEFRAMES
from terminal.store.csv_io import CsvMapping, sniff
from terminal.store.csv_sniff import Spacing, duration_words, preview_spacing, spacing, timeframe_warning
from terminal.store.gaps import find_gaps

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a whole day
HOUR = 60 * MINUTE_MS


def times(n: int, step: int, start: int = T0) -> np.ndarray:
    return start + step * np.arange(n, dtype=np.int64)


@pytest.mark.parametrize("timeframe", list(TIMEFRAMES))
def test_the_step_between_candles_is_matched_to_a_timeframe(timeframe: str) -> None:
    assert spacing(times(50, TIMEFRAMES[timeframe])) == Spacing(TIMEFRAMES[timeframe], timeframe)


def test_the_most_common_step_wins_over_gaps_weekends_and_disorder() -> None:
    days = times(60, 1440 * MINUTE_MS)
    weekdays = days[(np.arange(60) % 7) < 5]  # every weekend missing: 2 of 7 steps are 3 days
    rng = np.random.default_rng(3)
    assert spacing(rng.permutation(weekdays)) == Spacing(1440 * MINUTE_MS, "1d")
    hours = np.delete(times(200, HOUR), [10, 11, 12, 50, 120])
    assert spacing(np.concatenate([hours, hours[:30]])) == Spacing(HOUR, "1h"), "duplicates do not count"


def test_a_step_the_terminal_has_no_timeframe_for() -> None:
    found = spacing(times(10, 2 * HOUR))
    assert found == Spacing(2 * HOUR, None)
    assert found.words == "2 hours"


def test_too_few_times_to_tell() -> None:
    assert spacing(np.array([T0, T0], dtype=np.int64)) is None
    assert spacing(np.empty(0, dtype=np.int64)) is None
    assert timeframe_warning(np.array([T0 + 7], dtype=np.int64), "1h") is None


def test_duration_words() -> None:
    assert [duration_words(ms) for ms in (MINUTE_MS, 5 * MINUTE_MS, HOUR, 4 * HOUR, 1440 * MINUTE_MS)] == [
        "1 minute",
        "5 minutes",
        "1 hour",
        "4 hours",
        "1 day",
    ]
    assert duration_words(90 * MINUTE_MS) == "90 minutes"
    assert duration_words(1_500) == "1,500 ms"


def test_hourly_candles_as_minutes_warn_with_the_gaps_the_data_manager_would_show() -> None:
    ts = times(200, HOUR)
    assert timeframe_warning(ts, "1m") == (
        "These candles are 1 hour apart; importing them as 1m would report 199 gaps."
    )
    assert len(find_gaps(ts, "1m")) == 199, "the same count as the coverage table's"
    assert timeframe_warning(ts, "1h") is None


def test_minutes_as_hours_warn_of_the_candles_refused() -> None:
    ts = times(180, MINUTE_MS)
    assert timeframe_warning(ts, "1h") == (
        "These candles are 1 minute apart; importing them as 1h would reject 177 of 180 as not aligned to 1h."
    )


def test_a_step_without_a_timeframe_says_so() -> None:
    assert timeframe_warning(times(10, 2 * HOUR), "1h") == (
        "These candles are 2 hours apart, and the terminal has no timeframe that long; "
        "importing them as 1h would report 9 gaps."
    )


def test_the_preview_says_how_far_apart_its_rows_are(tmp_path: Path) -> None:
    path = tmp_path / "hours.csv"
    rows = [f"{t},1,2,0.5,1.5,3" for t in times(40, HOUR).tolist()]
    rows[3] = "soon,1,2,0.5,1.5,3"  # an unreadable time is left out, not a reason to give up
    path.write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    preview = sniff(path)
    chosen = CsvMapping(ts=0, open=1, high=2, low=3, close=4, volume=5)
    assert preview_spacing(preview, chosen) == Spacing(HOUR, "1h")
    as_seconds = CsvMapping(ts=0, open=1, high=2, low=3, close=4, volume=5, time_unit="s")
    assert preview_spacing(preview, as_seconds) is None, "ms read as seconds are beyond the year 3000"
    assert preview_spacing(preview, CsvMapping()) is None, "no time column chosen"
