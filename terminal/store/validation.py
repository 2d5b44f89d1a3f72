"""Candle validation on the way into the store: bad candles are counted, never written.

``validate`` checks a whole batch with a handful of numpy passes (no Python
loop per candle) and splits it into the good candles, in strictly increasing
time order, and a count of rejected ones per reason, so that the log can say
in plain words what was dropped and why.

Rules, each candle counted once, under the first reason it meets, in the order
of ``REASONS``:

- ``not_finite``: a price or the volume is NaN or infinite (every other test
  is meaningless on such a row);
- ``low_above_high``: low > high (often swapped columns);
- ``high_below_open_close``: high < max(open, close);
- ``low_above_open_close``: low > min(open, close);
- ``negative_volume``: volume < 0;
- ``misaligned``: the open time is not a multiple of the timeframe (candles are
  UTC-aligned, as exchanges make them);
- ``duplicate``: another good candle of the batch has the same open time.
  The *last* one in input order is kept: the same rule as
  ``CandleSeries.upsert`` and the store's merge, where newer information
  replaces older (a page fetched later carries the closed version of a candle
  that an earlier page caught while it was still forming).

Candles that arrive out of time order are not rejected (their open time says
where they belong): they are sorted, and counted in ``reordered`` for the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from terminal.marketdata.candles import COLUMNS, OHLCV
from terminal.marketdata.timeframes import timeframe_ms

#: every rejection reason, in the order the checks apply, with the words the
#: summary uses ("{timeframe}" is filled in)
REASONS: dict[str, str] = {
    "not_finite": "with a missing or infinite value",
    "low_above_high": "with low above high",
    "high_below_open_close": "with high below open/close",
    "low_above_open_close": "with low above open/close",
    "negative_volume": "with negative volume",
    "misaligned": "not aligned to {timeframe}",
    "duplicate": "repeating the open time of a later candle",
}


def _candles(n: int) -> str:
    return f"{n:,} candle" if n == 1 else f"{n:,} candles"


@dataclass(frozen=True)
class ValidationResult:
    """The good candles of a batch and what was rejected.

    ``good`` may share memory with the input when nothing had to be dropped or
    sorted; treat both as read-only.
    """

    good: OHLCV
    timeframe: str
    #: reason (a key of ``REASONS``) -> number of candles rejected for it; only
    #: reasons that occurred, in the order of ``REASONS``
    rejected: dict[str, int] = field(default_factory=dict)
    #: good candles that came after a later one in the input (sorted, not rejected)
    reordered: int = 0

    @property
    def rejected_count(self) -> int:
        return sum(self.rejected.values())

    @property
    def received(self) -> int:
        """Candles in the input batch."""
        return len(self.good) + self.rejected_count

    @property
    def clean(self) -> bool:
        """Nothing rejected and nothing out of order."""
        return not self.rejected and not self.reordered

    def summary(self) -> str:
        """Plain words for the log, e.g. "rejected 3 of 1,000 candles: 2 with
        high below open/close, 1 not aligned to 1m"."""
        parts = []
        if self.rejected:
            reasons = ", ".join(
                f"{count:,} {REASONS[reason].format(timeframe=self.timeframe)}"
                for reason, count in self.rejected.items()
            )
            parts.append(f"rejected {self.rejected_count:,} of {_candles(self.received)}: {reasons}")
        else:
            parts.append(f"accepted all {_candles(self.received)}")
        if self.reordered:
            parts.append(f"sorted {_candles(self.reordered)} that arrived out of time order")
        return "; ".join(parts)


def validate(ohlcv: OHLCV, timeframe: str) -> ValidationResult:
    """Split ``ohlcv`` into good candles (strictly increasing open times) and
    counted rejects; see the module docstring for the rules.

    Raises ``UnsupportedTimeframeError`` for an unknown timeframe and
    ``ValueError`` when the columns differ in length (a programming error).
    """
    step = timeframe_ms(timeframe)
    ts = np.asarray(ohlcv.ts, dtype=np.int64)
    o, h, l, c, v = (np.asarray(getattr(ohlcv, name), dtype=np.float64) for name in COLUMNS)
    n = len(ts)
    if any(len(col) != n for col in (o, h, l, c, v)):
        raise ValueError("OHLCV columns differ in length")
    if n == 0:
        return ValidationResult(OHLCV.empty(), timeframe)

    rejected: dict[str, int] = {}
    finite = np.isfinite
    bad = np.zeros(n, dtype=np.bool_)
    with np.errstate(invalid="ignore"):  # NaN compares False; those rows are already counted
        checks = (
            ("not_finite", lambda: ~(finite(o) & finite(h) & finite(l) & finite(c) & finite(v))),
            ("low_above_high", lambda: l > h),
            ("high_below_open_close", lambda: h < np.maximum(o, c)),
            ("low_above_open_close", lambda: l > np.minimum(o, c)),
            ("negative_volume", lambda: v < 0),
            ("misaligned", lambda: ts % step != 0),
        )
        for reason, test in checks:
            mask: NDArray[np.bool_] = test()
            count = int(np.count_nonzero(mask & ~bad))
            if count:
                rejected[reason] = count
                bad |= mask

    keep: NDArray[np.intp] | None = np.flatnonzero(~bad) if rejected else None  # None: every row
    kept_ts = ts if keep is None else ts[keep]
    reordered = 0
    if len(kept_ts) > 1 and not bool(np.all(kept_ts[1:] > kept_ts[:-1])):
        reordered = int(np.count_nonzero(kept_ts[1:] < np.maximum.accumulate(kept_ts)[:-1]))
        order = np.argsort(kept_ts, kind="stable")  # equal open times stay in input order
        sorted_ts = kept_ts[order]
        last = np.empty(len(sorted_ts), dtype=np.bool_)
        last[:-1] = sorted_ts[1:] != sorted_ts[:-1]  # the last of each run of equal open times
        last[-1] = True
        duplicates = len(sorted_ts) - int(np.count_nonzero(last))
        if duplicates:
            rejected["duplicate"] = duplicates
        order = order[last]
        keep = order if keep is None else keep[order]

    if keep is None:
        good = OHLCV(ts, o, h, l, c, v)
    else:
        good = OHLCV(ts[keep], o[keep], h[keep], l[keep], c[keep], v[keep])
    return ValidationResult(good, timeframe, rejected, reordered)
