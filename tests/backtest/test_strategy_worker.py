"""User strategies load and run in a spawned process that holds no keys
(terminal.backtest.strategy_worker), and files someone else can change are
not run at all.

The key test puts what a logged-in terminal holds into this process — a real
ccxt exchange object with an API key and secret, the terminal's CcxtSource with
credentials — and runs a strategy that looks for them as the security review's
demonstration did: every live object (``gc``), every ccxt exchange instance, the
environment. Run in this process, the probe finds the key (so it can fail); run
through the worker, it finds nothing.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import numpy as np
import pytest
from pydantic import ValidationError

from terminal.backtest.errors import BacktestCancelled, StrategyFailedError
from terminal.backtest.runner import run_backtest
from terminal.backtest.strategy_worker import StrategyWorker, StrategyWorkerDiedError
from terminal.backtest.user_strategies import UserStrategies
from terminal.credentials import ApiKey
from tests.backtest.backtest_scenarios import random_candles

pytestmark = pytest.mark.slow  # each worker is a fresh interpreter (about a second to start)

API_KEY = "probeKey7Fh2kLq9Zx0PwN4sVb8Rt1Ym6Jc3Gd5aa"
SECRET = "probeSecret9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Zx"

HEADER = """\
import gc, json, os, time
import numpy as np
from pydantic import Field, model_validator
from terminal.backtest import indicators, signals
from terminal.backtest.strategy import Strategy, StrategyParams
"""

SMA = """
class SmaParams(StrategyParams):
    fast: int = Field(default=10, ge=2, le=200, description="fast SMA")
    slow: int = Field(default=30, ge=3, le=500, description="slow SMA")

    @model_validator(mode="after")
    def _order(self):
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")
        return self


class SmaCross(Strategy[SmaParams]):
    name = "user_sma"
    title = "User SMA cross"
    summary = "Long while the fast SMA is above the slow one."
    Params = SmaParams

    def signals(self, candles):
        fast = indicators.sma(candles.close, self.params.fast)
        slow = indicators.sma(candles.close, self.params.slow)
        return np.where(fast > slow, signals.LONG, signals.FLAT)
"""

# What the review's script did from inside a strategy, written to a report file.
PROBE = """
class ProbeParams(StrategyParams):
    report: str = ""


class Probe(Strategy[ProbeParams]):
    name = "probe"
    title = "Looks for keys"
    Params = ProbeParams

    def signals(self, candles):
        found = []
        for obj in gc.get_objects():
            try:
                for attribute in ("apiKey", "secret", "password", "_credentials", "_secrets"):
                    value = getattr(obj, attribute, None) if not isinstance(obj, type) else None
                    if value:
                        found.append(f"{type(obj).__name__}.{attribute}={value!r}")
            except BaseException:  # e.g. pytest's mark generator refuses unknown names
                pass
        exchanges = [type(o).__name__ for o in gc.get_objects()
                     if str(getattr(type(o), "__module__", "")).startswith("ccxt")
                     and hasattr(o, "create_order")]
        report = {"found": found, "exchanges": exchanges, "environ": dict(os.environ), "pid": os.getpid()}
        with open(self.params.report, "w") as f:
            json.dump(report, f, default=str)
        return np.full(len(candles), signals.FLAT)
"""

MISBEHAVING = """
class BadParams(StrategyParams):
    how: str = "raise"


class Bad(Strategy[BadParams]):
    name = "bad"
    title = "Misbehaves"
    Params = BadParams

    def signals(self, candles):
        if self.params.how == "exit":
            os._exit(3)
        if self.params.how == "slow":
            time.sleep(30)
        raise RuntimeError("the strategy broke on purpose")
"""


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(HEADER + textwrap.dedent(body))
    path.chmod(0o600)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    strategies = tmp_path / "strategies"
    strategies.mkdir(mode=0o700)
    strategies.chmod(0o700)
    return strategies


@pytest.fixture
def worker(folder: Path) -> Any:
    w = StrategyWorker(folder)
    yield w
    w.close()


def test_a_user_strategy_is_described_and_runs_in_another_process_with_the_same_result(
    folder: Path, worker: StrategyWorker
) -> None:
    write(folder, "sma.py", SMA)
    scan = worker.scan()
    assert scan.errors == ()
    [info] = scan.strategies
    assert (info.name, info.title) == ("user_sma", "User SMA cross")
    assert worker.pid is not None and worker.pid != os.getpid()
    # the form's model has the fields, defaults and bounds, without the user's code
    model = info.params_model()
    assert model().model_dump() == {"fast": 10, "slow": 30}
    with pytest.raises(ValidationError):
        model(fast=1)

    candles = random_candles(np.random.default_rng(3), 2_000)
    progress: list[float] = []
    remote = worker.run(candles, "user_sma", {"fast": 5, "slow": 20}, progress=progress.append)
    here = UserStrategies(folder)
    here.refresh()
    local = run_backtest(candles, here.strategies["user_sma"], {"fast": 5, "slow": 20})
    assert remote.metrics == local.metrics and np.array_equal(remote.equity, local.equity)
    assert progress[0] == 0.0 and progress[-1] == 1.0

    # the strategy's own rule between fields is checked where its code runs
    with pytest.raises(Exception, match="fast must be shorter than slow"):
        worker.run(candles, "user_sma", {"fast": 30, "slow": 20})


def test_a_strategy_finds_no_key_in_the_worker_but_would_in_the_terminal(
    folder: Path, worker: StrategyWorker, tmp_path: Path
) -> None:
    from terminal.market.ccxt_source import CcxtSource

    write(folder, "probe.py", PROBE)
    # What a terminal trading live holds in its process.
    exchange = ccxt_async.binance({"apiKey": API_KEY, "secret": SECRET})
    source = CcxtSource("binance", credentials=ApiKey(API_KEY, SECRET))
    candles = random_candles(np.random.default_rng(4), 50)
    try:
        inside = tmp_path / "inside.json"
        here = UserStrategies(folder)
        here.refresh()
        run_backtest(candles, here.strategies["probe"], {"report": str(inside)})
        seen_here = inside.read_text()
        assert API_KEY in seen_here and SECRET in seen_here, "the probe must find keys where they are"

        outside = tmp_path / "outside.json"
        worker.run(candles, "probe", {"report": str(outside)})
        report = json.loads(outside.read_text())
        text = outside.read_text()
        assert report["pid"] != os.getpid()
        assert API_KEY not in text and SECRET not in text
        assert report["exchanges"] == [], "no exchange object exists in the strategy's process"
        assert not any("apiKey" in f or "secret" in f for f in report["found"]), report["found"]
    finally:
        await_close(exchange)
        await_close(source)


def test_a_failing_strategy_says_where_and_a_dead_one_is_reported_and_replaced(
    folder: Path, worker: StrategyWorker
) -> None:
    path = write(folder, "bad.py", MISBEHAVING)
    candles = random_candles(np.random.default_rng(5), 100)
    with pytest.raises(StrategyFailedError) as failed:
        worker.run(candles, "bad", {"how": "raise"})
    assert failed.value.path == str(path) and failed.value.line is not None
    assert "broke on purpose" in str(failed.value) and "Traceback" in failed.value.detail

    first = worker.pid
    with pytest.raises(StrategyWorkerDiedError, match="exit code 3"):
        worker.run(candles, "bad", {"how": "exit"})
    write(folder, "sma.py", SMA)
    result = worker.run(candles, "user_sma")  # a new process, on its own
    assert result.strategy == "user_sma" and worker.pid not in (None, first)


def test_a_cancelled_run_stops_and_the_worker_serves_the_next(folder: Path, worker: StrategyWorker) -> None:
    write(folder, "sma.py", SMA)
    candles = random_candles(np.random.default_rng(6), 3_000_000, gaps=False)

    class AfterFirstProgress:
        def __init__(self) -> None:
            self.seen = 0

        def progress(self, fraction: float) -> None:
            self.seen += 1

        def is_set(self) -> bool:
            return self.seen > 1

    token = AfterFirstProgress()
    with pytest.raises(BacktestCancelled):
        worker.run(candles, "user_sma", progress=token.progress, cancel=token)
    small = random_candles(np.random.default_rng(6), 500)
    assert worker.run(small, "user_sma").strategy == "user_sma"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file modes are POSIX's")
def test_files_or_folders_others_can_change_are_skipped_with_a_message(folder: Path) -> None:
    sma = write(folder, "sma.py", SMA)
    user = UserStrategies(folder)
    user.refresh()
    assert "user_sma" in user.strategies

    sma.chmod(0o664)
    assert user.refresh() is True
    assert "user_sma" not in user.strategies
    [error] = user.errors
    assert "can be changed by other users" in str(error) and "chmod go-w" in str(error)

    sma.chmod(0o600)
    user.refresh()
    assert "user_sma" in user.strategies and user.errors == []

    folder.chmod(0o777)
    try:
        user.refresh()
        assert "user_sma" not in user.strategies
        assert f"its folder {folder} can be changed by other users" in str(user.errors[0])
    finally:
        folder.chmod(0o700)


def await_close(closable: Any) -> None:
    import asyncio

    asyncio.run(closable.close())
