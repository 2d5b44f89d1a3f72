"""Technical indicators on numpy arrays, causal and vectorized.

Every value at bar ``i`` depends on bars ``0..i`` only (no look-ahead); bars
before an indicator has enough history hold NaN. Inputs are float64 price
columns without NaN (``OHLCV`` drops incomplete candles). The loops are
numba kernels: one pass, O(n), with compensated sums so that a million
bars of prices in the tens of thousands lose no precision that would flip a
crossover.

Conventions (docs/backtesting.md lists them too):

* SMA: mean of the last ``n`` values, first value at index ``n - 1``.
* EMA: ``alpha = 2 / (n + 1)``, seeded with the SMA of the first ``n`` values
  (TA-Lib's convention), first value at ``n - 1``.
* Wilder's smoothing (RSI, ATR): ``alpha = 1 / n``, seeded the same way.
* RSI: Wilder averages of gains and losses over ``n`` changes, first value at
  index ``n``; 100 when there were no losses, 50 when the price did not move.
* ATR: Wilder-smoothed true range; the first bar's true range is high - low.
* Bollinger: SMA ± k population standard deviations over ``n`` bars.
* Donchian: highest high and lowest low over the last ``n`` bars, this bar included.
* Keltner: EMA(close, n) ± k x ATR(m) (TradingView's default source and bands).
* Ichimoku: the midpoints of 9, 26 and 52 bars (TA-Lib's MIDPRICE) and span A, their
  values at the bar they are computed; the chart draws the spans 26 bars ahead.
* VWAP: volume-weighted typical price, cumulated from the start of each UTC day.
* SuperTrend: hl2 ± k x ATR(n), the bands ratcheting with the trend (TradingView's).

WMA, parabolic SAR, MACD and OBV are TA-Lib's (``terminal.backtest.ta_indicators``);
ADX, CCI, the stochastic and MFI are one numba pass each, with TA-Lib's conventions
(``terminal.backtest.oscillators``). All are exported here: a strategy and the chart
call one function for each indicator.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.jit import compiled
from terminal.backtest.oscillators import adx, cci, mfi, stochastic
from terminal.backtest.ta_indicators import macd, midprice, obv, sar, wma

__all__ = [
    "adx", "as_prices", "atr", "bollinger", "cci", "crossed_above", "crossed_below", "donchian", "ema",
    "ichimoku", "keltner", "macd", "mfi", "midprice", "obv", "rolling_max", "rolling_min", "rolling_std",
    "rsi", "sar", "shift", "sma", "stochastic", "supertrend", "true_range", "vwap", "wilder", "wma",
]  # fmt: skip

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

Memo = Callable[[Callable[..., FloatArray], tuple[Any, ...], dict[str, Any]], FloatArray]
#: a parameter sweep's memo of indicator arrays, set for the sweep's life by
#: ``terminal.research.indicator_cache``: the public functions below call
#: ``memo(function, args, kwargs)`` instead of computing. None (always, outside a
#: sweep): they compute, at the cost of one context-variable read.
MEMO: ContextVar[Memo | None] = ContextVar("indicator_memo", default=None)


def _memoised[**P](fn: Callable[P, FloatArray]) -> Callable[P, FloatArray]:
    @wraps(fn)
    def consult(*args: P.args, **kwargs: P.kwargs) -> FloatArray:
        memo = MEMO.get()
        return fn(*args, **kwargs) if memo is None else memo(fn, args, kwargs)

    return consult


def as_prices(x: NDArray[np.floating] | NDArray[np.integer]) -> FloatArray:
    """``x`` as a writable, contiguous float64 array: the one layout the kernels
    are compiled for (a read-only or strided array would compile another
    specialisation, costing a compilation on first use)."""
    arr = np.ascontiguousarray(x, dtype=np.float64)
    return arr if arr.flags.writeable else arr.copy()


def _period(n: int) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"an indicator period must be a whole number of bars >= 1, not {n!r}")
    return int(n)


# -- kernels -----------------------------------------------------------------------
@compiled("float64[::1](float64[::1], int64)")
def _sma(x: FloatArray, n: int) -> FloatArray:
    # np.empty and NaN written in the loop: np.full (or a helper kernel) costs a tenth
    # of a second more to compile, and the SMA is on the path of a first run
    out = np.empty(len(x))
    total = 0.0
    comp = 0.0  # Kahan compensation: the running sum adds and removes a million values
    for i in range(len(x)):
        y = x[i] - comp
        t = total + y
        comp = (t - total) - y
        total = t
        if i >= n:
            y = -x[i - n] - comp
            t = total + y
            comp = (t - total) - y
            total = t
        out[i] = total / n if i >= n - 1 else np.nan
    return out


@compiled("float64[::1](float64[::1], int64, float64, int64)")
def _smooth(x: FloatArray, n: int, alpha: float, first: int) -> FloatArray:
    """Exponential smoothing of ``x[first:]``, seeded with the mean of its first ``n`` values."""
    out = np.full(len(x), np.nan)
    if len(x) - first < n:
        return out
    seed = 0.0
    for i in range(first, first + n):
        seed += x[i]
    value = seed / n
    out[first + n - 1] = value
    for i in range(first + n, len(x)):
        value += alpha * (x[i] - value)
        out[i] = value
    return out


@compiled("float64[::1](float64[::1], int64)")
def _rsi(close: FloatArray, n: int) -> FloatArray:
    out = np.full(len(close), np.nan)
    if len(close) <= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, n + 1):
        d = close[i] - close[i - 1]
        if d > 0:
            gain += d
        else:
            loss -= d
    gain /= n
    loss /= n
    for i in range(n, len(close)):
        if i > n:
            d = close[i] - close[i - 1]
            gain = (gain * (n - 1) + (d if d > 0 else 0.0)) / n
            loss = (loss * (n - 1) + (-d if d < 0 else 0.0)) / n
        if loss == 0.0:
            out[i] = 50.0 if gain == 0.0 else 100.0
        else:
            out[i] = 100.0 - 100.0 / (1.0 + gain / loss)
    return out


@compiled("float64[::1](float64[::1], float64[::1], float64[::1])")
def _true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    out = np.empty(len(high))
    for i in range(len(high)):
        tr = high[i] - low[i]
        if i > 0:
            tr = max(tr, abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        out[i] = tr
    return out


@compiled("float64[::1](float64[::1], int64)")
def _rolling_std(x: FloatArray, n: int) -> FloatArray:
    """Population standard deviation over a sliding window (Welford's update
    for adding one value and removing another, stable for large prices).

    The sliding update's rounding accumulates over a long array (measured on
    1,000,000 candles: 2.6e-5 off a deviation of 38 by bar 787,000), so every
    ``n`` bars the window's mean and sum of squares are worked out again from
    its values (two passes): the error then never builds up for more than one
    window, at amortised O(1) a bar.

    A window of equal values (a market that did not trade) is 0 exactly: there
    the update's leftover rounding in the sum of squares, however small, came out
    as its square root (measured: 5.4e-5 at a price of 32,135, where the bands
    should close on the price)."""
    out = np.full(len(x), np.nan)
    mean = 0.0
    m2 = 0.0
    same = 0  # how many values in a row equal the one before
    for i in range(len(x)):
        same = same + 1 if i > 0 and x[i] == x[i - 1] else 0
        if i < n:
            d = x[i] - mean
            mean += d / (i + 1)
            m2 += d * (x[i] - mean)
        elif (i - n + 1) % n == 0:  # afresh from the window x[i - n + 1 .. i]
            total = 0.0
            for j in range(i - n + 1, i + 1):
                total += x[j]
            mean = total / n
            m2 = 0.0
            for j in range(i - n + 1, i + 1):
                m2 += (x[j] - mean) * (x[j] - mean)
        else:
            old = x[i - n]
            new_mean = mean + (x[i] - old) / n
            m2 += (x[i] - old) * (x[i] - new_mean + old - mean)
            mean = new_mean
        if i >= n - 1:
            out[i] = 0.0 if same >= n - 1 else np.sqrt(max(m2, 0.0) / n)
    return out


@compiled("float64[::1](float64[::1], int64, float64)")
def _rolling_extreme(x: FloatArray, n: int, sign: float) -> FloatArray:
    """Rolling max (sign 1) or min (sign -1), van Herk / Gil-Werman: the values in blocks
    of ``n``; a window ending in a block is the end of the block before it (that block's
    running extreme from its end) and the start of its own (a running extreme from the
    block's start). Three comparisons a value and no branch on the data: a queue of
    candidates, branching on each comparison, took five times as long over a million."""
    size = len(x)
    out = np.empty(size)
    out[: min(size, n - 1)] = np.nan
    tail = np.empty(n)  # the block before: its running extremes from its end (sign applied)
    for start in range(0, size, n):
        stop = min(start + n, size)
        head = -np.inf
        for i in range(start, stop):
            head = max(head, sign * x[i])
            if i < n - 1:
                continue
            back = i + 1 - start  # where the window begins in the block before
            out[i] = sign * (max(tail[back], head) if back < n else head)
        m = -np.inf
        for i in range(stop - 1, start - 1, -1):  # for the next block's windows
            m = max(m, sign * x[i])
            tail[i - start] = m
    return out


@compiled("float64[::1](int64[::1], float64[::1], float64[::1])")
def _vwap(session: NDArray[np.int64], price_volume: FloatArray, volume: FloatArray) -> FloatArray:
    """Cumulative sum(price x volume) / sum(volume), restarting where ``session`` changes."""
    out = np.empty(len(volume))
    pv = 0.0
    v = 0.0
    for i in range(len(volume)):
        if i == 0 or session[i] != session[i - 1]:
            pv = 0.0
            v = 0.0
        pv += price_volume[i]
        v += volume[i]
        out[i] = pv / v if v > 0.0 else np.nan
    return out


@compiled("float64[:, ::1](float64[::1], float64[::1], float64[::1], float64[::1], float64, float64[::1])")
def _supertrend(
    high: FloatArray, low: FloatArray, close: FloatArray, atr: FloatArray, k: float, state: FloatArray
) -> NDArray[np.float64]:
    """Rows: lower band, upper band, trend (+1 up, -1 down), the line (the band the trend
    follows). ``state`` is (lower, upper, trend, close) of the bar before ``high[0]``
    (NaN when there is none): a live candle continues from the last closed one."""
    n = len(high)
    out = np.full((4, n), np.nan)
    lower, upper, trend, prev_close = state[0], state[1], state[2], state[3]
    for i in range(n):
        if np.isnan(atr[i]):
            continue
        mid = (high[i] + low[i]) / 2.0
        lo = mid - k * atr[i]
        up = mid + k * atr[i]
        if not np.isnan(lower) and prev_close >= lower:
            lo = max(lo, lower)
        if not np.isnan(upper) and prev_close <= upper:
            up = min(up, upper)
        # TradingView's ta.supertrend: the first bar starts down, and the close is held
        # against this bar's bands, not the previous bar's (which left a down trend's
        # line under a close that had risen between the two, and the reverse)
        if np.isnan(trend):
            trend = -1.0
        elif trend < 0 and close[i] > up:
            trend = 1.0
        elif trend > 0 and close[i] < lo:
            trend = -1.0
        lower, upper, prev_close = lo, up, close[i]
        out[0, i], out[1, i], out[2, i] = lo, up, trend
        out[3, i] = lo if trend > 0 else up
    return out


# -- public functions --------------------------------------------------------------
@_memoised
def sma(x: FloatArray, period: int) -> FloatArray:
    """Simple moving average."""
    return _sma(as_prices(x), _period(period))


@_memoised
def ema(x: FloatArray, period: int) -> FloatArray:
    """Exponential moving average, alpha = 2 / (period + 1), SMA-seeded."""
    n = _period(period)
    return _smooth(as_prices(x), n, 2.0 / (n + 1), 0)


@_memoised
def wilder(x: FloatArray, period: int) -> FloatArray:
    """Wilder's moving average (RMA), alpha = 1 / period, SMA-seeded."""
    n = _period(period)
    return _smooth(as_prices(x), n, 1.0 / n, 0)


@_memoised
def rsi(close: FloatArray, period: int = 14) -> FloatArray:
    """Relative strength index (Wilder), 0..100."""
    return _rsi(as_prices(close), _period(period))


@_memoised
def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    return _true_range(as_prices(high), as_prices(low), as_prices(close))


@_memoised
def atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> FloatArray:
    """Average true range (Wilder)."""
    n = _period(period)
    return _smooth(true_range(high, low, close), n, 1.0 / n, 0)


@_memoised
def rolling_std(x: FloatArray, period: int) -> FloatArray:
    """Population standard deviation over the last ``period`` values."""
    return _rolling_std(as_prices(x), _period(period))


@_memoised
def rolling_max(x: FloatArray, period: int) -> FloatArray:
    return _rolling_extreme(as_prices(x), _period(period), 1.0)


@_memoised
def rolling_min(x: FloatArray, period: int) -> FloatArray:
    return _rolling_extreme(as_prices(x), _period(period), -1.0)


def bollinger(
    close: FloatArray, period: int = 20, k: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(middle, upper, lower) bands."""
    mid = sma(close, period)
    width = k * rolling_std(close, period)
    return mid, mid + width, mid - width


def donchian(high: FloatArray, low: FloatArray, period: int = 20) -> tuple[FloatArray, FloatArray]:
    """(upper, lower) channel: highest high and lowest low of the last ``period`` bars, this one included."""
    return rolling_max(high, period), rolling_min(low, period)


def shift(x: FloatArray, bars: int = 1) -> FloatArray:
    """``x`` delayed by ``bars`` (NaN in front): the value of the previous bar at each bar."""
    out = np.full(len(x), np.nan)
    if bars < len(x):
        out[bars:] = x[: len(x) - bars]
    return out


def crossed_above(a: FloatArray, b: FloatArray) -> BoolArray:
    """True at bar i when ``a`` is above ``b`` at i and was not above it at i - 1;
    False where either is NaN.

    A crossing through an exact tie (below, equal, above) counts, at the bar
    that ends above. backtesting.py's ``crossover`` (strict on both bars)
    misses that one; prices on a tick grid make such ties common."""
    out = np.zeros(len(a), dtype=np.bool_)
    if len(a) > 1:
        with np.errstate(invalid="ignore"):
            out[1:] = (a[:-1] <= b[:-1]) & (a[1:] > b[1:])
    return out


def crossed_below(a: FloatArray, b: FloatArray) -> BoolArray:
    """True at bar i when ``a`` is below ``b`` at i and was not below it at i - 1."""
    return crossed_above(b, a)


def keltner(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int = 20,
    k: float = 2.0,
    atr_period: int = 10,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(middle, upper, lower): EMA(close, period) ± k x ATR(atr_period)."""
    mid = ema(close, period)
    width = k * atr(high, low, close, atr_period)
    return mid, mid + width, mid - width


def ichimoku(
    high: FloatArray, low: FloatArray, tenkan: int = 9, kijun: int = 26, senkou: int = 52
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(conversion, base, span A, span B) at the bar each is computed from (no displacement:
    a strategy reads ``shift(span_a, kijun)`` for the cloud over today's bar)."""
    conversion = midprice(high, low, tenkan)
    base = midprice(high, low, kijun)
    return conversion, base, (conversion + base) / 2.0, midprice(high, low, senkou)


DAY_MS = 86_400_000


def vwap(
    ts: NDArray[np.int64], high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray,
    anchor_ms: int = DAY_MS,
) -> FloatArray:  # fmt: skip
    """Volume-weighted average of the typical price, restarting every ``anchor_ms``
    (a UTC day by default); NaN until a session has traded."""
    session = np.ascontiguousarray(np.asarray(ts, dtype=np.int64) // int(anchor_ms))
    typical = (as_prices(high) + as_prices(low) + as_prices(close)) / 3.0
    vol = as_prices(volume)
    return _vwap(session, np.ascontiguousarray(typical * vol), vol)


def supertrend(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int = 10, k: float = 3.0
) -> tuple[FloatArray, FloatArray]:
    """(line, trend): the SuperTrend line and its direction (+1 up: the line is support
    below the price; -1 down: resistance above it)."""
    rows = supertrend_rows(high, low, close, atr(high, low, close, period), k, None)
    return rows[3], rows[2]


def supertrend_rows(
    high: FloatArray, low: FloatArray, close: FloatArray, atr_values: FloatArray, k: float,
    state: tuple[float, float, float, float] | None,
) -> NDArray[np.float64]:  # fmt: skip
    """The kernel's four rows (lower, upper, trend, line), continuing from ``state``."""
    if not k > 0:
        raise ValueError(f"the SuperTrend's multiplier must be > 0, not {k!r}")
    start = np.array(state if state is not None else (np.nan,) * 4, dtype=np.float64)
    h, lo, c, a = (as_prices(x) for x in (high, low, close, atr_values))
    return _supertrend(h, lo, c, a, float(k), start)
