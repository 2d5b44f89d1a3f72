"""QActions built from the shortcut registry, bound to the window's handlers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from terminal.shortcuts import ACTIONS


def build_actions(
    parent: QWidget, bindings: dict[str, tuple[str, ...]], handlers: dict[str, Callable[[], object]]
) -> dict[str, QAction]:
    """One QAction per registry entry that has a handler, with its keys,
    added to ``parent`` so the shortcuts work wherever focus is in the window."""
    actions: dict[str, QAction] = {}
    for spec in ACTIONS:
        handler = handlers.get(spec.id)
        if handler is None:
            continue
        action = QAction(spec.title, parent)
        action.setObjectName(spec.id)
        action.setShortcuts([QKeySequence(k) for k in bindings.get(spec.id, ())])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False, h=handler: h())
        parent.addAction(action)
        actions[spec.id] = action
    return actions


def key_text(action: QAction) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
