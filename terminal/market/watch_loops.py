"""The loops that keep a market session's streams alive.

A watch loop runs one stream's ``body`` (one ``watch_*`` call and what the
session does with its answer) again and again. It reports every failure in
the feed's health, backs off with jitter, and tries again, unless the error
says that retrying cannot help: a refused subscription (REFUSED) or a
permanent fault (FAILED) stop that stream alone. A stream that must not go
quiet has a silence watchdog: stale after its own usual pace of silence
(``cadence.py``), and after ``SILENCES_BEFORE_RECONNECT`` times the fixed
limit the source is told to reconnect that stream only.

Qt-free; listeners hear of each change through ``notify`` after the health
is marked, so they see it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from terminal.errors import (
    AuthenticationFailedError,
    BookOutOfSyncError,
    ExchangeClosedError,
    NotSupportedError,
    SubscriptionRefusedError,
    TerminalError,
    UnknownSymbolError,
    UnsupportedTimeframeError,
    describe,
)
from terminal.market.cadence import Cadence
from terminal.market.health import FeedHealth, FeedState
from terminal.market.topics import Topic
from terminal.retry import Backoff, retrying, transient

log = logging.getLogger(__name__)
T = TypeVar("T")

Handled = tuple[int, Topic]  # what one pass of a watch loop did: messages handled, topics changed
Carries = tuple[str, str]  # the (kind, symbol) a loop's stream carries, for a reconnect of it alone

SILENCES_BEFORE_RECONNECT = 2

#: Errors that retrying cannot fix: the loop stops and says why.
PERMANENT_ERRORS: tuple[type[TerminalError], ...] = (
    UnknownSymbolError,
    UnsupportedTimeframeError,
    NotSupportedError,
    AuthenticationFailedError,
)


class WatchLoops:
    """Runs a session's watch loops and its retried one-off calls, reporting
    in ``health`` and telling ``notify``. The silence watchdog calls the
    ``source``'s ``reconnect(kind, symbol)``, when it has one, to drop one
    stream's connection (looked up when needed, as a test may wrap it)."""

    def __init__(
        self,
        health: FeedHealth,
        notify: Callable[[Topic], None],
        source: object,
        closed: Callable[[], bool],
        on_gap: Callable[[Carries], None] = lambda carries: None,
    ) -> None:
        self.health = health
        # A stream that broke (a failed watch, a reconnect of a silent one): what it carried may
        # have moved meanwhile, so its next message is no continuation of the last (alerts take
        # it as a new reference). Silence alone is no break, nor a book resync (no prices in it).
        self._on_gap = on_gap
        self._notify = notify
        self._source = source
        self._closed = closed
        self._cadence = Cadence()  # each stream's usual pace, for its silence watchdog

    def forget(self, name: str) -> None:
        """A loop that was stopped on purpose: drop its health and its pace."""
        self.health.forget(name)
        self._cadence.forget(name)

    async def retrying(self, stream: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()`` until it succeeds; transient exchange failures (network,
        rate limit, timeout, garbage answers) are reported and retried with
        back-off, anything else is raised. An unreachable exchange is thus
        waited for, and the session recovers by itself when it is back."""

        def report(exc: Exception, delay: float) -> None:
            self.health.set(stream, FeedState.RECONNECTING, describe(exc))
            log.warning("%s: %s Retrying in %.1f s.", stream, describe(exc, detailed=True), delay)
            self._notify(Topic.STATUS)

        return await retrying(attempt, Backoff(jitter=True), retry_on=transient, on_retry=report)

    async def forever(
        self,
        name: str,
        body: Callable[[], Awaitable[Handled]],
        silence: float | None,
        carries: Carries = ("", ""),
    ) -> None:
        """Run ``body`` again and again; on failure report, back off, retry.

        With ``silence`` (seconds), a watch that brings nothing for that long
        is reported stale, and reconnected after SILENCES_BEFORE_RECONNECT of
        those (a server that went quiet but still answers pings would
        otherwise keep the stream frozen).
        """
        backoff = Backoff(jitter=True)
        while not self._closed():
            try:
                count, topic = await self._watched(name, body, silence, carries)
                backoff.reset()
                if count:
                    self.health.message(name, count)
                if topic:
                    self._notify(topic)
            except asyncio.CancelledError:
                raise
            except ExchangeClosedError:
                return  # closed on purpose: nothing to report
            except SubscriptionRefusedError as exc:
                self.health.set(name, FeedState.REFUSED, exc.user_message())
                log.error("%s stopped: %s [%s]", name, exc.user_message(), exc.detail)
                self._notify(Topic.STATUS | Topic.TICKERS)
                return
            except PERMANENT_ERRORS as exc:
                self.health.set(name, FeedState.FAILED, exc.user_message())
                log.error("%s stopped: %s", name, exc.user_message())
                self._notify(Topic.STATUS)
                return
            except BookOutOfSyncError as exc:
                # The source resyncs from a fresh snapshot on the next watch: no
                # wait the first time; if resyncs fail in a row, the back-off
                # (a watch can fail at once again, and must not spin).
                self.health.set(name, FeedState.RECONNECTING, exc.user_message())
                log.warning("%s: %s", name, exc.user_message())
                self._notify(Topic.STATUS)
                delay = backoff.next()
                if backoff.attempt > 1:
                    await asyncio.sleep(delay)
            except Exception as exc:  # any other failure: report, back off, retry
                self._on_gap(carries)
                delay = backoff.next()
                self.health.set(name, FeedState.RECONNECTING, describe(exc))
                reason = describe(exc, detailed=True)  # the log gets the technical detail too
                # Our own errors are expected faults; anything else may be a bug,
                # so it goes to the log with its traceback.
                log.warning(
                    "%s failed (%s); retrying in %.1f s", name, reason, delay,
                    exc_info=not isinstance(exc, TerminalError),
                )  # fmt: skip
                self._notify(Topic.STATUS)
                await asyncio.sleep(delay)

    async def _watched(
        self,
        name: str,
        body: Callable[[], Awaitable[Handled]],
        silence: float | None,
        carries: Carries,
    ) -> Handled:
        """One pass of ``body``, under the silence watchdog when ``silence`` is set."""
        if silence is None:
            return await body()
        attempt = asyncio.ensure_future(body())
        timeout = self._cadence.stale_after(name, silence)
        reconnect_after = silence * SILENCES_BEFORE_RECONNECT
        waited = 0.0
        try:
            while True:
                done, _ = await asyncio.wait({attempt}, timeout=timeout)
                if done:
                    self._cadence.arrived(name)
                    return attempt.result()
                waited += timeout
                self.health.set(name, FeedState.STALE, f"no data for {waited:.0f} s")
                self._notify(Topic.STATUS)
                reconnect = getattr(self._source, "reconnect", None)
                if waited >= reconnect_after - 1e-6 and reconnect is not None:
                    log.warning("%s: no data for %.0f s; reconnecting it", name, waited)
                    self._on_gap(carries)
                    await reconnect(*carries)
                    waited = 0.0
                timeout = min(silence, reconnect_after - waited)
        finally:
            if not attempt.done():
                attempt.cancel()
