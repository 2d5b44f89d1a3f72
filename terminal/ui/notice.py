"""A dismissible notice above the chart, for problems the user should fix
(a broken config file, a feed that failed) without a modal dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

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
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.apply_theme(theme)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()

    def apply_theme(self, theme: Theme) -> None:
        self.setStyleSheet(f"background: {theme.down_fill}; color: {theme.text};")
