"""Indicator libraries for the chart (issue 17): TA-Lib 0.8 beside the engine's own kernels.

    .venv/bin/python -m pip install --target /tmp/talib-site "TA-Lib==0.8.2" --no-deps
    .venv/bin/python benchmarks/bench_indicator_libs.py [--quick] [--talib-site /tmp/talib-site]

Issue 17 wants one implementation of each indicator to serve the chart and the
backtest strategies, chosen by measuring: TA-Lib 0.8 (its wheels bundle the C
library and have streaming handles) or ``terminal.backtest.indicators`` (numba
kernels; compiled ahead of time in the installed app). Its targets: adding one
indicator over 1,000,000 candles <= 50 ms; the last-candle update <= 5 ms, flat
from 10k to 1M candles; recomputing every indicator over the whole array on
each tick is the reference.

TA-Lib is not a project dependency: install it into a folder of its own (above);
this script puts that folder on ``sys.path`` when it is there and measures the
engine alone when it is not.

On 10k, 100k and 1M synthetic 1-minute candles, for each indicator the issue
lists (overlays, then panes):

* which side has it: natively, composed from its own functions in a few lines
  (marked "composed"; what a chart module would write), or not at all;
* the time to compute it over the whole array (median of several runs after a
  warm-up), and, for TA-Lib, to open a streaming handle with its values
  (``open_and_fill``: what adding the indicator to a streaming chart costs);
* the last-candle update: TA-Lib's ``stream`` handle ``peek`` (the forming
  candle revised; commits nothing) and ``update`` (a candle closes), beside
  recomputing the whole array with either library;
* agreement where both have it: max abs difference over the bars both define,
  and after a warm-up where a seed differs; and the stream's ``peek`` against
  TA-Lib's own batch value of the last candle.

Also: the import cost of each (a fresh process), the engine's kernels as the
frozen build runs them (the ahead-of-time module from ``packaging/aot_kernels.py``,
when ``build/aot`` has one), and what TA-Lib's installed wheel holds for a
PyInstaller bundle (files, sizes, the C library's linking, a contrib hook, the
licence).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import _common
import numpy as np
from _common import print_table, synthetic_ohlcv
from numpy.typing import NDArray

from terminal.backtest import indicators as ind
from terminal.marketdata.candles import OHLCV

Array = NDArray[np.float64]
Outputs = tuple[Array, ...]

SIZES = (10_000, 100_000, 1_000_000)
ADD_TARGET_S = 0.050  # adding one indicator over 1M candles
UPDATE_TARGET_S = 0.005  # last-candle update, all indicators of a chart, flat 10k..1M
DEFAULT_SITE = Path("/tmp/talib-site")
#: the chart the issue's performance section describes: 3 overlays + 2 panes
CHART_SET = ("SMA", "EMA", "Bollinger", "RSI", "MACD")
STREAM_BARS = 1000  # peeks per timed batch; closed candles fed per timed update run


def load_talib(site: Path) -> ModuleType | None:
    """TA-Lib from its own folder (never from the venv), or None when it is not there."""
    if site.is_dir() and str(site) not in sys.path:
        sys.path.insert(0, str(site))
    try:
        import talib
        import talib.stream  # the handles, checked here so a partial install reads as absent
    except ImportError:
        return None
    return talib


# -- the indicators ---------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One TA-Lib function call: ``talib.<fn>`` for the array, ``talib.stream.<fn>`` for the handle."""

    fn: str
    inputs: tuple[str, ...]  # OHLCV column names, in the function's order
    params: tuple[float, ...] = ()
    into: tuple[int | None, ...] = (0,)  # where each of its outputs goes among the indicator's (None: unused)


@dataclass(frozen=True)
class Indicator:
    name: str
    label: str  # with its parameters
    outputs: tuple[str, ...]
    talib: tuple[Call, ...]  # empty: TA-Lib lacks it
    talib_note: str
    engine: Callable[[OHLCV], Outputs] | None  # None: the engine lacks it
    engine_note: str
    warmup: int = 0  # bars skipped from the first common one before the "after warm-up" comparison
    note: str = ""  # how the two definitions differ
    pane: bool = False


def _from(fn: Callable[[Array], Array], x: Array, start: int) -> Array:
    """``fn`` over ``x[start:]`` with NaN in front: the engine's kernels take no NaN
    (a running sum would carry one to the end), so a second pass starts where the
    first one's values do."""
    out = np.full(len(x), np.nan)
    out[start:] = fn(x[start:])
    return out


def _typical(d: OHLCV) -> Array:
    return (d.high + d.low + d.close) / 3.0


def engine_vwap(d: OHLCV) -> Outputs:
    return (np.cumsum(_typical(d) * d.volume) / np.cumsum(d.volume),)


def engine_keltner(d: OHLCV) -> Outputs:
    mid = ind.ema(_typical(d), 20)
    width = 2.0 * ind.atr(d.high, d.low, d.close, 10)
    return mid, mid + width, mid - width


def engine_ichimoku(d: OHLCV) -> Outputs:
    def mid(n: int) -> Array:
        return (ind.rolling_max(d.high, n) + ind.rolling_min(d.low, n)) / 2.0

    return mid(9), mid(26), mid(52)


def engine_macd(d: OHLCV) -> Outputs:
    line = ind.ema(d.close, 12) - ind.ema(d.close, 26)
    signal = _from(lambda x: ind.ema(x, 9), line, 25)
    return line, signal, line - signal


def engine_stochastic(d: OHLCV) -> Outputs:
    low, high = ind.rolling_min(d.low, 5), ind.rolling_max(d.high, 5)
    with np.errstate(invalid="ignore", divide="ignore"):
        fast = np.where(high > low, 100.0 * (d.close - low) / (high - low), 0.0)
    fast[:4] = np.nan
    slow_k = _from(lambda x: ind.sma(x, 3), fast, 4)
    return slow_k, _from(lambda x: ind.sma(x, 3), slow_k, 6)


def engine_obv(d: OHLCV) -> Outputs:
    step = np.empty(len(d.close))
    step[0] = d.volume[0]  # TA-Lib's seed: the first bar's volume
    step[1:] = np.sign(np.diff(d.close)) * d.volume[1:]
    return (np.cumsum(step),)


HLC = ("high", "low", "close")
HLCV = ("high", "low", "close", "volume")

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "SMA", "SMA(20)", ("sma",),
        (Call("SMA", ("close",), (20,)),), "SMA",
        lambda d: (ind.sma(d.close, 20),), "sma",
        note="TA-Lib's running sum is not compensated, the engine's is (see the exact check)",
    ),
    Indicator(
        "EMA", "EMA(20)", ("ema",),
        (Call("EMA", ("close",), (20,)),), "EMA",
        lambda d: (ind.ema(d.close, 20),), "ema",
        note="both SMA-seeded (the engine follows TA-Lib)",
    ),
    Indicator(
        "WMA", "WMA(20)", ("wma",),
        (Call("WMA", ("close",), (20,)),), "WMA",
        None, "",
    ),
    Indicator(
        "VWAP", "VWAP", ("vwap",),
        (Call("VWAP", HLCV),), "VWAP",
        engine_vwap, "composed: numpy cumsum",
        note="TA-Lib's is cumulative from the array's first bar: no session reset (anchor by slicing)",
    ),
    Indicator(
        "Bollinger", "Bollinger(20, 2)", ("middle", "upper", "lower"),
        (Call("BBANDS", ("close",), (20, 2.0, 2.0), (1, 0, 2)),), "BBANDS",
        lambda d: ind.bollinger(d.close, 20, 2.0), "bollinger",
        note="the engine's sliding Welford deviation drifts over long arrays (see the exact check)",
    ),
    Indicator(
        "Keltner", "Keltner(20, ATR 10, 2)", ("middle", "upper", "lower"),
        (Call("KC", HLC, (20, 10, 2.0), (1, 0, 2)),), "KC",
        engine_keltner, "composed: ema + atr",
        warmup=300,
        note="KC's middle is the EMA of (h+l+c)/3 (TradingView's default: of close); ATR seeds differ",
    ),
    Indicator(
        "Donchian", "Donchian(20)", ("upper", "lower"),
        (Call("DONCHIAN", ("high", "low"), (20,), (0, None, 1)),), "DONCHIAN",
        lambda d: ind.donchian(d.high, d.low, 20), "donchian",
    ),
    Indicator(
        "Parabolic SAR", "SAR(0.02, 0.2)", ("sar",),
        (Call("SAR", ("high", "low"), (0.02, 0.2)),), "SAR",
        None, "",
    ),
    Indicator(
        "SuperTrend", "SuperTrend(10, 3)", ("line", "trend"),
        (Call("SUPERTREND", HLC, (10, 3.0), (0, 1)),), "SUPERTREND",
        None, "",
    ),
    Indicator(
        "Ichimoku", "Ichimoku(9, 26, 52)", ("tenkan", "kijun", "senkou B"),
        (
            Call("MIDPRICE", ("high", "low"), (9,), (0,)),
            Call("MIDPRICE", ("high", "low"), (26,), (1,)),
            Call("MIDPRICE", ("high", "low"), (52,), (2,)),
        ),
        "composed: MIDPRICE x3",
        engine_ichimoku, "composed: rolling max/min",
        note="neither has Ichimoku; senkou A = (tenkan+kijun)/2 and the 26-bar shifts are drawing",
    ),
    Indicator(
        "RSI", "RSI(14)", ("rsi",),
        (Call("RSI", ("close",), (14,)),), "RSI",
        lambda d: (ind.rsi(d.close, 14),), "rsi",
        note="both Wilder-smoothed, SMA-seeded",
        pane=True,
    ),
    Indicator(
        "MACD", "MACD(12, 26, 9)", ("macd", "signal", "hist"),
        (Call("MACD", ("close",), (12, 26, 9), (0, 1, 2)),), "MACD",
        engine_macd, "composed: ema x3",
        warmup=500,
        note="TA-Lib starts the fast EMA at the slow one's first bar; the composed one at bar 11",
        pane=True,
    ),
    Indicator(
        "Stochastic", "Stochastic(5, 3, 3)", ("slow %K", "slow %D"),
        (Call("STOCH", HLC, (5, 3, 0, 3, 0), (0, 1)),), "STOCH",
        engine_stochastic, "composed: rolling max/min + sma",
        note="TA-Lib's first value is at bar 8 (lookback of both smoothings), the composed one's at 6",
        pane=True,
    ),
    Indicator(
        "ATR", "ATR(14)", ("atr",),
        (Call("ATR", HLC, (14,)),), "ATR",
        lambda d: (ind.atr(d.high, d.low, d.close, 14),), "atr",
        warmup=300,
        note="the engine counts bar 0's high-low as a true range (first value at 13, TA-Lib's at 14)",
        pane=True,
    ),
    Indicator(
        "ADX", "ADX(14)", ("adx",),
        (Call("ADX", HLC, (14,)),), "ADX",
        None, "",
        pane=True,
    ),
    Indicator(
        "OBV", "OBV", ("obv",),
        (Call("OBV", ("close", "volume")),), "OBV",
        engine_obv, "composed: numpy cumsum",
        note="both seeded with the first bar's volume",
        pane=True,
    ),
    Indicator(
        "CCI", "CCI(20)", ("cci",),
        (Call("CCI", HLC, (20,)),), "CCI",
        None, "",
        pane=True,
    ),
    Indicator(
        "MFI", "MFI(14)", ("mfi",),
        (Call("MFI", HLCV, (14,)),), "MFI",
        None, "",
        pane=True,
    ),
)  # fmt: skip


def by_name(name: str) -> Indicator:
    return next(i for i in INDICATORS if i.name == name)


# -- computing with TA-Lib ----------------------------------------------------------------
def talib_full(talib: ModuleType, spec: Indicator, d: OHLCV) -> Outputs:
    out: list[Array | None] = [None] * len(spec.outputs)
    for call in spec.talib:
        raw = getattr(talib, call.fn)(*(getattr(d, c) for c in call.inputs), *call.params)
        parts = raw if isinstance(raw, tuple) else (raw,)
        for value, dst in zip(parts, call.into, strict=True):
            if dst is not None:
                out[dst] = np.asarray(value, dtype=np.float64)
    return tuple(a for a in out if a is not None)


def talib_open(talib: ModuleType, spec: Indicator, d: OHLCV, upto: int) -> list[Any]:
    """One streaming handle per call, opened on the candles before ``upto``."""
    return [
        getattr(talib.stream, call.fn)(*(getattr(d, c)[:upto] for c in call.inputs), *call.params)
        for call in spec.talib
    ]


def talib_open_and_fill(talib: ModuleType, spec: Indicator, d: OHLCV) -> list[Any]:
    return [
        getattr(talib.stream, call.fn).open_and_fill(*(getattr(d, c) for c in call.inputs), *call.params)
        for call in spec.talib
    ]


def bar_args(spec: Indicator, d: OHLCV, i: int) -> list[tuple[float, ...]]:
    """Each call's scalar inputs for candle ``i``."""
    return [tuple(float(getattr(d, c)[i]) for c in call.inputs) for call in spec.talib]


def peek_values(spec: Indicator, handles: list[Any], args: list[tuple[float, ...]]) -> list[float]:
    """The handles' values for a forming candle, in the indicator's output order."""
    out: list[float | None] = [None] * len(spec.outputs)
    for call, handle, a in zip(spec.talib, handles, args, strict=True):
        raw = handle.peek(*a)
        parts = raw if isinstance(raw, tuple) else (raw,)
        for value, dst in zip(parts, call.into, strict=True):
            if dst is not None:
                out[dst] = float(value)
    return [v for v in out if v is not None]


# -- timing -------------------------------------------------------------------------------
def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: numba's compilation or cache load, first-touch of the output pages
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def time_peek(spec: Indicator, handles: list[Any], args: list[tuple[float, ...]], batches: int) -> float:
    """Seconds per last-candle update: median over batches of ``STREAM_BARS`` peeks."""
    pairs = [(h.peek, a) for h, a in zip(handles, args, strict=True)]
    times = []
    for _ in range(batches + 1):
        t0 = time.perf_counter()
        for _ in range(STREAM_BARS):
            for peek, a in pairs:
                peek(*a)
        times.append((time.perf_counter() - t0) / STREAM_BARS)
    return statistics.median(times[1:])


def time_update(talib: ModuleType, spec: Indicator, d: OHLCV, runs: int) -> float:
    """Seconds per closed candle: handles opened ``STREAM_BARS`` candles before the end,
    then fed those candles one by one (median of ``runs``, each on fresh handles)."""
    start = len(d) - STREAM_BARS
    bars = [bar_args(spec, d, i) for i in range(start, len(d))]
    times = []
    for _ in range(runs):
        handles = talib_open(talib, spec, d, start)
        updates = [h.update for h in handles]
        t0 = time.perf_counter()
        for args in bars:
            for update, a in zip(updates, args, strict=True):
                update(*a)
        times.append((time.perf_counter() - t0) / STREAM_BARS)
    return statistics.median(times)


@dataclass
class Figures:
    """One indicator's timings, by candle count (seconds)."""

    talib_full: dict[int, float] = field(default_factory=dict)
    engine_full: dict[int, float] = field(default_factory=dict)
    talib_open: dict[int, float] = field(default_factory=dict)
    peek: dict[int, float] = field(default_factory=dict)
    update: dict[int, float] = field(default_factory=dict)


def measure(talib: ModuleType | None, data: OHLCV, quick: bool) -> dict[str, Figures]:
    figures = {spec.name: Figures() for spec in INDICATORS}
    for n in SIZES:
        d = data.slice(len(data) - n, len(data))
        repeats = {10_000: 31, 100_000: 15, 1_000_000: 7}[n] // (3 if quick else 1) or 1
        print(f"  timing {n:,} candles ...", flush=True)
        for spec in INDICATORS:
            f = figures[spec.name]
            if spec.engine is not None:
                f.engine_full[n] = median_time(partial(spec.engine, d), repeats)
            if talib is None or not spec.talib:
                continue
            f.talib_full[n] = median_time(partial(talib_full, talib, spec, d), repeats)
            f.talib_open[n] = median_time(partial(talib_open_and_fill, talib, spec, d), repeats)
            handles = talib_open(talib, spec, d, n - 1)
            f.peek[n] = time_peek(spec, handles, bar_args(spec, d, n - 1), 3 if quick else 7)
            f.update[n] = time_update(talib, spec, d, 2 if quick else 3)
    return figures


#: (label, TA-Lib function, inputs, parameters for a period, outputs): handles whose
#: one-candle update might cost O(period), timed at growing periods
PERIOD_CASES: tuple[tuple[str, str, tuple[str, ...], Callable[[int], tuple[float, ...]], int], ...] = (
    ("SMA", "SMA", ("close",), lambda p: (p,), 1),
    ("EMA", "EMA", ("close",), lambda p: (p,), 1),
    ("Bollinger", "BBANDS", ("close",), lambda p: (p, 2.0, 2.0), 3),
    ("Donchian", "DONCHIAN", ("high", "low"), lambda p: (p,), 3),
    ("CCI", "CCI", HLC, lambda p: (p,), 1),
)
PERIODS = (20, 200, 2000)


def peek_by_period(talib: ModuleType, d: OHLCV, batches: int) -> list[list[str]]:
    """A handle's peek at growing periods on the same candles: flat means O(1) per
    update, growing with the period O(lookback) (never O(candles): see the sizes)."""
    rows = []
    for label, fn, inputs, params, outputs in PERIOD_CASES:
        cells = []
        for period in PERIODS:
            call = Call(fn, inputs, params(period), (0,) + (None,) * (outputs - 1))
            spec = Indicator(label, label, ("x",), (call,), fn, None, "")
            handles = talib_open(talib, spec, d, len(d) - 1)
            cells.append(t(time_peek(spec, handles, bar_args(spec, d, len(d) - 1), batches)))
        rows.append([f"{label} ({fn})", *cells])
    return rows


# -- agreement ----------------------------------------------------------------------------
def max_diff(a: Array, b: Array, skip: int) -> tuple[float, int, int]:
    """(max |a - b| over the bars both define, from ``skip`` bars after the first such
    one; first defined bar of a; of b)."""
    both = np.flatnonzero(np.isfinite(a) & np.isfinite(b))[skip:]
    first_a, first_b = int(np.isfinite(a).argmax()), int(np.isfinite(b).argmax())
    if len(both) == 0:
        return float("nan"), first_a, first_b
    return float(np.max(np.abs(a[both] - b[both]))), first_a, first_b


def exact_check(talib: ModuleType, d: OHLCV, period: int = 20, bars: int = 3) -> list[list[str]]:
    """Where TA-Lib and the engine differ most on the SMA and on Bollinger's deviation,
    which one is right: each against the window's exact value (``Fraction`` arithmetic)."""
    close = d.close
    mid, upper, _ = ind.bollinger(close, period, 2.0)
    ta_upper, ta_mid, _ = talib.BBANDS(close, period, 2.0, 2.0)
    cases = (
        ("SMA(20)", talib.SMA(close, period), ind.sma(close, period), False),
        ("Bollinger(20) deviation", (ta_upper - ta_mid) / 2.0, (upper - mid) / 2.0, True),
    )
    rows = []
    for label, ta, en, deviation in cases:
        gap = np.nan_to_num(np.abs(ta - en))
        for i in sorted(np.argsort(gap)[-bars:]):
            window = [Fraction(float(x)) for x in close[i - period + 1 : i + 1]]
            mean = sum(window, Fraction(0)) / period
            exact = (
                float(sum(((x - mean) ** 2 for x in window), Fraction(0)) / period) ** 0.5
                if deviation
                else float(mean)
            )
            rows.append([label, f"{i:,}", f"{exact:.6g}", f"{ta[i] - exact:.2g}", f"{en[i] - exact:.2g}"])
    return rows


def agreement(talib: ModuleType, data: OHLCV) -> list[list[str]]:
    rows = []
    for spec in INDICATORS:
        if not spec.talib:
            continue
        ta = talib_full(talib, spec, data)
        handles = talib_open(talib, spec, data, len(data) - 1)
        peeked = peek_values(spec, handles, bar_args(spec, data, len(data) - 1))
        stream_diff = max(abs(p - float(a[-1])) for p, a in zip(peeked, ta, strict=True))
        if spec.engine is None:
            rows.append([spec.label, "-", "-", "-", "-", f"{stream_diff:.1g}", "engine lacks it"])
            continue
        en = spec.engine(data)
        diffs = [max_diff(a, b, 0) for a, b in zip(ta, en, strict=True)]
        after = [max_diff(a, b, spec.warmup)[0] for a, b in zip(ta, en, strict=True)]
        worst = max(range(len(diffs)), key=lambda i: diffs[i][0])
        rows.append(
            [
                spec.label,
                f"{diffs[worst][1]} / {diffs[worst][2]}",
                f"{diffs[worst][0]:.3g} ({spec.outputs[worst]})",
                f"{max(after):.3g}" + (f" (skip {spec.warmup})" if spec.warmup else ""),
                f"{np.nanmax(np.abs(ta[worst])):.3g}",
                f"{stream_diff:.1g}",
                spec.note,
            ]
        )
    return rows


# -- import cost, the frozen build's kernels, the wheel --------------------------------------
IMPORT_CHILD = """import sys, time
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "talib-no-pandas":
    sys.modules["pandas"] = None  # talib imports pandas when it can, to accept Series
t0 = time.perf_counter()
if sys.argv[1].startswith("talib"):
    import talib, talib.stream
else:
    from terminal.backtest import indicators
loaded = [sys.modules.get(name) is not None for name in ("pandas", "numba")]
print(time.perf_counter() - t0, *(int(x) for x in loaded))
"""


def import_costs(site: Path, has_talib: bool, runs: int) -> list[list[str]]:
    rows = []
    for what in ("talib", "talib-no-pandas", "engine") if has_talib else ("engine",):
        results = []
        for _ in range(runs):
            text = subprocess.run(
                [sys.executable, "-c", IMPORT_CHILD, what, str(site if what != "engine" else _common.ROOT)],
                capture_output=True,
                text=True,
                check=True,
                cwd=_common.ROOT,
            ).stdout.split()
            results.append((float(text[0]), text[1] == "1", text[2] == "1"))
        label = {
            "talib": "import talib, talib.stream",
            "talib-no-pandas": "the same, pandas blocked",
            "engine": "import terminal.backtest.indicators",
        }[what]
        loads = [name for name, on in (("pandas", results[0][1]), ("numba", results[0][2])) if on]
        rows.append(
            [
                label,
                f"{statistics.median(r[0] for r in results) * 1e3:.0f} ms (median of {runs})",
                ", ".join(loads) or "-",
            ]
        )
    return rows


AOT_CHILD = """import json, statistics, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import aot_kernels
aot_kernels.use_module(Path(sys.argv[3]))
import bench_indicator_libs as bench
from _common import synthetic_ohlcv
from terminal.backtest import jit
data = synthetic_ohlcv(int(sys.argv[4]))
out = {"mode": jit.MODE}
for spec in bench.INDICATORS:
    if spec.engine is not None:
        out[spec.name] = bench.median_time(lambda: spec.engine(data), int(sys.argv[5]))  # noqa: B023
print(json.dumps(out))
"""


def aot_times(n: int, repeats: int) -> tuple[dict[str, float], str]:
    """The engine's indicators at ``n`` candles with the ahead-of-time kernels, as the
    installed app runs them (a child process that cannot import numba)."""
    packaging = _common.ROOT / "packaging"
    sys.path.insert(0, str(packaging))
    try:
        import aot_kernels
    finally:
        sys.path.remove(str(packaging))
    module = aot_kernels.built_module()
    if module is None:
        return {}, "no build/aot module (packaging/aot_kernels.py builds it)"
    stale = aot_kernels.newer_sources(module)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            AOT_CHILD,
            str(packaging),
            str(Path(__file__).parent),
            str(module),
            str(n),
            str(repeats),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=_common.ROOT,
    )
    if child.returncode != 0:
        return {}, f"the ahead-of-time run failed: {child.stderr.strip().splitlines()[-1:]}"
    result: dict[str, Any] = json.loads(child.stdout.splitlines()[-1])
    mode = result.pop("mode")
    note = f"mode {mode}, {module.name}" + (f"; STALE: older than {[p.name for p in stale]}" if stale else "")
    return {k: float(v) for k, v in result.items()}, note


def wheel_contents(site: Path) -> tuple[list[list[str]], list[str]]:
    """(what the installed TA-Lib wheel holds, by kind; facts for a PyInstaller bundle)."""
    dist = importlib.metadata.distribution("TA-Lib")
    kinds: dict[str, list[int]] = {}
    for f in dist.files or []:
        name = str(f)
        size = f.size or 0
        if name.startswith("ta_lib.libs/"):
            kind = "vendored C library (ta_lib.libs/*.so)"
        elif name.endswith(".so"):
            kind = "Cython extension (talib/_ta_lib*.so)"
        elif name.endswith((".c", ".pxi", ".pxd", ".pyx")):
            kind = "C/Cython sources (not needed at run time)"
        elif name.endswith(".pyi") or name.endswith("py.typed"):
            kind = "type stubs"
        elif name.endswith(".py"):
            kind = "Python modules"
        else:
            kind = "metadata, licence"
        kinds.setdefault(kind, []).append(size)
    rows = [[kind, str(len(sizes)), f"{sum(sizes) / 1e6:.2f} MB"] for kind, sizes in sorted(kinds.items())]
    total = sum(sum(s) for s in kinds.values())
    rows.append(["total installed", str(sum(len(s) for s in kinds.values())), f"{total / 1e6:.2f} MB"])

    facts = [f"TA-Lib {dist.version}; licence: {_licence(dist)}"]
    import talib._ta_lib as ext

    try:
        from PyInstaller.depend import bindepend
    except ImportError:
        facts.append("PyInstaller not importable: the extension's links not checked")
    else:
        links = sorted(bindepend.get_imports(str(ext.__file__)))
        facts.append(
            "PyInstaller's dependency analysis of the extension finds: "
            + ", ".join(f"{name} ({'wheel' if str(site) in path else 'system'})" for name, path in links)
        )
    try:
        import _pyinstaller_hooks_contrib as contrib

        hooks = [p.name for root in contrib.__path__ for p in Path(root).rglob("hook-talib*.py")]
        version = importlib.metadata.version("pyinstaller-hooks-contrib")
        facts.append(f"pyinstaller-hooks-contrib {version}: hook for talib: {', '.join(hooks) or 'none'}")
    except ImportError:
        facts.append("pyinstaller-hooks-contrib not installed")
    return rows, facts


def _licence(dist: importlib.metadata.Distribution) -> str:
    for f in dist.files or []:
        if "licenses/" in str(f) or str(f).upper().endswith("LICENSE"):
            text = f.read_text()
            first = text.strip().splitlines()[0].lstrip("# ").strip() if text.strip() else ""
            return f"{first} ({f})"
    return str(dist.metadata.get("License", "not stated"))


# -- output -------------------------------------------------------------------------------
def t(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 1e-3:
        return f"{x * 1e6:.1f} µs"
    return f"{x * 1e3:.2f} ms"


def sizes(values: dict[int, float]) -> list[str]:
    return [t(values.get(n)) for n in SIZES]


def total(figures: dict[str, Figures], names: Sequence[str], attr: str) -> dict[int, float] | None:
    """Per size, the sum of ``attr`` over ``names``; None when one of them lacks it."""
    out = {}
    for n in SIZES:
        values = [getattr(figures[name], attr).get(n) for name in names]
        if any(v is None for v in values):
            return None
        out[n] = sum(values)
    return out


def print_whole_array(figures: dict[str, Figures]) -> None:
    n_max = max(SIZES)
    rows = []
    for spec in INDICATORS:
        f = figures[spec.name]
        add, engine = f.talib_open.get(n_max), f.engine_full.get(n_max)
        met = " / ".join(_common.verdict(None if x is None else x <= ADD_TARGET_S) for x in (add, engine))
        rows.append([spec.label, *sizes(f.talib_full), t(add), *sizes(f.engine_full), met])
    print_table(
        "Whole array (add an indicator; target <= 50 ms at 1M)",
        rows,
        (
            "indicator",
            *(f"TA-Lib {n // 1000}k" for n in SIZES),
            "TA-Lib open_and_fill 1M",
            *(f"engine {n // 1000}k" for n in SIZES),
            "<= 50 ms? TA-Lib (open_and_fill) / engine",
        ),
    )


def print_last_candle(figures: dict[str, Figures]) -> None:
    n_max = max(SIZES)
    rows = []
    for spec in INDICATORS:
        f = figures[spec.name]
        rows.append(
            [
                spec.label,
                *sizes(f.peek),
                t(f.update.get(n_max)),
                t(f.talib_full.get(n_max)),
                t(f.engine_full.get(n_max)),
                "",
            ]
        )
    sets = (
        ("the issue's chart: " + " + ".join(CHART_SET), CHART_SET),
        ("every indicator TA-Lib has", [s.name for s in INDICATORS if s.talib]),
        ("every indicator the engine has", [s.name for s in INDICATORS if s.engine]),
    )
    for label, chosen in sets:
        peek = total(figures, chosen, "peek")
        update = total(figures, chosen, "update")
        full = total(figures, chosen, "talib_full")
        engine = total(figures, chosen, "engine_full")
        met = "-"
        if peek:
            met = _common.verdict(max(peek.values()) <= UPDATE_TARGET_S) + " (peek)"
        elif engine:
            met = _common.verdict(max(engine.values()) <= UPDATE_TARGET_S) + " (recompute)"
        rows.append(
            [
                f"**{label}**",
                *(sizes(peek) if peek else ["-"] * len(SIZES)),
                t(update[n_max]) if update else "-",
                t(full[n_max]) if full else "(lacks some)",
                t(engine[n_max]) if engine else "(lacks some)",
                met,
            ]
        )
    print_table(
        "Last-candle update (target <= 5 ms, flat from 10k to 1M)",
        rows,
        (
            "indicator",
            *(f"TA-Lib peek {n // 1000}k" for n in SIZES),
            "TA-Lib update (closed bar) 1M",
            "recompute TA-Lib 1M",
            "recompute engine 1M",
            "<= 5 ms at every size?",
        ),
    )
    for label, chosen in sets:
        for library, attr in (("TA-Lib", "talib_full"), ("engine", "engine_full")):
            full = total(figures, chosen, attr)
            if full:
                each = ", ".join(f"{n:,}: {t(full[n])}" for n in SIZES)
                print(f"Recompute-on-every-tick reference, {label}, {library}: {each}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--talib-site", type=Path, default=DEFAULT_SITE, help="the folder TA-Lib is installed in"
    )
    args = parser.parse_args()

    print("Machine:", _common.machine())
    talib = load_talib(args.talib_site)
    import numba

    c_version = talib.__ta_version__.decode() if talib and isinstance(talib.__ta_version__, bytes) else ""
    ta_text = f"TA-Lib {talib.__version__} (C library {c_version})" if talib else "TA-Lib: not found"
    print(f"{ta_text}; numba {numba.__version__}; synthetic 1-minute candles (seed 1); median of runs")
    data = synthetic_ohlcv(max(SIZES))
    figures = measure(talib, data, args.quick)

    names = [f"{'pane' if s.pane else 'overlay'} {s.name}" for s in INDICATORS]
    print_table(
        "Which library has which indicator",
        [
            [name, s.talib_note or "-", s.engine_note or "-"]
            for name, s in zip(names, INDICATORS, strict=True)
        ],
        ("indicator", "TA-Lib 0.8", "engine (terminal.backtest.indicators)"),
    )

    print_whole_array(figures)
    print_last_candle(figures)

    if talib is not None:
        print_table(
            "Agreement on 1M candles: TA-Lib vs engine (max abs difference)",
            agreement(talib, data),
            (
                "indicator",
                "first value TA-Lib / engine",
                "all common bars (worst output)",
                "after warm-up",
                "output's max |value|",
                "stream peek vs batch",
                "definitions",
            ),
        )

        print_table(
            "TA-Lib's peek on 1M candles by period (flat: O(1) per update; growing: O(period))",
            peek_by_period(talib, data, 3 if args.quick else 7),
            ("indicator", *(f"period {p:,}" for p in PERIODS)),
        )
        print_table(
            "Closer to exact? Error against Fraction arithmetic where the two differ most",
            exact_check(talib, data),
            ("case", "bar", "exact", "TA-Lib error", "engine error"),
        )

    n_max = max(SIZES)
    aot, aot_note = aot_times(n_max, 3 if args.quick else 7)
    if aot:
        print_table(
            f"The engine at 1M as the installed app runs it (ahead of time; {aot_note})",
            [
                [s.label, t(figures[s.name].engine_full.get(n_max)), t(aot.get(s.name))]
                for s in INDICATORS
                if s.engine
            ],
            ("indicator", "numba JIT", "ahead of time (x86-64 baseline)"),
        )
    else:
        print(f"\nAhead-of-time kernels not measured: {aot_note}")

    print_table(
        "Import cost in a fresh process",
        import_costs(args.talib_site, talib is not None, 3),
        ("import", "time", "loads"),
    )
    if talib is not None:
        rows, facts = wheel_contents(args.talib_site)
        print_table("What the TA-Lib wheel installs", rows, ("kind", "files", "size"))
        for fact in facts:
            print(f"* {fact}")


if __name__ == "__main__":
    main()
