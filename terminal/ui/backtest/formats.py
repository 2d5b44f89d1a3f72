"""How a run reads on screen: its metrics (in the report's words and formats,
``terminal.backtest.metric_format``), which way each metric is better (for
comparisons), parameters and ranges. Plain functions, no Qt."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from terminal.backtest.metric_format import METRIC_GROUPS, MetricInfo, format_metric

#: +1 higher is better, -1 lower is better; metrics not listed are neither (a
#: comparison marks the best run of each listed metric). Drawdowns and VaR are
#: negative numbers, so higher (closer to zero) is better.
BETTER: dict[str, int] = {
    **dict.fromkeys(
        ("final_equity", "peak_equity", "total_return", "annualised_return", "cagr", "sharpe", "sortino",
         "calmar", "omega", "var_95", "cvar_95", "max_drawdown", "avg_drawdown", "win_rate", "best_trade",
         "worst_trade", "avg_trade", "profit_factor", "expectancy", "sqn", "avg_mae", "avg_mfe"),
        +1,
    ),
    **dict.fromkeys(
        ("volatility", "max_drawdown_ms", "max_drawdown_bars", "avg_drawdown_ms", "fees_paid"), -1
    ),
}  # fmt: skip

MetricRow = tuple[str, MetricInfo]  # (group, metric)


def metric_list() -> list[MetricRow]:
    """Every metric in reading order, with its group."""
    return [(group, info) for group, infos in METRIC_GROUPS for info in infos]


def metric_value(metrics: Mapping[str, Any], name: str) -> float:
    value = metrics.get(name)
    return math.nan if value is None else float(value)


def metric_text(info: MetricInfo, metrics: Mapping[str, Any], quote: str = "") -> str:
    return format_metric(info.kind, metric_value(metrics, info.name), quote)


def best_of(name: str, values: list[float]) -> set[int]:
    """Indexes of the best values of metric ``name`` (empty when no side is better)."""
    way = BETTER.get(name, 0)
    finite = [(v * way, i) for i, v in enumerate(values) if not math.isnan(v)]
    if not way or len(finite) < 2:
        return set()
    top = max(v for v, _ in finite)
    if all(v == top for v, _ in finite):
        return set()  # all equal: nothing stands out
    return {i for v, i in finite if v == top}


def params_text(params: Mapping[str, Any]) -> str:
    """ "fast 10 · slow 20" """
    return " · ".join(f"{name} {_value(value)}" for name, value in params.items())


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(getattr(value, "value", value))


def utc_text(ms: int) -> str:
    """ "2024-01-31 13:45" (UTC: candles are UTC-aligned everywhere in the terminal)."""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def range_text(start_ms: int, end_ms: int) -> str:
    return f"{utc_text(start_ms)} → {utc_text(end_ms)} UTC"
