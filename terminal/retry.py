"""One way to wait and try again: a ``Backoff`` policy and ``retrying``.

Every place that retries (a session's watch loops and its market loads, a
history download's pages, the live broker's repeatable calls, the live
account's watches and lookups) waits the same way: a first delay that grows
by ``factor`` with each failure in a row up to ``cap``, and ``reset()`` after
a success. With ``jitter`` each wait is drawn uniformly from the upper half
of that delay ([d/2, d]), so that many clients that failed together do not
all come back at the same instant; without it (the default) the delays are
exact, which tests can count on.

    backoff = Backoff(first=0.5, cap=30.0, jitter=True)
    page = await retrying(fetch, backoff, retry_on=is_transient, attempts=4, on_retry=say)

Qt-free, no I/O of its own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from terminal.errors import ExchangeError


class Backoff:
    def __init__(
        self,
        first: float = 0.5,
        cap: float = 30.0,
        *,
        factor: float = 2.0,
        jitter: bool = False,
        rng: random.Random | None = None,
    ) -> None:
        self.first = first
        self.cap = cap
        self.factor = factor
        self.jitter = jitter
        self.attempt = 0  # waits handed out since the last reset
        self._rng = rng or random.Random()

    def next(self) -> float:
        """Seconds to wait before the next attempt (and count this one)."""
        ceiling = min(self.cap, self.first * self.factor**self.attempt)
        self.attempt += 1
        if not self.jitter:
            return ceiling
        return ceiling / 2 + self._rng.random() * ceiling / 2

    def reset(self) -> None:
        """After a success: the next failure waits the first delay again."""
        self.attempt = 0


def transient(exc: BaseException) -> bool:
    """An exchange failure that may pass by itself (network, rate limit, timeout,
    a garbage answer): the usual ``retry_on``."""
    return isinstance(exc, ExchangeError) and exc.transient


async def retrying[T](
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    *,
    retry_on: Callable[[Exception], bool],
    attempts: int | None = None,
    on_retry: Callable[[Exception, float], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """``call()`` until it succeeds. A failure that ``retry_on`` accepts is
    told to ``on_retry(exc, delay)`` and tried again after the back-off's
    next delay; any other failure, or the last of ``attempts`` (None: no
    limit), is raised. Cancellation is never retried."""
    failures = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            failures += 1
            if not retry_on(exc) or (attempts is not None and failures >= attempts):
                raise
            delay = backoff.next()
            if on_retry is not None:
                on_retry(exc, delay)
            await sleep(delay)
