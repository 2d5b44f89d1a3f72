"""The panel's left column: what to run (candles, strategy and its parameters,
costs, sizing, stops), a name for the run, the Run button, the runs waiting
and running, and the panel's message line. It holds the widgets; the panel
reads them and does the work."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from terminal.ui.backtest.data_picker import DataPicker
from terminal.ui.backtest.queue_view import QueueView
from terminal.ui.backtest.settings_form import SettingsForm
from terminal.ui.backtest.strategy_box import StrategyBox
from terminal.ui.theme import DARK, Theme


class RunForm(QWidget):
    def __init__(self, strategies_folder: Path, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.data = DataPicker(theme, self)
        self.strategy = StrategyBox(strategies_folder, theme, self)
        self.settings_form = SettingsForm(theme, self)
        boxes = QWidget(self)
        box_column = QVBoxLayout(boxes)
        box_column.setContentsMargins(0, 0, 4, 0)
        for title, widget in (
            ("Data", self.data),
            ("Strategy", self.strategy),
            ("Costs, sizing, stops", self.settings_form),
        ):
            box = QGroupBox(title, boxes)
            inner = QVBoxLayout(box)
            inner.setContentsMargins(6, 4, 6, 6)
            inner.addWidget(widget)
            box_column.addWidget(box)
        box_column.addStretch(1)
        # the form scrolls in a low dock; Run, the queue and the message stay in view below it
        scroll = QScrollArea(self)
        scroll.setWidget(boxes)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)

        self.label = QLineEdit(self)
        self.label.setPlaceholderText("Name of the run (optional)")
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("backtest_run")
        self.run_button.setToolTip("Queue this backtest (Ctrl+Enter)")
        self.run_button.setDefault(True)
        run_row = QHBoxLayout()
        run_row.addWidget(self.label, 1)
        run_row.addWidget(self.run_button)
        self.queue_view = QueueView(self)
        self.message = QLabel(self)
        self.message.setObjectName("backtest_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(scroll, 1)
        column.addLayout(run_row)
        column.addWidget(self.queue_view)
        column.addWidget(self.message)

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {self.theme.down if error else self.theme.text};")

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for widget in (self.data, self.strategy, self.settings_form):
            widget.set_theme(theme)
