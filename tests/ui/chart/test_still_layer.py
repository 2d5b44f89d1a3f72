"""The still picture (terminal.ui.chart.still): a tick repaints the live candle and each
indicator's last segment over a copy of everything else. What the user must see is the
chart as drawn in full, tick after tick, through a new candle, a pan, a zoom far out, a
log scale and another style; and a tick must be drawn from the copy (else the chart
is as slow as before, with nothing to show for it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from PySide6.QtCore import QRect, QRectF
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from terminal.analysis.catalogue import parse
from terminal.analysis.setup import IndicatorConfig
from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.still import StillLayer
from terminal.ui.theme import DARK
from tests.ui.chart.test_chart_styles import HOUR, candles_of, wavy, widget_point
from tests.ui.harness import image_array, rgb

INDICATORS = ("SMA 20", "BB 20 2", "PSAR", "RSI 14", "MACD 12 26 9")
JOINT_PX = 8  # the joint's reach: a steep line's antialiasing, candles a pixel apart zoomed out
EDGE_PX = 2  # a plot's edge: the axes' pixels next to it
ROUNDING = 3  # of 255: a partly covered pixel where a line leaves the plot


def chart_with_indicators(
    qtbot: QtBot, n: int = 600, indicators: tuple[str, ...] = INDICATORS
) -> ChartWidget:
    chart = ChartWidget(DARK, visible_candles=60)  # candles 13 px apart: room left of a joint
    qtbot.addWidget(chart)
    chart.resize(900, 700)
    chart.show()
    qtbot.waitExposed(chart)
    series = CandleSeries(HOUR)
    series.replace(candles_of(wavy(n)))
    chart.set_series(series, "BTC/USDT", 2)
    for text in indicators:
        request = parse(text)
        chart.studies.add(IndicatorConfig.new(request.spec, request.params))
    qtbot.wait(20)  # the panes laid out
    return chart


def layers(chart: ChartWidget) -> list[StillLayer]:
    return chart.still_layers()


@contextmanager
def drawn_in_full(chart: ChartWidget) -> Iterator[None]:
    """Every item draws all of itself, as without the still picture."""
    kept = [(layer, list(layer.members)) for layer in layers(chart)]
    for layer, members in kept:
        for item in members:
            layer.discard(item)
    try:
        yield
    finally:
        for layer, members in kept:
            for item in members:
                layer.add(item)


def settled(chart: ChartWidget) -> np.ndarray:
    """The chart as the user sees it once the view has come to rest (the first frame after
    a change is drawn in full; the next from the picture)."""
    chart.grab()
    return image_array(chart.grab().toImage())


def tick(chart: ChartWidget, rng: np.random.Generator, new_candle: bool = False, move: float = 0.1) -> None:
    s = chart.series
    ts, o, h, lo, c, v = s.last() or (0, 0.0, 0.0, 0.0, 0.0, 0.0)
    if new_candle:
        ts, o, h, lo, v = ts + HOUR, c, c, c, 0.0
    c = c + float(rng.normal(0.0, move))
    s.upsert(int(ts), o, max(h, c), min(lo, c), c, v + 0.05)
    chart.live_update()


def channels(pixels: np.ndarray) -> np.ndarray:
    return np.stack([(pixels >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1).astype(np.int16)


def in_widget(chart: ChartWidget, scene: QRectF) -> QRect:
    view = chart.glw
    return QRect(
        view.viewport().mapTo(chart, view.mapFromScene(scene.topLeft())),
        view.viewport().mapTo(chart, view.mapFromScene(scene.bottomRight())),
    )


def plots_left_of_the_joint(
    chart: ChartWidget, shape: tuple[int, ...], reach: int = JOINT_PX
) -> tuple[np.ndarray, int]:
    """The plots' pixels (not the axes') left of where the lines' last segments join the
    rest, less ``reach`` pixels (see ``assert_same_picture``), and that x."""
    n, last = len(chart.series), float(chart.series.close[-1])
    joint_x = min(widget_point(chart, n - 3, last).x(), widget_point(chart, n - 2, last).x()) - reach
    inside = np.zeros(shape, dtype=bool)
    for layer in layers(chart):
        area = in_widget(chart, layer.mapRectToScene(layer.boundingRect()))
        right = min(joint_x, area.right() - EDGE_PX)
        inside[area.top() + EDGE_PX : area.bottom() - EDGE_PX, area.left() + EDGE_PX : right] = True
    return inside, joint_x


def assert_same_picture(chart: ChartWidget) -> np.ndarray:
    """The plots as drawn from the picture equal them drawn in full, up to the middle of the
    candle two before the live one: from there on each line's last segment, drawn on its
    own, meets the rest, and antialiasing blends the pixels around the joint a little
    differently; and a pixel may round a few steps apart (of 255) where a line leaves a
    plot. Returns the picture as drawn from the copy."""
    layered = settled(chart)
    copies = sum(layer.copies for layer in layers(chart))
    with drawn_in_full(chart):
        full = image_array(chart.grab().toImage())
    assert sum(layer.copies for layer in layers(chart)) == copies  # nothing came from a copy
    gap = np.abs(channels(layered) - channels(full)).max(axis=-1)
    inside, joint_x = plots_left_of_the_joint(chart, gap.shape)
    wrong = inside & (gap > ROUNDING)
    assert inside.sum() > 250_000 and wrong.sum() == 0, (
        f"{wrong.sum()} pixels left of x = {joint_x} differ from the chart drawn in full, "
        f"first (y, x): {np.argwhere(wrong)[:5].tolist()}"
    )
    return layered


def test_ticks_are_drawn_from_the_picture_and_look_as_drawn_in_full(qtbot: QtBot) -> None:
    chart = chart_with_indicators(qtbot)
    rng = np.random.default_rng(3)
    settled(chart)
    shown = layers(chart)
    assert len(shown) == 4  # price, volume and the two panes (RSI, MACD)
    renders = [layer.renders for layer in shown]
    copies = [layer.copies for layer in shown]
    for _ in range(10):
        tick(chart, rng)
        chart.grab()
    assert [layer.renders for layer in shown] == renders  # no picture made again for a tick
    assert all(now >= before + 10 for now, before in zip((x.copies for x in shown), copies, strict=True))
    assert_same_picture(chart)


def test_a_new_candle_and_its_indicator_values_reach_the_picture(qtbot: QtBot) -> None:
    chart = chart_with_indicators(qtbot)
    rng = np.random.default_rng(4)
    settled(chart)
    renders = [layer.renders for layer in layers(chart)]
    for _ in range(3):
        tick(chart, rng, new_candle=True)
        for _ in range(3):
            tick(chart, rng)
        picture = assert_same_picture(chart)
        # the candle that was live, closed: in the picture, in its colour, at its prices
        o, c = float(chart.series.open[-2]), float(chart.series.close[-2])
        top, bottom = (widget_point(chart, len(chart.series) - 2, price) for price in (max(o, c), min(o, c)))
        column = picture[top.y() : bottom.y() + 1, top.x()]
        assert (column == rgb(DARK.up if c >= o else DARK.down)).any()
    assert all(now > before for now, before in zip((x.renders for x in layers(chart)), renders, strict=True))


def test_an_indicator_that_revises_older_values_shows_the_revision(qtbot: QtBot) -> None:
    """A live update that rewrites more than the last value (a user's indicator may) is no
    tick: the picture is made again, though the view stayed where it was."""
    chart = chart_with_indicators(qtbot)
    settled(chart)
    study = chart.studies.studies[0]  # SMA 20, over the price
    values = study.graphic.outputs[0].values.copy()
    renders = layers(chart)[0].renders
    values[-6:-1] += 3.0  # five values before the live one, well off the line they were
    study.graphic.live_values([values], len(values) - 6)
    assert_same_picture(chart)
    assert layers(chart)[0].renders == renders + 1


@pytest.mark.parametrize("view", ["panned", "zoomed far out", "log scale", "line", "heikin_ashi"])
def test_after_a_change_of_view_or_style_ticks_still_look_as_drawn_in_full(qtbot: QtBot, view: str) -> None:
    chart = chart_with_indicators(qtbot)
    rng = np.random.default_rng(5)
    settled(chart)
    if view == "panned":
        chart.pan(-3)  # the live candle stays in view
    elif view == "zoomed far out":
        chart.zoom(20.0)  # hundreds of candles a pixel or so wide: merged per pixel column
    elif view == "log scale":
        chart.set_log_scale(True)
    else:
        chart.set_style(view)
    for _ in range(5):
        tick(chart, rng)
        chart.grab()
    assert chart.candles.merged == (view == "zoomed far out")
    assert_same_picture(chart)


def test_a_theme_change_repaints_the_picture(qtbot: QtBot) -> None:
    chart = chart_with_indicators(qtbot)
    settled(chart)
    light = dataclasses.replace(DARK, background="#fafafa", grid="#e0e0e0")
    chart.apply_theme(light)
    layered = settled(chart)
    corner = layered[5, 5]  # the glw's background, outside any plot
    assert corner == int(light.color("background").rgb()) & 0xFFFFFF
    assert_same_picture(chart)


def on_screen(chart: ChartWidget) -> np.ndarray:
    """What the window shows: the offscreen screen's copy of its backing store, painted
    region by region as the event loop went (a grab would paint it all afresh)."""
    screen = QApplication.primaryScreen()
    return image_array(screen.grabWindow(chart.winId()).toImage())


@pytest.mark.parametrize("indicators", [INDICATORS, ()], ids=["indicators", "bare"])
def test_ticks_painted_by_the_event_loop_leave_the_chart_as_drawn_in_full(
    qtbot: QtBot, indicators: tuple[str, ...]
) -> None:
    """A tick asks the view to repaint only the newest candle's strip (and each line's last
    segment): what the window shows after ticks and new candles must be the whole chart."""
    chart = chart_with_indicators(qtbot, indicators=indicators)
    rng = np.random.default_rng(6)
    qtbot.wait(50)
    for n in range(24):
        # the last ticks: one candle, growing well past the last price's line (which repaints a
        # band across the chart)
        tick(chart, rng, new_candle=n % 12 == 3, move=0.6)
        qtbot.wait(5)  # the view paints what the tick asked for
    qtbot.wait(50)
    shown = on_screen(chart)
    whole = settled(chart)  # the same drawing (from the picture), every pixel painted afresh
    gap = np.abs(channels(shown) - channels(whole)).max(axis=-1)
    inside, _ = plots_left_of_the_joint(chart, gap.shape, JOINT_PX - 10_000)  # the live end too
    wrong = inside & (gap > 0)
    assert wrong.sum() == 0, (
        f"{wrong.sum()} pixels on screen differ, first (y, x): {np.argwhere(wrong)[:5].tolist()}"
    )
