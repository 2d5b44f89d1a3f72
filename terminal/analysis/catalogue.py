"""The indicators a chart can show: what each computes, its parameters, its lines.

Every entry computes through ``terminal.backtest.indicators``, the functions the
strategies call, so an indicator on the chart has the values a strategy's signals
used. An entry says where it is drawn (over the candles or in a pane of its own),
its lines, the guide levels of its pane, and how a live candle updates it
(``Streaming``): the chart recomputes only the last bars, never the history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from terminal.backtest import indicators as ind
from terminal.marketdata.candles import OHLCV

FloatArray = NDArray[np.float64]


class Streaming(Enum):
    """How the values of the last bars are recomputed when a candle changes."""

    WINDOW = "window"  # a bar's value is a function of the last ``lookback`` bars: exact
    DECAY = "decay"  # exponential smoothing: the start's influence decays below 1e-13 within the tail
    SESSION = "session"  # cumulated from the session's start (VWAP): recompute from there
    CUMULATIVE = "cumulative"  # a running total (OBV): the last closed total plus the new bars
    STATE = "state"  # path-dependent (SAR, SuperTrend): continued from the last closed bar's state


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    default: float
    minimum: float
    maximum: float
    integer: bool = True

    def check(self, value: float) -> float | int:
        if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value):
            raise ValueError(f"{self.label} must be a number, not {value!r}")
        if self.integer and int(value) != value:
            raise ValueError(f"{self.label} must be a whole number, not {value:g}")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(
                f"{self.label} must be between {self.minimum:g} and {self.maximum:g}, not {value:g}"
            )
        return int(value) if self.integer else float(value)


@dataclass(frozen=True)
class Line:
    """One output drawn: a line, or a histogram from zero; ``ahead`` names the
    parameter whose number of bars it is drawn ahead (Ichimoku's spans) or behind
    (negative: its lagging span)."""

    name: str
    color: str
    style: str = "line"  # "line" | "histogram" | "dots"
    ahead: str = ""
    behind: bool = False


@dataclass(frozen=True)
class IndicatorSpec:
    key: str  # what the palette and the saved chart call it: "RSI"
    title: str
    pane: bool  # its own pane below the price, or over the candles
    params: tuple[Param, ...]
    lines: tuple[Line, ...]
    compute: Callable[[OHLCV, dict[str, float | int]], tuple[FloatArray, ...]]
    streaming: Streaming
    lookback: Callable[[dict[str, float | int]], int]
    levels: tuple[float, ...] = ()  # the pane's guide lines (RSI's 30 and 70)
    aliases: tuple[str, ...] = ()
    hidden: int = 0  # trailing outputs of ``compute`` kept for streaming, not drawn
    #: a rule between parameters (MACD's fast below its slow): the message when broken, or ""
    rule: Callable[[dict[str, float | int]], str] = lambda p: ""

    def defaults(self) -> dict[str, float | int]:
        return {p.name: (int(p.default) if p.integer else p.default) for p in self.params}

    def checked(self, params: Mapping[str, object]) -> dict[str, float | int]:
        """``params`` over the defaults, each checked; a clear ValueError names the first wrong one."""
        unknown = set(params) - {p.name for p in self.params}
        if unknown:
            raise ValueError(f"{self.key} has no parameter {sorted(unknown)[0]!r}")
        out = self.defaults()
        for p in self.params:
            if p.name in params:
                out[p.name] = p.check(params[p.name])  # type: ignore[arg-type]
        broken = self.rule(out)
        if broken:
            raise ValueError(broken)
        return out

    def label(self, params: Mapping[str, float | int]) -> str:
        """ "RSI 14", "BB 20 2": the key and the parameters in order, as the palette takes them."""
        return " ".join([self.key, *(f"{params[p.name]:g}" for p in self.params)])


def _p(name: str, label: str, default: float, lo: float, hi: float, integer: bool = True) -> Param:
    return Param(name, label, default, lo, hi, integer)


PERIOD = _p("period", "Period", 14, 1, 5000)
COLORS = ("#f5a623", "#4a90e2", "#bd10e0", "#7ed321", "#e94e77", "#50e3c2", "#b8e986")


def _period(default: int, lo: int = 1) -> Param:
    return _p("period", "Period", default, lo, 5000)


def _n(key: str) -> Callable[[dict[str, float | int]], int]:
    return lambda p: int(p[key])


SPECS: tuple[IndicatorSpec, ...] = (
    # -- over the candles --
    IndicatorSpec(
        "SMA", "Simple moving average", False, (_period(20),), (Line("sma", COLORS[0]),),
        lambda c, p: (ind.sma(c.close, int(p["period"])),), Streaming.WINDOW, _n("period"), aliases=("MA",),
    ),
    IndicatorSpec(
        "EMA", "Exponential moving average", False, (_period(20),), (Line("ema", COLORS[1]),),
        lambda c, p: (ind.ema(c.close, int(p["period"])),), Streaming.DECAY, _n("period"),
    ),
    IndicatorSpec(
        "WMA", "Weighted moving average", False, (_period(20),), (Line("wma", COLORS[2]),),
        lambda c, p: (ind.wma(c.close, int(p["period"])),), Streaming.WINDOW, _n("period"),
    ),
    IndicatorSpec(
        "VWAP", "Volume-weighted average price (daily)", False, (), (Line("vwap", COLORS[3]),),
        lambda c, p: (ind.vwap(c.ts, c.high, c.low, c.close, c.volume),), Streaming.SESSION, lambda p: 1,
    ),
    IndicatorSpec(
        "BB", "Bollinger bands", False, (_period(20, 2), _p("k", "Width (σ)", 2.0, 0.1, 10.0, False)),
        (Line("middle", COLORS[4]), Line("upper", COLORS[1]), Line("lower", COLORS[1])),
        lambda c, p: ind.bollinger(c.close, int(p["period"]), float(p["k"])), Streaming.WINDOW, _n("period"),
        aliases=("BOLLINGER", "BBANDS"),
    ),
    IndicatorSpec(
        "KC", "Keltner channel",
        False,
        (_period(20), _p("k", "Width (ATR)", 2.0, 0.1, 10.0, False), _p("atr", "ATR period", 10, 1, 5000)),
        (Line("middle", COLORS[5]), Line("upper", COLORS[2]), Line("lower", COLORS[2])),
        lambda c, p: ind.keltner(c.high, c.low, c.close, int(p["period"]), float(p["k"]), int(p["atr"])),
        Streaming.DECAY, lambda p: max(int(p["period"]), int(p["atr"])), aliases=("KELTNER",),
    ),
    IndicatorSpec(
        "DC", "Donchian channel", False, (_period(20),),
        (Line("upper", COLORS[6]), Line("lower", COLORS[6])),
        lambda c, p: ind.donchian(c.high, c.low, int(p["period"])), Streaming.WINDOW, _n("period"),
        aliases=("DONCHIAN",),
    ),
    IndicatorSpec(
        "SAR", "Parabolic SAR", False,
        (_p("step", "Step", 0.02, 0.001, 1.0, False), _p("max", "Maximum", 0.2, 0.001, 1.0, False)),
        (Line("sar", COLORS[0], "dots"),),
        lambda c, p: (ind.sar(c.high, c.low, float(p["step"]), float(p["max"])),),
        Streaming.STATE, lambda p: 2,
        aliases=("PSAR",),
        rule=lambda p: (
            f"the SAR's step ({p['step']:g}) must not be above its maximum ({p['max']:g})"
            if p["step"] > p["max"] else ""
        ),
    ),
    IndicatorSpec(
        "ST", "SuperTrend", False, (_period(10), _p("k", "Multiplier", 3.0, 0.1, 20.0, False)),
        (Line("line", COLORS[3]),),
        lambda c, p: _supertrend(c, int(p["period"]), float(p["k"])),
        Streaming.STATE, _n("period"),
        aliases=("SUPERTREND",), hidden=3,
    ),
    IndicatorSpec(
        "ICHIMOKU", "Ichimoku cloud", False,
        (
            _p("tenkan", "Conversion", 9, 2, 500), _p("kijun", "Base", 26, 2, 500),
            _p("senkou", "Span B", 52, 2, 500),
        ),
        (
            Line("conversion", COLORS[1]), Line("base", COLORS[4]),
            Line("span_a", COLORS[3], ahead="kijun"), Line("span_b", COLORS[4], ahead="kijun"),
            Line("lagging", COLORS[2], ahead="kijun", behind=True),
        ),
        lambda c, p: (
            *ind.ichimoku(c.high, c.low, int(p["tenkan"]), int(p["kijun"]), int(p["senkou"])), c.close,
        ),
        Streaming.WINDOW, lambda p: max(int(p["tenkan"]), int(p["kijun"]), int(p["senkou"])),
        aliases=("ICHI", "CLOUD"),
    ),
    # -- panes --
    IndicatorSpec(
        "RSI", "Relative strength index", True, (PERIOD,), (Line("rsi", COLORS[2]),),
        lambda c, p: (ind.rsi(c.close, int(p["period"])),), Streaming.DECAY, _n("period"),
        levels=(30.0, 70.0),
    ),
    IndicatorSpec(
        "MACD", "Moving average convergence divergence", True,
        (
            _p("fast", "Fast", 12, 2, 5000), _p("slow", "Slow", 26, 3, 5000),
            _p("signal", "Signal", 9, 1, 5000),
        ),
        (Line("macd", COLORS[1]), Line("signal", COLORS[0]), Line("histogram", COLORS[5], "histogram")),
        lambda c, p: ind.macd(c.close, int(p["fast"]), int(p["slow"]), int(p["signal"])),
        Streaming.DECAY, lambda p: int(p["slow"]) + int(p["signal"]), levels=(0.0,),
        rule=lambda p: (
            f"MACD's fast period ({p['fast']}) must be shorter than its slow one ({p['slow']})"
            if p["fast"] >= p["slow"] else ""
        ),
    ),
    IndicatorSpec(
        "STOCH", "Stochastic", True,
        (_period(14), _p("k", "%K smoothing", 3, 1, 500), _p("d", "%D smoothing", 3, 1, 500)),
        (Line("k", COLORS[1]), Line("d", COLORS[0])),
        lambda c, p: ind.stochastic(c.high, c.low, c.close, int(p["period"]), int(p["k"]), int(p["d"])),
        Streaming.WINDOW, lambda p: int(p["period"]) + int(p["k"]) + int(p["d"]), levels=(20.0, 80.0),
        aliases=("STOCHASTIC",),
    ),
    IndicatorSpec(
        "ATR", "Average true range", True, (PERIOD,), (Line("atr", COLORS[4]),),
        lambda c, p: (ind.atr(c.high, c.low, c.close, int(p["period"])),), Streaming.DECAY, _n("period"),
    ),
    IndicatorSpec(
        "ADX", "Average directional index", True, (_period(14, 2),),
        (Line("adx", COLORS[0]), Line("plus_di", COLORS[3]), Line("minus_di", COLORS[4])),
        lambda c, p: ind.adx(c.high, c.low, c.close, int(p["period"])),
        Streaming.DECAY, lambda p: 2 * int(p["period"]), levels=(25.0,),
    ),
    IndicatorSpec(
        "OBV", "On-balance volume", True, (), (Line("obv", COLORS[5]),),
        lambda c, p: (ind.obv(c.close, c.volume),), Streaming.CUMULATIVE, lambda p: 2,
    ),
    IndicatorSpec(
        "CCI", "Commodity channel index", True, (_period(20, 2),), (Line("cci", COLORS[6]),),
        lambda c, p: (ind.cci(c.high, c.low, c.close, int(p["period"])),), Streaming.WINDOW, _n("period"),
        levels=(-100.0, 100.0),
    ),
    IndicatorSpec(
        "MFI", "Money flow index", True, (_period(14, 2),), (Line("mfi", COLORS[3]),),
        lambda c, p: (ind.mfi(c.high, c.low, c.close, c.volume, int(p["period"])),),
        Streaming.WINDOW, lambda p: int(p["period"]) + 1, levels=(20.0, 80.0),
    ),
)  # fmt: skip


def _supertrend(c: OHLCV, period: int, k: float) -> tuple[FloatArray, ...]:
    """The line, then the kernel's state rows (lower, upper, trend) for streaming."""
    rows = ind.supertrend_rows(c.high, c.low, c.close, ind.atr(c.high, c.low, c.close, period), k, None)
    return rows[3], rows[0], rows[1], rows[2]


BY_KEY: dict[str, IndicatorSpec] = {}
for _spec in SPECS:
    for _name in (_spec.key, *_spec.aliases):
        BY_KEY[_name] = _spec


#: the user's own indicators (``terminal.analysis.user``), by key; replaced on each reload
USER: dict[str, IndicatorSpec] = {}


def all_specs() -> list[IndicatorSpec]:
    """The built-in indicators, then the user's."""
    return [*SPECS, *USER.values()]


def set_user_specs(specs: list[IndicatorSpec]) -> None:
    USER.clear()
    USER.update({s.key: s for s in specs})


def spec_for(key: str) -> IndicatorSpec:
    found = BY_KEY.get(key.upper()) or USER.get(key.upper())
    if found is None:
        raise UnknownIndicatorError(
            f"no indicator called {key!r} (there are {', '.join(s.key for s in all_specs())})"
        )
    return found


class UnknownIndicatorError(ValueError):
    """No indicator by that name (a user's may not have loaded yet)."""


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass(frozen=True)
class Request:
    """What a user typed ("RSI 14", "bb 20 2.5"): an indicator and its parameters, checked."""

    spec: IndicatorSpec
    params: dict[str, float | int] = field(default_factory=dict)


def parse(text: str) -> Request:
    """``"RSI 14"`` → RSI with period 14; the numbers fill the parameters in order. A
    ValueError says what is wrong ("RSI takes 1 number (Period), not 2")."""
    words = text.replace(",", " ").split()
    if not words:
        raise ValueError("type an indicator, e.g. RSI 14")
    spec = spec_for(words[0])
    numbers = words[1:]
    if len(numbers) > len(spec.params):
        takes = ", ".join(p.label for p in spec.params) or "nothing"
        raise ValueError(f"{spec.key} takes {len(spec.params)} number(s) ({takes}), not {len(numbers)}")
    values: dict[str, object] = {}
    for param, word in zip(spec.params, numbers, strict=False):
        if not _NUMBER.match(word):
            raise ValueError(f"{param.label} of {spec.key} must be a number, not {word!r}")
        values[param.name] = float(word)
    return Request(spec, spec.checked(values))
