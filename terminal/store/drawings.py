"""The chart's drawings of each market, kept in the history file (``drawing``, revision 0010).

    drawings = DrawingStore(candle_store)
    drawings.load("binance", "BTC/USDT")             # DrawingRecords, in drawing order
    drawings.replace("binance", "BTC/USDT", records)  # the market's drawings become these
    drawings.put("binance", "BTC/USDT", record)       # one added (on top) or changed in place
    drawings.delete("binance", "BTC/USDT", record.id)

A record is plain data: the chart's id for the drawing, its kind (``hline``,
``trend``, ``ray``, ``rect``, ``fib``, ``note``; the store does not judge
them, so a newer terminal's kinds survive an older one), its points as
(time in seconds, price), its text and colour. Per exchange and symbol, not
per timeframe: a drawing shows on every timeframe of its market.

Every call blocks, as the other stores' do: the UI calls them from a worker thread.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from terminal.errors import StoreError
from terminal.store.candles import CandleStore

log = logging.getLogger(__name__)

_COLUMNS = "id, kind, points, text, color"
_LOAD = f"SELECT {_COLUMNS} FROM drawing WHERE exchange = ? AND symbol = ? ORDER BY position, rowid"
_INSERT = """
INSERT INTO drawing (exchange, symbol, id, position, kind, points, text, color, updated_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_PUT = (
    _INSERT
    + """
ON CONFLICT (exchange, symbol, id) DO UPDATE SET
  kind = excluded.kind, points = excluded.points, text = excluded.text, color = excluded.color,
  updated_ms = excluded.updated_ms"""
)
_TOP = "SELECT coalesce(max(position), -1) + 1 FROM drawing WHERE exchange = ? AND symbol = ?"


@dataclass(frozen=True)
class DrawingRecord:
    id: str
    kind: str
    points: tuple[tuple[float, float], ...]  # (time in seconds, price)
    text: str = ""
    color: str = "#2962ff"


class DrawingStore:
    """The drawings of every market in the history file that ``store`` holds open."""

    def __init__(self, store: CandleStore) -> None:
        self.database = store.database

    def load(self, exchange: str, symbol: str) -> list[DrawingRecord]:
        """The market's drawings, bottom first. A row that cannot be read is left out
        (and logged), not the others with it."""
        with self.database.reading() as conn:
            if not _has_table(conn):  # an older file, opened read-only
                return []
            rows = conn.execute(_LOAD, (exchange, symbol)).fetchall()
        records = []
        for drawing_id, kind, points, text, color in rows:
            try:
                records.append(DrawingRecord(drawing_id, kind, _points_from(points), text, color))
            except (ValueError, TypeError) as exc:
                log.warning(
                    "Drawing %s of %s %s cannot be read (%s); left out.", drawing_id, exchange, symbol, exc
                )
        return records

    def replace(self, exchange: str, symbol: str, records: Sequence[DrawingRecord]) -> None:
        """The market's drawings become ``records`` (in that order), in one transaction."""
        now = _now_ms()
        rows = [
            (exchange, symbol, r.id, i, r.kind, _points_json(r), r.text, r.color, now)
            for i, r in enumerate(records)
        ]
        with self.database.writing() as conn:
            conn.execute("DELETE FROM drawing WHERE exchange = ? AND symbol = ?", (exchange, symbol))
            conn.executemany(_INSERT, rows)

    def put(self, exchange: str, symbol: str, record: DrawingRecord) -> None:
        """Add ``record`` on top of the market's drawings, or change the one with its id
        where it stands."""
        points = _points_json(record)
        with self.database.writing() as conn:
            (top,) = conn.execute(_TOP, (exchange, symbol)).fetchone()
            row = (
                exchange,
                symbol,
                record.id,
                top,
                record.kind,
                points,
                record.text,
                record.color,
                _now_ms(),
            )
            conn.execute(_PUT, row)

    def delete(self, exchange: str, symbol: str, drawing_id: str) -> bool:
        """Remove one drawing; False when the market has none of that id."""
        with self.database.writing() as conn:
            gone = conn.execute(
                "DELETE FROM drawing WHERE exchange = ? AND symbol = ? AND id = ?",
                (exchange, symbol, drawing_id),
            ).rowcount
        return gone == 1


def _points_json(record: DrawingRecord) -> str:
    if not all(math.isfinite(v) for point in record.points for v in point):
        raise StoreError(f"A point of drawing {record.id} is not a number; it is not saved.")
    return json.dumps([[float(t), float(p)] for t, p in record.points])


def _points_from(text: str) -> tuple[tuple[float, float], ...]:
    points = json.loads(text)
    if not isinstance(points, list):
        raise ValueError("points are not a list")
    out = []
    for point in points:
        t, p = point  # ValueError or TypeError when it is not a pair
        out.append((float(t), float(p)))
    return tuple(out)


def _has_table(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'drawing'"
    return conn.execute(query).fetchone() is not None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
