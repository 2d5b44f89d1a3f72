"""How metrics read for people: grouped, labelled and formatted.

``METRIC_GROUPS`` puts every field of ``Metrics`` in one group with a label
and a kind; ``format_metric`` writes a value by its kind: fractions as
percentages, millisecond spans as "3d 4h", money with thousands separators
(and the quote currency when given), NaN (a metric without meaning for the
run) as a dash. Definitions: docs/backtesting.md, "Metrics". Qt-free, so a
report and a panel show the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    PERCENT = "percent"  # a fraction: 0.12 reads 12.00%
    RATIO = "ratio"
    MONEY = "money"  # quote currency
    COUNT = "count"
    BARS = "bars"  # a mean number of bars
    DURATION = "duration"  # milliseconds
    NUMBER = "number"


@dataclass(frozen=True)
class MetricInfo:
    name: str  # the field of Metrics
    label: str
    kind: Kind


def _group(*items: tuple[str, str, Kind]) -> tuple[MetricInfo, ...]:
    return tuple(MetricInfo(*item) for item in items)


METRIC_GROUPS: tuple[tuple[str, tuple[MetricInfo, ...]], ...] = (
    (
        "Returns",
        _group(
            ("initial_equity", "Initial equity", Kind.MONEY),
            ("final_equity", "Final equity", Kind.MONEY),
            ("peak_equity", "Peak equity", Kind.MONEY),
            ("total_return", "Total return", Kind.PERCENT),
            ("annualised_return", "Annualised return", Kind.PERCENT),
            ("cagr", "CAGR", Kind.PERCENT),
            ("buy_hold_return", "Buy & hold return", Kind.PERCENT),
        ),
    ),
    (
        "Risk",
        _group(
            ("volatility", "Volatility (annualised)", Kind.PERCENT),
            ("sharpe", "Sharpe ratio", Kind.RATIO),
            ("sortino", "Sortino ratio", Kind.RATIO),
            ("calmar", "Calmar ratio", Kind.RATIO),
            ("omega", "Omega ratio", Kind.RATIO),
            ("var_95", "Value at risk (95%, per bar)", Kind.PERCENT),
            ("cvar_95", "Expected shortfall (CVaR 95%, per bar)", Kind.PERCENT),
            ("exposure", "Exposure (bars in a position)", Kind.PERCENT),
        ),
    ),
    (
        "Drawdown",
        _group(
            ("max_drawdown", "Max drawdown", Kind.PERCENT),
            ("max_drawdown_ms", "Longest drawdown", Kind.DURATION),
            ("max_drawdown_bars", "Longest drawdown (bars)", Kind.COUNT),
            ("avg_drawdown", "Average drawdown", Kind.PERCENT),
            ("avg_drawdown_ms", "Average drawdown duration", Kind.DURATION),
        ),
    ),
    (
        "Trades",
        _group(
            ("trades", "Trades", Kind.COUNT),
            ("win_rate", "Win rate", Kind.PERCENT),
            ("best_trade", "Best trade", Kind.PERCENT),
            ("worst_trade", "Worst trade", Kind.PERCENT),
            ("avg_trade", "Average trade", Kind.PERCENT),
            ("avg_trade_ms", "Average trade duration", Kind.DURATION),
            ("max_trade_ms", "Longest trade", Kind.DURATION),
            ("avg_trade_bars", "Average trade (bars)", Kind.BARS),
            ("max_trade_bars", "Longest trade (bars)", Kind.COUNT),
            ("profit_factor", "Profit factor", Kind.RATIO),
            ("expectancy", "Expectancy (per trade)", Kind.MONEY),
            ("sqn", "SQN", Kind.RATIO),
            ("kelly", "Kelly fraction", Kind.PERCENT),
            ("avg_mae", "Average MAE", Kind.PERCENT),
            ("avg_mfe", "Average MFE", Kind.PERCENT),
            ("fees_paid", "Fees paid", Kind.MONEY),
        ),
    ),
    (
        "Data",
        _group(
            ("bar_ms", "Bar length", Kind.DURATION),
            ("periods_per_year", "Bars per year", Kind.NUMBER),
        ),
    ),
)

_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def format_duration(ms: float) -> str:
    """A span in its two largest units: "3d 4h", "45m", "12s"; under a second in ms."""
    if not math.isfinite(ms):
        return "-"
    if abs(ms) < 1_000:
        return f"{ms:.0f}ms"
    rest = round(abs(ms) / 1_000) * 1_000
    parts: list[str] = []
    for unit, size in _UNITS:
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append(f"{count}{unit}")
    shown = [p for p in parts[:2] if not p.startswith("0")]
    return ("-" if ms < 0 else "") + " ".join(shown)


def format_metric(kind: Kind, value: float, quote: str = "") -> str:
    """``value`` written as its ``kind`` reads; ``quote`` follows money."""
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    match kind:
        case Kind.PERCENT:
            return f"{value * 100:,.2f}%"
        case Kind.RATIO:
            return f"{value:,.2f}"
        case Kind.MONEY:
            return f"{value:,.2f} {quote}".rstrip()
        case Kind.COUNT:
            return f"{value:,.0f}"
        case Kind.BARS:
            return f"{value:,.1f}"
        case Kind.DURATION:
            return format_duration(value)
        case Kind.NUMBER:
            return f"{value:,.0f}"
