"""Studies in the history file: a study keeps its definition and every trial exactly as
it ran; the trial cache serves a trial already computed (evaluate is not called again)
and misses when a candle, a parameter, a setting or the strategy's source changed;
revision 0007 upgrades a 0006 file and keeps what it held."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from terminal.backtest.settings import BacktestSettings, Costs, Stops
from terminal.backtest.strategies import SmaCross
from terminal.marketdata.candles import OHLCV
from terminal.research.methods import MethodKind
from terminal.research.objectives import Filters, Objective
from terminal.research.space import FloatParam, IntParam, Space, SweepError
from terminal.research.study import (
    StudyConflictError,
    StudyDamagedError,
    StudySpec,
    StudyStatus,
    StudyStore,
    new_study,
    run_study,
)
from terminal.research.sweep import SweepResult, Trial, TrialState
from terminal.store import CandleStore, migrations
from terminal.store.database import connect
from tests.backtest.backtest_scenarios import random_candles
from tests.research.computed import count_computed

#: no "fast < slow": the points where fast >= slow fail (the parameters do not validate)
SPACE = Space((IntParam("fast", 4, 16, step=4), IntParam("slow", 10, 20, step=5)))
FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
FILTERS = Filters(min_trades=200)  # refuses the slower pairs


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(151), 3000)


@pytest.fixture
def studies(store: CandleStore) -> StudyStore:
    return StudyStore(store)


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The parameters of every trial computed."""
    return count_computed(monkeypatch)


def spec(candles: OHLCV, space: Space = SPACE, settings: BacktestSettings = FEES, **kw: Any) -> StudySpec:
    kw.setdefault("filters", FILTERS)
    return new_study(
        candles,
        "sma_cross",
        space,
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1m",
        settings=settings,
        **kw,
    )


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def assert_same_trial(a: Trial, b: Trial) -> None:
    assert (a.number, a.params, a.state, a.reason, a.repeat_of) == (
        b.number,
        b.params,
        b.state,
        b.reason,
        b.repeat_of,
    )
    assert len(a.values) == len(b.values) and all(same(x, y) for x, y in zip(a.values, b.values, strict=True))
    assert (a.metrics is None) == (b.metrics is None)
    if a.metrics is not None and b.metrics is not None:
        assert all(
            same(float(x), float(y))
            for x, y in zip(a.metrics.as_dict().values(), b.metrics.as_dict().values(), strict=True)
        )
    assert (a.daily is None) == (b.daily is None)
    if a.daily is not None and b.daily is not None:
        assert a.daily.first_day == b.daily.first_day and np.array_equal(a.daily.returns, b.daily.returns)


def test_a_study_keeps_its_definition(candles: OHLCV, studies: StudyStore) -> None:
    space = Space(
        (IntParam("fast", 3, 9), FloatParam("settings.stops.stop_loss_pct", 0.5, 2.0, 0.5)),
        ("fast * 2 < 20",),
    )
    made = new_study(
        candles, SmaCross.create({"slow": 30}), space, exchange="okx", symbol="ETH/USDT", timeframe="5m",
        method="random", objectives=("sharpe", "total_return"), filters=Filters(10, 0.3),
        settings=BacktestSettings(stops=Stops(take_profit_pct=4.0)), budget=40, early_stop=15, seed=9,
        label="ETH stops",
    )  # fmt: skip
    study_id = studies.create(made)
    (listed,) = studies.list()
    assert listed.id == study_id and listed.spec == made
    assert (listed.status, listed.message, listed.trials) == (StudyStatus.RUNNING, "", 0)
    assert listed.spec.params["slow"] == 30 and listed.spec.method is MethodKind.RANDOM
    assert listed.spec.objectives == (Objective.SHARPE, Objective.TOTAL_RETURN)
    assert listed.spec.data.candles == len(candles) and listed.spec.data.first_ts == int(candles.ts[0])
    assert listed.spec.source_hash.startswith("builtin:")


def test_every_trial_comes_back_as_it_ran(candles: OHLCV, studies: StudyStore) -> None:
    study_id = studies.create(spec(candles))
    result = run_study(studies, study_id, candles, keep_trials=True)
    states = {t.state for t in result.trials}
    assert states == {
        TrialState.DONE,
        TrialState.FILTERED,
        TrialState.FAILED,
    }  # each kind goes through the file
    study = studies.load(study_id)
    assert len(study.trials) == len(result.trials) == SPACE.grid_size()
    for stored, ran in zip(study.trials, result.trials, strict=True):
        assert_same_trial(stored, ran)
    assert all(t.daily is not None for t in study.trials if t.state is not TrialState.FAILED)
    summary = study.summary
    assert (summary.status, summary.trials) == (StudyStatus.DONE, len(result.trials))
    assert summary.message == f"stopped: every point was tried ({len(result.trials)} trials)"


def test_a_trial_number_is_never_stored_twice(candles: OHLCV, studies: StudyStore) -> None:
    study_id = studies.create(spec(candles))
    run_study(studies, study_id, candles)
    first = studies.load(study_id).trials[0]
    with pytest.raises(StudyConflictError, match="stored already"):
        studies.add_trial(study_id, first)
    assert studies.load(study_id).summary.trials == SPACE.grid_size()


def test_the_cache_serves_computed_trials_without_running_them_again(
    candles: OHLCV, studies: StudyStore, evaluations: list[dict[str, Any]]
) -> None:
    first = run_study(studies, studies.create(spec(candles)), candles, keep_trials=True)
    assert len(evaluations) == len(first.trials) and first.cache_hits == 0
    assert studies.cache_size() == len(first.trials)  # failed trials too: their error is their outcome

    evaluations.clear()
    again = run_study(studies, studies.create(spec(candles)), candles, keep_trials=True)
    assert evaluations == []  # nothing computed
    assert again.cache_hits == len(again.trials) and all(t.cached for t in again.trials)
    for a, b in zip(again.trials, first.trials, strict=True):
        assert_same_trial(a, b)
    assert again.best is not None and first.best is not None and again.best.params == first.best.params

    # a cache hit is stored in its study like any trial
    assert len(studies.load(studies.list()[0].id).trials) == len(first.trials)


def test_the_cache_misses_when_a_candle_a_parameter_a_setting_or_the_source_changed(
    candles: OHLCV, studies: StudyStore, evaluations: list[dict[str, Any]]
) -> None:
    run_study(studies, studies.create(spec(candles)), candles)
    points = SPACE.grid_size()

    def fresh(study: StudySpec, data: OHLCV = candles, source: str | None = None) -> SweepResult:
        evaluations.clear()
        result = run_study(studies, studies.create(study), data, source_hash=source)
        assert len(evaluations) == result.count - result.cache_hits
        return result

    close = candles.close.copy()
    close[2000] *= 1.001
    one_candle = OHLCV(candles.ts, candles.open, candles.high, candles.low, close, candles.volume)
    assert fresh(spec(one_candle), one_candle).cache_hits == 0

    fees = BacktestSettings(costs=Costs(taker_fee=0.002, maker_fee=0.002))
    assert fresh(spec(candles, settings=fees)).cache_hits == 0

    edited = spec(candles, source_hash="sha256-of-the-edited-file")
    assert fresh(edited, source="sha256-of-the-edited-file").cache_hits == 0

    # a wider slow range: the points already computed hit, the new ones run
    wider = Space((IntParam("fast", 4, 16, step=4), IntParam("slow", 10, 30, step=5)))
    result = fresh(spec(candles, space=wider))
    assert result.cache_hits == points and len(evaluations) == wider.grid_size() - points
    assert {e["slow"] for e in evaluations} == {25, 30}

    # the key is of the parameters a trial runs with, fixed or swept: slow fixed at 20 is
    # a point the first study ran; at 35 no study ran it
    fast_only = Space((IntParam("fast", 4, 16, step=4),))
    for slow, hits in ((20, 4), (35, 0)):
        fixed = new_study(
            candles, SmaCross.create({"slow": slow}), fast_only, exchange="binance", symbol="BTC/USDT",
            timeframe="1m", settings=FEES, filters=FILTERS,
        )  # fmt: skip
        assert fresh(fixed).cache_hits == hits


def test_an_unreadable_cache_entry_is_a_miss_and_is_computed_again(
    candles: OHLCV, studies: StudyStore, evaluations: list[dict[str, Any]]
) -> None:
    first = run_study(studies, studies.create(spec(candles)), candles)
    with studies.database.writing() as conn:  # one entry's metrics spoiled
        conn.execute("UPDATE trial_cache SET metrics = '{\"sharpe\": ' WHERE rowid = 1")
    evaluations.clear()
    again = run_study(studies, studies.create(spec(candles)), candles)
    assert len(evaluations) == 1 and again.cache_hits == first.count - 1
    evaluations.clear()
    assert run_study(studies, studies.create(spec(candles)), candles).cache_hits == first.count
    assert evaluations == []  # the entry computed again took the spoiled one's place


def test_deleting_a_study_takes_its_trials_and_leaves_the_cache(candles: OHLCV, studies: StudyStore) -> None:
    study_id = studies.create(spec(candles))
    run_study(studies, study_id, candles)
    cached = studies.cache_size()
    studies.delete(study_id)
    assert studies.list() == []
    with sqlite3.connect(studies.database.path) as conn:
        assert conn.execute("SELECT count(*) FROM study_trial").fetchone() == (0,)
    assert studies.cache_size() == cached > 0


class Mine(SmaCross):
    """A user's strategy (not a built-in)."""

    name = "mine"


def test_a_study_is_refused_other_candles_and_a_changed_strategy(candles: OHLCV, studies: StudyStore) -> None:
    study_id = studies.create(spec(candles))
    with pytest.raises(SweepError, match="not those study"):
        run_study(studies, study_id, candles.slice(0, 2999))
    with pytest.raises(SweepError, match="changed since"):
        run_study(studies, study_id, candles, source_hash="sha256-of-another-file")
    with pytest.raises(SweepError, match="needs the hash of its source"):
        new_study(candles, Mine, SPACE, exchange="x", symbol="A/B", timeframe="1m")
    assert studies.load(study_id).trials == ()


def test_a_damaged_study_says_so_in_plain_words(candles: OHLCV, studies: StudyStore) -> None:
    study_id = studies.create(spec(candles))
    with studies.database.writing() as conn:
        conn.execute(
            'UPDATE study SET space = \'{"params": [{"kind": "spiral"}]}\' WHERE id = ?', (study_id,)
        )
    with pytest.raises(StudyDamagedError, match=f"study number {study_id} is damaged") as caught:
        studies.load(study_id)
    assert "spiral" in (caught.value.detail or "")


def test_revision_7_upgrades_a_revision_6_file_and_keeps_its_data(tmp_path: Path, candles: OHLCV) -> None:
    from terminal.backtest.run_store import RunStore
    from terminal.backtest.runner import run_backtest
    from terminal.store.market_records import MarketRecord, SimulatedMarkets

    path = tmp_path / "history.sqlite"
    result = run_backtest(candles, "sma_cross", {"fast": 10, "slow": 20})
    with CandleStore(path) as store:
        store.write("binance", "BTC/USDT", "1m", candles)
        run_id = RunStore(store).save(result, exchange="binance", symbol="BTC/USDT", timeframe="1m")
        SimulatedMarkets(store).save(MarketRecord("simulated", seed=7, started_ms=1, saved_ms=2))
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0006")
    with sqlite3.connect(path) as conn:
        assert migrations.read_revision(conn) == "0006"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {"study", "study_trial", "trial_cache"} & tables

    with CandleStore(path, read_only=True) as old:  # read-only: not upgraded, and no studies
        assert StudyStore(old).list() == []

    with CandleStore(path) as store:
        with sqlite3.connect(path) as conn:
            assert migrations.read_revision(conn) == migrations.HEAD  # 0007 and what came after
        back = store.read("binance", "BTC/USDT", "1m")
        assert np.array_equal(back.ts, candles.ts) and np.array_equal(back.close, candles.close)
        assert np.array_equal(RunStore(store).load(run_id).result.equity, result.equity)
        assert SimulatedMarkets(store).load("simulated") == MarketRecord("simulated", 7, 1, 2)
        studies = StudyStore(store)
        study_id = studies.create(spec(candles))
        run_study(studies, study_id, candles)
        assert studies.load(study_id).summary.status is StudyStatus.DONE
