"""Feed health: state, last-message age and message rate, as the status bar shows them.

Each stream (candles, book, trades, a ticker, the session itself) keeps its
own state, so a failing book feed is not hidden by a healthy trade feed: the
overall state is the worst stream's, and the reason names that stream. A
stream the exchange refused (a delisted watchlist symbol) is REFUSED: it is
shown where its symbol is shown and does not count in the overall state.
"""

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
    REFUSED = "refused"  # the exchange refused this one stream; not part of the overall state


#: Worse states first: the overall state is the first one any stream is in.
SEVERITY = (
    FeedState.STOPPED,
    FeedState.FAILED,
    FeedState.RECONNECTING,
    FeedState.STALE,
    FeedState.CONNECTING,
    FeedState.LIVE,
)


class FeedHealth:
    """Counts messages in one-second buckets; a feed with no message for
    ``stale_after`` seconds reads as STALE until the next one arrives."""

    def __init__(self, stale_after: float = 10.0) -> None:
        self.stale_after = stale_after
        self._streams: dict[str, tuple[FeedState, str]] = {}
        self.last_message: float | None = None
        self.total = 0
        self._buckets: deque[list[int]] = deque(maxlen=4)  # [second, count]

    def message(self, stream: str, count: int = 1) -> None:
        """``stream`` delivered ``count`` messages: it is live."""
        now = time.monotonic()
        self.last_message = now
        self.total += count
        second = int(now)
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += count
        else:
            self._buckets.append([second, count])
        self._streams[stream] = (FeedState.LIVE, "")

    def set(self, stream: str, state: FeedState, reason: str = "") -> None:
        self._streams[stream] = (state, reason)

    def forget(self, stream: str) -> None:
        """The stream ended on purpose (symbol switch): it no longer counts."""
        self._streams.pop(stream, None)

    def stream_state(self, stream: str) -> FeedState | None:
        entry = self._streams.get(stream)
        return None if entry is None else entry[0]

    def refusals(self) -> dict[str, str]:
        """Streams the exchange refused, with why."""
        return {name: reason for name, (state, reason) in self._streams.items() if state is FeedState.REFUSED}

    def _worst(self) -> tuple[FeedState, str, str]:
        counted = {k: v for k, v in self._streams.items() if v[0] is not FeedState.REFUSED}
        if not counted:
            return (FeedState.LIVE, "", "") if self._streams else (FeedState.CONNECTING, "", "")
        stream, (state, reason) = min(counted.items(), key=lambda item: SEVERITY.index(item[1][0]))
        return state, reason, stream

    @property
    def state(self) -> FeedState:
        state = self._worst()[0]
        age = self.age()
        if state is FeedState.LIVE and age is not None and age > self.stale_after:
            return FeedState.STALE
        return state

    @property
    def reason(self) -> str:
        """Why the worst stream is not live, naming the stream ("" when all are live)."""
        _, reason, stream = self._worst()
        if not reason:
            return ""
        return f"{stream}: {reason}" if stream else reason

    def age(self) -> float | None:
        """Seconds since the last message, or None before the first."""
        return None if self.last_message is None else time.monotonic() - self.last_message

    def rate(self) -> float:
        """Messages per second over the last two whole seconds."""
        now = int(time.monotonic())
        return sum(c for s, c in self._buckets if now - 2 <= s < now) / 2.0
