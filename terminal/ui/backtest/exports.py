"""Exporting a run: where to (a save dialog, opened with ``open()``, never
``exec()``: no nested event loop) and the writing itself (in a worker thread,
by ``terminal.backtest.report``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget

from terminal.backtest.report import write_html_report, write_trades_csv
from terminal.backtest.run_store import SavedRun

HTML, CSV = "html", "csv"
WRITERS = {HTML: write_html_report, CSV: write_trades_csv}


def export_dialog(parent: QWidget, run: SavedRun, kind: str, folder: Path) -> QFileDialog:
    """A save dialog for ``run``'s HTML report (``HTML``) or trades (``CSV``), named after
    the run; the caller connects ``fileSelected`` and calls ``open()``."""
    s = run.summary
    market = s.symbol.replace("/", "").replace(":", "")
    stem = f"backtest-{s.id or 'unsaved'}-{s.strategy}-{market}-{s.timeframe}"
    if kind == HTML:
        title, names = "Export the HTML report", "HTML files (*.html)"
    else:
        title, names, stem = "Export the trades as CSV", "CSV files (*.csv)", f"{stem}-trades"
    dialog = QFileDialog(parent, title, str(folder / f"{stem}.{kind}"))
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(kind)
    dialog.setNameFilters([names, "All files (*)"])
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog
