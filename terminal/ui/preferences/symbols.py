"""A symbol typed for the watchlist: completed from the exchange's markets and
checked against them where they are known (an exchange still loading its markets
cannot say no, so the symbol is taken as typed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget


def resolve(text: str, markets: Mapping[str, Any]) -> str:
    """The market ``text`` names: exact, else the one that differs only in case
    ("btc/usdt" is BTC/USDT), else the text as typed, trimmed."""
    text = text.strip()
    if text in markets:
        return text
    folded = text.casefold()
    return next((symbol for symbol in markets if symbol.casefold() == folded), text)


def symbol_problem(symbol: str, watchlist: Iterable[str], markets: Mapping[str, Any], exchange: str) -> str:
    """Why ``symbol`` cannot be added to ``watchlist`` ("" if it can)."""
    if not symbol:
        return "Type a symbol, e.g. BTC/USDT."
    if any(ch.isspace() for ch in symbol):
        return f"“{symbol}” is not a symbol: symbols have no spaces (e.g. BTC/USDT)."
    if symbol in watchlist:
        return f"{symbol} is already in the watchlist."
    if markets and symbol not in markets:
        return f"{exchange} does not list {symbol}: pick one of its symbols as you type."
    return ""


class SymbolField(QLineEdit):
    """A line to type a symbol in, completing from the exchange's markets (anywhere
    in the name). Enter adds the symbol (``returnPressed``) and goes no further:
    in a dialog it would also press the default button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("Symbol, e.g. BTC/USDT")
        self._symbols = QStringListModel(self)
        completer = QCompleter(self._symbols, self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)

    def set_symbols(self, symbols: Iterable[str]) -> None:
        self._symbols.setStringList(sorted(symbols))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
