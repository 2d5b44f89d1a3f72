"""Importing a CSV file of candles: a preview of its first rows, a column
per candle field (pre-filled from what ``csv_sniff`` guessed), the time
unit, and the series to import into.

The preview numbers its rows by file line, as a text editor and the import's
messages do. The timeframe is preselected from how far apart the preview's
times are, and a note under it warns when the chosen one differs.

Import reads the whole file in a worker thread (all or nothing: malformed
lines stop it, each counted and the first ten named, and nothing is
written), then checks the candles' spacing against the chosen timeframe: if
they differ (hourly candles filed as 1m), it stops before writing, says what
the import would do ("would report 199 gaps"), and writes only when Import is
pressed again for the same timeframe and columns. Then it validates the
candles and writes the good ones in one transaction. The dialog stays open
on a problem so the mapping can be fixed; candles refused by validation are
counted per reason in the result.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import CsvImportError
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.store import csv_io
from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.csv_format import FIELDS, TIME_UNIT_WORDS, CsvMapping, CsvPreview
from terminal.store.csv_sniff import Spacing, preview_spacing, timeframe_warning
from terminal.store.validation import validate
from terminal.ui.data.long_job import CANCELLED, DONE, JobBar, JobRunner
from terminal.ui.field_errors import FieldErrors
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

FIELD_NAMES = {
    "ts": "Time",
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "volume": "Volume",
}
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
UNCHOSEN = "—"


class PreviewModel(HeaderedTableModel):
    """The file's first rows; each header says which field its column feeds."""

    def __init__(self, preview: CsvPreview, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preview = preview
        self.mapping = preview.mapping

    def row_total(self) -> int:
        return len(self.preview.rows)

    def columnCount(self, parent: ModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.preview.columns)

    def set_mapping(self, mapping: CsvMapping) -> None:
        self.mapping = mapping
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, max(0, self.columnCount() - 1))

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:  # the file's line, as import errors name it
            lines = self.preview.lines
            return f"{lines[section]:,}" if section < len(lines) else str(section + 1)
        fields = [FIELD_NAMES[f].lower() for f in FIELDS if self.mapping.column(f) == section]
        name = self.preview.columns[section]
        return f"{name}\n→ {', '.join(fields)}" if fields else f"{name}\n(not used)"

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row = self.preview.rows[index.row()]
        return row[index.column()] if index.column() < len(row) else ""


class CsvImportDialog(QDialog):
    """Emits ``imported(message)`` after a successful import, then closes."""

    imported = Signal(str)

    def __init__(
        self,
        preview: CsvPreview,
        store: CandleStore,
        exchanges: list[str],
        selected: SeriesKey | None = None,
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {preview.path.name}")
        self.resize(760, 560)
        self.preview, self.store, self.theme = preview, store, theme
        guess = preview.mapping
        delimiter = DELIMITER_NAMES.get(guess.delimiter, repr(guess.delimiter))
        about = QLabel(
            f"{preview.path}  ·  {preview.encoding}, {delimiter}-separated"
            + (", decimal comma" if guess.decimal == "," else ""),
            self,
        )
        about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = PreviewModel(preview, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.resizeColumnsToContents()  # 20 rows: cheap, and no value is cut short

        # the mapping: a column per field, the time unit, the header line
        self.columns: dict[str, QComboBox] = {}
        mapping_box = QGroupBox("Columns", self)
        grid = QGridLayout(mapping_box)
        for i, field in enumerate(FIELDS):
            combo = QComboBox(self)
            combo.addItem(UNCHOSEN, None)
            for c, name in enumerate(preview.columns):
                combo.addItem(f"{c + 1}: {name}", c)
            combo.setCurrentIndex(max(0, combo.findData(guess.column(field))))
            combo.currentIndexChanged.connect(self._mapping_changed)
            self.columns[field] = combo
            grid.addWidget(QLabel(FIELD_NAMES[field]), i // 3, (i % 3) * 2)
            grid.addWidget(combo, i // 3, (i % 3) * 2 + 1)
        self.time_unit = QComboBox(self)
        for unit, words in TIME_UNIT_WORDS.items():
            self.time_unit.addItem(words, unit)
        self.time_unit.setCurrentIndex(max(0, self.time_unit.findData(guess.time_unit)))
        self.has_header = QCheckBox("The first line holds column names", self)
        self.has_header.setChecked(guess.has_header)
        grid.addWidget(QLabel("Time is"), 2, 0)
        grid.addWidget(self.time_unit, 2, 1, 1, 3)
        grid.addWidget(self.has_header, 2, 4, 1, 2)

        # the target series
        self.exchange = QComboBox(self)
        self.exchange.setEditable(True)
        self.exchange.setMinimumWidth(160)
        self.exchange.addItems(exchanges)
        self.symbol = QLineEdit(self)
        self.symbol.setPlaceholderText("e.g. BTC/USDT")
        self.timeframe = QComboBox(self)
        self.timeframe.addItems(list(TIMEFRAMES))
        if selected is not None:
            self.exchange.setCurrentText(selected.exchange)
            self.symbol.setText(selected.symbol)
            self.timeframe.setCurrentText(selected.timeframe)
        elif not exchanges:
            self.exchange.setCurrentText("imported")
        #: how far apart the preview's candles are, with the mapping as chosen
        self.spacing: Spacing | None = preview_spacing(preview, guess)
        if self.spacing is not None and self.spacing.timeframe is not None:
            self.timeframe.setCurrentText(self.spacing.timeframe)  # what the file holds, not the selection
        self.timeframe_note = QLabel(self)
        self.timeframe_note.setWordWrap(True)
        #: the timeframe and mapping whose spacing warning the user saw after an
        #: import was stopped: Import again with both unchanged writes anyway
        self.asked: tuple[str, CsvMapping] | None = None
        self.errors = FieldErrors(self, ("exchange", "symbol"), theme.down)
        target_box = QGroupBox("Import into", self)
        target = QFormLayout(target_box)
        target.addRow("Exchange", self.errors.under(self.exchange, "exchange"))
        target.addRow("Symbol", self.errors.under(self.symbol, "symbol"))
        target.addRow("Timeframe", self.timeframe)
        target.addRow(self.timeframe_note)

        self._closing = False
        self.bar = JobBar(self)
        self.runner = JobRunner(self.bar, self)
        self.runner.finished.connect(self._finished)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.import_button = QPushButton("Import", self)
        self.import_button.setDefault(True)
        self.buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.import_button.clicked.connect(self.start_import)
        self.time_unit.currentIndexChanged.connect(self._mapping_changed)
        self.has_header.toggled.connect(self._mapping_changed)
        self.timeframe.currentTextChanged.connect(self._timeframe_changed)

        layout = QVBoxLayout(self)
        layout.addWidget(about)
        layout.addWidget(QLabel(f"The first {len(preview.rows)} rows, numbered by their line in the file:"))
        layout.addWidget(self.table, 1)
        lower = QHBoxLayout()
        lower.addWidget(mapping_box, 3)
        lower.addWidget(target_box, 1)
        layout.addLayout(lower)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._timeframe_changed()

    # -- the form ---------------------------------------------------------------------------
    def mapping(self) -> CsvMapping:
        """The mapping as chosen (the delimiter and decimal mark as sniffed)."""
        chosen = {field: combo.currentData() for field, combo in self.columns.items()}
        return replace(
            self.preview.mapping.with_columns(**chosen),
            time_unit=self.time_unit.currentData(),
            has_header=self.has_header.isChecked(),
        )

    def _mapping_changed(self) -> None:
        mapping = self.mapping()
        self.model.set_mapping(mapping)
        self.spacing = preview_spacing(self.preview, mapping)
        self._timeframe_changed()

    def _timeframe_changed(self) -> None:
        """Say how far apart the preview's candles are, and warn when the chosen
        timeframe is not that; a stopped import's question lapses."""
        chosen, found = self.timeframe.currentText(), self.spacing
        self.asked = None
        self.import_button.setText("Import")
        if found is None:
            self.timeframe_note.setText("")
            return
        if found.timeframe == chosen:
            self.timeframe_note.setText(f"The rows are {found.words} apart.")
            self.timeframe_note.setStyleSheet(f"color: {self.theme.muted};")
            return
        advice = f"choose {found.timeframe}, or" if found.timeframe else "no timeframe is that long;"
        self.timeframe_note.setText(
            f"The rows are {found.words} apart, not {chosen}: {advice} "
            f"Import will ask before filing them as {chosen}."
        )
        self.timeframe_note.setStyleSheet(f"color: {self.theme.down};")

    def target(self) -> SeriesKey | None:
        self.errors.clear()
        exchange, symbol = self.exchange.currentText().strip(), self.symbol.text().strip()
        if not exchange:
            self.errors.show("exchange", "Name the exchange the candles come from.")
        if not symbol:
            self.errors.show("symbol", "Enter the symbol the candles are of.")
        return SeriesKey(exchange, symbol, self.timeframe.currentText()) if exchange and symbol else None

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {self.theme.down if error else self.theme.text};")

    # -- importing ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.runner.busy

    def start_import(self) -> None:
        key = self.target()
        if key is None or self.runner.busy:
            return
        mapping = self.mapping()
        confirmed = self.asked == (key.timeframe, mapping)
        self.asked = None
        self._say("")
        self.import_button.setEnabled(False)
        self.runner.run(
            f"Importing {self.preview.path.name}", lambda: self._import(key, mapping, confirmed=confirmed)
        )
        self.runner.cancel_note = "Import cancelled. Nothing was written."

    async def _import(self, key: SeriesKey, mapping: CsvMapping, *, confirmed: bool = False) -> str:
        """The import; when the candles' spacing disagrees with the timeframe and
        the user has not confirmed it, it ends before writing with the warning
        (``self.asked`` set), which ``_finished`` shows."""
        path, name = self.preview.path, self.preview.path.name
        progress = self.runner.thread_progress(f"Reading {name}…")
        candles = await self.runner.in_worker(csv_io.read, path, mapping, progress=progress)
        if not confirmed:
            self.runner.progress(None, f"Checking how far apart {len(candles):,} candles are…")
            warning = await self.runner.in_worker(timeframe_warning, candles.ts, key.timeframe)
            if warning is not None:
                self.asked = (key.timeframe, mapping)
                return warning
        self.runner.progress(None, f"Checking {len(candles):,} candles…")
        checked = await self.runner.in_worker(validate, candles, key.timeframe)
        if not len(checked.good):
            raise CsvImportError(
                f"{name}: no candle can be imported ({checked.summary()}).",
                hint="Check the column mapping, the time unit and the timeframe. Nothing was imported.",
                path=str(path),
            )
        with self.runner.uncancellable(f"Writing {len(checked.good):,} candles…"):
            written = await self.runner.in_worker(self.store.write, *key_parts(key), checked.good)
        noun = "candle" if written == 1 else "candles"
        message = f"Imported {written:,} {noun} from {name} into {key.exchange} {key.symbol} {key.timeframe}."
        if not checked.clean:
            message += f" Checks: {checked.summary()}; those were not written."
        return message

    def _finished(self, outcome: str, message: str) -> None:
        self.import_button.setEnabled(True)
        if outcome == DONE and self.asked is not None:
            timeframe = self.asked[0]
            self._say(
                f"{message} Nothing was written. Choose another timeframe, or press "
                f"“Import as {timeframe} anyway”.",
                error=True,
            )
            self.import_button.setText(f"Import as {timeframe} anyway")
            if self._closing:
                self._closing = False
                super().done(QDialog.DialogCode.Rejected)
            return
        if outcome == DONE:
            self._closing = False
            self.accept()
            self.imported.emit(message)
            return
        self._say(message, error=outcome != CANCELLED)
        if self._closing:
            self._closing = False
            super().done(QDialog.DialogCode.Rejected)

    def done(self, result: int) -> None:
        """Closing while an import runs cancels it, and closes once it has
        stopped (a write under way finishes first: it is one transaction)."""
        if self.runner.busy:
            self._closing = True
            self.runner.cancel()
            return
        super().done(result)

    async def shutdown(self) -> None:
        await self.runner.shutdown()


def key_parts(key: SeriesKey) -> tuple[str, str, str]:
    return key.exchange, key.symbol, key.timeframe
