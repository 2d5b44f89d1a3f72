"""The simulated market a history file holds (``simulated_market``, revision 0006).

The simulator keeps its 1m candles in the file under its own exchange name, like
the history of any exchange; this record says which market they belong to (its
seed), when it began and the time it last ran to, so that the next start
continues it instead of making up a new one. Every call blocks: call it from a
worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.store.candles import CandleStore
from terminal.store.database import Database

_LOAD = "SELECT name, seed, started_ms, saved_ms FROM simulated_market WHERE name = ?"
_SAVE = """
INSERT INTO simulated_market (name, seed, started_ms, saved_ms) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
  seed = excluded.seed, started_ms = excluded.started_ms, saved_ms = excluded.saved_ms"""


@dataclass(frozen=True)
class MarketRecord:
    name: str
    seed: int
    started_ms: int  # when this market began
    saved_ms: int  # the time it last ran to


class SimulatedMarkets:
    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self.database: Database = store.database

    def load(self, name: str) -> MarketRecord | None:
        with self.database.reading() as conn:
            row = conn.execute(_LOAD, (name,)).fetchone()
        return None if row is None else MarketRecord(str(row[0]), int(row[1]), int(row[2]), int(row[3]))

    def save(self, record: MarketRecord) -> None:
        with self.database.writing() as conn:
            conn.execute(_SAVE, (record.name, record.seed, record.started_ms, record.saved_ms))

    def forget(self, name: str) -> None:
        """Drop the market ``name``: its record and every candle kept under its name."""
        for cov in self.store.coverage(exchange=name):
            self.store.delete(name, cov.key.symbol, cov.key.timeframe)
        with self.database.writing() as conn:
            conn.execute("DELETE FROM simulated_market WHERE name = ?", (name,))
