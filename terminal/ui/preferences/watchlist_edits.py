"""The watchlist edited where it is shown: its context menu (add, remove, move)
and the palette ("Add SOL/USDT to watchlist", "Remove SOL/USDT from watchlist").

Each edit is a config change (``ConfigStore.change(watchlist=...)``), so it is
saved and every window's watchlist follows, as it does after the preferences.
The list edited is the config's, which may hold symbols the window's exchange
does not list (kept for the exchanges that do); moves step over those, as the
user sees the list."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from pydantic import ValidationError
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from terminal.config import ConfigStore
from terminal.ui.field_errors import FieldErrors, pydantic_messages
from terminal.ui.preferences.symbols import SymbolField, resolve, symbol_problem
from terminal.ui.theme import Theme

if TYPE_CHECKING:
    from terminal.market.session import MarketSession
    from terminal.ui.market.watchlist import WatchlistView


class WatchlistEdits:
    def __init__(
        self,
        config: ConfigStore,
        session: Callable[[], MarketSession],
        say: Callable[[str, bool], None],
        parent: QWidget,
        theme: Callable[[], Theme],
    ) -> None:
        """``session``: the window's (its markets, the watchlist it shows); ``say``:
        its message channel (text, bad)."""
        self.config = config
        self.session = session
        self.say = say
        self.parent = parent
        self.theme = theme

    def attach(self, view: WatchlistView) -> None:
        """Do what the watchlist's context menu asks."""
        view.add_requested.connect(self.ask_add)
        view.remove_requested.connect(self.remove)
        view.move_requested.connect(self.move)

    def listed(self) -> list[str]:
        """The config's watchlist, plus what the window shows in its stead (an exchange
        that lists none of the config's symbols shows its first five)."""
        listed = list(self.config.settings.watchlist)
        return listed + [s for s in self.session().watchlist if s not in listed]

    def add(self, text: str) -> str:
        """Add the symbol ``text`` names; returns why it cannot be ("" when added)."""
        session = self.session()
        symbol = resolve(text, session.markets)
        listed = self.listed()
        problem = symbol_problem(symbol, listed, session.markets, session.source.name)
        return problem or self._write([*listed, symbol], f"{symbol} added to the watchlist.")

    def remove(self, symbol: str) -> None:
        listed = self.listed()
        if symbol in listed:
            self._write([s for s in listed if s != symbol], f"{symbol} removed from the watchlist.")

    def move(self, symbol: str, step: int) -> None:
        """Move ``symbol`` ``step`` rows (-1 up, 1 down) in the list as the window shows it."""
        shown = self.session().watchlist
        if symbol not in shown or not 0 <= shown.index(symbol) + step < len(shown):
            return
        neighbour = shown[shown.index(symbol) + step]
        listed = self.listed()
        i, j = listed.index(symbol), listed.index(neighbour)
        listed[i], listed[j] = listed[j], listed[i]
        self._write(listed, "")

    def _write(self, watchlist: list[str], done: str) -> str:
        try:
            self.config.change(watchlist=watchlist)
        except ValidationError as exc:  # the list is checked already: a rule of the config's own
            problem = "; ".join(pydantic_messages(exc).values())
            self.say(f"The watchlist was not changed: {problem}", True)
            return problem
        if done:
            self.say(done, False)
        return ""

    def ask_add(self) -> AddSymbolDialog:
        dialog = AddSymbolDialog(self, self.theme(), self.parent)
        dialog.open()
        return dialog

    def commands(self) -> list[tuple[str, Callable[[], object]]]:
        """Palette entries: remove each symbol shown, add each one of the exchange not in the list."""
        session = self.session()
        in_list = set(self.listed())
        found: list[tuple[str, Callable[[], object]]] = [
            (f"Remove {s} from watchlist", partial(self.remove, s)) for s in session.watchlist
        ]
        found += [
            (f"Add {s} to watchlist", partial(self._add_or_say, s))
            for s in session.markets
            if s not in in_list
        ]
        return found

    def _add_or_say(self, symbol: str) -> None:
        problem = self.add(symbol)
        if problem:
            self.say(problem, True)


class AddSymbolDialog(QDialog):
    """Watchlist → Add symbol…: type (completed from the exchange's markets), Enter adds."""

    def __init__(self, edits: WatchlistEdits, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add to the watchlist")
        self.edits = edits
        session = edits.session()
        self.symbol = SymbolField(self)
        self.symbol.set_symbols(session.markets)
        self.errors = FieldErrors(self, ["symbol"], theme.down)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"A symbol of {session.source.name}", self))
        layout.addWidget(self.errors.under(self.symbol, "symbol"))
        layout.addWidget(buttons)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.symbol.returnPressed.connect(self.submit)
        self.symbol.textEdited.connect(lambda _text: self.errors.clear())
        self.resize(360, self.sizeHint().height())

    def submit(self) -> None:
        problem = self.edits.add(self.symbol.text())
        if problem:
            self.errors.show("symbol", problem)
        else:
            self.accept()
