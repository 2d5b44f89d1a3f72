"""A window's message channel: short plain-word messages ("Bought 0.01 BTC at
64,000", "Nothing to flatten") that any layer posts and the window shows.

Qt-free on the sending side: a poster holds ``Messages.post`` (or the object)
and never a widget, so the trading desk, the keyboard handlers and, later,
alerts and research jobs can say something without knowing the window. The
window subscribes its status bar; each message also goes to the log, at INFO
or, for a bad outcome, WARNING.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    text: str
    bad: bool = False  # something did not happen as asked


Listener = Callable[[Message], None]


class Messages:
    """One window's channel; ``last`` is the newest message (None before the first)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.last: Message | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def post(self, text: str, bad: bool = False) -> None:
        message = Message(text, bad)
        self.last = message
        (log.warning if bad else log.info)("%s", text)
        for listener in list(self._listeners):
            listener(message)
