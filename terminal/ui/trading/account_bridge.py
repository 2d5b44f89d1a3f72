"""From a broker's account events to the panels, coalesced (the FrameBridge
pattern of ``terminal/ui/market/bridge.py``, through the same ``Throttle``).

A busy account publishes many events a second (a resting order filled by
every trade, a balance per fill); the bridge only ORs what kind of thing
changed and emits ``changed`` with the kinds at most twice per ``PANEL_MS``:
at once after a quiet spell, and at the end of the interval for what came
during it. The panels then read the broker's current state: nothing repaints
per event, and nothing is lost (the state read is always the newest).
"""

from __future__ import annotations

from enum import Flag, auto

from PySide6.QtCore import QObject, Signal

from terminal.trading.broker import Broker
from terminal.trading.events import (
    AccountEvent,
    AccountReset,
    BalanceChanged,
    FillAdded,
    OrderUpdated,
    PositionChanged,
)
from terminal.ui.throttle import Throttle

#: tables and marks are read by people: ten refreshes a second is plenty
PANEL_MS = 100


class AccountTopic(Flag):
    ORDERS = auto()
    FILLS = auto()
    POSITIONS = auto()
    BALANCES = auto()
    RESET = auto()

    @classmethod
    def everything(cls) -> AccountTopic:
        return cls.ORDERS | cls.FILLS | cls.POSITIONS | cls.BALANCES | cls.RESET


_TOPIC = {
    FillAdded: AccountTopic.FILLS,
    OrderUpdated: AccountTopic.ORDERS,
    PositionChanged: AccountTopic.POSITIONS,
    BalanceChanged: AccountTopic.BALANCES,
    AccountReset: AccountTopic.everything(),
}


class AccountBridge(QObject):
    changed = Signal(object)  # AccountTopic flags

    def __init__(self, interval_ms: int = PANEL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.broker: Broker | None = None
        self._pending = AccountTopic(0)
        self._throttle = Throttle(self._flush, interval_ms, self)
        self.events = 0  # heard, for tests and the benchmark
        self.frames = 0  # emitted

    def attach(self, broker: Broker | None) -> None:
        """Listen to ``broker`` (None: to nothing); everything counts as changed."""
        if self.broker is not None:
            self.broker.unsubscribe(self._on_event)
        self.broker = broker
        if broker is not None:
            broker.subscribe(self._on_event)
        self._queue(AccountTopic.everything())

    def _on_event(self, event: AccountEvent) -> None:
        """The broker's listener (event loop thread): cheap, no Qt signal per event."""
        self.events += 1
        self._queue(_TOPIC.get(type(event), AccountTopic.everything()))

    def _queue(self, topics: AccountTopic) -> None:
        self._pending |= topics
        self._throttle()

    def flush_now(self) -> None:
        """Emit what is pending at once (after the user's own action: no waiting)."""
        self._throttle.flush()

    def _flush(self) -> None:
        topics, self._pending = self._pending, AccountTopic(0)
        if topics:
            self.frames += 1
            self.changed.emit(topics)
