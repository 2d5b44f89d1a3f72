"""The data manager's small forms on one stored series: delete (all or a
range, saying how many candles go), build a longer timeframe, export CSV.

Each form only collects a request and emits it; the panel runs the work.
Ranges are of open times, from the first time until before the second, in UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import describe
from terminal.marketdata.timeframes import TIMEFRAMES, timeframe_ms
from terminal.store.candles import SeriesKey
from terminal.ui.data.model import SeriesRow, series_title
from terminal.ui.data.utc_time_edit import UtcTimeEdit
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

Bounds = tuple[int | None, int | None]


class RangeBox(QWidget):
    """ "Only from … until …": a switch and two UTC times (the series' span by default)."""

    def __init__(self, row: SeriesRow, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        cov = row.coverage
        first = cov.first_ts if cov else 0
        after = cov.last_ts + timeframe_ms(row.key.timeframe) if cov else 0
        self.only = QCheckBox(label, self)
        self.start = UtcTimeEdit(first, self)
        self.end = UtcTimeEdit(after, self)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.only)
        times = QHBoxLayout()
        times.addWidget(QLabel("From (UTC)"))
        times.addWidget(self.start)
        times.addWidget(QLabel("until (UTC)"))
        times.addWidget(self.end)
        column.addLayout(times)
        self.only.toggled.connect(self._enable)
        self._enable(False)

    def _enable(self, on: bool) -> None:
        self.start.setEnabled(on)
        self.end.setEnabled(on)

    def bounds(self) -> Bounds:
        """(None, None) for everything; else the two times."""
        if not self.only.isChecked():
            return None, None
        return self.start.ms(), self.end.ms()

    def problem(self) -> str:
        start, end = self.bounds()
        if start is not None and end is not None and end <= start:
            return "The end must come after the start."
        return ""


def _buttons(dialog: QDialog, action: str) -> tuple[QDialogButtonBox, QPushButton]:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, dialog)
    button = QPushButton(action, dialog)
    button.setDefault(True)
    box.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
    box.rejected.connect(dialog.reject)
    return box, button


# -- delete -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeleteRequest:
    key: SeriesKey
    start_ms: int | None
    end_ms: int | None
    candles: int  # what the confirmation said


class DeleteDialog(QDialog):
    """Emits ``requested(DeleteRequest)``; ``count(start, end)`` counts the
    candles a range holds (off the GUI thread)."""

    requested = Signal(object)

    def __init__(
        self,
        row: SeriesRow,
        count: Callable[[int, int], Awaitable[int]],
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Delete market history")
        self.row, self.theme, self._count = row, theme, count
        self.candles: int | None = row.candles
        self._counting: asyncio.Task[None] | None = None
        self.whole = QRadioButton(f"All of {series_title(row.key)}", self)
        self.whole.setChecked(True)
        self.part = QRadioButton("Only a range of it", self)
        self.range = RangeBox(row, "", self)
        self.range.only.hide()  # the radio buttons switch it
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.buttons, self.delete_button = _buttons(self, "Delete")
        layout = QVBoxLayout(self)
        layout.addWidget(self.whole)
        layout.addWidget(self.part)
        layout.addWidget(self.range)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.part.toggled.connect(self.range.only.setChecked)
        self.part.toggled.connect(self._changed)
        self.range.start.dateTimeChanged.connect(self._changed)
        self.range.end.dateTimeChanged.connect(self._changed)
        self.delete_button.clicked.connect(self.confirm)
        self._changed()

    @property
    def counting(self) -> bool:
        return self._counting is not None and not self._counting.done()

    def _changed(self) -> None:
        if self._counting is not None:
            self._counting.cancel()
        problem = self.range.problem()
        start, end = self.range.bounds()
        if problem:
            self._show(None, problem)
        elif start is None or end is None:
            self._show(self.row.candles)
        else:
            self._show(None, "Counting the candles in that range…")
            loop = asyncio.get_running_loop()
            self._counting = loop.create_task(self._recount(start, end), name="delete: count")

    async def _recount(self, start: int, end: int) -> None:
        try:
            self._show(await self._count(start, end))
        except Exception as exc:  # noqa: BLE001 - said in the form; nothing is deleted
            self._show(None, f"Could not count the candles: {describe(exc)}")

    def _show(self, candles: int | None, text: str = "") -> None:
        self.candles = candles
        if candles is None:
            self.summary.setText(text)
            self.delete_button.setText("Delete")
        elif candles == 0:
            self.summary.setText("There are no candles in that range.")
            self.delete_button.setText("Delete")
        else:
            noun = "candle" if candles == 1 else "candles"
            self.summary.setText(
                f"This deletes {candles:,} {noun} of {series_title(self.row.key)}. It cannot be undone."
            )
            self.delete_button.setText(f"Delete {candles:,} {noun}")
        self.summary.setStyleSheet(f"color: {self.theme.down if candles else self.theme.muted};")
        self.delete_button.setEnabled(bool(candles))

    def confirm(self) -> None:
        if not self.candles:
            return
        start, end = self.range.bounds()
        self.accept()
        self.requested.emit(DeleteRequest(self.row.key, start, end, self.candles))

    def done(self, result: int) -> None:
        if self._counting is not None:
            self._counting.cancel()
        super().done(result)


# -- build a longer timeframe --------------------------------------------------------------------
@dataclass(frozen=True)
class BuildRequest:
    exchange: str
    symbol: str
    from_tf: str
    to_tf: str
    start_ms: int | None
    end_ms: int | None


def buildable(from_tf: str) -> list[str]:
    """The longer timeframes made of whole ``from_tf`` candles."""
    fine = timeframe_ms(from_tf)
    return [tf for tf, ms in TIMEFRAMES.items() if ms > fine and ms % fine == 0]


class BuildDialog(QDialog):
    """Emits ``requested(BuildRequest)``. ``stored`` are the timeframes stored
    for the selected series' exchange and symbol."""

    requested = Signal(object)

    def __init__(self, row: SeriesRow, stored: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Build a timeframe")
        self.row = row
        self.from_tf = QComboBox(self)
        self.from_tf.addItems([tf for tf in TIMEFRAMES if tf in stored and buildable(tf)])
        self.from_tf.setCurrentText(row.key.timeframe)
        self.to_tf = QComboBox(self)
        self.range = RangeBox(row, "Only candles opening in a range", self)
        self.note = QLabel(
            "Only periods that have ended are built; a period with missing candles is built from the "
            "ones it has. Candles already stored for the longer timeframe are replaced.",
            self,
        )
        self.note.setWordWrap(True)
        self.buttons, self.build_button = _buttons(self, "Build")
        form = QFormLayout()
        form.addRow("Market", QLabel(f"{row.key.exchange} {row.key.symbol}"))
        form.addRow("From", self.from_tf)
        form.addRow("Build", self.to_tf)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.range)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.from_tf.currentTextChanged.connect(self._targets)
        self.build_button.clicked.connect(self.confirm)
        self._targets()

    def _targets(self) -> None:
        current = self.to_tf.currentText()
        self.to_tf.clear()
        targets = buildable(self.from_tf.currentText()) if self.from_tf.currentText() else []
        self.to_tf.addItems(targets)
        if current in targets:
            self.to_tf.setCurrentText(current)
        elif "1h" in targets:
            self.to_tf.setCurrentText("1h")  # the usual wish: hours from minutes
        self.build_button.setEnabled(bool(targets))

    def confirm(self) -> None:
        if not self.to_tf.currentText() or self.range.problem():
            return
        start, end = self.range.bounds()
        key = self.row.key
        self.accept()
        self.requested.emit(
            BuildRequest(
                key.exchange, key.symbol, self.from_tf.currentText(), self.to_tf.currentText(), start, end
            )
        )


# -- export -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportRequest:
    key: SeriesKey
    path: Path
    start_ms: int | None
    end_ms: int | None


def export_name(key: SeriesKey) -> str:
    symbol = "".join(ch if ch.isalnum() else "-" for ch in key.symbol)
    return f"{key.exchange}_{symbol}_{key.timeframe}.csv"


class ExportDialog(QDialog):
    """Emits ``requested(ExportRequest)``."""

    requested = Signal(object)

    def __init__(
        self, row: SeriesRow, folder: Path, theme: Theme = DARK, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export candles to CSV")
        self.row = row
        self.path = QLineEdit(str(folder / export_name(row.key)), self)
        self.choose_button = QPushButton("Choose…", self)
        self.range = RangeBox(row, "Only candles opening in a range", self)
        self.errors = FieldErrors(self, ("path", "range"), theme.down)
        self.buttons, self.export_button = _buttons(self, "Export")
        file_row = QHBoxLayout()
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.choose_button)
        file_box = QWidget(self)
        file_box.setLayout(file_row)
        file_row.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.addRow("Series", QLabel(series_title(row.key)))
        form.addRow("File", self.errors.under(file_box, "path"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.errors.under(self.range, "range"))
        layout.addWidget(self.buttons)
        self.choose_button.clicked.connect(self.choose)
        self.export_button.clicked.connect(self.confirm)

    def choose(self) -> QFileDialog:
        chooser = QFileDialog(self, "Export to", self.path.text(), "CSV files (*.csv);;All files (*)")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setDefaultSuffix("csv")
        chooser.fileSelected.connect(self.path.setText)
        chooser.open()
        return chooser

    def confirm(self) -> None:
        self.errors.clear()
        text = self.path.text().strip()
        path = Path(text).expanduser() if text else None
        problems = False
        if path is None or path.is_dir():
            problems = self.errors.show("path", "Choose the file to write.")
        elif not path.parent.is_dir():
            problems = self.errors.show("path", f"The folder {path.parent} does not exist.")
        if self.range.problem():
            problems = self.errors.show("range", self.range.problem())
        if problems or path is None:
            return
        start, end = self.range.bounds()
        self.accept()
        self.requested.emit(ExportRequest(self.row.key, path, start, end))
