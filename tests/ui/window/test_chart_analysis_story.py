"""Issue 17's story, end to end: a trader adds RSI and Bollinger from the palette,
draws a trend line and a Fibonacci, opens four charts linked on one symbol, restarts
and finds it all back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.chart.drawings.model import Kind
from tests.ui.chart.test_indicators_on_chart import type_in_palette
from tests.ui.harness import Launch
from tests.ui.window.test_chart_grid import charts_drawn, session_of


@pytest.fixture
def history(app_paths: AppPaths) -> Iterator[HistoryFile]:
    held = HistoryFile(app_paths.data_dir / "history.sqlite")
    yield held
    held.close()


def click_at(qtbot: QtBot, chart: object, t_s: float, price: float) -> None:
    """A left click on the price pane at (time, price), as the user clicks."""
    vb = chart.price_plot.getViewBox()  # type: ignore[attr-defined]
    scene = vb.mapViewToScene(QPointF(t_s, price))
    view = chart.glw  # type: ignore[attr-defined]
    at = view.mapFromScene(scene)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(at.x(), at.y()))


async def test_indicators_drawings_and_four_linked_charts_come_back_after_a_restart(
    launch: Launch, history: HistoryFile, qtbot: QtBot
) -> None:
    async with launch(history_file=history) as t:
        window, chart = t.window, t.chart
        window.settled.set()  # the history file opens now (the app does so after the first candles)
        await t.activate()
        await type_in_palette(t, qtbot, "RSI 14")
        await type_in_palette(t, qtbot, "BB 20 2")
        layer = window.drawings
        await t.until(
            lambda: window.chart_tools.of(window.chart_grid.slots[0]).keeper.loaded, "drawings loaded"
        )
        s = chart.series
        i0, i1 = chart.visible_indices()
        a, b = i0 + (i1 - i0) // 4, i1 - (i1 - i0) // 4
        ta, tb = float(s.ts[a]) / 1000.0, float(s.ts[b]) / 1000.0
        layer.set_magnet(False)
        for kind, (pa, pb) in (("trend", (s.low[a], s.high[b])), ("fib", (s.high[a], s.low[b]))):
            layer.arm(kind)  # Alt+D / Alt+I
            click_at(qtbot, chart, ta, float(pa))
            click_at(qtbot, chart, tb, float(pb))
        assert [d.kind for d in layer.drawings] == [Kind.TREND, Kind.FIB]

        window.actions_by_id["charts.4"].trigger()
        await charts_drawn(t, 4)
        grid = window.chart_grid
        for slot in grid.slots:
            grid.set_group(slot, "A")
        grid.choose_timeframe(grid.slots[3], "1h")
        await t.until(lambda: session_of(t, grid.slots[3])[1] == "1h", "the fourth chart on 1h")
        await t.until(lambda: not window.chart_tools.of(grid.slots[0]).keeper._writing, "the drawings saved")

    async with launch(history_file=history) as t:
        window = t.window
        window.settled.set()
        grid = window.chart_grid
        await charts_drawn(t, 4)
        assert [s.config.label for s in t.chart.studies.studies] == ["RSI 14", "BB 20 2"]
        assert [s.group for s in grid.slots] == ["A"] * 4
        assert session_of(t, grid.slots[3]) == ("BTC/USDT", "1h")
        # the drawings, on the window's chart and on the others of its market (whatever their timeframe)
        for slot in grid.slots:
            tools = window.chart_tools.of(slot)
            await t.until(lambda tools=tools: tools.keeper.loaded, "a chart's drawings loaded")
            assert [d.kind for d in tools.layer.drawings] == [Kind.TREND, Kind.FIB]
