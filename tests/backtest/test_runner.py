"""The entry point a worker calls: progress, cancellation, purity, threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest import engine, warmup
from terminal.backtest.errors import BacktestCancelled, BacktestError, InvalidSignalsError
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.backtest.strategies import SmaCross
from terminal.marketdata.candles import OHLCV
from tests.backtest.backtest_scenarios import FixedSignals, random_candles

ROOT = Path(__file__).resolve().parents[2]
N = 3 * engine.CHUNK_BARS + 100  # four chunks of the position loop


@pytest.fixture(scope="module")
def big() -> OHLCV:
    return random_candles(np.random.default_rng(4), N)


def test_progress_rises_from_zero_to_one_through_the_chunks(big: OHLCV) -> None:
    seen: list[float] = []
    run_backtest(big, "sma_cross", progress=seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) >= 2 + 4  # start, signals, each chunk, end


def test_a_set_cancel_event_stops_before_any_work(big: OHLCV) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(BacktestCancelled):
        run_backtest(big, "sma_cross", cancel=cancel)


def test_cancelling_during_the_loop_stops_between_chunks(big: OHLCV) -> None:
    cancel = threading.Event()
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if len(seen) == 3:  # after the first chunk of bars
            cancel.set()

    with pytest.raises(BacktestCancelled):
        run_backtest(big, "sma_cross", progress=progress, cancel=cancel)
    assert len(seen) == 3 and seen[-1] < 1.0


def test_the_same_inputs_give_the_same_result(big: OHLCV) -> None:
    s = BacktestSettings(costs=Costs(taker_fee=0.001))
    a = run_backtest(big, SmaCross, {"fast": 8, "slow": 21}, s)
    b = run_backtest(big, "sma_cross", SmaCross.Params(fast=8, slow=21), s)
    assert a.trades.tobytes() == b.trades.tobytes()
    np.testing.assert_array_equal(a.equity, b.equity)


def test_runs_in_threads_at_once_match_runs_one_by_one(big: OHLCV) -> None:
    params = [{"fast": f, "slow": 30} for f in (5, 10, 15, 20)]
    alone = [run_backtest(big, "sma_cross", p).equity for p in params]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: run_backtest(big, "sma_cross", p).equity, params))
    for x, y in zip(alone, together, strict=True):
        np.testing.assert_array_equal(x, y)


def test_an_instance_carries_its_own_parameters() -> None:
    data = random_candles(np.random.default_rng(1), 200)
    result = run_backtest(data, SmaCross.create({"fast": 3, "slow": 9}))
    assert result.params == {"fast": 3, "slow": 9}
    with pytest.raises(TypeError):
        run_backtest(data, SmaCross.create(), {"fast": 3})


def test_no_candles_is_an_error_in_plain_words() -> None:
    with pytest.raises(BacktestError, match="no candles"):
        run_backtest(OHLCV.empty(), "sma_cross")


def test_invalid_signals_are_refused() -> None:
    data = random_candles(np.random.default_rng(1), 10)
    with pytest.raises(InvalidSignalsError, match="one value per candle"):
        run_backtest(data, FixedSignals(np.zeros(9)))


def test_warm_up_compiles_the_kernels_and_the_cache_folder_is_fixed_once_loaded(tmp_path: Path) -> None:
    assert warmup.warm_up() >= 0.0
    thread = warmup.start_warmup()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert warmup.configure_cache(str(tmp_path)) is False  # the kernels are imported in this process


def test_the_warm_up_thread_warms_the_layers_above_after_the_engine_and_survives_their_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The app hands the research lab's fast-path warm-up to the same thread; a failure
    there is logged (the first sweep then compiles), never raised into the app."""
    calls: list[str] = []

    def then() -> float:
        calls.append("research")
        raise RuntimeError("no kernel today")

    with caplog.at_level("INFO", logger="terminal.backtest.warmup"):
        thread = warmup.start_warmup(then=then)
        thread.join(timeout=60)
    assert not thread.is_alive() and calls == ["research"]
    assert "a warm-up after the backtest kernels failed" in caplog.text
    assert "backtest kernels ready" in caplog.text


def test_configure_cache_puts_the_compiled_kernels_in_the_given_folder(tmp_path: Path) -> None:
    """A frozen or installed build cannot write next to its sources: the terminal
    points numba at a folder of its own before the kernels load."""
    cache = tmp_path / "numba-cache"
    script = (
        "import sys\n"
        "from terminal.backtest import warmup\n"
        "assert warmup.configure_cache(sys.argv[1])\n"
        "warmup.warm_up()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    subprocess.run([sys.executable, "-c", script, str(cache)], check=True, cwd=ROOT, env=env, timeout=120)
    assert list(cache.rglob("*.nbi")) and list(cache.rglob("*.nbc"))
