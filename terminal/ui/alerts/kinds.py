"""The fields of each kind of alert condition, one page each, for the alert dialog.

A page reads its fields into the dict pydantic validates as the condition (what it
cannot even read, a level of "abc", it names under the field itself) and fills them
from a saved condition. Each page has its own error lines: the dialog shows pydantic's
complaint about ``condition.<kind>.<field>`` under that field, and one about the
condition as a whole under ``whole``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from terminal.alerts.expressions import ExpressionError, parse
from terminal.alerts.rules import (
    Direction,
    FeedDown,
    IndicatorCondition,
    LineCross,
    Move,
    PnlBeyond,
    PriceCross,
    VolumeSpike,
)
from terminal.alerts.words import number
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.ui.alerts.entry import int_bounds, plain_number, read_number
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import Theme

SymbolUse = Literal["needed", "fixed", "optional", "none"]
Problems = dict[str, str]

CROSSING = (
    ("Either way", Direction.EITHER),
    ("Up through it", Direction.UP),
    ("Down through it", Direction.DOWN),
)
MOVING = (("Up or down", Direction.EITHER), ("Up", Direction.UP), ("Down", Direction.DOWN))


def _direction_box(parent: QWidget, words: tuple[tuple[str, Direction], ...]) -> QComboBox:
    box = QComboBox(parent)
    for text, direction in words:
        box.addItem(text, direction.value)
    return box


def _set_direction(box: QComboBox, direction: Direction) -> None:
    box.setCurrentIndex(max(0, box.findData(direction.value)))


def _timeframe_box(parent: QWidget) -> QComboBox:
    box = QComboBox(parent)
    box.addItems(list(TIMEFRAMES))
    return box


def _spin(parent: QWidget, bounds: tuple[int, int], value: int, suffix: str) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(*bounds)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class KindPage(QWidget):
    """The fields of one kind of condition."""

    kind: ClassVar[str]
    title: ClassVar[str]  # as the kind list shows it
    hint: ClassVar[str]  # what it watches, in a sentence
    names: ClassVar[tuple[str, ...]]  # its fields, as pydantic names them
    whole: ClassVar[str]  # where a complaint about the condition as a whole is shown
    symbol_use: ClassVar[SymbolUse] = "needed"

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors = FieldErrors(self, self.names, theme.down)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        note = QLabel(self.hint, self)
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.muted};")
        self.form.addRow(note)

    @property
    def timeframe(self) -> str | None:
        """The condition's own timeframe (its bar), if it has one."""
        return None

    def read(self, problems: Problems) -> dict[str, Any]:
        """The condition's fields as typed; what cannot be read goes into ``problems``."""
        raise NotImplementedError

    def fill(self, condition: Any) -> None:
        raise NotImplementedError

    def _number(
        self,
        edit: QLineEdit,
        name: str,
        what: str,
        problems: Problems,
        *,
        needed: bool = True,
        example: str = "",
    ) -> float | None:
        try:
            value = read_number(edit.text(), what, example or "65000 or 0.00123")
        except ValueError as exc:
            problems[name] = str(exc)
            return None
        if value is None and needed:
            problems[name] = f"Type {what[0].lower()}{what[1:]}."
        return value


class PricePage(KindPage):
    kind, title, names, whole = "price", "Price level", ("level", "direction"), "level"
    hint = "Fires when the price crosses the level."

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.level = QLineEdit(self)
        self.level.setPlaceholderText("e.g. 65000")
        self.direction = _direction_box(self, CROSSING)
        self.form.addRow("Level", self.errors.under(self.level, "level"))
        self.form.addRow("Crossing", self.errors.under(self.direction, "direction"))

    def read(self, problems: Problems) -> dict[str, Any]:
        level = self._number(self.level, "level", "The price level", problems)
        return {"kind": self.kind, "level": level, "direction": self.direction.currentData()}

    def fill(self, condition: PriceCross) -> None:
        self.level.setText(plain_number(condition.level))
        _set_direction(self.direction, condition.direction)


class LinePage(KindPage):
    """A line drawn on the chart: its points are the drawing's (moved on the chart, not
    here); only the direction of the crossing is the user's to change."""

    kind, title, names, whole = "line", "Drawn line", ("line", "direction"), "line"
    hint = "Fires when the price crosses the line drawn on the chart (move the line there to change it)."
    symbol_use = "fixed"  # the line is drawn on this symbol's chart

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.line: LineCross | None = None
        self.points = QLabel(self)
        self.points.setWordWrap(True)
        self.direction = _direction_box(self, CROSSING)
        self.form.addRow("Line", self.errors.under(self.points, "line"))
        self.form.addRow("Crossing", self.errors.under(self.direction, "direction"))

    def read(self, problems: Problems) -> dict[str, Any]:
        if self.line is None:  # pragma: no cover - the page is offered only with a line
            problems["line"] = "This alert has no line: make it from a line's menu on the chart."
            return {"kind": self.kind}
        return {**self.line.model_dump(), "direction": self.direction.currentData()}

    def fill(self, condition: LineCross) -> None:
        self.line = condition
        self.points.setText(line_words(condition))
        _set_direction(self.direction, condition.direction)


def _when(ms: int) -> str:
    return f"{dt.datetime.fromtimestamp(ms / 1000):%Y-%m-%d %H:%M}"


def line_words(line: LineCross) -> str:
    """The line's points, for the user to recognise it."""
    if line.shape == "hline":
        return f"horizontal at {number(line.p1)}"
    shape = "trend line" if line.shape == "trend" else "ray"
    return f"{shape} from {number(line.p1)} ({_when(line.t1_ms)}) to {number(line.p2)} ({_when(line.t2_ms)})"


class MovePage(KindPage):
    kind, title, names, whole = "move", "% move", ("percent", "minutes", "direction"), "percent"
    hint = "Fires when the price moves by the percentage within the minutes before."

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.percent = QLineEdit(self)
        self.percent.setPlaceholderText("e.g. 2.5")
        self.minutes = _spin(self, int_bounds(Move, "minutes"), 5, " min")
        self.direction = _direction_box(self, MOVING)
        self.form.addRow("Move, %", self.errors.under(self.percent, "percent"))
        self.form.addRow("Within", self.errors.under(self.minutes, "minutes"))
        self.form.addRow("Direction", self.errors.under(self.direction, "direction"))

    def read(self, problems: Problems) -> dict[str, Any]:
        percent = self._number(self.percent, "percent", "The move in percent", problems, example="2.5")
        return {
            "kind": self.kind,
            "percent": percent,
            "minutes": self.minutes.value(),
            "direction": self.direction.currentData(),
        }

    def fill(self, condition: Move) -> None:
        self.percent.setText(plain_number(condition.percent))
        self.minutes.setValue(condition.minutes)
        _set_direction(self.direction, condition.direction)


class IndicatorPage(KindPage):
    """The condition is checked as it is typed: what ``parse`` cannot read is said under
    the field at once, and what it reads is shown back ("RSI 14 > 70")."""

    kind, title, names, whole = "indicator", "Indicator condition", ("expression", "timeframe"), "expression"
    hint = "Fires when the condition becomes true on the bars of the timeframe."

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.expression = QLineEdit(self)
        self.expression.setPlaceholderText(
            "e.g. RSI 14 > 70, EMA 9 crosses above EMA 21, close outside BB 20 2"
        )
        self.reads_as = QLabel(self)
        self.reads_as.setStyleSheet(f"color: {theme.muted};")
        self.reads_as.hide()
        self.timeframe_box = _timeframe_box(self)
        self.form.addRow("Condition", self.errors.under(self.expression, "expression"))
        self.form.addRow("", self.reads_as)
        self.form.addRow("Timeframe", self.errors.under(self.timeframe_box, "timeframe"))
        self.expression.textChanged.connect(self.check)

    @property
    def timeframe(self) -> str | None:
        return self.timeframe_box.currentText()

    def check(self) -> str | None:
        """The condition as read, or None (with the reason under the field)."""
        text = self.expression.text().strip()
        self.errors.labels["expression"].hide()
        self.reads_as.hide()
        if not text:
            return None
        try:
            expression = str(parse(text))
        except ExpressionError as exc:
            message = str(exc)
            self.errors.show("expression", message[:1].upper() + message[1:])  # a sentence under the field
            return None
        self.reads_as.setText(f"Reads as: {expression}")
        self.reads_as.show()
        return expression

    def read(self, problems: Problems) -> dict[str, Any]:
        expression = self.check()
        if expression is None:
            problems["expression"] = (
                self.errors.text("expression")
                or "Write a condition, e.g. RSI 14 > 70 or EMA 9 crosses above EMA 21."
            )
        return {"kind": self.kind, "expression": expression, "timeframe": self.timeframe_box.currentText()}

    def fill(self, condition: IndicatorCondition) -> None:
        self.expression.setText(condition.expression)
        self.timeframe_box.setCurrentText(condition.timeframe)


class VolumePage(KindPage):
    kind, title, names, whole = "volume", "Volume spike", ("factor", "bars", "timeframe"), "factor"
    hint = "Fires when a bar's volume reaches the factor times the average of the bars before it."

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.factor = QLineEdit("3", self)
        self.factor.setPlaceholderText("e.g. 3")
        self.bars = _spin(self, int_bounds(VolumeSpike, "bars"), 20, " bars")
        self.timeframe_box = _timeframe_box(self)
        self.form.addRow("Factor, ×", self.errors.under(self.factor, "factor"))
        self.form.addRow("Average of", self.errors.under(self.bars, "bars"))
        self.form.addRow("Timeframe", self.errors.under(self.timeframe_box, "timeframe"))

    @property
    def timeframe(self) -> str | None:
        return self.timeframe_box.currentText()

    def read(self, problems: Problems) -> dict[str, Any]:
        factor = self._number(self.factor, "factor", "The volume factor", problems, example="3")
        return {
            "kind": self.kind,
            "factor": factor,
            "bars": self.bars.value(),
            "timeframe": self.timeframe_box.currentText(),
        }

    def fill(self, condition: VolumeSpike) -> None:
        self.factor.setText(plain_number(condition.factor))
        self.bars.setValue(condition.bars)
        self.timeframe_box.setCurrentText(condition.timeframe)


class _TicksPage(KindPage):
    """Checkboxes, at least one ticked."""

    field: ClassVar[str]
    choices: ClassVar[tuple[tuple[str, str], ...]]  # (value, label)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        row = QWidget(self)
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        self.ticks: dict[str, QCheckBox] = {}
        for value, label in self.choices:
            self.ticks[value] = box = QCheckBox(label, row)
            box.setChecked(True)
            line.addWidget(box)
        line.addStretch(1)
        self.form.addRow("When", self.errors.under(row, self.field))

    def read(self, problems: Problems) -> dict[str, Any]:
        chosen = [value for value, box in self.ticks.items() if box.isChecked()]
        if not chosen:
            problems[self.field] = (
                "Tick at least one: " + " or ".join(label for _, label in self.choices) + "."
            )
        return {"kind": self.kind, self.field: chosen}

    def fill(self, condition: Any) -> None:
        chosen = getattr(condition, self.field)
        for value, box in self.ticks.items():
            box.setChecked(value in chosen)


class OrderPage(_TicksPage):
    kind, title, names, whole = "order", "Order filled/cancelled/rejected", ("outcomes",), "outcomes"
    hint = "Fires when one of your orders on this market ends so (any symbol if none is given)."
    symbol_use = "optional"
    field = "outcomes"
    choices = (("filled", "filled"), ("cancelled", "cancelled"), ("rejected", "rejected"))


class PnlPage(KindPage):
    kind, title, names, whole = "pnl", "Position PnL", ("above", "below"), "below"
    hint = "Fires when the unrealised PnL of your position in the symbol (in its quote currency) goes beyond."

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.above = QLineEdit(self)
        self.above.setPlaceholderText("a profit to take, e.g. 500 (empty: none)")
        self.below = QLineEdit(self)
        self.below.setPlaceholderText("a loss to cut, e.g. -200 (empty: none)")
        self.form.addRow("Rises above", self.errors.under(self.above, "above"))
        self.form.addRow("Falls below", self.errors.under(self.below, "below"))

    def read(self, problems: Problems) -> dict[str, Any]:
        above = self._number(
            self.above, "above", "The PnL to rise above", problems, needed=False, example="500"
        )
        below = self._number(
            self.below, "below", "The PnL to fall below", problems, needed=False, example="-200"
        )
        return {"kind": self.kind, "above": above, "below": below}

    def fill(self, condition: PnlBeyond) -> None:
        self.above.setText("" if condition.above is None else plain_number(condition.above))
        self.below.setText("" if condition.below is None else plain_number(condition.below))


class FeedPage(KindPage):
    kind, title, names, whole = "feed", "Feed down", ("seconds",), "seconds"
    hint = "Fires when this market's feed has been stale or down for the time given."
    symbol_use = "none"

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(theme, parent)
        self.seconds = _spin(self, int_bounds(FeedDown, "seconds"), 30, " s")
        self.form.addRow("For", self.errors.under(self.seconds, "seconds"))

    def read(self, problems: Problems) -> dict[str, Any]:
        return {"kind": self.kind, "seconds": self.seconds.value()}

    def fill(self, condition: FeedDown) -> None:
        self.seconds.setValue(condition.seconds)


class JobPage(_TicksPage):
    kind, title, names, whole = "job", "Job finished", ("jobs",), "jobs"
    hint = "Fires when a research job or a history download finishes, on any market."
    symbol_use = "none"
    field = "jobs"
    choices = (("research", "a research job"), ("download", "a download"))


#: In the order the kind list offers them.
PAGES: tuple[type[KindPage], ...] = (
    PricePage,
    LinePage,
    MovePage,
    IndicatorPage,
    VolumePage,
    OrderPage,
    PnlPage,
    FeedPage,
    JobPage,
)
