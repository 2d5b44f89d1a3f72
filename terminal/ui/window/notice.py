"""A dismissible notice above the chart, for problems the user should fix
(a broken config file, a feed that failed) without a modal dialog.

A *standing* notice (``show_standing``) is a problem that lasts until it is
resolved, such as a history file that cannot be used: a passing message may
cover it, and it comes back when that message is dismissed or cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from terminal.ui.theme import DARK, Theme

Actions = Sequence[tuple[str, Callable[[], object]]]


class NoticeBar(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)  # the whole bar, not just its text
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # paths, to copy
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        self.buttons: list[QPushButton] = []
        self._standing: tuple[str, Actions] | None = None
        self._showing_standing = False
        # The text takes the bar's width; the ways out, when there are any, line up under it.
        self._row = QWidget(self)
        self._layout = QHBoxLayout(self._row)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 4, 4, 6)
        column.setSpacing(4)
        column.addLayout(top)
        column.addWidget(self._row)
        self._row.hide()
        self.apply_theme(theme)
        self.hide()

    def show_message(self, text: str, actions: Actions = ()) -> None:
        """Show ``text``, with a button for each (label, what it does) in ``actions``."""
        self._put(text, actions)
        self._showing_standing = False

    def show_standing(self, text: str, actions: Actions = ()) -> None:
        """Show a problem that stays until ``clear_standing`` (see the module doc);
        a passing message on screen keeps it covered until that is dismissed."""
        self._standing = (text, tuple(actions))
        if self._showing_standing or self.isHidden():
            self._put(text, actions)
            self._showing_standing = True

    def clear_standing(self) -> None:
        """The standing problem is resolved: it goes (a passing message stays)."""
        self._standing = None
        if self._showing_standing:
            self._showing_standing = False
            self.hide()

    @property
    def standing(self) -> bool:
        """A standing problem is set (shown or covered)."""
        return self._standing is not None

    def clear(self) -> None:
        """Put the passing message away: the standing problem shows again, if there is one."""
        if self._standing is None:
            self.hide()
        else:
            self._put(*self._standing)
            self._showing_standing = True

    def dismiss(self) -> None:
        """The ✕: a passing message gives way to the standing problem; that one hides."""
        if self._standing is not None and not self._showing_standing:
            self.clear()
        else:
            self.hide()

    def _put(self, text: str, actions: Actions) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for label, act in actions:
            button = QPushButton(label, self._row)
            button.clicked.connect(lambda _checked=False, act=act: act())
            self._layout.insertWidget(self._layout.count() - 1, button)
            self.buttons.append(button)
        self._row.setVisible(bool(self.buttons))
        self.label.setText(text)
        self.show()

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(f"background: {theme.down_fill}; color: {theme.text};")
