"""The history download in the status bar: what is being fetched, how far it
is, and a button to stop it (what was stored stays; it resumes next time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

if TYPE_CHECKING:  # the sync module loads with the history store, not at start-up
    from terminal.market.history_sync import SyncProgress


class SyncIndicator(QWidget):
    """Hidden while nothing downloads. ``on_cancel`` stops the download."""

    def __init__(self, on_cancel: Callable[[], object], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(120)
        self.bar.setFixedHeight(10)
        self.cancel = QToolButton()
        self.cancel.setText("✕")
        self.cancel.setToolTip("Stop downloading history (what has arrived is kept; it resumes next time)")
        self.cancel.setAutoRaise(True)
        self.cancel.clicked.connect(lambda _checked=False: on_cancel())
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(6)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        row.addWidget(self.cancel)
        self.hide()

    def show_progress(self, progress: SyncProgress | None) -> None:
        if progress is None:
            self.hide()
            return
        what = f"{progress.symbol} {progress.timeframe}"
        if progress.message.startswith("stopped"):
            # a failed download: say why, no bar; the next open tries again
            self.label.setText(f"History of {what} {progress.message}")
            self.label.setToolTip(progress.message)
            self.bar.hide()
            self.cancel.hide()
        else:
            self.label.setText(f"History {what}: {progress.done:,} / {progress.total:,} candles")
            self.label.setToolTip("")
            self.bar.setValue(round(progress.fraction * 1000))
            self.bar.show()
            self.cancel.show()
        self.show()
