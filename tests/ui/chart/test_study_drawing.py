"""How the indicators are drawn on a chart, as the user sees and uses them: one item
per indicator drawing all its lines, the legend drawn in the chart (its values, its ⚙
and ✕, a double-click), a pane's guide levels and crosshair, and where a new pane goes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.analysis.catalogue import parse
from terminal.analysis.setup import IndicatorConfig
from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.studies import Study
from terminal.ui.chart.study_items import StudyGraphic
from terminal.ui.theme import DARK
from tests.ui.chart.test_indicators_on_chart import near
from tests.ui.harness import image_array, rgb, scene_rect_in

MINUTE = 60_000
T0 = 1_700_000_000_000


def walk(n: int, seed: int = 5) -> OHLCV:
    rng = np.random.default_rng(seed)
    close = 30_000.0 + np.cumsum(rng.normal(0.0, 15.0, n))
    open_ = np.r_[close[0], close[:-1]]
    return OHLCV(
        T0 + np.arange(n, dtype=np.int64) * MINUTE,
        open_,
        np.maximum(open_, close) + 5.0,
        np.minimum(open_, close) - 5.0,
        close,
        rng.lognormal(1.0, 0.5, n),
    )


@pytest.fixture
def chart(qtbot: QtBot) -> ChartWidget:
    chart = ChartWidget(DARK, visible_candles=300)
    qtbot.addWidget(chart)
    chart.resize(1000, 700)
    chart.show()
    qtbot.waitExposed(chart)
    series = CandleSeries(MINUTE)
    series.replace(walk(3_000))
    chart.set_series(series, "BTC/USDT", 1)
    return chart


def add(chart: ChartWidget, text: str, colors: tuple[str, ...] | None = None) -> Study:
    request = parse(text)
    config = IndicatorConfig.new(request.spec, request.params)
    if colors is not None:
        config = IndicatorConfig(config.key, config.params, colors, config.width, config.style)
    return chart.studies.add(config)


def settle(qtbot: QtBot, chart: ChartWidget) -> np.ndarray:
    """The chart's pixels once the events an add posted (layout, paint) have run."""
    QApplication.processEvents()
    chart.glw.viewport().repaint()
    return image_array(chart.grab().toImage())


def area(pixels: np.ndarray, chart: ChartWidget, item: object) -> np.ndarray:
    rect = scene_rect_in(chart, item)
    return pixels[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]


def price_lines(pixels: np.ndarray, chart: ChartWidget) -> np.ndarray:
    """The price pane's pixels with its legend blanked (its values are in the lines' colours)."""
    pixels = pixels.copy()
    legend = scene_rect_in(chart, chart.studies.price_legend)
    pixels[legend.top() : legend.bottom() + 1, legend.left() : legend.right() + 1] = 0
    return area(pixels, chart, chart.price_plot.getViewBox())


def graphics(chart: ChartWidget) -> list[StudyGraphic]:
    return [i for i in chart.glw.scene().items() if isinstance(i, StudyGraphic)]


def test_bands_and_macd_are_one_item_each_and_every_line_is_drawn(chart: ChartWidget, qtbot: QtBot) -> None:
    bands = add(chart, "BB 20 2", ("#ff00ff", "#00ffff", "#ffff00"))
    macd = add(chart, "MACD 12 26 9", ("#ff8000", "#00ff80", "#8080ff"))
    pixels = settle(qtbot, chart)
    assert len(graphics(chart)) == 2  # not six
    assert [o.kind for o in macd.items] == ["line", "line", "histogram"]
    for study in (bands, macd):
        assert all(o.drawn > 0 for o in study.items), study.config.label
    price = price_lines(pixels, chart)
    for color in ("#ff00ff", "#00ffff", "#ffff00"):  # each band crosses the price pane in its colour
        assert near(price, color).any(axis=0).sum() > 200, color
    assert macd.pane is not None
    pane = area(pixels, chart, macd.pane.plot.getViewBox())
    assert (pane == rgb("#8080ff")).any(axis=0).sum() > 200  # the histogram's bars above zero


def test_a_line_hidden_by_its_output_is_not_drawn_and_the_others_are(
    chart: ChartWidget, qtbot: QtBot
) -> None:
    bands = add(chart, "BB 20 2", ("#ff00ff", "#00ffff", "#ffff00"))
    bands.items[1].visible = False
    bands.graphic.update()
    pixels = price_lines(settle(qtbot, chart), chart)
    assert bands.items[1].drawn == 0 and bands.items[0].drawn > 0 and bands.items[2].drawn > 0
    assert near(pixels, "#00ffff").any(axis=0).sum() == 0
    assert near(pixels, "#ff00ff").any(axis=0).sum() > 200


def test_the_legend_shows_each_value_in_its_lines_colour(chart: ChartWidget, qtbot: QtBot) -> None:
    bands = add(chart, "BB 20 2", ("#ff00ff", "#00ffff", "#ffff00"))
    text = chart.studies.legend_text(bands)
    last = bands.live.values_at(len(chart.series) - 1)
    assert text == "BB 20 2  " + "  ".join(f"{v:,.1f}" for v in last)
    pixels = area(settle(qtbot, chart), chart, chart.studies.price_legend)
    for color in ("#ff00ff", "#00ffff", "#ffff00"):
        assert (pixels == rgb(color)).sum() > 10, color  # the value's glyphs, in the line's colour


def test_the_legend_buttons_open_the_settings_and_remove(chart: ChartWidget, qtbot: QtBot) -> None:
    rsi = add(chart, "RSI 14")
    settle(qtbot, chart)
    asked: list[int] = []
    chart.studies.edit_requested.connect(asked.append)
    legend = chart.studies.legend(rsi)
    view = chart.glw

    def at(button: str) -> QPoint:
        rect = legend.button_rect(rsi.id, button)
        assert rect is not None
        return view.mapFromScene(rect.center())

    qtbot.mouseMove(view.viewport(), at("edit"))
    qtbot.waitUntil(lambda: legend.toolTip() == "Settings")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at("edit"))
    assert asked == [rsi.id]
    row = view.mapFromScene(legend.mapToScene(QPointF(4.0, 6.0)))  # on the row's name
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=row)
    assert asked == [rsi.id, rsi.id]
    rows = len(chart.glw.ci.items)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at("remove"))
    assert chart.studies.studies == [] and len(chart.glw.ci.items) == rows - 1


def test_a_drag_that_starts_on_the_legends_text_pans_the_chart(chart: ChartWidget, qtbot: QtBot) -> None:
    add(chart, "SMA 20")
    settle(qtbot, chart)
    legend = chart.studies.price_legend
    start = chart.glw.mapFromScene(legend.mapToScene(QPointF(6.0, 6.0)))
    x0, _ = chart.x_range()
    viewport = chart.glw.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for dx in (20, 60, 120):
        qtbot.mouseMove(viewport, start + QPoint(dx, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(120, 0))
    assert chart.x_range()[0] < x0  # dragged right: older candles come into view


def test_a_panes_guides_and_crosshair_are_drawn(chart: ChartWidget, qtbot: QtBot) -> None:
    rsi = add(chart, "RSI 14")
    assert rsi.pane is not None
    pixels = settle(qtbot, chart)
    vb = rsi.pane.plot.getViewBox()
    pane = scene_rect_in(chart, vb)
    muted = rgb(DARK.muted)
    for level in (30.0, 70.0):  # dotted across the pane: every other pixel or so
        y = view_y(chart, vb, level)
        row = pixels[y - 1 : y + 2, pane.left() : pane.right()]
        assert (row == muted).any(axis=0).mean() > 0.3, level
    i = len(chart.series) - 40
    x = float(chart.series.ts[i]) / 1000.0 + 30.0
    chart.studies.crosshair(x, i)
    pixels = settle(qtbot, chart)
    column = view_x(chart, vb, x)
    cross = rgb(DARK.crosshair)
    strip = pixels[pane.top() : pane.bottom(), column - 1 : column + 2]
    assert (strip == cross).any(axis=1).mean() > 0.3  # dashed, top to bottom
    chart.studies.hide_crosshair()
    pixels = settle(qtbot, chart)
    assert not (pixels[pane.top() : pane.bottom(), column - 1 : column + 2] == cross).any(axis=1).mean() > 0.3


def view_y(chart: ChartWidget, vb: object, value: float) -> int:
    scene = vb.mapViewToScene(QPointF(chart.x_range()[0], value))  # type: ignore[attr-defined]
    return chart.glw.viewport().mapTo(chart, chart.glw.mapFromScene(scene)).y()


def view_x(chart: ChartWidget, vb: object, t_s: float) -> int:
    scene = vb.mapViewToScene(QPointF(t_s, 50.0))  # type: ignore[attr-defined]
    return chart.glw.viewport().mapTo(chart, chart.glw.mapFromScene(scene)).x()


def test_a_new_pane_goes_above_the_volume_and_leaves_the_others_where_they_were(
    chart: ChartWidget, qtbot: QtBot
) -> None:
    bare = [p.sceneBoundingRect() for p in (chart.price_plot, chart.volume_plot)]
    rsi, macd = add(chart, "RSI 14"), add(chart, "MACD")
    settle(qtbot, chart)
    assert rsi.pane is not None and macd.pane is not None
    ci = chart.glw.ci
    order = [chart.price_plot, rsi.pane.plot, macd.pane.plot, chart.volume_plot]
    assert [ci.getItem(r, 0) for r in range(4)] == order
    tops = [p.sceneBoundingRect().top() for p in order]
    assert tops == sorted(tops)  # laid out in that order, top to bottom
    assert chart.volume_plot.sceneBoundingRect().bottom() <= chart.glw.viewport().height()
    # the pane's x follows the price's
    assert rsi.pane.plot.getViewBox().viewRange()[0] == pytest.approx(chart.x_range(), abs=1e-6)
    chart.studies.remove(rsi.id)
    settle(qtbot, chart)
    assert [ci.getItem(r, 0) for r in range(3)] == [chart.price_plot, macd.pane.plot, chart.volume_plot]
    chart.studies.remove(macd.id)
    settle(qtbot, chart)
    assert [ci.getItem(r, 0) for r in range(2)] == [chart.price_plot, chart.volume_plot]
    assert [p.sceneBoundingRect() for p in (chart.price_plot, chart.volume_plot)] == bare  # as before


def test_a_tick_that_moves_a_band_a_little_leaves_the_price_range_and_a_big_one_moves_it(
    qtbot: QtBot,
) -> None:
    """When the lowest band is the lowest thing in view, the live candle moves it at every
    tick; the price range (its axis, the grid) follows only when the band leaves it."""
    chart = ChartWidget(DARK, visible_candles=100)
    qtbot.addWidget(chart)
    chart.resize(1000, 700)
    chart.show()
    n = 400
    close = np.where(np.arange(n) % 2 == 0, 100.0, 110.0)  # a wide swing: bands far outside
    open_ = np.r_[close[0], close[:-1]]
    series = CandleSeries(MINUTE)
    series.replace(
        OHLCV(
            T0 + np.arange(n, dtype=np.int64) * MINUTE,
            open_,
            np.maximum(open_, close) + 0.5,
            np.minimum(open_, close) - 0.5,
            close,
            np.ones(n),
        )
    )
    chart.set_series(series, "BTC/USDT", 2)
    bands = add(chart, "BB 20 2")
    chart.live_update()
    lowest_band = float(bands.live.line(2)[-1])
    i0, i1 = chart.visible_indices()
    prices = chart.candles.price_range(i0, i1)
    assert prices is not None and lowest_band < prices[0]  # the band is the lowest thing in view
    y_range = chart.price_plot.getViewBox().viewRange()[1]
    ts, o, h, lo, c, v = series.last()  # type: ignore[misc]
    for step in (0.05, -0.05, 0.1):  # ticks within the candle: the band moves a hair
        series.upsert(ts, o, h, lo, c + step, v)
        chart.live_update()
        assert float(bands.live.line(2)[-1]) != lowest_band
        assert chart.price_plot.getViewBox().viewRange()[1] == y_range
    series.upsert(ts, o, h, 60.0, 60.0, v)  # a crash: the band falls far
    chart.live_update()
    low, high = chart.price_plot.getViewBox().viewRange()[1]
    assert (low, high) != tuple(y_range) and low <= float(bands.live.line(2)[-1])


def test_the_range_in_view_follows_the_live_candle_up_down_and_into_a_new_one(chart: ChartWidget) -> None:
    """The part of the view a tick cannot change is remembered: the range must still be
    the values' own after ticks that make the last value the highest, the lowest, neither,
    and after a new candle opens."""
    sma = add(chart, "SMA 5")
    series = chart.series

    def check() -> None:
        x0, x1 = chart.x_range()
        i0, i1 = sma.graphic._slice(0, x0, x1, len(series))
        values = sma.live.line(0)[i0:i1]
        assert sma.graphic.visible_range() == (float(np.nanmin(values)), float(np.nanmax(values)))

    check()
    ts, o, h, lo, c, v = series.last()  # type: ignore[misc]
    for close in (c + 2_000.0, c - 2_000.0, c, c + 1.0):
        series.upsert(ts, o, max(h, close), min(lo, close), close, v)
        chart.live_update()
        check()
    for close in (c - 3_000.0, c):  # a new candle, far below, then back
        series.upsert(ts + MINUTE, c, max(c, close), min(c, close), close, 1.0)
        chart.live_update()
        check()
