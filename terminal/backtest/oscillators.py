"""ADX, CCI, the stochastic and MFI, each in one numba pass.

TA-Lib computed these for the engine and the chart, but over a million candles its
ADX takes three calls that each find the directional movement again (33 ms in all),
and its CCI sums every window twice in one dependent chain (29 ms): a chart adding
one of them went past its 50 ms. Here each is one pass over the candles, with the
conventions TA-Lib has (``tests/analysis/test_reference_values.py`` checks every
output against the formula written out):

* ADX (Wilder's): +DM is the rise of the high when it is positive and above the fall
  of the low, -DM the other way round; their sums and the true range's over the first
  ``n - 1`` changes, then ``sum - sum / n + new``; +DI = 100·ΣDM+/ΣTR from bar ``n``;
  DX = 100·|+DI - -DI| / (+DI + -DI); ADX the mean of the first ``n`` DX at bar
  ``2n - 1``, then Wilder-smoothed. A bar whose ΣTR or +DI + -DI is (within 1e-8 of)
  zero leaves the DI at 0 and the ADX where it was, as TA-Lib does.
* CCI: (typical price - its mean over ``n``) / (0.015 · the mean absolute deviation
  from that mean); 0 where the window is flat or the price is on its mean.
* Stochastic (slow): %K the SMA(k) of 100·(close - lowest low) / (highest high - lowest
  low) over ``n`` bars (0 when the window has no range), %D the SMA(d) of %K; both from
  bar ``n + k + d - 3``.
* MFI: 100 · positive flow / all flow over the last ``n`` bars, a bar's flow (typical
  price × volume) positive when its typical price rose, negative when it fell, neither
  when it is unchanged (within 1e-12 of the price: equal sums of other highs, lows and
  closes land an ulp apart once divided by 3); from bar ``n``; 0 with no flow.

A window's running sum is taken afresh every ``n`` bars (so no drift builds up over a
million), and where a window has no term the sum is 0 exactly, not a residue. Divisions
by ``n`` are multiplications by ``1 / n`` where one sat on a bar's chain of sums: the
values then differ from TA-Lib's in the last bits (1e-15 relative), not in the figures.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from terminal.backtest.jit import compiled

FloatArray = NDArray[np.float64]
ZERO = 1e-8  # TA-Lib's TA_IS_ZERO


def _f64(x: NDArray[np.floating] | NDArray[np.integer]) -> FloatArray:
    arr = np.ascontiguousarray(x, dtype=np.float64)
    return arr if arr.flags.writeable else arr.copy()


def _whole(n: int, name: str, least: int = 1) -> int:
    if int(n) != n or n < least:
        raise ValueError(f"{name} must be a whole number >= {least}, not {n!r}")
    return int(n)


@compiled("float64[:, ::1](float64[::1], float64[::1], float64[::1], int64)")
def _adx(high: FloatArray, low: FloatArray, close: FloatArray, n: int) -> NDArray[np.float64]:
    """Rows: ADX, +DI, -DI. Divisions by ``n`` are multiplications by ``1 / n`` (a division
    on each bar's chain of sums cost more than the rest of the bar)."""
    size = len(high)
    out = np.empty((3, size))
    out[:, : min(size, 2 * n - 1)] = np.nan
    inv = 1.0 / n
    keep = (n - 1) / n
    sp = 0.0
    sm = 0.0
    st = 0.0
    adx = 0.0
    dx_sum = 0.0
    for i in range(1, size):
        rise = high[i] - high[i - 1]
        fall = low[i - 1] - low[i]
        plus = rise if (rise > 0.0) & (rise > fall) else 0.0  # & not "and": no branch to mispredict
        minus = fall if (fall > 0.0) & (fall > rise) else 0.0
        tr = max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        if i < n:  # the first n - 1 changes: plain sums
            sp += plus
            sm += minus
            st += tr
            continue
        sp = sp - sp * inv + plus
        sm = sm - sm * inv + minus
        st = st - st * inv + tr
        dx = -1.0  # none this bar
        if -ZERO < st < ZERO:
            out[1, i] = 0.0
            out[2, i] = 0.0
        else:
            scale = 100.0 / st
            pdi = sp * scale
            mdi = sm * scale
            out[1, i] = pdi
            out[2, i] = mdi
            total = pdi + mdi
            if not -ZERO < total < ZERO:
                dx = 100.0 * (abs(pdi - mdi) / total)
        if i < 2 * n - 1:
            if dx >= 0.0:
                dx_sum += dx
            continue
        if i == 2 * n - 1:
            if dx >= 0.0:
                dx_sum += dx
            adx = dx_sum * inv
        elif dx >= 0.0:
            adx = adx * keep + dx * inv
        out[0, i] = adx
    return out


@compiled("float64[::1](float64[::1], float64[::1], float64[::1], int64)")
def _cci(high: FloatArray, low: FloatArray, close: FloatArray, n: int) -> FloatArray:
    size = len(close)
    out = np.empty(size)
    out[: min(size, n - 1)] = np.nan
    inv = 1.0 / n
    scale = n / 0.015
    window = np.empty(n)  # the last n typical prices, in a ring (their order does not matter)
    at = 0
    same = 0  # how many typical prices in a row equal the one before
    total = 0.0  # the window's sum: running, taken afresh every n bars (no drift builds up)
    due = 0  # bars until it is taken afresh
    previous = np.nan
    for i in range(size):
        typical = (high[i] + low[i] + close[i]) / 3.0
        same = same + 1 if typical == previous else 0
        previous = typical
        leaving = window[at]
        window[at] = typical
        at = at + 1 if at + 1 < n else 0
        if i < n - 1:
            continue
        if due == 0:
            total = 0.0
            for j in range(n):
                total += window[j]
            due = n
        else:
            total += typical - leaving
        due -= 1
        m = total * inv
        diff = typical - m
        if same >= n - 1 or diff == 0.0:  # a flat window (its mean may round off the price): 0
            out[i] = 0.0
            continue
        # the window's deviation is CCI's cost (n terms a bar): four sums, so that the
        # additions do not wait for each other
        a = 0.0
        b = 0.0
        c = 0.0
        d = 0.0
        j = 0
        while j + 4 <= n:
            a += abs(window[j] - m)
            b += abs(window[j + 1] - m)
            c += abs(window[j + 2] - m)
            d += abs(window[j + 3] - m)
            j += 4
        while j < n:
            a += abs(window[j] - m)
            j += 1
        deviation = (a + b) + (c + d)
        out[i] = diff * scale / deviation if deviation != 0.0 else 0.0
    return out


@compiled("float64[:, ::1](float64[::1], float64[::1], float64[::1], int64, int64, int64)")
def _stochastic(
    high: FloatArray, low: FloatArray, close: FloatArray, n: int, k: int, d: int
) -> NDArray[np.float64]:
    """Rows: %K, %D (the slow stochastic, SMA-smoothed), in three passes (one loop doing
    all three took half as long again).

    The highest high and lowest low of the last ``n`` bars by van Herk / Gil-Werman: the
    bars in blocks of ``n``; a window ending in one block is the part of the block before
    it from its start (that block's running extreme from its end) and the part of its own
    block up to it (a running extreme from the block's start): three comparisons a bar and
    no branch on the data, where a queue of candidates mispredicts."""
    size = len(close)
    out = np.empty((2, size))
    first = n + k + d - 3
    if size <= first:
        out[:, :] = np.nan
        return out
    raw = out[1]  # the raw %K first, %D over it once %K is done
    tail_high = np.empty(n)  # the block before: its running extremes from its end
    tail_low = np.empty(n)
    for start in range(0, size, n):
        stop = min(start + n, size)
        head_high = -np.inf  # this block's running extremes from its start
        head_low = np.inf
        for i in range(start, stop):
            head_high = max(head_high, high[i])
            head_low = min(head_low, low[i])
            if i < n - 1:
                continue
            back = i + 1 - start  # where the window begins in the block before
            if back < n:
                hh = max(tail_high[back], head_high)
                ll = min(tail_low[back], head_low)
            else:  # the window is this whole block
                hh = head_high
                ll = head_low
            raw[i] = 100.0 * (close[i] - ll) / (hh - ll) if hh != ll else 0.0
        m_high = -np.inf
        m_low = np.inf
        for i in range(stop - 1, start - 1, -1):  # for the next block's windows
            m_high = max(m_high, high[i])
            m_low = min(m_low, low[i])
            tail_high[i - start] = m_high
            tail_low[i - start] = m_low
    # %K, the mean of the last k raw values, then %D, the mean of the last d %K: running
    # sums taken afresh every k (d) bars, so no drift builds up
    slow = out[0]
    total = 0.0
    due = 0
    for i in range(n + k - 2, size):
        if due == 0:
            total = 0.0
            for j in range(i - k + 1, i + 1):
                total += raw[j]
            due = k
        else:
            total += raw[i] - raw[i - k]
        due -= 1
        slow[i] = total / k
    for i in range(first, size):
        if due == 0 or i == first:
            total = 0.0
            for j in range(i - d + 1, i + 1):
                total += slow[j]
            due = d
        else:
            total += slow[i] - slow[i - d]
        due -= 1
        raw[i] = total / d  # raw[i - d] is not read again: %D takes its place
    out[:, :first] = np.nan
    return out


@compiled("float64[::1](float64[::1], float64[::1], float64[::1], float64[::1], int64)")
def _mfi(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, n: int) -> FloatArray:
    size = len(close)
    out = np.empty(size)
    out[: min(size, n)] = np.nan
    if size <= n:
        return out
    rising = np.zeros(n)  # the last n bars' flows, by the way the typical price moved, in rings
    falling = np.zeros(n)
    at = 0
    pos = 0.0  # the window's sums: running, taken afresh every n bars (no drift builds up)
    neg = 0.0
    ups = 0  # the window's rises and falls: none is a sum of 0 exactly, not a residue
    downs = 0
    due = 0
    previous = (high[0] + low[0] + close[0]) / 3.0
    for i in range(1, size):
        typical = (high[i] + low[i] + close[i]) / 3.0
        change = typical - previous
        previous = typical
        flow = typical * volume[i]
        moved = abs(change) > 1e-12 * abs(typical)
        up = flow if moved & (change > 0.0) else 0.0
        down = flow if moved & (change < 0.0) else 0.0
        up_left = rising[at]  # bar i - n's (0 until there is one)
        down_left = falling[at]
        rising[at] = up
        falling[at] = down
        at = at + 1 if at + 1 < n else 0
        ups += int(up != 0.0) - int(up_left != 0.0)
        downs += int(down != 0.0) - int(down_left != 0.0)
        if i < n:
            continue
        if due == 0:
            pos = 0.0
            neg = 0.0
            for j in range(n):
                pos += rising[j]
                neg += falling[j]
            due = n
        else:
            pos += up - up_left
            neg += down - down_left
        due -= 1
        if ups == 0:
            pos = 0.0
        if downs == 0:
            neg = 0.0
        total = pos + neg
        out[i] = 100.0 * pos / total if total > 0.0 else 0.0
    return out


def adx(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(ADX, +DI, -DI), Wilder's directional movement, 0..100."""
    rows = _adx(_f64(high), _f64(low), _f64(close), _whole(period, "ADX's period", 2))
    return rows[0], rows[1], rows[2]


def cci(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 20) -> FloatArray:
    """Commodity channel index: (typical price - its SMA) / (0.015 x mean deviation)."""
    return _cci(_f64(high), _f64(low), _f64(close), _whole(period, "CCI's period", 2))


def stochastic(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    period: int = 14,
    k_smooth: int = 3,
    d_smooth: int = 3,
) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic (%K smoothed by an SMA of ``k_smooth``, %D its SMA of ``d_smooth``), 0..100."""
    rows = _stochastic(
        _f64(high),
        _f64(low),
        _f64(close),
        _whole(period, "the stochastic's period"),
        _whole(k_smooth, "%K smoothing"),
        _whole(d_smooth, "%D smoothing"),
    )
    return rows[0], rows[1]


def mfi(
    high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray, period: int = 14
) -> FloatArray:
    """Money flow index (a volume-weighted RSI of the typical price), 0..100."""
    return _mfi(_f64(high), _f64(low), _f64(close), _f64(volume), _whole(period, "MFI's period", 2))
