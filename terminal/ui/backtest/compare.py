"""Saved runs side by side: every metric of two or more runs in one table, the
best of each row marked, and what differs between them (strategy, parameters,
market, range) in the column titles' tooltips."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QLabel, QVBoxLayout, QWidget

from terminal.backtest.run_store import RunSummary
from terminal.ui.backtest.metrics_table import CompareModel
from terminal.ui.tables import table
from terminal.ui.theme import DARK, Theme


class CompareView(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CompareModel(theme, self)
        self.caption = QLabel("Select two or more saved runs and press Compare.", self)
        self.caption.setWordWrap(True)
        self.view = table(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.caption)
        column.addWidget(self.view, 1)
        self.apply_theme(theme)

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        self.model.set_runs(runs)
        header = self.view.horizontalHeader()
        header.resizeSection(0, 190)
        for section in range(1, self.model.columnCount()):
            header.resizeSection(section, 170)
        self.caption.setText(
            f"{len(runs)} runs; the best value of each row is in bold (where higher or lower is better)."
        )

    def apply_theme(self, theme: Theme) -> None:
        self.model.theme = theme
        self.model.layoutChanged.emit()
        self.caption.setStyleSheet(f"color: {theme.muted};")
