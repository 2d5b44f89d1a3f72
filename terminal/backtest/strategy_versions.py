"""Versions of the user's strategies: the text of each strategy file a saved run or a
study used, so that the user can see which version made which runs, what changed
between two versions, and bring an old one back.

    versions = StrategyVersions(candle_store)
    versions.record("above_average", digest, text, path)   # when a run is saved / a study starts
    versions.list("above_average")   # StrategyVersion rows, newest first, with their run counts
    versions.source("above_average", digest)
    versions.set_note("above_average", digest, "before the volume filter")
    unified_diff(old, new)           # what changed, as ``diff -u`` shows it
    restore(text, folder, "above_average", "above_average_v1")   # a new file, never over one

A version is a ``strategy_version`` row (``terminal.store.schema.StrategyVersionRecord``)
keyed by the strategy's name and the SHA-256 of its file: the same key that every saved
run (``backtest_run``) and study (``study``) keeps as ``source_hash``, so counting a
version's runs is a query, not a copy. The text is what the strategies' process hashed
and loaded (``StrategyInfo.source``): the GUI keeps it as data and never runs it.

Restoring writes the old text to a new ``.py`` file in the strategies folder (``O_EXCL``:
never over an existing file, 0600 as the loader wants) with the ``name = "..."`` line of
its strategy class rewritten to a new name, found with ``ast`` (parsed, not run), so the
two files do not clash; when that line cannot be found for certain (the name is computed,
or set twice) the text is written as it was and the caller says that the names clash.

Every call blocks, as ``RunStore``'s do: the UI calls them from a worker thread.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from terminal.errors import TerminalError
from terminal.private_files import open_private
from terminal.store.candles import CandleStore

#: what a strategy's name may be (as the loader checks it: ``user_strategies._check_class``)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_RUNS = "SELECT count(*) FROM backtest_run r WHERE r.strategy = v.strategy AND r.source_hash = v.source_hash"
_STUDIES = "SELECT count(*) FROM study s WHERE s.strategy = v.strategy AND s.source_hash = v.source_hash"
_LIST = f"""
SELECT v.strategy, v.source_hash, v.path, v.first_seen_ms, v.note, ({_RUNS}), ({_STUDIES})
FROM strategy_version v WHERE v.strategy = ? ORDER BY v.first_seen_ms DESC, v.rowid DESC"""
_RECORD = """
INSERT INTO strategy_version (strategy, source_hash, path, first_seen_ms, note, source)
VALUES (?, ?, ?, ?, '', ?) ON CONFLICT (strategy, source_hash) DO NOTHING"""


class VersionError(TerminalError):
    """A strategy version cannot be read, noted or restored as asked."""


@dataclass(frozen=True)
class StrategyVersion:
    """One version of a user strategy, as a list shows it (its text is read apart)."""

    strategy: str
    source_hash: str  # the file's SHA-256
    path: str  # where the file was when this version was first seen
    first_seen_ms: int
    note: str
    runs: int  # saved runs made with this version
    studies: int  # research studies of it

    @property
    def short(self) -> str:
        """The hash's first characters, as a name for the version in lists and diffs."""
        return self.source_hash[:8]


class StrategyVersions:
    """The versions of user strategies in the history file that ``store`` holds open."""

    def __init__(self, store: CandleStore) -> None:
        self.database = store.database

    def record(self, strategy: str, source_hash: str, source: str, path: str) -> bool:
        """Keep this version's text if it is not kept yet; True when it is new. A version
        seen again keeps its first time, path and note."""
        now = time.time_ns() // 1_000_000
        with self.database.writing() as conn:
            added = conn.execute(_RECORD, (strategy, source_hash, path, now, source)).rowcount
        return added == 1

    def list(self, strategy: str) -> list[StrategyVersion]:
        """The versions of ``strategy``, newest first, each with its count of runs and studies."""
        with self.database.reading() as conn:
            if not _has_table(conn, "strategy_version"):  # an older file, opened read-only
                return []
            rows = conn.execute(_LIST, (strategy,)).fetchall()
        return [StrategyVersion(*row) for row in rows]

    def source(self, strategy: str, source_hash: str) -> str:
        """The text of one version; ``VersionError`` if it is not kept."""
        with self.database.reading() as conn:
            row = conn.execute(
                "SELECT source FROM strategy_version WHERE strategy = ? AND source_hash = ?",
                (strategy, source_hash),
            ).fetchone()
        if row is None:
            raise _unknown(strategy, source_hash)
        return str(row[0])

    def set_note(self, strategy: str, source_hash: str, note: str) -> None:
        """The user's note on one version ("" takes it away)."""
        with self.database.writing() as conn:
            changed = conn.execute(
                "UPDATE strategy_version SET note = ? WHERE strategy = ? AND source_hash = ?",
                (note.strip(), strategy, source_hash),
            ).rowcount
        if not changed:
            raise _unknown(strategy, source_hash)


def unified_diff(old: str, new: str, old_name: str = "older", new_name: str = "newer") -> str:
    """What changed from ``old`` to ``new``, as ``diff -u`` shows it ("" when nothing did)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def rename_strategy(source: str, old_name: str, new_name: str) -> str | None:
    """``source`` with the class attribute ``name = "<old_name>"`` of its strategy set to
    ``new_name``; None when there is not exactly one such plain assignment to rewrite.
    The text is parsed (``ast``), never run; only the string literal's characters change."""
    if not NAME.fullmatch(new_name):
        raise VersionError(
            f"{new_name!r} cannot be a strategy's name.",
            hint="Use letters, digits and _, not starting with a digit.",
        )
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: list[ast.Constant] = []
    for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
        for statement in cls.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            if (
                any(isinstance(t, ast.Name) and t.id == "name" for t in targets)
                and isinstance(value, ast.Constant)
                and value.value == old_name
            ):
                found.append(value)
    if len(found) != 1:
        return None
    literal = found[0]
    if literal.end_lineno != literal.lineno or literal.end_col_offset is None:
        return None
    lines = source.splitlines(keepends=True)
    # the offsets count UTF-8 bytes, not characters
    line = lines[literal.lineno - 1].encode("utf-8")
    start, end = literal.col_offset, literal.end_col_offset
    lines[literal.lineno - 1] = (line[:start] + f'"{new_name}"'.encode() + line[end:]).decode("utf-8")
    return "".join(lines)


@dataclass(frozen=True)
class Restored:
    path: Path
    renamed: bool  # False: the file keeps the old strategy name and will clash with the current one


def restore(source: str, folder: Path, old_name: str, new_name: str) -> Restored:
    """Write ``source`` to ``folder/<new_name>.py`` with its strategy renamed to
    ``new_name`` (when that can be done for certain); never over an existing file."""
    text = rename_strategy(source, old_name, new_name)
    path = folder / f"{new_name}.py"
    try:
        fd = open_private(path)
    except FileExistsError as exc:
        raise VersionError(
            f"{path.name} is in the strategies folder already; it was left as it is.",
            hint="Choose another name.",
        ) from exc
    except OSError as exc:
        raise VersionError(f"{path} could not be written: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
        file.write(source if text is None else text)
    return Restored(path, text is not None)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(query, (name,)).fetchone() is not None


def _unknown(strategy: str, source_hash: str) -> VersionError:
    return VersionError(f"No version {source_hash[:8]} of the strategy {strategy!r} is kept.")
