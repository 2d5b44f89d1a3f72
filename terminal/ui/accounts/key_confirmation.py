"""The question before an account's keys go to a host that is not its
exchange's own ("Test keys" in the accounts dialog, Trade → Trade live).

The rules are Qt-free (``terminal.market.key_destinations``); this asks the
user, naming the host, and waits for the answer without nesting the event
loop (``open()``, not ``exec()``). The question is found by its object name
(``QUESTION``), as the tests answer it.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from terminal.config import AccountSettings
from terminal.errors import TerminalError
from terminal.market.key_destinations import KeyDestinations, account_key_destinations

QUESTION = "keys.foreign_host"


class KeysNotSentError(TerminalError):
    """The user declined to send the keys to a foreign host: nothing was sent."""


async def approve_key_destinations(parent: QWidget, account: AccountSettings, doing: str) -> KeyDestinations:
    """Where ``account``'s keys would go, once the user has agreed to any host
    that is not the exchange's own. Raises ``KeysNotSentError`` if declined,
    and a ``ConfigError`` for an address keys must never go to (plain text)."""
    destinations = await asyncio.to_thread(account_key_destinations, account)
    if destinations.foreign and not await _ask(parent, account.name, destinations, doing):
        raise KeysNotSentError(f"The keys were not sent to {destinations.hosts}.")
    return destinations


async def _ask(parent: QWidget, account: str, destinations: KeyDestinations, doing: str) -> bool:
    hosts, exchange = destinations.hosts, destinations.exchange
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Send the API keys to another host?",
        f"{doing} sends the API keys of account '{account}' to {hosts}, which is not one of "
        f"{exchange}'s own hosts.\n\n"
        "Whoever runs that host can use the keys (and, for some exchanges, read the secret itself). "
        "Send them only to a host you run or trust.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName(QUESTION)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    send = box.addButton(f"Send the keys to {hosts}", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter does not send them
    answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def answered(_result: int) -> None:
        if not answer.done():
            answer.set_result(box.clickedButton() is send)

    box.finished.connect(answered)
    closes = _NoOnClose(box)
    asking = parent.window()
    asking.installEventFilter(closes)
    box.open()
    try:
        return await answer
    finally:  # answered, or the window asking went away: the question goes too
        asking.removeEventFilter(closes)
        box.finished.disconnect()
        box.close()
        box.deleteLater()


class _NoOnClose(QObject):
    """Answers "no" when the window that asked closes (the app quits, say): its
    shutdown waits for the work that asked, and nothing may wait on a question
    nobody can see."""

    def __init__(self, box: QMessageBox) -> None:
        super().__init__(box)
        self._box = box

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            self._box.reject()
        return False
