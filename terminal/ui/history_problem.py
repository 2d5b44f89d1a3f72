"""A history file that cannot be opened, on screen: the reason above the
chart, the ways out (``terminal.store.history_file.WayOut``) as buttons, and
what taking one does to the window (its data panel, its chart's history)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from terminal.config import SIMULATED
from terminal.store.history_file import WayOut

if TYPE_CHECKING:
    from terminal.ui.main_window import MainWindow


def show_history_problem(window: MainWindow) -> None:
    held = window.history_file
    if held.error is None:
        return

    def choose(way: WayOut) -> None:
        window.in_background(take_way_out(window, way), "history file")

    actions = [(way.value, partial(choose, way)) for way in held.ways_out()]
    window.notice.show_message(
        f"Market history is not kept: {held.error.user_message()} The file: {held.path}", actions
    )


async def take_way_out(window: MainWindow, way: WayOut) -> None:
    held = window.history_file
    act = {
        WayOut.RETRY: held.retry,
        WayOut.READ_ONLY: held.open_read_only,
        WayOut.START_FRESH: held.start_fresh,
    }
    panel = window.data_manager
    if panel is not None:  # it holds the store about to be replaced
        await panel.shutdown()
        window.removeDockWidget(window.docks.pop("data"))
        panel.deleteLater()
        window.data_manager = None
    store = await asyncio.to_thread(act[way])
    if store is None:
        show_history_problem(window)
        return
    notice = window.notice
    if held.read_only:
        notice.show_message(
            "The market history file is open read-only: look at it and export what you need from "
            "the market data panel (Ctrl+Shift+D). Charts load from the exchange; nothing is saved."
        )
        return
    if held.moved_to is not None:
        notice.show_message(
            f"The damaged file was moved to {held.moved_to} (nothing was deleted); a new history "
            "file is in use."
        )
    else:
        notice.hide()
    if window.exchange != SIMULATED:  # the chart keeps history again
        window.session.store = store
        window.session.request_open(*window.requested_market(), reload=True)
