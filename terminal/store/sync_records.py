"""What the history sync remembers between runs: where each download stands
(``sync_state``), the stretches the exchange confirmed hold no candles
(``no_trade_gap``), and where an instrument's history begins
(``instrument.listed_since_ms``).

    records = SyncRecords(store)
    records.save(key, "forward", cursor_ms=..., target_ms=None, status="running")
    records.remember_no_trade(key, [(start_ms, end_ms)])

A download that stops half-way (cancel, crash, network) leaves its row with
status ``running``/``cancelled``/``failed`` and the cursor of the first
candle it had not stored yet: the data manager lists it, and running it again
fetches from there (the candles themselves are the truth; the row is the
plan and the progress).

Every call blocks: call it from a worker thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.gaps import Range, merge_ranges

#: the statuses a download goes through; the last three are where it stopped
RUNNING, DONE, CANCELLED, FAILED = "running", "done", "cancelled", "failed"
UNFINISHED = (RUNNING, CANCELLED, FAILED)

_SERIES_OF = """
SELECT s.id FROM candle_series s JOIN instrument i ON i.id = s.instrument_id
WHERE i.exchange = ? AND i.symbol = ? AND s.timeframe = ?"""

_STATES = """
SELECT i.exchange, i.symbol, s.timeframe, t.direction, t.cursor_ms, t.target_ms, t.status,
       t.updated_ms, t.message, t.done, t.total
FROM sync_state t JOIN candle_series s ON s.id = t.series_id JOIN instrument i ON i.id = s.instrument_id
ORDER BY i.exchange, i.symbol, s.timeframe_ms, t.direction"""


_SAVE = """
INSERT INTO sync_state (series_id, direction, cursor_ms, target_ms, status, updated_ms, message, done, total)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, direction) DO UPDATE SET
  cursor_ms = excluded.cursor_ms, target_ms = excluded.target_ms, status = excluded.status,
  updated_ms = excluded.updated_ms, message = excluded.message, done = excluded.done,
  total = excluded.total"""


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class SyncRecord:
    """One download of one series: the next open time to fetch (``cursor_ms``),
    where it stops (``target_ms``; None: now), and how it went."""

    key: SeriesKey
    direction: str
    cursor_ms: int
    target_ms: int | None
    status: str
    updated_ms: int
    message: str
    done: int = 0  # candles dealt with, of ``total`` missing when it started (0: not known)
    total: int = 0

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    @property
    def fraction(self) -> float | None:
        """How far it got (None when the counts are not known)."""
        return min(1.0, self.done / self.total) if self.total > 0 else None


class SyncRecords:
    """Sync state, known no-trade gaps and listing starts, in ``store``'s file."""

    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self.database = store.database

    # -- downloads --------------------------------------------------------------
    def save(
        self,
        key: SeriesKey,
        direction: str,
        *,
        cursor_ms: int,
        target_ms: int | None,
        status: str,
        message: str = "",
        done: int = 0,
        total: int = 0,
    ) -> None:
        """Create or update the row of ``key``'s ``direction`` download."""
        with self.database.writing() as conn:
            series_id, _ = self.store.series(conn, *_parts(key))
            conn.execute(
                _SAVE,
                (series_id, direction, cursor_ms, target_ms, status, _now_ms(), message, done, total),
            )

    def all(self) -> list[SyncRecord]:
        with self.database.reading() as conn:
            rows = conn.execute(_STATES).fetchall()
        return [
            SyncRecord(SeriesKey(e, s, tf), d, int(c), None if t is None else int(t), st, int(u), m, dn, tt)
            for e, s, tf, d, c, t, st, u, m, dn, tt in rows
        ]

    def get(self, key: SeriesKey, direction: str) -> SyncRecord | None:
        return next((r for r in self.all() if r.key == key and r.direction == direction), None)

    # -- stretches with no trading ----------------------------------------------
    def no_trade(self, key: SeriesKey) -> list[Range]:
        """The ranges [start, end) of open times the exchange has no candles for."""
        with self.database.reading() as conn:
            found = conn.execute(_SERIES_OF, _parts(key)).fetchone()
            if found is None:
                return []
            rows = conn.execute(
                "SELECT first_missing_ts, last_missing_ts FROM no_trade_gap WHERE series_id = ?"
                " ORDER BY first_missing_ts",
                (found[0],),
            ).fetchall()
        return [(int(first), int(last) + 1) for first, last in rows]

    def remember_no_trade(self, key: SeriesKey, ranges: list[Range]) -> None:
        """Add ``ranges`` (merged with those known already) as confirmed empty."""
        if not ranges:
            return
        known = self.no_trade(key)
        merged = merge_ranges([*known, *ranges])
        now = _now_ms()
        with self.database.writing() as conn:
            series_id, _ = self.store.series(conn, *_parts(key))
            conn.execute("DELETE FROM no_trade_gap WHERE series_id = ?", (series_id,))
            conn.executemany(
                "INSERT INTO no_trade_gap (series_id, first_missing_ts, last_missing_ts, checked_ms)"
                " VALUES (?, ?, ?, ?)",
                [(series_id, start, end - 1, now) for start, end in merged],
            )

    def forget_no_trade(self, key: SeriesKey) -> None:
        """Ask the exchange again next time (the data manager's "check again")."""
        with self.database.writing() as conn:
            conn.execute(
                f"DELETE FROM no_trade_gap WHERE series_id IN ({_SERIES_OF})",
                _parts(key),
            )

    # -- where an instrument's history starts -------------------------------------
    def listed_since(self, exchange: str, symbol: str) -> int | None:
        with self.database.reading() as conn:
            row = conn.execute(
                "SELECT listed_since_ms FROM instrument WHERE exchange = ? AND symbol = ?", (exchange, symbol)
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def set_listed_since(self, key: SeriesKey, first_ms: int) -> None:
        """The exchange's first candle of the instrument opens at ``first_ms``."""
        with self.database.writing() as conn:
            self.store.series(conn, *_parts(key))  # creates the instrument if new
            conn.execute(
                "UPDATE instrument SET listed_since_ms = ? WHERE exchange = ? AND symbol = ?",
                (first_ms, key.exchange, key.symbol),
            )


def _parts(key: SeriesKey) -> tuple[str, str, str]:
    return key.exchange, key.symbol, key.timeframe
