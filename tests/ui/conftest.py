"""A real terminal window on a real simulated market, on a real qasync loop.

How the loop is driven, and why: qasync runs asyncio on the Qt event loop,
but asyncio only counts as *running* inside ``loop.run_until_complete``.
Whenever Qt processes events outside it (qasync does so once more after every
``run_until_complete``; pytest-qt does so between test phases), a due asyncio
timer resumes its task with no running loop and the task dies with
"RuntimeError: no running event loop" (a known qasync/quamash trait). The
application never meets this: it makes one ``run_until_complete(window.run())``
call for its whole life. The tests do the same: a UI test is an ``async def``
that the hook below runs in one ``run_until_complete`` call, and a window
lives inside ``async with launch() as t:`` so it is started and fully shut
down within that call. User input (``qtbot.keyClick``, ``mouseClick``) is
sent from inside the coroutine, so the handlers it triggers see a running
loop, as they do in the application. One catch: nothing called from the test
may spin a nested Qt event loop (``qtbot.wait*``, ``qtbot.mouseMove``, a modal
``exec()``), since that would resume other tasks inside the test's own task;
asyncio refuses, and the lost wake-up hangs the app. Wait with ``await
t.until(...)``, hover with ``t.hover(...)``. Errors asyncio reports fail the
test at once (``Terminal.check_loop``).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from terminal.config import SIMULATED
from terminal.logs import LogBuffer
from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.ui.theme import DARK, apply_theme
from terminal.ui.window.main_window import MainWindow
from tests.ui.harness import SEED, Launch, Terminal

# -- running async tests on the qasync loop ----------------------------------------
# pytest-timeout cannot stop a hung UI test: its SIGALRM exception surfaces in
# whatever asyncio callback or Qt slot runs next, and both swallow exceptions.
# So each test carries its own deadline, inside the loop.
UI_TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests to completion on the test's qasync loop."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    loop = pyfuncitem.funcargs.get("qt_loop")
    if loop is None:
        pytest.fail("an async UI test needs the qt_loop fixture (launch brings it)")
    kwargs = {name: pyfuncitem.funcargs[name] for name in inspect.signature(function).parameters}

    async def bounded() -> None:
        async with asyncio.timeout(UI_TEST_TIMEOUT):
            await function(**kwargs)

    loop.run_until_complete(bounded())
    return True


@pytest.fixture
def loop_errors() -> list[dict[str, Any]]:
    """What the loop's exception handler received (errors in callbacks, lost tasks)."""
    return []


@pytest.fixture
def qt_loop(qapp: QApplication, loop_errors: list[dict[str, Any]]) -> Iterator[qasync.QEventLoop]:
    """A qasync loop on pytest-qt's QApplication; any error asyncio reports fails the test."""
    # Earlier tests' closed loops and windows leave QObjects (qasync's timer object,
    # chart items) in reference cycles. Collect them here, on the GUI thread: left
    # to the cyclic collector they may be destroyed in whatever thread allocates
    # next (a worker of asyncio.to_thread), which leaves Qt's GUI-thread timer
    # list pointing at a deleted object: the next timer event crashes the process.
    gc.collect()
    qapp.setQuitOnLastWindowClosed(False)  # as terminal.app: run() decides when the app is done
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    yield loop
    loop.close()
    asyncio.set_event_loop(None)
    assert not loop_errors, f"asyncio reported errors: {loop_errors}"


@pytest.fixture
def log_buffer() -> Iterator[LogBuffer]:
    buffer = LogBuffer()
    root = logging.getLogger()
    level = root.level
    root.addHandler(buffer)
    root.setLevel(logging.INFO)
    yield buffer
    root.removeHandler(buffer)
    root.setLevel(level)


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    paths = AppPaths(tmp_path / "config", tmp_path / "data")
    paths.ensure()
    return paths


@pytest.fixture
def launch(
    qt_loop: qasync.QEventLoop, loop_errors: list[dict[str, Any]], log_buffer: LogBuffer, app_paths: AppPaths
) -> Iterator[Launch]:
    """``async with launch() as t:`` starts a terminal on ``app_paths`` (by default
    waiting for the market to appear) and closes it cleanly on the way out."""
    windows: list[MainWindow] = []

    @asynccontextmanager
    async def start(
        seed: int = SEED,
        wait: bool = True,
        session: MarketSession | None = None,
        history_file: HistoryFile | None = None,
        exchange: str = SIMULATED,
    ) -> AsyncIterator[Terminal]:
        terminal = Terminal(app_paths, log_buffer, seed, loop_errors, session, history_file, exchange)
        windows.append(terminal.window)
        try:
            if wait:
                await terminal.started()
            yield terminal
        finally:
            await terminal.shut()

    yield start
    for window in windows:
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    leaked = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    assert not leaked, f"main windows still alive after the test: {leaked}"
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, DARK)
