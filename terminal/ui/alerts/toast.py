"""A toast: a small notice in the top-right corner of the window's central area (the
chart's, not over the order book's dock) that goes by itself after a few seconds.

It says an alert fired where the trader is looking, without taking the focus or a
click: the mouse over it keeps it (to finish reading), a click puts it away. Up to
three stack, the newest on top; a fourth puts the oldest away. A toast is a child of
the window, not a window of its own: it moves with the window, never covers another
application, and goes with the window.
"""

from __future__ import annotations

import itertools
from typing import Literal

from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QEnterEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QLabel, QMainWindow, QVBoxLayout, QWidget

from terminal.ui.theme import DARK

ToastKind = Literal["alert", "info", "error"]
DURATION_MS = 6_000
STACK = 3  # toasts on screen at most
WIDTH = 320
MARGIN = 12  # from the corner of the central area
SPACING = 8  # between toasts
#: The stripe on a toast's left: what kind of news it is.
STRIPES: dict[str, str] = {"alert": DARK.accent, "info": DARK.muted, "error": DARK.down}
_serials = itertools.count()


class Toast(QFrame):
    dismissed = Signal()

    def __init__(
        self, host: QWidget, title: str, text: str, kind: ToastKind = "alert", duration_ms: int = DURATION_MS
    ) -> None:
        super().__init__(host)
        self.host = host
        self.kind = kind
        self.duration_ms = duration_ms
        self.serial = next(_serials)  # the order they came in: the newest is stacked on top
        self.gone = False
        self.setObjectName("toast")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to dismiss")
        # The window's own palette colours, so that the toast follows the theme.
        self.setStyleSheet(
            "#toast { background: palette(base); border: 1px solid palette(mid); "
            f"border-left: 4px solid {STRIPES[kind]}; border-radius: 4px; }}"
        )
        self.title_label = QLabel(title, self)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)  # a user's note is text, never HTML
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        self.text_label = QLabel(text, self)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setWordWrap(True)
        self.text_label.setVisible(bool(text))
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(10, 8, 10, 8)
        self.column.setSpacing(2)
        self.column.addWidget(self.title_label)
        self.column.addWidget(self.text_label)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(duration_ms)
        self.timer.timeout.connect(self.dismiss)
        host.installEventFilter(self)  # the stack follows the window's size

    def title(self) -> str:
        return self.title_label.text()

    def text(self) -> str:
        return self.text_label.text()

    def dismiss(self) -> None:
        """Put the toast away (its time is up, or it was clicked); the others close up."""
        if self.gone:
            return
        self.gone = True
        self.timer.stop()
        self.host.removeEventFilter(self)
        self.hide()
        arrange(self.host)
        self.dismissed.emit()
        self.deleteLater()

    def enterEvent(self, event: QEnterEvent) -> None:
        self.timer.stop()  # the user is reading it
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if not self.gone:
            self.timer.start()  # a whole time again, from when the mouse leaves
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.dismiss()
            event.accept()
            return
        super().mousePressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.host and event.type() == QEvent.Type.Resize and not self.gone:
            arrange(self.host)
        return False


def toasts(host: QWidget) -> list[Toast]:
    """The toasts on ``host``, oldest first."""
    found = host.findChildren(Toast, options=Qt.FindChildOption.FindDirectChildrenOnly)
    return sorted((t for t in found if not t.gone), key=lambda t: t.serial)


def central_area(host: QWidget) -> QRect:
    """Where toasts go, in ``host``'s coordinates: a main window's central widget, else all of it."""
    central = host.centralWidget() if isinstance(host, QMainWindow) else None
    return central.geometry() if central is not None else host.rect()


def arrange(host: QWidget) -> None:
    """Stack the toasts in the top-right corner of the central area, the newest on top."""
    area = central_area(host)
    width = max(120, min(WIDTH, area.width() - 2 * MARGIN))
    y = area.top() + MARGIN
    for toast in reversed(toasts(host)):
        height = toast.heightForWidth(width)  # wrapped text: as tall as the width makes it
        toast.setGeometry(
            area.right() + 1 - MARGIN - width, y, width, height if height > 0 else toast.sizeHint().height()
        )
        toast.raise_()
        y += toast.height() + SPACING


def show_toast(
    parent: QWidget, title: str, text: str, *, kind: ToastKind = "alert", duration_ms: int = DURATION_MS
) -> Toast:
    """Show a toast over ``parent`` (the main window) for ``duration_ms``; the oldest goes
    if there would be more than ``STACK``."""
    for old in toasts(parent)[: max(0, len(toasts(parent)) - STACK + 1)]:
        old.dismiss()
    toast = Toast(parent, title, text, kind, duration_ms)
    toast.show()  # first: its style sheet applies on show, and with it the size it needs
    arrange(parent)
    toast.timer.start()
    return toast
