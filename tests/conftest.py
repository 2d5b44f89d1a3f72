"""Settings, fixtures and helpers every test folder needs, whoever runs pytest and however.

Qt tests draw offscreen: a plain ``pytest`` on a machine without a display
(CI, a container, an ssh session) would otherwise abort in Qt's platform
plugin before the first test. ``scripts/test`` sets the same.

Tests marked ``keyring`` use the real keyring against the throwaway Secret
Service that ``scripts/with-keyring`` starts (they lock and unlock it, so they
refuse a desktop's own). ``scripts/test`` runs pytest inside it; a plain
``pytest`` that collects such a test runs itself again inside it, before any
test has run, so that a contributor's ``pytest`` passes too. On a machine
without D-Bus and gnome-keyring, a plain ``pytest`` leaves those tests out and
says so at the end, with how to run them.

``scripts/test`` runs the suite on two workers (pytest-xdist): ``--dist load --tx
2*popen//python=scripts/python-in-keyring`` starts each in a private session bus
and keyring of its own, so that two tests never share the keyring they lock and
unlock, or the notification service whose name one of them owns. The feed's
timing tests (marked ``serial``) miss their bounds now and then beside that
busy first part: it runs them afterwards, on two workers again (they mostly
wait), and last, by themselves, the ones also marked ``alone``, rates of CPU
work a second that a second worker's busy core skews. A plain ``pytest`` runs
everything in one process.

Helpers a test calls are plain functions and classes here, imported as
``from tests.conftest import run, wait_until, ManualClock``; what a test is
handed, made and cleaned up for it, is a fixture (``store``,
``restore_logging``). Helpers of one domain live beside its tests
(``tests/ui/harness.py``, ``tests/trading/trading_fixtures.py``, ...), and no
test module imports another test module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from terminal.store.candles import CandleStore

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WITH_KEYRING = Path(__file__).resolve().parents[1] / "scripts" / "with-keyring"
KEYRING_TOOLS = ("dbus-run-session", "dbus-send", "gnome-keyring-daemon")
RERUN = "TERMINAL_TESTS_RERUN_WITH_KEYRING"  # set on the run again, so it happens once at most
LEFT_OUT = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if LEFT_OUT in config.stash:
        terminalreporter.write_sep("=", config.stash[LEFT_OUT], yellow=True, bold=True)


def _keyring_tools_missing() -> list[str]:
    return [tool for tool in KEYRING_TOOLS if shutil.which(tool) is None]


def _run_again_inside_with_keyring(config: pytest.Config) -> None:
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.suspend_global_capture(in_=True)  # the run again writes to the real terminal
    print("\nkeyring tests collected: running pytest again inside scripts/with-keyring", flush=True)
    sys.stderr.flush()
    os.environ[RERUN] = "1"
    os.chdir(config.invocation_params.dir)
    args = [str(WITH_KEYRING), sys.executable, "-m", "pytest", *config.invocation_params.args]
    os.execv(args[0], args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """(Without xdist: its workers run inside scripts/with-keyring already.)"""
    if os.environ.get("WITH_KEYRING_PASSWORD") or os.environ.get(RERUN) or config.option.collectonly:
        return
    if not any(item.get_closest_marker("keyring") for item in items):
        return
    missing = _keyring_tools_missing()
    if missing:
        # No private keyring session can be made here: leave those tests out, and say so.
        left_out = [item for item in items if item.get_closest_marker("keyring")]
        items[:] = [item for item in items if not item.get_closest_marker("keyring")]
        config.hook.pytest_deselected(items=left_out)
        config.stash[LEFT_OUT] = (
            f"{len(left_out)} keyring tests left out: {', '.join(missing)} not found. "
            "Install them with scripts/install-system-packages test, then run scripts/test "
            "(or pytest again)."
        )
        return
    _run_again_inside_with_keyring(config)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers and level, and the levels ``setup_logging``
    sets on other libraries' loggers, back as they were after the test."""
    from terminal.logs import QUIET_FLOORS

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_FLOORS}
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CandleStore]:
    """A new, empty history file in the test's folder, closed afterwards."""
    from terminal.store.candles import CandleStore

    with CandleStore(tmp_path / "history.sqlite") as opened:
        yield opened


# -- helpers a test calls ----------------------------------------------------------------------------


def run[T](scenario: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """``scenario()`` on a fresh event loop, failing after ``timeout`` seconds
    rather than hanging the suite; returns what it returns. (UI tests are
    ``async def`` and run on the qasync loop instead: tests/ui/conftest.py.)"""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await scenario()

    return asyncio.run(bounded())


async def wait_until(
    condition: Callable[[], object],
    what: str = "the condition",
    timeout: float = 10.0,
    *,
    interval: float = 0.01,
    explain: Callable[[], str] | None = None,
) -> float:
    """Let the running loop work until ``condition()`` holds; the seconds that took.

    Fails naming ``what`` (and ``explain()``, the state that may say why) when
    ``timeout`` seconds pass first. The way to wait for something to happen:
    never a fixed sleep. ``condition`` may itself raise to stop the wait.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        waited = loop.time() - started
        if waited > timeout:
            why = f" ({explain()})" if explain is not None else ""
            raise AssertionError(f"not within {timeout:g} s: {what}{why}")
        await asyncio.sleep(interval)
    return loop.time() - started


class ManualClock:
    """A clock in epoch milliseconds that moves only when the test sets ``now``:
    hand it to the simulated exchange and time is the test's to drive."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:  # 2023-11-14 22:13:20 UTC
        self.now = now

    def __call__(self) -> int:
        return self.now
