"""Logging: a rotating file in the data folder, and an in-memory feed for the log panel.

The panel feed is Qt-free: ``LogBuffer`` is a logging handler that keeps the
last records in a thread-safe deque; the UI drains it on its own timer, so a
log call from any thread never touches a widget.

The panel is the terminal's own: a record from any other logger (alembic,
numba, asyncio, ccxt, ...) reaches it only at WARNING or above
(``OwnRecordsOnly``). The file gets what the configured level lets through,
from everyone; at INFO a few libraries' per-start chatter is held back
(``QUIET_FLOORS``), and at DEBUG every library says all it has.

The log file and its rotated copies are private to the user (0600 on POSIX,
made so when created, ``PrivateRotatingFileHandler``; an older one found
readable by others is narrowed, and the log says so).
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from terminal.private_files import PRIVATE_FILE, create_private_file, log_narrowed, make_private_dir, narrow
from terminal.redaction import install_redactor

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
PANEL_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"

_installed: list[logging.Handler] = []  # handlers setup_logging added, replaced on a second call

OWN_LOGGER = "terminal"
#: the third-party loggers setup_logging sets: to the configured level, or to
#: their floor here when that is higher; at DEBUG, every one to DEBUG
QUIET_FLOORS: dict[str, int] = {
    # alembic, at every start: plugin set-up, "Context impl SQLiteImpl", each
    # revision; the store logs in one line what it did to the file
    "alembic": logging.WARNING,
    "qasync": logging.WARNING,  # announces its Qt binding (and see NEVER_DEBUG)
    "sqlalchemy": logging.WARNING,  # its own default, which it sets on import
    "asyncio": logging.INFO,
    "aiohttp": logging.INFO,
    "ccxt": logging.INFO,
    "numba": logging.INFO,
    "urllib3": logging.INFO,
    "websockets": logging.INFO,
}


#: loggers kept at their floor even at DEBUG: qasync's executor logs the arguments and the
#: result of every call handed to a worker thread, secrets included (a webhook's URL on its
#: way to the keyring), before the redactor has heard of them
NEVER_DEBUG: dict[str, int] = {"qasync": logging.WARNING}


@dataclass(frozen=True)
class LogLine:
    seq: int
    level: int
    text: str


class LogBuffer(logging.Handler):
    """Keeps the newest ``capacity`` formatted records for the log panel."""

    def __init__(self, capacity: int = 2000) -> None:
        super().__init__()
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._lock_lines = threading.Lock()
        self._seq = 0
        self.setFormatter(logging.Formatter(PANEL_FORMAT, "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        with self._lock_lines:
            self._seq += 1
            self._lines.append(LogLine(self._seq, record.levelno, text))

    def since(self, seq: int) -> list[LogLine]:
        """Lines newer than ``seq`` (0 = all kept lines)."""
        with self._lock_lines:
            return [line for line in self._lines if line.seq > seq]


class OwnRecordsOnly(logging.Filter):
    """The log panel's filter: the terminal's own records at any level, other
    libraries' only from WARNING up."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        own = name == OWN_LOGGER or name.startswith(OWN_LOGGER + ".")
        return own or record.levelno >= logging.WARNING


_panel_filter = OwnRecordsOnly()

LOG_FILE = "terminal.log"
BACKUP_COUNT = 5


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file made 0600 before it is opened: the first one and
    the fresh one after each rotation (the rotated copies keep that mode, as
    a rename does)."""

    def _open(self) -> io.TextIOWrapper:
        create_private_file(self.baseFilename)
        return super()._open()


def setup_logging(log_dir: Path, level: str = "INFO", buffer: LogBuffer | None = None) -> LogBuffer:
    """Route the root logger to a rotating file and the panel buffer; returns the buffer."""
    path = log_dir / LOG_FILE
    rotated = [path.with_name(f"{LOG_FILE}.{n}") for n in range(1, BACKUP_COUNT + 1)]
    narrowed = [make_private_dir(log_dir), *(narrow(p, PRIVATE_FILE) for p in (path, *rotated))]
    root = logging.getLogger()
    while _installed:
        old = _installed.pop()
        root.removeHandler(old)
        old.close()
    file_handler = PrivateRotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    buffer = buffer or LogBuffer()
    for handler in (file_handler, buffer):
        _installed.append(handler)
        root.addHandler(handler)
    # Keys never reach the file or the panel, whoever logs them.
    install_redactor([file_handler, buffer])
    if _panel_filter not in buffer.filters:
        buffer.addFilter(_panel_filter)
    number = logging.getLevelNamesMapping()[level]
    root.setLevel(number)
    for name, floor in QUIET_FLOORS.items():
        quiet = number > logging.DEBUG or name in NEVER_DEBUG
        logging.getLogger(name).setLevel(max(floor, number) if quiet else number)
    log_narrowed(logging.getLogger(__name__), narrowed)  # said once the file is there to hear it
    return buffer
