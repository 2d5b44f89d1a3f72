"""The pieces UI tests share: a running terminal and ways to read the screen."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from terminal.config import SIMULATED, ConfigStore
from terminal.logs import LogBuffer
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.theme import THEMES, apply_theme
from terminal.ui.window.main_window import MainWindow
from tests.conftest import wait_until

SEED = 7
# Shorter than the default 30 days so that a start takes a fraction of a
# second; 10 days still give 60 four-hour candles.
HISTORY_DAYS = 10
#: an account on the discard port, where nothing listens: every connection is refused at once
DEAD_ACCOUNT = """
[[accounts]]
name = "dead"
exchange = "binance"
rest_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9/stream"
"""


# -- one terminal --------------------------------------------------------------------
class Terminal:
    """A MainWindow whose ``run()`` is a task on the running loop, as in terminal.app."""

    def __init__(
        self,
        paths: AppPaths,
        buffer: LogBuffer,
        seed: int,
        loop_errors: list[dict[str, Any]],
        session: MarketSession | None = None,
        history_file: HistoryFile | None = None,
        exchange: str = SIMULATED,
    ) -> None:
        self.loop_errors = loop_errors
        self.paths = paths
        self.config = ConfigStore(paths.config_file)
        self.settings = self.config.settings
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        apply_theme(app, THEMES[self.settings.theme])  # terminal.app does this before building
        if session is None:  # the simulated market, as a fresh start shows it
            self.exchange = SimulatedExchange(seed=seed, history_days=HISTORY_DAYS, pump_interval=0.02)
            session = MarketSession(self.exchange, self.settings.watchlist)
        self.session = session
        held = history_file or HistoryFile.of(session.store)
        self.window = MainWindow(
            session,
            self.config,
            paths,
            buffer,
            history=lambda _name: session.store or held.writable(),
            history_file=held,
            exchange=exchange,
        )
        self.chart = self.window.chart
        self.window.show()
        self.task = asyncio.get_running_loop().create_task(self.window.run())

    async def until(self, predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
        """Let the app run until ``predicate()`` holds; fail naming ``what`` never
        happened, and at once if asyncio reported an error or the window closed."""

        def holds() -> object:
            if predicate():
                return True
            self.check_loop()
            if self.task.done():
                self.task.result()  # run() ended early: show why
                raise AssertionError(f"the window closed while waiting for: {what}")
            return False

        await wait_until(holds, what, timeout, interval=0.02)

    def check_loop(self) -> None:
        """Fail at once if asyncio reported an error (a lost task wake-up would hang the test)."""
        errors = list(self.loop_errors)
        self.loop_errors.clear()  # reported here, not again when the loop closes
        assert not errors, f"asyncio reported errors: {errors}"

    async def started(self) -> None:
        session = self.session
        await self.until(
            lambda: (
                session.symbol
                and len(session.candles)
                and self.chart.candles.drawn > 0
                and session.book.mid is not None
                and len(session.tape) > 0
            ),
            "candles on screen, an order book and some trades",
        )

    async def activate(self) -> None:
        """Make the window the active one, so that its keyboard shortcuts apply."""
        self.window.activateWindow()
        await self.until(self.window.isActiveWindow, "the main window to become active")

    def focus(self) -> QWidget:
        """Where a key press goes: the focused widget, else the window itself."""
        return QApplication.focusWidget() or self.window

    def hover(self, widget: QWidget, pos: QPoint) -> None:
        """Move the mouse over ``widget``. Not ``qtbot.mouseMove``: QTest spins a
        nested event loop for moves, which would resume other asyncio tasks inside
        this test's task and lose their wake-ups (asyncio refuses to nest tasks)."""
        global_pos = QPointF(widget.mapToGlobal(pos))
        event = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(pos),
            global_pos,
            Qt.MouseButton.NoButton,
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(widget, event)

    async def shut(self) -> None:
        """Close the window as the user does and let run() shut the market down."""
        if not self.task.done():
            self.window.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not self.task.done() and loop.time() < deadline:
            self.check_loop()
            await asyncio.sleep(0.02)
        self.check_loop()
        assert self.task.done(), f"run() still busy 10 s after the window closed: {self.task!r}"
        self.task.result()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not _server_side(t)]
        assert not left, f"tasks still running after the window closed: {left}"


def _server_side(task: asyncio.Task[Any]) -> bool:
    """A task of a loopback exchange server the test runs (it outlives the window)."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return task.get_name().startswith("loopback") or name.startswith("RequestHandler.")


Launch = Callable[..., AbstractAsyncContextManager[Terminal]]


# -- reading what is on screen ---------------------------------------------------------
def image_array(image: QImage) -> np.ndarray:
    """An (height, width) array of 0xRRGGBB values."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() * height // 4)
    return (data.reshape(height, image.bytesPerLine() // 4)[:, :width] & 0xFFFFFF).copy()


def rgb(color: str | QColor) -> int:
    return QColor(color).rgb() & 0xFFFFFF


def read_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def scene_rect_in(chart: ChartWidget, item: pg.GraphicsItem) -> QRect:
    """Where a pyqtgraph item lies in the chart widget's own coordinates."""
    scene = item.sceneBoundingRect()
    view = chart.glw
    top_left = view.viewport().mapTo(chart, view.mapFromScene(scene.topLeft()))
    bottom_right = view.viewport().mapTo(chart, view.mapFromScene(scene.bottomRight()))
    return QRect(top_left, bottom_right)


def price_pane(chart: ChartWidget) -> np.ndarray:
    """The pixels of the chart's price pane, as the user sees it, with the
    last-price label blanked (it is filled with the up or down colour)."""
    pixels = image_array(chart.grab().toImage())
    label = scene_rect_in(chart, chart.last_line.label)
    pixels[label.top() : label.bottom() + 1, label.left() : label.right() + 1] = 0
    pane = scene_rect_in(chart, chart.price_plot.getViewBox())
    return pixels[pane.top() : pane.bottom() + 1, pane.left() : pane.right() + 1]


def columns_with(pixels: np.ndarray, color: str, at_least: int = 3) -> int:
    """Pixel columns holding at least ``at_least`` pixels of ``color``: a wick
    or body counts, a one-pixel horizontal line (grid, last price) does not."""
    return int(((pixels == rgb(color)).sum(axis=0) >= at_least).sum())
