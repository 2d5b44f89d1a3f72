"""The layout holds at every window size a trader uses: the order book shows at
least ten levels a side, the ticket its fields, no dock is drawn over another,
with or without the backtest panel; Reset layout fits the screen; a grown
window gives its room to the chart; a layout saved on a large window reopens
usable on a small screen.

Measured on screen: what a widget shows is its part inside the window and
its parents (``visibleRegion``); a dock behind another in a tab group is
moved out of the window by Qt and counts as not shown.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget
from pytestqt.qtbot import QtBot

from terminal.logs import LogBuffer
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.risk import RiskLimits
from terminal.ui.window.layout import BOOK_LEVELS
from terminal.ui.window.main_window import MainWindow
from tests.ui.harness import Launch, Terminal
from tests.ui.trading.trading_helpers import OneAccount

SIZES = [QSize(1024, 640), QSize(1280, 800), QSize(1920, 1080)]


@pytest.fixture
def history(app_paths: AppPaths) -> Iterator[HistoryFile]:
    """The history file the app would use (the market data and backtest panels need one)."""
    held = HistoryFile(app_paths.data_dir / "history.sqlite")
    yield held
    held.close()


@asynccontextmanager
async def trading_terminal(launch: Launch, history: HistoryFile) -> AsyncIterator[Terminal]:
    """A terminal trading on paper (the ticket bound, its fields enabled), as the app sets it up."""
    async with launch(history_file=history) as t:
        broker = PaperBroker(t.session, account="simulated", limits=RiskLimits())
        await broker.start()
        t.window.accounts = OneAccount(broker)
        t.window.set_broker(broker)
        await t.until(lambda: t.window.trading.ticket.bound, "the ticket to trade on the paper account")
        yield t


def settle(window: MainWindow) -> None:
    """Lay the window out now (what the next frame would show)."""
    QApplication.sendPostedEvents()
    layout = window.layout()
    assert layout is not None
    layout.activate()
    QApplication.sendPostedEvents()


async def resized(t: Terminal, size: QSize) -> None:
    t.window.resize(size)
    await t.until(lambda: t.window.size() == size, f"the window to be {size.toTuple()}")
    settle(t.window)


def shown(widget: QWidget) -> QRect:
    """The part of ``widget`` on screen, in window coordinates (empty when hidden or tabbed away)."""
    if not widget.isVisible():
        return QRect()
    part = widget.visibleRegion().boundingRect()
    window = widget.window()
    return QRect(widget.mapTo(window, part.topLeft()), part.size())


def docks_on_screen(window: MainWindow) -> dict[str, QDockWidget]:
    every = {**window.docks, **window.trading_docks}
    return {name: dock for name, dock in every.items() if not dock.isFloating() and not shown(dock).isEmpty()}


def book_levels_shown(window: MainWindow) -> int:
    """Levels a side the ladder shows on screen: the rows that fit in the part of it that is visible."""
    canvas = window.book_view.canvas
    visible = shown(canvas).height()
    row = canvas.row_height()
    asks, bids = canvas.ladder()
    fit = (visible - 2 * row) // (2 * row)  # a header row and the spread row, then the two sides
    return min(fit, len(asks), len(bids))


def check_usable(window: MainWindow, what: str) -> None:
    """The book, the ticket and the docks as the brief asks, or an AssertionError saying which failed."""
    assert window.trading_docks["ticket"] in docks_on_screen(window).values(), f"{what}: no ticket"
    assert window.docks["book"] in docks_on_screen(window).values(), f"{what}: no order book"
    assert book_levels_shown(window) >= BOOK_LEVELS, f"{what}: {book_levels_shown(window)} book levels"

    ticket = window.trading.ticket
    fields = {
        "buy": ticket.buy,
        "sell": ticket.sell,
        "type": ticket.type_box,
        "time in force": ticket.tif_box,
        "amount": ticket.amount,
        "unit": ticket.unit_button,
        "price": ticket.price,
        "post-only": ticket.post_only,
        "reduce-only": ticket.reduce_only,
        "send": ticket.send_button,
    }
    for name, field in fields.items():
        assert field.isVisible(), f"{what}: the ticket's {name} is hidden"
        whole = QRect(field.mapTo(window, field.rect().topLeft()), field.size())
        assert shown(field) == whole, f"{what}: the ticket's {name} is cut: {shown(field)} of {whole}"
        least = field.minimumSizeHint()
        assert field.width() >= least.width() and field.height() >= least.height(), (
            f"{what}: the ticket's {name} is squashed to {field.size().toTuple()} (needs {least.toTuple()})"
        )
    for (a, first), (b, second) in itertools.combinations(fields.items(), 2):
        assert not shown(first).intersects(shown(second)), f"{what}: the ticket's {a} overlaps its {b}"

    docks = docks_on_screen(window)
    inside = window.rect()
    for name, dock in docks.items():
        assert inside.contains(dock.geometry()), f"{what}: {name} {dock.geometry()} is outside the window"
    chart = window.centralWidget()
    assert chart is not None and not chart.geometry().isEmpty()
    for (a, first), (b, second) in itertools.combinations([*docks.items(), ("chart", chart)], 2):
        assert not first.geometry().intersects(second.geometry()), (
            f"{what}: {a} {first.geometry()} overlaps {b} {second.geometry()}"
        )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s.width()}x{s.height()}")
async def test_book_ticket_and_docks_fit_with_and_without_the_backtest_panel(
    launch: Launch, history: HistoryFile, size: QSize
) -> None:
    async with trading_terminal(launch, history) as t:
        window = t.window
        await resized(t, size)  # the window is as large as asked: nothing's minimum widens it
        check_usable(window, "at start")

        window.open_backtest()
        settle(window)
        assert window.size() == size
        assert "backtest" in docks_on_screen(window)
        check_usable(window, "backtest open")

        window.docks["backtest"].close()
        settle(window)
        assert "backtest" not in docks_on_screen(window)
        check_usable(window, "backtest closed")

        window.open_data_manager()
        settle(window)
        assert window.size() == size
        assert "data" in docks_on_screen(window)
        check_usable(window, "market data open")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s.width()}x{s.height()}")
async def test_reset_layout_fits_the_screen_the_window_is_on(
    launch: Launch, history: HistoryFile, qtbot: QtBot, size: QSize
) -> None:
    async with trading_terminal(launch, history) as t:
        window = t.window
        screen = window.screen().availableGeometry()
        await resized(t, size)
        window.open_backtest()
        window.docks["book"].setFloating(True)  # a mess to reset
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.trading_docks["ticket"])
        settle(window)

        await t.activate()
        qtbot.keyClick(
            t.focus(), Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        await t.until(lambda: not window.docks["book"].isFloating(), "the book to be docked again")
        settle(window)
        # The test screen (800x800) is smaller than the window was: the reset brings it within.
        assert screen.contains(window.frameGeometry()), f"{window.frameGeometry()} is not within {screen}"
        assert window.width() <= size.width() and window.height() <= size.height()
        check_usable(window, "after the reset")


async def test_a_grown_window_gives_the_room_to_the_chart(launch: Launch, history: HistoryFile) -> None:
    async with trading_terminal(launch, history) as t:
        window = t.window
        await resized(t, QSize(1024, 640))
        window.open_backtest()
        settle(window)
        chart = window.centralWidget()
        assert chart is not None
        small = chart.geometry()
        sides = {name: window.docks[name].width() for name in ("watchlist", "book")}
        bottom = window.docks["backtest"].height()

        await resized(t, QSize(1920, 1080))
        check_usable(window, "grown")
        large = chart.geometry()
        # The side columns keep their widths: the chart takes the 896 px more.
        assert {name: window.docks[name].width() for name in sides} == sides
        assert large.width() >= small.width() + 896 - 8
        # Taller too, and the panels below it keep a sane share (not all the height).
        assert large.height() > small.height() + 200
        assert bottom <= window.docks["backtest"].height() <= large.height()


async def test_a_layout_saved_on_a_large_window_reopens_usable_on_a_smaller_screen(
    launch: Launch, history: HistoryFile
) -> None:
    async with trading_terminal(launch, history) as t:
        await resized(t, QSize(1920, 1080))
        t.window.open_backtest()
        settle(t.window)
        check_usable(t.window, "on the large window")
    # closing saved the layout of the 1920x1080 window; the test screen is 800x800

    async with trading_terminal(launch, history) as t:
        window = t.window
        screen = window.screen().availableGeometry()
        settle(window)
        assert screen.contains(window.frameGeometry()), f"{window.frameGeometry()} is not within {screen}"
        check_usable(window, "reopened")


async def test_a_saved_arrangement_too_tall_for_the_screen_gives_way_to_the_default(
    launch: Launch, history: HistoryFile, log_buffer: LogBuffer
) -> None:
    async with trading_terminal(launch, history) as t:
        window = t.window
        # the book dragged over the ticket in the left column: taller than the 800 px test screen
        # (the window grows to hold it, past the screen)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.docks["book"])
        settle(window)
        assert window.minimumSizeHint().height() > window.screen().availableGeometry().height()
        assert window.dockWidgetArea(window.docks["book"]) == Qt.DockWidgetArea.LeftDockWidgetArea

    async with trading_terminal(launch, history) as t:
        window = t.window
        assert window.dockWidgetArea(window.docks["book"]) == Qt.DockWidgetArea.RightDockWidgetArea
        assert any("does not fit this screen" in line.text for line in log_buffer.since(0))
        settle(window)
        check_usable(window, "reopened")
