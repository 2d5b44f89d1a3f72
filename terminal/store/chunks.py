"""How candles lie on disk: packed columnar chunks, and the numpy work on them.

A chunk holds the candles of one series whose open time falls in one span of
``chunk_ms`` (1,440 candles: one UTC day of 1-minute candles, 60 days of 1-hour
candles). Its blob is six little-endian 8-byte columns one after another:
open time (int64 ms), open, high, low, close, volume (float64).

In memory a batch of candles is a *matrix*: a C-ordered ``(6, n)`` float64
array whose row 0 holds the int64 open times bit for bit (``open_times``
views them as int64). Then encoding a chunk is one slice copy, decoding is a
zero-copy ``frombuffer``, and merging moves whole columns at once. Values pass
through untouched: NaN payloads and signed zeros come back bit-exact.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from terminal.marketdata.candles import COLUMNS, OHLCV, IntArray

Matrix = NDArray[np.float64]

CHUNK_CANDLES = 1440
ROWS = 1 + len(COLUMNS)
BYTES_PER_CANDLE = 8 * ROWS
RAW = 0  # the columns as they are
ZLIB = 1  # the same bytes, zlib level 1: half the size, but ~7x slower to read (section 6)
CODECS = (RAW, ZLIB)


class ChunkDecodeError(ValueError):
    """A stored chunk does not hold what its row says."""


def chunk_ms_for(timeframe_ms: int) -> int:
    return timeframe_ms * CHUNK_CANDLES


def to_matrix(candles: OHLCV) -> Matrix:
    n = len(candles.ts)
    columns = [getattr(candles, name) for name in COLUMNS]
    if any(len(col) != n for col in columns):
        raise ValueError("OHLCV columns differ in length")
    m = np.empty((ROWS, n), dtype="<f8")
    m[0] = np.asarray(candles.ts, dtype="<i8").view("<f8")
    for row, col in enumerate(columns, start=1):
        m[row] = col
    return m


def open_times(m: Matrix) -> IntArray:
    return m[0].view("<i8")


def to_ohlcv(m: Matrix) -> OHLCV:
    return OHLCV(open_times(m), m[1], m[2], m[3], m[4], m[5])


def empty_matrix() -> Matrix:
    return np.empty((ROWS, 0), dtype="<f8")


def sorted_unique(m: Matrix) -> Matrix:
    """Sorted by open time; where an open time repeats, its last occurrence wins."""
    ts = open_times(m)
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return m
    m = m[:, np.argsort(ts, kind="stable")]
    ts = open_times(m)
    keep = np.empty(len(ts), dtype=bool)
    keep[-1] = True
    np.not_equal(ts[1:], ts[:-1], out=keep[:-1])
    return m if keep.all() else m[:, keep]


def merge(old: Matrix, new: Matrix) -> Matrix:
    """Both sorted and unique; where both hold an open time, ``new`` wins."""
    if not old.shape[1]:
        return new
    if not new.shape[1]:
        return old
    old_ts, new_ts = open_times(old), open_times(new)
    if new_ts[0] > old_ts[-1]:
        return np.concatenate([old, new], axis=1)
    before = np.searchsorted(new_ts, old_ts)  # new candles that open before each old one
    replaced = new_ts[np.minimum(before, len(new_ts) - 1)] == old_ts
    if replaced.all():
        return new
    if replaced.any():
        old, before = old[:, ~replaced], before[~replaced]
    out = np.empty((ROWS, old.shape[1] + new.shape[1]), dtype="<f8")
    old_at = before + np.arange(old.shape[1])
    from_new = np.ones(out.shape[1], dtype=bool)
    from_new[old_at] = False
    out[:, old_at] = old
    out[:, from_new] = new
    return out


def split(m: Matrix, chunk_ms: int) -> Iterator[tuple[int, int, int]]:
    """(chunk_start, first column, end column) of each chunk ``m`` touches (m sorted)."""
    ts = open_times(m)
    if not len(ts):
        return
    keys = ts // chunk_ms
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    bounds = np.concatenate(([0], cuts, [len(ts)])).tolist()
    starts = (keys[bounds[:-1]] * chunk_ms).tolist()
    yield from zip(starts, bounds[:-1], bounds[1:], strict=True)


def chunk_starts(m: Matrix, chunk_ms: int) -> list[int]:
    return [start for start, _, _ in split(m, chunk_ms)]


def encode(m: Matrix, first: int, end: int, codec: int = RAW) -> bytes | memoryview:
    """The blob of columns [first, end) of ``m``."""
    block = np.ascontiguousarray(m[:, first:end])
    if codec == ZLIB:
        return zlib.compress(block, 1)
    if codec != RAW:
        raise ValueError(f"unknown chunk codec {codec}")
    return memoryview(block).cast("B")


def decode(data: bytes, candles: int, codec: int) -> Matrix:
    """A read-only ``(6, candles)`` view of a chunk's blob."""
    if codec == ZLIB:
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise ChunkDecodeError(f"chunk does not decompress: {exc}") from None
    elif codec != RAW:
        raise ChunkDecodeError(f"unknown chunk codec {codec}")
    if len(data) != candles * BYTES_PER_CANDLE:
        raise ChunkDecodeError(
            f"chunk holds {len(data)} bytes, {candles} candles need {candles * BYTES_PER_CANDLE}"
        )
    return np.frombuffer(data, dtype="<f8").reshape(ROWS, candles)


def chunk_problems(m: Matrix, chunk_start: int, chunk_ms: int, first_ts: int, last_ts: int) -> list[str]:
    """Broken invariants of one decoded chunk (an empty list when it is sound)."""
    ts = open_times(m)
    problems = []
    if not len(ts):
        return ["empty chunk"]
    if not bool(np.all(ts[1:] > ts[:-1])):
        problems.append("open times not strictly increasing (unsorted or duplicated)")
    if int(ts[0]) < chunk_start or int(ts[-1]) >= chunk_start + chunk_ms:
        problems.append("open times outside the chunk's span")
    if (int(ts[0]), int(ts[-1])) != (first_ts, last_ts):
        problems.append("first/last open time differ from the row's")
    return problems
