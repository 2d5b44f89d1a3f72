"""Backtests one at a time, off the event loop's thread, with progress and cancel.

    queue = BacktestQueue(listener=on_change)          # on_change(job), on the loop
    job = queue.submit(candles, SmaCross, {"fast": 10}, settings, title="SMA cross")
    queue.cancel(job)                                  # queued or running
    result = await job                                 # BacktestResult, or raises

Submitted runs wait in a FIFO and execute one after the other in a worker
thread (``asyncio.to_thread``): the numba kernels release the GIL, so the
loop (and a GUI on it) keeps running. ``candles`` may be a function that
reads them (e.g. from the history store): it is called in the worker, in
queue order, so a second run's read never overtakes the first run.

Progress reaches the loop through ``loop.call_soon_threadsafe``, coalesced
to whole percents. Cancelling a queued run removes it; cancelling a running
one sets its ``threading.Event``, which the engine checks between stages and
between chunks of bars: the job ends ``CANCELLED`` once the worker has
really stopped, never before (nothing runs behind the caller's back).

Every outcome is in ``job.state`` and is told to the listener; awaiting a
job gives the result or raises the run's error (``BacktestCancelled`` for a
cancelled one). Qt-free: the GUI, tests and scripts use the same queue.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from terminal.backtest.errors import BacktestCancelled
from terminal.backtest.result import BacktestResult
from terminal.backtest.runner import CancelToken, Progress, run_backtest
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.errors import describe
from terminal.marketdata.candles import OHLCV

log = logging.getLogger(__name__)

Candles = OHLCV | Callable[[], OHLCV]
Runner = Callable[..., BacktestResult]  # run_backtest's signature


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Stage(StrEnum):
    WAITING = "waiting"
    READING = "reading candles"
    RUNNING = "running"
    CANCELLING = "cancelling"
    ENDED = "ended"


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


@dataclass(eq=False)
class BacktestJob:
    """One submitted run. Fields change on the loop's thread only."""

    id: int
    title: str
    candles: Candles
    strategy: Strategy[Any] | StrategyClass | str
    params: StrategyParams | Mapping[str, Any] | None
    settings: BacktestSettings
    future: asyncio.Future[BacktestResult]
    state: JobState = JobState.QUEUED
    stage: Stage = Stage.WAITING
    progress: float | None = 0.0  # 0..1 of the run; None while it cannot be told (reading)
    error: BaseException | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def result(self) -> BacktestResult | None:
        """The result once DONE, else None."""
        if self.state is JobState.DONE:
            return self.future.result()
        return None

    def __await__(self) -> Generator[Any, None, BacktestResult]:
        # Shielded: a caller cancelled while it waits must not cancel the job's
        # future (the queue still owns the job and sets its outcome).
        return asyncio.shield(self.future).__await__()


class BacktestQueue:
    """Runs submitted backtests one at a time in a worker thread, in order."""

    def __init__(
        self,
        listener: Callable[[BacktestJob], None] | None = None,
        *,
        runner: Runner = run_backtest,
    ) -> None:
        self.listener = listener
        self.runner = runner  # tests and benchmarks may wrap run_backtest
        self._pending: collections.deque[BacktestJob] = collections.deque()
        self._running: BacktestJob | None = None
        self._drain: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    # -- what is there ---------------------------------------------------------------
    @property
    def jobs(self) -> list[BacktestJob]:
        """The running job (first) and the queued ones, in the order they will run."""
        return ([self._running] if self._running is not None else []) + list(self._pending)

    @property
    def running(self) -> BacktestJob | None:
        return self._running

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._pending)

    # -- asking -------------------------------------------------------------------------
    def submit(
        self,
        candles: Candles,
        strategy: Strategy[Any] | StrategyClass | str,
        params: StrategyParams | Mapping[str, Any] | None = None,
        settings: BacktestSettings | None = None,
        *,
        title: str = "",
    ) -> BacktestJob:
        """Queue a run (``run_backtest``'s arguments); it starts when those before it ended."""
        loop = asyncio.get_running_loop()
        job = BacktestJob(
            id=next(self._ids),
            title=title or _title(strategy),
            candles=candles,
            strategy=strategy,
            params=params,
            settings=settings or BacktestSettings(),
            future=loop.create_future(),
        )
        # The outcome is always reported through state and listener, so an
        # error nobody awaits is not lost; retrieving it here keeps asyncio from
        # logging "exception was never retrieved" for such a job.
        job.future.add_done_callback(_retrieve)
        self._pending.append(job)
        self._tell(job)
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._run_all(), name="backtest queue")
        return job

    def cancel(self, job: BacktestJob) -> bool:
        """Cancel a queued or running job; False if it had already finished."""
        if job.finished:
            return False
        if job in self._pending:
            self._pending.remove(job)
            self._finish(job, JobState.CANCELLED, error=BacktestCancelled())
            return True
        job.cancel_event.set()  # the worker stops at its next check
        if job.stage is not Stage.CANCELLING:
            job.stage = Stage.CANCELLING
            self._tell(job)
        return True

    def cancel_all(self) -> None:
        for job in reversed(self.jobs):  # queued ones first, so none starts meanwhile
            self.cancel(job)

    async def shutdown(self) -> None:
        """Cancel everything and wait until the worker thread has stopped."""
        self.cancel_all()
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)

    # -- the worker -----------------------------------------------------------------------
    async def _run_all(self) -> None:
        while self._pending:
            job = self._pending.popleft()
            self._running = job
            job.state, job.stage = JobState.RUNNING, Stage.RUNNING
            if callable(job.candles):
                job.stage, job.progress = Stage.READING, None
            self._tell(job)
            try:
                # Not cancelled from outside: a worker thread cannot be stopped
                # that way, only through its event (see cancel and shutdown).
                result = await asyncio.shield(asyncio.to_thread(self._work, job, self._reporter(job)))
            except BacktestCancelled as exc:
                self._running = None
                self._finish(job, JobState.CANCELLED, error=exc)
            except Exception as exc:  # noqa: BLE001 (any failure of a run is its outcome, not the queue's)
                log.warning("Backtest %r failed: %s", job.title, describe(exc, detailed=True))
                self._running = None
                self._finish(job, JobState.FAILED, error=exc)
            else:
                self._running = None
                self._finish(job, JobState.DONE, result=result)

    def _work(self, job: BacktestJob, progress: Progress) -> BacktestResult:
        """In the worker thread: read the candles if asked, then run."""
        candles = job.candles
        if callable(candles):
            candles = candles()
            if job.cancel_event.is_set():
                raise BacktestCancelled()
        cancel: CancelToken = job.cancel_event
        return self.runner(candles, job.strategy, job.params, job.settings, progress=progress, cancel=cancel)

    def _reporter(self, job: BacktestJob) -> Progress:
        """A progress callback for the worker thread: hands whole-percent steps to the loop."""
        loop = asyncio.get_running_loop()
        last = [-1]

        def report(fraction: float) -> None:
            percent = int(fraction * 100)
            if percent != last[0]:
                last[0] = percent
                loop.call_soon_threadsafe(self._progress, job, fraction)

        return report

    def _progress(self, job: BacktestJob, fraction: float) -> None:
        if job.finished:
            return  # a report that was on its way when the job ended
        if job.stage is Stage.READING:
            job.stage = Stage.RUNNING
        job.progress = fraction
        self._tell(job)

    def _finish(
        self,
        job: BacktestJob,
        state: JobState,
        *,
        result: BacktestResult | None = None,
        error: BaseException | None = None,
    ) -> None:
        job.state, job.stage, job.error = state, Stage.ENDED, error
        if state is JobState.DONE:
            job.progress = 1.0
        if not job.future.done():
            if error is not None:
                job.future.set_exception(error)
            else:
                assert result is not None
                job.future.set_result(result)
        self._tell(job)

    def _tell(self, job: BacktestJob) -> None:
        if self.listener is None:
            return
        try:
            self.listener(job)
        except Exception:  # a broken listener must not stop the queue (its jobs would hang)
            log.exception("A backtest queue listener failed on job %r", job.title)


def _title(strategy: Strategy[Any] | StrategyClass | str) -> str:
    if isinstance(strategy, str):
        return strategy
    return str(getattr(strategy, "name", type(strategy).__name__))


def _retrieve(future: asyncio.Future[BacktestResult]) -> None:
    if not future.cancelled():
        future.exception()
