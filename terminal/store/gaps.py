"""Gaps in a candle history, and arithmetic on time ranges.

All ranges are half-open ``[start_ms, end_ms)`` in UTC milliseconds. A gap is a
run of candles missing from a history: ``start_ms`` is the open time of the
first missing candle, ``end_ms`` the open time just after the last one (so
``end_ms - start_ms == missing * timeframe_ms``).

Used by the data manager (coverage and gaps) and by the history sync (what to
fetch, after ``subtract``-ing the ranges known to hold no trading).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from terminal.marketdata.timeframes import timeframe_ms

Range = tuple[int, int]


@dataclass(frozen=True, order=True)
class Gap:
    """``missing`` candles with open times from ``start_ms`` (inclusive) to
    ``end_ms`` (exclusive)."""

    start_ms: int
    end_ms: int
    missing: int

    def __post_init__(self) -> None:
        span = self.end_ms - self.start_ms
        if self.missing <= 0 or span <= 0 or span % self.missing:
            raise ValueError(f"not a gap: {self.start_ms}..{self.end_ms} with {self.missing} missing")

    @property
    def step_ms(self) -> int:
        """The timeframe's length (the gap is a whole number of candles)."""
        return (self.end_ms - self.start_ms) // self.missing

    @property
    def range(self) -> Range:
        return (self.start_ms, self.end_ms)


def _ceil(ms: int, step: int) -> int:
    """The first candle open time at or after ``ms`` (UTC-aligned)."""
    return -(-ms // step) * step


def find_gaps(
    ts: ArrayLike, timeframe: str, start_ms: int | None = None, end_ms: int | None = None
) -> list[Gap]:
    """The gaps in ``ts`` (sorted, strictly increasing, aligned open times, as
    the store holds them) among the candles expected in ``[start_ms, end_ms)``:
    those whose open time ``t`` satisfies ``start_ms <= t < end_ms``.

    Without ``start_ms`` the range starts at the first candle (no gap before
    it); without ``end_ms`` it ends after the last one (no gap after it). To
    leave out the candle still forming, pass ``end_ms=floor_time(now, tf)``.
    With no candles at all, the whole range is one gap (or there is none if a
    bound is missing).

    Raises ``ValueError`` if ``ts`` is not sorted, unique and aligned.
    """
    step = timeframe_ms(timeframe)
    t = np.asarray(ts, dtype=np.int64)
    if len(t) and (bool(np.any(t % step)) or (len(t) > 1 and not bool(np.all(t[1:] > t[:-1])))):
        raise ValueError("find_gaps needs sorted, unique open times aligned to the timeframe")
    lo = _ceil(start_ms, step) if start_ms is not None else (int(t[0]) if len(t) else None)
    hi = _ceil(end_ms, step) if end_ms is not None else (int(t[-1]) + step if len(t) else None)
    if lo is None or hi is None or hi <= lo:
        return []
    inside = t[np.searchsorted(t, lo) : np.searchsorted(t, hi)]
    # sentinels: a virtual candle just before the range and one at its end
    ext = np.concatenate((np.array([lo - step], dtype=np.int64), inside, np.array([hi], dtype=np.int64)))
    at = np.flatnonzero(np.diff(ext) > step)
    starts = ext[at] + step
    ends = ext[at + 1]
    missing = (ends - starts) // step
    return [Gap(s, e, m) for s, e, m in zip(starts.tolist(), ends.tolist(), missing.tolist(), strict=True)]


def covered_ranges(ts: ArrayLike, timeframe: str) -> list[Range]:
    """The runs of consecutive candles in ``ts`` (sorted, unique, aligned), each
    as ``[first open time, last open time + timeframe)``."""
    step = timeframe_ms(timeframe)
    t = np.asarray(ts, dtype=np.int64)
    if not len(t):
        return []
    breaks = np.flatnonzero(np.diff(t) != step)
    starts = np.concatenate((t[:1], t[breaks + 1]))
    ends = np.concatenate((t[breaks], t[-1:])) + step
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def total_missing(gaps: Iterable[Gap]) -> int:
    return sum(g.missing for g in gaps)


def merge_ranges(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, non-overlapping ranges covering the same times; ranges that touch
    are joined and empty ones dropped."""
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def subtract_ranges(ranges: Iterable[Range], remove: Iterable[Range]) -> list[Range]:
    """The parts of ``ranges`` not covered by ``remove`` (both in any order),
    sorted and merged."""
    cuts = merge_ranges(remove)
    return _cut(merge_ranges(ranges), cuts, [s for s, _ in cuts])


def _cut(ranges: Iterable[Range], cuts: list[Range], cut_starts: list[int]) -> list[Range]:
    """``ranges`` minus ``cuts`` (merged, with their starts in ``cut_starts``)."""
    out: list[Range] = []
    for start, end in ranges:
        # the first cut that could overlap: the last one starting at or before ``start``
        i = max(bisect.bisect_right(cut_starts, start) - 1, 0)
        pos = start
        while i < len(cuts) and cuts[i][0] < end:
            cut_start, cut_end = cuts[i]
            if cut_end > pos:
                if cut_start > pos:
                    out.append((pos, cut_start))
                pos = cut_end
            i += 1
        if pos < end:
            out.append((pos, end))
    return out


def subtract(gaps: Iterable[Gap], known_no_trade: Iterable[Range]) -> list[Gap]:
    """``gaps`` without the candles whose open time lies in a range known to hold
    no trading (the exchange had nothing there): what is still worth fetching.
    The ranges need not be aligned to the timeframe."""
    cuts = merge_ranges(known_no_trade)
    cut_starts = [s for s, _ in cuts]
    out: list[Gap] = []
    for gap in gaps:
        if not cuts:
            out.append(gap)
            continue
        step = gap.step_ms
        for start, end in _cut([gap.range], cuts, cut_starts):
            # candles of the gap open at gap.start_ms + k * step: keep those in [start, end)
            first = gap.start_ms + _ceil(start - gap.start_ms, step)
            stop = gap.start_ms + _ceil(end - gap.start_ms, step)
            if stop <= first:
                continue
            if out and out[-1].end_ms == first and out[-1].step_ms == step:
                first = out.pop().start_ms  # a cut that held no open time: one gap still
            out.append(Gap(first, stop, (stop - first) // step))
    return out
