"""Several charts in one window: each its own symbol and timeframe, link groups,
the crosshair in time, indicators and drawings per chart, all back after a restart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from terminal.ui.chart.drawings.model import Drawing, Kind, new_id
from terminal.ui.window.chart_grid import ChartSlot
from tests.ui.harness import Launch, Terminal


async def charts_drawn(t: Terminal, count: int) -> None:
    grid = t.window.chart_grid
    await t.until(
        lambda: grid.count == count and all(s.chart.symbol and s.chart.candles.drawn > 0 for s in grid.slots),
        f"{count} charts with candles",
        timeout=20,
    )


def pick_symbol(qtbot: QtBot, slot: ChartSlot, symbol: str) -> None:
    """Type a symbol into a chart's header and press Enter, as the user does."""
    line = slot.header.symbol.lineEdit()
    assert line is not None
    line.selectAll()
    qtbot.keyClicks(line, symbol)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def session_of(t: Terminal, slot: ChartSlot) -> tuple[str, str]:
    session = slot.session or t.window.session
    return session.symbol, session.timeframe


async def test_four_charts_linked_on_one_symbol_and_kept_after_a_restart(
    launch: Launch, qtbot: QtBot
) -> None:
    async with launch() as t:
        window, grid = t.window, t.window.chart_grid
        window.actions_by_id["charts.4"].trigger()  # Chart ▸ Layout ▸ Four charts
        await charts_drawn(t, 4)
        assert all(s.header.isVisible() for s in grid.slots)
        first, second, third, fourth = grid.slots
        for slot in (first, second, third):
            grid.set_group(slot, "A")
        grid.choose_timeframe(third, "5m")
        await t.until(lambda: session_of(t, third) == ("BTC/USDT", "5m"), "the third chart on 5m")

        # a symbol picked on a linked chart moves its group (the window's own chart too), not the others
        pick_symbol(qtbot, second, "ETH/USDT")
        await t.until(
            lambda: (
                [session_of(t, s)[0] for s in grid.slots] == ["ETH/USDT", "ETH/USDT", "ETH/USDT", "BTC/USDT"]
            ),
            "the group on ETH/USDT",
        )
        assert session_of(t, third) == ("ETH/USDT", "5m")  # each keeps its timeframe
        await t.until(
            lambda: window.book_view.canvas.book is window.session.book, "the book on the window's chart"
        )
        # the window's chart picked by the watchlist: its group follows
        window.open_symbol("SOL/USDT")
        await t.until(
            lambda: [s.chart.symbol for s in grid.slots[:3]] == ["SOL/USDT"] * 3, "the group on SOL/USDT"
        )
        assert fourth.chart.symbol == "BTC/USDT"

        # the crosshair on one chart marks its moment on the others
        t.hover(first.chart.glw.viewport(), QPoint(200, 120))
        await t.until(
            lambda: all(s.chart.sync_line.isVisible() for s in grid.slots[1:]), "the others' time lines"
        )

        # the fourth chart made active by a click: the indicator commands act on it
        qtbot.mouseClick(fourth.chart.glw.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
        assert grid.active is fourth
        assert window.indicators.add_text("RSI 21")
        assert [s.config.label for s in fourth.chart.studies.studies] == ["RSI 21"]
        assert first.chart.studies.studies == []

    async with launch() as t:
        grid = t.window.chart_grid
        await charts_drawn(t, 4)
        await t.until(
            lambda: (
                [session_of(t, s) for s in grid.slots]
                == [("SOL/USDT", "1m"), ("SOL/USDT", "1m"), ("SOL/USDT", "5m"), ("BTC/USDT", "1m")]
            ),
            "every chart as it was",
        )
        assert [s.group for s in grid.slots] == ["A", "A", "A", ""]
        assert [s.config.label for s in grid.slots[3].chart.studies.studies] == ["RSI 21"]
        t.window.actions_by_id["charts.1"].trigger()
        assert grid.count == 1 and not grid.slots[0].header.isVisible()


async def test_two_charts_of_one_market_show_one_set_of_drawings(launch: Launch) -> None:
    async with launch() as t:
        window, grid = t.window, t.window.chart_grid
        window.set_chart_count(2)
        await charts_drawn(t, 2)
        first, second = grid.slots
        grid.choose_timeframe(second, "15m")
        await t.until(lambda: session_of(t, second) == ("BTC/USDT", "15m"), "the second chart on 15m")
        tools = window.chart_tools
        await t.until(
            lambda: all(tools.of(s).keeper.loaded for s in grid.slots), "both charts' drawings loaded"
        )
        price = float(first.chart.series.close[-1])
        line = Drawing(new_id(), Kind.HLINE, ((float(first.chart.series.ts[-5]) / 1000.0, price),))
        tools.of(first).layer.add(line)
        assert [d.id for d in tools.of(second).layer.drawings] == [line.id]  # at once, on the 15m chart too
        tools.of(second).layer.delete(line.id)
        assert tools.of(first).layer.drawings == []


async def test_each_chart_keeps_its_style_and_scale(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        window, grid = t.window, t.window.chart_grid
        window.set_chart_count(2)
        await charts_drawn(t, 2)
        second = grid.slots[1]
        qtbot.mouseClick(second.chart.glw.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
        window.chart_menus.styles["heikin_ashi"].trigger()  # Chart ▸ Style ▸ Heikin-Ashi, on the active chart
        window.chart_menus.log.trigger()  # Chart ▸ Style ▸ Log scale
        assert (second.chart.chart_style, second.chart.log_scale) == ("heikin_ashi", True)
        assert (grid.slots[0].chart.chart_style, grid.slots[0].chart.log_scale) == ("candles", False)
        grid.activate(grid.slots[0])
        assert window.chart_menus.styles["candles"].isChecked() and not window.chart_menus.log.isChecked()

    async with launch() as t:
        grid = t.window.chart_grid
        await charts_drawn(t, 2)
        looks = [(s.chart.chart_style, s.chart.log_scale) for s in grid.slots]
        assert looks == [("candles", False), ("heikin_ashi", True)]


async def test_another_symbol_compared_in_percent_from_the_left_edge(launch: Launch) -> None:
    async with launch() as t:
        window, grid = t.window, t.window.chart_grid
        chart = window.chart
        grid.set_compare(grid.slots[0], "ETH/USDT")
        await t.until(
            lambda: chart.compare is not None and chart.compare.base_index >= 0, "ETH/USDT on the chart"
        )
        line = chart.compare
        assert line is not None and line.symbol == "ETH/USDT"
        eth = grid.slots[0].compare_session
        assert eth is not None and eth.symbol == "ETH/USDT" and eth.timeframe == "1m"
        chart.show_latest(200)
        i0 = chart.visible_indices()[0]
        b = line.base_index
        assert i0 <= b < i0 + 5  # the left edge's candle
        # at the left edge both lines meet at the chart's close; elsewhere ETH's own change
        assert float(line.values[b]) * line.factor == pytest.approx(float(chart.series.close[b]), rel=1e-12)
        j = len(chart.series) - 10
        eth_close = dict(zip(eth.candles.ts.tolist(), eth.candles.close.tolist(), strict=True))
        t_j, t_b = int(chart.series.ts[j]), int(chart.series.ts[b])
        assert line.percent_at(j) == pytest.approx((eth_close[t_j] / eth_close[t_b] - 1.0) * 100.0, rel=1e-12)
        # the axis counts in percent from there; the readout says both symbols' change
        assert chart.price_axis.percent_base == float(chart.series.close[b])
        assert chart.price_axis.tickStrings([float(chart.series.close[b]) * 1.01], 1.0, 1.0) == ["+1.00%"]
        assert "ETH/USDT " in chart.readout_text(j) and "%" in chart.readout_text(j)
        # the timeframe changes: the comparison's candles follow
        window.set_timeframe("5m")
        await t.until(lambda: eth.timeframe == "5m" and chart.series.timeframe_ms == 300_000, "both on 5m")
        assert grid.state()[0].compare == "ETH/USDT"
        grid.set_compare(grid.slots[0], "")
        assert chart.compare is None and chart.price_axis.percent_base is None


async def test_charts_taken_away_come_back_as_they_were_and_a_comparison_survives_a_restart(
    launch: Launch,
) -> None:
    async with launch() as t:
        window, grid = t.window, t.window.chart_grid
        window.set_chart_count(4)
        await charts_drawn(t, 4)
        grid.choose_timeframe(grid.slots[2], "5m")
        grid.slots[3].chart.set_style("line")
        grid.set_compare(grid.slots[0], "SOL/USDT")
        await t.until(lambda: session_of(t, grid.slots[2])[1] == "5m", "the third chart on 5m")
        window.set_chart_count(1)
        assert grid.count == 1
        window.set_chart_count(4)  # the charts come back as they were
        await charts_drawn(t, 4)
        await t.until(lambda: session_of(t, grid.slots[2])[1] == "5m", "the third chart on 5m again")
        assert grid.slots[3].chart.chart_style == "line"

    async with launch() as t:
        chart = t.window.chart
        await charts_drawn(t, 4)
        await t.until(
            lambda: chart.compare is not None and chart.compare.symbol == "SOL/USDT", "SOL compared"
        )
