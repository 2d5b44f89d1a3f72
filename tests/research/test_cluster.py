"""Sweeps on a real Dask cluster on loopback (``LocalCluster`` of two worker
processes): the same trials as on this machine bit for bit, the candles sent once,
a user strategy that reaches the workers as its source, a worker killed with
SIGKILL mid-sweep (its trials run elsewhere, none lost, none twice), Cancel within
2 s, and a study begun on the cluster that resumes on this machine from its cache."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.marketdata.candles import OHLCV
from terminal.research.cluster.connect import Cluster
from terminal.research.space import IntParam, Space
from terminal.research.study import StudyStore, new_study, run_study
from terminal.research.sweep import StopReason, SweepProgress, Trial, TrialState, run_sweep
from terminal.research.walkforward import Windows, walk_forward
from terminal.store.candles import CandleStore
from tests.backtest.backtest_scenarios import random_candles
from tests.research.user_strategy import cancel_after_the_first_trial, load_slow_cross

pytestmark = pytest.mark.slow  # a cluster of worker processes takes a few seconds to start

FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
SPACE = Space((IntParam("fast", 2, 9), IntParam("slow", 6, 30, step=3)), ("fast < slow",))


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(161), 3000)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    started = Cluster.local(2)
    yield started
    started.close()


def rows(trials: tuple[Trial, ...] | list[Trial]) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.params, t.values, t.metrics, t.state, t.reason, t.folds,
         t.daily.returns.tobytes() if t.daily is not None else None)
        for t in trials
    ]  # fmt: skip


def test_cluster_trials_equal_those_of_this_machine_bit_for_bit(candles: OHLCV, cluster: Cluster) -> None:
    on_cluster = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster)
    here = run_sweep(candles, "sma_cross", SPACE, settings=FEES, fast=False)
    assert on_cluster.path == "cluster" and on_cluster.stopped is StopReason.EXHAUSTED
    assert rows(on_cluster.trials) == rows(here.trials) and len(here.trials) == SPACE.grid_size()
    # every worker ran some, and the panel can say how fast each went
    states = cluster.workers()
    assert len(states) == 2 and all(w.trials > 0 and w.trials_per_s > 0 for w in states)

    folded = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster, folds=3)
    assert rows(folded.trials) == rows(run_sweep(candles, "sma_cross", SPACE, settings=FEES, folds=3).trials)


def test_a_user_strategy_reaches_the_workers_as_its_source(
    candles: OHLCV, cluster: Cluster, tmp_path: Path
) -> None:
    strategy = load_slow_cross(tmp_path)
    here = run_sweep(candles, strategy, SPACE, settings=FEES)
    (tmp_path / "strategies" / "slow_cross.py").unlink()  # nothing on disk for a worker to find
    on_cluster = run_sweep(candles, strategy, SPACE, settings=FEES, workers=cluster)
    assert rows(on_cluster.trials) == rows(here.trials)


def test_the_candles_reach_each_worker_once_however_many_batches(candles: OHLCV, cluster: Cluster) -> None:
    from terminal.research.cluster import worker_side
    from terminal.research.cluster.evaluator import ClusterEvaluator

    seen: list[dict[str, dict[str, int]]] = []
    sessions: list[ClusterEvaluator] = []
    enter = ClusterEvaluator.__enter__

    def noted(self: ClusterEvaluator) -> ClusterEvaluator:
        sessions.append(self)
        return enter(self)

    def look(progress: SweepProgress) -> None:
        if progress.done in (5, SPACE.grid_size() - 5):  # early, and late after many batches
            seen.append(cluster.client.run(worker_side.held))

    ClusterEvaluator.__enter__ = noted  # type: ignore[method-assign]
    try:
        result = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster, progress=look)
    finally:
        ClusterEvaluator.__enter__ = enter  # type: ignore[method-assign]
    (session,) = sessions
    one_copy = 6 * 8 * len(candles)  # the candle table: six float64 columns
    assert result.count == SPACE.grid_size() and session.batches > 4 and len(seen) == 2
    assert sorted(session.sent.values()) == [one_copy, one_copy]  # sent to each worker once
    for held in seen:  # one copy of the candles, under the sweep's key, on each worker
        assert len(held) == 2 and all(h == {session.spec.key: one_copy} for h in held.values())
    assert not any(cluster.client.run(worker_side.held).values())  # let go when the sweep ended


def test_a_walk_forward_on_the_cluster_equals_the_one_here(candles: OHLCV, cluster: Cluster) -> None:
    windows = Windows(in_sample=1200, out_of_sample=400)
    there = walk_forward(candles, "sma_cross", SPACE, windows, settings=FEES, workers=cluster)
    here = walk_forward(candles, "sma_cross", SPACE, windows, settings=FEES)
    assert len(there.folds) == len(here.folds) >= 3
    for a, b in zip(there.folds, here.folds, strict=True):
        assert (a.params, a.in_metrics, a.out_return) == (b.params, b.in_metrics, b.out_return)
    np.testing.assert_array_equal(there.stitched_equity, here.stitched_equity)


class KillOneWorker:
    """A cancel token that is never set: the evaluator polls it while it waits, and
    the first time a worker is running a batch, that worker's process gets SIGKILL."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.pids: dict[str, int] = cluster.client.run(os.getpid)
        self.killed: str | None = None

    def is_set(self) -> bool:
        if self.killed is None:
            busy = [w for w, keys in self.cluster.client.processing().items() if keys]
            if busy and busy[0] in self.pids:
                self.killed = busy[0]
                os.kill(self.pids[busy[0]], signal.SIGKILL)
        return False


def test_a_worker_killed_mid_sweep_loses_no_trial_and_runs_none_twice(
    candles: OHLCV, cluster: Cluster, tmp_path: Path
) -> None:
    strategy = load_slow_cross(tmp_path).create({"pause": 0.02})
    here = run_sweep(candles, strategy, SPACE, settings=FEES)
    killer = KillOneWorker(cluster)
    on_cluster = run_sweep(candles, strategy, SPACE, settings=FEES, workers=cluster, cancel=killer)
    assert killer.killed is not None, "no worker was busy to kill"
    assert on_cluster.stopped is StopReason.EXHAUSTED
    assert rows(on_cluster.trials) == rows(here.trials)  # every point once, in order, as here
    # the nanny started a new worker process in its place
    deadline = time.monotonic() + 30
    while cluster.worker_count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.worker_count() == 2


def test_cancel_stops_a_cluster_sweep_within_2_s(candles: OHLCV, cluster: Cluster, tmp_path: Path) -> None:
    strategy = load_slow_cross(tmp_path).create({"pause": 0.1})
    result, took = cancel_after_the_first_trial(
        lambda cancel, progress: run_sweep(
            candles, strategy, SPACE, settings=FEES, workers=cluster, cancel=cancel, progress=progress
        )
    )
    assert took <= 2.0
    assert result.stopped is StopReason.CANCELLED and 0 < result.count < SPACE.grid_size()
    assert [t.number for t in result.trials] == list(range(result.count))


def test_a_study_on_the_cluster_resumes_on_this_machine_and_its_trials_are_cached(
    candles: OHLCV, cluster: Cluster, tmp_path: Path
) -> None:
    with CandleStore(tmp_path / "history.sqlite") as store:
        studies = StudyStore(store)
        spec = new_study(candles, "sma_cross", SPACE, exchange="binance", symbol="BTC/USDT", timeframe="1m",
                         settings=FEES)  # fmt: skip
        study_id = studies.create(spec)
        cancel = threading.Event()

        def stop_after_ten(progress: SweepProgress) -> None:
            if progress.done >= 10:
                cancel.set()

        stopped = run_study(studies, study_id, candles, workers=cluster, cancel=cancel,
                            progress=stop_after_ten)  # fmt: skip
        kept = studies.load(study_id).trials
        assert stopped.path == "cluster" and stopped.stopped is StopReason.CANCELLED and len(kept) >= 10
        # moved to this machine: the trials done on the cluster stay, the rest run here
        resumed = run_study(studies, study_id, candles)
        done = studies.load(study_id)
        assert resumed.path == "fast path" and done.summary.trials == SPACE.grid_size()
        assert done.trials[: len(kept)] == kept
        assert all(t.state is not TrialState.FAILED for t in done.trials)
        # the cluster's outcomes went to the cache like any: a new study of them runs nothing
        again = run_study(studies, studies.create(spec), candles, workers=cluster)
        assert again.cache_hits == SPACE.grid_size()
