"""The terminal's one market-history file, opened on first use, and the ways
out when it cannot be opened.

    history = HistoryFile(default_path(paths))
    store = history.get()            # None if it could not be opened: see history.error
    history.ways_out()               # what the user may do about it
    store = history.open_read_only() # or history.start_fresh(), history.retry()

A damaged file is never deleted: ``start_fresh`` moves it aside (with its WAL
files) under a name that says when, and makes a new one. A file locked by
another program can be tried again or read without writing. A read-only
store serves looking and exporting; nothing is saved to it.
"""

from __future__ import annotations

import logging
import threading
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.errors import (
    DatabaseDamagedError,
    DatabaseLockedError,
    DatabaseTooNewError,
    TerminalError,
    describe,
)

if TYPE_CHECKING:
    from terminal.store.candles import CandleStore

log = logging.getLogger(__name__)


class WayOut(Enum):
    RETRY = "Try again"
    READ_ONLY = "Open read-only"
    START_FRESH = "Move it aside and start a new one"


class HistoryFile:
    def __init__(self, path: Path, *, busy_timeout_s: float | None = None) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s  # how long a lock is waited for (None: the store's default)
        self.store: CandleStore | None = None
        self.error: TerminalError | None = None
        self.moved_to: Path | None = None  # where start_fresh put the old file
        self._tried = False
        # The first get() may come from a worker (a chart's switch) and from the
        # GUI thread (a panel) at once: one of them opens the file.
        self._lock = threading.RLock()

    @classmethod
    def of(cls, store: CandleStore | None, path: Path | None = None) -> HistoryFile:
        """A holder of a store opened elsewhere (or of none)."""
        held = cls(store.database.path if store is not None else (path or Path("history.sqlite")))
        held.store, held._tried = store, True
        return held

    @property
    def read_only(self) -> bool:
        return self.store is not None and self.store.database.read_only

    def get(self) -> CandleStore | None:
        """The store, opened (created, upgraded) the first time; None when that
        failed (``error`` says why, ``ways_out`` what can be done)."""
        with self._lock:
            if not self._tried:
                self._tried = True
                self._open()
            return self.store

    def writable(self) -> CandleStore | None:
        """The store if charts may keep history in it (open and not read-only)."""
        store = self.get()
        return None if store is None or store.database.read_only else store

    def ways_out(self) -> list[WayOut]:
        error = self.error
        if error is None:
            return []
        if isinstance(error, DatabaseDamagedError):
            return [WayOut.READ_ONLY, WayOut.START_FRESH]
        if isinstance(error, DatabaseTooNewError):
            return []  # a newer terminal's file is fine: updating is the way
        if isinstance(error, DatabaseLockedError):
            return [WayOut.RETRY, WayOut.READ_ONLY]
        return [WayOut.RETRY, WayOut.READ_ONLY]

    def retry(self) -> CandleStore | None:
        with self._lock:
            self._close()
            self._open()
            return self.store

    def open_read_only(self) -> CandleStore | None:
        """Open without writing anything (no upgrade, no check that could refuse
        it): to look at the candles and export what is readable."""
        from terminal.store.candles import CandleStore

        with self._lock:
            self._close()
            try:
                self.store = CandleStore(
                    self.path, read_only=True, check=False, busy_timeout_s=self._busy_timeout()
                )
                self.error = None
                log.warning("The market history database is open read-only: %s", self.path)
            except TerminalError as exc:
                self.error = exc
                log.error("The market history database cannot be opened read-only: %s", describe(exc, True))
            return self.store

    def start_fresh(self) -> CandleStore | None:
        """Move the file aside (never deleted) and make a new one."""
        from terminal.store.database import move_aside

        with self._lock:
            self._close()
            if self.path.exists():
                self.moved_to = move_aside(self.path)
                log.warning("The market history database was moved aside to %s", self.moved_to)
            self._open()
            return self.store

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> None:
        from terminal.store.candles import CandleStore

        try:
            self.store = CandleStore(self.path, busy_timeout_s=self._busy_timeout())
            self.error = None
        except TerminalError as exc:
            self.store, self.error = None, exc
            why = describe(exc, detailed=True)
            log.error("The history file cannot be used; nothing is saved in it until it can: %s", why)

    def _busy_timeout(self) -> float:
        from terminal.store.database import BUSY_TIMEOUT_S

        return BUSY_TIMEOUT_S if self.busy_timeout_s is None else self.busy_timeout_s

    def _close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
