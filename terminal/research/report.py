"""A sweep as one self-contained HTML page to keep or share (no script, no link
outside it, so it opens offline in any browser): what was swept on which
data, how it ended, the overfitting odds and which parameters mattered, the
heatmap of the first two varied parameters as inline SVG, the best trials,
and every trial. Written whole or not at all (``terminal.atomic_file``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from terminal.atomic_file import atomic_text
from terminal.backtest.report import STYLE, ReportExportError, settings_facts
from terminal.backtest.settings import BacktestSettings
from terminal.research.heatmap import Heatmap, heatmap
from terminal.research.objectives import Objective
from terminal.research.sweep import Trial, TrialState

BEST = 20  # trials in the "best" table
CELL = 14  # px of a heatmap cell, at most


@dataclass(frozen=True)
class StudyPage:
    """What the page says, as the Research tab has it."""

    title: str  # "Study #3: sma_cross on BTC/USDT 1m"
    facts: Sequence[tuple[str, str]]  # strategy, data, method, budget, ... as (name, value)
    settings: BacktestSettings
    quote: str
    names: Sequence[str]  # the varied parameters
    objectives: Sequence[Objective]
    trials: Sequence[Trial]
    ended: str  # the stop message
    odds: Sequence[str] = ()  # the overfitting odds and the importance, as sentences


def write_study_html(path: str | os.PathLike[str], page: StudyPage) -> None:
    text = render(page)
    with atomic_text(path, ReportExportError) as f:
        f.write(text)


def render(page: StudyPage) -> str:
    counted = [t for t in page.trials if t.state is TrialState.DONE and t.repeat_of is None and t.values]
    counted.sort(key=lambda t: -_value(t))
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{escape(page.title)}</title><style>{STYLE}{_EXTRA}</style></head><body>",
        f"<h1>{escape(page.title)}</h1>",
        f'<p class="sub">{escape(page.ended)}</p>',
        "<h2>Sweep</h2>",
        _facts([*page.facts, *settings_facts(page.settings, page.quote)]),
    ]
    if page.odds:
        parts += ["<h2>Can the best be trusted?</h2>", *(f"<p>{escape(line)}</p>" for line in page.odds)]
    if len(page.names) >= 2:
        found = heatmap(page.trials, page.names[0], page.names[1])
        label = page.objectives[0].label if page.objectives else "objective"
        x, y = escape(page.names[0]), escape(page.names[1])
        parts += [f"<h2>{escape(label.capitalize())} by {x} and {y}</h2>", _heatmap_svg(found)]
    parts += [f"<h2>The best {min(BEST, len(counted))} of {len(counted):,} counted trials</h2>",
              _table(page, counted[:BEST], "best")]  # fmt: skip
    parts += [f"<h2>Every trial ({len(page.trials):,})</h2>", _table(page, list(page.trials), "trials")]
    parts.append("</body></html>")
    return "\n".join(parts)


_EXTRA = """
table.trials { font-size: 12px; width: 100%; }
table.trials th { background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
table.trials td { font-variant-numeric: tabular-nums; border-bottom: 1px solid #eaeef2; }
table.trials td.n { text-align: right; } tr.out td { color: #8c959f; }
svg.heat { display: block; margin: 8px 0; font-size: 10px; } svg.heat text { fill: #57606a; }
"""


def _value(trial: Trial) -> float:
    v = trial.values[0] if trial.values else math.nan
    return v if math.isfinite(v) else -math.inf


def _facts(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{cells}</table>'


def _number(value: object, pct: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:+.2%}" if pct else f"{value:,.4g}"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(page: StudyPage, trials: Sequence[Trial], css: str) -> str:
    head = ["#", *page.names, *(o.label for o in page.objectives), "return", "max drawdown", "trades", "note"]
    rows = []
    for t in trials:
        m = t.metrics
        cells = [
            str(t.number + 1),
            *(_number(t.params.get(n)) for n in page.names),
            *(_number(t.values[i]) if i < len(t.values) else "" for i in range(len(page.objectives))),
            _number(m.total_return, True) if m is not None else "",
            _number(m.max_drawdown, True) if m is not None else "",
            _number(m.trades) if m is not None else "",
        ]
        note = "" if t.state is TrialState.DONE else f"{t.state.value}: {t.reason}"
        out = ' class="out"' if t.state is not TrialState.DONE else ""
        tds = "".join(f'<td class="n">{escape(c)}</td>' for c in cells) + f"<td>{escape(note)}</td>"
        rows.append(f"<tr{out}>{tds}</tr>")
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table class="trials {css}"><tr>{header}</tr>{"".join(rows)}</table>'


def _heatmap_svg(found: Heatmap) -> str:
    rows, cols = found.values.shape
    if not rows or not cols:
        return "<p>No counted trials to map.</p>"
    cell = max(2, min(CELL, 900 // cols))
    left, bottom = 48, 20
    width, height = left + cols * cell + 4, rows * cell + bottom + 4
    finite = found.values[np.isfinite(found.values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    shapes = []
    for i in range(rows):
        for j in range(cols):
            v = float(found.values[i, j])
            if math.isnan(v):
                continue
            share = (v - low) / (high - low) if high > low else 1.0
            x, y = left + j * cell, (rows - 1 - i) * cell
            tip = escape(f"{found.x_name} {found.xs[j]}, {found.y_name} {found.ys[i]}: {v:.4g}")
            shapes.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_colour(share)}">'
                          f"<title>{tip}</title></rect>")  # fmt: skip
    step_x, step_y = max(1, math.ceil(cols / 10)), max(1, math.ceil(rows / 10))
    for j in range(0, cols, step_x):
        shapes.append(f'<text x="{left + j * cell}" y="{rows * cell + 14}">{escape(str(found.xs[j]))}</text>')
    for i in range(0, rows, step_y):
        y = (rows - 1 - i) * cell + cell - 2
        shapes.append(f'<text x="{left - 4}" y="{y}" text-anchor="end">{escape(str(found.ys[i]))}</text>')
    axes = (f'<text x="{left}" y="{height}">{escape(found.x_name)} →</text>'
            f'<text x="0" y="10">{escape(found.y_name)} ↑</text>')  # fmt: skip
    return (f'<svg class="heat" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 4}">'
            f'{"".join(shapes)}{axes}</svg>'
            f'<p class="sub">Each cell: the best value any trial with that pair reached; red worst '
            f"({low:.4g}) to green best ({high:.4g}); empty: no counted trial.</p>")  # fmt: skip


def _colour(share: float) -> str:
    share = min(max(share, 0.0), 1.0)
    if share < 0.5:
        t = share / 0.5
        r, g, b = 207 - 60 * t, 34 + 120 * t, 46 + 110 * t
    else:
        t = (share - 0.5) / 0.5
        r, g, b = 147 - 121 * t, 154 - 27 * t, 156 - 101 * t
    return f"rgb({round(r)},{round(g)},{round(b)})"
