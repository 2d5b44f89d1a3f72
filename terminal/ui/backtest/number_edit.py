"""A number field with bounds that says when a typed value is outside them.

A QSpinBox clamps: typed past its bounds, it silently puts back the last
value, and the user never learns why. This field steps with the arrows and
the wheel only inside the bounds, but takes whatever number is typed; the
form around it checks the value and shows what is wrong under the field.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator, QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QWidget

Number = int | float


def number_text(value: Number) -> str:
    """A number as a field shows it: ints plainly, floats without float noise."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.10g}"


def step_for(default: Number | None, integer: bool) -> float:
    """An arrow step that suits the default's size: 1 for counts, a tenth of
    the default's leading digit for prices and multipliers (2.0 steps by 0.1)."""
    if integer:
        return 1.0
    if not default:
        return 0.1
    return float(10 ** (math.floor(math.log10(abs(default))) - 1))


class NumberEdit(QAbstractSpinBox):
    """``value()`` is the number typed (None when the text is not one)."""

    edited = Signal()

    def __init__(
        self,
        value: Number,
        *,
        integer: bool,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        exclusive_maximum: bool = False,
        step: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.integer = integer
        self.minimum, self.maximum = minimum, maximum
        self.exclusive_minimum, self.exclusive_maximum = exclusive_minimum, exclusive_maximum
        self.step = step if step is not None else step_for(value, integer)
        self.setKeyboardTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not by the wheel (see wheelEvent)
        self.setAccelerated(True)
        self.lineEdit().textChanged.connect(lambda _text: self.edited.emit())
        self.set_value(value)

    # -- the value -------------------------------------------------------------------------
    def value(self) -> Number | None:
        text = self.text().strip().replace(",", "")
        try:
            number = float(text)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        if self.integer:
            return int(number) if number.is_integer() else None
        return number

    def set_value(self, value: Number) -> None:
        self.lineEdit().setText(number_text(int(value) if self.integer else float(value)))

    def inside(self, value: float) -> bool:
        """Whether ``value`` is within the bounds."""
        lo, hi = self.minimum, self.maximum
        if lo is not None and (value < lo or (self.exclusive_minimum and value == lo)):
            return False
        return not (hi is not None and (value > hi or (self.exclusive_maximum and value == hi)))

    def bounds_text(self) -> str:
        """The bounds in words, for tooltips and messages ("from 1 to 1,000")."""
        lo, hi = self.minimum, self.maximum

        def show(v: float) -> str:
            return f"{int(v):,}" if self.integer or float(v).is_integer() else number_text(v)

        if lo is not None and hi is not None and not (self.exclusive_minimum or self.exclusive_maximum):
            return f"from {show(lo)} to {show(hi)}"
        parts = []
        if lo is not None:
            parts.append(f"{'above' if self.exclusive_minimum else 'at least'} {show(lo)}")
        if hi is not None:
            parts.append(f"{'below' if self.exclusive_maximum else 'at most'} {show(hi)}")
        return " and ".join(parts)

    # -- QAbstractSpinBox ------------------------------------------------------------------
    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        return self._state(text), text, pos

    def _state(self, text: str) -> QValidator.State:
        stripped = text.strip().replace(",", "")
        if stripped in ("", "-", "+", ".", "-.", "+."):
            return QValidator.State.Intermediate
        try:
            float(stripped)
        except ValueError:
            # "1e" on the way to "1e-3" is fine to keep typing; letters are not
            if stripped[-1:] in ("e", "E", "-", "+") and not self.integer:
                return QValidator.State.Intermediate
            return QValidator.State.Invalid
        return QValidator.State.Acceptable

    def stepBy(self, steps: int) -> None:
        current = self.value()
        if current is None:
            return
        wanted = current + steps * self.step
        if not self.integer:
            wanted = round(wanted / self.step) * self.step  # stay on the step's grid
        # the arrows never leave the bounds: a step past one stops at it (or,
        # for an exclusive bound, one step inside it)
        lo, hi = self.minimum, self.maximum
        if lo is not None and not self.inside(wanted) and wanted <= lo:
            wanted = lo + (self.step if self.exclusive_minimum else 0.0)
        if hi is not None and not self.inside(wanted) and wanted >= hi:
            wanted = hi - (self.step if self.exclusive_maximum else 0.0)
        if not self.inside(wanted):
            return
        self.set_value(int(wanted) if self.integer else wanted)

    def wheelEvent(self, event: QWheelEvent) -> None:
        # in a scrolling form, a wheel turned over a field it is not in scrolls the form
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        current = self.value()
        if current is None:
            return flags
        if self.inside(current + self.step):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self.inside(current - self.step):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags
