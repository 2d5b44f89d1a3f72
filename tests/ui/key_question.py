"""Answering the question the terminal asks before an account's keys go to a
host that is not its exchange's own (``terminal.ui.accounts.key_confirmation``), as a
user would: by the buttons of the box on screen."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from terminal.ui.accounts.key_confirmation import QUESTION
from tests.ui.harness import Terminal


def open_question(parent: QWidget) -> QMessageBox | None:
    shown = [box for box in parent.findChildren(QMessageBox, QUESTION) if box.isVisible()]
    return shown[0] if shown else None


async def key_question(t: Terminal, parent: QWidget) -> QMessageBox:
    """The question under ``parent``, once it is on screen."""
    await t.until(
        lambda: open_question(parent) is not None, "the question before the keys go to another host"
    )
    box = open_question(parent)
    assert box is not None
    return box


def answer(box: QMessageBox, send: bool) -> None:
    """Click "Send the keys to …" (``send``) or Cancel."""
    if send:
        next(b for b in box.buttons() if b.text().startswith("Send the keys to")).click()
    else:
        box.button(QMessageBox.StandardButton.Cancel).click()


async def send_keys_there(t: Terminal, parent: QWidget) -> None:
    """Agree to the question under ``parent`` (tests whose subject is elsewhere)."""
    answer(await key_question(t, parent), send=True)
