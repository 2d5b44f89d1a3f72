"""The shortcut sheet (F1): every action and its keys, as currently bound."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.shortcuts import ACTIONS
from terminal.ui.window.actions import key_text


class ShortcutSheet(QDialog):
    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(520, 560)
        self._rows = rows = [
            (spec.category, spec.title, key_text(actions[spec.id])) for spec in ACTIONS if spec.id in actions
        ]
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Area", "Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)

    def rows(self) -> list[tuple[str, str, str]]:
        """(area, action, keys) as listed."""
        return list(self._rows)
