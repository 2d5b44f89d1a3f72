"""Every chart indicator against its formula written out independently.

For each entry of the catalogue (``terminal.analysis.catalogue.SPECS``), with its
default parameters and one other set, the values the chart draws (``spec.compute``,
the functions the strategies call) are compared bar by bar with the indicator's
formula written out here: numpy windows, pandas ``ewm`` with an explicit seed, and
plain loops where the definition is a recursion (Wilder's sums, SAR, SuperTrend).
Nothing here calls TA-Lib or the terminal's indicator code.

The references follow the conventions ``terminal/backtest/indicators.py`` and
``ta_indicators.py`` document: where the first value falls, how an exponential
average is seeded, what a flat market (a window with no range) gives. A
reference's NaN are the warm-up the convention prescribes: the indicator must be
NaN on exactly those bars, and agree everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from terminal.analysis.catalogue import SPECS, IndicatorSpec
from terminal.marketdata.candles import OHLCV

Array = NDArray[np.float64]
Params = Mapping[str, float | int]

NAN = float("nan")
RTOL = 1e-9
FLAT = slice(1500, 1560)  # a quiet hour: one price, a trickle of volume


# -- the candles ---------------------------------------------------------------------
def _market(n: int = 3000, seed: int = 20240101) -> OHLCV:
    """A seeded random walk around 30,000 on a 0.1 tick: fat-tailed 1-minute returns,
    wicks and the odd gap at the open (so the true range's previous-close terms count),
    log-normal volumes, a quiet hour at one price (flat windows: Stochastic, CCI, MFI
    and Bollinger at their degenerate values), 1-minute bars from 20:00 UTC over 50
    hours, so VWAP restarts at two UTC midnights."""
    rng = np.random.default_rng(seed)
    ts = 1_704_139_200_000 + 60_000 * np.arange(n, dtype=np.int64)  # 2024-01-01 20:00 UTC
    close = 30_000.0 * np.exp(np.cumsum(0.0006 * rng.standard_t(3, n)))
    gap = np.where(rng.random(n) < 0.2, 0.0002 * rng.standard_t(3, n), 0.0)
    open_ = np.r_[30_000.0, close[:-1]] * (1.0 + gap)
    high = np.maximum(open_, close) + 0.0004 * np.abs(rng.standard_t(3, n)) * close
    low = np.minimum(open_, close) - 0.0004 * np.abs(rng.standard_t(3, n)) * close
    volume = rng.lognormal(1.0, 0.8, n)
    o, h, lo, c = (np.round(x * 10.0) / 10.0 for x in (open_, high, low, close))
    o[FLAT] = h[FLAT] = lo[FLAT] = c[FLAT] = c[FLAT.start - 1]
    volume[FLAT] = 0.01
    return OHLCV(ts, o, h, lo, c, volume)


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return _market()


# -- building blocks -----------------------------------------------------------------
def _from(first: int, x: Array) -> Array:
    """``x`` with NaN before bar ``first``: the warm-up the convention gives."""
    out = np.array(x, dtype=np.float64)
    out[:first] = NAN
    return out


def _windows(x: Array, n: int) -> Array:
    """Row ``i`` holds ``x[i - n + 1 .. i]`` (NaN rows until there are ``n`` values)."""
    out = np.full((len(x), n), NAN)
    out[n - 1 :] = sliding_window_view(x, n)
    return out


def _mean(x: Array, n: int) -> Array:
    return _windows(x, n).mean(axis=1)


def _highest(x: Array, n: int) -> Array:
    return _windows(x, n).max(axis=1)


def _lowest(x: Array, n: int) -> Array:
    return _windows(x, n).min(axis=1)


def _smoothed(x: Array, n: int, alpha: float, seed_at: int) -> Array:
    """Exponential smoothing ``y += alpha * (x - y)`` from bar ``seed_at``, where ``y``
    is the mean of the ``n`` values ending at that bar; NaN before."""
    out = np.full(len(x), NAN)
    tail = pd.Series(x[seed_at:], dtype=np.float64)
    tail.iloc[0] = x[seed_at - n + 1 : seed_at + 1].mean()
    out[seed_at:] = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def _ema(x: Array, n: int, seed_at: int | None = None) -> Array:
    """alpha = 2 / (n + 1), seeded with the SMA of the first ``n`` values (at ``n - 1``)."""
    return _smoothed(x, n, 2.0 / (n + 1), n - 1 if seed_at is None else seed_at)


def _true_range(h: Array, lo: Array, c: Array) -> Array:
    prev = pd.Series(c).shift(1)
    parts = pd.concat([pd.Series(h - lo), (pd.Series(h) - prev).abs(), (pd.Series(lo) - prev).abs()], axis=1)
    return parts.max(axis=1).to_numpy()  # NaN terms skipped: the first bar's range is high - low


def _atr(h: Array, lo: Array, c: Array, n: int) -> Array:
    """Wilder's (alpha = 1 / n) average of the true range, seeded with the mean of the first n."""
    return _smoothed(_true_range(h, lo, c), n, 1.0 / n, n - 1)


def _typical(c: OHLCV) -> Array:
    return (c.high + c.low + c.close) / 3.0


def _ratio(num: Array, den: Array, when_zero: float) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den == 0.0, when_zero, num / den)


# -- the references, one per catalogue entry -----------------------------------------
def ref_sma(c: OHLCV, p: Params) -> tuple[Array, ...]:
    return (_mean(c.close, int(p["period"])),)


def ref_ema(c: OHLCV, p: Params) -> tuple[Array, ...]:
    return (_ema(c.close, int(p["period"])),)


def ref_wma(c: OHLCV, p: Params) -> tuple[Array, ...]:
    n = int(p["period"])
    weights = np.arange(1.0, n + 1.0)  # the newest bar weighs n
    return (_windows(c.close, n) @ weights / weights.sum(),)


def ref_vwap(c: OHLCV, p: Params) -> tuple[Array, ...]:
    day = pd.to_datetime(c.ts, unit="ms", utc=True).floor("D")
    frame = pd.DataFrame({"pv": _typical(c) * c.volume, "v": c.volume, "day": day})
    cum = frame.groupby("day")[["pv", "v"]].cumsum()
    return ((cum["pv"] / cum["v"]).to_numpy(),)


def ref_bb(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """SMA ± k population standard deviations (two passes over each window)."""
    n, k = int(p["period"]), float(p["k"])
    w = _windows(c.close, n)
    mid, sd = w.mean(axis=1), w.std(axis=1)  # population deviation (ddof 0)
    return mid, mid + k * sd, mid - k * sd


def ref_kc(c: OHLCV, p: Params) -> tuple[Array, ...]:
    mid = _ema(c.close, int(p["period"]))
    width = float(p["k"]) * _atr(c.high, c.low, c.close, int(p["atr"]))
    return mid, mid + width, mid - width


def ref_dc(c: OHLCV, p: Params) -> tuple[Array, ...]:
    n = int(p["period"])
    return _highest(c.high, n), _lowest(c.low, n)


def ref_sar(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """Wilder's parabolic SAR as TA-Lib starts it: the first value at bar 1; the
    trade is short if bar 1's low fell further than its high rose (a -DM), long
    otherwise, with the first SAR at bar 0's extreme and the first extreme point at
    bar 1's; on a reversal the SAR becomes the extreme point (kept outside this and
    the previous bar's range) and the factor restarts."""
    h, lo = c.high, c.low
    step, top = float(p["step"]), float(p["max"])
    out = np.full(len(h), NAN)
    rise, fall = h[1] - h[0], lo[0] - lo[1]
    long = not (fall > 0 and fall > rise)
    sar, ep = (lo[0], h[1]) if long else (h[0], lo[1])
    af = step
    for i in range(1, len(h)):
        ph, pl = (h[i - 1], lo[i - 1]) if i > 1 else (h[1], lo[1])
        if long and lo[i] <= sar:  # stopped out: reverse to short
            long, af = False, step
            sar = max(ep, ph, h[i])
            out[i] = sar
            ep = lo[i]
            sar = max(sar + af * (ep - sar), ph, h[i])
        elif not long and h[i] >= sar:  # stopped out: reverse to long
            long, af = True, step
            sar = min(ep, pl, lo[i])
            out[i] = sar
            ep = h[i]
            sar = min(sar + af * (ep - sar), pl, lo[i])
        elif long:
            out[i] = sar
            if h[i] > ep:
                ep, af = h[i], min(af + step, top)
            sar = min(sar + af * (ep - sar), pl, lo[i])
        else:
            out[i] = sar
            if lo[i] < ep:
                ep, af = lo[i], min(af + step, top)
            sar = max(sar + af * (ep - sar), ph, h[i])
    return (out,)


def ref_st(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """SuperTrend as TradingView's ``ta.supertrend`` (the Pine code its reference manual
    gives for it), line by line: bands hl2 ± k·ATR(n); a band keeps its previous value
    unless the new one is tighter or the previous close broke through it; the
    direction starts down at the first bar with an ATR, then, when the line was the
    upper band, turns up if the close is above this bar's upper band, and when it was
    the lower band turns down if the close is below this bar's lower band; the line is
    the lower band going up, the upper one going down. Returns the line, then the
    lower band, the upper band and the trend (+1 up / -1 down: Pine's -1 / 1), as the
    catalogue does."""
    h, lo, close = c.high, c.low, c.close
    n, k = int(p["period"]), float(p["k"])
    atr = _atr(h, lo, close, n)
    rows = np.full((4, len(h)), NAN)
    lower = upper = line = NAN
    for i in range(n - 1, len(h)):
        prev_lower = 0.0 if np.isnan(lower) else lower  # Pine's nz(lowerBand[1])
        prev_upper = 0.0 if np.isnan(upper) else upper
        lower = (h[i] + lo[i]) / 2.0 - k * atr[i]
        upper = (h[i] + lo[i]) / 2.0 + k * atr[i]
        lower = lower if lower > prev_lower or close[i - 1] < prev_lower else prev_lower
        upper = upper if upper < prev_upper or close[i - 1] > prev_upper else prev_upper
        if i == n - 1:  # na(atr[1])
            direction = 1
        elif line == prev_upper:
            direction = -1 if close[i] > upper else 1
        else:
            direction = 1 if close[i] < lower else -1
        line = lower if direction == -1 else upper
        rows[:, i] = line, lower, upper, -direction
    return tuple(rows)


def ref_ichimoku(c: OHLCV, p: Params) -> tuple[Array, ...]:
    def midpoint(n: int) -> Array:
        return (_highest(c.high, n) + _lowest(c.low, n)) / 2.0

    conversion, base = midpoint(int(p["tenkan"])), midpoint(int(p["kijun"]))
    # unshifted: each value at the bar it is computed from; the lagging line is the close
    return conversion, base, (conversion + base) / 2.0, midpoint(int(p["senkou"])), c.close


def ref_rsi(c: OHLCV, p: Params) -> tuple[Array, ...]:
    n = int(p["period"])
    change = np.r_[NAN, np.diff(c.close)]
    gain = _smoothed(np.clip(change, 0.0, None), n, 1.0 / n, n)  # the mean of changes 1..n, at bar n
    loss = _smoothed(np.clip(-change, 0.0, None), n, 1.0 / n, n)
    rsi = 100.0 - 100.0 / (1.0 + _ratio(gain, loss, np.inf))
    return (np.where((gain == 0.0) & (loss == 0.0), 50.0, rsi),)


def ref_macd(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """EMA(fast) - EMA(slow), its EMA(signal), their difference; first values at
    ``slow + signal - 2`` for all three (TA-Lib's). Seeding, as TA-Lib does it: the
    fast EMA starts with the slow one, at bar ``slow - 1``, seeded with the mean of
    the ``fast`` closes ending there (not at bar ``fast - 1``); the signal EMA is
    seeded with the mean of the first ``signal`` MACD values. (Two EMAs each seeded
    at its own ``n - 1``, as ``indicators.ema`` gives them, make a line 1.48 off at
    bar 33 of these candles and within the tolerance from bar 145 on.)"""
    fast, slow, sig = int(p["fast"]), int(p["slow"]), int(p["signal"])
    line = _ema(c.close, fast, seed_at=slow - 1) - _ema(c.close, slow)
    first = slow + sig - 2
    signal = _ema(line, sig, seed_at=first)
    return _from(first, line), signal, line - signal


def ref_stoch(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """Slow stochastic: %K = SMA(k) of 100·(close - lowest low) / (highest high - lowest
    low) over ``period`` bars (0 when the window has no range), %D = SMA(d) of %K; both
    start where %D does, at ``period + k + d - 3``."""
    n, ks, ds = int(p["period"]), int(p["k"]), int(p["d"])
    hh, ll = _highest(c.high, n), _lowest(c.low, n)
    raw = _from(n - 1, _ratio(100.0 * (c.close - ll), hh - ll, 0.0))
    k = np.r_[np.full(n - 1, NAN), _mean(raw[n - 1 :], ks)]
    d = np.r_[np.full(n + ks - 2, NAN), _mean(k[n + ks - 2 :], ds)]
    first = n + ks + ds - 3
    return _from(first, k), d


def ref_atr(c: OHLCV, p: Params) -> tuple[Array, ...]:
    return (_atr(c.high, c.low, c.close, int(p["period"])),)


def ref_adx(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """Wilder's directional movement (TA-Lib's): +DM the rise of the high when it exceeds
    the fall of the low (and is positive), -DM the other way round; their sums and the
    true range's over the first ``n - 1`` changes, then ``sum - sum / n + new``; +DI =
    100·ΣDM+/ΣTR from bar ``n``; DX = 100·|+DI - -DI| / (+DI + -DI); ADX the mean of
    the first ``n`` DX at bar ``2n - 1``, then Wilder-smoothed. (TA-Lib skips a bar
    whose ΣTR or +DI + -DI is zero; these candles have none.)"""
    h, lo, c_ = c.high, c.low, c.close
    n = int(p["period"])
    plus_dm, minus_dm, tr = np.zeros(len(h)), np.zeros(len(h)), np.zeros(len(h))
    for i in range(1, len(h)):
        rise, fall = h[i] - h[i - 1], lo[i - 1] - lo[i]
        plus_dm[i] = rise if rise > 0 and rise > fall else 0.0
        minus_dm[i] = fall if fall > 0 and fall > rise else 0.0
        tr[i] = max(h[i] - lo[i], abs(h[i] - c_[i - 1]), abs(lo[i] - c_[i - 1]))
    plus, minus, dx = np.full(len(h), NAN), np.full(len(h), NAN), np.full(len(h), NAN)
    sp, sm, st = plus_dm[1:n].sum(), minus_dm[1:n].sum(), tr[1:n].sum()
    for i in range(n, len(h)):
        sp, sm, st = sp - sp / n + plus_dm[i], sm - sm / n + minus_dm[i], st - st / n + tr[i]
        plus[i], minus[i] = 100.0 * sp / st, 100.0 * sm / st
        dx[i] = 100.0 * abs(plus[i] - minus[i]) / (plus[i] + minus[i])
    adx = np.full(len(h), NAN)
    adx[2 * n - 1] = dx[n : 2 * n].mean()
    for i in range(2 * n, len(h)):
        adx[i] = (adx[i - 1] * (n - 1) + dx[i]) / n
    return adx, plus, minus


def ref_obv(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """The first bar's volume, then each bar's volume added on an up close, taken
    away on a down close, ignored on an unchanged one."""
    signed = np.sign(np.r_[1.0, np.diff(c.close)]) * c.volume
    return (np.cumsum(signed),)


def ref_cci(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """(typical - its SMA) / (0.015 · the mean absolute deviation from that SMA); 0 when
    the window is flat (its mean of n equal prices may round off the price, and
    a rounding residue over a residue would read ±66.7)."""
    w = _windows(_typical(c), int(p["period"]))
    mean = w.mean(axis=1)
    deviation = np.abs(w - mean[:, None]).mean(axis=1)
    flat = w.max(axis=1) == w.min(axis=1)
    return (np.where(flat, 0.0, _ratio(_typical(c) - mean, 0.015 * deviation, 0.0)),)


def ref_mfi(c: OHLCV, p: Params) -> tuple[Array, ...]:
    """100 · positive flow / total flow over the last ``n`` bars, a bar's flow (typical
    price × volume) positive when its typical price rose, negative when it fell,
    neither when unchanged; first value at bar ``n``; 0 when no flow either way (a
    window of unchanged prices). Unchanged is within 1e-12 of the price: equal sums
    of different highs, lows and closes can land an ulp apart once divided by 3
    (bar 2424 of seed 5: 31589.399999999998 then 31589.400000000005), while a real
    change is at least a third of a tick."""
    n = int(p["period"])
    tp = _typical(c)
    change = np.r_[0.0, np.diff(tp)]
    change[np.abs(change) <= 1e-12 * tp] = 0.0
    flow = tp * c.volume
    pos = _windows(np.where(change > 0, flow, 0.0), n).sum(axis=1)
    neg = _windows(np.where(change < 0, flow, 0.0), n).sum(axis=1)
    return (_from(n, _ratio(100.0 * pos, pos + neg, 0.0)),)


Reference = Callable[[OHLCV, Params], tuple[Array, ...]]

REFERENCES: dict[str, Reference] = {
    "SMA": ref_sma, "EMA": ref_ema, "WMA": ref_wma, "VWAP": ref_vwap, "BB": ref_bb, "KC": ref_kc,
    "DC": ref_dc, "SAR": ref_sar, "ST": ref_st, "ICHIMOKU": ref_ichimoku, "RSI": ref_rsi,
    "MACD": ref_macd, "STOCH": ref_stoch, "ATR": ref_atr, "ADX": ref_adx, "OBV": ref_obv,
    "CCI": ref_cci, "MFI": ref_mfi,
}  # fmt: skip

#: one set of parameters other than the defaults for each entry that has any
OTHER_PARAMS: dict[str, dict[str, float]] = {
    "SMA": {"period": 7},
    "EMA": {"period": 9},
    "WMA": {"period": 10},
    "BB": {"period": 10, "k": 2.5},
    "KC": {"period": 14, "k": 1.5, "atr": 20},
    "DC": {"period": 55},
    "SAR": {"step": 0.01, "max": 0.1},
    "ST": {"period": 7, "k": 1.5},
    "ICHIMOKU": {"tenkan": 7, "kijun": 22, "senkou": 44},
    "RSI": {"period": 5},
    "MACD": {"fast": 5, "slow": 35, "signal": 5},
    "STOCH": {"period": 5, "k": 2, "d": 4},
    "ATR": {"period": 21},
    "ADX": {"period": 7},
    "CCI": {"period": 14},
    "MFI": {"period": 10},
}


def _cases() -> list[object]:
    cases: list[object] = []
    for spec in SPECS:
        cases.append(pytest.param(spec, {}, id=f"{spec.key}-default"))
        if spec.key in OTHER_PARAMS:
            other = OTHER_PARAMS[spec.key]
            cases.append(
                pytest.param(spec, other, id=f"{spec.key}-{'-'.join(f'{v:g}' for v in other.values())}")
            )
    return cases


def first_bars(key: str, p: Params) -> tuple[int, ...]:
    """The bar of each output's first value, as the conventions put it (the module
    docstring of ``terminal/backtest/indicators.py``; TA-Lib's lookbacks)."""
    n = int(p.get("period", 0))
    match key:
        case "SMA" | "EMA" | "WMA" | "ATR" | "CCI":
            return (n - 1,)
        case "VWAP" | "OBV":
            return (0,)
        case "RSI" | "MFI":
            return (n,)  # n changes
        case "BB":
            return (n - 1,) * 3
        case "KC":
            return n - 1, max(n, int(p["atr"])) - 1, max(n, int(p["atr"])) - 1
        case "DC":
            return (n - 1,) * 2
        case "SAR":
            return (1,)
        case "ST":
            return (n - 1,) * 4  # the line, then the streaming state: lower, upper, trend
        case "ICHIMOKU":
            tenkan, kijun = int(p["tenkan"]), int(p["kijun"])
            return tenkan - 1, kijun - 1, max(tenkan, kijun) - 1, int(p["senkou"]) - 1, 0
        case "MACD":
            return (int(p["slow"]) + int(p["signal"]) - 2,) * 3
        case "STOCH":
            return (n + int(p["k"]) + int(p["d"]) - 3,) * 2
        case "ADX":
            return 2 * n - 1, n, n
    raise AssertionError(f"no first bars for {key}")


def outputs(
    spec: IndicatorSpec, candles: OHLCV, params: Mapping[str, float]
) -> list[tuple[str, Array, Array]]:
    """(output name, the chart's values, the reference's) for each output of ``spec``."""
    checked = spec.checked(params)
    got = spec.compute(candles, checked)
    expected = REFERENCES[spec.key](candles, checked)
    names = [line.name for line in spec.lines] + [f"state{i}" for i in range(spec.hidden)]
    assert len(got) == len(expected) == len(names)
    return [
        (name, np.asarray(g, dtype=np.float64), e) for name, g, e in zip(names, got, expected, strict=True)
    ]


def near_zero(expected: Array) -> float:
    """The absolute tolerance beside RTOL: 1e-11 of the output's largest magnitude.
    Outputs that cross or touch zero (MACD, CCI, OBV, a stochastic at its floor) are
    differences of 30,000-sized prices or running sums, where a relative tolerance
    means nothing: TA-Lib's running sums leave 1.9e-13 where a flat market's %K is 0,
    and up to 5.5e-10 where its MFI is (measured over nine seeds of these candles)."""
    return 1e-11 * float(np.nanmax(np.abs(expected)))


def test_every_catalogue_entry_has_a_reference_and_other_parameters() -> None:
    assert set(REFERENCES) == {spec.key for spec in SPECS}
    assert set(OTHER_PARAMS) == {spec.key for spec in SPECS if spec.params}


def test_the_candles_reach_the_cases_the_conventions_name(candles: OHLCV) -> None:
    assert len(np.unique(candles.ts // 86_400_000)) == 3  # VWAP restarts twice
    assert (candles.low <= np.minimum(candles.open, candles.close)).all()
    assert (candles.high >= np.maximum(candles.open, candles.close)).all()
    assert (candles.volume > 0).all()
    assert (np.diff(candles.close) == 0).sum() > len(candles) // 100  # unchanged closes (OBV, MFI)
    assert (candles.open[1:] != candles.close[:-1]).sum() > len(candles) // 10  # gaps (true range)
    assert (candles.high[FLAT] == candles.low[FLAT]).all()


@pytest.mark.parametrize(("spec", "params"), _cases())
def test_indicator_equals_its_written_out_formula(
    spec: IndicatorSpec, params: dict[str, float], candles: OHLCV
) -> None:
    firsts = first_bars(spec.key, spec.checked(params))
    for (name, got, expected), first in zip(outputs(spec, candles, params), firsts, strict=True):
        where = f"{spec.key} {name}"
        assert np.isnan(expected[:first]).all() and not np.isnan(expected[first:]).any(), where
        assert np.isnan(got[:first]).all(), f"{where}: a value before bar {first}, its first"
        assert not np.isnan(got[first:]).any(), f"{where}: NaN after bar {first}, its first"
        np.testing.assert_allclose(
            got[first:], expected[first:], rtol=RTOL, atol=near_zero(expected), err_msg=where
        )


def test_bollinger_bands_close_on_the_price_of_a_market_that_did_not_move(candles: OHLCV) -> None:
    spec = next(s for s in SPECS if s.key == "BB")
    for params in ({}, OTHER_PARAMS["BB"]):
        n = int(spec.checked(params)["period"])
        _, upper, lower = spec.compute(candles, spec.checked(params))
        flat = slice(FLAT.start + n - 1, FLAT.stop)  # windows wholly inside the quiet hour
        assert (upper[flat] == lower[flat]).all()
