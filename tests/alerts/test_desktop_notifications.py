"""Alerts as desktop notifications, against a real notification service on the private
session bus (python-dbusmock's notification_daemon, tests/alerts/notification_daemon.py):
what arrives, with which sound, and what happens when the service is missing, goes away,
comes back or hangs.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
import wave
from pathlib import Path

import pytest

from terminal.alerts.delivery.desktop import FREEDESKTOP_ALERT_SOUND, DesktopNotifications, Sound
from tests.alerts.notification_daemon import BUS_NAME, NotificationDaemon, name_has_owner
from tests.conftest import run, wait_until
from tests.keyring_helpers import needs_keyring

TITLE = "BTC/USDT crossed 65,000"
BODY = "Last price 65,012.50 on Simulated, at 14:02:07"
OUR_LOGGER = "terminal.alerts.delivery.desktop"


def sound_file(folder: Path) -> Path:
    """A short, silent WAV file, as a user would pick one."""
    path = folder / "bell.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    return path


def bus_connections() -> int:
    """How many connections the session bus has now (each has a unique name, ":1.N")."""
    answer = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply=literal",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.ListNames",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return sum(1 for word in answer.stdout.split() if word.startswith(":"))


@pytest.mark.keyring
def test_an_alert_arrives_with_its_title_body_app_name_and_icon(
    notification_daemon: NotificationDaemon, tmp_path: Path
) -> None:
    icon = tmp_path / "terminal.png"
    icon.write_bytes(b"\x89PNG\r\n\x1a\n")

    async def scenario() -> None:
        notifications = DesktopNotifications(icon=icon)
        try:
            assert await notifications.notify(TITLE, BODY)
            assert notifications.problem == ""
            [call] = await notification_daemon.wait_for(1)
        finally:
            notifications.close()
        assert (call.app_name, call.summary, call.body) == ("Terminal", TITLE, BODY)
        assert call.app_icon == icon.as_uri()
        assert call.hints["urgency"] == 1  # normal: not a critical notification that stays until clicked

    run(scenario)


@pytest.mark.keyring
def test_alerts_arrive_in_order_from_one_notifier(notification_daemon: NotificationDaemon) -> None:
    async def scenario() -> None:
        notifications = DesktopNotifications()
        try:
            sent = await asyncio.gather(*(notifications.notify(f"alert {i}", BODY) for i in range(5)))
            calls = await notification_daemon.wait_for(5)
        finally:
            notifications.close()
        assert sent == [True] * 5
        assert [call.summary for call in calls] == [f"alert {i}" for i in range(5)]

    run(scenario)


@pytest.mark.keyring
def test_the_sound_the_user_picked_goes_with_the_notification(
    notification_daemon: NotificationDaemon, tmp_path: Path
) -> None:
    bell = sound_file(tmp_path)

    async def scenario() -> None:
        notifications = DesktopNotifications()
        try:
            assert await notifications.notify("file", BODY, Sound("file", str(bell)))
            assert await notifications.notify("default", BODY, Sound("default"))
            assert await notifications.notify("none", BODY, Sound("none"))
            calls = await notification_daemon.wait_for(3)
        finally:
            notifications.close()
        sounds = {
            call.summary: {key: value for key, value in call.hints.items() if key.startswith("sound")}
            for call in calls
        }
        # a path, as the notification spec says and GNOME Shell reads it (not a file:// URI)
        assert sounds["file"] == {"sound-file": str(bell)}
        assert sounds["default"] == {"sound-name": FREEDESKTOP_ALERT_SOUND}
        assert sounds["none"] == {}

    run(scenario)


@pytest.mark.keyring
def test_a_sound_file_that_is_gone_plays_the_alert_sound_and_says_so_once(
    notification_daemon: NotificationDaemon, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = tmp_path / "deleted.ogg"

    async def scenario() -> None:
        notifications = DesktopNotifications()
        try:
            for _ in range(3):
                assert await notifications.notify(TITLE, BODY, Sound("file", str(gone)))
            calls = await notification_daemon.wait_for(3)
        finally:
            notifications.close()
        assert [call.hints.get("sound-name") for call in calls] == [FREEDESKTOP_ALERT_SOUND] * 3
        assert not [call for call in calls if "sound-file" in call.hints]

    with caplog.at_level(logging.WARNING, logger=OUR_LOGGER):
        run(scenario)
    said = [r.getMessage() for r in caplog.records if r.name == OUR_LOGGER]
    assert len(said) == 1, said
    assert str(gone) in said[0] and "was not found" in said[0]


@pytest.mark.keyring
def test_without_a_notification_service_notify_says_why_once_and_leaves_no_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    needs_keyring()
    assert not name_has_owner(BUS_NAME)  # the private bus has no notification service of its own
    connections_before = bus_connections()

    async def scenario() -> tuple[list[bool], str, float]:
        notifications = DesktopNotifications(timeout=5.0)
        started = time.monotonic()
        try:
            sent = [await notifications.notify(f"alert {i}", BODY) for i in range(4)]
            return sent, notifications.problem, time.monotonic() - started
        finally:
            notifications.close()

    with caplog.at_level(logging.DEBUG):
        sent, problem, took = run(scenario)
    assert sent == [False] * 4
    assert problem.startswith("No desktop notification service is running")
    assert "alerts panel" in problem
    assert took < 5.0  # answered by the bus at once, not by the timeout
    ours = [r for r in caplog.records if r.name == OUR_LOGGER and r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in ours] == [problem]  # once, not per alert
    # desktop-notifier's own warning and traceback per failed send stay out of the log
    assert not [r for r in caplog.records if r.name.startswith("desktop_notifier") and r.exc_info]
    # each failed send's connection was closed (desktop-notifier would keep one per alert)
    assert bus_connections() == connections_before


def test_without_a_session_bus_notify_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")

    async def scenario() -> tuple[bool, str]:
        notifications = DesktopNotifications()
        try:
            return await notifications.notify(TITLE, BODY), notifications.problem
        finally:
            notifications.close()

    sent, problem = run(scenario)
    assert not sent
    assert problem.startswith("The terminal cannot reach the desktop session's message bus (D-Bus)")


@pytest.mark.keyring
def test_a_click_on_the_notification_calls_back_the_alert_it_was_sent_for(
    notification_daemon: NotificationDaemon,
) -> None:
    clicked: list[str] = []

    async def scenario() -> None:
        notifications = DesktopNotifications()
        try:
            for title in ("first", "second"):
                assert await notifications.notify(title, BODY, on_clicked=lambda t=title: clicked.append(t))
            calls = await notification_daemon.wait_for(2)
            assert all("default" in call.actions for call in calls)  # a click is offered
            await notification_daemon.click(2)
            await wait_until(lambda: clicked, "the click reported")
        finally:
            notifications.close()

    run(scenario)
    assert clicked == ["second"]


@pytest.mark.keyring
def test_a_service_that_goes_away_and_comes_back(
    notification_daemon: NotificationDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        notifications = DesktopNotifications()
        try:
            assert await notifications.notify("before", BODY)
            await notification_daemon.wait_for(1)

            notification_daemon.stop()
            assert not await notifications.notify("while away", BODY)
            assert notifications.problem.startswith("No desktop notification service is running")

            notification_daemon.start()  # a new service, with a call log of its own
            assert await notifications.notify("after", BODY)
            assert notifications.problem == ""
            assert [call.summary for call in await notification_daemon.wait_for(1)] == ["after"]
        finally:
            notifications.close()

    with caplog.at_level(logging.INFO, logger=OUR_LOGGER):
        run(scenario)
    said = [r.getMessage() for r in caplog.records if r.name == OUR_LOGGER]
    assert len(said) == 2, said
    assert said[0].startswith("No desktop notification service is running")
    assert said[1] == "Desktop notifications work again."


@pytest.mark.keyring
def test_a_hung_service_costs_each_alert_the_timeout_and_never_blocks_the_loop(
    notification_daemon: NotificationDaemon,
) -> None:
    timeout = 1.0

    async def scenario() -> None:
        notifications = DesktopNotifications(timeout=timeout)
        ticks = 0

        async def ticker() -> None:  # the rest of the program, on the same loop
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        try:
            with notification_daemon.hung():
                started = asyncio.get_running_loop().time()
                sent = await asyncio.gather(*(notifications.notify(f"alert {i}", BODY) for i in range(5)))
                took = asyncio.get_running_loop().time() - started
                ticks_while_hung = ticks
            assert sent == [False] * 5
            # together, not one after the other (that would be 5 s): the calls did not pile up
            assert took < 2.5 * timeout, took
            assert ticks_while_hung >= 20  # the loop went on running while the service did not answer
            assert notifications.problem.startswith(
                "The system's notification service did not answer within 1 seconds"
            )
            # the service answers again: the next alert gets through
            assert await notifications.notify("after", BODY)
            assert notifications.problem == ""
            calls = await notification_daemon.wait_for(1)
            assert calls[-1].summary == "after"
        finally:
            ticking.cancel()
            notifications.close()

    run(scenario)
