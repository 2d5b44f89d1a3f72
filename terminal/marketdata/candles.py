"""Candle series: columnar OHLCV arrays that grow at the end.

The hot path (a live update of the newest candle) is O(1): it writes one
element of each column. Appends amortise to O(1) by doubling the capacity.
Readers take views (``series.ts`` etc.) that are valid until the next append.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

COLUMNS = ("open", "high", "low", "close", "volume")


class Change(Enum):
    """What an upsert did, so that a view redraws only what it must."""

    NONE = 0
    LAST = 1  # the newest candle changed in place
    APPEND = 2  # one candle was added at the end
    HISTORY = 3  # an older candle changed, or the whole series was replaced


@dataclass(frozen=True)
class OHLCV:
    """A plain bundle of equal-length candle columns (ts in ms, UTC open time)."""

    ts: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def empty(cls) -> OHLCV:
        f = np.empty(0, dtype=np.float64)
        return cls(np.empty(0, dtype=np.int64), f, f.copy(), f.copy(), f.copy(), f.copy())

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[float | int | None]]) -> OHLCV:
        """From ccxt's ``[[ts, o, h, l, c, v], ...]``. Rows with a missing value are dropped."""
        if not rows:
            return cls.empty()
        arr = np.array(rows, dtype=np.float64)  # None becomes nan
        if arr.ndim != 2 or arr.shape[1] < 6:
            raise ValueError("OHLCV rows must have six columns: ts, open, high, low, close, volume")
        arr = arr[~np.isnan(arr[:, :6]).any(axis=1)]
        return cls(arr[:, 0].astype(np.int64), *(np.ascontiguousarray(arr[:, i]) for i in range(1, 6)))

    def to_rows(self) -> list[list[float]]:
        """ccxt's row shape (ts as int)."""
        cols = np.column_stack(
            [self.ts.astype(np.float64), self.open, self.high, self.low, self.close, self.volume]
        )
        rows: list[list[float]] = cols.tolist()
        for row in rows:
            row[0] = int(row[0])
        return rows

    def slice(self, start: int, stop: int) -> OHLCV:
        return OHLCV(*(getattr(self, name)[start:stop] for name in ("ts", *COLUMNS)))


def concat(*parts: OHLCV) -> OHLCV:
    """Candles of ``parts`` one after another (each part in time order, and
    each starting after the previous one ends)."""
    names = ("ts", *COLUMNS)
    return OHLCV(*(np.concatenate([getattr(p, name) for p in parts]) for name in names))


class CandleSeries:
    """Growable OHLCV columns for one symbol and timeframe."""

    def __init__(self, timeframe_ms: int, capacity: int = 1024) -> None:
        self.timeframe_ms = timeframe_ms
        self._n = 0
        self._ts = np.empty(capacity, dtype=np.int64)
        self._cols = np.empty((5, capacity), dtype=np.float64)
        self.version = 0  # bumps on every change; views compare it to skip work

    # -- reading -------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def ts(self) -> IntArray:
        return self._ts[: self._n]

    @property
    def open(self) -> FloatArray:
        return self._cols[0, : self._n]

    @property
    def high(self) -> FloatArray:
        return self._cols[1, : self._n]

    @property
    def low(self) -> FloatArray:
        return self._cols[2, : self._n]

    @property
    def close(self) -> FloatArray:
        return self._cols[3, : self._n]

    @property
    def volume(self) -> FloatArray:
        return self._cols[4, : self._n]

    def snapshot(self) -> OHLCV:
        """A copy that stays valid whatever happens to the series."""
        return self.copy(0, self._n)

    def copy(self, start: int, stop: int) -> OHLCV:
        """A copy of candles [start, stop) only, never of the whole history."""
        stop = min(stop, self._n)
        return OHLCV(self._ts[start:stop].copy(), *(self._cols[i, start:stop].copy() for i in range(5)))

    def last(self) -> tuple[int, float, float, float, float, float] | None:
        if not self._n:
            return None
        i = self._n - 1
        o, h, l, c, v = self._cols[:, i]
        return int(self._ts[i]), float(o), float(h), float(l), float(c), float(v)

    # -- writing -------------------------------------------------------------
    def replace(self, data: OHLCV) -> None:
        """Replace the whole series (history load, timeframe switch)."""
        n = len(data)
        capacity = max(1024, int(n * 1.25) + 16)
        self._ts = np.empty(capacity, dtype=np.int64)
        self._cols = np.empty((5, capacity), dtype=np.float64)
        self._ts[:n] = data.ts
        for i, name in enumerate(COLUMNS):
            self._cols[i, :n] = getattr(data, name)
        self._n = n
        self.version += 1

    def merge(self, data: OHLCV) -> None:
        """Merge closed candles from elsewhere (a history download, older
        history from disk): ``data`` wins where both have a candle, except the
        newest one here, which the live feed owns. Only the stretch ``data``
        spans is sorted; the rest is copied (a page into a million candles
        costs a copy, not a sort)."""
        names = ("ts", *COLUMNS)
        if self._n and len(data) and data.ts[-1] >= self._ts[self._n - 1]:
            keep = data.ts < self._ts[self._n - 1]
            data = OHLCV(*(getattr(data, name)[keep] for name in names))
        if not len(data):
            return
        ts = self.ts
        lo = int(np.searchsorted(ts, data.ts.min()))
        hi = int(np.searchsorted(ts, data.ts.max(), side="right"))
        both = concat(self.copy(lo, hi), data)
        # a stable sort keeps ``data`` after the series within equal open
        # times; the last of each run of equal times wins
        order = np.argsort(both.ts, kind="stable")
        sorted_ts = both.ts[order]
        last = np.ones(len(sorted_ts), dtype=bool)
        last[:-1] = sorted_ts[1:] != sorted_ts[:-1]
        pick = order[last]
        m = len(pick)
        if m == hi - lo and np.array_equal(both.ts[pick], ts[lo:hi]):
            new_ts, new_cols = self._ts, self._cols  # same candles, new values: in place
        else:
            n = self._n - (hi - lo) + m
            capacity = max(len(self._ts), int(n * 1.25) + 16)
            new_ts = np.empty(capacity, dtype=np.int64)
            new_cols = np.empty((5, capacity), dtype=np.float64)
            new_ts[:lo] = self._ts[:lo]
            new_cols[:, :lo] = self._cols[:, :lo]
            new_ts[lo + m : n] = self._ts[hi : self._n]
            new_cols[:, lo + m : n] = self._cols[:, hi : self._n]
            self._n = n
        new_ts[lo : lo + m] = both.ts[pick]
        for i, name in enumerate(COLUMNS):
            new_cols[i, lo : lo + m] = getattr(both, name)[pick]
        self._ts, self._cols = new_ts, new_cols
        self.version += 1

    def upsert(self, ts: int, o: float, h: float, l: float, c: float, v: float) -> Change:
        """Insert or overwrite the candle opening at ``ts``."""
        n = self._n
        if n and ts == self._ts[n - 1]:
            self._cols[:, n - 1] = (o, h, l, c, v)
            self.version += 1
            return Change.LAST
        if not n or ts > self._ts[n - 1]:
            if n == len(self._ts):
                self._grow()
            self._ts[n] = ts
            self._cols[:, n] = (o, h, l, c, v)
            self._n = n + 1
            self.version += 1
            return Change.APPEND
        i = int(np.searchsorted(self._ts[:n], ts))
        if self._ts[i] == ts:
            if tuple(self._cols[:, i]) == (o, h, l, c, v):
                return Change.NONE  # a replay of a candle we already have
            self._cols[:, i] = (o, h, l, c, v)
        else:  # a candle missing from history arrives late: insert in order
            self.replace(self._inserted(i, ts, (o, h, l, c, v)))
        self.version += 1
        return Change.HISTORY

    def upsert_rows(self, rows: Sequence[Sequence[float | None]]) -> Change:
        """Apply ccxt OHLCV rows (oldest first); returns the widest change."""
        widest = Change.NONE
        for row in rows:
            if any(x is None for x in row[:6]):
                continue
            ts, o, h, l, c, v = (float(x) for x in row[:6])  # type: ignore[arg-type]
            change = self.upsert(int(ts), o, h, l, c, v)
            widest = max(widest, change, key=lambda ch: ch.value)
        return widest

    def _inserted(self, i: int, ts: int, values: tuple[float, ...]) -> OHLCV:
        snap = self.snapshot()
        cols = [np.insert(getattr(snap, name), i, values[k]) for k, name in enumerate(COLUMNS)]
        return OHLCV(np.insert(snap.ts, i, ts), *cols)

    def _grow(self) -> None:
        capacity = len(self._ts) * 2
        ts = np.empty(capacity, dtype=np.int64)
        ts[: self._n] = self._ts[: self._n]
        cols = np.empty((5, capacity), dtype=np.float64)
        cols[:, : self._n] = self._cols[:, : self._n]
        self._ts, self._cols = ts, cols
