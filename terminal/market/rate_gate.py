"""One cool-down per exchange, awaited by every HTTP request made to it.

An exchange limits an account or an IP, not one stream: after a refusal
(HTTP 429, 418, or the exchange's own rate-limit code) nothing may be sent
to it until the cool-down ends, whoever asks. ``CcxtSource`` installs the
gate in ccxt's own ``fetch``, so it holds for the terminal's REST calls and
for what ccxt sends by itself (the websocket order book's snapshot and its
immediate retries of it), which no wrapper around the public methods sees.

The cool-down is the exchange's ``Retry-After`` when it sends one, else an
exponential back-off that doubles with each refusal in a row and resets on
the first request that passes.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import weakref
from collections.abc import Mapping
from datetime import UTC
from typing import Any

log = logging.getLogger(__name__)

COOLDOWN_START_S = 2.0
COOLDOWN_MAX_S = 60.0
RETRY_AFTER_MAX_S = 600.0  # a Retry-After beyond this is taken as a mistake, not obeyed for hours


class RateGate:
    def __init__(self, name: str, start_s: float = COOLDOWN_START_S, max_s: float = COOLDOWN_MAX_S) -> None:
        self.name = name
        self._start = start_s
        self._max = max_s
        self._next = start_s  # the back-off of the next refusal without Retry-After
        self._until = 0.0  # monotonic time before which nothing is sent
        self.refusals = 0  # refusals seen, for the log and tests

    def remaining(self) -> float:
        """Seconds of cool-down left (0 when requests may go)."""
        return max(0.0, self._until - time.monotonic())

    async def wait(self) -> None:
        """Return when a request may go; the cool-down may grow while waiting."""
        while (left := self.remaining()) > 0:
            await asyncio.sleep(left)

    def refused(self, retry_after: float | None) -> float:
        """The exchange refused a request for its rate: start (or extend) the
        cool-down. Returns its length in seconds."""
        self.refusals += 1
        if retry_after is not None and retry_after > 0:
            delay = min(retry_after, RETRY_AFTER_MAX_S)
        else:
            delay = self._next
        self._next = min(self._next * 2, self._max)
        self._until = max(self._until, time.monotonic() + delay)
        log.warning("%s is rate limiting; no request goes out for %.1f s", self.name, delay)
        return delay

    def passed(self) -> None:
        """A request went through: the back-off starts over."""
        self._next = self._start


_gates: weakref.WeakValueDictionary[str, RateGate] = weakref.WeakValueDictionary()


def shared_gate(key: str, name: str) -> RateGate:
    """The gate of ``key`` (an exchange and the hosts it is reached at), shared
    by every source of it alive in this process: the chart's and the live
    account's instances of one exchange wait out one cool-down."""
    gate = _gates.get(key)
    if gate is None:  # the module's cool-downs as they are now (a test may shorten them)
        gate = _gates[key] = RateGate(name, COOLDOWN_START_S, COOLDOWN_MAX_S)
    return gate


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds from an HTTP ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    return seconds if seconds > 0 else None


def install_gate(exchange: Any, gate: RateGate, limited: tuple[type[Exception], ...]) -> None:
    """Put ``gate`` in front of ccxt's one HTTP method (``fetch``), on this instance:
    every request waits out the cool-down, and a refusal of class ``limited``
    (ccxt's DDoSProtection and RateLimitExceeded) starts one, as long as the
    answer's ``Retry-After`` asks or else by back-off. The refusal is marked
    with ``terminal_cooldown`` (seconds) so that it is not counted twice."""
    fetch = exchange.fetch

    async def gated_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        await gate.wait()
        exchange.last_response_headers = None
        try:
            result = await fetch(url, method, headers, body)
        except limited as exc:
            exc.terminal_cooldown = gate.refused(retry_after(exchange.last_response_headers))  # type: ignore[attr-defined]
            raise
        gate.passed()
        return result

    exchange.fetch = gated_fetch
