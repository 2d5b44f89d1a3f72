"""What a Dask worker runs for the terminal: a batch of trials on the candles the
sweep scattered to every worker once.

A worker is stateless for the terminal (the study stays in the terminal's history
file); it only keeps, per process, what makes the next batch of the same sweep
cheap: the candles of the last few jobs as an ``OHLCV`` with their indicator memo
(``load``), and user strategies loaded from the source text the terminal sent (by
the text's hash), so that a strategy file reaches a worker without being installed
there.

Everything here must import on a worker that has the terminal installed
(packaging/worker/README.md): numpy, numba, the engine; no Qt.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.errors import BacktestError
from terminal.backtest.settings import BacktestSettings
from terminal.backtest.strategies import StrategyClass
from terminal.marketdata.candles import OHLCV
from terminal.research.indicator_cache import IndicatorMemo, using
from terminal.research.objectives import Objective
from terminal.research.sweep import TrialOutcome, evaluate

#: the rows of a candle table as it is scattered (``table_of``): ts (int64 bits), then OHLCV
COLUMNS = ("ts", "open", "high", "low", "close", "volume")
#: jobs (sweeps) a worker keeps the candles and memo of
_KEPT_JOBS = 2


@dataclass(frozen=True)
class UserSource:
    """A user strategy as it travels: its file's name and text (loaded on the worker
    as the strategies' process loads a file)."""

    file_name: str
    text: str
    name: str  # the strategy's registry name in that file

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass(frozen=True)
class JobSpec:
    """One sweep as its workers need it, besides the candles: small, sent with every batch."""

    key: str  # unique to the sweep's session on the cluster
    strategy: str | UserSource  # a built-in by name, or a user strategy's source
    base: Mapping[str, Any]  # the fixed parameters
    settings: BacktestSettings
    objectives: tuple[Objective, ...]


@dataclass(frozen=True)
class BatchResult:
    outcomes: list[tuple[int, TrialOutcome]]  # (position in the round, outcome)
    worker: str  # the worker's address
    seconds: float  # how long the batch took there
    trials: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trials", len(self.outcomes))


def table_of(candles: OHLCV) -> NDArray[np.float64]:
    """The candles as one (6, n) float64 array, the open times as their int64 bits:
    one object to scatter."""
    table = np.empty((len(COLUMNS), len(candles)), dtype=np.float64)
    table[0].view(np.int64)[:] = candles.ts
    for row, name in enumerate(COLUMNS[1:], start=1):
        table[row] = getattr(candles, name)
    return table


def candles_of(table: NDArray[np.float64]) -> OHLCV:
    view = table.view()
    view.flags.writeable = False  # shared by the worker's threads: a strategy may not write into it
    return OHLCV(view[0].view(np.int64), *view[1:])


class MissingCandlesError(Exception):
    """This worker does not hold the sweep's candles (it joined or restarted after
    they were sent): the terminal sends them to it and the batch again."""

    def __init__(self, worker: str) -> None:
        super().__init__(worker)
        self.worker = worker


class _Job:
    def __init__(self, table: NDArray[np.float64]) -> None:
        self.table = table
        self.candles = candles_of(table)
        self.strategy: str | StrategyClass | None = None
        self.memo = IndicatorMemo(self.candles)
        self.lock = threading.Lock()  # the memo is one thread's at a time


_jobs: OrderedDict[str, _Job] = OrderedDict()
_strategies: dict[str, StrategyClass] = {}
_state = threading.Lock()


def _undo_trim_threshold() -> None:
    """Dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand
    freed memory back to the system sooner). Setting it also turns off glibc's sliding
    mmap threshold, so every array over 128 KB (one column of 100,000 candles is 800 KB,
    and a trial makes dozens) is a fresh mmap, page-faulted in and unmapped again:
    measured here, 13.5 ms a trial instead of 3 ms. Raise both thresholds instead (what
    the sliding threshold would reach), once per worker process, on glibc only."""
    global _malloc_tuned
    if _malloc_tuned or "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    _malloc_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc (musl): nothing was set that way
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)  # glibc's own ceiling for the sliding threshold
    libc.mallopt(m_trim_threshold, 64 * 2**20)


_malloc_tuned = False


def load(key: str, table: NDArray[np.float64]) -> int:
    """Keep a sweep's candles under ``key`` (the terminal sends them to each worker
    once, with ``Client.run``, outside the task graph: Dask's memory manager would
    otherwise drop the extra copies between rounds and send them again). Returns
    their size, for the terminal's count of what each worker was sent."""
    _undo_trim_threshold()
    with _state:
        _jobs[key] = _Job(table)
        _jobs.move_to_end(key)
        while len(_jobs) > _KEPT_JOBS:
            _jobs.popitem(last=False)
    return int(table.nbytes)


def held() -> dict[str, int]:
    """The sweeps' candles this worker holds: bytes by key."""
    with _state:
        return {key: int(job.table.nbytes) for key, job in _jobs.items()}


def unload(key: str) -> None:
    with _state:
        _jobs.pop(key, None)


def run_batch(
    spec: JobSpec,
    batch: Sequence[tuple[int, Mapping[str, Any]]],
    window: tuple[int, int] | None = None,
) -> BatchResult:
    """Each trial of ``batch`` ((position, parameters)) on the sweep's candles, or on
    the ``window`` (start, end) of them a fold is: ``evaluate``'s outcome, as on this
    machine, bit for bit. ``MissingCandlesError`` if this worker was not sent them."""
    from distributed import get_worker

    started = time.perf_counter()
    here = get_worker().address
    with _state:
        job = _jobs.get(spec.key)
        if job is None:
            raise MissingCandlesError(here)
        if job.strategy is None:
            job.strategy = _strategy(spec.strategy)
    strategy = job.strategy
    candles = job.candles if window is None else job.candles.slice(*window)
    outcomes: list[tuple[int, TrialOutcome]] = []
    for position, params in batch:
        point = {**spec.base, **params}
        if window is None and job.lock.acquire(blocking=False):  # the memo knows the whole columns only
            try:
                with using(job.memo):
                    outcome = evaluate(candles, strategy, point, spec.settings, spec.objectives)
            finally:
                job.lock.release()
        else:
            outcome = evaluate(candles, strategy, point, spec.settings, spec.objectives)
        outcomes.append((position, outcome))
    return BatchResult(outcomes, here, time.perf_counter() - started)


def _strategy(ref: str | UserSource) -> str | StrategyClass:
    """A built-in by name (found by ``evaluate``), or a user strategy loaded from its text."""
    if isinstance(ref, str):
        return ref
    known = _strategies.get(ref.digest)
    if known is not None:
        return known
    from terminal.backtest.user_strategies import UserStrategies

    folder = Path(tempfile.mkdtemp(prefix="terminal-strategy-"))
    (folder / Path(ref.file_name).name).write_text(ref.text, encoding="utf-8")
    user = UserStrategies(folder)
    user.refresh()
    cls = user.strategies.get(ref.name)
    if cls is None:
        problems = "; ".join(str(e) for e in user.errors) or "not found"
        raise BacktestError(f"The user strategy {ref.name!r} could not be loaded on a worker ({problems}).")
    _strategies[ref.digest] = cls
    return cls
