"""The Alerts tab of Preferences: mute, how long a toast shows, and the webhooks.

Mute and the toast's seconds are fields like the dialog's others: OK or Apply
sends them through ``ConfigStore.change``. Webhooks are not: adding or removing
one writes the OS keyring at once (the address is kept there only, as
``webhook:<name>``, by ``WebhookVault``), so its name is added to or removed
from ``settings.alerts.webhooks`` at once too, and Cancel cannot leave the two
apart. The address never reaches the config, the log or a label: the list shows
``shown_url`` (the scheme and host) of what the keyring holds.

Every keyring call and the Test's POST run off the GUI thread (``asyncio.to_thread``,
``WebhookSender``'s own thread). The addresses are read when the tab is first
shown, not when Preferences opens: a locked keyring asks to be unlocked only when
the user comes to look at webhooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from terminal.alerts.delivery.webhooks import WebhookVault, shown_url
from terminal.config import ConfigStore, Settings
from terminal.credentials import CredentialStore, KeyringUnavailableError
from terminal.errors import TerminalError, describe
from terminal.tasks import TaskGroup
from terminal.ui.confirm import ask_to_remove
from terminal.ui.field_errors import FieldErrors
from terminal.ui.preferences.form import Setting
from terminal.ui.preferences.webhook_calls import Address, post_test, read_addresses
from terminal.ui.preferences.webhook_dialog import AddWebhookDialog
from terminal.ui.theme import Theme

log = logging.getLogger(__name__)

READING = "reading the keyring…"
MUTE_NOTE = (
    "Muted alerts still fire and are kept in the alerts panel's History; no notification, sound or "
    "webhook is sent."
)


class AlertsPage(QWidget):
    def __init__(
        self,
        config: ConfigStore,
        credentials: Callable[[], CredentialStore],
        theme: Theme,
        parent: QWidget | None = None,
    ) -> None:
        """``credentials``: the window's keyring store (asked when a webhook is read or written)."""
        super().__init__(parent)
        self.config = config
        self.credentials = credentials
        self.theme = theme
        self.names: list[str] = list(config.settings.alerts.webhooks)
        self.addresses: dict[str, Address] = {}
        self.add_dialog: AddWebhookDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._looked = False  # the addresses are read on the first show
        self._acting = False  # an add, a removal or a test under way: one at a time
        self._stopped = False  # the dialog closed: its widgets may be gone
        self._tasks = TaskGroup("preferences: webhooks", on_error=self._failed, logger=log)

        self.mute = QCheckBox("Mute alerts", self)
        self.mute.setToolTip(MUTE_NOTE)
        self.toast_seconds = QSpinBox(self)
        self.toast_seconds.setRange(1, 120)
        self.toast_seconds.setSuffix(" s")
        self.errors = FieldErrors(self, ["toast_seconds"], theme.down)

        self.webhook_list = QTreeWidget(self)
        self.webhook_list.setHeaderLabels(["Name", "Address"])
        self.webhook_list.setRootIsDecorated(False)
        self.webhook_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.webhook_list.setUniformRowHeights(True)
        header = self.webhook_list.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.add_button = QPushButton("Add…", self)
        self.test_button = QPushButton("Test", self)
        self.test_button.setToolTip("Post a test message to the selected webhook")
        self.remove_button = QPushButton("Remove…", self)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        mute_note = QLabel(MUTE_NOTE, self)
        mute_note.setWordWrap(True)
        mute_note.setStyleSheet(f"color: {theme.muted};")
        form.addRow(self.mute)
        form.addRow(mute_note)
        form.addRow("Show alerts in the window for", self.errors.under(self.toast_seconds, "toast_seconds"))
        buttons = QVBoxLayout()
        for button in (self.add_button, self.test_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        hooks = QHBoxLayout()
        hooks.addWidget(self.webhook_list, 1)
        hooks.addLayout(buttons)
        note = QLabel(
            "A webhook posts each alert that names it to an address (a Telegram bot, a Slack, Discord or "
            "Mattermost chat, a relay of your own). Its address holds the service's token, so it is kept "
            "in the operating system's keyring only; config.toml keeps the name. Adding or removing one "
            "takes effect at once: OK and Cancel do not change it.",
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        title = QLabel("Webhooks", self)
        title.setStyleSheet("font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(title)
        layout.addLayout(hooks, 1)
        layout.addWidget(self.status)
        layout.addWidget(note)

        self.add_button.clicked.connect(self.add)
        self.test_button.clicked.connect(self.test)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.webhook_list.itemSelectionChanged.connect(self._update_buttons)
        self._fill()

    # -- the dialog's fields ------------------------------------------------------------
    def settings(self, reveal: Callable[[], None]) -> list[Setting]:
        """Mute and the toast's seconds as dialog fields (``reveal`` shows this tab)."""

        def nothing_to_say(_message: str) -> None:  # a box the config cannot refuse
            pass

        def show_seconds(message: str) -> None:
            self.errors.show("toast_seconds", message)

        return [
            Setting(
                path=("alerts", "muted"),
                read=self.mute.isChecked,
                show=self.mute.setChecked,
                get=lambda s: s.alerts.muted,
                say=nothing_to_say,
                reveal=reveal,
            ),
            Setting(
                path=("alerts", "toast_seconds"),
                read=self.toast_seconds.value,
                show=self.toast_seconds.setValue,
                get=lambda s: s.alerts.toast_seconds,
                say=show_seconds,
                reveal=reveal,
            ),
        ]

    def follow(self, settings: Settings) -> None:
        """The webhooks changed (here, or in another window's Preferences): list them as they are."""
        names = list(settings.alerts.webhooks)
        if names == self.names:
            return
        self.names = names
        self._fill()
        self._read([name for name in names if name not in self.addresses])

    # -- the list -----------------------------------------------------------------------
    def selected(self) -> str | None:
        items = self.webhook_list.selectedItems()
        return items[0].text(0) if items else None

    def select(self, name: str) -> None:
        for index in range(self.webhook_list.topLevelItemCount()):
            item = self.webhook_list.topLevelItem(index)
            if item is not None and item.text(0) == name:
                self.webhook_list.setCurrentItem(item)
                return

    def address_text(self, name: str) -> str:
        """What the list shows as webhook ``name``'s address."""
        address = self.addresses.get(name)
        return READING if address is None else address.text

    def _fill(self) -> None:
        chosen = self.selected()
        self.webhook_list.clear()
        for name in self.names:
            item = QTreeWidgetItem([name, self.address_text(name)])
            address = self.addresses.get(name)
            if address is None or not address.ok:
                item.setForeground(1, QColor(self.theme.muted if address is None else self.theme.down))
            if address is not None and address.problem:
                item.setToolTip(1, address.problem)
            self.webhook_list.addTopLevelItem(item)
        if not self.names:
            empty = QTreeWidgetItem(["", "No webhooks yet: Add… sets one up."])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)  # not a webhook: cannot be chosen
            self.webhook_list.addTopLevelItem(empty)
        if chosen in self.names:
            self.select(chosen)
        elif self.names and self.selected() is None:
            self.select(self.names[0])
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.add_button.setEnabled(not self._acting)
        self.test_button.setEnabled(chosen and not self._acting)
        self.remove_button.setEnabled(chosen and not self._acting)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._looked:
            self._looked = True
            self._read(self.names)

    def _read(self, names: Sequence[str]) -> None:
        if self._looked and names:
            self._spawn(self._read_addresses(list(names)))

    async def _read_addresses(self, names: list[str]) -> None:
        found = await asyncio.to_thread(read_addresses, WebhookVault(self.credentials()), names)
        self.addresses.update(found)
        self._fill()
        problem = next((a.problem for a in found.values() if a.problem), "")
        if problem:
            self._say(problem, error=True)

    # -- add ------------------------------------------------------------------------------
    def add(self) -> AddWebhookDialog:
        """Add…: the name and address dialog (not modal in a nested loop: ``open``)."""
        dialog = self.add_dialog = AddWebhookDialog(
            lambda: self.config.settings.alerts.webhooks, self._start_add, self.theme, self
        )
        dialog.finished.connect(lambda _result: self._add_closed(dialog))
        dialog.open()
        return dialog

    def _add_closed(self, dialog: AddWebhookDialog) -> None:
        if self.add_dialog is dialog:
            self.add_dialog = None
        dialog.deleteLater()  # with what was typed in it

    def _start_add(self, name: str, url: str) -> None:
        dialog = self.add_dialog
        if dialog is not None:
            self._act(self._add(dialog, name, url))

    async def _add(self, dialog: AddWebhookDialog, name: str, url: str) -> None:
        vault = WebhookVault(self.credentials())

        def save() -> None:
            vault.save(name, url)

        try:
            # A closure, not to_thread(vault.save, name, url): qasync's executor logs the call with
            # its arguments at DEBUG, and the address must not reach the log.
            await asyncio.to_thread(save)
        except TerminalError as exc:  # the keyring's refusal, or (checked already) the address's
            dialog.failed(exc.user_message())
            return
        self.addresses[name] = Address(shown_url(url))  # the one form of it this page keeps
        names = self.config.settings.alerts.webhooks
        if name not in names:
            self._set_webhooks([*names, name])
        log.info("Webhook '%s' added; its address is kept in the keyring.", name)
        dialog.saved()
        self.select(name)
        self._say(f"Webhook '{name}' added: its address is in the keyring. Test it to see that it works.")

    # -- test -----------------------------------------------------------------------------
    def test(self) -> None:
        name = self.selected()
        if name is None:
            return
        self._say(f"Testing webhook '{name}': posting a test message…")
        self._act(self._test(name))

    async def _test(self, name: str) -> None:
        result = await post_test(WebhookVault(self.credentials()), name)
        if result.ok:
            self._say(f"Sent: webhook '{name}' took the test message.")
        else:
            self._say(result.problem, error=True)

    # -- remove ---------------------------------------------------------------------------
    def confirm_remove(self) -> None:
        name = self.selected()
        if name is None:
            return
        text = f"Remove webhook '{name}'? Its address leaves the keyring; alerts stop posting to it."
        self.confirm_box = ask_to_remove(
            self, "Remove webhook", text, lambda yes: self._removal_answered(yes, name)
        )

    def _removal_answered(self, yes: bool, name: str) -> None:
        self.confirm_box = None
        if yes:
            self.remove(name)

    def remove(self, name: str) -> None:
        """Delete webhook ``name``'s keyring entry, then its name."""
        self._say(f"Removing webhook '{name}'…")
        self._act(self._remove(name))

    async def _remove(self, name: str) -> None:
        try:
            await asyncio.to_thread(WebhookVault(self.credentials()).delete, name)
        except KeyringUnavailableError as exc:
            # Kept listed: dropping the name would leave its address in the keyring, out of reach.
            self._say(f"Webhook '{name}' was not removed. {exc.user_message()}", error=True)
            return
        except TerminalError:
            pass  # a name the vault refuses (config.toml edited by hand) has no keyring entry to delete
        self.addresses.pop(name, None)
        self._set_webhooks([n for n in self.config.settings.alerts.webhooks if n != name])
        log.info("Webhook '%s' removed, with its address in the keyring.", name)
        self._say(f"Webhook '{name}' removed, with its address in the keyring.")

    # -- doing ----------------------------------------------------------------------------
    def _set_webhooks(self, names: list[str]) -> None:
        """Through the config store, so that every window (and this dialog) follows."""
        alerts = self.config.settings.alerts.model_copy(update={"webhooks": names})
        self.config.change(alerts=alerts)  # tells the dialog, which calls follow()
        if not self.config.writable:
            self._say("The change holds for this session only: config.toml is not written.", error=True)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._tasks.spawn(work, name=f"preferences: {getattr(work, '__name__', 'webhooks')}")

    def _act(self, work: Coroutine[Any, Any, None]) -> None:
        """One add, removal or test at a time: the buttons wait for it."""
        self._acting = True
        self._update_buttons()

        def finished(_task: asyncio.Task[Any]) -> None:
            self._acting = False
            if not self._stopped:
                self._update_buttons()

        self._tasks.spawn(work, name=f"preferences: {getattr(work, '__name__', 'webhook')}", on_done=finished)

    def _failed(self, exc: BaseException, _name: str) -> None:
        if self._stopped:
            return  # logged by the task group; nobody is looking
        self._say(f"Something went wrong: {describe(exc)}", error=True)
        if self.add_dialog is not None and self.add_dialog.saving:
            self.add_dialog.failed(f"Something went wrong: {describe(exc)}")

    @property
    def busy(self) -> bool:
        """A keyring read or write, or a test, is under way."""
        return self._tasks.busy

    def stop(self) -> None:
        """The dialog closes: what is under way is let go (a keyring call in its thread finishes
        on its own; nothing touches this page afterwards)."""
        self._stopped = True
        self._tasks.cancel()

    async def shutdown(self) -> None:
        """Stop, and wait until every task has let go."""
        self._stopped = True
        await self._tasks.close()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.errors.set_color(theme.down)
        self._fill()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")
