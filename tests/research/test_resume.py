"""A study resumes after the terminal was killed or the sweep cancelled: every trial
that completed is kept exactly once, and the sweep goes on from there with no point
run twice (a grid finishes its points; random search proposes what the uninterrupted
run would have)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest.settings import BacktestSettings, Costs
from terminal.marketdata.candles import OHLCV
from terminal.research.space import FloatParam, IntParam, Space
from terminal.research.study import StudySpec, StudyStatus, StudyStore, new_study, run_study
from terminal.research.sweep import SweepProgress
from terminal.store import CandleStore
from tests.backtest.backtest_scenarios import random_candles
from tests.research.computed import count_computed
from tests.research.killed import kill_once_stored

BARS = 4000
SEED = 152
GRID = Space((IntParam("fast", 2, 21), IntParam("slow", 10, 40, step=10)), ("fast < slow",))  # 72 points
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
#: the trials the killed process must have stored before it is killed
STORED_BEFORE_KILL = 10

#: run in a process of its own: the study, paced so that the test can kill it midway
CHILD = """
import sys, time
import numpy as np
from terminal.research.study import StudyStore, run_study
from terminal.store import CandleStore
from tests.backtest.backtest_scenarios import random_candles

path, study_id, bars, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
candles = random_candles(np.random.default_rng(seed), bars)
with CandleStore(path) as store:
    run_study(StudyStore(store), study_id, candles, progress=lambda p: time.sleep(0.05))
print("finished", flush=True)
"""


def make_candles() -> OHLCV:
    return random_candles(np.random.default_rng(SEED), BARS)


def grid_spec(candles: OHLCV) -> StudySpec:
    return new_study(
        candles, "sma_cross", GRID, exchange="binance", symbol="BTC/USDT", timeframe="1m", settings=FEES
    )


def test_a_study_killed_midway_resumes_with_every_completed_trial_kept_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite"
    candles = make_candles()
    with CandleStore(path) as store:
        study_id = StudyStore(store).create(grid_spec(candles))

    kill_once_stored(
        CHILD, [str(path), str(study_id), str(BARS), str(SEED)], path, study_id, STORED_BEFORE_KILL
    )

    computed = count_computed(monkeypatch)
    with CandleStore(path) as store:
        studies = StudyStore(store)
        before = studies.load(study_id)
        kept = len(before.trials)
        assert before.summary.status is StudyStatus.RUNNING  # interrupted: nothing marked it
        assert STORED_BEFORE_KILL <= kept < GRID.grid_size()
        assert [t.number for t in before.trials] == list(range(kept))

        result = run_study(studies, study_id, candles)
        after = studies.load(study_id)

    points = [p for _, p in GRID.iter_grid()]
    assert [t.params for t in after.trials] == points  # every point once, in the grid's order
    assert [t.number for t in after.trials] == list(range(len(points)))
    assert after.trials[:kept] == before.trials  # the trials stored before the kill, as they were
    assert computed == points[kept:]  # only the points not stored ran; none twice
    assert result.cache_hits == 0  # and none was even asked of the cache again
    assert (after.summary.status, after.summary.trials) == (StudyStatus.DONE, len(points))


def test_a_cancelled_random_study_resumes_as_if_it_had_not_stopped(store: CandleStore) -> None:
    candles = make_candles()
    studies = StudyStore(store)
    space = Space((IntParam("fast", 2, 30), FloatParam("settings.stops.stop_loss_pct", 0.5, 5.0, 0.5)))
    spec = new_study(
        candles, "sma_cross", space, exchange="binance", symbol="BTC/USDT", timeframe="1m",
        method="random", budget=15, seed=4, settings=FEES,
    )  # fmt: skip
    cancel = threading.Event()

    def stop_after_six(progress: SweepProgress) -> None:
        if progress.done == 6:
            cancel.set()

    study_id = studies.create(spec)
    stopped = run_study(studies, study_id, candles, cancel=cancel, progress=stop_after_six)
    summary = studies.load(study_id).summary
    assert (summary.status, summary.trials) == (StudyStatus.CANCELLED, 6)
    assert summary.message == stopped.message == "stopped: cancelled after 6 trials"

    resumed = run_study(studies, study_id, candles)
    whole = studies.create(spec)
    run_study(studies, whole, candles, use_cache=False)
    assert [t.params for t in studies.load(study_id).trials] == [t.params for t in studies.load(whole).trials]
    assert resumed.count == 15 and resumed.cache_hits == 0
    assert studies.load(study_id).summary.status is StudyStatus.DONE


def test_early_stop_marks_the_study_stopped_with_its_message(store: CandleStore) -> None:
    candles = make_candles()
    studies = StudyStore(store)
    spec = new_study(
        candles, "sma_cross", GRID, exchange="binance", symbol="BTC/USDT", timeframe="1m",
        settings=FEES, early_stop=5,
    )  # fmt: skip
    study_id = studies.create(spec)
    result = run_study(studies, study_id, candles)
    summary = studies.load(study_id).summary
    assert (
        summary.status is StudyStatus.STOPPED and summary.message == "stopped: no better trial in the last 5"
    )
    assert summary.trials == result.count < GRID.grid_size()
