"""The market data panel (File → Market data, Ctrl+Shift+D): what history is
stored, per exchange, symbol and timeframe, with its gaps and the state of
its downloads, and the jobs that change it (download a range, fill gaps,
resume, delete, build a longer timeframe, import and export CSV).

Nothing here blocks the GUI thread: the table comes from the store in a
worker thread, gap counts follow series by series (shown as "…" until
known), and every job runs as a task with a progress bar and Cancel
(``terminal.ui.data.long_job``). After each job the table is read again.
The columns and rules are described in docs/data-manager.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import CsvImportError, TerminalError, describe
from terminal.market.history_sources import HistorySources
from terminal.store.candles import CandleStore, Coverage, SeriesKey
from terminal.store.csv_sniff import sniff
from terminal.store.series_report import SeriesGaps, series_gaps
from terminal.store.sync_records import SyncRecord, SyncRecords
from terminal.tasks import TaskGroup
from terminal.ui.data.csv_import_dialog import CsvImportDialog
from terminal.ui.data.download_dialog import DownloadDialog, DownloadRequest
from terminal.ui.data.jobs import DataJobs
from terminal.ui.data.long_job import CANCELLED, FAILED, JobBar, JobRunner
from terminal.ui.data.model import (
    CoverageModel,
    GapsModel,
    SeriesRow,
    gaps_caption,
    series_rows,
    series_title,
    size_text,
)
from terminal.ui.data.series_dialogs import (
    BuildDialog,
    BuildRequest,
    DeleteDialog,
    DeleteRequest,
    ExportDialog,
    ExportRequest,
)
from terminal.ui.tables import table
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

REFRESH = "refresh"  # the task slot of the table's reading


def _now_ms() -> int:
    return int(time.time() * 1000)


def _table(model: CoverageModel | GapsModel, parent: QWidget) -> QTableView:
    view = table(parent, row_height=22)
    view.setModel(model)
    return view


class DataManager(QWidget):
    def __init__(
        self, store: CandleStore, sources: HistorySources, theme: Theme = DARK, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.sources = sources
        self.theme = theme
        self.records = SyncRecords(store)
        self.dialog: QDialog | None = None  # the form open now (tests drive it)
        # the table's reading (a newer one cancels it) and the look at a file to import
        self._reads = TaskGroup("data manager", on_error=self._read_failed, logger=log)

        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for name, text, tip in (
            ("refresh", "Refresh", "Read the stored history again"),
            ("download", "Download range…", "Download the candles missing in a range"),
            ("fill", "Fill gaps", "Download the candles missing inside the selected series"),
            ("resume", "Resume", "Continue the selected series' interrupted download"),
            ("delete", "Delete…", "Delete the selected series, or a range of it"),
            ("build", "Build timeframe…", "Make a longer timeframe from the selected series' candles"),
            ("import", "Import CSV…", "Import candles from a CSV file"),
            ("export", "Export CSV…", "Write the selected series' candles to a CSV file"),
        ):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            self.buttons[name] = button
            bar.addWidget(button)
        bar.addStretch(1)
        self.summary = QLabel(self)
        bar.addWidget(self.summary)

        self.model = CoverageModel(theme, self)
        self.table = _table(self.model, self)
        for column, width in enumerate((80, 90, 80, 120, 120, 80, 50, 65, 75)):
            self.table.horizontalHeader().resizeSection(column, width)
        self.gaps_model = GapsModel(theme, self)
        self.gaps_table = _table(self.gaps_model, self)
        for column, width in enumerate((118, 118, 56)):
            self.gaps_table.horizontalHeader().resizeSection(column, width)
        self.gaps_title = QLabel(gaps_caption(None), self)
        self.gaps_title.setWordWrap(True)
        gaps_box = QWidget(self)
        gaps_column = QVBoxLayout(gaps_box)
        gaps_column.setContentsMargins(0, 0, 0, 0)
        gaps_column.addWidget(self.gaps_title)
        gaps_column.addWidget(self.gaps_table, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.table)
        split.addWidget(gaps_box)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 2)
        split.setSizes([880, 400])

        self.job_bar = JobBar(self)
        self.runner = JobRunner(self.job_bar, self)
        self.jobs = DataJobs(store, sources, self.runner, self.model.set_status)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.job_bar)
        layout.addWidget(self.message)

        self.buttons["refresh"].clicked.connect(self.refresh)
        self.buttons["download"].clicked.connect(self.open_download)
        self.buttons["fill"].clicked.connect(self.fill_gaps)
        self.buttons["resume"].clicked.connect(self.resume)
        self.buttons["delete"].clicked.connect(self.open_delete)
        self.buttons["build"].clicked.connect(self.open_build)
        self.buttons["import"].clicked.connect(self.choose_import_file)
        self.buttons["export"].clicked.connect(self.open_export)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.runner.finished.connect(self._job_finished)
        self._enable()
        if self.read_only:
            self.summary.setToolTip("Opened read-only to salvage it: nothing can be changed or downloaded.")
            self._say("The history file is open read-only: look at it and export what you need.", error=True)
        self.refresh()

    # -- reading the store ------------------------------------------------------------------
    @property
    def refreshing(self) -> bool:
        return self._reads.running(REFRESH) is not None

    def refresh(self) -> asyncio.Task[None]:
        """Read coverage and sync state again, then the gaps series by series."""
        return self._reads.spawn(self._refresh(), name="data manager: refresh", key=REFRESH)

    def _read(self) -> tuple[list[Coverage], list[SyncRecord]]:
        return self.store.coverage(), self.records.all()

    async def _refresh(self) -> None:
        coverage, records = await asyncio.to_thread(self._read)
        rows = series_rows(coverage, records, _now_ms())
        selected = self.selected_key()
        self.model.set_rows(rows)
        candles = sum(c.candles for c in coverage)
        size = sum(c.stored_bytes for c in coverage)
        summary = f"{len(coverage):,} series · {candles:,} candles · {size_text(size)}"
        self.summary.setText(f"Read-only file · {summary}" if self.read_only else summary)
        if selected is None or self.model.row_of(selected) < 0:
            selected = rows[0].key if rows else None  # something to show in the gap list
        if selected is not None:
            self.select(selected)
        else:
            self._selection_changed()
        for row in rows:
            if row.coverage is None:
                continue
            try:
                gaps = await asyncio.to_thread(series_gaps, self.store, self.records, row.key)
            except TerminalError as exc:  # a damaged block: say so on its row, read the others
                log.warning("%s: %s", series_title(row.key), describe(exc, detailed=True))
                gaps = SeriesGaps(row.key, [], [], exc.user_message().rstrip("."))
            self.model.set_gaps(gaps)
            if row.key == self.selected_key():
                self._show_gaps()

    def _read_failed(self, exc: BaseException, name: str) -> None:
        """A read failed (the group logged it): said on the panel."""
        what = "the market history" if name == "data manager: refresh" else "the file to import"
        self._say(f"Could not read {what}: {describe(exc)}", error=True)

    # -- selection --------------------------------------------------------------------------
    def selected_row(self) -> SeriesRow | None:
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            return None
        return self.model.rows[indexes[0].row()]

    def selected_key(self) -> SeriesKey | None:
        row = self.selected_row()
        return None if row is None else row.key

    def select(self, key: SeriesKey) -> bool:
        i = self.model.row_of(key)
        if i < 0:
            return False
        self.table.selectRow(i)
        self._selection_changed()
        return True

    def _selection_changed(self, *_: QItemSelection) -> None:
        self._show_gaps()
        self._enable()

    def _show_gaps(self) -> None:
        row = self.selected_row()
        self.gaps_model.set_gaps(None if row is None else row.gaps)
        self.gaps_title.setText(gaps_caption(row))

    @property
    def read_only(self) -> bool:
        return self.store.database.read_only

    def _enable(self) -> None:
        row = self.selected_row()
        idle = not self.runner.busy
        stored = idle and row is not None and row.coverage is not None
        writable = not self.read_only  # a salvaged file: look and export, change nothing
        self.buttons["download"].setEnabled(idle and writable)
        self.buttons["import"].setEnabled(idle and writable)
        for name in ("fill", "delete", "build"):
            self.buttons[name].setEnabled(stored and writable)
        self.buttons["export"].setEnabled(stored)
        self.buttons["resume"].setEnabled(idle and writable and row is not None and row.resumable)

    # -- jobs -------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {self.theme.down if error else self.theme.text};")

    def run_job(self, title: str, work: Callable[[], Coroutine[Any, Any, str]]) -> asyncio.Task[str] | None:
        """Start a job (one at a time); None if one is running."""
        task = self.runner.run(title, work)
        if task is None:
            self._say("Another job is still running; wait for it or cancel it first.", error=True)
            return None
        self._say("")
        self._enable()
        return task

    def _job_finished(self, outcome: str, message: str) -> None:
        self._say(message, error=outcome == FAILED)
        if outcome == CANCELLED:
            self.message.setStyleSheet(f"color: {self.theme.accent};")
        self._enable()
        self.refresh()

    def _modal(self, dialog: QDialog) -> None:
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, without a nested event loop (never exec())

    def open_download(self) -> DownloadDialog:
        dialog = DownloadDialog(self.sources, _now_ms(), self.selected_key(), self.theme, self)
        dialog.requested.connect(self.download)
        self._modal(dialog)
        return dialog

    def download(self, request: DownloadRequest) -> asyncio.Task[str] | None:
        return self.run_job(f"Downloading {series_title(request.key)}", lambda: self.jobs.download(request))

    def fill_gaps(self) -> asyncio.Task[str] | None:
        key = self.selected_key()
        if key is None:
            return None
        return self.run_job(f"Filling the gaps of {series_title(key)}", lambda: self.jobs.fill_gaps(key))

    def resume(self) -> asyncio.Task[str] | None:
        key = self.selected_key()
        if key is None:
            return None
        return self.run_job(f"Resuming {series_title(key)}", lambda: self.jobs.resume(key))

    def open_delete(self) -> DeleteDialog | None:
        row = self.selected_row()
        if row is None or row.coverage is None:
            return None
        dialog = DeleteDialog(row, lambda a, b: self.jobs.count(row.key, a, b), self.theme, self)
        dialog.requested.connect(self.delete)
        self._modal(dialog)
        return dialog

    def delete(self, request: DeleteRequest) -> asyncio.Task[str] | None:
        return self.run_job(f"Deleting from {series_title(request.key)}", lambda: self.jobs.delete(request))

    def open_build(self) -> BuildDialog | None:
        row = self.selected_row()
        if row is None or row.coverage is None:
            return None
        stored = [
            r.key.timeframe
            for r in self.model.rows
            if r.coverage is not None
            and r.key.exchange == row.key.exchange
            and r.key.symbol == row.key.symbol
        ]
        dialog = BuildDialog(row, stored, self)
        dialog.requested.connect(self.build)
        self._modal(dialog)
        return dialog

    def build(self, request: BuildRequest) -> asyncio.Task[str] | None:
        title = f"Building {request.exchange} {request.symbol} {request.to_tf}"
        return self.run_job(title, lambda: self.jobs.build(request))

    def open_export(self) -> ExportDialog | None:
        row = self.selected_row()
        if row is None or row.coverage is None:
            return None
        dialog = ExportDialog(row, Path.home(), self.theme, self)
        dialog.requested.connect(self.export)
        self._modal(dialog)
        return dialog

    def export(self, request: ExportRequest) -> asyncio.Task[str] | None:
        return self.run_job(f"Exporting {series_title(request.key)}", lambda: self.jobs.export(request))

    # -- CSV import -------------------------------------------------------------------------
    def choose_import_file(self) -> QFileDialog:
        chooser = QFileDialog(self, "Import candles from CSV", str(Path.home()))
        chooser.setNameFilters(["CSV and text files (*.csv *.txt *.tsv)", "All files (*)"])
        chooser.setFileMode(QFileDialog.FileMode.ExistingFile)
        chooser.fileSelected.connect(self.import_file)
        self._modal(chooser)
        return chooser

    def import_file(self, path: str | Path) -> asyncio.Task[CsvImportDialog | None]:
        """Look at the file (off the GUI thread), then open the import form on it."""
        return self._reads.spawn(self._open_import(Path(path)), name="data manager: sniff")

    async def _open_import(self, path: Path) -> CsvImportDialog | None:
        try:
            preview = await asyncio.to_thread(sniff, path)
        except CsvImportError as exc:
            log.warning("Cannot import %s: %s", path, describe(exc, detailed=True))
            self._say(exc.user_message(), error=True)
            return None
        exchanges = sorted({*(r.key.exchange for r in self.model.rows), *self.sources.names()})
        dialog = CsvImportDialog(preview, self.store, exchanges, self.selected_key(), self.theme, self)
        dialog.imported.connect(self._imported)
        self._modal(dialog)
        return dialog

    def _imported(self, message: str) -> None:
        self._say(message)
        self.refresh()

    # -- look and end -----------------------------------------------------------------------
    def apply_theme(self, theme: Theme) -> None:
        self.theme = self.model.theme = self.gaps_model.theme = theme
        self.model.layoutChanged.emit()
        self.gaps_model.layoutChanged.emit()

    async def shutdown(self) -> None:
        """Stop the running job and the table's reading; wait until both have."""
        await self._reads.close()
        dialog = self.dialog
        if isinstance(dialog, CsvImportDialog):
            await dialog.shutdown()
        await self.runner.shutdown()
