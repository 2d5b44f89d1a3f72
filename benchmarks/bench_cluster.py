"""Research on a Dask cluster against this machine's worker pool (issue 16).

The research benchmark's 3,965-trial grid (SMA cross with reversal, fee 0.1%,
100,000 one-minute candles, fast 5..54 x slow 10..109, fast < slow), every trial
through ``evaluate`` (the pool's path; the SMA cross's numba fast path is left
out on both sides, as it runs only on this machine):

* the local process pool of 2 workers, warm (the reference);
* a local Dask cluster of 2 worker processes (``Cluster.local(2)``), warm: its wall
  time beside the pool's (target: <= 1.5x), and the bytes sent to each worker:
  the candles (once) and the trials' parameters;
* the same cluster with 1 worker: trials/s with 1 and with 2 workers.

Run: .venv/bin/python benchmarks/bench_cluster.py (about a minute and a half).
Figures: docs/performance.md, "Research on a cluster".
"""

from __future__ import annotations

import time

from _common import machine, print_table, synthetic_ohlcv, verdict

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.research.cluster.connect import Cluster
from terminal.research.cluster.evaluator import ClusterEvaluator
from terminal.research.pool import TrialPool
from terminal.research.space import IntParam, Space
from terminal.research.sweep import SweepResult, run_sweep

N = 100_000
GRID = Space((IntParam("fast", 5, 54), IntParam("slow", 10, 109)), ("fast < slow",))
SETTINGS = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
TARGET_RATIO = 1.5


def timed_sweep(workers: TrialPool | Cluster) -> tuple[float, SweepResult]:
    candles = synthetic_ohlcv(N)
    t0 = time.perf_counter()
    result = run_sweep(candles, "sma_cross", GRID, settings=SETTINGS, workers=workers, fast=False)
    return time.perf_counter() - t0, result


def watched(cluster: Cluster) -> tuple[float, SweepResult, ClusterEvaluator]:
    """A timed sweep on ``cluster``, with its session (what it sent where)."""
    sessions: list[ClusterEvaluator] = []
    enter = ClusterEvaluator.__enter__

    def noted(self: ClusterEvaluator) -> ClusterEvaluator:
        sessions.append(self)
        return enter(self)

    ClusterEvaluator.__enter__ = noted  # type: ignore[method-assign]
    try:
        seconds, result = timed_sweep(cluster)
    finally:
        ClusterEvaluator.__enter__ = enter  # type: ignore[method-assign]
    return seconds, result, sessions[-1]


def main() -> None:
    print("Machine:", machine())
    print(f"{N:,} 1-minute candles; {GRID.grid_size():,} trials; every trial through evaluate (no fast path)")
    rows: list[list[str]] = []

    pool = TrialPool(2)
    timed_sweep(pool)  # warm: workers started, numba's cache loaded
    pool_s, pooled = timed_sweep(pool)
    pool.close()
    rows.append([
        "grid: pool of 2 processes, warm (the reference)",
        f"{pool_s:.2f} s ({pooled.count / pool_s:,.0f} trials/s)", "-", "-", "n/a",
    ])  # fmt: skip

    for workers in (2, 1):
        cluster = Cluster.local(workers)
        try:
            watched(cluster)  # warm: the workers' imports and numba's cache
            seconds, result, session = watched(cluster)
        finally:
            cluster.close()
        same = [(t.params, t.values) for t in result.trials] == [(t.params, t.values) for t in pooled.trials]
        ratio = seconds / pool_s
        candles_mb = ", ".join(f"{b / 2**20:.1f} MB" for b in sorted(session.sent.values()))
        params_kb = ", ".join(f"{b / 1024:,.0f} KB" for b in sorted(session.parameters.values()))
        rows.append([
            f"grid: local Dask cluster, {workers} worker process{'es' if workers > 1 else ''}, warm",
            f"{seconds:.2f} s ({result.count / seconds:,.0f} trials/s); {ratio:.2f}x the pool; "
            f"same trials: {same}",
            f"sent to each worker: candles {candles_mb}; parameters {params_kb}; {session.batches} batches",
            f"<= {TARGET_RATIO}x the pool" if workers == 2 else "-",
            verdict(ratio <= TARGET_RATIO) if workers == 2 else "n/a",
        ])  # fmt: skip
    print_table("Research on a cluster (issue 16)", rows)


if __name__ == "__main__":
    main()
