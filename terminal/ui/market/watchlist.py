"""The watchlist: last price, 24h change and volume per symbol; a click opens it.
The symbol on the chart is the one row in bold and the row selected, however
it was opened (a click, the palette, Alt+Up/Down, another window's link).
Its context menu asks to add, remove or move a symbol; the window does it
(a config change: ``terminal.ui.preferences.watchlist_edits``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from terminal.marketdata.orderbook import decimals_for
from terminal.ui.formatting import compact
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

HEADERS = ("Symbol", "Last", "24h %", "Volume")


class WatchlistModel(HeaderedTableModel):
    headers = HEADERS
    current_changed = Signal(int)  # the row of the symbol on the chart; -1: not in the list

    def __init__(self, theme: Theme = DARK) -> None:
        super().__init__()
        self.symbols: list[str] = []
        self.tickers: dict[str, dict[str, Any]] = {}
        self.decimals: dict[str, int] = {}
        self.current = ""
        self.theme = theme
        #: symbols whose ticker stream the exchange refused, with why
        self.refused: dict[str, str] = {}

    def set_symbols(self, symbols: list[str], markets: Mapping[str, dict[str, Any]]) -> None:
        self.beginResetModel()
        self.symbols = list(symbols)
        self.decimals = {
            s: decimals_for(float(markets.get(s, {}).get("precision", {}).get("price") or 0.01))
            for s in symbols
        }
        self.endResetModel()
        self.current_changed.emit(self.current_row())

    def set_current(self, symbol: str) -> None:
        """The symbol on the chart: its row alone is bold (and the view selects it)."""
        if symbol == self.current:
            return
        old, self.current = self.current, symbol
        for each in (old, symbol):
            if each in self.symbols:
                cell = self.index(self.symbols.index(each), 0)
                self.dataChanged.emit(cell, cell)
        self.current_changed.emit(self.current_row())

    def current_row(self) -> int:
        return self.symbols.index(self.current) if self.current in self.symbols else -1

    def refresh(self, tickers: dict[str, dict[str, Any]]) -> None:
        """New ticker values: one dataChanged for the whole table, once per frame."""
        self.tickers = tickers
        if self.symbols:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.symbols) - 1, len(HEADERS) - 1))

    def set_refusals(self, refused: dict[str, str]) -> None:
        """Mark the rows whose ticker the exchange refused (their stream is off)."""
        if refused != self.refused:
            self.refused = dict(refused)
            if self.symbols:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.symbols) - 1, len(HEADERS) - 1))

    def row_total(self) -> int:
        return len(self.symbols)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        symbol = self.symbols[index.row()]
        ticker = self.tickers.get(symbol, {})
        col = index.column()
        refused = self.refused.get(symbol)
        if refused is not None:
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{symbol}: {refused}"
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(self.theme.muted)
            if role == Qt.ItemDataRole.DisplayRole and col > 0:
                return "refused" if col == 1 else "–"  # no live figures to show
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return symbol
            if col == 1:
                last = ticker.get("last")
                return "–" if last is None else f"{last:,.{self.decimals.get(symbol, 2)}f}"
            if col == 2:
                pct = ticker.get("percentage")
                return "–" if pct is None else f"{pct:+.2f}%"
            return compact(ticker.get("quoteVolume"), decimals=1)
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            pct = ticker.get("percentage")
            if pct is not None:
                return QColor(self.theme.up if pct >= 0 else self.theme.down)
        if role == Qt.ItemDataRole.FontRole and col == 0 and symbol == self.current:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return symbol
        return None


class WatchlistView(QTableView):
    symbol_activated = Signal(str)
    add_requested = Signal()
    remove_requested = Signal(str)
    move_requested = Signal(str, int)  # the symbol, -1 up or 1 down

    def __init__(self, model: WatchlistModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.watchlist = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setMinimumWidth(210)
        self.clicked.connect(self._emit)
        self.activated.connect(self._emit)
        model.current_changed.connect(self._follow)

    def _follow(self, row: int) -> None:
        """Select the chart's symbol, not the row last clicked."""
        if row < 0:
            self.clearSelection()
        else:
            self.selectRow(row)

    def _emit(self, index: QModelIndex) -> None:
        symbol = self.model().data(index, Qt.ItemDataRole.UserRole)
        if symbol:
            self.symbol_activated.emit(symbol)

    def context_menu(self, row: int) -> QMenu:
        """The menu of ``row`` (-1: below the rows): add a symbol; remove or move this one."""
        menu = QMenu(self)
        add = menu.addAction("Add symbol…")
        add.triggered.connect(lambda _checked=False: self.add_requested.emit())
        symbols = self.watchlist.symbols
        if 0 <= row < len(symbols):
            symbol = symbols[row]
            menu.addSeparator()
            remove = menu.addAction(f"Remove {symbol}")
            remove.triggered.connect(lambda _checked=False: self.remove_requested.emit(symbol))
            up = menu.addAction("Move up")
            up.setEnabled(row > 0)
            up.triggered.connect(lambda _checked=False: self.move_requested.emit(symbol, -1))
            down = menu.addAction("Move down")
            down.setEnabled(row < len(symbols) - 1)
            down.triggered.connect(lambda _checked=False: self.move_requested.emit(symbol, 1))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        menu = self.context_menu(self.indexAt(event.pos()).row())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())  # not exec(): no nested event loop under qasync
