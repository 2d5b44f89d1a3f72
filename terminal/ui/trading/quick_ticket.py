"""The quick ticket (F9): a small ticket near the mouse, for the keyboard.

It opens with the dock ticket's side, type, amount and prices, the amount
selected for typing over; Enter sends (through the confirmation when the
config asks for one), Esc closes. It closes by itself once its order is
accepted; a refusal stays on it to be fixed. Shown with ``show()``, never
``exec()``: the market keeps ticking and the event loop is never nested.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QCursor, QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from terminal.ui.theme import DARK, Theme
from terminal.ui.trading.ticket import OrderTicket

WIDTH = 300


class QuickTicket(QDialog):
    def __init__(self, parent: QWidget, theme: Theme = DARK) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.setWindowTitle("Quick order (Enter sends, Esc closes)")
        self.ticket = OrderTicket(theme, self, compact=True)
        self.hint = QLabel("Enter sends · Esc closes · Tab moves", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 6)
        layout.addWidget(self.ticket)
        layout.addWidget(self.hint)
        self.apply_theme(theme)
        self.setFixedWidth(WIDTH)

    def pop_up(self) -> None:
        """Show near the mouse (inside the window), amount ready for typing."""
        parent = self.parentWidget()
        self.adjustSize()
        if parent is not None:
            area = QRect(parent.mapToGlobal(QPoint(0, 0)), parent.size())
            cursor = QCursor.pos()
            spot = cursor if area.contains(cursor) else area.center() - QPoint(self.width() // 2, 0)
            x = min(max(spot.x() - 40, area.left()), area.right() - self.width())
            y = min(max(spot.y() - 40, area.top()), area.bottom() - self.height())
            self.move(x, y)
        self.show()
        self.raise_()
        self.activateWindow()
        self.ticket.amount.setFocus()
        self.ticket.amount.selectAll()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # a field ignored it (QLineEdit passes Enter on); QDialog would look for a default button
            self.ticket.try_send()
            return
        super().keyPressEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        self.ticket.apply_theme(theme)
        self.hint.setStyleSheet(f"color: {theme.muted}; padding-left: 6px;")
