"""Save a changing state at most every so often, in a worker thread.

    saver = ThrottledSave(snapshot=account.to_dict, write=store_it, interval=0.5)
    saver.changed()        # after each change: cheap, never blocks
    await saver.flush()    # on close: saves now if anything changed since the last save

A burst of changes (a hundred fills a second) costs one save per
``interval``, not one each. ``snapshot`` runs on the event loop's thread,
where the state is changed, so it sees one consistent state; ``write`` gets
what it returned in a worker thread (it must be plain data that nothing else
changes). A snapshot costs the loop's thread time in proportion to the state
(a paper account of 5,000 orders: ~28 ms), so saves are also spaced so that
snapshots take at most ``max_share`` of that thread's time: a big state is
saved less often than every ``interval`` (``flush`` still saves at once).
Saves never overlap and land in the order taken. A failed save is
logged (once until one succeeds again) and the state stays due: the next
change, or ``flush``, tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from terminal.errors import describe

log = logging.getLogger(__name__)


class ThrottledSave[T]:
    def __init__(
        self,
        snapshot: Callable[[], T],
        write: Callable[[T], None],
        interval: float = 0.5,
        what: str = "state",
        max_share: float = 0.05,
    ) -> None:
        self._snapshot = snapshot
        self._write = write
        self.interval = interval
        self.max_share = max_share
        self._gap = interval  # between saves: ``interval``, or longer for a costly snapshot
        self.what = what
        self.saves = 0  # successful saves, for tests and the log
        self.error: Exception | None = None  # the last save's failure, until one succeeds
        self._dirty = False
        self._last = float("-inf")  # loop time of the last save
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()
        self._saving = asyncio.Lock()

    @property
    def dirty(self) -> bool:
        return self._dirty

    def changed(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop: the next flush saves
            self._task = loop.create_task(self._run(), name=f"save {self.what}")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            wait = self._last + self._gap - loop.time()
            if wait > 0 and not self._hurry.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), wait)
            if not await self._save_now():
                return  # the next change (or flush) tries again, after ``interval``

    async def _save_now(self) -> bool:
        # One save at a time, snapshot taken inside: an older state can never
        # land after a newer one (flush and the timer may both be saving).
        async with self._saving:
            if not self._dirty:
                return self.error is None
            self._dirty = False
            started = time.perf_counter()
            data = self._snapshot()
            self._gap = max(self.interval, (time.perf_counter() - started) / self.max_share)
            try:
                await asyncio.to_thread(self._write, data)
            except Exception as exc:  # noqa: BLE001 - a failed save is reported, and retried later
                self._dirty = True
                if self.error is None:
                    log.warning("Saving the %s failed: %s", self.what, describe(exc, detailed=True))
                self.error = exc
                return False
            finally:
                self._last = asyncio.get_running_loop().time()
            if self.error is not None:
                log.info("The %s is saved again.", self.what)
            self.error = None
            self.saves += 1
            return True

    async def flush(self) -> bool:
        """Save now if anything changed since the last save (waiting for a save
        under way first); True if everything is saved."""
        self._hurry.set()
        try:
            task = self._task
            if task is not None and not task.done():
                await asyncio.gather(task, return_exceptions=True)
            return await self._save_now()
        finally:
            self._hurry.clear()
