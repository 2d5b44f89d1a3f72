"""The status bar: feed state, age of the last message, messages per second."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from terminal.market.health import FeedHealth, FeedState
from terminal.ui.theme import DARK, Theme

STATE_COLOR = {
    FeedState.LIVE: "up",
    FeedState.CONNECTING: "muted",
    FeedState.STALE: "accent",
    FeedState.RECONNECTING: "accent",
    FeedState.FAILED: "down",
    FeedState.STOPPED: "muted",
}


class FeedStatusBar(QStatusBar):
    def __init__(self, health: FeedHealth, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.health = health
        self.theme = theme
        self.market = QLabel()
        self.state = QLabel()
        self.age = QLabel()
        self.rate = QLabel()
        for label in (self.market, self.state, self.age, self.rate):
            self.addPermanentWidget(label)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def set_market(self, text: str) -> None:
        self.market.setText(text)

    def refresh(self) -> None:
        health = self.health
        state = health.state
        color = getattr(self.theme, STATE_COLOR[state])
        reason = health.reason if state is not FeedState.LIVE else ""
        short = reason if len(reason) <= 70 else reason[:69] + "…"  # the full text is in the tooltip
        self.state.setText(
            f"<span style='color:{color}'>●</span> {state.value}{': ' + short if short else ''}"
        )
        self.state.setToolTip(reason)
        age = health.age()
        self.age.setText("last message: –" if age is None else f"last message: {age:.1f} s ago")
        self.rate.setText(f"{health.rate():.0f} msg/s")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.refresh()
