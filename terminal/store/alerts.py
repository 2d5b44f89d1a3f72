"""The user's alerts and the history of their firings, kept in the history file
(``alert`` and ``alert_fired``, revision 0011).

    records = AlertRecords(candle_store)
    records.load()                             # [(id, json)], in the panel's order
    records.put(alert_id, body)                # one added (at the end) or changed in place
    records.delete(alert_id)
    records.add_fired(alert_id, fired_ms, title, message, value=64_000.5, symbol=..., exchange=...)
    records.fired(limit=50)                    # FiredRecords, newest first
    records.last_fired()                       # {alert id: its newest fired_ms}

An alert is text here: the JSON its model gives (``terminal.alerts.rules``). The store
does not judge it, so a row that no longer validates, or that a newer terminal wrote,
stays in the file as it is for the layer above to report; the store layer knows nothing
of the alerts layer above it. The newest ``FIRED_KEPT`` firings are kept: a noisy alert
cannot grow the file without end.

Every call blocks, as the other stores' do; each is a row or a few (a firing is one
insert and one ranged delete), so the caller moves them off the GUI thread where that
matters.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from terminal.store.candles import CandleStore

#: how many firings the file keeps; older ones are dropped as new ones come
FIRED_KEPT = 5_000

_INSERT = "INSERT INTO alert (id, body, position, updated_ms) VALUES (?, ?, ?, ?)"
_PUT = (
    _INSERT
    + """
ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_ms = excluded.updated_ms"""
)
_END = "SELECT coalesce(max(position), -1) + 1 FROM alert"
_ADD_FIRED = """
INSERT INTO alert_fired (alert_id, fired_ms, value, title, message, symbol, exchange)
VALUES (?, ?, ?, ?, ?, ?, ?)"""
_FIRED = "SELECT alert_id, fired_ms, value, title, message, symbol, exchange FROM alert_fired"
_NEWEST_FIRST = " ORDER BY fired_ms DESC, id DESC LIMIT ?"


@dataclass(frozen=True)
class FiredRecord:
    """One firing as the file keeps it."""

    alert_id: str
    fired_ms: int
    title: str
    message: str
    value: float | None = None
    symbol: str = ""
    exchange: str = ""


class AlertRecords:
    """The alerts and their firings in the history file that ``store`` holds open."""

    def __init__(self, store: CandleStore, *, fired_kept: int = FIRED_KEPT) -> None:
        self.database = store.database
        self.fired_kept = fired_kept

    # -- the alerts ---------------------------------------------------------------
    def load(self) -> list[tuple[str, str]]:
        """Every alert as (id, JSON), in the panel's order."""
        with self.database.reading() as conn:
            if not _has_tables(conn):  # an older file, opened read-only
                return []
            rows = conn.execute("SELECT id, body FROM alert ORDER BY position, rowid").fetchall()
        return [(str(alert_id), str(body)) for alert_id, body in rows]

    def put(self, alert_id: str, body: str) -> None:
        """Add the alert at the end of the list, or change the one with its id where it stands."""
        with self.database.writing() as conn:
            (end,) = conn.execute(_END).fetchone()
            conn.execute(_PUT, (alert_id, body, end, _now_ms()))

    def delete(self, alert_id: str) -> bool:
        """Remove one alert (its firings stay in the history); False when there is none of that id."""
        with self.database.writing() as conn:
            gone = conn.execute("DELETE FROM alert WHERE id = ?", (alert_id,)).rowcount
        return gone == 1

    def replace_all(self, alerts: Sequence[tuple[str, str]]) -> None:
        """The alerts become ``alerts`` (id, JSON), in that order, in one transaction."""
        now = _now_ms()
        rows = [(alert_id, body, i, now) for i, (alert_id, body) in enumerate(alerts)]
        with self.database.writing() as conn:
            conn.execute("DELETE FROM alert")
            conn.executemany(_INSERT, rows)

    # -- their firings ------------------------------------------------------------
    def add_fired(
        self,
        alert_id: str,
        fired_ms: int,
        title: str,
        message: str,
        *,
        value: float | None = None,
        symbol: str = "",
        exchange: str = "",
    ) -> None:
        """Record one firing, and drop those older than the newest ``fired_kept``."""
        kept = None if value is None or math.isnan(value) else float(value)
        row = (alert_id, int(fired_ms), kept, title, message, symbol, exchange)
        with self.database.writing() as conn:
            rowid = conn.execute(_ADD_FIRED, row).lastrowid
            # Row ids grow by one per insert and only clear_fired deletes (all of them),
            # so the newest ``fired_kept`` rows are exactly those above this bound: the
            # trim is one range on the primary key, whatever the table holds.
            if rowid is not None and rowid > self.fired_kept:
                conn.execute("DELETE FROM alert_fired WHERE id <= ?", (rowid - self.fired_kept,))

    def fired(self, limit: int = 500, alert_id: str | None = None) -> list[FiredRecord]:
        """The newest ``limit`` firings (of one alert, when ``alert_id`` names it), newest first."""
        with self.database.reading() as conn:
            if not _has_tables(conn):
                return []
            if alert_id is None:
                rows = conn.execute(_FIRED + _NEWEST_FIRST, (limit,)).fetchall()
            else:
                query = _FIRED + " WHERE alert_id = ?" + _NEWEST_FIRST
                rows = conn.execute(query, (alert_id, limit)).fetchall()
        return [
            FiredRecord(
                alert_id=str(a),
                fired_ms=int(ms),
                title=str(title),
                message=str(message),
                value=None if value is None else float(value),
                symbol=str(symbol),
                exchange=str(exchange),
            )
            for a, ms, value, title, message, symbol, exchange in rows
        ]

    def last_fired(self) -> dict[str, int]:
        """Each alert's newest firing time (of those the history still holds)."""
        with self.database.reading() as conn:
            if not _has_tables(conn):
                return {}
            rows = conn.execute("SELECT alert_id, max(fired_ms) FROM alert_fired GROUP BY alert_id")
            return {str(alert_id): int(ms) for alert_id, ms in rows}

    def clear_fired(self) -> None:
        """Forget every firing (the alerts stay)."""
        with self.database.writing() as conn:
            conn.execute("DELETE FROM alert_fired")


def _has_tables(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alert_fired'"
    return conn.execute(query).fetchone() is not None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
