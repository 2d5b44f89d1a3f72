"""The worker pool: trials in spawned processes equal the serial ones bit for bit; a
worker killed mid-sweep loses only its batch, which runs again (no trial lost, none
kept twice); Cancel ends a sweep within a second; the pool starts from a fresh
interpreter (spawn) and releases the shared candles."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.backtest.strategies import EmaCross
from terminal.marketdata.candles import OHLCV
from terminal.research.pool import TrialPool
from terminal.research.space import IntParam, Space
from terminal.research.sweep import StopReason, SweepResult, Trial, TrialState, run_sweep
from tests.backtest.backtest_scenarios import random_candles
from tests.research.user_strategy import cancel_after_the_first_trial, load_slow_cross

pytestmark = pytest.mark.slow  # each worker is a fresh interpreter (about a second to start)

ROOT = Path(__file__).resolve().parents[2]
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
SPACE = Space((IntParam("fast", 2, 9), IntParam("slow", 6, 30, step=3)), ("fast < slow",))


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(152), 3000)


@pytest.fixture(scope="module")
def pool() -> Iterator[TrialPool]:
    workers = TrialPool(2)
    yield workers
    workers.close()


@pytest.fixture
def slow_cross(tmp_path: Path) -> Any:
    return load_slow_cross(tmp_path)


def rows(result: SweepResult) -> list[tuple[Any, ...]]:
    return [(t.number, t.params, t.values, t.metrics, t.state, t.reason, _daily(t)) for t in result.trials]


def _daily(trial: Trial) -> bytes | None:
    return trial.daily.returns.tobytes() if trial.daily is not None else None


def shared_blocks() -> set[str]:
    return {name for name in os.listdir("/dev/shm") if name.startswith("psm_")}


def test_pool_trials_equal_serial_ones_bit_for_bit(candles: OHLCV, pool: TrialPool) -> None:
    before = shared_blocks()
    pooled = run_sweep(candles, EmaCross, SPACE, settings=FEES, workers=pool)
    serial = run_sweep(candles, EmaCross, SPACE, settings=FEES)
    assert (pooled.path, serial.path) == ("pool", "serial")
    assert rows(pooled) == rows(serial) and len(pooled.trials) == SPACE.grid_size()
    again = run_sweep(candles, "ema_cross", SPACE, settings=FEES, workers=pool, method="random", budget=9)
    assert [t.params for t in again.trials] == [
        t.params
        for t in run_sweep(candles, "ema_cross", SPACE, settings=FEES, method="random", budget=9).trials
    ]  # the pool stayed up between the sweeps and random search proposes as it does serially
    assert shared_blocks() == before  # the candles' block is released with each sweep


def test_folded_trials_in_the_pool_equal_the_serial_ones_with_the_candles_shared_once(
    candles: OHLCV, pool: TrialPool
) -> None:
    before = shared_blocks()
    pooled = run_sweep(candles, EmaCross, SPACE, settings=FEES, workers=pool, folds=3)
    serial = run_sweep(candles, EmaCross, SPACE, settings=FEES, folds=3)
    assert pooled.path == "pool" and rows(pooled) == rows(serial)
    assert [t.folds for t in pooled.trials] == [t.folds for t in serial.trials]
    assert all(len(t.folds) == 3 for t in pooled.trials if t.state is not TrialState.FAILED)
    assert shared_blocks() == before


def test_a_user_strategy_runs_in_the_workers_loaded_by_path(
    candles: OHLCV, pool: TrialPool, slow_cross: Any
) -> None:
    space = Space((IntParam("fast", 2, 5), IntParam("slow", 8, 12, step=2)))
    pooled = run_sweep(candles, slow_cross, space, settings=FEES, workers=pool)
    assert rows(pooled) == rows(run_sweep(candles, slow_cross, space, settings=FEES))


class KillOneWorker:
    """A cancel token that is never set: the pool polls it while it waits, and the
    first time a worker is running a batch, it kills that worker with SIGKILL."""

    def __init__(self, pool: TrialPool) -> None:
        self.pool = pool
        self.killed: int | None = None

    def is_set(self) -> bool:
        if self.killed is None:
            busy = [w for w in self.pool._workers if w.batch]
            if busy:
                self.killed = busy[0].process.pid
                os.kill(busy[0].process.pid, signal.SIGKILL)
        return False


def test_a_worker_killed_mid_sweep_loses_only_its_batch_which_runs_again(
    candles: OHLCV, pool: TrialPool, slow_cross: Any, caplog: pytest.LogCaptureFixture
) -> None:
    strategy = slow_cross.create({"pause": 0.02})
    serial = run_sweep(candles, strategy, SPACE, settings=FEES)
    killer = KillOneWorker(pool)
    replaced = pool.replaced
    with caplog.at_level(logging.WARNING, logger="terminal.research.pool"):
        pooled = run_sweep(candles, strategy, SPACE, settings=FEES, workers=pool, cancel=killer)
    assert killer.killed is not None and killer.killed not in pool.pids
    assert pool.replaced == replaced + 1 and len(pool.pids) == 2  # a new worker took its place
    assert "runs again on another worker" in caplog.text and f"pid {killer.killed}" in caplog.text
    assert pooled.stopped is StopReason.EXHAUSTED
    assert rows(pooled) == rows(serial)  # every point once, in order, each as a serial run gives it


def test_cancel_stops_a_pooled_sweep_within_a_second(
    candles: OHLCV, pool: TrialPool, slow_cross: Any
) -> None:
    strategy = slow_cross.create({"pause": 0.05})
    result, took = cancel_after_the_first_trial(
        lambda cancel, progress: run_sweep(
            candles, strategy, SPACE, settings=FEES, workers=pool, cancel=cancel, progress=progress
        )
    )
    assert took <= 1.0
    assert result.stopped is StopReason.CANCELLED and 0 < len(result.trials) < SPACE.grid_size()
    assert [t.number for t in result.trials] == list(range(len(result.trials)))


SCRIPT = """
import sys
import numpy as np
from terminal.research.pool import TrialPool
from terminal.research.space import IntParam, Space
from terminal.research.sweep import run_sweep
from tests.backtest.backtest_scenarios import random_candles

if __name__ == "__main__":
    candles = random_candles(np.random.default_rng(5), 500)
    space = Space((IntParam("fast", 2, 4), IntParam("slow", 6, 8)))
    pool = TrialPool(2)
    pooled = run_sweep(candles, "ema_cross", space, workers=pool)
    serial = run_sweep(candles, "ema_cross", space)
    pids = pool.pids
    pool.close()
    same = [t.values for t in pooled.trials] == [t.values for t in serial.trials]
    print(pooled.path, len(pooled.trials), same, len(pids))
"""


def test_the_pool_starts_from_a_fresh_interpreter_under_spawn(tmp_path: Path) -> None:
    script = tmp_path / "sweep_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pool", "9", "True", "2"]
