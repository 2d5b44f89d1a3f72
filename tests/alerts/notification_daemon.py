"""A real notification service for the tests: python-dbusmock's notification_daemon.

The fixture ``notification_daemon`` starts ``python3 -m dbusmock --session
--template notification_daemon`` (tests/alerts/notification_template.py: the stock
template with the service's signals declared) as a process of its own, on the private
session bus of ``scripts/with-keyring`` (``DBUS_SESSION_BUS_ADDRESS``; tests
that use it are marked ``keyring``), waits until it owns
``org.freedesktop.Notifications``, and stops it after the test. It answers
Notify, GetCapabilities and GetServerInformation as a desktop's daemon does,
and logs every call; ``calls()`` reads the Notify calls back
(``org.freedesktop.DBus.Mock.GetMethodCalls``); ``click(n)`` is the user clicking
the n-th notification (the service's ActionInvoked signal with its "default"
action, sent through ``org.freedesktop.DBus.Mock.EmitSignal``).

python-dbusmock runs on the system's Python: it needs dbus-python, which
Debian packages (python3-dbusmock, ``scripts/install-system-packages test``)
and the project's virtual environment does not have. The tests read its log
through dbus-fast, as the terminal itself talks to the service.

Use it from a test folder's conftest.py (``from tests.alerts.notification_daemon
import notification_daemon``) and ask for ``notification_daemon``:

    async def scenario() -> None:
        assert await DesktopNotifications().notify("BTC/USDT above 50,000", "last 50,012.5")
        [call] = await notification_daemon.wait_for(1)
        assert call.summary == "BTC/USDT above 50,000"
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from tests.keyring_helpers import needs_keyring

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
MOCK_INTERFACE = "org.freedesktop.DBus.Mock"
START_TIMEOUT_S = 10.0
#: the stock notification_daemon template, with the service's signals declared (see the file)
TEMPLATE = Path(__file__).with_name("notification_template.py")


@dataclass(frozen=True)
class NotifyCall:
    """One Notify call the service received, as the user would see it."""

    app_name: str
    summary: str  # the title
    body: str
    hints: dict[str, Any]  # the hints' values, unwrapped: {"urgency": 1, "sound-file": "/…/bell.oga"}
    app_icon: str = ""
    actions: tuple[str, ...] = ()  # key, label, key, label…: "default" is a click on the notification


class NotificationDaemon:
    """python-dbusmock's notification service, in a process of its own on the session bus."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Starts the service and waits until it owns its bus name."""
        needs_keyring()  # never the desktop's own session bus and its real notification service
        if self._process is not None:
            return
        if name_has_owner(BUS_NAME):
            pytest.fail(f"{BUS_NAME} is already served on this session bus: the test cannot tell its calls")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [_dbusmock_python(), "-m", "dbusmock", "--session", "--template", str(TEMPLATE)],
                stdin=subprocess.DEVNULL,
                stdout=log,  # dbusmock prints each call it gets; the log is shown if it fails to start
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not name_has_owner(BUS_NAME):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"python-dbusmock's notification service did not start:\n{self._log.read_text()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stops the service and waits until its bus name is free again."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a hung() service must be able to die
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        deadline = time.monotonic() + START_TIMEOUT_S
        while name_has_owner(BUS_NAME) and time.monotonic() < deadline:
            time.sleep(0.02)

    @contextlib.contextmanager
    def hung(self) -> Iterator[None]:
        """The service keeps its bus name but answers nothing (stopped with SIGSTOP) until the block ends;
        what it was sent meanwhile it then handles."""
        assert self._process is not None, "the notification service is not running"
        self._process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            if self._process is not None:
                self._process.send_signal(signal.SIGCONT)

    async def calls(self) -> list[NotifyCall]:
        """Every Notify call the service received, oldest first."""
        reply = await _mock_call("GetMethodCalls", "s", ["Notify"])
        return [_notify_call(args) for _timestamp, args in reply[0]]

    async def click(self, n: int) -> None:
        """The user clicks the ``n``-th notification (1 for the first: the ids the service
        gave them), as a desktop's service reports it."""
        signal_args = [Variant("u", n), Variant("s", "default")]
        await _mock_call("EmitSignal", "sssav", [BUS_NAME, "ActionInvoked", "us", signal_args])

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[NotifyCall]:
        """The Notify calls, once there are at least ``n`` of them; fails after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(received := await self.calls()) < n:
            if loop.time() > deadline:
                raise AssertionError(f"not within {timeout:g} s: {n} Notify calls (got {received})")
            await asyncio.sleep(0.02)
        return received


@pytest.fixture
def notification_daemon(tmp_path: Path) -> Iterator[NotificationDaemon]:
    """A running notification service on the private session bus, stopped after the test."""
    daemon = NotificationDaemon(tmp_path / "notification-daemon.log")
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


async def _mock_call(member: str, signature: str, body: list[Any]) -> list[Any]:
    """One call of python-dbusmock's Mock interface on the service; its answer's body."""
    bus = await MessageBus().connect()
    try:
        reply = await bus.call(
            Message(
                destination=BUS_NAME,
                path=OBJECT_PATH,
                interface=MOCK_INTERFACE,
                member=member,
                signature=signature,
                body=body,
            )
        )
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()
    assert reply is not None and reply.message_type == MessageType.METHOD_RETURN, reply and reply.body
    return list(reply.body)


def name_has_owner(name: str) -> bool:
    """Whether a process owns ``name`` on the session bus now (asks with dbus-send: no event loop)."""
    answer = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply=literal",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{name}",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return "true" in answer.stdout


def _dbusmock_python() -> str:
    """The system's Python, which has python-dbusmock (the virtual environment has no dbus-python)."""
    candidates = [os.environ.get("TERMINAL_DBUSMOCK_PYTHON", ""), "/usr/bin/python3", shutil.which("python3")]
    for python in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run([python, "-c", "import dbusmock"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return python
    pytest.fail(
        "python-dbusmock is not installed for the system's Python: run scripts/install-system-packages test "
        "(or point TERMINAL_DBUSMOCK_PYTHON at a Python that has it)"
    )


def _notify_call(args: list[Variant]) -> NotifyCall:
    # Notify(app_name s, replaces_id u, app_icon s, summary s, body s, actions as, hints a{sv}, timeout i)
    values = [arg.value for arg in args]
    hints = {key: value.value if isinstance(value, Variant) else value for key, value in values[6].items()}
    return NotifyCall(
        app_name=values[0], summary=values[3], body=values[4], hints=hints, app_icon=values[2],
        actions=tuple(values[5]),
    )  # fmt: skip
