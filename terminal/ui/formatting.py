"""Number formats shared by the panels."""

from __future__ import annotations

import math


def compact(value: float | None, decimals: int = 2) -> str:
    """Large amounts in K/M/B (volume columns and readouts); "–" when unknown."""
    if value is None or not math.isfinite(value):
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= size:
            return f"{value / size:,.{decimals}f}{unit}"
    return f"{value:,.{decimals}f}" if value else "0"
