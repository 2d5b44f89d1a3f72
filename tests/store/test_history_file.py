"""The terminal's history file when it cannot be opened: the reason is kept,
the ways out match it, and none of them deletes anything."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from terminal.errors import DatabaseDamagedError, DatabaseTooNewError
from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore
from terminal.store.history_file import HistoryFile, WayOut

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 60_000
PAGE_SIZE = 4096


def filled(path: Path, n: int = 3000) -> Path:
    ts = T0 + 60_000 * np.arange(n, dtype=np.int64)
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", OHLCV(ts, *(np.linspace(1.0, 2.0, n) for _ in range(5))))
    return path


def garble_index(path: Path) -> None:
    """Damage a page SQLite's quick_check reads, leaving the candles readable."""
    with sqlite3.connect(path) as conn:
        (page,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_no_trade_gap_1'"
        ).fetchone()
    with path.open("r+b") as f:
        f.seek((page - 1) * PAGE_SIZE)
        f.write(b"\xa5" * PAGE_SIZE)


def test_a_sound_file_opens_once_and_offers_nothing(tmp_path: Path) -> None:
    held = HistoryFile(filled(tmp_path / "history.sqlite"))
    store = held.get()
    assert store is not None and held.get() is store and held.writable() is store
    assert held.error is None and held.ways_out() == []
    held.close()


def test_a_damaged_file_can_be_read_without_writing_a_byte(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite")
    garble_index(path)
    before = path.read_bytes()
    held = HistoryFile(path)
    assert held.get() is None
    assert isinstance(held.error, DatabaseDamagedError)
    assert held.ways_out() == [WayOut.READ_ONLY, WayOut.START_FRESH]
    store = held.open_read_only()
    assert store is not None and held.read_only and held.writable() is None
    assert len(store.read("x", "A/B", "1m")) == 3000
    held.close()
    assert path.read_bytes() == before


def test_starting_fresh_moves_the_damaged_file_aside_intact(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    held = HistoryFile(path)
    assert held.get() is None and isinstance(held.error, DatabaseDamagedError)
    store = held.start_fresh()
    assert store is not None and held.error is None and not held.read_only
    assert held.moved_to is not None and held.moved_to.read_bytes() == b"this is not a database" * 100
    assert held.moved_to.parent == path.parent and "damaged" in held.moved_to.name
    assert store.coverage() == [] and path.exists()
    held.close()


def test_a_file_from_a_newer_terminal_offers_no_way_that_touches_it(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = path.read_bytes()
    held = HistoryFile(path)
    assert held.get() is None and isinstance(held.error, DatabaseTooNewError)
    assert held.ways_out() == []
    assert path.read_bytes() == before
