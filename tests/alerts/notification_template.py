"""python-dbusmock's notification_daemon template, with the service's signals declared.

The stock template answers Notify and the rest, but its introspection lists methods
only; a client that builds its proxy from introspection, as desktop-notifier does
(through dbus-fast), then never subscribes to ActionInvoked or NotificationClosed.
Every desktop's notification service declares both (the notification
specification's "Signals"), so this template declares them too; the tests emit
them with the Mock interface's EmitSignal (``NotificationDaemon.click``).

It runs inside python-dbusmock, on the system's Python (dbus-python): see
tests/alerts/notification_daemon.py.
"""
# ruff: noqa: N802 - the D-Bus names of the specification

import dbus.service  # type: ignore[import-not-found]
from dbusmock.templates import notification_daemon  # type: ignore[import-not-found]

BUS_NAME = notification_daemon.BUS_NAME
MAIN_OBJ = notification_daemon.MAIN_OBJ
MAIN_IFACE = notification_daemon.MAIN_IFACE
SYSTEM_BUS = notification_daemon.SYSTEM_BUS


@dbus.service.signal(MAIN_IFACE, signature="us")
def ActionInvoked(self, id, action_key):
    """The user chose an action ("default": clicked the notification)."""


@dbus.service.signal(MAIN_IFACE, signature="uu")
def NotificationClosed(self, id, reason):
    """A notification went (expired, dismissed, closed by a call)."""


def load(mock, parameters):
    notification_daemon.load(mock, parameters)
    # introspection lists what mock.methods holds; these are signals, never called as methods
    for signal in (ActionInvoked, NotificationClosed):
        mock.methods[MAIN_IFACE][signal.__name__] = (signal._dbus_signature, "", "", signal)
