"""Accounts and keys (File → Accounts and keys…): exchange accounts in the
config file, the API addresses each will use, and their keys in the OS keyring.

What blocks runs off the GUI thread: importing ccxt and making exchanges
(half a second the first time) and every keyring call go through
``asyncio.to_thread``; the key test's request is async I/O on the loop. Work
under way is cancelled when the dialog closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.config import AccountSettings, ConfigStore
from terminal.credentials import CredentialStore
from terminal.errors import TerminalError, describe
from terminal.market.accounts import ExchangeInfo, account_endpoints, exchange_catalogue
from terminal.market.key_destinations import account_key_destinations
from terminal.tasks import TaskGroup
from terminal.ui.accounts.endpoints_view import EndpointsView
from terminal.ui.accounts.keys import KeysPanel
from terminal.ui.confirm import ask_to_remove
from terminal.ui.field_errors import FieldErrors, pydantic_messages
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

NAME_RULE = "Use 1 to 40 letters, digits, dots, dashes or underscores (no spaces)."
FIELDS = ("name", "exchange", "rest_url", "ws_url")
ENDPOINTS_DELAY_MS = 250  # after the last edit of an address, before the list is made again


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints about an account, by field, in plain words."""
    return pydantic_messages(error, {("name", "string_pattern_mismatch"): NAME_RULE})


class AccountsDialog(QDialog):
    def __init__(
        self,
        config: ConfigStore,
        credentials: CredentialStore,
        theme: Theme = DARK,
        parent: QWidget | None = None,
        on_screen: Callable[[], str] | None = None,
    ) -> None:
        """``on_screen``: the exchange account of the market the opening window shows
        (default: the configured one)."""
        super().__init__(parent)
        self.setWindowTitle("Accounts and keys")
        self.resize(900, 580)
        self.config = config
        self.settings = config.settings
        self.on_screen = on_screen or (lambda: self.settings.market.exchange)
        self.theme = theme
        self.catalogue: dict[str, ExchangeInfo] = {}
        self.editing: str | None = None  # the saved account in the form; None = a new one
        self.confirm_box: QMessageBox | None = None
        self._tasks = TaskGroup("accounts dialog", on_error=self._failed, logger=log)

        # Left: the accounts.
        self.account_list = QListWidget(self)
        self.account_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.add_button = QPushButton("Add account", self)
        self.remove_button = QPushButton("Remove account…", self)
        left = QVBoxLayout()
        left.addWidget(QLabel("Accounts"))
        left.addWidget(self.account_list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)

        # Right: the account, the addresses it will use, its keys.
        self.endpoints = EndpointsView(theme, self)
        self.keys = KeysPanel(credentials, self._spawn, theme, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._account_page(), "Account")
        self.tabs.addTab(self.endpoints, "Endpoints")
        self.tabs.addTab(self.keys, "API keys")

        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.tabs, 3)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)

        self._endpoint_timer = QTimer(self)
        self._endpoint_timer.setSingleShot(True)
        self._endpoint_timer.setInterval(ENDPOINTS_DELAY_MS)
        self._endpoint_timer.timeout.connect(self._refresh_endpoints)

        self.account_list.currentItemChanged.connect(self._account_selected)
        self.add_button.clicked.connect(self.new_account)
        self.remove_button.clicked.connect(self.confirm_remove_account)
        self.save_button.clicked.connect(self.save_account)
        self.exchange.currentTextChanged.connect(self._exchange_changed)
        for edit in (self.name, self.rest_url, self.ws_url):
            edit.textChanged.connect(self._endpoint_timer.start)
        self.sandbox.toggled.connect(self._endpoint_timer.start)

        self._fill_list()
        self._spawn(self._load_catalogue())
        self._spawn(self.keys.check_keyring())
        if self.settings.accounts:
            self.account_list.setCurrentRow(0)
        else:
            self.new_account()

    def _account_page(self) -> QWidget:
        page = QWidget(self)
        self.name = QLineEdit(page)
        self.name.setPlaceholderText("e.g. binance-main")
        self.exchange = QComboBox(page)
        self.exchange.setEditable(True)
        self.exchange.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        edit = self.exchange.lineEdit()
        assert edit is not None  # editable
        self.exchange_edit: QLineEdit = edit
        self.exchange_edit.setPlaceholderText("Loading ccxt's exchanges…")
        self.exchange.setEnabled(False)
        completer = QCompleter(self.exchange.model(), self.exchange)  # type to search, anywhere in the name
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.exchange.setCompleter(completer)
        self.sandbox = QCheckBox("Use the exchange's sandbox (testnet)", page)
        self.rest_url = QLineEdit(page)
        self.rest_url.setPlaceholderText("the exchange's own; or e.g. https://proxy.example:8443/binance")
        self.ws_url = QLineEdit(page)
        self.ws_url.setPlaceholderText("the exchange's own; or e.g. wss://proxy.example:8443/stream")
        self.errors = FieldErrors(self, FIELDS, self.theme.down)
        self.save_button = QPushButton("Save account", page)
        self.account_status = QLabel(page)
        self.account_status.setWordWrap(True)
        self.account_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Name", self.errors.under(self.name, "name"))
        form.addRow("Exchange", self.errors.under(self.exchange, "exchange"))
        form.addRow("", self.sandbox)
        form.addRow("REST base URL", self.errors.under(self.rest_url, "rest_url"))
        form.addRow("Websocket base URL", self.errors.under(self.ws_url, "ws_url"))
        note = QLabel(
            "Leave the addresses empty to use the exchange's own. An address replaces the scheme and "
            "host of every API URL of its kind (a path is put in front); the Endpoints tab shows each one.",
            page,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {self.theme.muted};")
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addLayout(row)
        layout.addWidget(self.account_status)
        layout.addStretch(1)
        return page

    # -- background work ---------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None], key: str | None = None) -> asyncio.Task[None]:
        return self._tasks.spawn(work, name=f"accounts dialog: {getattr(work, '__name__', 'work')}", key=key)

    def _failed(self, exc: BaseException, _name: str) -> None:
        self._set_status(f"Something went wrong: {describe(exc)}", error=True)

    def done(self, result: int) -> None:
        self._tasks.cancel()
        super().done(result)

    async def shutdown(self) -> None:
        """Cancel what is under way and wait until it has let go (sources closed)."""
        await self._tasks.close()

    @property
    def busy(self) -> bool:
        """Work is under way (the exchange list, the keyring, the endpoints, a test)."""
        return self._tasks.busy or self._endpoint_timer.isActive()

    async def _load_catalogue(self) -> None:
        try:
            catalogue = await asyncio.to_thread(exchange_catalogue)
        except ImportError as exc:
            self._show_error("exchange", f"ccxt cannot be loaded ({exc}); reinstall the terminal.")
            return
        self.catalogue = catalogue
        typed = self.exchange.currentText()
        self.exchange.blockSignals(True)
        for info in sorted(catalogue.values(), key=lambda i: i.id):
            self.exchange.addItem(info.label, info.id)
        self.exchange.blockSignals(False)
        self.exchange_edit.setPlaceholderText("type to search ccxt's exchanges, e.g. binance")
        self.exchange.setEnabled(True)
        self._set_exchange_text(typed)
        self._exchange_changed()
        self._show_keys()

    # -- the account list and the form ---------------------------------------------------------------
    def account_names(self) -> list[str]:
        items = (self.account_list.item(i) for i in range(self.account_list.count()))
        return [item.data(Qt.ItemDataRole.UserRole) for item in items]

    def _fill_list(self, select: str | None = None) -> None:
        self.account_list.blockSignals(True)
        self.account_list.clear()
        for account in self.settings.accounts:
            sandbox = ", sandbox" if account.sandbox else ""
            item = QListWidgetItem(f"{account.name}\n    {account.exchange}{sandbox}")
            item.setData(Qt.ItemDataRole.UserRole, account.name)
            self.account_list.addItem(item)
            if account.name == select:
                self.account_list.setCurrentItem(item)
        self.account_list.blockSignals(False)
        self.remove_button.setEnabled(select is not None)

    def _account_selected(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        account = self.settings.account(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None
        if account is None:
            return
        self.editing = account.name
        self.name.setText(account.name)
        self.name.setReadOnly(True)  # its keys are filed under its name
        self.name.setStyleSheet(f"color: {self.theme.muted};")
        self.name.setToolTip(
            "An account keeps its name (its keys are filed under it). To rename, add a new one."
        )
        self._set_exchange_text(account.exchange)
        self.sandbox.setChecked(account.sandbox)
        self.rest_url.setText(account.rest_url or "")
        self.ws_url.setText(account.ws_url or "")
        self._clear_errors()
        self._set_status("")
        self.remove_button.setEnabled(True)
        self._exchange_changed()
        self._show_keys()
        self._refresh_endpoints()

    def new_account(self) -> None:
        """Clear the form for a new account."""
        self.account_list.blockSignals(True)
        self.account_list.setCurrentRow(-1)
        self.account_list.blockSignals(False)
        self.editing = None
        self.name.setReadOnly(False)
        self.name.setStyleSheet("")
        self.name.setToolTip("")
        for edit in (self.name, self.rest_url, self.ws_url):
            edit.clear()
        self._set_exchange_text("")
        self.sandbox.setChecked(False)
        self._clear_errors()
        self._set_status("New account: fill in the fields and save it.")
        self.remove_button.setEnabled(False)
        self._show_keys()
        self.tabs.setCurrentIndex(0)
        self.name.setFocus()
        self._refresh_endpoints()

    def _show_keys(self) -> None:
        account = self.settings.account(self.editing) if self.editing else None
        self.keys.set_account(account, self.catalogue.get(account.exchange) if account else None)

    def _set_exchange_text(self, exchange_id: str) -> None:
        index = self.exchange.findData(exchange_id) if exchange_id else -1
        if index >= 0:
            self.exchange.setCurrentIndex(index)
        else:
            self.exchange.setCurrentIndex(-1)
            self.exchange.setEditText(exchange_id)

    def exchange_id(self) -> str | None:
        """The exchange chosen or typed: a ccxt id, or None if ccxt has no such exchange."""
        text = self.exchange.currentText().strip()
        index = self.exchange.findText(text, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            return str(self.exchange.itemData(index))
        candidate = text.split(" — ")[0].strip().lower()
        return candidate if candidate in self.catalogue else None

    def _exchange_changed(self, *_: object) -> None:
        info = self.catalogue.get(self.exchange_id() or "")
        self.sandbox.setEnabled(info is not None and info.has_sandbox)
        if info is not None and not info.has_sandbox:
            self.sandbox.setChecked(False)
            self.sandbox.setToolTip(f"ccxt has no sandbox (testnet) for {info.name}.")
        else:
            self.sandbox.setToolTip("")
        self._endpoint_timer.start()

    def _draft(self, show_errors: bool) -> AccountSettings | None:
        """The account the form describes, validated as the config file is; None if it does not validate."""
        errors: dict[str, str] = {}
        name = self.name.text().strip()
        exchange_id = self.exchange_id()
        if exchange_id is None:
            text = self.exchange.currentText().strip()
            if not self.catalogue:
                errors["exchange"] = "The list of exchanges is still loading."
            elif text:
                errors["exchange"] = f"ccxt has no exchange called '{text}'; pick one from the list."
            else:
                errors["exchange"] = "Pick an exchange from the list (type to search)."
        if self.editing is None and self.settings.account(name) is not None:
            errors["name"] = f"There is already an account called '{name}'."
        account: AccountSettings | None = None
        previous = self.settings.account(self.editing) if self.editing else None
        try:
            account = AccountSettings(
                name=name,
                exchange=exchange_id or "unknown",
                sandbox=self.sandbox.isChecked() and self.sandbox.isEnabled(),
                rest_url=self.rest_url.text().strip() or None,
                ws_url=self.ws_url.text().strip() or None,
                options=dict(previous.options) if previous is not None else {},  # kept: not edited here
            )
        except ValidationError as exc:
            for field, message in field_errors(exc).items():
                errors.setdefault(field, message)
        if show_errors:
            self._clear_errors()
            for field, message in errors.items():
                self._show_error(field, message)
        return None if errors else account

    def _clear_errors(self) -> None:
        self.errors.clear()

    def _show_error(self, field: str, message: str) -> None:
        if not self.errors.show(field, message):
            self._set_status(message, error=True)

    def field_error(self, field: str) -> str:
        """The error shown under ``field`` ("" if none)."""
        return self.errors.text(field)

    # -- saving and removing -------------------------------------------------------------------------
    def save_account(self) -> bool:
        """Validate the form and write the account to the config file; False if it was refused."""
        account = self._draft(show_errors=True)
        if account is None:
            self._set_status("Not saved: fix the fields marked in red.", error=True)
            return False
        was_new = self.editing is None
        accounts = list(self.settings.accounts)
        if was_new:
            accounts.append(account)
        else:
            accounts = [account if a.name == self.editing else a for a in accounts]
        try:
            self.settings.accounts = accounts
        except ValidationError as exc:
            self._set_status(f"Not saved: {'; '.join(field_errors(exc).values())}", error=True)
            return False
        self._fill_list(select=account.name)
        self._account_selected(self.account_list.currentItem())
        note = ""
        if not was_new and self.on_screen() == account.name:
            note = " The market on screen keeps its connection until you open it again (File → Open market…)."
        self._write_config(f"Account '{account.name}' saved.{note}")
        if was_new:
            self.keys.set_status("Now add its API keys (only needed for balances and trading).")
        return True

    def confirm_remove_account(self) -> None:
        name = self.editing
        if name is None:
            return
        if self.on_screen() == name:
            self._set_status(
                f"'{name}' is the market on screen: open another one first (File → Open market…).", error=True
            )
            return
        text = f"Remove account '{name}'? Its keys are removed from the keyring too."
        self.confirm_box = ask_to_remove(
            self, "Remove account", text, lambda yes: self._removal_answered(yes, name)
        )

    def _removal_answered(self, yes: bool, name: str) -> None:
        self.confirm_box = None
        if yes:
            self.remove_account(name)

    def remove_account(self, name: str) -> None:
        """Drop the account from the config file, and its keys from the keyring."""
        self.settings.accounts = [a for a in self.settings.accounts if a.name != name]
        self._fill_list()
        self._write_config(f"Account '{name}' removed.")
        self._spawn(self._forget_keys(name))
        if self.settings.accounts:
            self.account_list.setCurrentRow(0)
        else:
            self.new_account()

    async def _forget_keys(self, name: str) -> None:
        problem = await self.keys.forget(name)
        if problem:
            self._set_status(f"Account '{name}' removed, but not its keys: {problem}", error=True)

    def _write_config(self, done: str) -> None:
        self.config.announce("accounts")  # every window's pickers and live menus follow
        try:
            saved = self.config.save()
        except OSError as exc:
            self._set_status(f"Could not write {self.config.path}: {exc}", error=True)
            return
        if saved:
            self._set_status(f"{done} Written to {self.config.path}.")
        else:
            self._set_status(
                f"{done} For this session only: the config file is left as it is, "
                f"because {self.config.problem}",
                error=True,
            )

    def _set_status(self, text: str, error: bool = False) -> None:
        self.account_status.setText(text)
        self.account_status.setStyleSheet(f"color: {self.theme.down};" if error else "")

    # -- endpoints -----------------------------------------------------------------------------------
    def _refresh_endpoints(self) -> None:
        self._endpoint_timer.stop()
        self._tasks.cancel("endpoints")  # the newest draft wins
        account = self._draft(show_errors=False)
        if account is None:
            self.endpoints.show_message("Complete the account's fields to see the addresses it will use.")
            return
        self.endpoints.summary.setText(f"Making {account.exchange}'s addresses…")
        self._spawn(self._load_endpoints(account), key="endpoints")

    async def _load_endpoints(self, account: AccountSettings) -> None:
        try:
            endpoints = await asyncio.to_thread(account_endpoints, account)
        except TerminalError as exc:
            self.endpoints.show_message(f"Cannot list the addresses: {exc.user_message()}")
            return
        rewritten = sum(e.was is not None for e in endpoints)
        sandbox = " (sandbox)" if account.sandbox else ""
        self.endpoints.show_endpoints(
            endpoints,
            f"{len(endpoints)} addresses {account.exchange}{sandbox} will use; "
            f"{rewritten} rewritten by this account's addresses (highlighted). "
            f"{await self._where_keys_go(account)}",
        )

    @staticmethod
    async def _where_keys_go(account: AccountSettings) -> str:
        """Where the account's keys would go, said before anything is sent."""
        try:
            destinations = await asyncio.to_thread(account_key_destinations, account)
        except TerminalError as exc:
            return f"Its API keys will not be sent: {exc.user_message()}"
        if not destinations.foreign:
            return f"Its API keys go to {destinations.summary()} only."
        return (
            f"Its API keys would go to {destinations.summary()}: "
            "Test and Trade live ask before sending them there."
        )
