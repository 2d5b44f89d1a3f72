"""The chart's styles (candles, line, area, Heikin-Ashi) and its log scale, as the
user sees them: what is drawn and where, what the readout, the axis and the
crosshair say, and that everything on the price pane moves to the log scale with
the candles while the panes below stay linear."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from terminal.analysis.setup import IndicatorConfig
from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.marketdata.heikin_ashi import heikin_ashi
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.items import CandlestickItem, CloseAreaItem, CloseLineItem
from terminal.ui.chart.order_lines import OrderLine
from terminal.ui.chart.price_scale import MAJOR_PX, log_tick_strings, log_ticks
from terminal.ui.theme import DARK
from tests.ui.harness import columns_with, image_array, price_pane, rgb

HOUR = 3_600_000
T0 = 1_700_000_000_000
OVERLAY = "#ff00ff"


def candles_of(close: np.ndarray) -> OHLCV:
    """Hourly candles closing at ``close``, each opening at the previous close (1% wicks)."""
    open_ = np.r_[close[0], close[:-1]]
    n = len(close)
    return OHLCV(
        T0 + np.arange(n, dtype=np.int64) * HOUR,
        open_,
        np.maximum(open_, close) * 1.01,
        np.minimum(open_, close) * 0.99,
        close.astype(np.float64),
        np.full(n, 10.0) + np.arange(n) % 7,
    )


def wavy(n: int = 240) -> np.ndarray:
    return 100.0 + 10.0 * np.sin(np.arange(n) / 12.0) + np.arange(n) * 0.05


def doubling(n: int = 240, every: int = 60) -> np.ndarray:
    """A price that doubles every ``every`` candles: 100, 200 at 60, 400 at 120..."""
    return 100.0 * 2.0 ** (np.arange(n) / every)


def chart_with(qtbot: QtBot, close: np.ndarray) -> ChartWidget:
    chart = ChartWidget(DARK, visible_candles=len(close) + 8)
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    qtbot.waitExposed(chart)
    series = CandleSeries(HOUR)
    series.replace(candles_of(close))
    chart.set_series(series, "BTC/USDT", 2)
    qtbot.waitUntil(lambda: chart.candles.drawn > 0)  # laid out and painted
    return chart


def widget_point(chart: ChartWidget, i: int, price: float) -> QPoint:
    """Where candle ``i``'s middle at ``price`` is on the chart widget, in pixels."""
    x = chart.series.ts[i] / 1000.0 + chart.series.timeframe_ms / 2000.0
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(x, chart.price_scale.to_y(price)))
    return chart.glw.viewport().mapTo(chart, chart.glw.mapFromScene(scene))


def near(pixels: np.ndarray, color: str, tolerance: int = 60) -> np.ndarray:
    """Pixels within ``tolerance`` of ``color`` in every channel."""
    want = rgb(color)
    close = np.ones(pixels.shape, dtype=bool)
    for shift in (16, 8, 0):
        got = (pixels >> shift) & 0xFF
        close &= np.abs(got.astype(int) - ((want >> shift) & 0xFF)) <= tolerance
    return close


def tinted(pixels: np.ndarray, color: str, least: float = 0.3) -> np.ndarray:
    """Pixels of ``color`` laid at least ``least`` opaque over the background: a thin
    antialiased line covers its pixels only in part."""

    def channels(values: np.ndarray) -> np.ndarray:
        return np.stack([(values >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1).astype(float)

    got, back = channels(pixels), channels(np.array(rgb(DARK.background)))
    towards = channels(np.array(rgb(color))) - back
    alpha = ((got - back) @ towards) / (towards @ towards)
    off = np.abs(got - (back + alpha[..., None] * towards)).max(axis=-1)
    return (alpha >= least) & (off <= 30)


def rows_of(pixels: np.ndarray, color: str, column: int) -> np.ndarray:
    return np.flatnonzero(tinted(pixels[:, column], color))


def drawn_row(chart: ChartWidget, color: str, i: int, price: float, reach: int = 40) -> float:
    """The middle row of ``color`` in candle ``i``'s column, looked for around ``price``'s row."""
    at = widget_point(chart, i, price)
    pixels = image_array(chart.grab().toImage())
    rows = rows_of(pixels, color, at.x())
    rows = rows[np.abs(rows - at.y()) <= reach]
    assert len(rows), f"no {color} in candle {i}'s column near its price"
    return float(rows.mean())


def y_range(chart: ChartWidget) -> tuple[float, float]:
    _, (lo, hi) = chart.price_plot.getViewBox().viewRange()
    return float(lo), float(hi)


# -- styles ------------------------------------------------------------------------------
def test_each_style_draws_the_price_its_own_way(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, wavy())
    up, down, accent = DARK.up, DARK.down, DARK.accent
    assert chart.chart_style == "candles" and isinstance(chart.candles, CandlestickItem)
    candles = price_pane(chart)
    assert columns_with(candles, up) > 100 and columns_with(candles, down) > 100

    chart.set_style("line")
    assert chart.chart_style == "line" and isinstance(chart.candles, CloseLineItem)
    line = price_pane(chart)
    assert columns_with(line, up) == columns_with(line, down) == 0  # no candle is left
    assert tinted(line, accent).any(axis=0).sum() > 600  # one line across the pane

    chart.set_style("area")
    assert isinstance(chart.candles, CloseAreaItem)
    pixels = image_array(chart.grab().toImage())
    i = 130
    at = widget_point(chart, i, float(chart.series.close[i]))
    pane_bottom = widget_point(chart, i, chart.price_scale.to_price(y_range(chart)[0])).y()
    column = pixels[:, at.x()]
    below = column[at.y() + 6 : pane_bottom - 2]
    above = column[at.y() - 60 : at.y() - 6]
    background = rgb(DARK.background)
    assert (below != background).mean() > 0.9  # filled down to the bottom of the view
    assert (above == background).mean() > 0.8  # and nothing above the line (but the grid)
    assert chart.candles.boundingRect().top() <= y_range(chart)[0]  # Qt repaints all it fills

    chart.set_style("heikin_ashi")
    assert isinstance(chart.candles, CandlestickItem)
    ha = price_pane(chart)
    assert columns_with(ha, up) > 100 and columns_with(ha, down) > 100

    with pytest.raises(ValueError, match="unknown chart style"):
        chart.set_style("renko")
    assert chart.chart_style == "heikin_ashi"


def test_heikin_ashi_candles_with_the_real_prices_in_the_readout_and_the_last_line(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, wavy())
    s = chart.series
    chart.set_style("heikin_ashi")
    want = heikin_ashi(s.open, s.high, s.low, s.close)
    drawn = chart.candles.series
    for got, expected in zip((drawn.open, drawn.high, drawn.low, drawn.close), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_array_equal(drawn.ts, s.ts)

    last = len(s) - 1
    text = chart.readout_text(last)
    assert text.split("   ")[0].endswith("HA")  # says the candles are Heikin-Ashi...
    assert f"O {s.open[last]:,.2f}" in text and f"C {s.close[last]:,.2f}" in text  # ...and the real prices
    assert f"H {s.high[last]:,.2f}" in text and f"L {s.low[last]:,.2f}" in text
    assert "HA" in chart.readout.text()
    assert chart.last_line.value() == pytest.approx(s.close[last])
    assert chart.last_line.label.toPlainText() == f"{s.close[last]:,.2f}"

    # the price axis fits the Heikin-Ashi candles drawn, with the usual 6% margins
    i0, i1 = chart.visible_indices()
    lo, hi = float(drawn.low[i0:i1].min()), float(drawn.high[i0:i1].max())
    pad = (hi - lo) * 0.06
    assert y_range(chart) == pytest.approx((lo - pad, hi + pad))

    chart.set_style("candles")
    assert "HA" not in chart.readout_text(last)
    assert chart.candles.series is s


def test_live_ticks_keep_the_heikin_ashi_candles_equal_to_a_full_recompute(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, wavy())
    chart.set_style("heikin_ashi")
    s = chart.series
    rng = np.random.default_rng(4)
    for step in range(30):
        ts, o, h, l, c, v = s.last()  # type: ignore[misc]
        price = c + float(rng.normal(0, 0.5))
        if step % 5 == 4:
            s.upsert(ts + HOUR, c, max(c, price), min(c, price), price, 1.0)  # a new candle opens
        else:
            s.upsert(ts, o, max(h, price), min(l, price), price, v + 1)
        chart.live_update()
        want = heikin_ashi(s.open, s.high, s.low, s.close)
        drawn = chart.candles.series
        assert len(drawn) == len(s)
        for got, expected in zip((drawn.open, drawn.high, drawn.low, drawn.close), want, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert chart.last_line.value() == pytest.approx(price)  # the real last price
    chart.grab()
    assert chart.candles.drawn > 0


def test_the_line_and_the_area_fit_the_axis_to_the_closes(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, wavy())
    i0, i1 = chart.visible_indices()
    close = chart.series.close[i0:i1]
    for style in ("line", "area"):
        chart.set_style(style)
        lo, hi = float(close.min()), float(close.max())
        pad = (hi - lo) * 0.06
        assert y_range(chart) == pytest.approx((lo - pad, hi + pad))  # not the wicks': they are not drawn


def test_switching_style_keeps_the_view_and_the_first_paint_callback(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, wavy())
    chart.pan(-40)
    view = chart.x_range()
    painted: list[bool] = []
    chart.candles.on_painted = lambda: painted.append(True)
    chart.set_style("area")
    assert chart.x_range() == view
    chart.grab()
    assert painted == [True]  # the window's "first candles painted" still comes
    assert len(chart.price_plot.items) == len(set(map(id, chart.price_plot.items)))
    assert sum(isinstance(item, CandlestickItem | CloseLineItem) for item in chart.price_plot.items) == 1


# -- log scale -----------------------------------------------------------------------------
def test_on_a_log_scale_equal_ratios_are_equal_heights(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, doubling())
    chart.set_style("line")
    accent = DARK.accent
    # linear: the doubling from 100 to 200 is a third of the height of 200 to 400
    linear = [drawn_row(chart, accent, i, float(chart.series.close[i])) for i in (0, 60, 120)]
    assert (linear[0] - linear[1]) < 0.6 * (linear[1] - linear[2])

    chart.set_log_scale(True)
    assert chart.log_scale
    rows = [drawn_row(chart, accent, i, float(chart.series.close[i])) for i in (0, 60, 120, 180)]
    steps = np.diff(rows)
    assert np.all(steps < -40) and np.ptp(steps) <= 3  # a straight line: each doubling as tall
    for i in (30, 90, 150, 210):  # and every close where the scale puts it
        assert abs(drawn_row(chart, accent, i, float(chart.series.close[i])) - widget_point(
            chart, i, float(chart.series.close[i])).y()) <= 2  # fmt: skip

    # the axis says prices, round ones, in view, and labels them no closer than MAJOR_PX
    lo, hi = (10.0**y for y in y_range(chart))
    assert lo < float(chart.series.close.min()) and hi > float(chart.series.close.max())
    spacing, ticks = chart.price_axis.recorded[0]
    prices = [10.0**t for t in ticks]
    assert len(prices) >= 4 and all(lo <= p <= hi for p in prices)
    assert all(float(f"{p:.2g}") == pytest.approx(p) for p in prices)
    pixels_apart = np.diff([widget_point(chart, 0, p).y() for p in sorted(prices)])
    assert np.all(np.abs(pixels_apart) >= MAJOR_PX - 1)
    assert spacing > 0

    chart.set_log_scale(False)
    i0, i1 = chart.visible_indices()
    close = chart.series.close[i0:i1]
    pad = (float(close.max()) - float(close.min())) * 0.06
    assert y_range(chart) == pytest.approx((float(close.min()) - pad, float(close.max()) + pad))


def test_on_a_log_scale_the_crosshair_readout_and_ctrl_click_say_prices(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, doubling())
    chart.set_log_scale(True)
    view = chart.glw.viewport()
    at = QPoint(int(view.width() * 0.5), int(view.height() * 0.3))
    qtbot.mouseMove(view, at)
    qtbot.waitUntil(chart.price_tag.isVisible)
    y = chart.price_plot.getViewBox().mapSceneToView(chart.glw.mapToScene(at)).y()
    price = 10.0**y
    assert 100 < price < 2000  # a price of the chart, not its logarithm
    assert chart.price_tag.text == f"{price:,.2f}"
    assert f"@ {price:,.2f}" in chart.readout.text().replace("&nbsp;", " ")
    assert chart.hline.value() == pytest.approx(y)  # the line is where the cursor is

    clicked: list[float] = []
    chart.price_clicked.connect(clicked.append)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, at)
    assert clicked == [pytest.approx(price, rel=1e-9)]


def test_on_a_log_scale_orders_trades_overlays_and_the_last_price_move_with_the_candles(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, doubling())
    s = chart.series
    chart.set_style("line")
    chart.order_lines.set_lines([OrderLine(price=300.0, buy=True, label="BUY 1 @ 300")])
    i_in, i_out = 70, 150
    chart.trade_marks.set_trades(
        s.ts[[i_in]], np.array([float(s.close[i_in])]), s.ts[[i_out]], np.array([float(s.close[i_out])]),
        np.array([1], dtype=np.int8), np.array([1.0]), HOUR,
    )  # fmt: skip
    chart.studies.add(IndicatorConfig("SMA", {"period": 10}, (OVERLAY,)))
    volume_range = chart.volume_plot.getViewBox().viewRange()[1]
    chart.set_log_scale(True)
    pixels = image_array(chart.grab().toImage())

    # the order line: a row of the buy colour across the pane where 300 is on the scale
    row = widget_point(chart, 100, 300.0).y()
    across = near(pixels, DARK.up, 30).sum(axis=1)
    assert across[row - 1 : row + 2].max() > 500

    # the trade's entry: its buy triangle points up at the entry price from just below it
    tip = widget_point(chart, i_in, float(s.close[i_in]))
    box = near(pixels[tip.y() : tip.y() + 12, tip.x() - 6 : tip.x() + 7], DARK.up, 30)
    assert box.sum() >= 15

    # the overlay: the SMA drawn at its values on the scale (not squashed at the bottom)
    sma = chart.studies.studies[0].live.line(0)
    for i in (60, 120, 200):
        assert abs(drawn_row(chart, OVERLAY, i, float(sma[i]), reach=10) - widget_point(
            chart, i, float(sma[i])).y()) <= 2  # fmt: skip

    # the last price: the line at its logarithm, its label the price itself
    assert chart.last_line.value() == pytest.approx(math.log10(s.close[-1]))
    assert chart.last_line.label.toPlainText() == f"{s.close[-1]:,.2f}"

    # the volume pane stays linear
    assert chart.volume_plot.getViewBox().viewRange()[1] == pytest.approx(volume_range)


# -- log ticks ------------------------------------------------------------------------------
def test_log_ticks_are_round_prices_one_two_five_a_decade_and_linear_like_within_one() -> None:
    over_decades = log_ticks(0.0, 3.0, 600)  # 1 to 1,000 on 600 pixels
    assert log_tick_strings(over_decades[0][1], 2) == [
        "1.00", "2.00", "5.00", "10.00", "20.00", "50.00", "100.00", "200.00", "500.00", "1,000.00",
    ]  # fmt: skip
    within = log_ticks(math.log10(60_000), math.log10(64_000), 600)
    prices = [round(10.0**v) for v in within[0][1]]
    assert prices == list(range(60_000, 64_001, 500))  # as a linear axis would, a decade's small part
    tiny = log_tick_strings(log_ticks(math.log10(0.0001), math.log10(0.01), 300)[0][1], 2)
    assert tiny == ["0.0001", "0.0010", "0.0100"]  # the decimals the prices need
    assert log_ticks(1.0, 1.0, 600) == [] and log_ticks(1.0, math.inf, 600) == []


def test_a_drawing_stays_on_its_price_on_the_log_scale(qtbot: QtBot) -> None:
    """A horizontal line drawn at 200 sits where the candles reach 200, linear or log,
    and a click there on the log scale reads 200 back."""
    from terminal.ui.chart.drawings.layer import DrawingLayer
    from terminal.ui.chart.drawings.model import Drawing, Kind, new_id

    chart = chart_with(qtbot, doubling())
    layer = DrawingLayer(chart, DARK)
    t = float(chart.series.ts[60]) / 1000.0  # the candle that closes at 200
    layer.add(Drawing(new_id(), Kind.HLINE, ((t, 200.0),)))
    vb = chart.price_plot.getViewBox()
    for log in (False, True):
        chart.set_log_scale(log)
        qtbot.wait(20)
        frame = layer.item.frame()
        assert frame is not None
        y = frame.px((t, 200.0)).y()
        want = vb.mapViewToScene(QPointF(t, math.log10(200.0) if log else 200.0)).y()
        assert abs(y - want) < 0.5
        assert frame.point(frame.px((t, 200.0)))[1] == pytest.approx(200.0, rel=1e-9)
