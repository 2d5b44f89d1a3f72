"""The backtest queue: one run at a time, in order, in a worker thread; progress
on the loop's thread; cancel of queued and running runs; failures as outcomes.

Each test runs its own asyncio loop (``asyncio.run``): the queue is Qt-free.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from terminal.backtest.engine import CHUNK_BARS
from terminal.backtest.errors import BacktestCancelled, BacktestError
from terminal.backtest.queue import BacktestJob, BacktestQueue, JobState, Stage
from terminal.backtest.result import BacktestResult
from terminal.backtest.runner import run_backtest
from terminal.backtest.strategies import SmaCross
from terminal.marketdata.candles import OHLCV
from tests.backtest.backtest_scenarios import random_candles
from tests.conftest import run, wait_until

SMALL = random_candles(np.random.default_rng(1), 2_000)
BIG = random_candles(np.random.default_rng(2), 6 * CHUNK_BARS)  # six chunks of the position loop


class Recorder:
    """A runner around run_backtest that records when each run starts and ends
    and may hold every progress report for ``pause`` seconds (so that a run
    lasts long enough to be watched and cancelled while it is in its loop)."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.events: list[tuple[str, int, int]] = []  # (what, length of candles, thread id)
        self.started = threading.Event()

    def __call__(self, candles: OHLCV, *args: Any, progress: Any, cancel: Any) -> BacktestResult:
        self.events.append(("start", len(candles), threading.get_ident()))
        self.started.set()

        def slow(fraction: float) -> None:
            time.sleep(self.pause)
            progress(fraction)

        try:
            return run_backtest(candles, *args, progress=slow, cancel=cancel)
        finally:
            self.events.append(("end", len(candles), threading.get_ident()))


def test_a_run_gives_the_same_result_as_a_direct_call() -> None:
    async def body() -> None:
        queue = BacktestQueue()
        job = queue.submit(SMALL, SmaCross, {"fast": 5, "slow": 30})
        result = await job
        direct = run_backtest(SMALL, SmaCross, {"fast": 5, "slow": 30})
        assert job.state is JobState.DONE and job.result is result
        ours, theirs = result.metrics.as_dict(), direct.metrics.as_dict()
        np.testing.assert_array_equal(list(ours.values()), list(theirs.values()))  # NaN equals NaN here
        np.testing.assert_array_equal(result.equity, direct.equity)
        for name in result.trades.dtype.names:
            np.testing.assert_array_equal(result.trades[name], direct.trades[name])
        assert job.title == "sma_cross"

    run(body)


def test_runs_execute_one_at_a_time_in_the_order_submitted_and_off_the_loop_thread() -> None:
    async def body() -> None:
        recorder = Recorder(pause=0.01)
        queue = BacktestQueue(runner=recorder)
        sizes = (1_500, 1_000, 500)
        jobs = [queue.submit(SMALL.slice(0, n), "sma_cross") for n in sizes]
        assert [j.state for j in jobs] == [JobState.QUEUED] * 3  # nothing starts before the loop runs
        assert queue.jobs == jobs
        await asyncio.gather(*jobs)
        expected = [(what, n) for n in sizes for what in ("start", "end")]
        assert [(what, n) for what, n, _ in recorder.events] == expected  # no overlap, FIFO
        loop_thread = threading.get_ident()
        assert all(thread != loop_thread for *_, thread in recorder.events)
        assert not queue.busy and queue.jobs == []

    run(body)


def test_progress_reaches_the_listener_on_the_loop_thread_rising_to_one() -> None:
    async def body() -> None:
        seen: list[tuple[JobState, float | None, int]] = []
        queue = BacktestQueue(lambda j: seen.append((j.state, j.progress, threading.get_ident())))
        job = queue.submit(BIG, "sma_cross")
        await job
        loop_thread = threading.get_ident()
        assert all(thread == loop_thread for *_, thread in seen)
        running = [p for state, p, _ in seen if state is JobState.RUNNING and p is not None]
        assert len(running) >= 6  # the chunks of the position loop among them
        assert running == sorted(running)
        assert seen[0][0] is JobState.QUEUED
        assert seen[-1][:2] == (JobState.DONE, 1.0)

    run(body)


def test_the_loop_keeps_running_while_a_run_works() -> None:
    async def body() -> None:
        recorder = Recorder(pause=0.05)
        queue = BacktestQueue(runner=recorder)
        job = queue.submit(BIG, "sma_cross")
        ticks = 0
        while not job.finished:
            await asyncio.sleep(0.005)
            ticks += 1
        assert job.state is JobState.DONE
        assert ticks > 20  # the run took 0.4 s and more; the loop woke all along

    run(body)


def test_cancelling_a_running_job_stops_it_between_chunks_and_the_next_one_runs() -> None:
    async def body() -> None:
        recorder = Recorder(pause=0.05)
        states: list[tuple[int, JobState, Stage]] = []
        queue = BacktestQueue(lambda j: states.append((j.id, j.state, j.stage)), runner=recorder)
        first = queue.submit(BIG, "sma_cross", title="big")
        second = queue.submit(SMALL, "sma_cross", title="small")
        await wait_until(lambda: (first.progress or 0) > 0.4, "the run inside its position loop")
        assert queue.cancel(first)
        assert first.stage is Stage.CANCELLING and first.state is JobState.RUNNING  # until it stops
        with pytest.raises(BacktestCancelled):
            await first
        assert first.state is JobState.CANCELLED
        assert first.progress is not None and first.progress < 1.0
        assert ("end", len(BIG)) in [(w, n) for w, n, _ in recorder.events]  # the thread had stopped
        result = await second
        assert second.state is JobState.DONE and len(result) == len(SMALL)
        assert (first.id, JobState.RUNNING, Stage.CANCELLING) in states
        assert not queue.cancel(first)  # already over

    run(body)


def test_cancelling_a_queued_job_removes_it_before_it_runs() -> None:
    async def body() -> None:
        recorder = Recorder(pause=0.02)
        queue = BacktestQueue(runner=recorder)
        first = queue.submit(SMALL.slice(0, 1_500), "sma_cross")
        second = queue.submit(SMALL.slice(0, 1_000), "sma_cross")
        third = queue.submit(SMALL.slice(0, 500), "sma_cross")
        assert queue.cancel(second)
        assert second.state is JobState.CANCELLED and queue.jobs == [first, third]
        with pytest.raises(BacktestCancelled):
            await second
        await asyncio.gather(first, third)
        assert [n for what, n, _ in recorder.events if what == "start"] == [1_500, 500]

    run(body)


def test_a_failing_run_is_reported_and_the_queue_goes_on() -> None:
    async def body() -> None:
        queue = BacktestQueue()
        empty = queue.submit(OHLCV.empty(), "sma_cross")
        unknown = queue.submit(SMALL, "no_such_strategy")
        good = queue.submit(SMALL, "sma_cross")
        await asyncio.gather(empty, unknown, good, return_exceptions=True)
        assert empty.state is JobState.FAILED and isinstance(empty.error, BacktestError)
        assert "no candles" in str(empty.error)
        assert unknown.state is JobState.FAILED and "no strategy called" in str(unknown.error)
        assert good.state is JobState.DONE
        with pytest.raises(BacktestError):
            await empty

    run(body)


def test_an_error_nobody_awaits_is_not_reported_as_lost() -> None:
    async def body() -> None:
        problems: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, context: problems.append(context))
        queue = BacktestQueue()
        job = queue.submit(OHLCV.empty(), "sma_cross")
        await wait_until(lambda: not queue.jobs, "the run to end")
        assert job.state is JobState.FAILED
        # A future whose error nobody retrieved, gone at the same time: the one report expected.
        unread: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unread.set_exception(RuntimeError("the control"))
        del job, unread
        gc.collect()  # the loop hears of a lost error as the future is collected
        assert [str(p.get("exception")) for p in problems] == ["the control"]

    run(body)


def test_candles_from_a_function_are_read_in_the_worker_in_queue_order() -> None:
    async def body() -> None:
        reads: list[tuple[int, int]] = []

        def reader(n: int) -> Callable[[], OHLCV]:
            def read() -> OHLCV:
                time.sleep(0.02 if n == 1_500 else 0.0)  # the first read is the slow one
                reads.append((n, threading.get_ident()))
                return SMALL.slice(0, n)

            return read

        stages: list[Stage] = []
        queue = BacktestQueue(lambda j: stages.append(j.stage))
        jobs = [queue.submit(reader(n), "sma_cross") for n in (1_500, 700)]
        results = await asyncio.gather(*jobs)
        assert [n for n, _ in reads] == [1_500, 700]
        assert all(thread != threading.get_ident() for _, thread in reads)
        assert [len(r) for r in results] == [1_500, 700]
        assert Stage.READING in stages

    run(body)


def test_a_caller_cancelled_while_waiting_leaves_the_job_running() -> None:
    async def body() -> None:
        queue = BacktestQueue(runner=Recorder(pause=0.02))
        job = queue.submit(BIG, "sma_cross")

        async def wait_for(j: BacktestJob) -> BacktestResult:
            return await j

        waiter = asyncio.create_task(wait_for(job))
        await wait_until(lambda: job.state is JobState.RUNNING, "the run under way")
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        result = await job
        assert job.state is JobState.DONE and len(result) == len(BIG)

    run(body)


def test_shutdown_cancels_everything_and_waits_for_the_worker() -> None:
    async def body() -> None:
        recorder = Recorder(pause=0.05)
        queue = BacktestQueue(runner=recorder)
        running = queue.submit(BIG, "sma_cross")
        queued = queue.submit(SMALL, "sma_cross")
        await wait_until(recorder.started.is_set, "the run under way")
        await queue.shutdown()
        assert running.state is JobState.CANCELLED and queued.state is JobState.CANCELLED
        assert recorder.events[-1][0] == "end"  # the worker had returned before shutdown did
        assert [w for w, *_ in recorder.events].count("start") == 1

    run(body)
