"""The look the terminal's tables share: whole-row selection, no editing, no grid,
compact rows, and column widths from the font and a typical cell (measuring
every row of a table of thousands of trades would not be cheap)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

CELL_PADDING = 14


def table(parent: QWidget, row_height: int = 20) -> QTableView:
    """A read-only table of whole-row selection, no grid, no row numbers:
    how the terminal's panels list things."""
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(row_height)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def fit_columns(view: QTableView, cells: Sequence[str]) -> None:
    """Each column as wide as its title or ``cells[column]``, whichever is wider."""
    header = view.horizontalHeader()
    model = view.model()
    body, head = view.fontMetrics(), header.fontMetrics()
    for column, cell in enumerate(cells):
        title = str(model.headerData(column, header.orientation()) or "")
        width = max(body.horizontalAdvance(cell), head.horizontalAdvance(title) + CELL_PADDING)
        header.resizeSection(column, width + CELL_PADDING)
