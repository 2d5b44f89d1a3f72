"""One way to run background work on the event loop: a ``TaskGroup``.

Windows, panels, sessions and brokers start tasks they do not wait for at
once (a read, a send, a watch loop) and must still (1) let go of each one
when it ends, (2) say when one fails, and (3) stop and wait for all of them
when they close, so that nothing runs on after its owner and no exception is
lost. Done by hand in each place, every owner did those three a little
differently; here they are done once:

    tasks = TaskGroup("backtest panel", on_error=say_it, logger=log)
    tasks.spawn(read(), name="read the history file")
    tasks.spawn(load(name), name="markets", key="markets")  # newest wins: the previous load is cancelled
    tasks.busy                                              # anything still under way
    tasks.cancel("markets")                                 # one slot, or every task with no key
    await tasks.close()                                     # cancel everything and wait for it

**Failures.** A task that ends with an exception other than
``CancelledError`` is logged with its traceback through the owner's logger
(``logger``) and handed to ``on_error(exc, name)``, where the owner says it in
plain words. Nothing else is needed for a task to be reported, so no
failure goes unseen, and none is reported twice.

**Keys.** A key names a slot that holds one task at a time: spawning with a
key cancels the slot's task, so the newest request wins (a picker's market
load, a session's symbol switch). ``running(key)`` is the slot's task until
it has ended and been reported.

**Order at the end of a task:** ``on_done`` (given to ``spawn``), then the
failure report, then the task leaves the group. So ``busy`` and
``running(key)`` stay true until the owner has put the outcome on screen
(a task is done a moment before asyncio runs its callbacks).

Qt-free; any owner, any layer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Hashable, Iterator
from functools import partial
from typing import Any

from terminal.errors import describe

_log = logging.getLogger(__name__)

OnError = Callable[[BaseException, str], None]  # (the exception, the task's name)
OnDone = Callable[[asyncio.Task[Any]], None]


class TaskGroup:
    def __init__(
        self, name: str, *, on_error: OnError | None = None, logger: logging.Logger | None = None
    ) -> None:
        self.name = name
        self.on_error = on_error
        self._log = logger or _log  # the owner's, so that its failures are logged under its name
        self._tasks: dict[asyncio.Task[Any], OnDone | None] = {}  # every task until it ends, in order
        self._slots: dict[Hashable, asyncio.Task[Any]] = {}  # key -> its newest task

    # -- starting ------------------------------------------------------------------------
    def spawn[T](
        self,
        work: Coroutine[Any, Any, T],
        *,
        name: str = "",
        key: Hashable | None = None,
        on_done: OnDone | None = None,
    ) -> asyncio.Task[T]:
        """Run ``work`` as a task of this group, named ``name`` (the group's name
        if empty). With ``key``: the task in that slot is cancelled first.
        ``on_done(task)`` runs when it ends, however it ends."""
        if key is not None:
            self.cancel(key)
        task = asyncio.get_running_loop().create_task(work, name=name or self.name)
        self._tasks[task] = on_done
        if key is not None:
            self._slots[key] = task
        task.add_done_callback(partial(self._finished, key))
        return task

    # -- looking -------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A task is under way, or ended and not yet reported."""
        return bool(self._tasks)

    def running(self, key: Hashable) -> asyncio.Task[Any] | None:
        """The task in ``key``'s slot, until it has ended and been reported."""
        return self._slots.get(key)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)

    def __repr__(self) -> str:
        return f"<TaskGroup {self.name!r}: {[t.get_name() for t in self._tasks]}>"

    # -- stopping ------------------------------------------------------------------------
    def cancel(self, key: Hashable | None = None) -> list[asyncio.Task[Any]]:
        """Cancel the task in ``key``'s slot, or with no key every task of the
        group; returns those cancelled (to await, when the caller must know
        they have let go). The slot is free at once."""
        if key is None:
            tasks = list(self._tasks)
            self._slots.clear()
        else:
            task = self._slots.pop(key, None)
            tasks = [] if task is None else [task]
        tasks = [t for t in tasks if not t.done()]
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self, *, cancel: bool = True, timeout: float | None = None) -> list[asyncio.Task[Any]]:
        """Stop every task and wait until each has ended and been reported.
        ``cancel=False``: let them finish, for at most ``timeout`` seconds
        (None: as long as they take), and cancel those still running then;
        those are returned (for the owner to say what was given up). Tasks
        spawned meanwhile are stopped too."""
        given_up: list[asyncio.Task[Any]] = []
        if not cancel and self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=timeout)
            given_up = [t for t in self._tasks if t in pending]
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # their done callbacks: reported and let go
        return given_up

    # -- the end of a task ---------------------------------------------------------------
    def _finished(self, key: Hashable | None, task: asyncio.Task[Any]) -> None:
        try:
            on_done = self._tasks.get(task)
            if on_done is not None:
                self._safely(on_done, task)
            if not task.cancelled() and (exc := task.exception()) is not None:
                self.report(exc, task.get_name())
        finally:
            self._tasks.pop(task, None)
            if key is not None and self._slots.get(key) is task:
                del self._slots[key]

    def report(self, exc: BaseException, name: str) -> None:
        """How every failure is told: the log with the traceback, then ``on_error``."""
        self._log.error("%s failed: %s", name, describe(exc, detailed=True), exc_info=exc)
        if self.on_error is not None:
            self._safely(self.on_error, exc, name)

    def _safely(self, hook: Callable[..., object], *args: Any) -> None:
        try:
            hook(*args)
        except Exception:  # noqa: BLE001 - a hook's own bug must not keep the task in the group
            self._log.exception("%s: a task's callback failed", self.name)
