"""A dismissible notice above the chart, for problems the user should fix
(a broken config file, a feed that failed) without a modal dialog."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from terminal.ui.theme import DARK, Theme


class NoticeBar(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        self.buttons: list[QPushButton] = []
        self._layout = layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.apply_theme(theme)
        self.hide()

    def show_message(self, text: str, actions: Sequence[tuple[str, Callable[[], object]]] = ()) -> None:
        """Show ``text``, with a button for each (label, what it does) in ``actions``."""
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        for label, act in actions:
            button = QPushButton(label, self)
            button.clicked.connect(lambda _checked=False, act=act: act())
            self._layout.insertWidget(self._layout.count() - 1, button)
            self.buttons.append(button)
        self.label.setText(text)
        self.show()

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(f"background: {theme.down_fill}; color: {theme.text};")
