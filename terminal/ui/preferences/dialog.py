"""Preferences (Ctrl+,; File → Preferences…): theme, watchlist, trading switches,
risk limits per account, the simulator's seed, alerts (mute, toasts, webhooks).

OK and Apply send the fields the user changed to ``ConfigStore.change``, which
validates them as config.toml is validated, writes the file atomically and tells
every window. A value the config refuses is named on its field and nothing is
written; the dialog stays open. Cancel closes without writing (what Apply wrote
stays). Settings changed elsewhere while the dialog is open (the theme key,
another window's watchlist menu) show in the fields the user has not touched.
Webhooks are the exception: adding or removing one writes the keyring and the
config at once (``alerts_page``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from pydantic import ValidationError
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.config import ConfigStore, Settings
from terminal.credentials import CredentialStore
from terminal.ui.field_errors import FieldErrors
from terminal.ui.preferences.alerts_page import AlertsPage
from terminal.ui.preferences.form import Path, Setting, check, nested_values, place_errors, plain
from terminal.ui.preferences.risk_page import RiskPage
from terminal.ui.preferences.watchlist_page import WatchlistPage
from terminal.ui.theme import THEMES, Theme

log = logging.getLogger(__name__)

SEED_HELP = (
    "Empty: the simulated market continues where it stopped, kept in the history file. A seed "
    "different from the market's starts a new simulated market at the next start (not in the windows "
    "open now); the same seed again continues it."
)


def _note(text: str, theme: Theme, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.muted};")
    return label


class PreferencesDialog(QDialog):
    def __init__(
        self,
        config: ConfigStore,
        markets: Mapping[str, Any],
        exchange: str,
        theme: Theme,
        parent: QWidget | None = None,
        *,
        credentials: Callable[[], CredentialStore] | None = None,
    ) -> None:
        """``markets`` and ``exchange`` (its name): the opening window's, to complete and
        check the symbols added to the watchlist. ``credentials``: the window's keyring
        store, for the webhooks' addresses (default: a store of the default service)."""
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.resize(640, 520)
        self.config = config
        self.theme = theme
        self.tabs = QTabWidget(self)
        self.watchlist = WatchlistPage(markets, exchange, theme, self)
        self.risk = RiskPage(config.settings, theme, self)
        self.alerts = AlertsPage(config, credentials or CredentialStore, theme, self)
        self.errors = FieldErrors(self, ["seed"], theme.down)
        self.appearance_page = self._appearance_page()
        self.trading_page = self._trading_page()
        self.simulator_page = self._simulator_page()
        self.tabs.addTab(self.appearance_page, "Appearance")
        self.tabs.addTab(self.watchlist, "Watchlist")
        self.tabs.addTab(self.trading_page, "Trading")
        self.tabs.addTab(self.risk, "Risk limits")
        self.tabs.addTab(self.alerts, "Alerts")
        self.tabs.addTab(self.simulator_page, "Simulator")
        self.fields = self._settings()
        self.baseline: dict[Path, Any] = {}
        self.message = QLabel(self)  # what no field owns, and what was saved
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        layout = QVBoxLayout(self)
        if not config.writable:
            problem = f"{config.problem} Changes made here hold until the terminal closes; none is written."
            layout.addWidget(_note(problem, theme, self))
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.ok)
        self.buttons.rejected.connect(self.reject)
        apply = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        apply.clicked.connect(lambda _checked=False: self.apply())
        for setting in self.fields:
            setting.show(setting.get(config.settings))
        self._take_baseline()
        self._stop_following = config.subscribe(self._config_changed)

    # -- the pages ----------------------------------------------------------------------
    def _appearance_page(self) -> QWidget:
        page = QWidget(self)
        self.theme_box = QComboBox(page)
        for name in THEMES:
            self.theme_box.addItem(name.capitalize(), name)
        form = QFormLayout()
        form.addRow("Theme", self.theme_box)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(_note("Every window follows (Ctrl+Shift+T switches it too).", self.theme, page))
        layout.addStretch(1)
        return page

    def _trading_page(self) -> QWidget:
        page = QWidget(self)
        self.hotkeys = QCheckBox("Trading hotkeys: buy, sell, cancel all and flatten with single keys", page)
        self.confirm = QCheckBox("Ask before each order is sent (confirmation)", page)
        self.fill_sound = QCheckBox("Play a sound on each fill of my orders", page)
        layout = QVBoxLayout(page)
        layout.addWidget(self.hotkeys)
        layout.addWidget(_note("The F1 sheet lists the keys; they size orders by the ticket's amount.",
                               self.theme, page))  # fmt: skip
        layout.addWidget(self.confirm)
        layout.addWidget(_note("Off: the ticket and the hotkeys send at once, with no question.",
                               self.theme, page))  # fmt: skip
        layout.addWidget(self.fill_sound)
        layout.addStretch(1)
        return page

    def _simulator_page(self) -> QWidget:
        page = QWidget(self)
        self.seed = QLineEdit(page)
        self.seed.setPlaceholderText("empty: continue the kept market")
        form = QFormLayout()
        form.addRow("Seed", self.errors.under(self.seed, "seed"))
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(_note(SEED_HELP, self.theme, page))
        layout.addStretch(1)
        return page

    def _settings(self) -> list[Setting]:
        """Every field, where it is in the settings, and how to read and show it."""

        def reveal(page: QWidget) -> Callable[[], None]:
            return partial(self.tabs.setCurrentWidget, page)

        def nothing_to_say(_message: str) -> None:  # a choice the config cannot refuse
            pass

        def show_theme(name: str) -> None:
            self.theme_box.setCurrentIndex(self.theme_box.findData(name))

        def show_seed(value: int | None) -> None:
            self.seed.setText("" if value is None else plain(value))

        def check_box(box: QCheckBox, name: str) -> Setting:
            return Setting(
                path=("trading", name),
                read=box.isChecked,
                show=box.setChecked,
                get=lambda s: getattr(s.trading, name),
                say=nothing_to_say,
                reveal=reveal(self.trading_page),
            )

        watchlist = self.watchlist
        return [
            Setting(
                path=("theme",),
                read=self.theme_box.currentData,
                show=show_theme,
                get=lambda s: s.theme,
                say=nothing_to_say,
                reveal=reveal(self.appearance_page),
            ),
            Setting(
                path=("watchlist",),
                read=watchlist.symbols,
                show=watchlist.set_symbols,
                get=lambda s: list(s.watchlist),
                say=partial(watchlist.errors.show, "watchlist"),
                reveal=reveal(watchlist),
            ),
            check_box(self.hotkeys, "hotkeys_enabled"),
            check_box(self.confirm, "confirm_orders"),
            check_box(self.fill_sound, "fill_sound"),
            *self.risk.settings(reveal(self.risk)),
            *self.alerts.settings(reveal(self.alerts)),
            Setting(
                path=("simulator", "seed"),
                read=lambda: self.seed.text().strip() or None,
                show=show_seed,
                get=lambda s: s.simulator.seed,
                say=partial(self.errors.show, "seed"),
                reveal=reveal(self.simulator_page),
            ),
        ]

    # -- saving ------------------------------------------------------------------------
    def changes(self) -> dict[Path, Any]:
        """The fields the user changed since the dialog opened (or since the last Apply)."""
        return {s.path: value for s in self.fields if (value := s.read()) != self.baseline[s.path]}

    def apply(self) -> bool:
        """Check, save and announce what changed; False (errors on their fields, nothing
        written) if the config refuses a value."""
        self._clear_errors()
        if not self.watchlist.take_typed():
            self.tabs.setCurrentWidget(self.watchlist)
            return False
        changes = self.changes()
        if not changes:
            return True
        settings = self.config.settings
        values = nested_values(settings, changes)
        try:
            check(settings, values)
            self.config.change(**values)
        except ValidationError as exc:
            others = place_errors(exc, self.fields)
            if others:
                self._say("; ".join(others), error=True)
            log.info("Preferences not saved: %d value(s) refused", exc.error_count())
            return False
        self._take_baseline()
        saved = "Saved." if self.config.writable else "Changed for this session (config.toml is not written)."
        self._say(saved)
        return True

    def ok(self) -> None:
        if self.apply():
            self.accept()

    def done(self, result: int) -> None:
        self._stop_following()
        self.alerts.stop()
        super().done(result)

    def _take_baseline(self) -> None:
        self.baseline = {s.path: s.read() for s in self.fields}

    def _config_changed(self, changed: frozenset[str]) -> None:
        """Settings changed elsewhere: show them in the fields the user has not touched."""
        settings: Settings = self.config.settings
        for setting in self.fields:
            if setting.path[0] in changed and setting.read() == self.baseline[setting.path]:
                setting.show(setting.get(settings))
                self.baseline[setting.path] = setting.read()
        if "alerts" in changed:
            self.alerts.follow(settings)
        if "theme" in changed:
            self.theme = THEMES[settings.theme]
            self.alerts.set_theme(self.theme)
            for errors in (self.errors, self.watchlist.errors, *self.risk.errors.values()):
                errors.set_color(self.theme.down)

    def _clear_errors(self) -> None:
        for errors in (self.errors, self.watchlist.errors, *self.risk.errors.values(), self.alerts.errors):
            errors.clear()
        self.message.clear()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")
        self.message.setText(text)
