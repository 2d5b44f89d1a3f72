"""The window layout: the user's arrangement (and the book's levels) survives a restart;
Reset layout undoes it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from terminal.paths import AppPaths
from terminal.ui.window.main_window import MainWindow
from tests.ui.harness import Launch

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
# The default: watchlist over the trade tape on the left, the book (the depth chart a tab
# behind it) on the right, the log below.
DEFAULT_AREAS = {"watchlist": LEFT, "book": RIGHT, "depth": RIGHT, "trades": LEFT, "log": BOTTOM}


def arrangement(window: MainWindow) -> dict[str, tuple[Qt.DockWidgetArea, bool, bool]]:
    """Each dock's (area, shown, floating)."""
    return {
        name: (window.dockWidgetArea(dock), dock.isVisible(), dock.isFloating())
        for name, dock in window.docks.items()
    }


DEFAULT = {name: (area, True, False) for name, area in DEFAULT_AREAS.items()}
REARRANGED = {
    "watchlist": (RIGHT, True, False),
    "book": (RIGHT, True, False),
    "depth": (RIGHT, True, False),
    "trades": (LEFT, True, True),
    "log": (BOTTOM, False, False),
}


async def test_rearranged_docks_and_window_size_come_back_after_a_restart(
    launch: Launch, app_paths: AppPaths
) -> None:
    async with launch() as t:
        window = t.window
        assert arrangement(window) == DEFAULT
        window.addDockWidget(RIGHT, window.docks["watchlist"])  # dragged to the right edge
        window.docks["trades"].setFloating(True)  # torn off
        window.docks["log"].toggleViewAction().trigger()  # View ▸ Log unticked
        window.resize(window.width(), 640)
        window.book_view.set_levels(20)  # the book's Levels box: 20 a side
        await t.until(lambda: arrangement(window) == REARRANGED, "the docks to move")
    assert app_paths.layout_file.stat().st_size > 0  # the layout was written (the file starts empty)

    async with launch() as t:
        assert arrangement(t.window) == REARRANGED
        # Only the height: the offscreen screen is 800 px wide, so Qt fits a
        # restored window's width to it (and the docks' minimum widths win).
        assert t.window.height() == 640
        assert t.window.book_view.levels.currentText() == "20" and t.window.book_view.canvas.max_levels == 20


async def test_reset_layout_brings_back_the_default_docks(launch: Launch, qtbot: QtBot) -> None:
    async with launch() as t:
        window = t.window
        window.addDockWidget(LEFT, window.docks["book"])
        window.docks["trades"].setFloating(True)
        window.docks["log"].toggleViewAction().trigger()
        window.docks["watchlist"].close()
        await t.until(lambda: arrangement(window) != DEFAULT, "the docks to move")

        await t.activate()
        qtbot.keyClick(
            t.focus(), Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
        await t.until(lambda: arrangement(window) == DEFAULT, "the default layout")
        assert window.docks["watchlist"].toggleViewAction().isChecked()
        assert window.docks["log"].toggleViewAction().isChecked()
