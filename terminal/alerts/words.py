"""An alert in words, as the panel lists it and a notification says it."""

from __future__ import annotations

from terminal.alerts.rules import (
    Alert,
    Direction,
    FeedDown,
    IndicatorCondition,
    JobDone,
    LineCross,
    Move,
    OrderEvent,
    PnlBeyond,
    PriceCross,
    VolumeSpike,
)

_ARROW = {Direction.UP: "up through", Direction.DOWN: "down through", Direction.EITHER: "crosses"}


def number(value: float) -> str:
    """A price as a trader reads it: 65,012.5, 0.000123 (eight significant digits at most)."""
    if value == 0 or 1e-4 <= abs(value) < 1e15:
        text = f"{value:,.8g}" if abs(value) >= 1 else f"{value:.8g}"
        return text if "e" not in text else f"{value:,.2f}"
    return f"{value:.4g}"


def reading(value: float) -> str:
    """An indicator's value as a notification says it: RSI 71.35, EMA 62,696.10, 0.0001234."""
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def condition_text(alert: Alert) -> str:
    c = alert.condition
    match c:
        case PriceCross():
            return f"price {_ARROW[c.direction]} {number(c.level)}"
        case LineCross():
            shape = {"hline": "line", "trend": "trend line", "ray": "ray"}[c.shape]
            return f"price {_ARROW[c.direction]} the {shape} at {number(c.p1)}"
        case Move():
            way = {Direction.UP: "up", Direction.DOWN: "down", Direction.EITHER: "up or down"}[c.direction]
            return f"moves {way} {c.percent:g}% within {c.minutes} min"
        case IndicatorCondition():
            return f"{c.expression} ({c.timeframe})"
        case VolumeSpike():
            return f"volume ≥ {c.factor:g}× the last {c.bars} bars ({c.timeframe})"
        case OrderEvent():
            return "an order " + " or ".join(c.outcomes)
        case PnlBeyond():
            parts = ([f"above {number(c.above)}"] if c.above is not None else []) + (
                [f"below {number(c.below)}"] if c.below is not None else []
            )
            return "position PnL " + " or ".join(parts)
        case FeedDown():
            return f"feed stale or down for {c.seconds} s"
        case JobDone():
            return (
                " or ".join("research job" if j == "research" else "download" for j in c.jobs) + " finished"
            )
    return c.kind  # pragma: no cover - every kind is matched above


def subject(alert: Alert) -> str:
    """What the alert is about: "BTC/USDT on simulated", "any market"."""
    if alert.symbol:
        return f"{alert.symbol} on {alert.exchange}" if alert.exchange else alert.symbol
    return alert.exchange or "any market"


def describe(alert: Alert) -> str:
    text = f"{subject(alert)}: {condition_text(alert)}"
    return f"{text} — {alert.note}" if alert.note else text
