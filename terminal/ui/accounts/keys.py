"""The API keys page of the accounts dialog: one account's keys into and out of
the OS keyring, and a test that they work.

Every keyring call blocks (a D-Bus round trip, perhaps an unlock prompt): each
runs in a worker thread. Keys go from the fields straight to the keyring; the
fields are cleared once they are saved, and nothing here logs a key. The test
sends them only where the user agreed (``key_confirmation``): the exchange's
own hosts, or another one the user was asked about by name.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from terminal.config import AccountSettings
from terminal.credentials import ApiKey, CredentialError, CredentialStore, KeyringUnavailableError
from terminal.errors import TerminalError, describe
from terminal.market.accounts import ExchangeInfo, check_keys
from terminal.ui.accounts.key_confirmation import KeysNotSentError, approve_key_destinations
from terminal.ui.theme import DARK, Theme

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


def keyring_status(store: CredentialStore) -> tuple[bool, str]:
    """Whether keys can be kept, and which keyring keeps them or what to install or unlock. Blocks."""
    try:
        store.check()
    except KeyringUnavailableError as exc:
        return False, exc.user_message()
    return True, f"Keys are kept in the operating system's keyring: {store.backend_description()}."


class KeysPanel(QWidget):
    """API key, secret and (where the exchange wants one) password of one saved account."""

    def __init__(
        self, credentials: CredentialStore, spawn: Spawn, theme: Theme = DARK, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.credentials = credentials
        self.theme = theme
        self._spawn = spawn
        self.keyring_ok: bool | None = None  # None while it is being looked at
        self.account: AccountSettings | None = None
        self._busy = False

        self.keyring_label = QLabel("Looking for the keyring…", self)
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keys_for = QLabel(self)
        self.keys_for.setWordWrap(True)
        self.api_key = QLineEdit(self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.secret = QLineEdit(self)
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        for edit in (self.api_key, self.secret, self.password):
            edit.setPlaceholderText("paste from the exchange's API page")
        self.save_button = QPushButton("Save to keyring", self)
        self.remove_button = QPushButton("Remove from keyring", self)
        self.test_button = QPushButton("Test", self)
        self.test_button.setToolTip("Read the keys from the keyring and ask the exchange for the balance")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.form = QFormLayout()
        self.form.addRow("API key", self.api_key)
        self.form.addRow("Secret", self.secret)
        self.form.addRow("Password", self.password)
        row = QHBoxLayout()
        for button in (self.save_button, self.remove_button, self.test_button):
            row.addWidget(button)
        row.addStretch(1)
        note = QLabel(
            "Keys go to the keyring only: never to the config file or the log. "
            "The fields are cleared once the keys are saved.",
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        layout = QVBoxLayout(self)
        layout.addWidget(self.keyring_label)
        layout.addWidget(self.keys_for)
        layout.addLayout(self.form)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(note)
        layout.addStretch(1)

        self.save_button.clicked.connect(self.save_keys)
        self.remove_button.clicked.connect(self.remove_keys)
        self.test_button.clicked.connect(self.test_keys)
        self.set_account(None, None)

    # -- state ---------------------------------------------------------------------------------------
    async def check_keyring(self) -> None:
        ok, text = await asyncio.to_thread(keyring_status, self.credentials)
        self.keyring_ok = ok
        self.keyring_label.setText(text)
        self.keyring_label.setStyleSheet("" if ok else f"color: {self.theme.down}; font-weight: bold;")
        self._update_buttons()
        self._look_up()

    def set_account(self, account: AccountSettings | None, info: ExchangeInfo | None) -> None:
        """Show the keys of ``account`` (a saved one; None: none chosen yet)."""
        changed = account is None or self.account is None or account.name != self.account.name
        self.account = account
        needs_password = info is not None and info.needs_password
        self.form.setRowVisible(self.password, needs_password)
        if changed or not needs_password:
            self.clear_fields()
        if account is None:
            self.keys_for.setText("Save the account first; then its API keys can be added here.")
        else:
            self.keys_for.setText(f"API keys of account '{account.name}' ({account.exchange}):")
        self._update_buttons()
        if changed:
            self.set_status("")
            self._look_up()

    def password_shown(self) -> bool:
        return not self.password.isHidden()

    def clear_fields(self) -> None:
        for edit in (self.api_key, self.secret, self.password):
            edit.clear()

    def _update_buttons(self) -> None:
        usable = bool(self.keyring_ok) and self.account is not None
        for button in (self.save_button, self.remove_button, self.test_button):
            button.setEnabled(usable and not self._busy)
        for edit in (self.api_key, self.secret, self.password):
            edit.setEnabled(usable)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def set_status(self, text: str, error: bool = False, detail: str = "") -> None:
        self.status.setText(text)
        self.status.setToolTip(detail)
        self.status.setStyleSheet(f"color: {self.theme.down};" if error else "")

    def _look_up(self) -> None:
        if self.keyring_ok and self.account is not None:
            self._spawn(self._look_up_keys(self.account.name))

    async def _look_up_keys(self, name: str) -> None:
        try:
            stored = await asyncio.to_thread(self.credentials.has_key, name)
        except TerminalError as exc:
            self.set_status(exc.user_message(), error=True)
            return
        if self.account is not None and name == self.account.name and not self.status.text():
            self.set_status("Keys are stored in the keyring." if stored else "No keys stored yet.")

    # -- actions -------------------------------------------------------------------------------------
    def save_keys(self) -> None:
        if self.account is None:
            return
        password = self.password.text().strip() or None
        try:
            key = ApiKey(self.api_key.text().strip(), self.secret.text().strip(), password)
        except CredentialError as exc:
            self.set_status(exc.user_message(), error=True)
            return
        self._set_busy(True)
        self.set_status("Saving to the keyring… (it may ask you to unlock it)")
        self._spawn(self._save_keys(self.account.name, key))

    async def _save_keys(self, name: str, key: ApiKey) -> None:
        try:
            await asyncio.to_thread(self.credentials.save, name, key)
        except TerminalError as exc:
            self.set_status(exc.user_message(), error=True)
            return
        finally:
            self._set_busy(False)
        self.clear_fields()
        log.info("Keys of account %s saved to the keyring", name)
        self.set_status(f"Keys saved in the keyring (API key {key.masked_api_key()}). Test them?")

    def remove_keys(self) -> None:
        if self.account is None:
            return
        self._set_busy(True)
        self.set_status("Removing from the keyring…")
        self._spawn(self._remove_keys(self.account.name))

    async def _remove_keys(self, name: str) -> None:
        try:
            removed = await asyncio.to_thread(self.credentials.delete, name)
        except TerminalError as exc:
            self.set_status(exc.user_message(), error=True)
            return
        finally:
            self._set_busy(False)
        self.clear_fields()
        if removed:
            log.info("Keys of account %s removed from the keyring", name)
        self.set_status("Keys removed from the keyring." if removed else "There were no keys to remove.")

    async def forget(self, name: str) -> str:
        """Remove the keys of a removed account; "" or what went wrong."""
        if not self.keyring_ok:
            return ""
        try:
            if await asyncio.to_thread(self.credentials.delete, name):
                log.info("Keys of removed account %s deleted from the keyring", name)
        except TerminalError as exc:
            return exc.user_message()
        return ""

    def test_keys(self) -> None:
        account = self.account
        if account is None:
            return
        self._set_busy(True)
        self.set_status(f"Testing: reading the keys and asking {account.exchange} for the balance…")
        self._spawn(self._test_keys(account))

    async def _test_keys(self, account: AccountSettings) -> None:
        try:
            await approve_key_destinations(self, account, "The test")
            result = await check_keys(account, self.credentials)
        except KeysNotSentError as exc:
            self.set_status(f"Not tested: {exc.user_message()}")
            return
        except TerminalError as exc:
            log.warning("Key test of account %s failed: %s", account.name, describe(exc, detailed=True))
            self.set_status(f"The test failed. {exc.user_message()}", error=True, detail=exc.detail)
            return
        finally:
            self._set_busy(False)
        self.set_status(result)
