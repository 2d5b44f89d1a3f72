"""The trials of a sweep as a table: number, the varied parameters, each
objective, the headline metrics and what became of the trial. Sorting is by
the numbers themselves (``SORT_ROLE``), not their text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from terminal.research.objectives import Objective
from terminal.research.sweep import Trial, TrialState
from terminal.ui.table_model import HeaderedTableModel

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
METRICS = (("Return", "total_return", "pct"), ("Max DD", "max_drawdown", "pct"), ("Trades", "trades", "int"))


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if not math.isnan(float(value)) else -math.inf
    return -math.inf


def _text(value: Any, style: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if style == "pct":
            return f"{value:+.2%}"
        return f"{value:,.3f}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class TrialsModel(HeaderedTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.trials: list[Trial] = []
        self.names: list[str] = []
        self.objectives: tuple[Objective, ...] = ()
        self.down = QColor("#ef5350")
        self.columns: tuple[str, ...] = ()  # the headers of this sweep (its parameters vary)

    def start(self, names: Sequence[str], objectives: Sequence[Objective]) -> None:
        self.beginResetModel()
        self.trials, self.names, self.objectives = [], list(names), tuple(objectives)
        labels = (o.label for o in self.objectives)
        self.columns = ("#", *self.names, *labels, *(m[0] for m in METRICS), "Note")
        self.endResetModel()

    def add(self, trials: Sequence[Trial]) -> None:
        if not trials:
            return
        first = len(self.trials)
        self.beginInsertRows(QModelIndex(), first, first + len(trials) - 1)
        self.trials.extend(trials)
        self.endInsertRows()

    def row_total(self) -> int:
        return len(self.trials)

    def column_headers(self) -> tuple[str, ...]:
        return self.columns

    def trial(self, row: int) -> Trial:
        return self.trials[row]

    def _value(self, trial: Trial, column: int) -> tuple[Any, str]:
        if column == 0:
            return trial.number + 1, ""
        column -= 1
        if column < len(self.names):
            return trial.params.get(self.names[column]), ""
        column -= len(self.names)
        if column < len(self.objectives):
            return (trial.values[column] if column < len(trial.values) else None), ""
        column -= len(self.objectives)
        if column < len(METRICS):
            _, field, style = METRICS[column]
            metrics = trial.metrics
            return (getattr(metrics, field) if metrics is not None else None), style
        return _note(trial), ""

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        trial = self.trials[index.row()]
        value, style = self._value(trial, index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(value, style)
        if role == SORT_ROLE:
            return _number(value) if index.column() < len(self.columns) - 1 else str(value)
        if role == Qt.ItemDataRole.ForegroundRole and trial.state is not TrialState.DONE:
            return self.down
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() < len(self.columns) - 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and trial.reason:
            return trial.reason
        return None


def _note(trial: Trial) -> str:
    if trial.repeat_of is not None:
        return f"same point as #{trial.repeat_of + 1}"
    if trial.state is TrialState.DONE:
        return ""
    if trial.reason.startswith(trial.state.value):  # "pruned after fold 2: …" says it already
        return trial.reason
    return f"{trial.state.value}: {trial.reason}" if trial.reason else trial.state.value


def sortable(model: TrialsModel) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(model)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy
