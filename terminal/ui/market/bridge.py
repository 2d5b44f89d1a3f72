"""The bridge from the market session to the widgets, coalesced to frame rate.

The session notifies a ``Topic`` on every change, possibly thousands of times
a second. The bridge ORs the topic into a pending set and hands it to a
``Throttle`` (``terminal/ui/throttle.py``): after a quiet spell
``changed(topics)`` is emitted at once, and what comes during the next frame
is emitted together at its end. Widgets therefore repaint at most once per
frame however fast messages arrive, and the first change is not held back.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from terminal.market.session import MarketSession
from terminal.market.topics import Topic
from terminal.ui.throttle import Throttle

FRAME_MS = 16  # ~60 frames per second


class FrameBridge(QObject):
    changed = Signal(object)  # Topic flags

    def __init__(
        self, session: MarketSession | None = None, frame_ms: int = FRAME_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._pending = Topic(0)
        self._throttle = Throttle(self._flush, frame_ms, self)
        self.frames = 0
        if session is not None:
            session.subscribe(self.notify)

    def notify(self, topic: Topic) -> None:
        """Called by the session (GUI thread); cheap: no Qt signal per message."""
        self._pending |= topic
        self._throttle()

    def _flush(self) -> None:
        topics, self._pending = self._pending, Topic(0)
        if topics:
            self.frames += 1
            self.changed.emit(topics)
