"""The endpoints page of the accounts dialog: every API address an account
will use, the ones its overrides rewrite highlighted, with what they replace."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.market.accounts import Endpoint
from terminal.ui.theme import DARK, Theme


class EndpointsView(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.endpoints: list[Endpoint] = []
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["API", "Address", "Instead of"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 170)
        header.resizeSection(1, 280)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def rows(self) -> list[tuple[str, str, bool]]:
        """(api, address, rewritten) as listed."""
        return [(e.where, e.url, e.was is not None) for e in self.endpoints]

    def show_message(self, text: str) -> None:
        """No list, and why (the account is incomplete, or is being looked at)."""
        self.show_endpoints([], text)

    def show_endpoints(self, endpoints: list[Endpoint], summary: str) -> None:
        self.endpoints = endpoints
        self.summary.setText(summary)
        table = self.table
        table.setRowCount(len(endpoints))
        bold = QFont(table.font())
        bold.setBold(True)
        for row, endpoint in enumerate(endpoints):
            for col, text in enumerate((endpoint.where, endpoint.url, endpoint.was or "")):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if endpoint.was is not None and col < 2:
                    item.setFont(bold)
                    item.setForeground(QColor(self.theme.accent if col == 1 else self.theme.text))
                elif col == 2:
                    item.setForeground(QColor(self.theme.muted))
                table.setItem(row, col, item)
        if endpoints:  # whole addresses, side by side; the table scrolls sideways if need be
            table.resizeColumnsToContents()
