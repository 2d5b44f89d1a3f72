"""The history database file: opening, checking, upgrading, connections, and
SQLite's failures in plain words.

One file (``history.sqlite`` in the data folder unless told otherwise) in WAL
mode: readers never wait for the writer, and the writer never waits for
readers. ``Database`` hands out

* one **writer** connection, behind a lock: ``with db.writing() as conn``
  runs a ``BEGIN IMMEDIATE`` transaction that commits at the end of the block
  or rolls back on an exception, so a crash (even SIGKILL) never leaves half
  of a write in the file;
* one **reader** connection per thread: ``with db.reading() as conn``. A
  single SELECT sees one committed state of the whole file.

Every call blocks; the GUI thread hands database work to a worker thread.
Waiting for another process's lock lasts ``busy_timeout_s`` at most, then
``DatabaseLockedError``. A file that is not a database, or fails
``PRAGMA quick_check`` at open, raises ``DatabaseDamagedError``; nothing is
ever deleted: the user may open it read-only or ``move_aside`` it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.errors import DatabaseDamagedError, DatabaseLockedError, DatabaseTooNewError, StoreError
from terminal.paths import AppPaths
from terminal.private_files import PRIVATE_FILE, create_private_file, log_narrowed, make_private_dir, narrow
from terminal.store import migrations

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy import Engine

FILE_NAME = "history.sqlite"
#: 16 KiB pages: a day of 1-minute candles (69 KB) spans five pages; bulk
#: writes ran 1.6x and cold reads 2x faster than with SQLite's default 4 KiB
#: (docs/performance.md, section 6)
PAGE_SIZE = 16_384
BUSY_TIMEOUT_S = 5.0
#: the WAL file is cut back to this size after a checkpoint
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
SIDE_FILES = ("-wal", "-shm", "-journal")

_LOCKED = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
_DAMAGED_HINT = (
    "You can open it read-only to export what is still readable, or move it aside and "
    "start with a fresh database; the terminal never deletes it."
)


def default_path(paths: AppPaths) -> Path:
    return paths.data_dir / FILE_NAME


def connect(
    path: Path, *, read_only: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S, foreign_keys: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable
    from any thread (the caller keeps one thread on it at a time)."""
    target = f"{path.resolve().as_uri()}?mode=ro" if read_only else str(path)
    conn = sqlite3.connect(
        target, uri=read_only, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    # In WAL mode NORMAL loses no committed transaction when the process dies,
    # only (at worst) the last ones on power loss; the file stays consistent.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    return conn


def translate(
    exc: sqlite3.Error,
    path: Path,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    otherwise: str = "The market history database failed.",
) -> StoreError:
    """SQLite's error as one of ours, in plain words (its own text goes to
    ``detail``); ``otherwise`` says what failed when SQLite names no cause."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    detail = f"{path}: {getattr(exc, 'sqlite_errorname', type(exc).__name__)}: {exc}"
    if primary in _LOCKED:
        return DatabaseLockedError(
            f"The market history database is in use by another program and stayed locked for "
            f"{busy_timeout_s:g} s.",
            hint="Close the other program (or the other terminal window that writes to it) and try "
            "again, or open the database read-only.",
            detail=detail,
        )
    if primary in _DAMAGED:
        return DatabaseDamagedError(
            "The market history database is damaged: SQLite cannot read it.",
            path=str(path),
            hint=_DAMAGED_HINT,
            detail=detail,
        )
    if primary == sqlite3.SQLITE_FULL:
        return StoreError(
            "The disk is full; the candles were not saved.", hint="Free some space.", detail=detail
        )
    if primary in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY):
        return StoreError(
            "The market history database cannot be opened for writing.",
            hint="Check that its folder exists and that you may write there.",
            detail=detail,
        )
    return StoreError(otherwise, detail=detail)


def move_aside(path: str | Path) -> Path:
    """Rename the database (and its -wal/-shm files) to
    ``<name>.damaged-<UTC time><suffix>`` so that a fresh one can be made;
    returns the new path. Never deletes anything."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    n = 1
    while target.exists() or any(target.with_name(target.name + s).exists() for s in SIDE_FILES):
        n += 1
        target = path.with_name(f"{path.stem}.damaged-{stamp}-{n}{path.suffix}")
    path.rename(target)
    moved = [target]
    for side in SIDE_FILES:
        extra = path.with_name(path.name + side)
        if extra.exists():
            moved.append(extra.rename(target.with_name(target.name + side)))
    # the files moved aside hold the same journal: as private as the file was meant to be
    log_narrowed(log, [narrow(kept, PRIVATE_FILE) for kept in moved])
    return target


class Database:
    """One history file, checked and upgraded to the current schema on open.

    ``read_only`` opens without writing anything (no upgrade, no WAL switch):
    the way to salvage a damaged file or to look at one another program
    holds. ``check`` runs ``PRAGMA quick_check`` at open (~7 ms for 50 MB).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        check: bool = True,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.busy_timeout_s = busy_timeout_s
        self._write_lock = threading.Lock()
        self._readers_lock = threading.Lock()
        self._readers: dict[threading.Thread, sqlite3.Connection] = {}
        self._writer: sqlite3.Connection | None = None
        self._engine: Engine | None = None
        self._closed = False
        conn = self._prepare(check)
        if read_only:
            self._readers[threading.current_thread()] = conn
        else:
            self._writer = conn

    # -- connections ------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """The writer connection inside one transaction (one thread at a time)."""
        if self.read_only:
            raise StoreError("The market history database is open read-only; nothing can be saved.")
        with self._write_lock:
            conn = self._writer
            if conn is None or self._closed:
                raise StoreError("The market history database is closed.")
            with self.errors():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's reader connection."""
        conn = self._reader()
        with self.errors():
            yield conn

    def _reader(self) -> sqlite3.Connection:
        me = threading.current_thread()
        with self._readers_lock:
            if self._closed:
                raise StoreError("The market history database is closed.")
            conn = self._readers.get(me)
            if conn is not None:
                return conn
            for thread in [t for t in self._readers if not t.is_alive()]:  # threads that ended
                self._readers.pop(thread).close()
            with self.errors():
                conn = connect(self.path, read_only=self.read_only, busy_timeout_s=self.busy_timeout_s)
                conn.execute("PRAGMA query_only = ON")
            self._readers[me] = conn
            return conn

    def engine(self) -> Engine:
        """A SQLAlchemy engine on the same file, for sqlmodel sessions on the
        small metadata tables (sync state, gaps). Created on first use."""
        if self._engine is None:
            from sqlalchemy import create_engine, event

            self._engine = create_engine(
                f"sqlite:///{self.path}",
                creator=lambda: connect(
                    self.path, read_only=self.read_only, busy_timeout_s=self.busy_timeout_s
                ),
            )
            event.listen(self._engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return self._engine

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turns SQLite's exceptions inside the block into ours."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our own mistake, not the file's
        except sqlite3.Error as exc:
            raise translate(exc, self.path, self.busy_timeout_s) from exc

    def integrity_check(self) -> list[str]:
        """SQLite's full check; ``["ok"]`` when the file is sound."""
        with self.reading() as conn:
            return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]

    def close(self) -> None:
        """Close every connection (the last one out checkpoints the WAL into
        the file). Call it after the worker threads are done with the store."""
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            for conn in self._readers.values():
                conn.close()
            self._readers.clear()
            if self._engine is not None:
                self._engine.dispose()

    # -- opening ----------------------------------------------------------------
    def _prepare(self, check: bool) -> sqlite3.Connection:
        if self.read_only and not self.path.is_file():
            raise StoreError(f"There is no market history database at {self.path}.")
        if not self.read_only:
            self._make_private()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        with self.errors():
            conn = connect(self.path, read_only=self.read_only, busy_timeout_s=self.busy_timeout_s)
        try:
            with self.errors():
                if fresh:  # only takes effect before the first table exists
                    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                if check:
                    self._quick_check(conn)
                revision = self._revision(conn)  # before any write: is the file ours?
                if not self.read_only:
                    conn.execute("PRAGMA journal_mode = WAL")
            if revision != migrations.HEAD and not self.read_only:
                self._upgrade()
                if revision is None:
                    log.info("Created the market history database %s", self.path)
                else:
                    log.info(
                        "Brought the market history database up to date (schema %s -> %s): %s",
                        revision, migrations.HEAD, self.path,
                    )  # fmt: skip
        except BaseException:
            conn.close()
            raise
        return conn

    def _make_private(self) -> None:
        """The file (and its folder, if it has to be made) private to the
        user before SQLite opens it: SQLite creates a file with the umask's
        rights, but gives its -wal and -shm files the rights of the database
        file, so a 0600 file made here keeps all three private. A file left
        readable by others (by an older version) is narrowed, and logged."""
        if not self.path.parent.exists():  # an existing folder may be the user's: left as it is
            make_private_dir(self.path.parent)
        sides = (self.path.with_name(self.path.name + side) for side in SIDE_FILES)
        log_narrowed(log, [create_private_file(self.path), *(narrow(p, PRIVATE_FILE) for p in sides)])

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        result = [str(row[0]) for row in conn.execute("PRAGMA quick_check(5)")]
        if result != ["ok"]:
            raise DatabaseDamagedError(
                "The market history database is damaged: SQLite's check found errors in it.",
                path=str(self.path),
                hint=_DAMAGED_HINT,
                detail=f"{self.path}: quick_check: {'; '.join(result)}",
            )

    def _revision(self, conn: sqlite3.Connection) -> str | None:
        revision = migrations.read_revision(conn)
        if revision is None:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise StoreError(
                    f"{self.path} is an SQLite database, but not the terminal's market history.",
                    hint="Choose another file for the history, or move this one away.",
                )
        elif revision not in migrations.REVISIONS:
            raise DatabaseTooNewError(
                "The market history database was made by a newer version of the terminal.",
                hint="Update the terminal, or open the database read-only.",
                detail=f"{self.path}: schema revision {revision}; this version knows up to {migrations.HEAD}",
            )
        return revision

    def _upgrade(self) -> None:
        def fresh_connection() -> sqlite3.Connection:
            return connect(self.path, busy_timeout_s=self.busy_timeout_s, foreign_keys=False)

        failed = "The market history database could not be brought up to date; it was left as it was."
        try:
            migrations.upgrade(fresh_connection)
        except StoreError:
            raise
        except Exception as exc:
            orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the DB-API error
            if isinstance(orig, sqlite3.Error) and not isinstance(orig, sqlite3.ProgrammingError):
                raise translate(orig, self.path, self.busy_timeout_s, otherwise=failed) from exc
            raise StoreError(failed, detail=f"{self.path}: {type(exc).__name__}: {exc}") from exc
