"""Logging: a rotating file in the data folder, and an in-memory feed for the log panel.

The panel feed is Qt-free: ``LogBuffer`` is a logging handler that keeps the
last records in a thread-safe deque; the UI drains it on its own timer, so a
log call from any thread never touches a widget.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from terminal.redaction import install_redactor

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
PANEL_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"

_installed: list[logging.Handler] = []  # handlers setup_logging added, replaced on a second call


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


def setup_logging(log_dir: Path, level: str = "INFO", buffer: LogBuffer | None = None) -> LogBuffer:
    """Route the root logger to a rotating file and the panel buffer; returns the buffer."""
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    while _installed:
        old = _installed.pop()
        root.removeHandler(old)
        old.close()
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "terminal.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
    buffer = buffer or LogBuffer()
    for handler in (file_handler, buffer):
        _installed.append(handler)
        root.addHandler(handler)
    # Keys never reach the file or the panel, whoever logs them.
    install_redactor([file_handler, buffer])
    root.setLevel(level)
    # ccxt and asyncio are chatty at DEBUG; keep them at INFO unless asked.
    for name in ("ccxt", "asyncio", "websockets", "aiohttp"):
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
    # qasync announces its Qt binding at INFO on every start: not news to a user.
    logging.getLogger("qasync").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return buffer
