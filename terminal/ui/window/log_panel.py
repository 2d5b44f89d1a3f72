"""The log panel: the newest log lines, drained from LogBuffer on a timer."""

from __future__ import annotations

import logging

from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from terminal.logs import LogBuffer
from terminal.ui.theme import DARK, Theme


class LogPanel(QPlainTextEdit):
    def __init__(self, buffer: LogBuffer, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.buffer = buffer
        self.theme = theme
        self._seq = 0
        self.setReadOnly(True)
        self.setMaximumBlockCount(2000)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        self.drain()

    def drain(self) -> None:
        lines = self.buffer.since(self._seq)
        if not lines:
            return
        self._seq = lines[-1].seq
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        for line in lines:
            fmt = QTextCharFormat()
            if line.level >= logging.ERROR:
                fmt.setForeground(self.theme.color("down"))
            elif line.level >= logging.WARNING:
                fmt.setForeground(self.theme.color("accent"))
            else:
                fmt.setForeground(self.theme.color("text"))
            if not self.document().isEmpty():
                cursor.insertBlock()
            cursor.insertText(line.text, fmt)
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
