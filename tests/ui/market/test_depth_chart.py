"""The depth chart: cumulative bids left of the mid, asks right of it, from a real
OrderBook; never drawn from a book that is empty, crossed or not live; redrawn at
most ~10 times a second and only when on screen; a dock beside the ladder that
follows a market switch and joins a layout saved before it existed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow
from pytestqt.qtbot import QtBot

from terminal.marketdata.orderbook import OrderBook
from terminal.paths import AppPaths
from terminal.ui.market.depth_chart import (
    CROSSED,
    MAX_LEVELS,
    NOT_LIVE,
    ONE_SIDED,
    REFRESH_MS,
    WAITING,
    Depth,
    DepthCanvas,
    DepthChart,
    depth_of,
)
from terminal.ui.theme import DARK
from tests.ui.harness import Launch, image_array, rgb

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


def small_book() -> OrderBook:
    """Three bids, three asks; the furthest ask (104) lies beyond the furthest bid's distance."""
    book = OrderBook("BTC/USDT")
    book.replace([[100, 1], [99, 2], [98, 3]], [[101, 1.5], [102, 2.5], [104, 1]])
    return book


def chart_of(qtbot: QtBot, book: OrderBook) -> DepthChart:
    chart = DepthChart(book, DARK)
    qtbot.addWidget(chart)
    chart.set_market(book, tick=0.01, lot=0.0001, symbol="BTC/USDT")
    chart.resize(420, 320)
    chart.show()
    qtbot.waitUntil(lambda: chart.canvas.paints > 0)
    return chart


def painted(canvas: DepthCanvas) -> np.ndarray:
    return image_array(canvas.grab().toImage())


def x_of(canvas: DepthCanvas, price: float) -> float:
    drawn = canvas.drawn
    assert isinstance(drawn, Depth)
    plot = canvas._plot
    return plot.left() + (price - drawn.low) / (drawn.high - drawn.low) * plot.width()


# -- what is drawn ------------------------------------------------------------------------


def test_each_side_sums_its_levels_out_from_the_best_within_a_range_centred_on_the_mid() -> None:
    depth = depth_of(small_book())
    assert isinstance(depth, Depth)
    assert depth.mid == 100.5
    # As far as both sides hold levels: the bids reach 2.5 below the mid, so ±2.5 (98 to 103).
    assert (depth.low, depth.high) == (98.0, 103.0)
    assert depth.bids.price.tolist() == [100, 99, 98]
    assert depth.bids.cumulative.tolist() == [1, 3, 6]
    assert depth.bids.notional.tolist() == [100, 298, 592]
    assert not depth.bids.reaches_edge  # the book's bids end at the chart's edge
    assert depth.asks.price.tolist() == [101, 102]  # 104 lies beyond the range
    assert depth.asks.cumulative.tolist() == [1.5, 4.0]
    assert depth.asks.notional.tolist() == [151.5, 406.5]
    assert depth.asks.reaches_edge  # more asks beyond: the last step runs to the edge

    # At a price: every bid at or above it, every ask at or below it; nothing inside the spread.
    assert (depth.at(99.5).side, depth.at(99.5).cumulative, depth.at(99.5).notional) == ("bids", 1, 100)
    assert depth.at(98).cumulative == 6
    assert depth.at(100.3).cumulative == 0
    assert (depth.at(102.5).side, depth.at(102.5).cumulative, depth.at(102.5).notional) == ("asks", 4, 406.5)

    narrow = depth_of(small_book(), span=0.01)  # ±1% of 100.5
    assert isinstance(narrow, Depth)
    assert narrow.high - narrow.mid == pytest.approx(1.005)
    assert narrow.bids.price.tolist() == [100] and narrow.asks.price.tolist() == [101]


def test_a_deep_book_costs_no_more_than_the_levels_drawn() -> None:
    book = OrderBook("BTC/USDT")
    n = 20 * MAX_LEVELS
    book.replace([[100 - 0.01 * (i + 1), 1] for i in range(n)], [[100 + 0.01 * (i + 1), 1] for i in range(n)])
    depth = depth_of(book)
    assert isinstance(depth, Depth)
    assert len(depth.bids) == len(depth.asks) == MAX_LEVELS
    assert depth.bids.total == depth.asks.total == MAX_LEVELS


def test_an_empty_one_sided_or_crossed_book_is_not_drawn() -> None:
    book = OrderBook()
    assert depth_of(book) == WAITING
    book.replace([[100, 1]], [])
    assert depth_of(book) == ONE_SIDED
    book.replace([[101, 1]], [[100, 1]])
    assert depth_of(book) == CROSSED


# -- on screen --------------------------------------------------------------------------


def test_bids_fill_the_left_of_the_mid_in_the_up_colour_and_asks_the_right_in_the_down_colour(
    qtbot: QtBot,
) -> None:
    chart = chart_of(qtbot, small_book())
    canvas = chart.canvas
    pixels = painted(canvas)
    mid = round(x_of(canvas, 100.5))
    up_fill, down_fill = pixels == rgb(DARK.up_fill), pixels == rgb(DARK.down_fill)
    assert up_fill[:, :mid].sum() > 2000 and down_fill[:, mid:].sum() > 2000
    assert not up_fill[:, mid:].any() and not down_fill[:, :mid].any()
    assert (pixels[:, :mid] == rgb(DARK.up)).sum() > 100  # the bids' outline
    assert (pixels[:, mid:] == rgb(DARK.down)).sum() > 100  # the asks'

    # Heights follow the cumulative sizes: 3 bids down to 98.5, 1 down to 99.5, 4 asks up to 102.5.
    def height(mask: np.ndarray, price: float) -> float:
        return canvas._plot.bottom() - int(np.flatnonzero(mask[:, round(x_of(canvas, price))])[0])

    assert height(up_fill, 98.5) / height(down_fill, 102.5) == pytest.approx(3 / 4, rel=0.05)
    assert height(up_fill, 98.5) / height(up_fill, 99.5) == pytest.approx(3 / 1, rel=0.05)
    # Between the best levels and the mid nothing is drawn.
    assert not up_fill[:, round(x_of(canvas, 100.3))].any()


@pytest.mark.parametrize("state", ["crossed", "empty", "not live"])
def test_a_book_that_cannot_be_trusted_shows_a_note_and_no_area(qtbot: QtBot, state: str) -> None:
    book = small_book()
    chart = chart_of(qtbot, book)
    canvas = chart.canvas
    assert isinstance(canvas.drawn, Depth)
    before = canvas.paints
    if state == "crossed":
        book.replace([[101, 1]], [[100, 1]])
        chart.refresh()
    elif state == "empty":
        book.clear()
        chart.refresh()
    else:
        chart.set_stale("The order book is stale: not drawn.")
    qtbot.waitUntil(lambda: canvas.paints > before)
    note = {"crossed": CROSSED, "empty": WAITING, "not live": NOT_LIVE}[state]
    assert canvas.drawn == note
    pixels = painted(canvas)
    for colour in (DARK.up_fill, DARK.down_fill):
        assert not (pixels == rgb(colour)).any(), f"an area is drawn from a {state} book"
    plot = canvas._plot.toRect()
    band = pixels[plot.center().y() - 10 : plot.center().y() + 10, plot.left() : plot.right()]
    assert (band != rgb(DARK.background)).sum() > 20, "the note is not written"
    assert canvas.readout() == ""


def test_hovering_reads_out_that_sides_cumulative_size_and_notional_at_the_cursor(qtbot: QtBot) -> None:
    chart = chart_of(qtbot, small_book())
    canvas = chart.canvas
    assert canvas.readout().startswith("±2.49%")  # not hovering: each side's total in range
    for price, expected in (
        (99.5, "bids ≥ 99.50  1.0000 BTC  100.00 USDT"),
        (98.5, "bids ≥ 98.50  3.0000 BTC  298.00 USDT"),
        (102.5, "asks ≤ 102.50  4.0000 BTC  406.50 USDT"),
    ):
        position = QPointF(x_of(canvas, price), canvas.height() / 2)
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            position,
            QPointF(canvas.mapToGlobal(position)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(canvas, move)
        assert canvas.readout() == expected


# -- how often ----------------------------------------------------------------------------


def test_a_flood_of_book_changes_redraws_at_most_once_per_interval(qtbot: QtBot) -> None:
    chart = chart_of(qtbot, small_book())
    canvas = chart.canvas
    qtbot.waitUntil(lambda: canvas._throttle.idle)  # the start-up's paints are done
    before = canvas.paints
    started = time.monotonic()
    for _ in range(100):
        canvas.refresh()
    QApplication.processEvents()
    assert canvas.paints == before + 1, "the first change is drawn at once, the other 99 wait"
    qtbot.waitUntil(lambda: canvas.paints == before + 2)
    assert time.monotonic() - started >= REFRESH_MS / 1000 * 0.9, "redrawn before the interval ended"


def test_a_chart_tabbed_behind_another_dock_is_not_redrawn_until_it_is_shown(qtbot: QtBot) -> None:
    book = small_book()
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("chart"))
    chart = DepthChart(book, DARK)
    ladder, depth = QDockWidget("Order book", window), QDockWidget("Depth", window)
    ladder.setWidget(QLabel("ladder"))
    depth.setWidget(chart)
    window.addDockWidget(RIGHT, ladder)
    window.tabifyDockWidget(ladder, depth)
    ladder.raise_()
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    canvas = chart.canvas
    assert not canvas.on_screen()
    before = canvas.paints
    book.update("bids", 100, 5)
    chart.refresh()
    qtbot.waitUntil(lambda: canvas._throttle.idle)  # the throttle has passed the change on
    QApplication.processEvents()
    assert canvas.paints == before, "drawn while nobody could see it"

    depth.raise_()
    qtbot.waitUntil(lambda: canvas.paints > before)
    drawn = canvas.drawn
    assert isinstance(drawn, Depth) and drawn.bids.cumulative[0] == 5  # the book as it is now


# -- in the window ----------------------------------------------------------------------------


async def test_the_window_has_a_depth_dock_behind_the_ladder_that_follows_a_market_switch(
    launch: Launch,
) -> None:
    async with launch() as t:
        window = t.window
        depth, book = window.docks["depth"], window.docks["book"]
        assert window.dockWidgetArea(depth) == RIGHT
        assert depth in window.tabifiedDockWidgets(book)
        assert window.book_view.canvas.visibleRegion().boundingRect().height() > 0  # the ladder in front
        view = next(a for a in window.menuBar().actions() if a.text() == "&View")
        menu = view.menu()
        assert depth.toggleViewAction() in menu.actions()  # type: ignore[union-attr]

        canvas = window.depth_chart.canvas
        depth.raise_()

        def shows(session_book: OrderBook) -> bool:
            drawn, mid = canvas.drawn, session_book.mid
            return isinstance(drawn, Depth) and mid is not None and drawn.mid == pytest.approx(mid, rel=1e-3)

        await t.until(lambda: shows(t.session.book) and canvas.base == "BTC", "the BTC/USDT book's depth")
        btc = t.session.book.mid
        assert btc is not None

        await window.switch_market("simulated", "ETH/USDT")
        await t.until(
            lambda: (
                canvas.book is window.session.book
                and window.session.symbol == "ETH/USDT"
                and shows(window.session.book)
                and canvas.base == "ETH"
            ),
            "the depth chart on the new market's book",
        )
        drawn = canvas.drawn
        assert isinstance(drawn, Depth) and drawn.mid < btc / 5  # ETH prices, not BTC ones


async def test_a_layout_saved_before_the_depth_dock_existed_keeps_its_arrangement_and_gains_it(
    launch: Launch, app_paths: AppPaths
) -> None:
    async with launch() as t:
        window = t.window
        gone = window.docks.pop("depth")  # the window as it was before
        window.removeDockWidget(gone)
        window.addDockWidget(RIGHT, window.docks["watchlist"])  # dragged to the right edge
        await t.until(
            lambda: window.dockWidgetArea(window.docks["watchlist"]) == RIGHT, "the watchlist to move"
        )
    assert app_paths.layout_file.stat().st_size > 0  # saved without the depth dock

    async with launch() as t:
        window = t.window
        assert window.dockWidgetArea(window.docks["watchlist"]) == RIGHT  # as the user left it
        depth, book = window.docks["depth"], window.docks["book"]
        assert depth in window.tabifiedDockWidgets(book)
        assert window.book_view.canvas.visibleRegion().boundingRect().height() > 0  # the ladder in front
