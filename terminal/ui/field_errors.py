"""Error messages under form fields: what is wrong, on the field itself, in
plain words (not a dialog box, not a traceback). Used by the accounts dialog
and meant for every form that validates as the user types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ValidationError
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


def pydantic_messages(
    error: ValidationError, rewording: Mapping[tuple[str, str], str] = {}
) -> dict[str, str]:
    """The first complaint per top-level field, minus pydantic's prefixes;
    ``rewording[(field, error type)]`` replaces a message with a friendlier one."""
    found: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        message = (rewording or {}).get((field, item["type"]), message)
        found.setdefault(field, message)
    return found


class FieldErrors:
    """One hidden error line per field name, shown under its field."""

    def __init__(self, parent: QWidget, names: Iterable[str], color: str) -> None:
        self._parent = parent
        self.labels: dict[str, QLabel] = {}
        for name in names:
            label = QLabel(parent)
            label.setWordWrap(True)
            label.hide()
            self.labels[name] = label
        self.set_color(color)

    def set_color(self, color: str) -> None:
        for label in self.labels.values():
            label.setStyleSheet(f"color: {color};")

    def under(self, field: QWidget, name: str) -> QWidget:
        """``field`` with its error line under it, to put in a form."""
        box = QWidget(self._parent)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(self.labels[name])
        return box

    def clear(self) -> None:
        for label in self.labels.values():
            label.clear()
            label.hide()

    def show(self, name: str, message: str) -> bool:
        """Show ``message`` under field ``name``; False if there is no such field."""
        label = self.labels.get(name)
        if label is None:
            return False
        label.setText(message)
        label.show()
        return True

    def text(self, name: str) -> str:
        """The error shown under ``name`` ("" if none)."""
        label = self.labels[name]
        return "" if label.isHidden() else label.text()
