"""The Watchlist tab of the preferences: add (a symbol of the window's exchange,
completed from its markets), remove, reorder (buttons or drag). Nothing is saved
here; the dialog reads ``symbols()`` when OK or Apply is pressed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terminal.ui.field_errors import FieldErrors
from terminal.ui.preferences.symbols import SymbolField, resolve, symbol_problem
from terminal.ui.theme import Theme


class SymbolList(QListWidget):
    """The symbols in order; drag to reorder, Delete removes the selected one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.on_delete = lambda: None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.on_delete()
            event.accept()
            return
        super().keyPressEvent(event)


class WatchlistPage(QWidget):
    def __init__(
        self, markets: Mapping[str, Any], exchange: str, theme: Theme, parent: QWidget | None = None
    ) -> None:
        """``markets``: the window's exchange's (empty while they load: then any symbol is taken)."""
        super().__init__(parent)
        self.markets = markets
        self.exchange = exchange
        self.theme = theme
        self.list = SymbolList(self)
        self.list.on_delete = self.remove_selected
        self.up_button = QPushButton("Move up", self)
        self.down_button = QPushButton("Move down", self)
        self.remove_button = QPushButton("Remove", self)
        self.symbol = SymbolField(self)
        self.symbol.set_symbols(markets)
        self.add_button = QPushButton("Add", self)
        self.errors = FieldErrors(self, ["symbol", "watchlist"], theme.down)

        buttons = QVBoxLayout()
        for button in (self.up_button, self.down_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        adding = QHBoxLayout()
        adding.setContentsMargins(0, 0, 0, 0)
        adding.addWidget(self.symbol, 1)
        adding.addWidget(self.add_button)
        add_row = QWidget(self)
        add_row.setLayout(adding)
        note = QLabel(
            "One watchlist serves every exchange: a window shows the symbols its exchange lists "
            f"(greyed here: not listed on {exchange}). Drag a symbol, or use the buttons, to reorder.",
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        grid = QGridLayout(self)
        grid.addWidget(self.errors.under(self.list, "watchlist"), 0, 0)
        grid.addLayout(buttons, 0, 1)
        grid.addWidget(QLabel("Add a symbol of " + exchange, self), 1, 0, 1, 2)
        grid.addWidget(self.errors.under(add_row, "symbol"), 2, 0, 1, 2)
        grid.addWidget(note, 3, 0, 1, 2)
        grid.setRowStretch(0, 1)

        self.add_button.clicked.connect(lambda _checked=False: self.add())
        self.symbol.returnPressed.connect(self.add)
        self.symbol.textEdited.connect(lambda _text: self.errors.clear())  # said of the old text
        self.remove_button.clicked.connect(lambda _checked=False: self.remove_selected())
        self.up_button.clicked.connect(lambda _checked=False: self.move_selected(-1))
        self.down_button.clicked.connect(lambda _checked=False: self.move_selected(1))
        self.list.currentRowChanged.connect(lambda _row: self._enable())
        self.list.model().rowsMoved.connect(lambda *_args: self._enable())

    def symbols(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def set_symbols(self, symbols: list[str]) -> None:
        self.list.clear()
        for symbol in symbols:
            self._append(symbol)
        self._enable()

    def _append(self, symbol: str) -> QListWidgetItem:
        item = QListWidgetItem(symbol, self.list)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsDropEnabled)  # dropped between rows, not onto one
        if self.markets and symbol not in self.markets:
            item.setForeground(QColor(self.theme.muted))
            item.setToolTip(f"{self.exchange} does not list {symbol}; kept for the exchanges that do.")
        return item

    def add(self) -> bool:
        """Add the symbol typed (False, with the reason under the field, if it cannot be)."""
        self.errors.clear()
        symbol = resolve(self.symbol.text(), self.markets)
        problem = symbol_problem(symbol, self.symbols(), self.markets, self.exchange)
        if problem:
            self.errors.show("symbol", problem)
            return False
        self.list.setCurrentItem(self._append(symbol))
        self.symbol.clear()
        return True

    def take_typed(self) -> bool:
        """A symbol typed but not added yet is added (OK means "with what I typed");
        False if it cannot be."""
        return not self.symbol.text().strip() or self.add()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._enable()

    def move_selected(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self._enable()

    def _enable(self) -> None:
        row, count = self.list.currentRow(), self.list.count()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < count - 1)
