"""The bridge from the market session to the widgets, coalesced to frame rate.

The session notifies a ``Topic`` on every change, possibly thousands of times
a second. The bridge only ORs the topic into a pending set and, if no frame is
scheduled yet, schedules one; when the frame timer fires it emits
``changed(topics)`` once. Widgets therefore repaint at most once per frame
however fast messages arrive (the throttle idea from qutebrowser).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from terminal.market.session import MarketSession
from terminal.market.topics import Topic

FRAME_MS = 16  # ~60 frames per second


class FrameBridge(QObject):
    changed = Signal(object)  # Topic flags

    def __init__(
        self, session: MarketSession | None = None, frame_ms: int = FRAME_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._pending = Topic(0)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(frame_ms)
        self._timer.timeout.connect(self._flush)
        self.frames = 0
        if session is not None:
            session.subscribe(self.notify)

    def notify(self, topic: Topic) -> None:
        """Called by the session (GUI thread); cheap: no Qt signal per message."""
        self._pending |= topic
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        topics, self._pending = self._pending, Topic(0)
        if topics:
            self.frames += 1
            self.changed.emit(topics)
