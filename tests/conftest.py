"""Settings and fixtures every test folder needs, whoever runs pytest and however.

Qt tests draw offscreen: a plain ``pytest`` on a machine without a display
(CI, a container, an ssh session) would otherwise abort in Qt's platform
plugin before the first test. ``scripts/test`` sets the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers and level, and the levels ``setup_logging``
    sets on other libraries' loggers, back as they were after the test."""
    from terminal.logs import QUIET_FLOORS

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_FLOORS}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)
