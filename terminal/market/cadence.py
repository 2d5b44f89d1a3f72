"""How often each stream usually speaks, so that silence is judged by the
stream's own pace.

A fixed silence limit (10 s) is right for a quiet market but far too long for
a busy one: at hundreds of book updates a second, a book frozen for 9 s (a
receive loop killed by a malformed frame, which ccxt's ping watchdog catches
only after two missed pongs) was still drawn as live. Each stream keeps a
moving average of the time between its answers; it reads as stale after
``FACTOR`` times that, never sooner than ``FLOOR_S`` (a quiet spell of a
normal market must not flicker) and never later than the fixed limit.
"""

from __future__ import annotations

import time

FACTOR = 10.0
FLOOR_S = 2.0
WEIGHT = 0.1  # of the newest interval in the moving average


class Cadence:
    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._interval: dict[str, float] = {}

    def arrived(self, stream: str, now: float | None = None) -> None:
        """``stream`` answered (at ``now``, monotonic seconds)."""
        now = time.monotonic() if now is None else now
        last = self._last.get(stream)
        self._last[stream] = now
        if last is not None:
            gap = now - last
            old = self._interval.get(stream)
            self._interval[stream] = gap if old is None else old + WEIGHT * (gap - old)

    def stale_after(self, stream: str, limit: float) -> float:
        """Seconds of silence after which ``stream`` reads as stale (at most ``limit``)."""
        interval = self._interval.get(stream)
        if interval is None:
            return limit
        return min(limit, max(FLOOR_S, FACTOR * interval))

    def forget(self, stream: str) -> None:
        """The stream starts over (a new symbol or timeframe: another pace)."""
        self._last.pop(stream, None)
        self._interval.pop(stream, None)
