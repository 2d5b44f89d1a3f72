"""A user strategy file for the tests of sweeps in worker processes and on a
cluster: an SMA cross that can wait a while in each trial (``pause``), so that a
test can kill a worker or cancel while trials run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from terminal.backtest.user_strategies import UserStrategies

SLOW_CROSS = """
import time
from pydantic import Field
from terminal.backtest import indicators
from terminal.backtest.signals import from_crossings
from terminal.backtest.strategy import Strategy, StrategyParams

class Params(StrategyParams):
    fast: int = Field(default=3, ge=1)
    slow: int = Field(default=8, ge=2)
    pause: float = Field(default=0.0, ge=0.0, description="seconds each trial waits")

class SlowCross(Strategy[Params]):
    name = "slow_cross"
    title = "Slow cross"
    Params = Params

    def signals(self, candles):
        time.sleep(self.params.pause)
        a = indicators.sma(candles.close, self.params.fast)
        b = indicators.sma(candles.close, self.params.slow)
        return from_crossings(indicators.crossed_above(a, b), indicators.crossed_below(a, b))
"""


def load_slow_cross(tmp_path: Path) -> Any:
    """The strategy's class, loaded from its file as the terminal loads a user's."""
    folder = tmp_path / "strategies"
    folder.mkdir(mode=0o700)
    path = folder / "slow_cross.py"
    path.write_text(SLOW_CROSS)
    path.chmod(0o600)
    user = UserStrategies(folder)
    user.refresh()
    assert not user.errors
    return user.strategies["slow_cross"]


def cancel_after_the_first_trial(
    sweep: Callable[[threading.Event, Callable[[Any], None]], Any],
) -> tuple[Any, float]:
    """Run ``sweep(cancel, progress)`` in a thread, set ``cancel`` once the first trial is
    reported, and return (its result, the seconds from the cancel to its return)."""
    cancel, first = threading.Event(), threading.Event()
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(sweep(cancel, lambda _progress: first.set())))
    thread.start()
    assert first.wait(60), "no trial was reported"
    cancel.set()
    asked = time.monotonic()
    thread.join(10)
    assert not thread.is_alive() and outcome, "the sweep did not stop"
    return outcome[0], time.monotonic() - asked
