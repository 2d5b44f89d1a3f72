"""Curves over time as inline SVG, for a report that must open offline.

A million-bar equity curve is more points than a page has pixels:
``downsample`` keeps, per bucket of bars, the first, lowest, highest and
last point (M4, as the chart does when zoomed out), so every peak and every
trough of the curve survives, at ~2,000 points whatever the length.
The SVG carries classes, no colours: the page's stylesheet paints it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

WIDTH = 960
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 84, 16, 28, 26
MAX_POINTS = 2_000
_DAY_MS = 86_400_000


def downsample(values: FloatArray, max_points: int = MAX_POINTS) -> IntArray:
    """Indices (sorted, unique) of at most ~``max_points`` points that keep each
    bucket's first, minimum, maximum and last value."""
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    size = math.ceil(n / (max_points // 4))  # bars per bucket
    buckets = math.ceil(n / size)
    # pad with the last value to whole buckets: argmin/argmax return the first
    # occurrence, so a padded copy is never chosen over the real last bar
    padded = np.empty(buckets * size)
    padded[:n] = values
    padded[n:] = values[-1]
    grid = padded.reshape(buckets, size)
    starts = np.arange(buckets, dtype=np.int64) * size
    picks = np.concatenate(
        [starts, starts + grid.argmin(axis=1), starts + grid.argmax(axis=1), np.minimum(starts + size, n) - 1]
    )
    return np.unique(np.minimum(picks, n - 1))


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) between ``lo`` and ``hi``."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def line_chart(
    ts: IntArray,
    values: FloatArray,
    *,
    title: str,
    height: int,
    percent: bool = False,
    baseline: float | None = None,
    area: bool = False,
) -> str:
    """An SVG chart of ``values`` over open times ``ts`` (ms). ``percent``: the
    values are fractions, labelled as percentages; ``baseline``: a dashed
    horizontal line at that value; ``area``: filled between the curve and the
    baseline (a drawdown)."""
    keep = downsample(values)
    x_ms, y = ts[keep].astype(np.float64), values[keep]
    finite = y[np.isfinite(y)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if baseline is not None:
        lo, hi = min(lo, baseline), max(hi, baseline)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.01 or 1.0
    lo, hi = lo - pad, hi + pad
    t0, t1 = (float(x_ms[0]), float(x_ms[-1])) if len(x_ms) else (0.0, 1.0)
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, height - MARGIN_BOTTOM

    def px(t: FloatArray | float) -> FloatArray | float:
        return left + (t - t0) / ((t1 - t0) or 1.0) * (right - left)

    def py(v: FloatArray | float) -> FloatArray | float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f'<text class="title" x="{left}" y="{MARGIN_TOP - 10}">{escape(title)}</text>',
        f'<rect class="frame" x="{left}" y="{top}" width="{right - left}" height="{bottom - top}"/>',
    ]
    scale = 100.0 if percent else 1.0
    ticks = nice_ticks(lo * scale, hi * scale)
    decimals, unit = _decimals(ticks), "%" if percent else ""
    for tick in ticks:
        y_px = py(tick / scale)
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y_px:.1f}" y2="{y_px:.1f}"/>')
        parts.append(f'<text class="y" x="{left - 6}" y="{y_px + 4:.1f}">{tick:,.{decimals}f}{unit}</text>')
    times = np.linspace(t0, t1, 6).tolist() if t1 > t0 else [t0]
    for i, when in enumerate(times):
        # the end labels align to the frame's edges, so that they are not cut off
        anchor = "start" if i == 0 else "end" if i == len(times) - 1 else "middle"
        where = f'x="{px(when):.1f}" y="{height - 8}" text-anchor="{anchor}"'
        parts.append(f'<text class="x" {where}>{_date(when, t1 - t0)}</text>')
    if baseline is not None:
        y_px = py(baseline)
        parts.append(f'<line class="baseline" x1="{left}" x2="{right}" y1="{y_px:.1f}" y2="{y_px:.1f}"/>')
    points = " ".join(
        f"{a:.1f},{b:.1f}"
        for a, b in zip(np.asarray(px(x_ms)).tolist(), np.asarray(py(y)).tolist(), strict=True)
    )
    if area and baseline is not None and len(x_ms):
        base = py(baseline)
        parts.append(
            f'<path class="area" d="M{px(t0):.1f},{base:.1f} L{points} L{px(t1):.1f},{base:.1f} Z"/>'
        )
    parts.append(f'<polyline class="line" points="{points}"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _decimals(ticks: list[float]) -> int:
    if len(ticks) < 2:
        return 2
    return max(0, -math.floor(math.log10(ticks[1] - ticks[0]) + 1e-9))


def _date(ms: float, span_ms: float) -> str:
    when = datetime.fromtimestamp(ms / 1000, UTC)
    if span_ms > 5 * _DAY_MS:
        return when.strftime("%Y-%m-%d")
    return when.strftime("%m-%d %H:%M")
