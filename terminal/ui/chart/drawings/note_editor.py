"""Typing a text note in place: a small field over the chart where the note stands.

Enter or leaving the field keeps the text, Esc drops it. The field is a child
of the chart's view, not a dialog, so nothing modal stops the event loop (the
market keeps moving behind it) and the note is written where it will stand.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QLineEdit, QWidget

WIDTH = 220


class NoteEditor(QLineEdit):
    #: the text typed (Enter, or the field lost the focus)
    finished = Signal(str)
    #: Esc: the text is dropped
    cancelled = Signal()

    def __init__(self, parent: QWidget, text: str, at: QPoint) -> None:
        super().__init__(text, parent)
        self.setObjectName("chartNoteEditor")
        self.setPlaceholderText("Note text, Enter to keep")
        self.setFixedWidth(WIDTH)
        self.adjustSize()
        self.move(at.x(), max(0, at.y() - self.height()))
        self._over = False
        self.returnPressed.connect(self._finish)
        self.show()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        self.selectAll()

    @property
    def over(self) -> bool:
        """Whether the text was kept or dropped already."""
        return self._over

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._finish()

    def cancel(self) -> None:
        if self._end():
            self.cancelled.emit()

    def _finish(self) -> None:
        if self._end():
            self.finished.emit(self.text().strip())

    def _end(self) -> bool:
        if self._over:
            return False
        self._over = True
        self.hide()
        self.deleteLater()
        return True
