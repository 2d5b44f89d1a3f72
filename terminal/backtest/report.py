"""A saved run as files to keep or share: an HTML report and the trades as CSV.

``write_html_report`` writes one self-contained page (no script, no link to
anything outside it, so it opens offline and in any browser): what ran on
which data with which settings, the metrics in groups, the equity and
drawdown curves as inline SVG, and every trade. ``write_trades_csv``
writes one row per trade, the open trade (if it was kept apart) last with
``exit_reason`` "open". Both write atomically (``terminal.atomic_file``):
a failed write leaves no partial file and raises ``ReportExportError``.

Times are UTC. In the CSV, numbers are written so that they read back bit
for bit, a missing level (no stop-loss) is an empty cell, and ``return``,
``mae`` and ``mfe`` are fractions (0.012 is 1.2%), as in the trade table.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from terminal.atomic_file import atomic_text
from terminal.backtest import svg_chart
from terminal.backtest.errors import BacktestError
from terminal.backtest.metric_format import METRIC_GROUPS, Kind, format_metric
from terminal.backtest.run_store import SavedRun
from terminal.backtest.settings import BacktestSettings, Direction, SizingMode
from terminal.backtest.trades import TRADE_DTYPE, ExitReason, TradeTable

#: the CSV's columns and the trade field each one holds (None: made here)
CSV_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("trade", None), ("side", "side"), ("entry_time_utc", "entry_ts"), ("exit_time_utc", "exit_ts"),
    ("entry_price", "entry_price"), ("exit_price", "exit_price"), ("amount", "amount"), ("pnl", "pnl"),
    ("return", "return_pct"), ("entry_fee", "entry_fee"), ("exit_fee", "exit_fee"),
    ("stop_loss", "stop_loss"), ("take_profit", "take_profit"), ("mae", "mae"), ("mfe", "mfe"),
    ("bars", "bars"), ("exit_reason", "exit_reason"), ("entry_bar", "entry_bar"), ("exit_bar", "exit_bar"),
    ("entry_ts_ms", "entry_ts"), ("exit_ts_ms", "exit_ts"),
)  # fmt: skip
REASONS = {reason: reason.name.lower() for reason in ExitReason}
_SIDES = {1: "long", -1: "short"}
_REASON_WORDS = {
    **{reason: name.replace("_", "-") for reason, name in REASONS.items()},
    ExitReason.OPEN: "open (marked at the last close)",
}


class ReportExportError(BacktestError):
    """A report or trade file could not be written; no partial file is left behind."""

    def __init__(self, message: str, *, hint: str = "", detail: str = "", path: str = "") -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


def write_html_report(path: str | os.PathLike[str], run: SavedRun) -> None:
    """The run as one self-contained HTML page at ``path``."""
    page = render_html(run)
    with atomic_text(path, ReportExportError) as f:
        f.write(page)


def write_trades_csv(path: str | os.PathLike[str], run: SavedRun) -> None:
    """The run's trades as CSV at ``path`` (columns: ``CSV_COLUMNS``)."""
    with atomic_text(path, ReportExportError) as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header for header, _ in CSV_COLUMNS)
        out.writerows(_csv_rows(_all_trades(run)))


# -- trades ------------------------------------------------------------------------
def _all_trades(run: SavedRun) -> TradeTable:
    """The closed trades, then the open one if the run kept it apart."""
    return np.concatenate([run.result.trades, run.result.open_trade])


def iso_times(ms: NDArray[np.int64]) -> list[str]:
    """ISO 8601 UTC ("2024-01-31T13:45:00Z"), to the millisecond only where needed."""
    unit: Literal["s", "ms"] = "ms" if bool(np.any(ms % 1000)) else "s"
    stamps: NDArray[np.datetime64] = ms.astype("datetime64[ms]")
    return list(np.datetime_as_string(stamps, unit=unit, timezone="UTC").tolist())


def _csv_rows(trades: TradeTable) -> Iterator[tuple[object, ...]]:
    def column(header: str, field: str | None) -> list[object]:
        if field is None:
            return list(range(1, len(trades) + 1))
        values = trades[field]
        if header.endswith("_time_utc"):
            return list(iso_times(values))
        if field == "side":
            return [_SIDES[x] for x in values.tolist()]
        if field == "exit_reason":
            return [REASONS[ExitReason(x)] for x in values.tolist()]
        if values.dtype.kind == "f":
            return [_exact(x) for x in values.tolist()]
        return list(values.tolist())

    return zip(*(column(header, field) for header, field in CSV_COLUMNS), strict=True)


def _exact(x: float) -> str:
    return "" if x != x else repr(x)  # repr reads back bit for bit; NaN (no level) is empty


# -- the page ----------------------------------------------------------------------
STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 14px 0 4px; color: #57606a; }
.sub { color: #57606a; margin: 0 0 16px; }
table { border-collapse: collapse; }
td, th { padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
.facts th { color: #57606a; font-weight: normal; padding-right: 18px; }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 0 32px; }
.metrics td { text-align: right; font-variant-numeric: tabular-nums; }
.metrics th { font-weight: normal; }
#trades { font-size: 12px; width: 100%; }
#trades th { position: sticky; top: 0; background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
#trades td { font-variant-numeric: tabular-nums; border-bottom: 1px solid #eaeef2; }
#trades td.n { text-align: right; } #trades tr.open td { font-style: italic; }
.gain { color: #1a7f37; } .loss { color: #cf222e; }
svg.chart { width: 100%; height: auto; display: block; margin: 8px 0; font-size: 11px; }
svg .frame { fill: none; stroke: #d0d7de; } svg .grid { stroke: #eaeef2; }
svg .baseline { stroke: #8c959f; stroke-dasharray: 4 3; }
svg .line { fill: none; stroke: #0969da; stroke-width: 1.2; }
svg .area { fill: #cf222e; fill-opacity: 0.25; stroke: none; } svg .area + .line { stroke: #cf222e; }
svg .title { font-size: 13px; font-weight: 600; fill: #1f2328; }
svg .y { text-anchor: end; fill: #57606a; } svg .x { fill: #57606a; }
"""


def render_html(run: SavedRun) -> str:
    """The report page as text."""
    s, r = run.summary, run.result
    quote = quote_currency(s.symbol)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(s.label)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(s.label)}</h1>",
        f'<p class="sub">Backtest run {s.id}, saved {_when(s.created_ms)} UTC</p>',
        "<h2>Run</h2>",
        _facts(
            [
                ("Strategy", s.strategy),
                ("Source", s.source_hash or "unknown"),
                ("Parameters", ", ".join(f"{k} = {v}" for k, v in s.params.items()) or "none"),
                ("Market", f"{s.exchange} {s.symbol} {s.timeframe}"),
                ("Data", f"{_when(s.start_ms)} to {_when(s.end_ms)} UTC (bar open times), {s.bars:,} bars"),
                *settings_facts(r.settings, quote),
            ]
        ),
        "<h2>Metrics</h2>",
        _metrics_html(s.metrics, quote),
        "<h2>Equity and drawdown</h2>",
        svg_chart.line_chart(
            r.ts, r.equity, title=f"Equity ({quote or 'quote'})", height=300, baseline=r.settings.initial_cash
        ),
        svg_chart.line_chart(
            r.ts, r.drawdown, title="Drawdown", height=190, percent=True, baseline=0.0, area=True
        ),
        _trades_html(_all_trades(run)),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def quote_currency(symbol: str) -> str:
    """The quote currency: USDT for BTC/USDT and BTC/USDT:USDT; nothing for other names."""
    return symbol.split("/", 1)[1].split(":", 1)[0] if "/" in symbol else ""


def settings_facts(settings: BacktestSettings, quote: str) -> list[tuple[str, str]]:
    """The run's settings as (what, how) in words."""
    costs, sizing, stops = settings.costs, settings.sizing, settings.stops
    size = {
        SizingMode.FRACTION: f"{sizing.fraction * 100:.4g}% of equity per entry, the entry fee included",
        SizingMode.QUOTE: f"{sizing.quote_amount:,.2f} {quote} per entry".replace("  ", " "),
        SizingMode.RISK: f"{sizing.risk_fraction * 100:.4g}% of equity lost if the stop-loss is hit",
    }[sizing.mode]
    if sizing.amount_step:
        size += f"; amounts rounded down to steps of {sizing.amount_step:g}"
    direction = {
        Direction.BOTH: "long and short (stop-and-reverse)",
        Direction.LONG: "long only",
        Direction.SHORT: "short only",
    }[settings.direction]
    return [
        ("Initial cash", f"{settings.initial_cash:,.2f} {quote}".rstrip()),
        ("Fees", f"taker {costs.taker_fee * 100:.4g}%, maker {costs.maker_fee * 100:.4g}% per side"),
        ("Slippage", f"{costs.slippage_bps:g} bps on market fills"),
        ("Sizing", size),
        ("Stop-loss", _level(stops.stop_loss_pct, stops.stop_loss_atr, stops.atr_period)),
        ("Take-profit", _level(stops.take_profit_pct, stops.take_profit_atr, stops.atr_period)),
        ("Direction", direction),
        (
            "At the end",
            "a trade still open is closed at the last close"
            if settings.close_at_end
            else "a trade still open is reported apart, marked at the last close",
        ),
    ]


def _level(pct: float | None, atr: float | None, period: int) -> str:
    if pct is not None:
        return f"{pct:g}% from the entry"
    if atr is not None:
        return f"{atr:g} × ATR({period}) from the entry"
    return "none"


def _facts(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _metrics_html(metrics: dict[str, float], quote: str) -> str:
    groups = []
    for group, infos in METRIC_GROUPS:
        rows = "".join(
            f"<tr><th>{escape(info.label)}</th>"
            f"<td>{escape(format_metric(info.kind, metrics.get(info.name, float('nan')), quote))}</td></tr>"
            for info in infos
        )
        groups.append(f"<div><h3>{escape(group)}</h3><table>{rows}</table></div>")
    return f'<div class="metrics">{"".join(groups)}</div>'


_TRADE_COLUMNS = (
    "#", "Side", "Entry (UTC)", "Exit (UTC)", "Entry price", "Exit price", "Amount", "P&L", "Return",
    "Fees", "MAE", "MFE", "Bars", "Exit",
)  # fmt: skip
_NUMERIC = frozenset({0, 4, 5, 6, 7, 8, 9, 10, 11, 12})  # right-aligned columns


def _trades_html(trades: TradeTable) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in _TRADE_COLUMNS)
    entry_times = [t.replace("T", " ").removesuffix("Z") for t in iso_times(trades["entry_ts"])]
    exit_times = [t.replace("T", " ").removesuffix("Z") for t in iso_times(trades["exit_ts"])]
    rows = []
    for i, t in enumerate(trades.tolist()):
        row = dict(zip(TRADE_DTYPE.names or (), t, strict=True))
        reason = ExitReason(row["exit_reason"])
        tone = "gain" if row["pnl"] > 0 else "loss" if row["pnl"] < 0 else ""
        cells = [
            str(i + 1),
            _SIDES[row["side"]],
            entry_times[i],
            exit_times[i],
            f"{row['entry_price']:,.8g}",
            f"{row['exit_price']:,.8g}",
            f"{row['amount']:,.8g}",
            f'<span class="{tone}">{row["pnl"]:,.6g}</span>',
            format_metric(Kind.PERCENT, row["return_pct"]),
            f"{row['entry_fee'] + row['exit_fee']:,.6g}",
            format_metric(Kind.PERCENT, row["mae"]),
            format_metric(Kind.PERCENT, row["mfe"]),
            str(row["bars"]),
            _REASON_WORDS[reason],
        ]
        tds = "".join(
            f'<td class="n">{c}</td>' if j in _NUMERIC else f"<td>{c}</td>" for j, c in enumerate(cells)
        )
        rows.append(f'<tr class="{"open" if reason is ExitReason.OPEN else "trade"}">{tds}</tr>')
    body = "\n".join(rows)
    return (
        f"<h2>Trades ({_count(trades)})</h2>\n"
        f'<table id="trades"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'
    )


def _count(trades: TradeTable) -> str:
    still_open = int(np.count_nonzero(trades["exit_reason"] == ExitReason.OPEN))
    closed = f"{len(trades) - still_open:,} closed"
    return f"{closed}, {still_open} open" if still_open else closed


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
