"""The market picker (File → Open market…, Ctrl+O): choose an exchange (the
simulated one or an account), search its markets, open one.

Markets of the exchange on screen come from the running session; any other
exchange's are loaded here, on the event loop, from a source made in a
worker thread (making a ccxt exchange imports ccxt, which takes half a
second) and closed again afterwards. Closing the dialog cancels a load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from terminal.config import SIMULATED, Settings
from terminal.errors import ExchangeError, TerminalError, describe
from terminal.market.sources import make_source
from terminal.tasks import TaskGroup
from terminal.ui.table_model import HeaderedTableModel, ModelIndex
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

MARKETS = "markets"  # the task slot of the market load
HEADERS = ("Symbol", "Base", "Quote", "Type", "Active")
MARKET_TYPES = ("all", "spot", "swap", "future", "option")


@dataclass(frozen=True)
class MarketRow:
    symbol: str
    base: str
    quote: str
    type: str
    active: bool | None

    @classmethod
    def of(cls, symbol: str, market: Mapping[str, Any]) -> MarketRow:
        active = market.get("active")
        return cls(
            symbol,
            str(market.get("base") or ""),
            str(market.get("quote") or ""),
            str(market.get("type") or ""),
            active if isinstance(active, bool) else None,
        )

    def matches(self, query: str, market_type: str) -> bool:
        """``query`` (any case) is in the symbol, base or quote; the type is ``market_type`` or "all"."""
        if market_type != "all" and self.type != market_type:
            return False
        if not query:
            return True
        q = query.lower()
        return q in self.symbol.lower() or q in self.base.lower() or q in self.quote.lower()


def market_rows(markets: Mapping[str, Mapping[str, Any]]) -> list[MarketRow]:
    return sorted((MarketRow.of(s, m) for s, m in markets.items()), key=lambda r: r.symbol)


class MarketTableModel(HeaderedTableModel):
    headers = HEADERS

    """All of an exchange's markets; shows those that match the filter, in the chosen order.

    Filtering and sorting are done here, in one pass and one model reset: a
    QSortFilterProxyModel inserts rows one by one as a filter widens, which
    took most of a second for a few thousand markets.
    """

    def __init__(self, theme: Theme = DARK, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.all_rows: list[MarketRow] = []
        self.rows: list[MarketRow] = []  # the visible ones
        self.theme = theme
        self.query = ""
        self.market_type = "all"
        self._sort: tuple[int, bool] = (0, False)  # column, descending

    def set_rows(self, rows: list[MarketRow]) -> None:
        self.all_rows = rows
        self._refresh()

    def set_filter(self, query: str, market_type: str) -> None:
        self.query, self.market_type = query.strip(), market_type
        self._refresh()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order == Qt.SortOrder.DescendingOrder)
        self._refresh()

    def _refresh(self) -> None:
        column, descending = self._sort
        shown = [r for r in self.all_rows if r.matches(self.query, self.market_type)]
        shown.sort(key=lambda r: (_cell(r, column).lower(), r.symbol), reverse=descending)
        self.beginResetModel()
        self.rows = shown
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(row, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and row.active is False:
            return QColor(self.theme.muted)
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None


def _cell(row: MarketRow, column: int) -> str:
    if column == 4:
        return "–" if row.active is None else ("yes" if row.active else "no")
    return (row.symbol, row.base, row.quote, row.type)[column]


class MarketPicker(QDialog):
    """Emits ``chosen(exchange, symbol)`` when the user opens a market, then closes."""

    chosen = Signal(str, str)

    def __init__(
        self,
        settings: Settings,
        current: str,
        current_markets: Callable[[], Mapping[str, Mapping[str, Any]]],
        theme: Theme = DARK,
        parent: QWidget | None = None,
        current_symbol: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open market")
        self.resize(640, 520)
        self.settings = settings
        self.current = current
        self.current_symbol = current_symbol
        self._current_markets = current_markets
        self.theme = theme
        self._loaded: dict[str, list[MarketRow]] = {}
        # One load at a time, the newest exchange chosen wins; cancelled loads are
        # still awaited at shutdown (each closes the source it opened).
        self._loads = TaskGroup("market picker", on_error=self._load_failed, logger=log)

        self.exchange = QComboBox(self)
        self.exchange.addItem("Simulated (built-in)", SIMULATED)
        for account in settings.accounts:
            sandbox = ", sandbox" if account.sandbox else ""
            self.exchange.addItem(f"{account.name} — {account.exchange}{sandbox}", account.name)
        self.exchange.setCurrentIndex(max(0, self.exchange.findData(current)))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search symbol, base or quote… (Enter opens, Esc closes)")
        self.search.setClearButtonEnabled(True)
        self.type_filter = QComboBox(self)
        for market_type in MARKET_TYPES:
            self.type_filter.addItem(
                market_type.capitalize() if market_type != "all" else "All types", market_type
            )
        self.model = MarketTableModel(theme, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Fixed widths: sizing columns to their contents reads every row, on every keystroke.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 90), (2, 80), (3, 70), (4, 60)):
            header.resizeSection(column, width)
        self.spinner = QProgressBar(self)
        self.spinner.setRange(0, 0)  # busy indicator
        self.spinner.setMaximumHeight(6)
        self.spinner.setTextVisible(False)
        self.spinner.hide()
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Try again", self)
        self.retry_button.hide()

        top = QHBoxLayout()
        top.addWidget(QLabel("Exchange"))
        top.addWidget(self.exchange, 1)
        top.addWidget(self.type_filter)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.spinner)
        layout.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(bottom)

        self.exchange.currentIndexChanged.connect(self._exchange_changed)
        self.search.textChanged.connect(self._refilter)
        self.type_filter.currentIndexChanged.connect(self._refilter)
        self.search.installEventFilter(self)
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        self.retry_button.clicked.connect(self._exchange_changed)
        self._exchange_changed()
        self.search.setFocus()

    # -- what is shown ---------------------------------------------------------------
    @property
    def exchange_name(self) -> str:
        return str(self.exchange.currentData())

    @property
    def loading(self) -> bool:
        # Until the outcome is on screen (the group keeps the slot until then).
        return self._loads.running(MARKETS) is not None

    @property
    def busy(self) -> bool:
        return self.loading

    def visible_symbols(self) -> list[str]:
        return [row.symbol for row in self.model.rows]

    def _exchange_changed(self) -> None:
        self._cancel_load()
        self.retry_button.hide()
        name = self.exchange_name
        current = self._current_markets() if name == self.current else {}
        if current:
            self._loaded[name] = market_rows(current)
        rows = self._loaded.get(name)
        if rows is not None:
            self._show(rows)
            return
        self.model.set_rows([])
        self._set_status(f"Loading the markets of {self._title(name)}…")
        self.spinner.show()
        self._loads.spawn(self._load_markets(name), name="picker: markets", key=MARKETS)

    async def _load_markets(self, name: str) -> None:
        source = await asyncio.to_thread(make_source, self.settings, name)
        try:
            markets = await source.load_markets()
        finally:
            await source.close()
        self._loaded[name] = market_rows(markets)
        if name == self.exchange_name:
            self._show(self._loaded[name])

    def _load_failed(self, exc: BaseException, _name: str) -> None:
        """The load failed (the group logged it): why, in plain words, and a way to try again."""
        self.spinner.hide()
        if isinstance(exc, ExchangeError) and exc.transient:
            exc.hint = "Check the account's addresses and the network, then try again."  # no retry here
            reason = exc.user_message()
        elif isinstance(exc, TerminalError):
            reason = exc.user_message()
        else:
            reason = describe(exc)
        where = self._title(self.exchange_name)
        detail = exc.detail if isinstance(exc, TerminalError) else ""
        self._set_status(f"Could not load the markets of {where}: {reason}", error=True, detail=detail)
        self.retry_button.show()

    def _title(self, name: str) -> str:
        return "the simulated exchange" if name == SIMULATED else f"account '{name}'"

    def _show(self, rows: list[MarketRow]) -> None:
        self.spinner.hide()
        self.model.set_rows(rows)
        self._refilter()

    def _refilter(self) -> None:
        self.model.set_filter(self.search.text(), str(self.type_filter.currentData()))
        shown, total = len(self.model.rows), len(self.model.all_rows)
        if self.loading:
            return
        self._set_status(f"{shown:,} of {total:,} markets" if total else "No markets.")
        if shown:
            self.table.selectRow(self._row_to_select())

    def _row_to_select(self) -> int:
        """The symbol on screen when it is listed (so Enter keeps it), else the first row."""
        if self.exchange_name == self.current and self.current_symbol:
            for i, row in enumerate(self.model.rows):
                if row.symbol == self.current_symbol:
                    return i
        return 0

    def _set_status(self, text: str, error: bool = False, detail: str = "") -> None:
        self.status.setText(text)
        self.status.setToolTip(detail)  # the exchange library's own words, for the curious
        color = self.theme.down if error else self.theme.muted
        self.status.setStyleSheet(f"color: {color};")

    # -- opening ----------------------------------------------------------------------
    def open_selected(self) -> bool:
        """Open the selected market (else the first one listed); False if none is listed."""
        indexes = self.table.selectionModel().selectedRows()
        index = indexes[0] if indexes else self.model.index(0, 0)
        if not index.isValid():
            return False
        self._open_index(index)
        return True

    def _open_index(self, index: QModelIndex) -> None:
        row = self.model.index(index.row(), 0).data(Qt.ItemDataRole.UserRole)
        if not isinstance(row, MarketRow):
            return
        name = self.exchange_name
        self.accept()
        self.chosen.emit(name, row.symbol)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                step = {
                    Qt.Key.Key_Down: 1,
                    Qt.Key.Key_Up: -1,
                    Qt.Key.Key_PageDown: 10,
                    Qt.Key.Key_PageUp: -10,
                }
                indexes = self.table.selectionModel().selectedRows()
                row = (indexes[0].row() if indexes else -1) + step[Qt.Key(key)]
                if self.model.rows:
                    self.table.selectRow(max(0, min(len(self.model.rows) - 1, row)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_selected()
                return True
        return super().eventFilter(obj, event)

    # -- closing ----------------------------------------------------------------------
    def _cancel_load(self) -> None:
        self._loads.cancel(MARKETS)

    def done(self, result: int) -> None:
        self._cancel_load()
        super().done(result)

    async def shutdown(self) -> None:
        """Stop loading and wait until the source it opened is closed."""
        await self._loads.close()
