"""Every open terminal window. Several windows show several symbols and
exchanges at once; each has its own market session on the one event loop.
The application runs until the last window has closed and shut its session
down. Quit closes them all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from terminal.tasks import TaskGroup
from terminal.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

#: Makes a window on ``exchange`` (an account name or "simulated") at
#: ``(symbol, timeframe)`` or the configured market when None; the first
#: window made is the primary one, whose layout is the one saved.
WindowFactory = Callable[[str, tuple[str, str] | None, bool], MainWindow]

CASCADE_PX = 32


class WindowSet:
    def __init__(self, factory: WindowFactory) -> None:
        self._factory = factory
        self._running: list[MainWindow] = []  # in the order they opened
        # Each window's run(): a window that ends with an error is logged like any other task.
        self._tasks = TaskGroup("window", logger=log)
        self._all_closed = asyncio.Event()

    @property
    def windows(self) -> list[MainWindow]:
        return list(self._running)

    def open(self, exchange: str, start_at: tuple[str, str] | None = None) -> MainWindow:
        """A new window, shown and running (inside the event loop)."""
        primary = not self._running
        window = self._factory(exchange, start_at, primary)
        window.on_new_window = partial(self._open_like, window)
        window.on_quit = self.close_all
        window.every_window = lambda: self.windows
        if not primary:  # cascade, so the new window does not hide the one it came from
            origin = self.windows[-1].pos()
            window.move(origin.x() + CASCADE_PX, origin.y() + CASCADE_PX)
        self._running.append(window)
        name = f"window {len(self._running)}"
        self._tasks.spawn(window.run(), name=name, on_done=lambda _task: self._closed(window))
        window.show()
        log.info("Window %d open on %s", len(self._running), window.exchange)
        return window

    def _open_like(self, window: MainWindow) -> MainWindow:
        """Another window on the same exchange and symbol, to take elsewhere."""
        return self.open(window.exchange, window.session.requested)

    def close_all(self) -> None:
        for window in self.windows:
            window.close()

    async def wait_closed(self) -> None:
        """Until every window has closed and finished shutting down."""
        if self._running:
            await self._all_closed.wait()

    def _closed(self, window: MainWindow) -> None:
        self._running.remove(window)
        window.deleteLater()
        if not self._running:
            self._all_closed.set()
