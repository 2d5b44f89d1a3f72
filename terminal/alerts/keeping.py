"""Where the alerts and the history of their firings are kept: the history file, or memory.

    book = AlertBook(candle_store)       # or AlertBook(None): no history file, memory only
    alerts, last_fired = book.load()     # validated alerts in the panel's order; {id: fired_ms}
    book.problems                        # the rows that could not be read, in plain words
    book.save(alert); book.delete(alert.id)
    book.record(firing); book.history(100)

The file keeps each alert as the JSON ``Alert.to_json()`` gives (webhooks by name only:
their URLs are in the keyring) through ``terminal.store.alerts``. A row that no longer
validates (written by a newer terminal, or by hand) is not lost: it stays in the file as
it was, is left out of what ``load`` returns, and is named in ``problems``; nothing here
rewrites the whole list, so saving other alerts never drops it.

With a history file every call blocks on SQLite: a save or a firing is one row, a load a
few hundred at most, so the caller runs them in a worker thread where the GUI thread
must not wait (each thread gets its own connection from the store). Without one (the
file could not be opened) the same calls work on memory and last as long as the process.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from pydantic import ValidationError

from terminal.alerts.rules import Alert, Firing
from terminal.store.alerts import FIRED_KEPT, AlertRecords, FiredRecord
from terminal.store.candles import CandleStore

log = logging.getLogger(__name__)


class AlertBook:
    """The alerts and their firings, in the history file ``store`` holds open or, with
    ``store`` None, in memory (keeping the newest ``FIRED_KEPT`` firings either way)."""

    def __init__(self, store: CandleStore | None) -> None:
        self.records = None if store is None else AlertRecords(store)
        #: what the last ``load`` could not read, one plain sentence per alert
        self.problems: list[str] = []
        # memory, when there is no file; the lock lets worker threads share it
        self._lock = threading.Lock()
        self._alerts: dict[str, Alert] = {}  # in the panel's order
        self._fired: deque[Firing] = deque(maxlen=FIRED_KEPT)  # oldest first

    @property
    def persisted(self) -> bool:
        """Whether alerts outlive the process (False: kept in memory only)."""
        return self.records is not None

    def load(self) -> tuple[list[Alert], dict[str, int]]:
        """The alerts that validate, in the panel's order, and each alert's last firing
        time (epoch ms) by id. Rows that do not validate are reported in ``problems``."""
        if self.records is None:
            with self._lock:
                return list(self._alerts.values()), _last_fired(self._fired)
        alerts: list[Alert] = []
        problems: list[str] = []
        for alert_id, body in self.records.load():
            try:
                alert = Alert.from_json(body)
            except ValidationError as exc:
                problems.append(_unreadable(alert_id, _reason(exc)))
                continue
            if alert.id != alert_id:
                problems.append(_unreadable(alert_id, f"its text names another alert, {alert.id}"))
                continue
            alerts.append(alert)
        for problem in problems:
            log.warning("%s", problem)
        self.problems = problems
        return alerts, self.records.last_fired()

    def save(self, alert: Alert) -> None:
        """Keep ``alert``: a new one goes at the end of the list, a known one changes where it stands."""
        if self.records is None:
            with self._lock:
                self._alerts[alert.id] = alert
            return
        self.records.put(alert.id, alert.to_json())

    def delete(self, alert_id: str) -> bool:
        """Forget one alert (its firings stay in the history); False when there is none of that id."""
        if self.records is None:
            with self._lock:
                return self._alerts.pop(alert_id, None) is not None
        return self.records.delete(alert_id)

    def record(self, firing: Firing) -> None:
        """Add one firing to the history."""
        if self.records is None:
            with self._lock:
                self._fired.append(firing)
            return
        self.records.add_fired(
            firing.alert_id,
            firing.fired_ms,
            firing.title,
            firing.message,
            value=firing.value,
            symbol=firing.symbol,
            exchange=firing.exchange,
        )

    def history(self, limit: int = 500) -> list[Firing]:
        """The newest ``limit`` firings, newest first."""
        if self.records is None:
            with self._lock:
                # stable sort: of firings at the same time, the one recorded last comes first
                newest = sorted(reversed(self._fired), key=lambda f: f.fired_ms, reverse=True)
            return newest[:limit]
        return [_firing(record) for record in self.records.fired(limit)]

    def clear_history(self) -> None:
        """Forget every firing; the alerts stay."""
        if self.records is None:
            with self._lock:
                self._fired.clear()
            return
        self.records.clear_fired()


def _firing(record: FiredRecord) -> Firing:
    return Firing(
        alert_id=record.alert_id,
        fired_ms=record.fired_ms,
        title=record.title,
        message=record.message,
        value=record.value,
        symbol=record.symbol,
        exchange=record.exchange,
    )


def _last_fired(firings: deque[Firing]) -> dict[str, int]:
    last: dict[str, int] = {}
    for firing in firings:
        last[firing.alert_id] = max(firing.fired_ms, last.get(firing.alert_id, firing.fired_ms))
    return last


def _unreadable(alert_id: str, reason: str) -> str:
    return (
        f"Alert {alert_id} could not be read: {reason}. It stays in the history file unchanged "
        "and is not watched."
    )


def _reason(exc: ValidationError) -> str:
    """pydantic's first complaint in one line (the field and what is wrong with it)."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:
        return "its text is not an alert"
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = str(first["msg"]).removeprefix("Value error, ")  # pydantic's prefix for our own ValueErrors
    text = f"{where}: {msg}" if where else msg
    more = len(errors) - 1
    return text + (f" (and {more} more)" if more else "")
