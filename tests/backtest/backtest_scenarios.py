"""Small helpers the backtest tests share: candles from rows, signals from a
compact notation, a fixed-signal strategy, and a user's strategy file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.signals import FloatArray
from terminal.backtest.strategy import Strategy, StrategyParams
from terminal.marketdata.candles import OHLCV

MINUTE_MS = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS

L, S, F, H = 1.0, -1.0, 0.0, float("nan")  # long, short, flat, hold (no request)

#: a user's strategy file, as the user writes one (its SMA length default in ``{period}``)
ABOVE_AVERAGE = """\
import numpy as np
from pydantic import Field

from terminal.backtest import indicators, signals
from terminal.backtest.strategy import Strategy, StrategyParams


class Params(StrategyParams):
    period: int = Field(default={period}, ge=2, le=500, description="SMA length")


class AboveAverage(Strategy[Params]):
    name = "above_average"
    title = "Close above its SMA"
    Params = Params

    def signals(self, candles):
        above = candles.close > indicators.sma(candles.close, self.params.period)
        return np.where(above, signals.LONG, signals.FLAT)
"""


def candles(rows: Sequence[tuple[float, float, float, float]], *, bar_ms: int = MINUTE_MS) -> OHLCV:
    """Candles from ``(open, high, low, close)`` rows, one ``bar_ms`` apart."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    n = len(arr)
    ts = T0 + bar_ms * np.arange(n, dtype=np.int64)
    cols = [np.ascontiguousarray(arr[:, i]) for i in range(4)]
    return OHLCV(ts, *cols, np.ones(n))


def flat_bar(price: float) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def sig(*values: float) -> NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


class NoParams(StrategyParams):
    pass


class FixedSignals(Strategy[NoParams]):
    """A strategy that returns the signals it was given (tests drive the engine
    through the real runner with it)."""

    name = "fixed_signals"
    title = "Fixed signals"
    Params = NoParams

    def __init__(self, signals: FloatArray) -> None:
        super().__init__(NoParams())
        self._signals = signals

    def signals(self, candles: OHLCV) -> FloatArray:
        return self._signals


def random_candles(rng: np.random.Generator, n: int, start: float = 100.0, gaps: bool = True) -> OHLCV:
    """A random walk with highs and lows around open and close, and (optionally)
    gaps between one close and the next open."""
    steps = rng.normal(0.0, 0.01, n)
    close = start * np.exp(np.cumsum(steps))
    open_ = np.empty(n)
    open_[0] = start
    open_[1:] = close[:-1] * (np.exp(rng.normal(0.0, 0.005, n - 1)) if gaps else 1.0)
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.004, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.004, n)))
    ts = T0 + MINUTE_MS * np.arange(n, dtype=np.int64)
    return OHLCV(ts, open_, high, low, close, np.ones(n))
