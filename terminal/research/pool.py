"""A warm pool of worker processes that run a sweep's trials, for any strategy.

Why processes: a trial is Python (the strategy's ``signals``) around numba
kernels, so threads would queue on the GIL; and a user's strategy is code the
terminal runs only outside the GUI process (docs/backtesting.md). Each worker
is started with ``spawn`` (a fresh interpreter, as the strategies' process is:
nothing of the parent's memory, keys included, is copied; in the frozen app
``multiprocessing.freeze_support()`` in ``main.py`` turns the re-started
executable into the worker). Workers default to one per core.

What a sweep costs the pool:

* **The candles once per sweep.** ``TrialPool.session(...)`` copies them into one
  named shared-memory block; each worker maps it read-only and keeps it, with
  its own indicator memo, until the session ends. Trials then carry only
  their parameters. The block is unlinked when the session ends, whatever
  happened to the workers (and by multiprocessing's resource tracker if the
  terminal itself is killed).
* **Small batches.** Trials go out a few at a time, sized to take about
  ``batch_seconds`` each, so a Cancel waits at most for the batches already
  out, and a worker that dies loses only its batch: those trials run again on
  another worker (each result is kept by its position, once), the worker is
  replaced, and the log says which trials were lost with it.
* **Warm between sweeps.** The processes stay up (their imports done, numba's
  kernels loaded) until ``close()``, which the terminal calls at exit (and
  ``atexit`` does if it does not).

User strategies go by the path of their file; a worker loads that folder with
``UserStrategies`` (the same checks and reloads as the strategies' process).
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import logging
import multiprocessing
import os
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import shared_memory
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

from terminal.backtest.errors import BacktestError
from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass
from terminal.marketdata.candles import OHLCV
from terminal.research.objectives import Objective

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0  # a fresh interpreter imports numpy, numba and pydantic first
POLL_S = 0.05  # how often the waiting loop looks at the cancel token
_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
#: a strategy as a worker finds it: a built-in's name, an importable class, or (file, name)
StrategySpec = str | StrategyClass | tuple[str, str]


class PoolError(BacktestError):
    """The pool could not run the trials (its workers do not start)."""


@dataclass
class _Worker:
    process: Any  # multiprocessing's SpawnProcess (its type is not public)
    conn: Connection
    ready: bool = False
    batch: list[tuple[int, dict[str, Any]]] | None = None  # what it runs now: (position, params)
    sent_at: float = 0.0
    started_at: float = field(default_factory=time.monotonic)


class TrialPool:
    """Worker processes for trials, kept warm between sweeps. One sweep at a time."""

    def __init__(self, workers: int | None = None, *, batch_seconds: float = 0.2) -> None:
        self.size = max(1, workers or os.cpu_count() or 1)
        self.batch_seconds = batch_seconds
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._jobs = itertools.count(1)
        self.replaced = 0  # workers that died and were started again, over the pool's life
        # at garbage collection or, at the latest, at exit (finalize runs then too)
        self._finalizer = weakref.finalize(self, _stop_all, self._workers)

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process.is_alive()]

    def start(self) -> None:
        """Start the workers that are not running (a sweep does this itself)."""
        while len(self._workers) < self.size:
            self._workers.append(_spawn())

    def close(self) -> None:
        """Stop every worker; the next sweep starts new ones."""
        with self._lock:
            _stop_all(self._workers)

    @contextmanager
    def session(
        self,
        candles: OHLCV,
        strategy: StrategySpec | type[Any],
        base: Mapping[str, Any],
        settings: BacktestSettings,
        objectives: Sequence[Objective],
    ) -> Iterator[PoolSession]:
        """The pool set up for one sweep: the candles shared, the strategy named."""
        with self._lock:
            self.start()
            block = _share(candles)
            load = ("load", next(self._jobs), block.name, len(candles), _spec(strategy), dict(base),
                    settings, tuple(objectives))  # fmt: skip
            session = PoolSession(self, load)
            try:
                for worker in self._workers:
                    _send(worker, load)
                yield session
            finally:
                for worker in self._workers:
                    _send(worker, ("unload",))
                block.close()
                block.unlink()

    # -- used by the session -----------------------------------------------------------------------
    def _replace(self, worker: _Worker, load: tuple[Any, ...]) -> None:
        _stop(worker)
        fresh = _spawn()
        _send(fresh, load)
        self._workers[self._workers.index(worker)] = fresh
        self.replaced += 1


class PoolSession:
    """One sweep's use of the pool: ``run(points)`` evaluates trials, in batches."""

    def __init__(self, pool: TrialPool, load: tuple[Any, ...]) -> None:
        self.pool = pool
        self._load = load
        self._per_trial = 0.0  # seconds, from the trials so far (0: not known yet)
        self.lost = 0  # trials run again because their worker died

    @property
    def capacity(self) -> int:
        """How many trials keep every worker busy for a round: what a sweep should ask
        its method for at once."""
        return self.pool.size * self._batch_size()

    def _batch_size(self) -> int:
        if self._per_trial <= 0.0:
            return 1
        return max(1, min(64, round(self.pool.batch_seconds / self._per_trial)))

    def run(
        self,
        points: Sequence[Mapping[str, Any]],
        cancel: CancelToken | None = None,
        window: tuple[int, int] | None = None,
    ) -> list[Any]:
        """The ``TrialOutcome`` of each point (the strategy's parameters by name, and
        settings as ``settings.<section>.<field>``), in order, on the candles or on the
        ``window`` (start, end) of them a fold is. After a cancel, the points not yet
        sent stay None; those already out are waited for."""
        results: list[Any] = [None] * len(points)
        todo: deque[tuple[int, dict[str, Any]]] = deque((i, dict(p)) for i, p in enumerate(points))
        retry: deque[list[tuple[int, dict[str, Any]]]] = deque()
        workers = self.pool._workers
        while True:
            cancelled = cancel is not None and cancel.is_set()
            if cancelled:
                todo.clear()
                retry.clear()
            for worker in workers:
                if worker.ready and worker.batch is None and (retry or todo):
                    batch = (
                        retry.popleft()
                        if retry
                        else [todo.popleft() for _ in range(min(len(todo), self._batch_size()))]
                    )
                    worker.batch, worker.sent_at = batch, time.monotonic()
                    _send(worker, ("run", batch, window))
            busy = [w for w in workers if w.batch is not None or not w.ready]
            if not todo and not retry and all(w.batch is None for w in workers):
                return results
            self._wait(busy, results, retry)
            if cancelled and all(w.batch is None for w in workers):
                return results

    def _wait(
        self,
        busy: list[_Worker],
        results: list[Any],
        retry: deque[list[tuple[int, dict[str, Any]]]],
    ) -> None:
        """Take what the busy workers sent in the next ``POLL_S``; replace those that died
        (or did not start in ``START_TIMEOUT_S``)."""
        handles = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        wait(handles, POLL_S)
        for worker in busy:
            dead = False
            try:
                while worker.conn.poll():
                    self._receive(worker, worker.conn.recv(), results)
            except (EOFError, OSError):
                dead = True  # its end of the pipe closed: it is gone
            late = not worker.ready and time.monotonic() - worker.started_at > START_TIMEOUT_S
            if dead or late or not worker.process.is_alive():
                self._died(worker, retry)

    def _receive(self, worker: _Worker, message: tuple[Any, ...], results: list[Any]) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
        elif kind == "done":
            elapsed = time.monotonic() - worker.sent_at
            for position, outcome in message[1]:
                results[position] = outcome
            if message[1]:
                self._per_trial = elapsed / len(message[1])
            worker.batch = None
        elif kind == "failed":  # the worker could not set up this sweep: nothing can run
            raise PoolError(message[1], detail=message[2])

    def _died(self, worker: _Worker, retry: deque[list[tuple[int, dict[str, Any]]]]) -> None:
        worker.process.join(1.0)
        code = worker.process.exitcode
        if worker.batch:
            retry.append(worker.batch)
            self.lost += len(worker.batch)
            log.warning(
                "A sweep worker (pid %s) ended (exit code %s); its batch of %d trials (positions %s) "
                "runs again on another worker",
                worker.process.pid, code, len(worker.batch), ", ".join(str(i) for i, _ in worker.batch),
            )  # fmt: skip
        else:
            log.warning(
                "A sweep worker (pid %s) ended (exit code %s); starting another", worker.process.pid, code
            )
        worker.batch = None
        self.pool._replace(worker, self._load)


# -- the parent's helpers ----------------------------------------------------------------------------
def _spawn() -> _Worker:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve, args=(theirs,), name="terminal sweep worker", daemon=True)
    process.start()
    theirs.close()
    return _Worker(process, ours)


def _send(worker: _Worker, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionError, OSError):
        worker.conn.send(message)  # if it died, the waiting loop sees it and replaces it


def _stop(worker: _Worker) -> None:
    worker.conn.close()
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join(5.0)


def _stop_all(workers: list[_Worker]) -> None:
    for worker in workers:
        _stop(worker)
    workers.clear()


def _share(candles: OHLCV) -> shared_memory.SharedMemory:
    n = len(candles)
    block = shared_memory.SharedMemory(create=True, size=max(1, 8 * n * len(_COLUMNS)))
    table = np.ndarray((len(_COLUMNS), n), dtype=np.float64, buffer=block.buf)
    table[0].view(np.int64)[:] = candles.ts
    for row, name in enumerate(_COLUMNS[1:], start=1):
        table[row] = getattr(candles, name)
    return block


def _spec(strategy: StrategySpec | type[Any]) -> StrategySpec:
    """How a worker finds ``strategy``: a user strategy by its file, the rest as they are."""
    if isinstance(strategy, str | tuple):
        return strategy
    info = getattr(strategy, "info", None)  # the GUI's stand-in for a user strategy
    if info is not None:
        return (str(info.path), str(info.name))
    if strategy.__module__.startswith("user_strategy_"):  # loaded from a file in this process
        return (inspect.getsourcefile(strategy) or "", str(strategy.name))
    return strategy


# -- the worker's side (runs in the spawned process) --------------------------------------------------
class _Job:
    """A worker's sweep: the shared candles, the strategy, and the indicator memo."""

    def __init__(self, load: tuple[Any, ...]) -> None:
        from terminal.research.indicator_cache import indicator_memo

        _, self.number, name, n, spec, self.base, self.settings, self.objectives = load
        self.block = shared_memory.SharedMemory(name=name)
        table = np.ndarray((len(_COLUMNS), n), dtype=np.float64, buffer=self.block.buf)
        table.flags.writeable = False  # one copy for every worker: a strategy may not write into it
        self.candles = OHLCV(table[0].view(np.int64), *table[1:])
        self.strategy = _resolve(spec)
        self._memo = indicator_memo(self.candles)
        self._memo.__enter__()

    def run(
        self, batch: list[tuple[int, dict[str, Any]]], window: tuple[int, int] | None
    ) -> list[tuple[int, Any]]:
        """Each trial of ``batch`` on the candles, or on the ``window`` (start, end) of
        them that a fold is (its indicators computed, not memoised: the memo knows the
        whole columns only)."""
        from terminal.research.sweep import evaluate

        candles = self.candles if window is None else self.candles.slice(*window)
        return [
            (
                position,
                evaluate(candles, self.strategy, {**self.base, **params}, self.settings, self.objectives),
            )
            for position, params in batch
        ]

    def close(self) -> None:
        self._memo.__exit__(None, None, None)
        del self.candles
        self.block.close()


def _resolve(spec: StrategySpec) -> str | StrategyClass:
    if not isinstance(spec, tuple):
        return spec
    from terminal.backtest.user_strategies import UserStrategies

    path, name = spec
    user = UserStrategies(Path(path).parent)
    user.refresh()
    cls = user.strategies.get(name)
    if cls is None:
        problems = "; ".join(f"{e.path}: {e}" for e in user.errors) or "not found"
        raise BacktestError(f"The user strategy {name!r} could not be loaded from {path} ({problems}).")
    return cls


def serve(conn: Connection) -> None:
    """A worker's loop: set up a sweep, run its batches, until the pipe closes."""
    conn.send(("ready", os.getpid()))
    job: _Job | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        try:
            if kind == "load":
                if job is not None:
                    job.close()
                job = None
                job = _Job(message)
            elif kind == "unload":
                if job is not None:
                    job.close()
                job = None
            elif kind == "run":
                if job is None:
                    raise BacktestError("The sweep worker was given trials before the sweep's candles.")
                conn.send(("done", job.run(message[1], message[2])))
        except Exception as exc:  # noqa: BLE001 - the parent gets a plain error, the trace as detail
            conn.send(("failed", f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))))
