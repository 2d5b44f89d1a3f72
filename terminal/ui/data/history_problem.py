"""A history file that cannot be opened, on screen, on every market: the
reason above the chart, what is kept in memory only until it is resolved
(the paper account and trading journal everywhere, candle history on a real
exchange too), the ways out (``terminal.store.history_file.WayOut``) as
buttons, and what taking one does to the windows (their data panels, their
charts' history, the paper accounts and journal).

It needs of a window only what ``HistorySite`` names."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from terminal.config import SIMULATED
from terminal.store.history_file import WayOut

if TYPE_CHECKING:
    from terminal.store.candles import CandleStore
    from terminal.store.history_file import HistoryFile
    from terminal.ui.trading.seat import SeatAccounts
    from terminal.ui.window.notice import NoticeBar


class HistorySite(Protocol):
    """A window that shows what the history file holds (its chart's history on a real
    exchange, its data panel) and says what is wrong with the file."""

    history_file: HistoryFile
    exchange: str
    notice: NoticeBar
    accounts: SeatAccounts | None  # they save the paper accounts and journal again

    def in_background(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]: ...

    def every_window(self) -> Sequence[HistorySite]:
        """Every window (they share the history file)."""
        ...

    async def release_history(self) -> None:
        """Let go of the store about to be replaced (the data panel closes)."""

    def use_history(self, store: CandleStore) -> None:
        """The history file is open again: the chart keeps its history there."""


def kept_in_memory(exchange: str) -> str:
    """What lives in the history file on this market, as a sentence's subject."""
    if exchange == SIMULATED:
        return "The paper account and trading journal"
    return "Candle history, the paper account and the trading journal"


async def check_history_file(window: HistorySite) -> None:
    """Open the history file (off the GUI thread; a no-op once tried) and show
    its problem, if it has one, whatever the market."""
    await asyncio.to_thread(window.history_file.get)
    if window.history_file.error is not None:
        show_history_problem(window)


def show_history_problem(window: HistorySite) -> None:
    """Say why the history file is not open, what is not saved meanwhile, and
    offer the ways out; it stays until resolved."""
    held = window.history_file
    error = held.error
    if error is None:
        return

    def choose(way: WayOut) -> None:
        window.in_background(take_way_out(window, way), "history file")

    parts = [
        str(error),
        f"{kept_in_memory(window.exchange)} are kept in memory only until this is fixed.",
        error.hint,
        f"The file: {held.path}",
    ]
    actions = [(way.value, partial(choose, way)) for way in held.ways_out()]
    window.notice.show_standing(" ".join(p for p in parts if p), actions)


async def take_way_out(window: HistorySite, way: WayOut) -> None:
    held = window.history_file
    act = {
        WayOut.RETRY: held.retry,
        WayOut.READ_ONLY: held.open_read_only,
        WayOut.START_FRESH: held.start_fresh,
    }
    windows = window.every_window()
    for each in windows:  # their panels hold the store about to be replaced
        await each.release_history()
    store = await asyncio.to_thread(act[way])
    if store is None:
        for each in windows:
            show_history_problem(each)
        return
    for each in windows:
        reopened(each, store, held.moved_to if each is window else None)
    if not held.read_only and window.accounts is not None:
        await window.accounts.history_reopened(store)  # the paper accounts and journal are saved again


def reopened(window: HistorySite, store: CandleStore, moved_to: object) -> None:
    """The history file is open again (perhaps read-only): say so in ``window``."""
    notice = window.notice
    notice.clear_standing()
    kept = kept_in_memory(window.exchange)
    if window.history_file.read_only:
        notice.show_message(
            "The market history file is open read-only: look at it and export what you need from the "
            f"market data panel (Ctrl+Shift+D). Nothing is saved to it: {kept[0].lower()}{kept[1:]} "
            "stay in memory only."
        )
        return
    if moved_to is not None:
        notice.show_message(
            f"The damaged file was moved to {moved_to} (nothing was deleted); a new history file is in "
            f"use, and {kept[0].lower()}{kept[1:]} are saved in it again."
        )
    if window.exchange != SIMULATED:  # the chart keeps history again
        window.use_history(store)
