"""The data manager's "Download range" form: account, symbol (completed from
the account's markets), timeframe, and the UTC range of open times."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import describe
from terminal.market.history_sources import HistorySources
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.store.candles import SeriesKey
from terminal.ui.data.utc_time_edit import UtcTimeEdit
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30  # the range offered when nothing says otherwise
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class DownloadRequest:
    """Candles of ``key`` with open times in [start_ms, end_ms)."""

    key: SeriesKey
    start_ms: int
    end_ms: int


class DownloadDialog(QDialog):
    """Emits ``requested(DownloadRequest)`` when the user confirms a valid form."""

    requested = Signal(object)

    def __init__(
        self,
        sources: HistorySources,
        now_ms: int,
        selected: SeriesKey | None = None,
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download market history")
        self.sources = sources
        self.theme = theme
        self.markets: dict[str, list[str]] = {}
        self._load: asyncio.Task[None] | None = None

        self.exchange = QComboBox(self)
        for name in sources.names():
            self.exchange.addItem(name, name)
        self.symbol = QLineEdit(self)
        self.symbol.setPlaceholderText("e.g. BTC/USDT")
        self._symbols = QStringListModel(self)
        completer = QCompleter(self._symbols, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.symbol.setCompleter(completer)
        self.timeframe = QComboBox(self)
        self.timeframe.addItems(list(TIMEFRAMES))
        minute = now_ms - now_ms % 60_000
        self.start = UtcTimeEdit(minute - DEFAULT_DAYS * _DAY_MS, self)
        self.end = UtcTimeEdit(minute, self)
        if selected is not None:
            self.exchange.setCurrentIndex(max(0, self.exchange.findData(selected.exchange)))
            self.symbol.setText(selected.symbol)
            self.timeframe.setCurrentText(selected.timeframe)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.errors = FieldErrors(self, ("symbol", "range"), theme.down)

        form = QFormLayout()
        form.addRow("Account", self.exchange)
        form.addRow("Symbol", self.errors.under(self.symbol, "symbol"))
        form.addRow("Timeframe", self.timeframe)
        form.addRow("From (UTC)", self.start)
        form.addRow("Until (UTC)", self.errors.under(self.end, "range"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.download_button = QPushButton("Download", self)
        self.download_button.setDefault(True)
        self.buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(
                "Candles opening from the first time until before the second; only missing ones are fetched."
            )
        )
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self.buttons.rejected.connect(self.reject)
        self.download_button.clicked.connect(self.confirm)
        self.exchange.currentIndexChanged.connect(self._exchange_changed)
        if not sources.names():
            self.download_button.setEnabled(False)
            self._say("There is no account to download from. Add one in File → Accounts and keys.", True)
        else:
            self._exchange_changed()

    @property
    def exchange_name(self) -> str:
        return str(self.exchange.currentData() or "")

    @property
    def loading(self) -> bool:
        return self._load is not None and not self._load.done()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")

    # -- the account's markets, for completion and checking --------------------------------
    def _exchange_changed(self) -> None:
        if self._load is not None:
            self._load.cancel()
        name = self.exchange_name
        if name in self.markets:
            self._symbols.setStringList(self.markets[name])
            self._say(f"{len(self.markets[name]):,} markets on {name}.")
            return
        self._say(f"Loading the markets of {name}…")
        self._load = asyncio.get_running_loop().create_task(
            self._load_symbols(name), name="download: markets"
        )

    async def _load_symbols(self, name: str) -> None:
        try:
            symbols = await self.sources.symbols(name)
        except Exception as exc:  # noqa: BLE001 - shown in the form; typing a symbol still works
            log.warning("Could not load the markets of %s: %s", name, describe(exc, detailed=True))
            if name == self.exchange_name:
                self._say(f"Could not load the markets of {name}: {describe(exc)}", True)
            return
        self.markets[name] = symbols
        if name == self.exchange_name:
            self._symbols.setStringList(symbols)
            self._say(f"{len(symbols):,} markets on {name}.")

    # -- confirming ---------------------------------------------------------------------------
    def request(self) -> DownloadRequest | None:
        """The form as a request, or None with the problems shown under the fields."""
        self.errors.clear()
        symbol = self.symbol.text().strip()
        name = self.exchange_name
        problems: dict[str, str] = {}
        if not symbol:
            problems["symbol"] = "Enter the symbol to download."
        elif name in self.markets and symbol not in self.markets[name]:
            problems["symbol"] = f"{name} does not list {symbol}."
        start, end = self.start.ms(), self.end.ms()
        if end <= start:
            problems["range"] = "The end must come after the start."
        for field, message in problems.items():
            self.errors.show(field, message)
        if problems or not name:
            return None
        return DownloadRequest(SeriesKey(name, symbol, self.timeframe.currentText()), start, end)

    def confirm(self) -> None:
        request = self.request()
        if request is None:
            return
        self.accept()
        self.requested.emit(request)

    def done(self, result: int) -> None:
        if self._load is not None:
            self._load.cancel()
        super().done(result)
