"""Reports of saved runs: the HTML page holds the settings, the metrics, the
plots and every trade and needs nothing from outside; the CSV reads back to
the same trades; a write that fails leaves no file and says why."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from terminal.backtest import report, svg_chart
from terminal.backtest.metric_format import METRIC_GROUPS, Kind, format_duration, format_metric
from terminal.backtest.metrics import Metrics
from terminal.backtest.report import ReportExportError, write_html_report, write_trades_csv
from terminal.backtest.result import BacktestResult
from terminal.backtest.run_store import RunStore, SavedRun
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Sizing, Stops
from terminal.backtest.trades import TRADE_DTYPE, ExitReason
from terminal.errors import TerminalError
from terminal.store import CandleStore
from tests.backtest.backtest_scenarios import FixedSignals, random_candles

SETTINGS = BacktestSettings(
    costs=Costs(taker_fee=0.001, maker_fee=0.0008, slippage_bps=2),
    sizing=Sizing(amount_step=0.001),
    stops=Stops(stop_loss_pct=2.0, take_profit_pct=5.0),
    close_at_end=False,
)


def saved(tmp_path: Path, result: BacktestResult) -> SavedRun:
    """The run as the panel has it: saved to a real file and loaded back."""
    with CandleStore(tmp_path / "history.sqlite") as store:
        runs = RunStore(store)
        return runs.load(runs.save(result, exchange="binance", symbol="BTC/USDT", timeframe="1m"))


@pytest.fixture
def run(tmp_path: Path) -> SavedRun:
    candles = random_candles(np.random.default_rng(2), 3000)
    found = saved(tmp_path, run_backtest(candles, "sma_cross", {"fast": 10, "slow": 20}, SETTINGS))
    assert len(found.result.trades) > 100 and len(found.result.open_trade) == 1
    return found


class Tables(HTMLParser):
    """The text of every cell of the table with id "trades", row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._inside = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "trades") in attrs:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def trade_rows(page: str) -> list[list[str]]:
    parser = Tables()
    parser.feed(page)
    return [row for row in parser.rows if row]  # the header row has th cells only


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- HTML -----------------------------------------------------------------------------
def test_the_report_holds_the_run_its_metrics_and_plots(tmp_path: Path, run: SavedRun) -> None:
    path = tmp_path / "report.html"
    write_html_report(path, run)
    page = path.read_text(encoding="utf-8")

    assert page.startswith("<!DOCTYPE html>")
    assert f"<title>{run.summary.label}</title>" in page
    for fact in (
        "binance BTC/USDT 1m",
        "fast = 10, slow = 20",
        "builtin:",
        "3,000 bars",
        "2% from the entry",
    ):
        assert fact in page, fact
    metrics = run.result.metrics.as_dict()
    for group, infos in METRIC_GROUPS:
        assert f"<h3>{group}</h3>" in page
        for info in infos:
            shown = format_metric(info.kind, metrics[info.name], "USDT").replace("&", "&amp;")
            assert f"<th>{info.label.replace('&', '&amp;')}</th><td>{shown}</td>" in page, info.name
    assert page.count("<svg") == 2  # equity and drawdown
    assert page.count("<polyline") == 2


def test_the_report_lists_every_trade_and_the_open_one(tmp_path: Path, run: SavedRun) -> None:
    path = tmp_path / "report.html"
    write_html_report(path, run)
    rows = trade_rows(path.read_text(encoding="utf-8"))
    trades = np.concatenate([run.result.trades, run.result.open_trade])
    assert len(rows) == len(trades)
    for i, (row, trade) in enumerate(zip(rows, trades, strict=True)):
        assert row[0] == str(i + 1)
        assert row[1] == ("long" if trade["side"] == 1 else "short")
        assert (row[2], row[3]) == (utc(trade["entry_ts"]), utc(trade["exit_ts"]))
        assert float(row[7].replace(",", "")) == pytest.approx(trade["pnl"], rel=1e-5, abs=1e-9)
    assert rows[-1][-1] == "open (marked at the last close)"
    assert {row[-1] for row in rows[:-1]} == {"signal", "stop-loss", "take-profit"}
    assert f"Trades ({len(run.result.trades)} closed, 1 open)" in path.read_text(encoding="utf-8")


def test_the_report_needs_nothing_from_outside(tmp_path: Path, run: SavedRun) -> None:
    path = tmp_path / "report.html"
    write_html_report(path, run)
    page = path.read_text(encoding="utf-8").lower()
    for outside in ("http://", "https://", "<script", "<link", "<img", "src=", "href=", "@import", "url("):
        assert outside not in page, outside


def test_a_run_without_trades_still_reports(tmp_path: Path) -> None:
    candles = random_candles(np.random.default_rng(5), 200)
    run = saved(tmp_path, run_backtest(candles, FixedSignals(np.full(200, np.nan))))
    write_html_report(tmp_path / "report.html", run)
    write_trades_csv(tmp_path / "trades.csv", run)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Trades (0 closed)" in page and trade_rows(page) == []
    assert page.count("<svg") == 2
    assert (tmp_path / "trades.csv").read_text().count("\n") == 1  # the header


# -- CSV ------------------------------------------------------------------------------
def test_the_csv_reads_back_to_the_same_trades(tmp_path: Path, run: SavedRun) -> None:
    path = tmp_path / "trades.csv"
    write_trades_csv(path, run)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    trades = np.concatenate([run.result.trades, run.result.open_trade])
    assert len(rows) == len(trades)
    assert list(rows[0]) == [header for header, _ in report.CSV_COLUMNS]

    back = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for i, row in enumerate(rows):
        assert row["trade"] == str(i + 1)
        for header, field in report.CSV_COLUMNS:
            if field is None or header.endswith("_time_utc"):
                continue
            text = row[header]
            if field == "side":
                back[i][field] = {"long": 1, "short": -1}[text]
            elif field == "exit_reason":
                back[i][field] = ExitReason[text.upper()]
            else:
                back[i][field] = float(text) if text else math.nan
        for side in ("entry", "exit"):
            when = datetime.fromisoformat(row[f"{side}_time_utc"])
            assert when.tzinfo is not None and when.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
            assert int(when.timestamp() * 1000) == int(trades[i][f"{side}_ts"])
    assert back.tobytes() == trades.tobytes()  # every field, bit for bit
    assert rows[-1]["exit_reason"] == "open"


def test_a_failed_csv_write_keeps_the_old_file(
    tmp_path: Path, run: SavedRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    path = folder / "trades.csv"
    path.write_text("precious\n")

    def interrupted(_trades: object) -> object:
        yield ("1",) * len(report.CSV_COLUMNS)
        raise KeyboardInterrupt  # the user pressed Ctrl+C half-way

    monkeypatch.setattr(report, "_csv_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_trades_csv(path, run)
    assert path.read_text() == "precious\n"
    assert [p.name for p in folder.iterdir()] == ["trades.csv"]  # no temporary file left


@pytest.mark.parametrize("write", [write_html_report, write_trades_csv])
def test_writing_into_a_missing_folder_says_so_and_leaves_nothing(
    tmp_path: Path, run: SavedRun, write: Callable[[Path, SavedRun], None]
) -> None:
    target = tmp_path / "no such folder" / "out.file"
    with pytest.raises(TerminalError) as caught:
        write(target, run)
    assert isinstance(caught.value, ReportExportError)
    assert str(caught.value) == "Cannot write out.file: No such file or directory."
    assert "No file was written" in caught.value.user_message()
    assert not target.parent.exists()


# -- the pieces -----------------------------------------------------------------------
def test_downsampling_keeps_every_extreme_of_a_long_curve() -> None:
    rng = np.random.default_rng(8)
    curve = np.cumsum(rng.normal(size=1_000_003))
    curve[123_457] = curve.max() + 50  # a one-bar spike must survive
    curve[876_543] = curve.min() - 50
    keep = svg_chart.downsample(curve)
    assert len(keep) <= svg_chart.MAX_POINTS
    assert np.all(np.diff(keep) > 0)
    assert {0, len(curve) - 1, 123_457, 876_543} <= set(keep.tolist())
    # every bucket's own extremes are there, not only the global ones
    size = math.ceil(len(curve) / (svg_chart.MAX_POINTS // 4))
    for start in range(0, len(curve), size):
        part = curve[start : start + size]
        assert {start + int(part.argmin()), start + int(part.argmax())} <= set(keep.tolist())
    assert np.array_equal(svg_chart.downsample(curve[:500]), np.arange(500))


def test_every_metric_has_a_group_a_label_and_a_format() -> None:
    named = [info.name for _, infos in METRIC_GROUPS for info in infos]
    assert sorted(named) == sorted(Metrics.names())
    assert len(named) == len(set(named))


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        (Kind.PERCENT, 0.1234, "12.34%"),
        (Kind.PERCENT, -0.5, "-50.00%"),
        (Kind.RATIO, 1.23456, "1.23"),
        (Kind.RATIO, math.inf, "∞"),
        (Kind.MONEY, 12345.678, "12,345.68 USDT"),
        (Kind.COUNT, 1234, "1,234"),
        (Kind.DURATION, 5_400_000, "1h 30m"),
        (Kind.DURATION, 2 * 86_400_000 + 300_000, "2d"),
        (Kind.PERCENT, math.nan, "-"),
    ],
)
def test_metrics_read_as_people_write_them(kind: Kind, value: float, text: str) -> None:
    assert format_metric(kind, value, "USDT") == text


def test_durations_read_in_their_two_largest_units() -> None:
    assert [format_duration(ms) for ms in (0, 45_000, 60_000, 3_660_000, 90_061_000)] == [
        "0ms",
        "45s",
        "1m",
        "1h 1m",
        "1d 1h",
    ]
