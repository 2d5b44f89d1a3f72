"""A sweep's trials on a Dask cluster: the terminal asks and tells, the workers run
batches of trials and keep nothing that matters.

* **The candles once.** Entering the session sends them to every worker
  (``Client.run(worker_side.load, ...)``), outside the task graph: scattered data
  would be thinned to one copy by Dask's memory manager between rounds and sent
  again. Each batch then carries only its parameters and the small job spec
  (``worker_side.JobSpec``). A worker that joins or restarts later answers its
  first batch with ``MissingCandlesError``: it is sent them, once, and the batch again.
* **The strategy by value.** A built-in goes by name; a user strategy as the text
  of its file, loaded on the worker (``worker_side.UserSource``): nothing to
  install there but the terminal.
* **Small batches.** Each takes about ``BATCH_S`` (measured as the sweep goes), a
  few in flight per worker; Cancel drops the ones not back (Dask does not stop a
  running task, but nothing waits for it), so a job stops within a fraction of a
  second.
* **Faults.** A worker lost mid-batch: Dask runs its tasks again elsewhere, and
  each batch's result is taken once, by its position. The scheduler lost: the
  batches out are lost with it; the job says so, waits for the scheduler (or until
  Cancel: the trials so far are kept in the study, which can then resume on this
  machine), scatters the candles again and sends the lost batches again.
"""

from __future__ import annotations

import itertools
import logging
import math
import pickle
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from terminal.backtest.runner import CancelToken
from terminal.backtest.settings import BacktestSettings
from terminal.errors import TerminalError
from terminal.marketdata.candles import OHLCV
from terminal.research.cluster.connect import Cluster, ClusterError
from terminal.research.cluster.worker_side import (
    JobSpec,
    MissingCandlesError,
    UserSource,
    load,
    run_batch,
    table_of,
    unload,
)
from terminal.research.methods import MethodKind
from terminal.research.objectives import Objective
from terminal.research.sweep import StrategyRef, TrialOutcome

log = logging.getLogger(__name__)

#: a batch should take about this long on a worker
BATCH_S = 0.25
#: batches in flight per worker thread (one runs, the next is there when it ends)
IN_FLIGHT = 2
#: how often the loop looks at Cancel and the connection while it waits
POLL_S = 0.1
#: a grid's or random search's round: this many batches per worker thread
ROUND_BATCHES = 16
#: how often the count of worker threads is asked again
THREADS_EVERY_S = 1.0


class ClusterEvaluator:
    """``run_sweep``'s evaluator for a ``Cluster``; a context manager (the session)."""

    path = "cluster"

    def __init__(
        self,
        cluster: Cluster,
        candles: OHLCV,
        strategy: StrategyRef,
        settings: BacktestSettings,
        objectives: Sequence[Objective],
        window: tuple[int, int] | None = None,
    ) -> None:
        self.cluster = cluster
        self.candles = candles
        self.spec = JobSpec(
            key=f"terminal-sweep-{uuid.uuid4().hex}",
            strategy=_travelling(strategy),
            base={},
            settings=settings,
            objectives=tuple(objectives),
        )
        self.window = window
        self._table = table_of(candles)
        self.sent: dict[str, int] = {}  # bytes of candles sent to each worker
        self.parameters: dict[str, int] = {}  # bytes of trials (pickled batches) each worker ran
        self._per_trial = 0.0
        self._thread_count, self._threads_at = 1, -math.inf
        self._numbers = itertools.count()
        self.batches = 0

    # -- the session ---------------------------------------------------------------------------------
    def __enter__(self) -> ClusterEvaluator:
        self._send()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.cluster.connected:
            try:
                self.cluster.client.run(unload, self.spec.key)
            except Exception:
                log.debug("releasing the candles on the cluster failed", exc_info=True)

    def _send(self, workers: list[str] | None = None) -> None:
        """The candles to ``workers`` (every worker by default), once each."""
        sizes: dict[str, int] = self.cluster.client.run(load, self.spec.key, self._table, workers=workers)
        for worker, size in sizes.items():
            self.sent[worker] = self.sent.get(worker, 0) + size

    # -- evaluating ----------------------------------------------------------------------------------
    def round_size(self, kind: MethodKind) -> int:
        threads = self._threads()
        per_batch = self._batch_size()
        if kind in (MethodKind.GRID, MethodKind.RANDOM):  # rounds of several seconds: few drains
            return threads * per_batch * ROUND_BATCHES
        return threads * per_batch

    def _threads(self) -> int:
        """The cluster's worker threads, asked of the scheduler at most once a second
        (workers come and go; asking at every batch would cost a round trip each)."""
        now = time.monotonic()
        if now - self._threads_at >= THREADS_EVERY_S:
            self._threads_at = now
            self._thread_count = max(1, self.cluster.threads())
        return self._thread_count

    def _batch_size(self) -> int:
        if self._per_trial <= 0.0:
            return 1
        return max(1, min(64, round(BATCH_S / self._per_trial)))

    def run(
        self, points: Sequence[Mapping[str, Any]], cancel: CancelToken | None
    ) -> list[TrialOutcome | None]:
        return self.run_window(points, cancel, self.window)

    def run_window(
        self,
        points: Sequence[Mapping[str, Any]],
        cancel: CancelToken | None,
        window: tuple[int, int] | None,
    ) -> list[TrialOutcome | None]:
        """Each point's outcome (None for those a cancel left unrun), on ``window``."""
        from distributed import wait

        results: list[TrialOutcome | None] = [None] * len(points)
        size = self._batch_size()
        todo: deque[list[tuple[int, dict[str, Any]]]] = deque(
            [(i, dict(points[i])) for i in range(start, min(start + size, len(points)))]
            for start in range(0, len(points), size)
        )
        out: dict[Any, list[tuple[int, dict[str, Any]]]] = {}
        sizes: dict[Any, int] = {}  # what each batch out weighs, pickled
        stopped = lambda: cancel is not None and cancel.is_set()  # noqa: E731
        while todo or out:
            if stopped():
                self.cluster.client.cancel(list(out))
                return results
            capacity = self._threads() * IN_FLIGHT
            while todo and len(out) < capacity:
                batch = todo.popleft()
                future = self.cluster.client.submit(
                    run_batch, self.spec, batch, window, pure=False,
                    key=f"{self.spec.key}-batch-{next(self._numbers)}",
                )  # fmt: skip
                out[future] = batch
                sizes[future] = len(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                self.batches += 1
            try:
                # this cluster's client, not Dask's default one (a client that connected
                # to an address is not made the default: there may be none, or another)
                with self.cluster.client.as_current():
                    done, _ = wait(list(out), timeout=POLL_S, return_when="FIRST_COMPLETED")
            except TimeoutError:  # nothing back yet: look at Cancel and the connection again
                done = set()
            except CancelledError:  # Dask's wait raises when any is cancelled (the scheduler lost):
                done = {future for future in out if future.done()}  # each is judged below
            for future in done:
                batch = out.pop(future)
                try:
                    result = future.result()
                except MissingCandlesError as missing:  # a worker that joined or restarted since
                    self._send([missing.worker])
                    todo.appendleft(batch)
                    continue
                except CancelledError:
                    # the scheduler went away with it, or its result went with a killed worker
                    # before it was read: it runs again (each position is taken once)
                    if not stopped():
                        todo.appendleft(batch)
                    continue
                except Exception as exc:  # noqa: BLE001 - judged by its kind in _failed
                    self._failed(exc, batch, results)
                    continue
                for position, outcome in result.outcomes:
                    results[position] = outcome
                self.cluster.ran(result.worker, result.trials, result.seconds)
                self.parameters[result.worker] = self.parameters.get(result.worker, 0) + sizes.pop(future, 0)
                self._learn(result.seconds / max(1, result.trials))
            if not self.cluster.connected:
                for batch in out.values():  # lost with the scheduler too
                    todo.appendleft(batch)
                out.clear()
                if not self._reconnect(stopped):
                    return results
        return results

    def _learn(self, seconds: float) -> None:
        if seconds > 0 and math.isfinite(seconds):
            self._per_trial = seconds if self._per_trial <= 0 else 0.8 * self._per_trial + 0.2 * seconds

    def _failed(self, exc: Exception, batch: list[tuple[int, dict[str, Any]]], results: list[Any]) -> None:
        """A batch that raised: its trials failed, with the reason (a worker that died
        running it again and again), or the job stops (a strategy that cannot load there)."""
        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            reason = "the workers running it died each time (the strategy may crash or use all the memory)"
        elif isinstance(exc, TerminalError):  # said plainly where it came from (a strategy that cannot load)
            raise exc
        else:
            raise ClusterError(
                "The cluster could not run the trials.",
                hint="The log has the worker's error.",
                detail=f"{type(exc).__name__}: {exc}",
            )
        failed = tuple(math.nan for _ in self.spec.objectives)
        for position, _ in batch:
            results[position] = TrialOutcome(None, failed, reason, 0.0)

    def _reconnect(self, stopped: Any) -> bool:
        where = self.cluster.address
        self.cluster.status(
            f"The cluster's scheduler at {where} is lost: waiting for it. Cancel stops the job (its "
            "trials so far are kept; resume it on this machine if the scheduler does not come back)."
        )
        # then for a worker: a ``dask worker`` ends with its scheduler, and joins the new one
        # when what runs it starts it again (systemd, a container's restart policy); the
        # scheduler may be lost again meanwhile (``worker_count`` is 0 then): wait again
        while True:
            if not self.cluster.wait_connected(stopped):
                return False
            if self.cluster.worker_count() > 0:
                break
            time.sleep(POLL_S)
        # a worker started again has no candles: it asks for them with its first batch
        self.cluster.status(f"The scheduler at {where} is back: the job goes on.")
        return True


def _travelling(strategy: StrategyRef) -> str | UserSource:
    """How the strategy reaches the workers: a built-in's name, or a user strategy's
    file as it was loaded (the text that ran here, whatever the file holds now)."""
    if isinstance(strategy, str):
        return strategy
    from terminal.backtest.strategies import BUILTIN
    from terminal.backtest.user_strategies import loaded_source

    if BUILTIN.get(strategy.name) is strategy:
        return strategy.name
    info = getattr(strategy, "info", None)  # the GUI's stand-in for a user strategy
    if info is not None and info.source:
        return UserSource(Path(info.path).name, info.source, str(strategy.name))
    loaded = loaded_source(strategy)
    if loaded is None:
        raise ClusterError(
            f"The strategy {strategy.name!r} cannot be sent to a cluster: it is neither built in nor "
            "loaded from a strategy file."
        )
    return UserSource(loaded[0], loaded[1], str(strategy.name))
