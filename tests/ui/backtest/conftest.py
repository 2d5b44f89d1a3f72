"""What the backtest panel's tests share: the history file the app would use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile


@pytest.fixture
def history(app_paths: AppPaths) -> Iterator[HistoryFile]:
    """The history file the app would use (stored candles, saved runs, studies)."""
    held = HistoryFile(app_paths.data_dir / "history.sqlite")
    yield held
    held.close()
