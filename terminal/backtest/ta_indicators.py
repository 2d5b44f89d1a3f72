"""The indicators the engine takes from TA-Lib (0.8; its wheels carry the C library).

(ADX, CCI, the stochastic and MFI were TA-Lib's too; ``terminal.backtest.oscillators``
computes each in one pass now, a chart's 50 ms for adding one over a million candles.)

Measured against the engine's own numba kernels (benchmarks/bench_indicator_libs.py,
docs/performance.md): both compute any of these over 1,000,000 candles well within
the chart's 50 ms, TA-Lib's are there already and checked by their users, so the
engine keeps its kernels where strategies and backtests were verified against the
reference libraries (SMA, EMA, RSI, ATR, Bollinger, Donchian) and takes the rest
from TA-Lib. ``terminal.backtest.indicators`` exports these beside its own: a
strategy and the chart call the same function.

``talib`` is imported on first use: it loads pandas, a third of a second that a
backtest of SMA crossings does not need.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@cache
def _talib() -> ModuleType:
    import talib

    return talib


def _f64(x: NDArray[np.floating] | NDArray[np.integer]) -> FloatArray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _whole(n: int, name: str, least: int = 1) -> int:
    if int(n) != n or n < least:
        raise ValueError(f"{name} must be a whole number >= {least}, not {n!r}")
    return int(n)


def wma(x: FloatArray, period: int) -> FloatArray:
    """Weighted moving average: weights 1..period, the newest heaviest."""
    return _talib().WMA(_f64(x), _whole(period, "an indicator period"))


def sar(high: FloatArray, low: FloatArray, acceleration: float = 0.02, maximum: float = 0.2) -> FloatArray:
    """Wilder's parabolic stop and reverse."""
    if not 0 < acceleration <= maximum:
        raise ValueError(f"the SAR's step {acceleration!r} must be > 0 and <= its maximum {maximum!r}")
    return _talib().SAR(_f64(high), _f64(low), acceleration=acceleration, maximum=maximum)


def macd(
    close: FloatArray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(MACD line, signal line, histogram): EMA(fast) - EMA(slow), its EMA(signal), their difference."""
    fast, slow = _whole(fast, "MACD's fast period", 2), _whole(slow, "MACD's slow period", 2)
    if fast >= slow:
        raise ValueError(f"MACD's fast period ({fast}) must be shorter than its slow one ({slow})")
    line, sig, hist = _talib().MACD(
        _f64(close), fastperiod=fast, slowperiod=slow, signalperiod=_whole(signal, "MACD's signal period")
    )
    return line, sig, hist


def obv(close: FloatArray, volume: FloatArray) -> FloatArray:
    """On-balance volume, starting from the first bar's volume."""
    return _talib().OBV(_f64(close), _f64(volume))


def midprice(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    """(highest high + lowest low) / 2 over the last ``period`` bars: Ichimoku's lines."""
    return _talib().MIDPRICE(_f64(high), _f64(low), timeperiod=_whole(period, "a period", 2))


def sar_stream(
    high: FloatArray, low: FloatArray, acceleration: float, maximum: float
) -> tuple[SarStream, FloatArray]:
    """A streaming SAR opened on ``high``/``low`` (closed bars) and its values over them:
    TA-Lib's handle, whose ``peek`` and ``update`` equal its batch SAR exactly."""
    sar(high[:0], low[:0], acceleration, maximum)  # the same checks as the batch function
    handle, values = _talib().stream.SAR.open_and_fill(
        _f64(high), _f64(low), acceleration=acceleration, maximum=maximum
    )
    return SarStream(handle), np.asarray(values, dtype=np.float64)


class SarStream:
    """The state of a SAR after its last closed bar: ``peek`` a forming bar, ``close`` one."""

    def __init__(self, handle: object) -> None:
        self._handle = handle

    def peek(self, high: float, low: float) -> float:
        return float(self._handle.peek(high, low))  # type: ignore[attr-defined]

    def close(self, high: float, low: float) -> float:
        return float(self._handle.update(high, low))  # type: ignore[attr-defined]
