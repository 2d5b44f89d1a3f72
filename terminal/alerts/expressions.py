"""Indicator conditions as a trader types them, and their value on a candle series.

``parse("RSI 14 > 70")``, ``parse("EMA 9 crosses above EMA 21")``,
``parse("close outside BB 20 2")``, ``parse("MACD signal < 0")``: an operand is a
number, a candle field (close, open, high, low, volume; "price" is the close) or an
indicator of the chart's catalogue (``terminal.analysis``) with its parameters and,
after them, one of its lines by name (its first line otherwise). The indicators are
the chart's and the strategies' own functions, so an alert on "RSI 14" watches the
values the chart shows.

``Watch.state(series)`` says whether the condition holds at the live bar and at the
bar before it (None where there are too few candles); the engine fires on the change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from terminal.analysis.catalogue import IndicatorSpec, spec_for
from terminal.analysis.catalogue import parse as parse_indicator
from terminal.analysis.live import LiveIndicator
from terminal.marketdata.candles import CandleSeries

FIELDS = ("close", "open", "high", "low", "volume")
OPERATORS = (
    "crosses above", "crosses below", "crosses", ">=", "<=", ">", "<", "above", "below", "outside", "inside",
)  # fmt: skip
_OP = re.compile(r"\s+(" + "|".join(re.escape(o) for o in OPERATORS) + r")\s+", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
BANDS = ("upper", "lower")


class ExpressionError(ValueError):
    """A condition that cannot be read; the message says what to write."""


@dataclass(frozen=True)
class Operand:
    text: str  # as written back: "RSI 14", "close", "70"
    number: float | None = None
    field: str = ""
    spec: IndicatorSpec | None = None
    params: tuple[tuple[str, float | int], ...] = ()
    line: int = 0

    @property
    def key(self) -> str:
        """Operands with the same indicator and parameters share one computation."""
        return self.text.rsplit(" ", 1)[0] if self.spec is not None and self.line else self.text


@dataclass(frozen=True)
class Expression:
    left: Operand
    op: str
    right: Operand

    @property
    def crossing(self) -> bool:
        return self.op.startswith("crosses")

    def __str__(self) -> str:
        return f"{self.left.text} {self.op} {self.right.text}"


def _operand(text: str, *, band: bool = False) -> Operand:
    words = text.split()
    if not words:
        raise ExpressionError(
            "Write a condition like: RSI 14 > 70, EMA 9 crosses above EMA 21, close outside BB 20 2"
        )
    if len(words) == 1 and _NUMBER.match(words[0]):
        return Operand(words[0], number=float(words[0]))
    low = words[0].lower()
    if len(words) == 1 and low in (*FIELDS, "price"):
        return Operand(low, field="close" if low == "price" else low)
    try:
        spec = spec_for(words[0])
    except ValueError as exc:
        raise ExpressionError(f"{exc}; or a number, or one of {', '.join(FIELDS)}") from None
    line = 0
    names = [ln.name for ln in spec.lines]
    if len(words) > 1 and not _NUMBER.match(words[-1]):
        if words[-1].lower() not in names:
            raise ExpressionError(f"{spec.key} has no line {words[-1]!r} (it has {', '.join(names)})")
        line = names.index(words[-1].lower())
        words = words[:-1]
    try:
        request = parse_indicator(" ".join(words))
    except ValueError as exc:
        raise ExpressionError(str(exc)) from None
    if band and not all(b in names for b in BANDS):
        raise ExpressionError(f"inside and outside need a band (BB, KC, DC), not {spec.key}")
    label = request.spec.label(request.params)
    return Operand(
        f"{label} {names[line]}" if line else label,
        spec=request.spec,
        params=tuple(request.params.items()),
        line=line,
    )


def parse(text: str) -> Expression:
    """The condition in ``text``; an ExpressionError says what is wrong."""
    parts = _OP.split(text.strip(), maxsplit=1)
    if len(parts) != 3:
        raise ExpressionError(
            "Write a condition like: RSI 14 > 70, EMA 9 crosses above EMA 21, close outside BB 20 2 "
            f"(the comparisons: {', '.join(OPERATORS)})"
        )
    op = parts[1].lower()
    op = {"above": ">", "below": "<"}.get(op, op)
    band = op in ("outside", "inside")
    left, right = _operand(parts[0]), _operand(parts[2], band=band)
    if left.number is not None and right.number is not None:
        raise ExpressionError("Compare an indicator or the price with something, not two numbers")
    return Expression(left, op, right)


class SeriesIndicators:
    """The indicators the alerts on one candle series use, each computed once for all of them."""

    def __init__(self) -> None:
        self.live: dict[str, LiveIndicator] = {}
        self._firsts: dict[str, int] = {}  # the first candle's time each one was computed from

    def need(self, operand: Operand) -> None:
        if operand.spec is not None and operand.key not in self.live:
            self.live[operand.key] = LiveIndicator(operand.spec, dict(operand.params))

    def update(self, series: CandleSeries) -> None:
        """Bring them to ``series``: the live tail only, unless the series is another one (a
        reload, older history prepended), which is computed afresh."""
        first = int(series.ts[0]) if len(series) else -1
        for key, live in self.live.items():
            if self._firsts.get(key) == first and len(live) <= len(series):
                live.update(series)
            else:
                live.compute(series)
                self._firsts[key] = first


class Watch:
    """One expression over one candle series (its indicators in a shared ``SeriesIndicators``)."""

    def __init__(self, expression: Expression, indicators: SeriesIndicators) -> None:
        self.expression = expression
        self._indicators = indicators.live
        indicators.need(expression.left)
        indicators.need(expression.right)

    def _value(self, operand: Operand, series: CandleSeries, index: int) -> float:
        if operand.number is not None:
            return operand.number
        if operand.field:
            return float(getattr(series, operand.field)[index])
        return float(self._indicators[operand.key].line(operand.line)[index])

    def _band(self, operand: Operand, index: int) -> tuple[float, float]:
        live = self._indicators[operand.key]
        names = [ln.name for ln in live.spec.lines]
        return float(live.line(names.index("upper"))[index]), float(live.line(names.index("lower"))[index])

    def holds(self, series: CandleSeries, index: int) -> tuple[bool | None, float]:
        """Whether the condition holds at bar ``index`` (None: not known yet), and the left value."""
        if index < 0 or index >= len(series):
            return None, math.nan
        e = self.expression
        left = self._value(e.left, series, index)
        if e.op in ("outside", "inside"):
            upper, lower = self._band(e.right, index)
            if not all(math.isfinite(v) for v in (left, upper, lower)):
                return None, left
            outside = left > upper or left < lower
            return (outside if e.op == "outside" else not outside), left
        right = self._value(e.right, series, index)
        if not (math.isfinite(left) and math.isfinite(right)):
            return None, left
        if e.op in (">", "crosses above"):
            return left > right, left
        if e.op in ("<", "crosses below"):
            return left < right, left
        if e.op == ">=":
            return left >= right, left
        if e.op == "<=":
            return left <= right, left
        return left > right, left  # "crosses": which side; the engine fires on any change of side
