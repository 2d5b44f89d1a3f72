"""A long job in a panel: what it is doing, how far it got, and Cancel.

    runner = JobRunner(JobBar(parent))
    runner.finished.connect(show_outcome)        # (outcome, message)
    runner.run("Downloading BTC/USDT 1m", lambda: download(runner))

The job is an asyncio task on the GUI loop; network work awaits there, and
blocking work (SQLite, CSV parsing) goes to a worker thread through
``runner.in_worker``, so the window never freezes. Cancel cancels the task.
A worker thread cannot be interrupted from outside, so cancelling also sets
a flag that the worker's progress callback (``runner.thread_progress``)
turns into an exception at its next report, and the job waits until the
thread has really stopped: when the panel says "cancelled", nothing is still
writing behind its back. A step that cannot stop half way (one database
transaction) runs with Cancel disabled (``runner.uncancellable``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from terminal.errors import TerminalError, describe
from terminal.tasks import TaskGroup

log = logging.getLogger(__name__)
T = TypeVar("T")

DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
_STEPS = 1000  # progress bar resolution


class JobStoppedError(Exception):
    """Raised inside a worker thread whose job was cancelled."""


class JobBar(QWidget):
    """A label, a progress bar and a Cancel button; hidden while idle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, _STEPS)
        self.bar.setMaximumWidth(320)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self.hide()

    def begin(self, text: str) -> None:
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy until the first report
        self.cancel_button.setEnabled(True)
        self.show()

    def report(self, fraction: float | None, text: str | None = None) -> None:
        if text is not None:
            self.label.setText(text)
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, _STEPS)
            self.bar.setValue(round(max(0.0, min(1.0, fraction)) * _STEPS))

    def end(self) -> None:
        self.hide()


class JobRunner(QObject):
    """Runs one job at a time on a ``JobBar``; ``finished(outcome, message)``
    tells how it ended (``DONE``, ``FAILED`` or ``CANCELLED``, in plain words)."""

    finished = Signal(str, str)

    def __init__(self, bar: JobBar, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bar = bar
        self.task: asyncio.Task[str] | None = None
        self.title = ""
        #: what the user is told if the job is cancelled (a job may refine it)
        self.cancel_note = ""
        self._stop = threading.Event()
        self._active = False
        self._jobs = TaskGroup("data jobs", on_error=self._failed, logger=log)
        bar.cancel_button.clicked.connect(self.cancel)

    @property
    def busy(self) -> bool:
        """From ``run`` until ``finished`` has been emitted (a task is done a
        moment before its done-callback runs)."""
        return self._active

    def run(self, title: str, job: Callable[[], Coroutine[Any, Any, str]]) -> asyncio.Task[str] | None:
        """Start ``job`` (its result is the message shown when it succeeds);
        None if another job is still running."""
        if self.busy:
            return None
        self.title = title
        self.cancel_note = f"{title}: cancelled."
        self._stop.clear()
        self.bar.begin(f"{title}…")
        self._active = True
        self.task = self._jobs.spawn(job(), name=title, on_done=self._done)
        return self.task

    def cancel(self) -> None:
        if self.busy and self.bar.cancel_button.isEnabled():
            assert self.task is not None
            self.bar.label.setText(f"{self.title}: cancelling…")
            self.task.cancel()

    async def shutdown(self) -> None:
        """Cancel the running job and wait until it has stopped."""
        await self._jobs.close()

    # -- tools for jobs ----------------------------------------------------------------
    def progress(self, fraction: float | None, text: str | None = None) -> None:
        """Report from the GUI thread."""
        self.bar.report(fraction, text)

    def thread_progress(self, text: str | None = None) -> Callable[[float], None]:
        """A progress callback for a worker thread; it raises ``JobStoppedError``
        once the job is cancelled, which stops the worker at that point."""
        loop = asyncio.get_running_loop()

        def report(fraction: float) -> None:
            if self._stop.is_set():
                raise JobStoppedError
            loop.call_soon_threadsafe(self.bar.report, fraction, text)

        return report

    async def in_worker(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a worker thread. If the job is
        cancelled meanwhile, the worker is told to stop and waited for: if it
        stopped, the job ends cancelled; if it had finished its work already,
        that work stands and the job goes on (a later step then stops)."""
        if self._stop.is_set():
            raise asyncio.CancelledError
        future = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            self._stop.set()
            await asyncio.wait([future])
            if future.exception() is not None:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the cancel came too late for this step: say what it did
            return future.result()

    @contextmanager
    def uncancellable(self, text: str) -> Iterator[None]:
        """A step that must finish once begun (one transaction): Cancel is off meanwhile."""
        self.bar.cancel_button.setEnabled(False)
        self.bar.report(None, text)
        try:
            yield
        finally:
            self.bar.cancel_button.setEnabled(True)

    # -- the end ------------------------------------------------------------------------
    def _done(self, task: asyncio.Task[Any]) -> None:
        """However the job ended; a failure is then told by ``_failed`` (the group logged it)."""
        self._active = False
        self.bar.end()
        if task.cancelled():
            log.info("%s", self.cancel_note)
            self.finished.emit(CANCELLED, self.cancel_note)
        elif task.exception() is None:
            message = task.result()
            log.info("%s", message)
            self.finished.emit(DONE, message)

    def _failed(self, exc: BaseException, _name: str) -> None:
        reason = exc.user_message() if isinstance(exc, TerminalError) else describe(exc)
        self.finished.emit(FAILED, f"{self.title} failed: {reason}")
