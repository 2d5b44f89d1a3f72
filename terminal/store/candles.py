"""Bulk candle I/O: numpy arrays in and out of the history database.

    store = CandleStore(default_path(paths))
    store.write("binance", "BTC/USDT", "1m", candles)        # OHLCV, any order
    candles = store.read("binance", "BTC/USDT", "1m", start_ms, end_ms)

Candles are keyed by (exchange, symbol, timeframe, open time) and stored in
columnar chunks (``terminal.store.chunks``), not a row each: a million
1-minute candles are ~700 rows, written in ~0.13 s and read in ~0.02 s
(docs/performance.md, section 6).

Writes are upserts at candle granularity: a candle whose open time is stored
already replaces it (the newer write wins; within one call, the later
element), the rest are merged in, and every chunk stays sorted and free of
duplicates. One call is one transaction. The store does not judge the
candles: validate them first (``terminal.store.validation``).

Threads: one ``CandleStore`` serves the whole process. Writes from any thread
are serialised on the writer connection; reads run concurrently, each thread
on its own connection, and never wait for a write (WAL). Every call blocks, so
call it from a worker thread, not the GUI thread. ``close()`` after the
workers are done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from sqlite3 import Connection
from typing import Self

import numpy as np

from terminal.errors import DatabaseDamagedError
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import timeframe_ms
from terminal.store import chunks
from terminal.store.database import BUSY_TIMEOUT_S, Database

_FAR = 2**62  # stands for "no bound" in range queries
_IN_BATCH = 500  # chunk starts per IN (...) list

_SERIES = """
SELECT s.id, s.chunk_ms FROM candle_series s JOIN instrument i ON i.id = s.instrument_id
WHERE i.exchange = ? AND i.symbol = ? AND s.timeframe = ?"""

# the chunks that may hold open times in [start, end): chunk_start in (start - chunk_ms, end)
_READ = """
SELECT c.candles, c.codec, c.data FROM candle_chunk c
JOIN candle_series s ON s.id = c.series_id JOIN instrument i ON i.id = s.instrument_id
WHERE i.exchange = ? AND i.symbol = ? AND s.timeframe = ?
  AND c.chunk_start > ? - s.chunk_ms AND c.chunk_start < ?
ORDER BY c.chunk_start"""

_UPSERT = """
INSERT INTO candle_chunk (series_id, chunk_start, first_ts, last_ts, candles, codec, data)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, chunk_start) DO UPDATE SET
  first_ts = excluded.first_ts, last_ts = excluded.last_ts, candles = excluded.candles,
  codec = excluded.codec, data = excluded.data"""

_COVERAGE = """
SELECT i.exchange, i.symbol, s.timeframe, MIN(c.first_ts), MAX(c.last_ts), SUM(c.candles),
       COUNT(*), SUM(LENGTH(c.data))
FROM candle_chunk c JOIN candle_series s ON s.id = c.series_id JOIN instrument i ON i.id = s.instrument_id
WHERE (:exchange IS NULL OR i.exchange = :exchange) AND (:symbol IS NULL OR i.symbol = :symbol)
  AND (:timeframe IS NULL OR s.timeframe = :timeframe)
GROUP BY s.id
ORDER BY i.exchange, i.symbol, s.timeframe_ms"""

_ALL_CHUNKS = """
SELECT i.exchange, i.symbol, s.timeframe, s.chunk_ms, c.chunk_start, c.first_ts, c.last_ts,
       c.candles, c.codec, c.data
FROM candle_chunk c JOIN candle_series s ON s.id = c.series_id JOIN instrument i ON i.id = s.instrument_id
ORDER BY c.series_id, c.chunk_start"""


@dataclass(frozen=True, order=True)
class SeriesKey:
    exchange: str
    symbol: str
    timeframe: str


@dataclass(frozen=True)
class Coverage:
    """What is stored for one series: open times ``first_ts``..``last_ts``
    (inclusive), ``candles`` of them, in ``chunks`` rows of ``stored_bytes``."""

    key: SeriesKey
    first_ts: int
    last_ts: int
    candles: int
    chunks: int
    stored_bytes: int


class CandleStore:
    """Candles of every exchange, symbol and timeframe in one SQLite file.

    ``source`` is the file (created, or upgraded to the current schema, as
    needed) or an open ``Database`` to share. ``compress`` stores new chunks
    zlib-compressed: half the size, ~7x slower reads (chunks written either way
    read back the same).
    """

    def __init__(
        self,
        source: str | Path | Database,
        *,
        read_only: bool = False,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        check: bool = True,
        compress: bool = False,
    ) -> None:
        if isinstance(source, Database):
            self.database = source
        else:
            self.database = Database(source, read_only=read_only, busy_timeout_s=busy_timeout_s, check=check)
        self.codec = chunks.ZLIB if compress else chunks.RAW

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.database.close()

    # -- writing ------------------------------------------------------------------
    def write(self, exchange: str, symbol: str, timeframe: str, candles: OHLCV) -> int:
        """Upsert ``candles``; returns how many were written (after dropping
        repeated open times within ``candles``)."""
        new = chunks.sorted_unique(chunks.to_matrix(candles))
        if not new.shape[1]:
            return 0
        with self.database.writing() as conn:
            series_id, chunk_ms = self.series(conn, exchange, symbol, timeframe)
            old = self._load(conn, series_id, chunks.chunk_starts(new, chunk_ms))
            merged = chunks.merge(old, new)
            ts = chunks.open_times(merged)
            rows = [
                (
                    series_id,
                    start,
                    int(ts[a]),
                    int(ts[b - 1]),
                    b - a,
                    self.codec,
                    chunks.encode(merged, a, b, self.codec),
                )
                for start, a, b in chunks.split(merged, chunk_ms)
            ]
            conn.executemany(_UPSERT, rows)
        return int(new.shape[1])

    def delete(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        """Remove the candles with open time in [start_ms, end_ms) (all of
        them, with the series' sync state and known gaps, when both are None);
        returns how many were removed."""
        with self.database.writing() as conn:
            found = conn.execute(_SERIES, (exchange, symbol, timeframe)).fetchone()
            if found is None:
                return 0
            series_id, chunk_ms = found
            if start_ms is None and end_ms is None:
                total = conn.execute(
                    "SELECT COALESCE(SUM(candles), 0) FROM candle_chunk WHERE series_id = ?", (series_id,)
                ).fetchone()[0]
                conn.execute("DELETE FROM candle_series WHERE id = ?", (series_id,))  # cascades
                return int(total)
            lo = -_FAR if start_ms is None else start_ms
            hi = _FAR if end_ms is None else end_ms
            if lo >= hi:
                return 0
            touched = conn.execute(
                "SELECT id, chunk_start, first_ts, last_ts, candles FROM candle_chunk "
                "WHERE series_id = ? AND chunk_start > ? AND chunk_start < ? ORDER BY chunk_start",
                (series_id, lo - chunk_ms, hi),
            ).fetchall()
            inside = [row for row in touched if row[2] >= lo and row[3] < hi]
            conn.executemany("DELETE FROM candle_chunk WHERE id = ?", [(row[0],) for row in inside])
            removed = sum(row[4] for row in inside)
            for chunk_id, start, first, last, count in touched:
                if (first >= lo and last < hi) or last < lo or first >= hi:
                    continue  # deleted whole above, or untouched
                m = self._load(conn, series_id, [start])
                ts = chunks.open_times(m)
                kept = m[:, (ts < lo) | (ts >= hi)]
                removed += count - kept.shape[1]
                kept_ts = chunks.open_times(kept)
                blob = chunks.encode(kept, 0, kept.shape[1], self.codec)
                conn.execute(
                    "UPDATE candle_chunk SET first_ts = ?, last_ts = ?, candles = ?, codec = ?, data = ? "
                    "WHERE id = ?",
                    (int(kept_ts[0]), int(kept_ts[-1]), kept.shape[1], self.codec, blob, chunk_id),
                )
            return int(removed)

    # -- reading ------------------------------------------------------------------
    def read(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> OHLCV:
        """Candles with open time in [start_ms, end_ms), oldest first (all
        when the bounds are None; empty when nothing is stored)."""
        lo = -_FAR if start_ms is None else start_ms
        hi = _FAR if end_ms is None else end_ms
        if lo >= hi:
            return OHLCV.empty()
        with self.database.reading() as conn:
            rows = conn.execute(_READ, (exchange, symbol, timeframe, lo, hi)).fetchall()
        m = self._assemble(rows)
        ts = chunks.open_times(m)
        first = 0 if start_ms is None else int(np.searchsorted(ts, lo))
        end = len(ts) if end_ms is None else int(np.searchsorted(ts, hi))
        return chunks.to_ohlcv(m[:, first:end])

    def coverage(
        self, exchange: str | None = None, symbol: str | None = None, timeframe: str | None = None
    ) -> list[Coverage]:
        """What is stored, per series (those matching the given parts of the key)."""
        with self.database.reading() as conn:
            rows = conn.execute(
                _COVERAGE, {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
            ).fetchall()
        return [Coverage(SeriesKey(e, s, tf), *(int(x) for x in rest)) for e, s, tf, *rest in rows]

    def keys(self) -> list[SeriesKey]:
        """Every series that holds at least one candle."""
        return [cov.key for cov in self.coverage()]

    def verify(self) -> list[str]:
        """Decode every chunk and check its invariants (sorted, no duplicate,
        inside its span, matching its row); an empty list means all is well.
        Reads the whole file: for checks and tests, not for every start."""
        problems = []
        with self.database.reading() as conn:
            for exchange, symbol, tf, chunk_ms, start, first, last, count, codec, data in conn.execute(
                _ALL_CHUNKS
            ):
                where = f"{exchange} {symbol} {tf} chunk {start}"
                try:
                    m = chunks.decode(data, count, codec)
                except chunks.ChunkDecodeError as exc:
                    problems.append(f"{where}: {exc}")
                    continue
                problems.extend(
                    f"{where}: {p}" for p in chunks.chunk_problems(m, start, chunk_ms, first, last)
                )
        return problems

    # -- internals ------------------------------------------------------------------
    def series(self, conn: Connection, exchange: str, symbol: str, timeframe: str) -> tuple[int, int]:
        """(id, chunk_ms) of the series, created if new (``conn`` is the writer,
        inside its transaction)."""
        step = timeframe_ms(timeframe)
        found = conn.execute(_SERIES, (exchange, symbol, timeframe)).fetchone()
        if found is not None:
            return int(found[0]), int(found[1])
        conn.execute(
            "INSERT INTO instrument (exchange, symbol) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (exchange, symbol),
        )
        (instrument_id,) = conn.execute(
            "SELECT id FROM instrument WHERE exchange = ? AND symbol = ?", (exchange, symbol)
        ).fetchone()
        chunk_ms = chunks.chunk_ms_for(step)
        cursor = conn.execute(
            "INSERT INTO candle_series (instrument_id, timeframe, timeframe_ms, chunk_ms) "
            "VALUES (?, ?, ?, ?)",
            (instrument_id, timeframe, step, chunk_ms),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid, chunk_ms

    def _load(self, conn: Connection, series_id: int, starts: Sequence[int]) -> chunks.Matrix:
        """The stored candles of the chunks that begin at ``starts`` (ascending), as one matrix."""
        rows: list[tuple[int, int, bytes]] = []
        for i in range(0, len(starts), _IN_BATCH):
            batch = starts[i : i + _IN_BATCH]
            marks = ",".join("?" * len(batch))
            rows += conn.execute(
                "SELECT candles, codec, data FROM candle_chunk "
                f"WHERE series_id = ? AND chunk_start IN ({marks}) ORDER BY chunk_start",
                (series_id, *batch),
            ).fetchall()
        return self._assemble(rows)

    def _assemble(self, rows: Sequence[tuple[int, int, bytes]]) -> chunks.Matrix:
        """Decoded chunks side by side in one new matrix (rows in open-time order)."""
        if not rows:
            return chunks.empty_matrix()
        out = np.empty((chunks.ROWS, sum(row[0] for row in rows)), dtype="<f8")
        pos = 0
        for count, codec, data in rows:
            try:
                out[:, pos : pos + count] = chunks.decode(data, count, codec)
            except chunks.ChunkDecodeError as exc:
                raise DatabaseDamagedError(
                    "Part of the market history database cannot be read: a block of candles is damaged.",
                    path=str(self.database.path),
                    hint="Delete and download that market's history again, or move the database aside.",
                    detail=str(exc),
                ) from exc
            pos += count
        return out
