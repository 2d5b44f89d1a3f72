"""The trading panels' tables: rows of ready-made cell texts with a key each.

A refresh hands over every row again (the broker's state is small: open
orders, positions, balances; fills are the long one). When the keys are the
same as before, only the cells that changed are announced, so a refresh
that only moves PnL figures keeps the selection and the scroll position;
otherwise the model resets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor

from terminal.trading.money import fmt
from terminal.ui.table_model import HeaderedTableModel, ModelIndex

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    #: per cell: a text colour, or "" for the default
    colors: tuple[str, ...] = ()


class RowsModel(HeaderedTableModel):
    #: columns whose numbers line up on the right
    numeric: frozenset[int] = frozenset()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Row] = []

    def row_total(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: Sequence[Row]) -> None:
        new = list(rows)
        if [r.key for r in new] != [r.key for r in self.rows]:
            self.beginResetModel()
            self.rows = new
            self.endResetModel()
            return
        old, self.rows = self.rows, new
        for i, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.headers) - 1))

    def key_at(self, row: int) -> str:
        return self.rows[row].key

    def row_of(self, key: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.key == key), -1)

    def cell(self, row: int, column: int) -> str:
        return self.rows[row].cells[column]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column in self.numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and column < len(row.colors) and row.colors[column]:
            return QColor(row.colors[column])
        return None


def time_text(ms: int, time_zone: str = "local") -> str:
    """An event's time as the panels show it: the day and the second."""
    tz = dt.UTC if time_zone == "utc" else None
    return f"{dt.datetime.fromtimestamp(ms / 1000, tz):%m-%d %H:%M:%S}"


def money(value: Decimal | None, places: int | None = None) -> str:
    """Exact by default ("64,000.1"); ``places`` for figures that are estimates (PnL)."""
    if value is None:
        return "–"
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places))
        text = f"{value:,.{places}f}"
        return text.replace("-", "−")
    return fmt(value).replace("-", "−")


def amount(value: Decimal) -> str:
    """A balance: exact to 8 decimal places (fees in quote leave longer tails than anyone reads)."""
    return fmt(value.quantize(Decimal("1e-8"), rounding=ROUND_DOWN)).replace("-", "−")


def signed(value: Decimal, places: int = 2) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places)):+,.{places}f}"
    return text.replace("-", "−")
