"""Add webhook…: the small dialog of the Alerts tab that takes a webhook's name and address.

The address is a secret (a Telegram bot's or a chat's token is in it): its field
hides what is typed unless the user asks to see it, and its problems are said in
words that never quote it (``check_url``). The dialog checks what it can at once
(the name's rule, the address's form) and hands a good pair to ``save``; the
page writes the keyring off the GUI thread and answers with ``saved()`` (the
dialog clears the field and closes) or ``failed(message)`` (it stays open, with
the address still typed, for another try).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terminal.alerts.delivery.webhooks import WebhookError, check_url
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import Theme

#: a webhook's name: it is a key in config.toml and part of a keyring entry's name ("webhook:<name>")
NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
NAME_RULE = "Use 1 to 40 letters, digits, dashes or underscores, without spaces (e.g. telegram or desk-chat)."


def name_problem(name: str, taken: Iterable[str]) -> str | None:
    """What is wrong with ``name`` for a new webhook, or ``None``. Names differing only in case are
    refused too: "Telegram" beside "telegram" would be two entries the user cannot tell apart."""
    if not name:
        return f"Give the webhook a name. {NAME_RULE}"
    if NAME_PATTERN.fullmatch(name) is None:
        return NAME_RULE
    clash = next((other for other in taken if other.casefold() == name.casefold()), None)
    if clash is not None:
        return f"A webhook named '{clash}' is set up already: choose another name, or remove that one first."
    return None


def url_problem(url: str) -> str | None:
    """What is wrong with the address typed (spaces around a paste dropped), or ``None``."""
    try:
        check_url(url.strip())
    except WebhookError as exc:
        return exc.user_message()
    return None


class AddWebhookDialog(QDialog):
    """Name and address of a new webhook. ``taken()``: the names set up now; ``save(name, url)``:
    starts keeping them (the dialog waits for ``saved`` or ``failed``)."""

    def __init__(
        self,
        taken: Callable[[], Iterable[str]],
        save: Callable[[str, str], object],
        theme: Theme,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add webhook")
        self.setMinimumWidth(520)
        self._taken = taken
        self._save = save
        self.theme = theme
        self.saving = False

        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. telegram")
        self.name.setMaxLength(40)
        self.url = QLineEdit(self)
        self.url.setEchoMode(QLineEdit.EchoMode.Password)
        self.url.setPlaceholderText("https://… (paste the address the service gave you)")
        self.show_url = QToolButton(self)
        self.show_url.setText("Show")
        self.show_url.setCheckable(True)
        self.show_url.setToolTip("Show the address as typed (it holds the service's token)")
        self.show_url.toggled.connect(self._show_url)
        self.errors = FieldErrors(self, ["name", "url"], theme.down)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Add")

        url_row = QWidget(self)
        row = QHBoxLayout(url_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.url, 1)
        row.addWidget(self.show_url)
        form = QFormLayout()
        form.addRow("Name", self.errors.under(self.name, "name"))
        form.addRow("Address", self.errors.under(url_row, "url"))
        note = QLabel(
            "The address is kept in the operating system's keyring only: never in config.toml or the "
            "log. Lists show just its host. https:// is required (http:// only to this computer).",
            self,
        )
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def _show_url(self, shown: bool) -> None:
        self.url.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_url.setText("Hide" if shown else "Show")

    def accept(self) -> None:
        """Add: check both fields (every problem at once), then hand them to be kept."""
        if self.saving:
            return
        self.errors.clear()
        self._say("")
        name, url = self.name.text().strip(), self.url.text().strip()
        problems = {"name": name_problem(name, self._taken()), "url": url_problem(url)}
        for field, problem in problems.items():
            if problem is not None:
                self.errors.show(field, problem)
        if any(problems.values()):
            (self.name if problems["name"] else self.url).setFocus()
            self.adjustSize()  # grow to show the messages whole
            return
        self._set_saving(True)
        self._say("Saving the address in the keyring… (it may ask you to unlock it)")
        self._save(name, url)

    def reject(self) -> None:
        if not self.saving:  # a keyring write under way finishes first: its outcome is said here
            self._forget_url()
            super().reject()

    def saved(self) -> None:
        """The address is in the keyring: nothing of it stays here."""
        self._set_saving(False)
        self._forget_url()
        super().accept()

    def failed(self, message: str) -> None:
        """The keyring did not take it: say why and let the user try again."""
        self._set_saving(False)
        self._say(message, error=True)
        self.adjustSize()

    def _set_saving(self, saving: bool) -> None:
        self.saving = saving
        for widget in (self.name, self.url, self.show_url, self.buttons):
            widget.setEnabled(not saving)

    def _forget_url(self) -> None:
        self.show_url.setChecked(False)
        self.url.clear()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")
