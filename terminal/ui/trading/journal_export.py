"""Exporting the trading journal (every intent, check, request, response and
fill) from the Trade menu: a save dialog opened with ``open()``, the writing
in a worker thread, the outcome on the window's notice bar."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from terminal.errors import TerminalError, describe
from terminal.trading.journal import TradingJournal


def journal_dialog(parent: QWidget, folder: Path) -> QFileDialog:
    """A save dialog for the journal (CSV, or JSON by the file's suffix)."""
    stem = f"trading-journal-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M}"
    dialog = QFileDialog(parent, "Export the trading journal", str(folder / f"{stem}.csv"))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("csv")
    dialog.setNameFilters(["CSV files (*.csv)", "JSON files (*.json)", "All files (*)"])
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog


async def export_journal(journal: TradingJournal, path: str, say: Callable[[str], object]) -> int:
    """Write the journal to ``path`` (JSON when it ends in .json, else CSV);
    says how many entries went, or why none did. Returns the count (0 on failure)."""
    write = journal.export_json if path.lower().endswith(".json") else journal.export_csv
    try:
        await journal.flush()
        count = await asyncio.to_thread(write, path)
    except TerminalError as exc:
        say(f"The trading journal was not exported: {describe(exc)}")
        return 0
    say(f"Exported {count:,} trading journal entries to {path}.")
    return count
