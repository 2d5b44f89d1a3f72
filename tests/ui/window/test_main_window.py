"""The main window on a live simulated market: what the user sees and does."""

from __future__ import annotations

import asyncio

import numpy as np
import pyqtgraph as pg
import pytest
import qasync
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from terminal.config import DEFAULT_WATCHLIST
from terminal.market.health import FeedState
from terminal.market.session import Topic
from terminal.paths import AppPaths
from terminal.ui.chart.chart_widget import RIGHT_MARGIN_CANDLES
from terminal.ui.market.bridge import FRAME_MS, FrameBridge
from terminal.ui.theme import DARK, LIGHT
from tests.ui.harness import Launch, columns_with, price_pane, read_toml, rgb

# -- the first look ---------------------------------------------------------------


async def test_opening_the_window_draws_up_and_down_candles(launch: Launch) -> None:
    async with launch() as t:
        assert t.chart.candles.drawn > 0
        assert t.chart.symbol == "BTC/USDT"
        pane = price_pane(t.chart)
        # Dozens of green and red candles across the plot, on the theme's background.
        assert columns_with(pane, DARK.up) > 50
        assert columns_with(pane, DARK.down) > 50
        assert (pane == rgb(DARK.background)).mean() > 0.5
        assert "BTC/USDT" in t.chart.readout.text()
        assert t.window.windowTitle().startswith("BTC/USDT ")
        await t.until(lambda: "live" in t.window.status.state.text(), "the status bar to say live")


async def test_hovering_a_candle_shows_its_prices_in_the_readout(launch: Launch) -> None:
    async with launch() as t:
        chart = t.chart
        latest = chart.readout_text(len(chart.series) - 1)
        view = chart.glw.viewport()
        t.hover(view, QPoint(view.width() // 3, view.height() // 3))
        await t.until(chart.vline.isVisible, "the crosshair to appear")

        # The vertical line sits on the middle of the hovered candle; the readout names that candle.
        slot_ms = chart.series.timeframe_ms
        hovered = int(np.searchsorted(chart.series.ts, chart.vline.value() * 1000 - slot_ms / 2))
        assert chart.series.ts[hovered] == chart.vline.value() * 1000 - slot_ms / 2
        assert hovered < len(chart.series) - 20  # a third of the way in: well before the live candle
        shown = chart.readout_text(hovered).split("   ")
        text = chart.readout.text()
        assert all(part in text for part in shown[:5])  # symbol and time, open, high, low
        assert latest.split("   ")[0] not in text


async def test_the_crosshair_shows_its_price_and_time_on_the_axes(launch: Launch) -> None:
    async with launch() as t:
        chart = t.chart
        view = chart.glw.viewport()
        assert not chart.price_tag.isVisible() and not chart.time_tag.isVisible()
        t.hover(view, QPoint(view.width() // 3, view.height() // 4))  # on the price pane
        await t.until(lambda: chart.price_tag.isVisible() and chart.time_tag.isVisible(), "the axis tags")
        # the price tag says the price at the cursor's height, and sits there on the price axis
        price = chart.hline.value()
        assert chart.price_tag.text == f"{price:,.{chart.decimals}f}"
        tag_y = chart.price_tag.mapToScene(chart.price_tag.boundingRect().center()).y()
        line_y = chart.price_plot.getViewBox().mapViewToScene(QPointF(chart.vline.value(), price)).y()
        assert abs(tag_y - line_y) < 1.0
        # the time tag says the hovered candle's open time, under the vertical line
        hovered = int(
            np.searchsorted(chart.series.ts, chart.vline.value() * 1000 - chart.series.timeframe_ms / 2)
        )
        assert chart.time_tag.text == chart.time_text(hovered)
        assert chart.readout_text(hovered).split("   ")[0].split("  ")[1] in chart.time_tag.text
        tag_x = chart.time_tag.mapToScene(chart.time_tag.boundingRect().center()).x()
        line_x = chart.price_plot.getViewBox().mapViewToScene(QPointF(chart.vline.value(), price)).x()
        assert abs(tag_x - line_x) < 1.0
        # drawn: the tag's fill on the price axis at the cursor's height (left of its text)
        box = chart.price_tag.boundingRect()
        edge = chart.price_tag.mapToScene(QPointF(box.left() + 2, box.center().y()))
        at = chart.glw.mapFromScene(edge)
        image = chart.glw.viewport().grab().toImage()
        assert image.pixelColor(at.x(), at.y()).name() == pg.mkColor(t.window.theme.crosshair).name()

        # over the volume pane: no price there, the time still shown
        t.hover(view, QPoint(view.width() // 3, view.height() - 30))
        await t.until(lambda: not chart.price_tag.isVisible(), "the price tag to go")
        assert chart.time_tag.isVisible()


async def test_a_daily_chart_of_a_short_history_fills_the_view_from_its_first_candle(launch: Launch) -> None:
    async with launch() as t:
        chart = t.chart
        t.window.set_timeframe("1d")
        await t.until(lambda: chart.series.timeframe_ms == 86_400_000, "the chart in 1d")
        count = len(chart.series)
        assert 10 < count < chart.initial_candles  # the simulated market's month of history
        first, last = chart.visible_indices()
        assert (first, last) == (0, count)  # every candle in view
        x0, x1 = chart.x_range()
        slot = chart.series.timeframe_ms / 1000
        assert chart.series.ts[0] / 1000 - x0 <= 1.5 * slot  # not centred in empty slots
        assert x1 - chart.series.ts[-1] / 1000 <= (RIGHT_MARGIN_CANDLES + 1.5) * slot


async def test_order_book_and_trade_tape_follow_the_market(launch: Launch) -> None:
    async with launch() as t:
        ladder, tape = t.window.book_view.canvas, t.window.tape_view
        book_paints, tape_paints = ladder.paints, tape.paints
        first_ladder, first_trades = ladder.ladder(), tape.visible_rows()

        await t.until(
            lambda: (
                ladder.ladder() != first_ladder
                and tape.visible_rows() != first_trades
                and ladder.paints >= book_paints + 3
                and tape.paints > tape_paints
                and len(tape.visible_rows()) > 3
            ),
            "the ladder and the tape to show new levels and several trades",
        )

        asks, bids = ladder.ladder()
        assert len(asks) == len(bids) == ladder.rows_per_side() > 5  # the ladder is full
        assert bids[0].price < asks[0].price
        assert [r.price for r in asks] == sorted(r.price for r in asks)
        assert [r.price for r in bids] == sorted((r.price for r in bids), reverse=True)
        mid, spread = ladder.spread_text()
        assert float(mid.replace(",", "")) == pytest.approx((bids[0].price + asks[0].price) / 2, abs=0.1)
        assert spread.startswith("spread ")

        trades = tape.visible_rows()
        times = [row[0] for row in trades]
        assert times == sorted(times, reverse=True)  # newest on top
        for _, price, _, _ in trades:
            assert float(price.replace(",", "")) == pytest.approx(bids[0].price, rel=0.01)


async def test_the_levels_control_shows_that_many_levels_a_side_next_to_the_spread(launch: Launch) -> None:
    async with launch() as t:
        view = t.window.book_view
        ladder = view.canvas
        await t.until(lambda: len(ladder.ladder()[0]) == ladder.rows_per_side() > 5, "a full ladder")
        view.set_levels(5)
        assert view.levels.currentText() == "5"
        asks, bids = ladder.ladder()
        assert len(asks) == len(bids) == 5
        ladder.repaint()  # drawn next to the spread: the rows nearest it hold the best prices
        clickable = sorted(price for _rect, price in ladder._rows)
        assert clickable == sorted([r.price for r in asks] + [r.price for r in bids])
        view.set_levels(None)  # Fit: as many as the panel holds
        assert view.levels.currentText() == "Fit" and len(ladder.ladder()[0]) == ladder.rows_per_side()


# -- choosing what to look at -------------------------------------------------------


async def test_clicking_a_watchlist_row_opens_that_symbol_everywhere(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        view, model = t.window.watchlist, t.window.watchlist_model
        await t.until(lambda: model.rowCount() == len(DEFAULT_WATCHLIST), "the watchlist to fill")
        row = model.symbols.index("SOL/USDT")
        btc_price = t.session.book.mid
        assert btc_price is not None

        centre = view.visualRect(model.index(row, 0)).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        await t.until(
            lambda: (
                t.chart.symbol == "SOL/USDT"
                and t.session.book.mid is not None
                and len(t.session.tape) > 0
                and t.window.book_view.canvas.ladder()[1]
            ),
            "the chart, book and tape to show SOL/USDT",
        )

        assert t.session.symbol == "SOL/USDT"
        assert "SOL/USDT" in t.chart.readout.text()
        assert "SOL/USDT" in t.window.windowTitle()
        sol_close = float(t.chart.series.close[-1])
        assert sol_close < btc_price / 50  # the chart shows SOL prices, not BTC ones
        asks, bids = t.window.book_view.canvas.ladder()
        for level in [*asks, *bids]:
            assert level.price == pytest.approx(sol_close, rel=0.02)
        for _, price, _, _ in t.window.tape_view.visible_rows():
            assert float(price.replace(",", "")) == pytest.approx(sol_close, rel=0.02)
        bold = model.data(model.index(row, 0), Qt.ItemDataRole.FontRole)
        assert bold is not None and bold.bold()  # the open symbol stands out in the list
        assert "SOL/USDT" in t.window.symbol_action.text()  # the toolbar's symbol button
        assert t.window.requested_market() == ("SOL/USDT", "1m")  # what closing remembers


async def test_a_second_click_while_the_first_symbol_loads_wins(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        view, model = t.window.watchlist, t.window.watchlist_model
        await t.until(lambda: model.rowCount() == len(DEFAULT_WATCHLIST), "the watchlist to fill")
        for symbol in ("SOL/USDT", "XRP/USDT"):
            centre = view.visualRect(model.index(model.symbols.index(symbol), 0)).center()
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
            await asyncio.sleep(0.01)
        await t.until(
            lambda: t.chart.symbol == "XRP/USDT" and t.session.book.mid is not None,
            "the chart and book to show XRP/USDT",
        )
        # Every book the session shows from now on, until five more have come: a late
        # SOL/USDT load or update would be among them.
        books: list[tuple[str, float | None]] = []

        def on_topic(topic: Topic) -> None:
            if topic & Topic.BOOK:
                books.append((t.session.symbol, t.session.book.mid))

        t.session.subscribe(on_topic)
        await t.until(lambda: len(books) >= 5, "five more books of XRP/USDT")
        assert {symbol for symbol, _ in books} == {"XRP/USDT"}
        close = float(t.chart.series.close[-1])
        assert all(mid == pytest.approx(close, rel=0.02) for _, mid in books), (books, close)
        assert t.session.symbol == t.chart.symbol == "XRP/USDT"
        assert t.session.book.mid == pytest.approx(float(t.chart.series.close[-1]), rel=0.02)
        assert t.session.health.state is FeedState.LIVE  # the abandoned SOL/USDT load left no error


# -- theme ------------------------------------------------------------------------------


async def test_theme_toggle_turns_the_chart_light_and_is_remembered(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    async with launch() as t:
        assert (price_pane(t.chart) == rgb(DARK.background)).mean() > 0.5
        await t.activate()
        ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        qtbot.keyClick(t.focus(), Qt.Key.Key_T, ctrl_shift)
        pane = price_pane(t.chart)
        assert (pane == rgb(LIGHT.background)).mean() > 0.5
        assert columns_with(pane, LIGHT.up) > 50 and columns_with(pane, LIGHT.down) > 50
    assert read_toml(app_paths.config_file)["theme"] == "light"

    async with launch() as t:  # the next start opens in the light theme
        assert t.window.theme is LIGHT
        assert (price_pane(t.chart) == rgb(LIGHT.background)).mean() > 0.5


# -- a broken config file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        ('theme = "dark"\n[market\nsymbol = "ETH/USDT"\n', "is not valid TOML"),
        ('theme = "dark"\n[market]\ntimeframe = "7m"\n', "market.timeframe"),
    ],
    ids=["bad-toml", "bad-value"],
)
async def test_broken_config_shows_a_notice_starts_on_defaults_and_keeps_the_file(
    launch: Launch, app_paths: AppPaths, broken: str, complaint: str
) -> None:
    app_paths.config_file.write_text(broken, encoding="utf-8")
    original = app_paths.config_file.read_bytes()

    async with launch() as t:
        notice = t.window.notice
        assert notice.isVisible()
        message = notice.label.text()
        assert str(app_paths.config_file) in message
        assert complaint in message
        # The market still runs, on the default symbol and timeframe.
        assert t.chart.symbol == "BTC/USDT" and t.session.timeframe == "1m"
        assert t.chart.candles.drawn > 0
        # A change that would normally be saved on close.
        t.window.toggle_theme()
    assert app_paths.config_file.read_bytes() == original


async def test_notice_can_be_dismissed(launch: Launch, app_paths: AppPaths, qtbot: QtBot) -> None:
    app_paths.config_file.write_text("theme = 'sepia'\n", encoding="utf-8")
    async with launch() as t:
        notice = t.window.notice
        assert notice.isVisible()
        (button,) = notice.findChildren(QToolButton)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not notice.isVisible()
        await t.until(lambda: t.chart.geometry().top() == 0, "the chart to take the notice's space")


# -- repaint rate --------------------------------------------------------------------------


async def test_a_burst_of_notifications_becomes_two_frames(qt_loop: qasync.QEventLoop) -> None:
    bridge = FrameBridge()
    emitted: list[Topic] = []
    bridge.changed.connect(emitted.append)
    topics = [Topic.BOOK, Topic.TRADES, Topic.TICKERS, Topic.CANDLES_LIVE]
    for i in range(5000):
        bridge.notify(topics[i % len(topics)])
    assert emitted == [Topic.BOOK], "the first one at once, the rest wait for the frame's end"
    deadline = asyncio.get_running_loop().time() + 5
    while bridge.frames < 2 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)
    assert bridge.frames == 2
    assert emitted == [Topic.BOOK, Topic.BOOK | Topic.TRADES | Topic.TICKERS | Topic.CANDLES_LIVE]


@pytest.mark.serial  # a flood that must outrun the frame rate: alone, not beside another worker
@pytest.mark.alone
async def test_widgets_repaint_at_most_at_frame_rate_under_a_message_flood(launch: Launch) -> None:
    async with launch() as t:
        loop = asyncio.get_running_loop()
        bridge, ladder = t.window.bridge, t.window.book_view.canvas
        frames, paints = bridge.frames, ladder.paints
        notifications = 0
        start = loop.time()
        # Book updates arriving faster than the screen refreshes, with the
        # event loop free to paint between them, as with a busy exchange.
        while loop.time() - start < 0.5:
            for _ in range(20):
                bridge.notify(Topic.BOOK)
            notifications += 20
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)  # the last frame
        elapsed = loop.time() - start
        at_frame_rate = elapsed * 1000 / FRAME_MS + 3
        assert bridge.frames - frames <= at_frame_rate
        assert ladder.paints - paints <= at_frame_rate
        assert ladder.paints > paints  # it did repaint
        assert notifications > 10 * at_frame_rate  # the flood really outran the frame rate
