"""The backtest panel driven as a user drives it, in a real window on the
simulated market, with a real history file (stored candles, saved runs):
run on the chart's candles, refuse a bad parameter on its field, cancel a
long run while the window keeps ticking, queue a second run, reopen a saved
run in a new window, centre the chart on a trade, export, and say where a
broken strategy file is broken.

Async tests on the one qasync loop (see conftest): waits are ``t.until``,
never ``qtbot.wait*`` or a modal ``exec()``.
"""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from terminal.backtest import indicators
from terminal.backtest.queue import BacktestJob, JobState, Runner
from terminal.backtest.result import BacktestResult
from terminal.backtest.runner import run_backtest
from terminal.backtest.strategies import SmaCross
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.paths import AppPaths
from terminal.store import SeriesKey
from terminal.store.history_file import HistoryFile
from terminal.ui.backtest.data_picker import CHART
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.backtest.panel import BacktestPanel
from terminal.ui.backtest.param_form import WHOLE
from terminal.ui.backtest.trades_model import COLUMNS, all_trades
from tests.backtest.backtest_scenarios import ABOVE_AVERAGE
from tests.ui.harness import Launch, Terminal

STORED = SeriesKey("binance", "BTC/USDT", "1m")


@asynccontextmanager
async def terminal_with_panel(
    launch: Launch, history: HistoryFile
) -> AsyncIterator[tuple[Terminal, BacktestPanel]]:
    async with launch(history_file=history) as t:
        panel = t.window.open_backtest()
        await t.until(
            lambda: not panel.busy and panel.data.chart is not None, "the panel to read what there is"
        )
        yield t, panel


def slowed(pause: float) -> Runner:
    """run_backtest whose every progress report waits ``pause`` seconds in the
    worker thread: the engine runs a million bars in a fraction of a second,
    too fast to watch or cancel, so the reports between its stages and chunks
    of bars (where it also checks for Cancel) are slowed to a human pace."""

    def run(candles: OHLCV, *args: Any, progress: Callable[[float], None], cancel: Any) -> BacktestResult:
        def slow(fraction: float) -> None:
            time.sleep(pause)
            progress(fraction)

        return run_backtest(candles, *args, progress=slow, cancel=cancel)

    return run


def set_text(field: NumberEdit, text: str) -> None:
    field.lineEdit().selectAll()
    field.lineEdit().insert(text)  # as typed: the field's edit signal fires


async def run_and_wait(t: Terminal, panel: BacktestPanel) -> BacktestJob:
    job = await panel.run()
    assert job is not None, panel.message.text()
    await t.until(lambda: job.finished and not panel.busy, "the run to finish and be saved", timeout=30)
    assert job.state is JobState.DONE, panel.message.text()
    return job


def candles_between(t: Terminal, first_ms: int, last_ms: int) -> OHLCV:
    """The session's candles from ``first_ms`` to ``last_ms`` (open times), as stored now."""
    series = t.session.candles
    i0 = int(np.searchsorted(series.ts, first_ms))
    i1 = int(np.searchsorted(series.ts, last_ms)) + 1
    return series.copy(i0, i1)


# -- running -------------------------------------------------------------------------------


async def test_ctrl_b_opens_the_panel_tabbed_with_the_log(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with launch(history_file=history) as t:
        await t.activate()
        assert t.window.backtest is None  # made when first asked for
        qtbot.keyClick(t.focus(), Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
        panel = t.window.backtest
        assert panel is not None
        dock = t.window.docks["backtest"]
        assert dock.isVisible() and t.window.docks["log"] in t.window.tabifiedDockWidgets(dock)
        await t.until(lambda: not panel.busy, "the panel to read what there is")
        assert t.window.open_backtest() is panel  # one panel per window


async def test_sma_cross_on_the_chart_candles_shows_metrics_curves_trades_and_marks(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        assert panel.data.source.currentData() == CHART  # the simulated market stores nothing
        assert panel.strategy.strategy() is SmaCross
        await t.activate()
        panel.run_button.setFocus()
        qtbot.keyClick(panel.run_button, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        await t.until(lambda: panel.shown is not None and not panel.busy, "the results", timeout=30)
        assert panel.shown is not None
        run = panel.shown
        result = run.result
        # the chart's closed candles, and exactly what the engine makes of them
        assert run.summary.exchange == "simulated" and run.summary.symbol == t.session.symbol
        assert result.ts[-1] + MINUTE_MS <= time.time() * 1000, "the forming candle is not tested"
        assert result.settings.sizing.amount_step == 0.00001  # the market's own amount step
        candles = candles_between(t, int(result.ts[0]), int(result.ts[-1]))
        direct = run_backtest(candles, SmaCross, None, result.settings)
        np.testing.assert_array_equal(result.equity, direct.equity)
        assert result.metrics.trades == direct.metrics.trades > 0

        assert panel.tabs.currentWidget() is panel.results
        assert panel.results.metrics_model.value_text("trades") == f"{direct.metrics.trades:,}"
        ret = f"{direct.metrics.total_return * 100:,.2f}%"
        assert panel.results.metrics_model.value_text("total_return") == ret
        rows = len(result.trades) + len(result.open_trade)
        assert panel.results.trades_model.rowCount() == rows
        assert panel.results.plot.points == len(result)
        drawn_x, _ = panel.results.plot.equity_curve.getData()
        assert len(drawn_x) < len(result) / 4, "the curves are drawn per pixel, not per bar"
        assert f"Saved as run #{run.summary.id}" in panel.message.text()
        assert [r.id for r in panel.runs.model.runs] == [run.summary.id]

        # the strategy's averages beside its trades, as a backtest's (not kept with the chart)
        studies = t.chart.studies
        wanted = SmaCross.chart_texts(run.summary.params)
        assert [c.label for c in studies.run_configs()] == wanted and studies.configs() == []
        assert all("backtest" in studies.legend_text(s) for s in studies.studies)
        fast = studies.studies[0].live.line(0)
        first = int(np.searchsorted(t.chart.series.ts, result.ts[0]))
        assert first == 0  # the run read the chart's candles from the first: one SMA, bit for bit
        np.testing.assert_array_equal(
            fast[: len(candles)], indicators.sma(candles.close, run.summary.params["fast"])
        )

        marks = t.chart.trade_marks
        assert len(marks) == rows and marks.isVisible()
        marks.drawn = 0
        t.chart.show_latest(2000)
        await t.until(lambda: marks.drawn > 0, "the trades drawn on the chart")
        x0, x1 = t.chart.x_range()
        trades = all_trades(result.trades, result.open_trade)
        in_view = (trades["exit_ts"] / 1000 + 30 >= x0) & (trades["entry_ts"] / 1000 + 30 <= x1)
        assert abs(marks.drawn - int(in_view.sum())) <= 2 < rows - marks.drawn  # only those in view

        t.window.set_theme("light")  # the panel follows the theme without a hitch
        t.window.set_theme("dark")
        panel.clear_marks()
        assert len(marks) == 0
        assert studies.studies == []  # the run's indicators went with its trades


async def test_an_out_of_bounds_parameter_is_refused_with_a_message_on_its_field(
    launch: Launch, history: HistoryFile
) -> None:
    async with terminal_with_panel(launch, history) as (_t, panel):
        form = panel.strategy.form
        assert form is not None
        fast = form.fields["fast"]
        assert isinstance(fast, NumberEdit)
        set_text(fast, "0")
        assert form.problem("fast") == "Must be from 1 to 1,000."
        assert form.errors.labels["fast"].isVisible()
        assert await panel.run() is None
        assert "fix" in panel.message.text()
        assert panel.queue.jobs == []

        set_text(fast, "30")  # in bounds, but not faster than slow (20)
        assert form.problem("fast") == ""
        assert "must be shorter than the slow one" in form.problem(WHOLE)
        assert await panel.run() is None

        set_text(fast, "12")
        assert form.problem(WHOLE) == "" and form.params() is not None
        taker = panel.settings_form.numbers["taker_fee"]
        set_text(taker, "25")  # percent: more than the 10% a fee may be
        assert panel.settings_form.problem("taker_fee") == "Must be from -1 to 10."
        assert await panel.run() is None


async def test_cancelling_a_long_run_stops_it_and_the_window_keeps_ticking(
    launch: Launch, history: HistoryFile, app_paths: AppPaths
) -> None:
    n = 500_000
    store = await asyncio.to_thread(history.get)
    assert store is not None
    end = (int(time.time() * 1000) // MINUTE_MS - 60 * 24 * 30) * MINUTE_MS
    candles = generate_history(INSTRUMENTS[0], end, n, np.random.default_rng(3))
    await asyncio.to_thread(store.write, STORED.exchange, STORED.symbol, STORED.timeframe, candles)
    async with terminal_with_panel(launch, history) as (t, panel):
        assert panel.data.select(STORED)
        panel.queue.runner = slowed(0.15)
        job = await panel.run()
        assert job is not None
        await t.until(lambda: (job.progress or 0) > 0.4, "the run to be inside its loop", timeout=20)
        row = panel.queue_view.rows[job.id]
        assert row.isVisible() and row.bar.value() > 0

        frames = t.window.bridge.frames
        worst = 0.0
        for _ in range(30):  # the loop wakes on time while the worker runs
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - asked - 0.01)
        assert worst < 0.25, f"the event loop stalled {worst * 1000:.0f} ms"
        assert t.window.bridge.frames > frames, "the chart kept updating"

        row.cancel_button.click()
        assert "cancelling" in row.label.text()
        await t.until(lambda: job.finished and not panel.busy, "the run to stop")
        assert job.state is JobState.CANCELLED
        assert job.id not in panel.queue_view.rows and not panel.queue_view.isVisible()
        assert panel.message.text().startswith("Cancelled:")
        assert panel.shown is None and panel.runs.model.runs == []  # nothing saved


async def test_a_second_run_waits_for_the_first_and_runs_after_it(
    launch: Launch, history: HistoryFile
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        panel.queue.runner = slowed(0.1)
        form = panel.strategy.form
        assert form is not None
        first = await panel.run()
        form.set_values({"fast": 5, "slow": 30})
        second = await panel.run()
        assert first is not None and second is not None
        await t.until(lambda: first.state is JobState.RUNNING, "the first run to start")
        assert second.state is JobState.QUEUED
        assert "waiting" in panel.queue_view.rows[second.id].label.text()
        await t.until(lambda: second.finished and not panel.busy, "both runs to finish", timeout=30)
        assert first.state is second.state is JobState.DONE
        runs = panel.runs.model.runs  # newest first
        assert [r.params for r in runs] == [{"fast": 5, "slow": 30}, {"fast": 10, "slow": 20}]
        assert runs[0].id > runs[1].id
        assert panel.shown is not None and panel.shown.summary.id == runs[0].id


async def test_a_saved_run_reopens_after_the_panel_is_closed_and_opened_again(
    launch: Launch, history: HistoryFile, app_paths: AppPaths
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        await run_and_wait(t, panel)
        assert panel.shown is not None
        saved = panel.shown
    history.close()  # the app closes the file when its last window closes

    reopened = HistoryFile(app_paths.data_dir / "history.sqlite")
    try:
        async with terminal_with_panel(launch, reopened) as (t, panel):
            await t.until(lambda: len(panel.runs.model.runs) == 1, "yesterday's run in the list")
            assert panel.shown is None
            panel.tabs.setCurrentWidget(panel.runs)
            panel.runs.select([saved.summary.id])
            panel.runs.buttons["open"].click()
            await t.until(lambda: panel.shown is not None, "the run to open")
            assert panel.shown is not None
            again = panel.shown
            assert again.summary.id == saved.summary.id
            assert again.summary.metrics == pytest.approx(saved.summary.metrics, nan_ok=True)
            np.testing.assert_array_equal(again.result.equity, saved.result.equity)
            assert again.result.trades.tobytes() == saved.result.trades.tobytes()
            assert panel.results.title.text() == saved.summary.label

            # two runs side by side, then one deleted
            await run_and_wait(t, panel)
            ids = [r.id for r in panel.runs.model.runs]
            panel.runs.select(ids)
            panel.runs.buttons["compare"].click()
            assert panel.tabs.currentWidget() is panel.compare
            assert panel.compare.model.columnCount() == 3
            panel.tabs.setCurrentWidget(panel.runs)
            panel.runs.buttons["delete"].click()
            box = panel.runs.confirm
            assert box is not None and box.isVisible()
            box.button(box.StandardButton.Yes).click()
            await t.until(lambda: panel.runs.model.runs == [] and not panel.busy, "the runs to be deleted")
    finally:
        reopened.close()


# -- on the chart -------------------------------------------------------------------------------


async def test_clicking_a_trade_centres_the_chart_on_it(
    launch: Launch, history: HistoryFile, qtbot: Any
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        await run_and_wait(t, panel)
        view, model = panel.results.trades_view, panel.results.trades_model
        assert model.rowCount() > 3
        t.chart.show_latest(100)
        x0, x1 = t.chart.x_range()

        # the P&L column sorted by a click on its title, then the first row clicked
        pnl_column = [title for title, _ in COLUMNS].index("P&L")
        header = view.horizontalHeader()
        centre = header.sectionViewportPosition(pnl_column) + header.sectionSize(pnl_column) // 2
        qtbot.mouseClick(
            header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(centre, header.height() // 2)
        )
        assert header.sortIndicatorSection() == pnl_column
        trade = model.trade_at(0)
        trades = model.trades
        extreme = (
            trades["pnl"].min()
            if header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
            else trades["pnl"].max()
        )
        assert trades["pnl"][trade] == extreme
        qtbot.mouseClick(
            view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(model.index(0, 2)).center()
        )

        t_entry, t_exit = trades["entry_ts"][trade] / 1000, trades["exit_ts"][trade] / 1000 + 60
        await t.until(lambda: t.chart.x_range() != (x0, x1), "the chart to move")
        c0, c1 = t.chart.x_range()
        assert c0 <= t_entry and t_exit <= c1, "the trade is in view"
        assert abs((c0 + c1) / 2 - (t_entry + t_exit) / 2) < 60, "and in the middle of it"
        assert t.chart.trade_marks.selected == trade
        await t.until(lambda: t.chart.trade_marks.drawn > 0, "its marks drawn")


async def test_exports_write_the_html_report_and_the_trades_csv(
    launch: Launch, history: HistoryFile, tmp_path: Path
) -> None:
    async with terminal_with_panel(launch, history) as (t, panel):
        await run_and_wait(t, panel)
        assert panel.shown is not None
        run = panel.shown
        for button, name in ((panel.results.export_html_button, "report.html"),
                             (panel.results.export_csv_button, "trades.csv")):  # fmt: skip
            button.click()
            dialog = panel.file_dialog
            assert dialog is not None and dialog.isVisible()
            dialog.selectFile(str(tmp_path / name))
            dialog.accept()
            await t.until(lambda name=name: (tmp_path / name).exists() and not panel.busy, f"{name} written")
            assert str(tmp_path / name) in panel.message.text()
        html = (tmp_path / "report.html").read_text(encoding="utf-8")
        assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html
        assert run.summary.label.split(" ·")[0] in html
        with (tmp_path / "trades.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == len(run.result.trades) + len(run.result.open_trade)
        assert float(rows[0]["pnl"]) == run.result.trades["pnl"][0]


# -- user strategies -------------------------------------------------------------------------------

FAILING = """
class Failing(Strategy[Params]):
    name = "failing"
    title = "Fails"
    Params = Params

    def signals(self, candles):
        return candles.close + undefined_name
"""
GOOD = ABOVE_AVERAGE.format(period=30) + FAILING
FAILING_LINE = GOOD.splitlines().index("        return candles.close + undefined_name") + 1

BROKEN = """\
import numpy as np

def oops(:
    pass
"""


async def test_a_broken_strategy_file_shows_its_file_and_line_and_the_others_run(
    launch: Launch, history: HistoryFile, app_paths: AppPaths
) -> None:
    folder = app_paths.config_dir / "strategies"
    folder.mkdir()
    (folder / "mine.py").write_text(GOOD, encoding="utf-8")
    broken = folder / "broken.py"
    broken.write_text(BROKEN, encoding="utf-8")
    async with terminal_with_panel(launch, history) as (t, panel):
        box = panel.strategy
        assert not box.user and not box.errors_label.isVisible(), "nothing of the folder runs on open"
        assert "program" in box.folder_note.text() and "no exchange keys" in box.folder_note.text()
        box.reload_button.click()  # "Load yours"
        await t.until(lambda: box.errors_label.isVisible(), "the load error on the panel")
        assert f"{broken}, line 3" in box.errors_label.text()
        assert "syntax error" in box.errors_label.text()
        assert "Traceback" not in box.errors_label.text()

        assert box.select("above_average")
        job = await run_and_wait(t, panel)
        assert panel.shown is not None and panel.shown.summary.strategy == "above_average"
        assert panel.shown.summary.source_hash is not None and len(panel.shown.summary.source_hash) == 64
        assert job.state is JobState.DONE

        assert box.select("failing")
        job = await panel.run()
        assert job is not None
        await t.until(lambda: job.finished and not panel.busy, "the failing run to end")
        text = panel.message.text()
        assert text.startswith("The backtest failed:")
        assert f"{folder / 'mine.py'}, line {FAILING_LINE}" in text
        assert "Traceback" not in text

        fixed = GOOD.replace('"above_average"', '"fixed"').replace('"failing"', '"also_fixed"')
        broken.write_text(fixed, encoding="utf-8")
        box.reload_button.click()
        await t.until(lambda: not box.errors_label.isVisible(), "the fixed file to load")
        assert box.select("fixed")
