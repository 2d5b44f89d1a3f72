"""Feed health: state, last-message age and message rate, as the status bar shows them."""

from __future__ import annotations

import time
from collections import deque
from enum import StrEnum


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"


class FeedHealth:
    """Counts messages in one-second buckets; a feed with no message for
    ``stale_after`` seconds reads as STALE until the next one arrives."""

    def __init__(self, stale_after: float = 10.0) -> None:
        self.stale_after = stale_after
        self._state = FeedState.CONNECTING
        self.reason = ""
        self.last_message: float | None = None
        self.total = 0
        self._buckets: deque[list[int]] = deque(maxlen=4)  # [second, count]

    def message(self, count: int = 1) -> None:
        now = time.monotonic()
        self.last_message = now
        self.total += count
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        if self._state is not FeedState.STOPPED:
            self._state = FeedState.LIVE
            self.reason = ""

    def set(self, state: FeedState, reason: str = "") -> None:
        self._state = state
        self.reason = reason

    @property
    def state(self) -> FeedState:
        age = self.age()
        if self._state is FeedState.LIVE and age is not None and age > self.stale_after:
            return FeedState.STALE
        return self._state

    def age(self) -> float | None:
        """Seconds since the last message, or None before the first."""
        return None if self.last_message is None else time.monotonic() - self.last_message

    def rate(self) -> float:
        """Messages per second over the last two whole seconds."""
        now = int(time.monotonic())
        return sum(c for s, c in self._buckets if now - 2 <= s < now) / 2.0
