"""One throttle for every "many changes, one repaint" path (the frame bridge,
the account bridge): a call is passed on at once when the throttle is idle
(the start of an interval), and calls that come during the interval are
passed on once, together, at its end.

The first change after a quiet spell is therefore on screen without waiting
a frame, and however fast changes come, the target runs at most twice per
interval: at its start and at its end (the idea of qutebrowser's
``misc/throttle.py``). A burst's last change is never dropped: the end of
the interval always passes on what came during it.

    throttle = Throttle(self._flush, interval_ms=16, parent=self)
    throttle()        # idle: _flush runs now, and an interval starts
    throttle()        # within the interval: _flush runs once at its end
    throttle.flush()  # what is waiting, now (after the user's own action)
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer


class Throttle(QObject):
    def __init__(self, target: Callable[[], None], interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._target = target
        self._pending = False  # called during the interval: the target runs at its end
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Precise: a coarse timer may end an interval up to 5% early, and the rate cap with it.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._interval_ended)

    @property
    def idle(self) -> bool:
        """No interval is running: the next call is passed on at once."""
        return not self._timer.isActive()

    @property
    def pending(self) -> bool:
        """A call waits for the end of the interval."""
        return self._pending

    def __call__(self) -> None:
        if self._timer.isActive():
            self._pending = True
            return
        self._fire()

    def flush(self) -> None:
        """Run the target now if a call is waiting (the interval goes on)."""
        if self._pending:
            self._pending = False
            self._target()

    def cancel(self) -> None:
        """Forget a waiting call and end the interval: the next call runs at once."""
        self._pending = False
        self._timer.stop()

    def _fire(self) -> None:
        self._pending = False
        self._timer.start()  # first: calls the target makes itself wait for the interval's end
        self._target()

    def _interval_ended(self) -> None:
        if self._pending:
            self._fire()  # and a new interval, so a steady stream stays at one call per interval
