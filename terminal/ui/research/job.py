"""One sweep off the GUI thread: ``work`` (a sweep or a study, with whatever it
reads first; or a walk-forward, whose progress names the fold) in a worker
thread, its trials and progress handed to the event loop's thread in batches
(at most one hand-over per ``FRAME`` seconds however fast trials come), Cancel
through an event the sweep checks between trials."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from terminal.research.sweep import SweepProgress, SweepResult, Trial

FRAME = 0.1  # seconds between hand-overs to the GUI

#: ``work(cancel, progress, on_trial)``, run in the worker thread
Work = Callable[[threading.Event, Callable[[SweepProgress], None], Callable[[Trial], None]], SweepResult]


class Job[R, P]:
    """``start`` runs ``work``; ``on_trials(trials, progress)`` hears each batch on the
    loop's thread; awaiting ``task`` gives the result (or the work's error). ``R`` is
    what the work returns, ``P`` the progress it reports."""

    def __init__(
        self,
        work: Callable[[threading.Event, Callable[[P], None], Callable[[Trial], None]], R],
        on_trials: Callable[[list[Trial], P | None], None],
    ) -> None:
        self.work = work
        self.on_trials = on_trials
        self.cancel_event = threading.Event()
        self._pending: list[Trial] = []
        self._progress: P | None = None
        self._lock = threading.Lock()
        self._last_handover = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[R] | None = None

    def start(self) -> asyncio.Task[R]:
        self._loop = asyncio.get_running_loop()
        self.task = asyncio.ensure_future(self._run())
        return self.task

    def cancel(self) -> None:
        self.cancel_event.set()

    async def _run(self) -> R:
        try:
            return await asyncio.to_thread(self.work, self.cancel_event, self._progressed, self._trial)
        finally:
            self._hand_over()  # what came after the last frame

    # -- worker thread -> loop thread -------------------------------------------------------------
    def _trial(self, trial: Trial) -> None:
        with self._lock:
            self._pending.append(trial)

    def _progressed(self, progress: P) -> None:
        with self._lock:
            self._progress = progress
        now = time.monotonic()
        if now - self._last_handover >= FRAME and self._loop is not None:
            self._last_handover = now
            self._loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            trials, self._pending = self._pending, []
            progress = self._progress
        if trials or progress is not None:
            self.on_trials(trials, progress)


#: a sweep's or a study's job
SweepJob = Job[SweepResult, SweepProgress]
