"""Schema migrations of the history database, with alembic, run from code.

The revisions live in ``versions/`` next to this file, inside the package.
alembic finds ``env.py`` and the revisions on disk, so a frozen build must ship
this folder's ``.py`` files as data as well (PyInstaller:
``collect_data_files("terminal.store.migrations", include_py_files=True)``).

Opening a database at ``HEAD`` reads one row and never imports alembic or
SQLAlchemy (together ~0.5 s of imports); only a new or older file pays that.
All pending revisions run in one ``BEGIN IMMEDIATE`` transaction, with foreign
keys off while alembic copies tables (SQLite's way to alter them), and are
checked with ``PRAGMA foreign_key_check`` before the commit.

To add a revision: copy the newest file in ``versions/``, give it the next
number as ``revision`` and the previous one as ``down_revision``, change the
models in ``terminal/store/schema.py`` to match, and extend ``REVISIONS``.
``tests/store/test_migrations.py`` checks that the chain, ``HEAD`` and the
models agree.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

#: every revision this terminal knows, oldest first
REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
)
HEAD = REVISIONS[-1]
SCRIPT_LOCATION = Path(__file__).resolve().parent

Connect = Callable[[], sqlite3.Connection]


class ForeignKeyViolationError(RuntimeError):
    """A migration left rows that point at nothing; the upgrade is rolled back."""


def read_revision(conn: sqlite3.Connection) -> str | None:
    """The schema revision stamped in the file, or None if it has none."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if found is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def alembic_config(connection: Connection | None = None) -> Config:
    """A config without an ini file; ``connection`` is what env.py migrates."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connect: Connect, revision: str = "head") -> None:
    """Upgrade to ``revision`` in one transaction. ``connect`` opens a fresh
    connection to the file (autocommit mode, foreign keys off)."""
    _run(connect, "upgrade", revision)


def downgrade(connect: Connect, revision: str) -> None:
    """Downgrade to ``revision`` (for tests and for going back after a failed release)."""
    _run(connect, "downgrade", revision)


# alembic's migration context is per process: two migrations at once (two
# files opened by two threads) crashed or failed, so they take turns.
_RUNNING = threading.Lock()


def _run(connect: Connect, direction: str, revision: str) -> None:
    with _RUNNING:
        _run_alone(connect, direction, revision)


def _run_alone(connect: Connect, direction: str, revision: str) -> None:
    from alembic import command
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    # alembic logs each revision at INFO; the user needs one line, not five
    # (the store logs what was done), so its own chatter goes to WARNING,
    # unless a level was chosen for it (terminal.logs does: DEBUG when asked for).
    alembic_log = logging.getLogger("alembic")
    if alembic_log.level == logging.NOTSET:
        alembic_log.setLevel(logging.WARNING)
    engine = create_engine("sqlite://", creator=connect, poolclass=NullPool)
    # pysqlite would run DDL outside any transaction; begin one ourselves,
    # taking the write lock at once (SQLAlchemy's documented recipe).
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    try:
        with engine.begin() as conn:
            config = alembic_config(conn)
            if direction == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise ForeignKeyViolationError(f"{len(broken)} rows point at missing rows: {broken[:5]}")
    finally:
        engine.dispose()
