"""What the data manager says about one stored series: its holes, the
stretches the exchange confirmed empty, and how its last download went.

A gap is a run of candles missing between the first and the last stored
one. Gaps the exchange confirmed it has no candles for (``no_trade_gap``: it
answered with a later candle than asked) are not missing data, they are
quiet markets: they are listed apart and left out of the gap and missing
counts, and no download asks for them again.

Blocking (reads the store): call from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.gaps import Gap, find_gaps, subtract, total_missing
from terminal.store.sync_records import CANCELLED, DONE, FAILED, RUNNING, SyncRecord, SyncRecords

#: a "running" download not heard of for this long was stopped by a crash or a quit
STALE_MS = 60_000


@dataclass(frozen=True)
class SeriesGaps:
    """The holes in one series between its first and last stored candle."""

    key: SeriesKey
    missing_gaps: list[Gap]  # nothing stored, nothing known: worth downloading
    no_trade: list[Gap]  # the exchange confirmed it has no candles there
    problem: str = ""  # why the gaps could not be worked out ("" when they were)

    @property
    def missing(self) -> int:
        return total_missing(self.missing_gaps)

    def listed(self) -> list[tuple[Gap, bool]]:
        """Every hole in time order, with True where no trading is confirmed."""
        both = [(g, False) for g in self.missing_gaps] + [(g, True) for g in self.no_trade]
        return sorted(both, key=lambda item: item[0].start_ms)


def series_gaps(store: CandleStore, records: SyncRecords, key: SeriesKey) -> SeriesGaps:
    """The gaps of ``key`` as stored now (none when nothing is stored)."""
    stored = store.read(key.exchange, key.symbol, key.timeframe)
    try:
        holes = find_gaps(stored.ts, key.timeframe)
    except ValueError:
        # The store keeps what it is given; candles written around validation
        # (an old file, a script) may sit between the timeframe's open times.
        return SeriesGaps(key, [], [], f"some stored candles are not aligned to {key.timeframe}")
    if not holes:
        return SeriesGaps(key, [], [])
    missing = subtract(holes, records.no_trade(key))
    confirmed = subtract(holes, [g.range for g in missing])
    return SeriesGaps(key, missing, confirmed)


def latest_record(records: list[SyncRecord]) -> SyncRecord | None:
    """The download worth showing: the newest unfinished one, else the newest."""
    unfinished = [r for r in records if r.unfinished]
    pool = unfinished or records
    return max(pool, key=lambda r: r.updated_ms) if pool else None


def percent_done(record: SyncRecord, first_ts: int | None, now_ms: int) -> int | None:
    """How far the download got: by its counts when it kept them (revision
    0003 on), else by time, from the first stored candle to its target (None:
    now), which a download paging forward walks with its cursor."""
    if record.fraction is not None:
        return round(100 * record.fraction)
    target = now_ms if record.target_ms is None else record.target_ms
    if first_ts is None or target <= first_ts:
        return None
    return max(0, min(100, round(100 * (record.cursor_ms - first_ts) / (target - first_ts))))


def sync_status(record: SyncRecord | None, first_ts: int | None, now_ms: int) -> str:
    """Plain words for the sync column: "complete", "cancelled 40%",
    "interrupted 40%" (a crash or a quit), "failed: reason", "downloading 40%"."""
    if record is None:
        return ""
    if record.status == DONE:
        return "complete"
    if record.status == FAILED:
        return f"failed: {record.message or 'no reason given'}"
    percent = percent_done(record, first_ts, now_ms)
    amount = "" if percent is None else f" {percent}%"
    if record.status == CANCELLED:
        return f"cancelled{amount}"
    if record.status == RUNNING and now_ms - record.updated_ms < STALE_MS:
        return f"downloading{amount}"
    return f"interrupted{amount}"
