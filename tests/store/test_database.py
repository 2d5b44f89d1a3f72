"""The history file: creation, WAL, connections per thread, writers killed
with SIGKILL, and the way out of damaged and locked files (real files, real
second processes)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from terminal.errors import (
    DatabaseDamagedError,
    DatabaseLockedError,
    DatabaseTooNewError,
    StoreError,
    describe,
)
from terminal.marketdata.candles import COLUMNS, OHLCV
from terminal.paths import resolve_paths
from terminal.store import CandleStore, Database, default_path, migrations, move_aside
from terminal.store.database import PAGE_SIZE

T0 = 1_700_006_400_000
MINUTE = 60_000
REPO = Path(__file__).resolve().parents[2]


def candles(n: int, start: int = T0) -> OHLCV:
    ts = start + MINUTE * np.arange(n, dtype=np.int64)
    return OHLCV(ts, *(np.linspace(1.0, 2.0, n) for _ in range(5)))


def equal(a: OHLCV, b: OHLCV) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("ts", *COLUMNS))


def filled(path: Path, n: int = 5000) -> Path:
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", candles(n))
    return path


def root_page(path: Path, name: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0])


def garble_page(path: Path, page: int) -> None:
    with path.open("r+b") as f:
        f.seek((page - 1) * PAGE_SIZE)
        f.write(b"\xa5" * PAGE_SIZE)


# -- a new file ---------------------------------------------------------------------
def test_a_new_file_is_created_in_wal_mode_at_the_newest_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "history.sqlite"
    db = Database(path)
    with db.reading() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
        assert migrations.read_revision(conn) == migrations.HEAD
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"instrument", "candle_series", "candle_chunk", "sync_state", "no_trade_gap"} <= tables
    db.close()
    assert not path.with_name("history.sqlite-wal").exists()  # the last connection checkpointed


def test_the_default_file_lives_in_the_data_folder(tmp_path: Path) -> None:
    paths = resolve_paths(config_dir=tmp_path / "cfg", data_dir=tmp_path / "data")
    assert default_path(paths) == tmp_path / "data" / "history.sqlite"


def test_each_thread_reads_on_its_own_connection_and_ended_threads_release_theirs(tmp_path: Path) -> None:
    db = Database(tmp_path / "history.sqlite")
    seen: list[sqlite3.Connection] = []
    together = threading.Barrier(3)

    def grab() -> None:
        with db.reading() as conn:
            seen.append(conn)
            conn.execute("SELECT 1").fetchone()
        together.wait(10)  # all three alive at once

    with db.reading() as mine:
        pass
    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 3 and all(c is not mine for c in seen)
    with db.reading() as again:
        assert again is mine
    assert len(db._readers) == 4
    late = threading.Thread(target=lambda: seen.append(db._reader()))  # its new connection prunes the dead
    late.start()
    late.join()
    assert db._readers == {threading.current_thread(): mine, late: seen[-1]}
    db.close()


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "history.sqlite")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.read("x", "A/B", "1m")
    with pytest.raises(StoreError, match="closed"):
        store.write("x", "A/B", "1m", candles(3))


# -- damaged --------------------------------------------------------------------------
def test_a_file_of_garbage_raises_damaged_and_is_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)
    with pytest.raises(DatabaseDamagedError) as caught:
        CandleStore(path)
    err = caught.value
    assert err.path == str(path)
    assert "damaged" in str(err)
    assert "read-only" in err.hint and "move it aside" in err.hint and "never deletes" in err.hint
    assert "SQLITE_NOTADB" in err.detail and err.detail not in describe(err)
    assert path.read_bytes() == garbage


def test_a_database_that_fails_quick_check_raises_damaged(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite")
    garble_page(path, root_page(path, "sqlite_autoindex_candle_chunk_1"))
    with pytest.raises(DatabaseDamagedError, match="damaged") as caught:
        CandleStore(path)
    assert "quick_check" in caught.value.detail


def test_a_damaged_file_opens_read_only_to_save_what_is_readable(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite", 5000)
    garble_page(path, root_page(path, "sqlite_autoindex_no_trade_gap_1"))  # candles untouched
    with pytest.raises(DatabaseDamagedError):
        CandleStore(path)
    before = path.read_bytes()
    with CandleStore(path, read_only=True, check=False) as store:
        assert len(store.read("x", "A/B", "1m")) == 5000
        with pytest.raises(StoreError, match="read-only"):
            store.write("x", "A/B", "1m", candles(3))
    assert path.read_bytes() == before


def test_move_aside_renames_the_file_and_its_wal_never_deleting(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"not a database at all")
    path.with_name("history.sqlite-wal").write_bytes(b"wal bytes")
    moved = move_aside(path)
    assert not path.exists() and not path.with_name("history.sqlite-wal").exists()
    assert (
        moved.parent == tmp_path and moved.name.startswith("history.damaged-") and moved.suffix == ".sqlite"
    )
    assert moved.read_bytes() == b"not a database at all"
    assert moved.with_name(moved.name + "-wal").read_bytes() == b"wal bytes"
    # the way out: a fresh file where the old one was
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", candles(10))
    path2 = tmp_path / "history.sqlite"
    path2.rename(tmp_path / "keep.sqlite")
    path2.write_bytes(b"damaged again, in the same second")
    second = move_aside(path2)
    assert second != moved and second.exists() and moved.exists()


def test_an_sqlite_file_of_another_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not the terminal's market history"):
        CandleStore(path)
    assert path.read_bytes() == before


def test_a_file_from_a_newer_terminal_is_refused(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseTooNewError, match="newer version") as caught:
        CandleStore(path)
    assert "9999" in caught.value.detail


# -- locked ------------------------------------------------------------------------------
HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
for statement in sys.argv[2:]:
    conn.execute(statement).fetchall()
print("holding", flush=True)
time.sleep(60)
"""


class LockHolder:
    """Another process that runs ``statements`` on the file and then holds on."""

    def __init__(self, path: Path, *statements: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), *statements], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "holding"

    def release(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_a_write_lock_held_by_another_process_raises_locked_after_the_wait(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite", 100)
    holder = LockHolder(path, "BEGIN EXCLUSIVE")
    try:
        with CandleStore(path, busy_timeout_s=0.3) as store:
            assert len(store.read("x", "A/B", "1m")) == 100  # WAL: reading still works
            with pytest.raises(DatabaseLockedError) as caught:
                store.write("x", "A/B", "1m", candles(10, start=T0 + 100 * MINUTE))
            err = caught.value
            assert "in use by another program" in str(err) and "0.3 s" in str(err)
            assert "Close the other program" in err.hint
            holder.release()
            assert store.write("x", "A/B", "1m", candles(10, start=T0 + 100 * MINUTE)) == 10
            assert len(store.read("x", "A/B", "1m")) == 110
    finally:
        holder.release()


def test_a_file_held_in_exclusive_locking_mode_cannot_be_opened(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite", 100)
    holder = LockHolder(path, "PRAGMA locking_mode = EXCLUSIVE", "SELECT count(*) FROM candle_chunk")
    try:
        with pytest.raises(DatabaseLockedError):
            CandleStore(path, busy_timeout_s=0.2)
    finally:
        holder.release()
    with CandleStore(path) as store:
        assert len(store.read("x", "A/B", "1m")) == 100


def test_a_rollback_journal_file_locked_by_another_process_cannot_be_opened(tmp_path: Path) -> None:
    path = filled(tmp_path / "history.sqlite", 100)
    holder = LockHolder(path, "PRAGMA journal_mode = DELETE", "BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLockedError):
            CandleStore(path, busy_timeout_s=0.2)
    finally:
        holder.release()
    with CandleStore(path) as store:  # back to WAL, data intact
        with store.database.reading() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(store.read("x", "A/B", "1m")) == 100


def test_a_path_that_cannot_be_a_database_gives_a_plain_message(tmp_path: Path) -> None:
    (tmp_path / "history.sqlite").mkdir()  # e.g. a folder where the file should be
    with pytest.raises(StoreError, match="cannot be opened for writing") as caught:
        CandleStore(tmp_path / "history.sqlite")
    assert "SQLITE_CANTOPEN" in caught.value.detail


# -- crash ---------------------------------------------------------------------------------
WRITER = """
import sys
import numpy as np
from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore

T0, MINUTE, SIZE, SHIFT = {t0}, 60_000, {size}, {shift}

def batch(i):
    # batch i: SIZE candles from minute SHIFT*(i-1), every value = i (so it overlaps batch i-1)
    ts = T0 + MINUTE * (SHIFT * (i - 1) + np.arange(SIZE, dtype=np.int64))
    return OHLCV(ts, *(np.full(SIZE, float(i)) for _ in range(5)))

store = CandleStore(sys.argv[1])
i = 0
while True:
    i += 1
    store.write("x", "A/B", "1m", batch(i))
    print(i, flush=True)
"""


BATCH, SHIFT = 20_000, 7_000  # 14 chunks a write, each overlapping the previous write


def expected_after(batches: int) -> OHLCV:
    """What the file holds after ``batches`` whole writes (the newest batch wins each minute)."""
    minutes = SHIFT * (batches - 1) + BATCH
    ts = T0 + MINUTE * np.arange(minutes, dtype=np.int64)
    value = np.minimum(np.arange(minutes) // SHIFT + 1, batches).astype(np.float64)
    return OHLCV(ts, *(value.copy() for _ in COLUMNS))


def test_a_writer_killed_with_sigkill_leaves_a_sound_file_with_whole_writes_only(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for round_ in range(3):
        path = tmp_path / f"history{round_}.sqlite"
        CandleStore(path).close()  # the schema first: the kill must land among the writes
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER.format(t0=T0, size=BATCH, shift=SHIFT), str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        target = 5 + 5 * round_
        done = 0
        while done < target:  # let it get well into its writes
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
            done = int(line)
        time.sleep(0.007 * (round_ + 1))  # somewhere inside a later write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        printed = [int(x) for x in proc.stdout.read().split()]
        confirmed = max([done, *printed])

        with CandleStore(path) as store:
            assert store.database.integrity_check() == ["ok"]
            assert store.verify() == []
            back = store.read("x", "A/B", "1m")
        committed = int(back.close[-1])  # the newest batch in the file
        # every printed write is in; at most the one in flight when killed joined it
        assert committed in (confirmed, confirmed + 1)
        assert equal(back, expected_after(committed)), f"round {round_}: not exactly {committed} writes"


HALF_WRITTEN = """
import sys, time
import numpy as np
from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore

store = CandleStore(sys.argv[1])
with store.database.writing() as conn:  # one transaction, never committed
    conn.execute("DELETE FROM candle_chunk WHERE rowid % 2 = 0")
    conn.execute("UPDATE candle_chunk SET data = zeroblob(length(data))")
    print("inside", flush=True)
    time.sleep(60)
"""


def test_a_process_killed_inside_a_write_transaction_leaves_the_previous_data(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    data = candles(10_000)
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", data)
    proc = subprocess.Popen(
        [sys.executable, "-c", HALF_WRITTEN, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with CandleStore(path) as store:
        assert store.database.integrity_check() == ["ok"]
        assert store.verify() == []
        assert equal(store.read("x", "A/B", "1m"), data)
