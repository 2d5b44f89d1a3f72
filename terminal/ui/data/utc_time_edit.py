"""A date and time field in UTC, read and set in epoch milliseconds.

Candle times are UTC-aligned everywhere in the terminal (a 1d candle opens at
00:00 UTC), so the data manager's forms speak UTC too, whatever the
machine's time zone: what the user types is what the tables show.
"""

from __future__ import annotations

from PySide6.QtCore import QDateTime, QTimeZone
from PySide6.QtWidgets import QDateTimeEdit, QWidget

FORMAT = "yyyy-MM-dd HH:mm"


class UtcTimeEdit(QDateTimeEdit):
    def __init__(self, ms: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTimeZone(QTimeZone.utc())
        self.setDisplayFormat(FORMAT)
        self.setCalendarPopup(True)
        self.set_ms(ms)

    def set_ms(self, ms: int) -> None:
        self.setDateTime(QDateTime.fromMSecsSinceEpoch(ms, QTimeZone.utc()))

    def ms(self) -> int:
        """The time shown, to the minute (the field shows no seconds)."""
        value = self.dateTime().toMSecsSinceEpoch()
        return value - value % 60_000
