"""Saved backtest runs on real SQLite files: a run comes back exactly as it was
saved, lists newest first, deletes, keeps a user strategy's source hash, and
says in plain words when a run is missing or damaged."""

from __future__ import annotations

import hashlib
import math
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from terminal import __version__
from terminal.backtest.result import BacktestResult
from terminal.backtest.run_store import RunDamagedError, RunNotFoundError, RunStore
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, Stops
from terminal.backtest.user_strategies import UserStrategies
from terminal.errors import StoreError
from terminal.store import CandleStore, migrations
from terminal.store.database import connect
from tests.backtest.backtest_scenarios import (
    ABOVE_AVERAGE,
    F,
    FixedSignals,
    H,
    L,
    candles,
    flat_bar,
    random_candles,
    sig,
)

MARKET = {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m"}
SETTINGS = BacktestSettings(
    initial_cash=5_000,
    costs=Costs(taker_fee=0.001, maker_fee=0.0008, slippage_bps=2),
    sizing=Sizing(amount_step=0.001),
    stops=Stops(stop_loss_pct=2.0, take_profit_pct=5.0),
    direction=Direction.BOTH,
    close_at_end=False,  # so that the run has an open trade to keep
)


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    run = run_backtest(
        random_candles(np.random.default_rng(2), 3000), "sma_cross", {"fast": 10, "slow": 20}, SETTINGS
    )
    # what the round trip must keep: trades of every exit reason, and the open trade
    assert set(run.trades["exit_reason"].tolist()) == {0, 1, 2} and len(run.open_trade) == 1
    return run


def bits(a: np.ndarray) -> tuple[np.dtype, tuple[int, ...], bytes]:
    return a.dtype, a.shape, a.tobytes()


def assert_same_result(back: BacktestResult, saved: BacktestResult) -> None:
    """Equal bit for bit: every array, the metrics (NaN where NaN), settings, parameters."""
    for name in ("ts", "equity", "drawdown", "position", "cash", "trades", "open_trade"):
        assert bits(getattr(back, name)) == bits(getattr(saved, name)), name
    a, b = back.metrics.as_dict(), saved.metrics.as_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key] or (math.isnan(a[key]) and math.isnan(b[key])), key
        assert type(a[key]) is type(b[key]), key
    assert back.settings == saved.settings
    assert back.params == saved.params
    assert back.strategy == saved.strategy


def test_a_saved_run_reopens_exactly_as_it_was(tmp_path: Path, result: BacktestResult) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        run_id = RunStore(store).save(result, **MARKET)
    with CandleStore(path) as store:  # another session of the terminal
        saved = RunStore(store).load(run_id)

    assert_same_result(saved.result, result)
    s = saved.summary
    assert s.id == run_id
    assert (s.exchange, s.symbol, s.timeframe) == ("binance", "BTC/USDT", "1m")
    assert (s.start_ms, s.end_ms, s.bars) == (int(result.ts[0]), int(result.ts[-1]), len(result))
    assert s.strategy == "sma_cross"
    assert s.label == "SMA cross 10/20 · binance BTC/USDT 1m"
    assert s.source_hash == f"builtin:{__version__}"  # a built-in's code is the terminal's
    assert s.params == {"fast": 10, "slow": 20}
    assert s.settings == SETTINGS.model_dump(mode="json")
    assert s.trades == len(result.trades) == result.metrics.trades


def test_the_list_shows_every_run_newest_first(store: CandleStore, result: BacktestResult) -> None:
    runs = RunStore(store)
    assert runs.list() == []
    ids = [runs.save(result, **MARKET, label=f"run {i}") for i in range(3)]
    listed = runs.list()
    assert [s.id for s in listed] == ids[::-1]
    assert [s.label for s in listed] == ["run 2", "run 1", "run 0"]
    assert listed[0] == runs.load(ids[2]).summary  # the list says what a load says


def test_a_deleted_run_is_gone(store: CandleStore, result: BacktestResult) -> None:
    runs = RunStore(store)
    keep, drop = runs.save(result, **MARKET), runs.save(result, **MARKET)
    runs.delete(drop)
    assert [s.id for s in runs.list()] == [keep]
    with pytest.raises(RunNotFoundError):
        runs.load(drop)
    with pytest.raises(RunNotFoundError):
        runs.delete(drop)
    assert_same_result(runs.load(keep).result, result)


def test_a_user_strategys_source_hash_is_kept(store: CandleStore, tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    source = folder / "above.py"
    source.write_text(ABOVE_AVERAGE.format(period=20))  # the strategy file the loader's tests use
    user = UserStrategies(folder)
    user.refresh()
    cls = user.strategies["above_average"]
    run = run_backtest(random_candles(np.random.default_rng(2), 500), cls, {"period": 12})

    runs = RunStore(store)
    run_id = runs.save(run, **MARKET, source_hash=user.source_hash("above_average"))
    saved = runs.load(run_id).summary
    assert saved.source_hash == hashlib.sha256(source.read_bytes()).hexdigest()
    assert saved.strategy == "above_average"
    assert saved.label == "above_average 12 · binance BTC/USDT 1m"


def test_metrics_without_meaning_or_bound_come_back_as_they_were(store: CandleStore) -> None:
    # one winning trade on a rising market: no losses, so the profit factor is
    # infinite, and the spread of one P&L (SQN) is NaN
    rising = candles([flat_bar(100.0 + i) for i in range(10)])
    run = run_backtest(rising, FixedSignals(sig(L, H, H, H, F, H, H, H, H, H)))
    assert math.isinf(run.metrics.profit_factor) and math.isnan(run.metrics.sqn)
    runs = RunStore(store)
    saved = runs.load(runs.save(run, **MARKET))
    assert_same_result(saved.result, run)
    assert saved.summary.source_hash is None  # neither a built-in nor given a hash
    assert saved.summary.label == "fixed_signals · binance BTC/USDT 1m"


def test_a_missing_run_says_so_in_plain_words(store: CandleStore) -> None:
    with pytest.raises(StoreError) as caught:
        RunStore(store).load(404)
    assert isinstance(caught.value, RunNotFoundError)
    assert str(caught.value) == "There is no saved backtest run number 404."
    assert "deleted" in caught.value.user_message()


def test_a_damaged_run_says_so_and_the_others_still_open(
    tmp_path: Path, store: CandleStore, result: BacktestResult
) -> None:
    runs = RunStore(store)
    good, bad = runs.save(result, **MARKET), runs.save(result, **MARKET)
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:  # bytes that are no array
        conn.execute("UPDATE backtest_run SET equity = x'00112233' WHERE id = ?", (bad,))
    with pytest.raises(RunDamagedError) as caught:
        runs.load(bad)
    assert str(caught.value) == f"The saved backtest run number {bad} is damaged and cannot be opened."
    assert caught.value.detail  # what numpy said, for the log
    assert [s.id for s in runs.list()] == [bad, good]
    assert_same_result(runs.load(good).result, result)


def test_a_curve_of_the_wrong_length_is_damage_not_a_result(
    tmp_path: Path, store: CandleStore, result: BacktestResult
) -> None:
    runs = RunStore(store)
    run_id = runs.save(result, **MARKET)
    with sqlite3.connect(tmp_path / "history.sqlite") as conn:
        conn.execute("UPDATE backtest_run SET bars = bars + 1 WHERE id = ?", (run_id,))
    with pytest.raises(RunDamagedError):
        runs.load(run_id)


def test_runs_stay_when_the_candles_they_ran_on_are_deleted(
    store: CandleStore, result: BacktestResult
) -> None:
    store.write("binance", "BTC/USDT", "1m", random_candles(np.random.default_rng(2), 3000))
    runs = RunStore(store)
    run_id = runs.save(result, **MARKET)
    store.delete("binance", "BTC/USDT", "1m")
    assert_same_result(runs.load(run_id).result, result)


def test_runs_save_and_load_from_worker_threads(store: CandleStore, result: BacktestResult) -> None:
    runs = RunStore(store)  # the UI calls it through asyncio.to_thread
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: runs.save(result, **MARKET, label=str(i)), range(8)))
        loaded = list(pool.map(runs.load, ids))
    assert len(set(ids)) == 8
    for saved in loaded:
        assert_same_result(saved.result, result)


def test_an_older_file_opened_read_only_lists_no_runs(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0003")
    with CandleStore(path, read_only=True) as store:  # read-only: not upgraded
        assert RunStore(store).list() == []


def test_a_million_bar_run_saves_and_loads(store: CandleStore) -> None:
    # timing: docs/backtesting.md, "Saved runs and reports"; a test asserts behaviour only
    big = run_backtest(random_candles(np.random.default_rng(7), 1_000_000), "sma_cross", settings=SETTINGS)
    runs = RunStore(store)
    assert_same_result(runs.load(runs.save(big, **MARKET)).result, big)
