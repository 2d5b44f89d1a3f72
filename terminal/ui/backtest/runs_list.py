"""The saved runs, newest first: open one again, compare several side by side,
delete. The list is read by the panel off the GUI thread and handed in."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terminal.backtest.metric_format import Kind, format_metric
from terminal.backtest.run_store import RunSummary
from terminal.marketdata.timeframes import timeframe_ms
from terminal.ui.backtest.formats import range_text, utc_text
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class RunsModel(HeaderedTableModel):
    headers = ("#", "Saved (UTC)", "Run", "Range", "Bars", "Trades", "Return", "Sharpe", "Max drawdown")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.runs)

    def row_of(self, run_id: int) -> int:
        return next((i for i, r in enumerate(self.runs) if r.id == run_id), -1)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(run, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 4, 5, 6, 7, 8):
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            hash_note = f"\nStrategy source: {run.source_hash}" if run.source_hash else ""
            return f"#{run.id} {run.label}\n{run.exchange} {run.symbol} {run.timeframe}{hash_note}"
        return None

    @staticmethod
    def _text(run: RunSummary, column: int) -> str:
        m = run.metrics
        if column == 0:
            return str(run.id)
        if column == 1:
            return utc_text(run.created_ms)
        if column == 2:
            return run.label
        if column == 3:
            return range_text(run.start_ms, run.end_ms + timeframe_ms(run.timeframe)) if run.bars else "–"
        if column == 4:
            return f"{run.bars:,}"
        if column == 5:
            return f"{run.trades:,}"
        names = {
            6: ("total_return", Kind.PERCENT),
            7: ("sharpe", Kind.RATIO),
            8: ("max_drawdown", Kind.PERCENT),
        }
        name, kind = names[column]
        value = m.get(name)
        return format_metric(kind, float("nan") if value is None else float(value))


class RunsList(QWidget):
    """``open_requested(id)``, ``compare_requested([ids])``, ``delete_requested([ids])``
    (after the user confirmed), ``refresh_requested()``."""

    open_requested = Signal(int)
    compare_requested = Signal(list)
    delete_requested = Signal(list)
    refresh_requested = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.model = RunsModel(self)
        self.view = table(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        fit_columns(self.view, ("9,999", "2026-12-31 23:59", "SMA cross 10/20 · simulated BTC/USDT 15m",
                                "2026-12-31 23:59 → 2026-12-31 23:59 UTC", "1,000,000", "99,999",
                                "−100.00%", "−12.34", "−100.00%"))  # fmt: skip
        self.confirm: QMessageBox | None = None  # the delete question open now (tests answer it)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for name, text, tip in (
            ("open", "Open", "Show the selected run's results and its trades on the chart"),
            ("compare", "Compare", "The metrics of the selected runs side by side (select two or more)"),
            ("delete", "Delete…", "Delete the selected runs"),
            ("refresh", "Refresh", "Read the saved runs again"),
        ):
            button = QPushButton(text, self)
            button.setToolTip(tip)
            self.buttons[name] = button
            bar.addWidget(button)
        self.status = QLabel(self)
        bar.addWidget(self.status, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(bar)
        outer.addWidget(self.view, 1)
        self.buttons["open"].clicked.connect(self._open)
        self.buttons["compare"].clicked.connect(self._compare)
        self.buttons["delete"].clicked.connect(self._ask_delete)
        self.buttons["refresh"].clicked.connect(lambda _checked=False: self.refresh_requested.emit())
        self.view.doubleClicked.connect(
            lambda index: self.open_requested.emit(self.model.runs[index.row()].id)
        )
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        self._enable()
        self.apply_theme(theme)

    def set_runs(self, runs: list[RunSummary]) -> None:
        chosen = set(self.selected_ids())
        self.model.set_runs(runs)
        for run_id in chosen:
            row = self.model.row_of(run_id)
            if row >= 0:
                self.view.selectionModel().select(
                    self.model.index(row, 0),
                    self.view.selectionModel().SelectionFlag.Select
                    | self.view.selectionModel().SelectionFlag.Rows,
                )
        self.status.setText(
            f"{len(runs):,} saved runs" if runs else "No saved runs yet: runs are saved when they finish."
        )
        self._enable()

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.runs[row].id for row in rows if row < len(self.model.runs)]

    def select(self, run_ids: list[int]) -> None:
        self.view.clearSelection()
        model = self.view.selectionModel()
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row >= 0:
                model.select(self.model.index(row, 0), model.SelectionFlag.Select | model.SelectionFlag.Rows)
        self._enable()

    def _enable(self) -> None:
        n = len(self.selected_ids())
        self.buttons["open"].setEnabled(n == 1)
        self.buttons["compare"].setEnabled(n >= 2)
        self.buttons["delete"].setEnabled(n >= 1)

    def _open(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.open_requested.emit(ids[0])

    def _compare(self) -> None:
        ids = self.selected_ids()
        if len(ids) >= 2:
            self.compare_requested.emit(ids)

    def _ask_delete(self) -> QMessageBox | None:
        ids = self.selected_ids()
        if not ids:
            return None
        what = f"run #{ids[0]}" if len(ids) == 1 else f"{len(ids)} runs"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete saved runs",
            f"Delete {what}? Their results and trades are removed from the history file.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: object, ids: list[int] = ids) -> None:
            if box.standardButton(button) == QMessageBox.StandardButton.Yes:  # type: ignore[arg-type]
                self.delete_requested.emit(ids)

        box.buttonClicked.connect(answered)
        self.confirm = box
        box.open()  # window-modal, without a nested event loop (never exec())
        return box

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.status.setStyleSheet(f"color: {theme.muted};")
