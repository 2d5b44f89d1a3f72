"""Accounts and keys (File → Accounts and keys…): exchange accounts in the
config file, their endpoints, and their API keys in the OS keyring.

What blocks runs off the GUI thread: importing ccxt and making exchanges
(half a second the first time), and every keyring call (a D-Bus round trip,
perhaps an unlock prompt) go through ``asyncio.to_thread``. The Test button's
request is async I/O on the event loop. Keys go from the fields straight to
the keyring; the fields are cleared afterwards and nothing here logs them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.config import AccountSettings, ConfigStore
from terminal.credentials import ApiKey, CredentialError, CredentialStore, KeyringUnavailableError
from terminal.errors import ExchangeError, NotSupportedError, TerminalError, describe
from terminal.market.ccxt_errors import translate
from terminal.market.endpoints import api_urls, override_urls
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

NAME_RULE = "Use 1 to 40 letters, digits, dots, dashes or underscores (no spaces)."
FIELDS = ("name", "exchange", "rest_url", "ws_url")


# -- what the dialog asks of ccxt and the keyring (Qt-free) -----------------------------------------
@dataclass(frozen=True)
class ExchangeInfo:
    id: str
    name: str
    has_sandbox: bool  # ccxt has a testnet for it (urls["test"])
    needs_password: bool  # its API keys come with a password (passphrase)

    @property
    def label(self) -> str:
        return f"{self.id} — {self.name}"


@functools.cache
def exchange_catalogue() -> dict[str, ExchangeInfo]:
    """Every exchange ccxt knows, by id. Blocks (imports ccxt, makes each class once): call in a thread."""
    import ccxt.async_support as ccxt_rest
    import ccxt.pro as ccxt_pro

    found: dict[str, ExchangeInfo] = {}
    for exchange_id in ccxt_rest.exchanges:
        cls = getattr(ccxt_pro, exchange_id, None) or getattr(ccxt_rest, exchange_id)
        exchange = cls()  # offline: no session is opened until a request
        found[exchange_id] = ExchangeInfo(
            exchange_id,
            str(exchange.name or exchange_id),
            bool((exchange.urls or {}).get("test")),
            bool((exchange.requiredCredentials or {}).get("password")),
        )
    return found


@dataclass(frozen=True)
class Endpoint:
    where: str  # "api.public", "api.ws.spot", ...
    url: str
    was: str | None  # the exchange's own address, when the account rewrites it


def _ccxt_source(account: AccountSettings, key: ApiKey | None = None) -> Any:
    """A CcxtSource for ``account`` (blocks: call in a thread). Opens no connection."""
    from terminal.market.ccxt_source import CcxtSource, Credentials

    return CcxtSource(
        account.exchange,
        sandbox=account.sandbox,
        rest_url=account.rest_url,
        ws_url=account.ws_url,
        # ApiKey is frozen; the Credentials protocol declares plain (writable) attributes.
        credentials=cast(Credentials | None, key),
        options=account.options,
    )


def account_endpoints(account: AccountSettings) -> list[Endpoint]:
    """Every API address ``account`` will use, as the real ccxt class makes them, offline.

    Made as CcxtSource makes them (sandbox first, then the overrides), without
    a CcxtSource, which would log every rewrite each time the form changes.
    Blocks (imports ccxt): call in a thread.
    """
    import ccxt
    import ccxt.async_support as ccxt_rest
    import ccxt.pro as ccxt_pro

    cls = getattr(ccxt_pro, account.exchange, None) or getattr(ccxt_rest, account.exchange, None)
    if cls is None or account.exchange not in ccxt_rest.exchanges:
        raise NotSupportedError(f"ccxt does not know an exchange called '{account.exchange}'.")
    exchange = cls({"options": dict(account.options)})  # no session is opened until a request
    error: Exception | None = None
    try:
        if account.sandbox:
            exchange.set_sandbox_mode(True)
    except ccxt.BaseError as exc:
        error = translate(exc, str(exchange.name))
    if error is not None:
        raise error
    rewritten = {r.where: r.old for r in override_urls(exchange.urls, account.rest_url, account.ws_url)}
    shown = exchange.implode_hostname  # "https://{hostname}" → the host the exchange will use
    # Only urls["api"] is used for requests; "test"/"demo" are sets that sandbox mode copies there.
    return [
        Endpoint(where, shown(url), shown(rewritten[where]) if where in rewritten else None)
        for where, url in api_urls(exchange.urls)
        if where.startswith("api.")
    ]


async def check_keys(account: AccountSettings, store: CredentialStore) -> str:
    """Read the account's keys from the keyring and make one private call (fetch_balance) with them.

    Returns what to tell the user; raises a TerminalError in plain words.
    """
    key = await asyncio.to_thread(store.load, account.name)
    if key is None:
        raise CredentialError(
            f"No keys are stored for account '{account.name}'.", hint="Enter them and save them first."
        )
    source = await asyncio.to_thread(_ccxt_source, account, key)  # imports ccxt, off the GUI thread
    import ccxt

    try:
        try:
            balance = await source.exchange.fetch_balance()
        except ccxt.BaseError as exc:
            error: Exception | None = translate(
                exc, source.name, (key.api_key, key.secret, key.password or "")
            )
        else:
            error = None
    finally:
        await source.close()
    if error is not None:  # raised here, outside the except: the ccxt error (signed URL) is not chained
        if isinstance(error, ExchangeError) and error.transient:
            error.hint = "Check the account's addresses and the network, then test again."
        raise error
    total = balance.get("total") or {}
    held = sum(1 for amount in total.values() if amount)
    return f"Keys work: {held} asset{'' if held == 1 else 's'}."


def keyring_status(store: CredentialStore) -> tuple[bool, str]:
    """Whether keys can be kept, and which keyring does it or what to install or unlock. Blocks."""
    try:
        store.check()
    except KeyringUnavailableError as exc:
        return False, exc.user_message()
    return True, f"Keys are kept in the operating system's keyring: {store.backend_description()}."


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints about an account, by field, in plain words."""
    found: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if field == "name" and item["type"] == "string_pattern_mismatch":
            message = NAME_RULE
        found.setdefault(field, message)
    return found


# -- the dialog ------------------------------------------------------------------------------------
class AccountsDialog(QDialog):
    def __init__(
        self,
        config: ConfigStore,
        credentials: CredentialStore,
        theme: Theme = DARK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Accounts and keys")
        self.resize(900, 580)
        self.config = config
        self.settings = config.settings
        self.credentials = credentials
        self.theme = theme
        self.catalogue: dict[str, ExchangeInfo] = {}
        self.keyring_ok: bool | None = None  # None while it is being looked at
        self.editing: str | None = None  # the saved account in the form; None = a new one
        self.endpoints: list[Endpoint] = []
        self.confirm_box: QMessageBox | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._endpoint_task: asyncio.Task[None] | None = None
        self._busy = False

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

        # Right: the selected account, its endpoints, its keys.
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self._account_page(), "Account")
        self.tabs.addTab(self._endpoints_page(), "Endpoints")
        self.tabs.addTab(self._keys_page(), "API keys")

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
        self._endpoint_timer.setInterval(250)
        self._endpoint_timer.timeout.connect(self._refresh_endpoints)

        self.account_list.currentItemChanged.connect(self._account_selected)
        self.add_button.clicked.connect(self.new_account)
        self.remove_button.clicked.connect(self.confirm_remove_account)
        self.save_button.clicked.connect(self.save_account)
        self.exchange.currentTextChanged.connect(self._exchange_changed)
        for edit in (self.name, self.rest_url, self.ws_url):
            edit.textChanged.connect(self._endpoint_timer.start)
        self.sandbox.toggled.connect(self._endpoint_timer.start)
        self.save_keys_button.clicked.connect(self.save_keys)
        self.remove_keys_button.clicked.connect(self.remove_keys)
        self.test_button.clicked.connect(self.test_keys)

        self._fill_list()
        self._spawn(self._load_catalogue())
        self._spawn(self._check_keyring())
        if self.settings.accounts:
            self.account_list.setCurrentRow(0)
        else:
            self.new_account()

    # -- building ----------------------------------------------------------------------------------
    def _error_label(self) -> QLabel:
        label = QLabel(self)
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {self.theme.down};")
        label.hide()
        return label

    def _with_error(self, field: QWidget, error: QLabel) -> QWidget:
        box = QWidget(self)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(error)
        return box

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
        completer = QCompleter(self.exchange.model(), self.exchange)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.exchange.setCompleter(completer)
        self.sandbox = QCheckBox("Use the exchange's sandbox (testnet)", page)
        self.rest_url = QLineEdit(page)
        self.rest_url.setPlaceholderText("the exchange's own; or e.g. https://proxy.example:8443/binance")
        self.ws_url = QLineEdit(page)
        self.ws_url.setPlaceholderText("the exchange's own; or e.g. wss://proxy.example:8443/stream")
        self.errors = {field: self._error_label() for field in FIELDS}
        self.save_button = QPushButton("Save account", page)
        self.account_status = QLabel(page)
        self.account_status.setWordWrap(True)
        self.account_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow("Name", self._with_error(self.name, self.errors["name"]))
        form.addRow("Exchange", self._with_error(self.exchange, self.errors["exchange"]))
        form.addRow("", self.sandbox)
        form.addRow("REST base URL", self._with_error(self.rest_url, self.errors["rest_url"]))
        form.addRow("Websocket base URL", self._with_error(self.ws_url, self.errors["ws_url"]))
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

    def _endpoints_page(self) -> QWidget:
        page = QWidget(self)
        self.endpoint_summary = QLabel(page)
        self.endpoint_summary.setWordWrap(True)
        self.endpoint_table = QTableWidget(0, 3, page)
        self.endpoint_table.setHorizontalHeaderLabels(["API", "Address", "Instead of"])
        self.endpoint_table.verticalHeader().hide()
        self.endpoint_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.endpoint_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.endpoint_table.setWordWrap(False)
        self.endpoint_table.verticalHeader().setDefaultSectionSize(22)
        header = self.endpoint_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 170)
        header.resizeSection(1, 280)
        layout = QVBoxLayout(page)
        layout.addWidget(self.endpoint_summary)
        layout.addWidget(self.endpoint_table, 1)
        return page

    def _keys_page(self) -> QWidget:
        page = QWidget(self)
        self.keyring_label = QLabel("Looking for the keyring…", page)
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keys_for = QLabel(page)
        self.keys_for.setWordWrap(True)
        self.api_key = QLineEdit(page)
        self.api_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.secret = QLineEdit(page)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.password = QLineEdit(page)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        for edit in (self.api_key, self.secret, self.password):
            edit.setPlaceholderText("paste from the exchange's API page")
        self.save_keys_button = QPushButton("Save to keyring", page)
        self.remove_keys_button = QPushButton("Remove from keyring", page)
        self.test_button = QPushButton("Test", page)
        self.test_button.setToolTip("Read the keys from the keyring and ask the exchange for the balance")
        self.keys_status = QLabel(page)
        self.keys_status.setWordWrap(True)
        self.keys_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.keys_form = QFormLayout()
        self.keys_form.addRow("API key", self.api_key)
        self.keys_form.addRow("Secret", self.secret)
        self.keys_form.addRow("Password", self.password)
        row = QHBoxLayout()
        for button in (self.save_keys_button, self.remove_keys_button, self.test_button):
            row.addWidget(button)
        row.addStretch(1)
        note = QLabel(
            "Keys go to the keyring only: never to the config file or the log. "
            "The fields are cleared once the keys are saved.",
            page,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {self.theme.muted};")
        layout = QVBoxLayout(page)
        layout.addWidget(self.keyring_label)
        layout.addWidget(self.keys_for)
        layout.addLayout(self.keys_form)
        layout.addLayout(row)
        layout.addWidget(self.keys_status)
        layout.addWidget(note)
        layout.addStretch(1)
        return page

    # -- background work ---------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        assert exc is not None
        log.error("Accounts dialog: %s", describe(exc), exc_info=exc)
        self._set_keys_status(f"Something went wrong: {describe(exc)}", error=True)

    def done(self, result: int) -> None:
        for task in list(self._tasks):
            task.cancel()
        super().done(result)

    async def shutdown(self) -> None:
        """Cancel what is under way and wait until it has let go (sources closed)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def busy(self) -> bool:
        """Work is under way (the exchange list, the keyring, endpoints, a test)."""
        return bool(self._tasks) or self._endpoint_timer.isActive()

    async def _load_catalogue(self) -> None:
        try:
            catalogue = await asyncio.to_thread(exchange_catalogue)
        except ImportError as exc:
            self._show_error("exchange", f"ccxt cannot be loaded ({exc}); reinstall the terminal.")
            return
        self.catalogue = catalogue
        text = self.exchange.currentText()
        self.exchange.blockSignals(True)
        for info in sorted(catalogue.values(), key=lambda i: i.id):
            self.exchange.addItem(info.label, info.id)
        self.exchange.blockSignals(False)
        self.exchange_edit.setPlaceholderText("type to search ccxt's exchanges, e.g. binance")
        self.exchange.setEnabled(True)
        self._set_exchange_text(text)
        self._exchange_changed()
        self._update_password_row()

    async def _check_keyring(self) -> None:
        ok, text = await asyncio.to_thread(keyring_status, self.credentials)
        self.keyring_ok = ok
        self.keyring_label.setText(text)
        self.keyring_label.setStyleSheet("" if ok else f"color: {self.theme.down}; font-weight: bold;")
        self._update_key_buttons()
        if ok:
            self._refresh_key_state()

    # -- the account list and form -----------------------------------------------------------------
    def account_names(self) -> list[str]:
        return [
            self.account_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.account_list.count())
        ]

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
        self.name.setReadOnly(True)
        self.name.setStyleSheet(f"color: {self.theme.muted};")
        self.name.setToolTip(
            "An account keeps its name (its keys are filed under it). To rename, add a new one."
        )
        self._set_exchange_text(account.exchange)
        self.sandbox.setChecked(account.sandbox)
        self.rest_url.setText(account.rest_url or "")
        self.ws_url.setText(account.ws_url or "")
        self._clear_errors()
        self._set_status(self.account_status, "")
        self.remove_button.setEnabled(True)
        self._clear_key_fields()
        self._set_keys_status("")
        self._exchange_changed()
        self._show_keys_for(account)
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
        self._set_status(self.account_status, "New account: fill in the fields and save it.")
        self.remove_button.setEnabled(False)
        self._show_keys_for(None)
        self.tabs.setCurrentIndex(0)
        self.name.setFocus()
        self._refresh_endpoints()

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
        if candidate in self.catalogue:
            return candidate
        return None

    def _exchange_changed(self, *_: object) -> None:
        exchange_id = self.exchange_id()
        info = self.catalogue.get(exchange_id or "")
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
            else:
                errors["exchange"] = (
                    f"ccxt has no exchange called '{text}'; pick one from the list."
                    if text
                    else "Pick an exchange from the list (type to search)."
                )
        if self.editing is None and self.settings.account(name) is not None:
            errors["name"] = f"There is already an account called '{name}'."
        account: AccountSettings | None = None
        try:
            previous = self.settings.account(self.editing) if self.editing else None
            account = AccountSettings(
                name=name,
                exchange=exchange_id or "unknown",
                sandbox=self.sandbox.isChecked() and self.sandbox.isEnabled(),
                rest_url=self.rest_url.text().strip() or None,
                ws_url=self.ws_url.text().strip() or None,
                options=dict(previous.options) if previous is not None else {},
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
        for label in self.errors.values():
            label.clear()
            label.hide()

    def _show_error(self, field: str, message: str) -> None:
        label = self.errors.get(field)
        if label is None:
            self._set_status(self.account_status, message, error=True)
            return
        label.setText(message)
        label.show()

    def field_error(self, field: str) -> str:
        """The error shown under ``field`` ("" if none)."""
        label = self.errors[field]
        return "" if label.isHidden() else label.text()

    def save_account(self) -> bool:
        """Validate the form and write the account to the config file; False if it was refused."""
        account = self._draft(show_errors=True)
        if account is None:
            self._set_status(self.account_status, "Not saved: fix the fields marked in red.", error=True)
            return False
        accounts = list(self.settings.accounts)
        if self.editing is None:
            accounts.append(account)
        else:
            accounts = [account if a.name == self.editing else a for a in accounts]
        try:
            self.settings.accounts = accounts
        except ValidationError as exc:
            self._set_status(self.account_status, f"Not saved: {'; '.join(field_errors(exc).values())}", True)
            return False
        was_new = self.editing is None
        self._fill_list(select=account.name)
        self._account_selected(self.account_list.currentItem())
        on_screen = self.settings.market.exchange == account.name
        note = (
            " The market on screen keeps its connection until you open it again (File → Open market…)."
            if on_screen and not was_new
            else ""
        )
        self._write_config(f"Account '{account.name}' saved.{note}")
        if was_new:
            self._set_keys_status("Now add its API keys (only needed for balances and trading).")
        return True

    def confirm_remove_account(self) -> None:
        name = self.editing
        if name is None:
            return
        if self.settings.market.exchange == name:
            self._set_status(
                self.account_status,
                f"'{name}' is the market on screen: open another one first (File → Open market…).",
                error=True,
            )
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove account",
            f"Remove account '{name}'? Its keys are removed from the keyring too.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _result: self._removal_answered(box, remove, name))
        self.confirm_box = box
        box.open()

    def _removal_answered(self, box: QMessageBox, remove: QPushButton, name: str) -> None:
        self.confirm_box = None
        box.deleteLater()
        if box.clickedButton() is remove:
            self.remove_account(name)

    def remove_account(self, name: str) -> None:
        """Drop the account from the config file, and its keys from the keyring."""
        self.settings.accounts = [a for a in self.settings.accounts if a.name != name]
        self._fill_list()
        self._write_config(f"Account '{name}' removed.")
        if self.keyring_ok:
            self._spawn(self._forget_keys(name))
        if self.settings.accounts:
            self.account_list.setCurrentRow(0)
        else:
            self.new_account()

    async def _forget_keys(self, name: str) -> None:
        try:
            removed = await asyncio.to_thread(self.credentials.delete, name)
        except TerminalError as exc:
            self._set_status(
                self.account_status, f"Its keys could not be removed: {exc.user_message()}", True
            )
            return
        if removed:
            log.info("Keys of removed account %s deleted from the keyring", name)

    def _write_config(self, done: str) -> None:
        try:
            saved = self.config.save()
        except OSError as exc:
            self._set_status(self.account_status, f"Could not write {self.config.path}: {exc}", error=True)
            return
        if saved:
            self._set_status(self.account_status, f"{done} Written to {self.config.path}.")
        else:
            self._set_status(
                self.account_status,
                f"{done} For this session only: the config file is left as it is, "
                f"because {self.config.problem}",
                error=True,
            )

    # -- endpoints -----------------------------------------------------------------------------------
    def endpoint_rows(self) -> list[tuple[str, str, bool]]:
        """(api, address, rewritten) as listed."""
        return [(e.where, e.url, e.was is not None) for e in self.endpoints]

    def _refresh_endpoints(self) -> None:
        self._endpoint_timer.stop()
        if self._endpoint_task is not None and not self._endpoint_task.done():
            self._endpoint_task.cancel()
        account = self._draft(show_errors=False)
        if account is None:
            self._show_endpoints([], "Complete the account's fields to see the addresses it will use.")
            return
        self.endpoint_summary.setText(f"Making {account.exchange}'s addresses…")
        self._endpoint_task = self._spawn(self._load_endpoints(account))

    async def _load_endpoints(self, account: AccountSettings) -> None:
        try:
            endpoints = await asyncio.to_thread(account_endpoints, account)
        except TerminalError as exc:
            self._show_endpoints([], f"Cannot list the addresses: {exc.user_message()}")
            return
        rewritten = sum(e.was is not None for e in endpoints)
        sandbox = " (sandbox)" if account.sandbox else ""
        summary = (
            f"{len(endpoints)} addresses {account.exchange}{sandbox} will use; "
            f"{rewritten} rewritten by this account's addresses (highlighted)."
        )
        self._show_endpoints(endpoints, summary)

    def _show_endpoints(self, endpoints: list[Endpoint], summary: str) -> None:
        self.endpoints = endpoints
        self.endpoint_summary.setText(summary)
        table = self.endpoint_table
        table.setRowCount(len(endpoints))
        bold = QFont(table.font())
        bold.setBold(True)
        for row, endpoint in enumerate(endpoints):
            cells = (endpoint.where, endpoint.url, endpoint.was or "")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if endpoint.was is not None and col < 2:
                    item.setFont(bold)
                    item.setForeground(QColor(self.theme.accent if col == 1 else self.theme.text))
                elif col == 2:
                    item.setForeground(QColor(self.theme.muted))
                table.setItem(row, col, item)

    # -- keys ----------------------------------------------------------------------------------------
    def _update_password_row(self) -> None:
        """The password (passphrase) field only for exchanges whose keys have one."""
        account = self.settings.account(self.editing) if self.editing else None
        info = self.catalogue.get(account.exchange) if account is not None else None
        needs_password = info is not None and info.needs_password
        self.keys_form.setRowVisible(self.password, needs_password)
        if not needs_password:
            self.password.clear()

    def password_shown(self) -> bool:
        return not self.password.isHidden()

    def _show_keys_for(self, account: AccountSettings | None) -> None:
        self._update_password_row()
        if account is None:
            self.keys_for.setText("Save the account first; then its API keys can be added here.")
        else:
            self.keys_for.setText(f"API keys of account '{account.name}' ({account.exchange}):")
        self._update_key_buttons()
        if account is not None and self.keyring_ok:
            self._refresh_key_state()

    def _update_key_buttons(self) -> None:
        usable = bool(self.keyring_ok) and self.editing is not None and not self._busy
        for widget in (self.save_keys_button, self.remove_keys_button, self.test_button):
            widget.setEnabled(usable)
        for edit in (self.api_key, self.secret, self.password):
            edit.setEnabled(bool(self.keyring_ok) and self.editing is not None)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_key_buttons()

    def _refresh_key_state(self) -> None:
        if self.editing is not None:
            self._spawn(self._look_up_keys(self.editing))

    async def _look_up_keys(self, name: str) -> None:
        try:
            stored = await asyncio.to_thread(self.credentials.has_key, name)
        except TerminalError as exc:
            self._set_keys_status(exc.user_message(), error=True)
            return
        if name == self.editing and not self.keys_status.text():
            self._set_keys_status("Keys are stored in the keyring." if stored else "No keys stored yet.")

    def _clear_key_fields(self) -> None:
        for edit in (self.api_key, self.secret, self.password):
            edit.clear()

    def save_keys(self) -> None:
        name = self.editing
        if name is None:
            return
        try:
            key = ApiKey(
                self.api_key.text().strip(), self.secret.text().strip(), self.password.text().strip() or None
            )
        except CredentialError as exc:
            self._set_keys_status(exc.user_message(), error=True)
            return
        self._set_busy(True)
        self._set_keys_status("Saving to the keyring… (it may ask you to unlock it)")
        self._spawn(self._save_keys(name, key))

    async def _save_keys(self, name: str, key: ApiKey) -> None:
        try:
            await asyncio.to_thread(self.credentials.save, name, key)
        except TerminalError as exc:
            self._set_keys_status(exc.user_message(), error=True)
            return
        finally:
            self._set_busy(False)
        self._clear_key_fields()
        log.info("Keys of account %s saved to the keyring", name)
        self._set_keys_status(f"Keys saved in the keyring (API key {key.masked_api_key()}). Test them?")

    def remove_keys(self) -> None:
        if self.editing is None:
            return
        self._set_busy(True)
        self._set_keys_status("Removing from the keyring…")
        self._spawn(self._remove_keys(self.editing))

    async def _remove_keys(self, name: str) -> None:
        try:
            removed = await asyncio.to_thread(self.credentials.delete, name)
        except TerminalError as exc:
            self._set_keys_status(exc.user_message(), error=True)
            return
        finally:
            self._set_busy(False)
        self._clear_key_fields()
        if removed:
            log.info("Keys of account %s removed from the keyring", name)
        self._set_keys_status(
            "Keys removed from the keyring." if removed else "There were no keys to remove."
        )

    def test_keys(self) -> None:
        account = self.settings.account(self.editing or "")
        if account is None:
            return
        self._set_busy(True)
        self._set_keys_status(f"Testing: reading the keys and asking {account.exchange} for the balance…")
        self._spawn(self._test_keys(account))

    async def _test_keys(self, account: AccountSettings) -> None:
        try:
            result = await check_keys(account, self.credentials)
        except TerminalError as exc:
            self._set_keys_status(f"The test failed. {exc.user_message()}", error=True)
            return
        finally:
            self._set_busy(False)
        self._set_keys_status(result)

    # -- messages ------------------------------------------------------------------------------------
    def _set_status(self, label: QLabel, text: str, error: bool = False) -> None:
        label.setText(text)
        label.setStyleSheet(f"color: {self.theme.down};" if error else "")

    def _set_keys_status(self, text: str, error: bool = False) -> None:
        self._set_status(self.keys_status, text, error)
