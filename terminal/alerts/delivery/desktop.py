"""A fired alert as the operating system's own notification, with the sound the user picked.

desktop-notifier speaks to each system's service: org.freedesktop.Notifications
over D-Bus on Linux (through dbus-fast, asyncio-native), WinRT toasts on
Windows, the notification centre on macOS. ``DesktopNotifications.notify``
runs on the application's asyncio loop (qasync's, in the window) and never
blocks it: every send is awaited, and bounded by a timeout, so a service that
hangs costs each alert a few seconds of waiting at most and never a pile of
calls that all wait on one another.

A notification that cannot be shown is not an error the alert engine must
handle: the alert still fires, and the panel and the window's toast still say
so. ``notify`` returns False and ``problem`` says why in a plain sentence; the
log says it once, not per alert, and says again when notifications work again.

A click on the notification (its "default" action, where the service offers one)
calls the ``on_clicked`` the alert was sent with: the window comes forward with the
firing in its alerts panel.

The sound goes with the notification. On Linux it is the ``sound-name`` or
``sound-file`` hint of Notify, and the desktop's notification service plays
it (GNOME Shell and others do; a service without sound support stays silent).
The freedesktop sound theme has no sound named "default" (desktop-notifier's
default), so there the default is the theme's "message-new-instant", the one
desktops play for a new message. Windows and macOS play their own alert sound
for "default"; neither can play an arbitrary file with a notification, so a
chosen file plays their alert sound instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from desktop_notifier import DEFAULT_SOUND, DesktopNotifier, Icon, Notification, Urgency
from desktop_notifier import Sound as NotifierSound

from terminal import APP_NAME

__all__ = ["SEND_TIMEOUT_S", "SOUND_FILE_SUFFIXES", "DesktopNotifications", "Sound"]

logger = logging.getLogger(__name__)

#: how long one notification may take to reach the system's service
SEND_TIMEOUT_S = 5.0
#: the sound files a notification service plays (libcanberra on Linux: WAV and Ogg Vorbis)
SOUND_FILE_SUFFIXES = (".wav", ".ogg", ".oga")
#: the freedesktop sound theme's sound for a new message (there is no "default" in the theme)
FREEDESKTOP_ALERT_SOUND = "message-new-instant"

#: desktop-notifier catches every failure of a send and logs it, with its traceback, on this
#: logger instead of raising; ``_FailureCatcher`` takes those records for the send that made them
_NOTIFIER_FAILURES_LOGGER = "desktop_notifier.backends.base"
#: what the bus answers when nothing serves org.freedesktop.Notifications
_NO_SERVICE = frozenset(
    {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"}
)
_failures: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "desktop_notification_failures", default=None
)


@dataclass(frozen=True)
class Sound:
    """What the user picked: no sound, the system's alert sound, or a sound file."""

    kind: Literal["none", "default", "file"] = "default"
    path: str = ""  # for "file": a .wav, .ogg or .oga file the user chose


class _FailureCatcher(logging.Filter):
    """Takes desktop-notifier's "Notification failed" records while one of our sends runs.

    The record carries the exception that ``notify`` turns into ``problem``; kept
    out of the log, it cannot repeat a traceback there for every alert while the
    service is away. Records logged outside our sends pass through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        caught = _failures.get()
        if caught is None:
            return True
        caught.append(record)
        return False


_CATCHER = _FailureCatcher()


class DesktopNotifications:
    """The operating system's notifications, as the terminal's alerts send them."""

    def __init__(
        self, app_name: str = APP_NAME, icon: Path | None = None, *, timeout: float = SEND_TIMEOUT_S
    ) -> None:
        self._app_name = app_name
        self._icon = Icon(path=icon.absolute()) if icon is not None else None
        self._timeout = timeout
        self._notifier: DesktopNotifier | None = None
        # one send at a time: the first one connects, and two at once would open two connections
        self._sending = asyncio.Lock()
        self._missing_sounds: set[str] = set()  # sound files already said to be missing
        #: why the last notification was not shown, in a plain sentence; "" when it was
        self.problem = ""
        failures_logger = logging.getLogger(_NOTIFIER_FAILURES_LOGGER)
        if _CATCHER not in failures_logger.filters:
            failures_logger.addFilter(_CATCHER)

    async def notify(
        self,
        title: str,
        body: str,
        sound: Sound = Sound(),
        on_clicked: Callable[[], object] | None = None,
        *,
        since: float | None = None,
    ) -> bool:
        """Shows ``title`` and ``body`` as a notification with ``sound``; True when the
        system's notification service took it. ``on_clicked`` runs on this loop when the
        user clicks it. Never raises (but for cancellation): when the service is missing,
        refuses or does not answer, returns False and ``problem`` says why.

        ``since``: when it was asked for, on this loop's clock (``loop.time()``), for one
        that waited in a queue: the timeout counts from then, and one whose time is up when
        its turn comes is not sent. So notifications queued behind a send that hung fail
        with it, as calls made at once do, instead of each waiting the timeout in turn."""
        loop = asyncio.get_running_loop()
        deadline = (loop.time() if since is None else since) + self._timeout
        notification = Notification(
            title, body, urgency=Urgency.Normal, sound=self._sound(sound), on_clicked=on_clicked
        )
        sending = False
        try:
            if deadline <= loop.time():
                raise TimeoutError  # waited its whole time behind others: as if it had waited here
            async with asyncio.timeout_at(deadline):
                async with self._sending:
                    sending = True
                    problem = await self._send(notification)
        except TimeoutError:
            if sending:  # the send itself hung (not a wait for another one): start afresh next time
                self._drop_notifier()
            problem = (
                f"The system's notification service did not answer within {self._timeout:g} seconds, "
                "so the alert was not shown as a desktop notification. The alerts panel still lists it; "
                "if this goes on, restart the desktop's notification service or log in again."
            )
        self._settle(problem)
        return not problem

    def close(self) -> None:
        """Closes the connection to the notification service (the terminal is quitting)."""
        self._drop_notifier()

    async def _send(self, notification: Notification) -> str:
        """Sends; "" when the service took the notification, else what went wrong."""
        if self._notifier is None:
            try:
                self._notifier = DesktopNotifier(app_name=self._app_name, app_icon=self._icon)
            except Exception as error:  # noqa: BLE001 - a platform's backend that cannot load: said, not raised
                return (
                    f"Desktop notifications cannot be used on this system ({type(error).__name__}: {error}). "
                    "The alerts panel still lists every alert."
                )
        caught: list[logging.LogRecord] = []
        token = _failures.set(caught)
        taken = False
        try:
            await self._notifier.send_notification(notification)
            # desktop-notifier logs a failed send instead of raising it; a send it
            # did not log as failed reached the service
            taken = not caught
        finally:
            _failures.reset(token)
            if not taken:  # failed or cancelled half-way: its connection may be dead or half made
                self._drop_notifier()
        return "" if taken else _explain(caught)

    def _sound(self, sound: Sound) -> NotifierSound | None:
        if sound.kind == "none":
            return None
        on_linux = platform.system() == "Linux"
        default = NotifierSound(name=FREEDESKTOP_ALERT_SOUND) if on_linux else DEFAULT_SOUND
        if sound.kind == "default" or not on_linux:
            return default
        path = Path(sound.path).expanduser().absolute()
        if not sound.path or not path.is_file():
            if sound.path not in self._missing_sounds:
                self._missing_sounds.add(sound.path)
                logger.warning(
                    "The alert sound file %s was not found, so the system's alert sound plays instead. "
                    "Choose the file again in the alert's delivery settings.",
                    sound.path or "(none chosen)",
                )
            return default
        # The notification spec's sound-file is a path, and GNOME Shell reads it as one
        # (Gio.File.new_for_path): desktop-notifier would send path.as_uri(), a file:// URI,
        # unless the "URI" it is given is the path itself.
        return NotifierSound(uri=str(path))

    def _settle(self, problem: str) -> None:
        """Remembers ``problem`` and logs a change of it: once, not per alert."""
        if problem and problem != self.problem:
            logger.warning("%s", problem)
        elif not problem and self.problem:
            logger.info("Desktop notifications work again.")
        self.problem = problem

    def _drop_notifier(self) -> None:
        """Forgets the notifier, closing the D-Bus connection it holds, if any.

        desktop-notifier connects on the first send and, until a send succeeds,
        opens a new connection for each one without closing the last: closed here,
        a desktop with a session bus but no notification service does not gather
        a connection per alert. A new notifier also finds a service that came back.
        """
        notifier, self._notifier = self._notifier, None
        # the D-Bus backend's connection (dbus-fast's MessageBus); other backends have none
        bus = getattr(getattr(notifier, "_backend", None), "bus", None)
        if bus is not None and getattr(bus, "connected", False):
            bus.disconnect()


def _explain(caught: list[logging.LogRecord]) -> str:
    """The plain sentence for a send desktop-notifier logged as failed."""
    error = next((r.exc_info[1] for r in caught if r.exc_info and r.exc_info[1] is not None), None)
    name = type(error).__name__ if error is not None else ""
    text = str(error) if error is not None else ""
    # D-Bus names its errors: dbus-fast's DBusError carries the name as .type
    dbus_error = str(getattr(error, "type", ""))
    if dbus_error in _NO_SERVICE:
        return (
            "No desktop notification service is running, so alerts are not shown as desktop notifications. "
            "Start your desktop's notification daemon (or log in to a desktop session); the alerts panel "
            "still lists every alert."
        )
    if name == "InvalidAddressError" or isinstance(error, (ConnectionError, FileNotFoundError)):
        return (
            "The terminal cannot reach the desktop session's message bus (D-Bus), so alerts are not shown "
            "as desktop notifications. Start the terminal from a desktop session; the alerts panel still "
            "lists every alert."
        )
    detail = f" ({name}: {text})" if error is not None else ""
    return (
        f"The system's notification service did not take the alert{detail}. Check that notifications are "
        f"allowed for {APP_NAME} in the system's settings; the alerts panel still lists every alert."
    )
