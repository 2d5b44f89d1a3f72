"""A question before removing something: Cancel by default, a destructive Remove, asked
with ``open()`` (no nested event loop, which would break the asyncio loop qasync runs)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_to_remove(parent: QWidget, title: str, text: str, answered: Callable[[bool], None]) -> QMessageBox:
    """Ask; ``answered(True)`` when the user chose Remove, ``answered(False)`` otherwise."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def finished(_result: int) -> None:
        box.deleteLater()
        answered(box.clickedButton() is remove)

    box.finished.connect(finished)
    box.open()
    return box
