"""Metrics as tables: one run's (name, value) by group, and several runs side
by side with the best of each row marked. Words and formats are the HTML
report's (``terminal.backtest.metric_format``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QFont

from terminal.backtest.metric_format import MetricInfo
from terminal.backtest.report import quote_currency
from terminal.backtest.run_store import RunSummary
from terminal.ui.backtest.formats import best_of, metric_list, metric_text, metric_value
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

Row = tuple[str, MetricInfo | None]  # (group title, None) heads a group; (group, metric) is a metric


def grouped_rows() -> list[Row]:
    rows: list[Row] = []
    for group, info in metric_list():
        if not rows or rows[-1][0] != group:
            rows.append((group, None))
        rows.append((group, info))
    return rows


def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


class MetricsModel(HeaderedTableModel):
    """One run: a row per metric, under its group's title."""

    headers = ("Metric", "Value")

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.rows = grouped_rows()
        self.metrics: Mapping[str, Any] = {}
        self.quote = ""

    def set_metrics(self, metrics: Mapping[str, Any], quote: str = "") -> None:
        self.beginResetModel()
        self.metrics, self.quote = dict(metrics), quote
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.rows) if self.metrics else 0

    def value_text(self, name: str) -> str:
        """What the table shows for metric ``name`` (tests read it)."""
        for _, info in self.rows:
            if info is not None and info.name == name:
                return metric_text(info, self.metrics, self.quote)
        raise KeyError(name)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        group, info = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if info is None:
                return group if index.column() == 0 else ""
            return info.label if index.column() == 0 else metric_text(info, self.metrics, self.quote)
        if role == Qt.ItemDataRole.FontRole and info is None:
            return _bold()
        if role == Qt.ItemDataRole.ForegroundRole and info is None:
            return QColor(self.theme.muted)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole and info is not None:
            return info.label
        return None


class CompareModel(HeaderedTableModel):
    """Several saved runs: a row per metric, a column per run; the best value of a
    row (where one side is better) is bold and green."""

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.rows = grouped_rows()
        self.runs: list[RunSummary] = []
        self.best: dict[int, set[int]] = {}
        self.titles: tuple[str, ...] = ("Metric",)  # one column per run after the first

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = sorted(runs, key=lambda r: r.id)  # oldest on the left
        # the label without its market (the tooltip has it all)
        self.titles = ("Metric", *(f"#{r.id} {r.label.split(' · ')[0]}" for r in self.runs))
        self.best = {}
        for row, (_, info) in enumerate(self.rows):
            if info is not None:
                values = [metric_value(r.metrics, info.name) for r in self.runs]
                self.best[row] = best_of(info.name, values)
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.rows) if self.runs else 0

    def columnCount(self, parent: ModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.titles)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section > 0:
            run = self.runs[section - 1]
            return f"#{run.id} {run.label}\n{run.exchange} {run.symbol} {run.timeframe}, {run.bars:,} bars"
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.titles[section]
        return None

    def cell(self, name: str, run_index: int) -> str:
        """The text shown for metric ``name`` of the ``run_index``-th run (tests read it)."""
        for _, info in self.rows:
            if info is not None and info.name == name:
                run = self.runs[run_index]
                return metric_text(info, run.metrics, quote_currency(run.symbol))
        raise KeyError(name)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        group, info = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if info is None:
                return group if column == 0 else ""
            if column == 0:
                return info.label
            run = self.runs[column - 1]
            return metric_text(info, run.metrics, quote_currency(run.symbol))
        best = info is not None and column > 0 and (column - 1) in self.best.get(index.row(), set())
        if role == Qt.ItemDataRole.FontRole and (info is None or best):
            return _bold()
        if role == Qt.ItemDataRole.ForegroundRole:
            if info is None:
                return QColor(self.theme.muted)
            if best:
                return QColor(self.theme.up)
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return _RIGHT
        return None
