"""Keeping a live account current: the user-data watches, and polling where
they are missing or failing.

One loop per stream the exchange can watch (``watch_orders``,
``watch_my_trades``, ``watch_balance``, by ``exchange.has``), and one refresh
loop that asks by REST (open orders, the orders that left them, trades,
balances, orders whose answer was lost):

- a stream the exchange cannot watch is **polled**: the refresh runs every
  ``poll_interval`` seconds;
- a watch that fails is retried with exponential back-off and jitter; until
  it is back the refresh runs every ``poll_interval`` too. It is back when
  it delivers, or when the exchange's websocket is connected and subscribed
  again (``connected()``; ccxt's own dial back-off can hold a reconnect for
  up to 30 s after many failed dials), and one refresh then catches up on
  what the stream missed while it was down. A watch called before the
  connection broke that is still waiting once it is back is called again:
  ccxt can leave one waiting on the dead connection for good;
- a watch refused for good (the key lacks the permission, the exchange does
  not support it) is not retried: that stream is polled from then on;
- while the broker has something to find out (``hurry()``: an order whose
  answer was lost) the refresh runs every ``poll_interval`` as well;
- with every stream watched, the refresh still runs every
  ``resync_interval`` seconds as a safety net (an event lost in transit).

Refreshes never run two at a time: a caller that finds one running waits for
it. Failures are logged and retried; nothing here stops the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from terminal.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    NotSupportedError,
    TerminalError,
    describe,
)
from terminal.retry import Backoff
from terminal.tasks import TaskGroup

log = logging.getLogger(__name__)

_REFRESH = "refresh"  # the task slot of the refresh running now
_CHECK_EVERY = 0.25  # seconds between looks at a waiting watch (reconnected? left behind?)


@dataclass(frozen=True)
class SyncSettings:
    poll_interval: float = 2.0
    resync_interval: float = 30.0
    backoff_initial: float = 0.5
    backoff_cap: float = 30.0


@dataclass(frozen=True)
class Stream:
    name: str  # "orders", "trades", "balance"
    watch: Callable[[], Awaitable[Any]]
    handle: Callable[[Any], None]


class AccountSync:
    def __init__(
        self,
        streams: list[Stream],
        polled: list[str],
        refresh: Callable[[], Awaitable[None]],
        settings: SyncSettings,
        label: str,
        hurry: Callable[[], bool] = lambda: False,
        connected: Callable[[], bool] = lambda: False,
    ) -> None:
        self._streams = streams
        self.polled: set[str] = set(polled)  # streams with no watch: the refresh polls them
        self.failing: set[str] = set()  # watches down now, being retried
        self._refresh = refresh
        self._settings = settings
        self._label = label
        self._hurry = hurry
        self._connected = connected
        # the loops and the refresh running now (a loop that dies is logged by the group)
        self._tasks = TaskGroup(f"{label}: live sync", logger=log)
        self._wake = asyncio.Event()
        self._broken_at = 0.0  # when a watch last failed (its connection broke)

    @property
    def state(self) -> str:
        """ "watching", "polling" (some streams) or "reconnecting" (some watches down)."""
        if self.failing:
            return "reconnecting"
        return "polling" if self.polled else "watching"

    def start(self) -> None:
        # Named for the log, should one stop: the account is then no longer kept current.
        for stream in self._streams:
            self._tasks.spawn(
                self._watch_loop(stream), name=f"{self._label}: keeping the account current ({stream.name})"
            )
        self._tasks.spawn(self._refresh_loop(), name=f"{self._label}: keeping the account current (refresh)")

    async def close(self) -> None:
        await self._tasks.close()

    async def refresh_now(self) -> None:
        """One refresh (joining the one running, if any); failures are logged."""
        refreshing = self._tasks.running(_REFRESH)
        if refreshing is None or refreshing.done():
            refreshing = self._tasks.spawn(
                self._guarded_refresh(), name=f"{self._label}: refresh", key=_REFRESH
            )
        await asyncio.shield(refreshing)

    # -- loops ---------------------------------------------------------------------------
    async def _guarded_refresh(self) -> None:
        try:
            await self._refresh()
        except TerminalError as exc:
            log.warning("%s: refreshing the account failed: %s", self._label, describe(exc, detailed=True))

    def _interval(self) -> float:
        settings = self._settings
        if self.polled or self.failing or self._hurry():
            return settings.poll_interval
        return settings.resync_interval

    async def _refresh_loop(self) -> None:
        # The interval is looked at again every short while: a watch failing or an
        # order whose answer was lost must not wait out a long resync interval.
        last = time.monotonic()
        while True:
            self._wake.clear()
            left = last + self._interval() - time.monotonic()
            if left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), min(left, self._settings.poll_interval))
                if not self._wake.is_set() and time.monotonic() < last + self._interval():
                    continue
            await self.refresh_now()
            last = time.monotonic()

    async def _watch_loop(self, stream: Stream) -> None:
        settings = self._settings
        backoff = Backoff(settings.backoff_initial, settings.backoff_cap, jitter=True)
        recovering = False
        while True:
            called = time.monotonic()
            task: asyncio.Future[Any] = asyncio.ensure_future(stream.watch())
            try:
                stale = False
                while not task.done():
                    await asyncio.wait({task}, timeout=_CHECK_EVERY)
                    if task.done() or not self._connected():
                        continue
                    if recovering:
                        recovering = False
                        await self._recovered(stream, backoff)
                    elif called < self._broken_at:
                        # Called before the connection broke and still waiting on a
                        # healthy one: ccxt can leave such a watch on the dead
                        # connection for good. Call it again on the new one.
                        stale = True
                        break
                if stale:
                    continue
                result = await task
            except (TerminalError, KeyError) as exc:
                # KeyError: ccxt 4.5.90 trips over its own cleanup when a user-data
                # subscription is refused (it deletes the subscription twice).
                if self._refused_for_good(exc):
                    log.warning(
                        "%s: %s updates cannot be watched (%s); polling them instead",
                        self._label, stream.name, describe(exc),
                    )  # fmt: skip
                    self.failing.discard(stream.name)
                    self.polled.add(stream.name)
                    self._wake.set()
                    return
                if stream.name not in self.failing:
                    log.warning(
                        "%s: the %s stream failed (%s); polling until it is back",
                        self._label, stream.name, describe(exc),
                    )  # fmt: skip
                self.failing.add(stream.name)
                self._broken_at = time.monotonic()
                recovering = True
                self._wake.set()  # poll now: the stream may have missed something
                await asyncio.sleep(backoff.next())
                continue
            finally:
                if not task.done():
                    task.cancel()
            if recovering:
                recovering = False
                await self._recovered(stream, backoff)
            stream.handle(result)

    async def _recovered(self, stream: Stream, backoff: Backoff) -> None:
        backoff.reset()
        if stream.name in self.failing:
            self.failing.discard(stream.name)
            log.info("%s: the %s stream is back", self._label, stream.name)
        await self.refresh_now()  # what happened while it was down

    @staticmethod
    def _refused_for_good(exc: BaseException) -> bool:
        if isinstance(exc, ClockSkewError):
            return False
        return isinstance(exc, AuthenticationFailedError | NotSupportedError)
