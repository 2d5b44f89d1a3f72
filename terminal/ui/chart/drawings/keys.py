"""The drawings' keys on the chart's view: Delete (or Backspace) removes the selected
drawing, Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes, Esc puts the tool away or
lets go of the selection.

A key is claimed only when the layer has something to do with it, and then
before the window's shortcuts see it (Qt asks the focused widget first with a
``ShortcutOverride``): with nothing to undo on the chart, Ctrl+Z stays the
window's, and the window may bind these keys elsewhere as it likes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence

if TYPE_CHECKING:
    from terminal.ui.chart.drawings.layer import DrawingLayer


def action_for(layer: DrawingLayer, event: QKeyEvent) -> Callable[[], object] | None:
    """What ``event``'s key does on the chart now, or None: it is not the chart's."""
    key, mods = event.key(), event.modifiers()
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    if key == Qt.Key.Key_Escape and not mods:
        if layer.armed is not None:
            return layer.disarm
        return (lambda: layer.select(None)) if layer.selected is not None else None
    if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not mods:
        return layer.delete_selected if layer.selected is not None else None
    redo = (key == Qt.Key.Key_Z and mods == ctrl | shift) or (key == Qt.Key.Key_Y and mods == ctrl)
    if redo or event.matches(QKeySequence.StandardKey.Redo):
        return layer.redo if layer.undo_stack.can_redo else None
    if event.matches(QKeySequence.StandardKey.Undo):
        return layer.undo if layer.undo_stack.can_undo else None
    return None


class ChartKeys(QObject):
    """An event filter on the chart's view (``QGraphicsView``, where its key events go)."""

    def __init__(self, layer: DrawingLayer) -> None:
        super().__init__(layer)
        self.layer = layer

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        assert isinstance(event, QKeyEvent)
        action = action_for(self.layer, event)
        if action is None:
            return False
        event.accept()  # on the override: the key comes here as a key press, not to a shortcut
        if kind == QEvent.Type.KeyPress:
            action()
        return True
