"""A strategy's parameter form, built from its ``Params`` model.

One field per parameter (``terminal.backtest.strategy.param_specs``): numbers
in a ``NumberEdit`` that steps inside the bounds, switches as check boxes,
choices as combo boxes, anything else as text. The description and the
bounds are the tooltip. The form checks as the user types: a value outside
its bounds, or one the model refuses, is said in plain words under its
field; a rule between fields (fast shorter than slow) under the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from terminal.backtest.strategy import ParamSpec, StrategyParams, param_specs
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.field_errors import FieldErrors, pydantic_messages
from terminal.ui.theme import DARK, Theme

WHOLE = ""  # the error line of rules between fields, under the form

Field = NumberEdit | QCheckBox | QComboBox | QLineEdit


def field_title(name: str) -> str:
    """ "tolerance_pct" → "Tolerance %", "atr_period" → "ATR period"."""
    words = name.split("_")
    shown = []
    for word in words:
        if word == "pct":
            shown.append("%")
        elif word in ("atr", "rsi", "sma", "ema"):
            shown.append(word.upper())
        else:
            shown.append(word)
    text = " ".join(shown)
    return text[:1].upper() + text[1:]


class ParamForm(QWidget):
    """``params()`` is the validated model, or None with the problems shown."""

    changed = Signal()

    def __init__(
        self,
        model: type[StrategyParams],
        theme: Theme = DARK,
        parent: QWidget | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.specs = {spec.name: spec for spec in param_specs(model)}
        self.fields: dict[str, Field] = {}
        self.errors = FieldErrors(self, [*self.specs, WHOLE], theme.down)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        for spec in self.specs.values():
            field = self._field(spec)
            field.setObjectName(f"param_{spec.name}")
            self.fields[spec.name] = field
            form.addRow(field_title(spec.name), self.errors.under(field, spec.name))
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addWidget(self.errors.labels[WHOLE])
        if values:
            self.set_values(values)

    def _field(self, spec: ParamSpec) -> Field:
        kind = spec.kind
        tip = spec.description
        field: Field
        if kind is bool:
            field = QCheckBox(self)
            field.setChecked(bool(spec.default))
            field.toggled.connect(self._edited)
        elif isinstance(kind, type) and issubclass(kind, Enum):
            field = QComboBox(self)
            for member in kind:
                field.addItem(str(member.value), member.value)
            field.setCurrentIndex(max(0, field.findData(getattr(spec.default, "value", spec.default))))
            field.currentIndexChanged.connect(self._edited)
        elif kind in (int, float):
            field = NumberEdit(
                spec.default,
                integer=kind is int,
                minimum=spec.minimum,
                maximum=spec.maximum,
                exclusive_minimum=spec.exclusive_minimum,
                exclusive_maximum=spec.exclusive_maximum,
                parent=self,
            )
            bounds = field.bounds_text()
            if bounds:
                tip = f"{tip} ({bounds})" if tip else bounds.capitalize()
            field.edited.connect(self._edited)
        else:
            field = QLineEdit("" if spec.default is None else str(spec.default), self)
            field.textChanged.connect(self._edited)
        field.setToolTip(tip)
        return field

    # -- values -----------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """What the fields hold (a number field with no number gives None)."""
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            if isinstance(field, QCheckBox):
                out[name] = field.isChecked()
            elif isinstance(field, QComboBox):
                out[name] = field.currentData()
            elif isinstance(field, NumberEdit):
                out[name] = field.value()
            else:
                out[name] = field.text()
        return out

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Fill fields from ``values`` (a saved run's parameters); unknown names are skipped."""
        for name, value in values.items():
            field = self.fields.get(name)
            if field is None or value is None:
                continue
            if isinstance(field, QCheckBox):
                field.setChecked(bool(value))
            elif isinstance(field, QComboBox):
                field.setCurrentIndex(max(0, field.findData(getattr(value, "value", value))))
            elif isinstance(field, NumberEdit):
                field.set_value(value)
            else:
                field.setText(str(value))
        self.params()

    def params(self) -> StrategyParams | None:
        """The parameters as the model validates them; None when a field is wrong
        (each problem is then shown under its field)."""
        self.errors.clear()
        problems: dict[str, str] = {}
        for name, field in self.fields.items():
            if isinstance(field, NumberEdit):
                value = field.value()
                if value is None:
                    problems[name] = "Enter a whole number." if field.integer else "Enter a number."
                elif not field.inside(value):
                    problems[name] = f"Must be {field.bounds_text()}."
        if not problems:
            try:
                return self.model.model_validate(self.values())
            except ValidationError as exc:
                problems = pydantic_messages(exc)
        for name, message in problems.items():
            text = message[:1].upper() + message[1:]
            if not text.endswith("."):
                text += "."
            self.errors.show(name if name in self.fields else WHOLE, text)
        return None

    def problem(self, name: str) -> str:
        """The message under field ``name`` ("" if none; WHOLE for rules between fields)."""
        return self.errors.text(name)

    def _edited(self, *_: object) -> None:
        self.params()
        self.changed.emit()

    def set_theme(self, theme: Theme) -> None:
        self.errors.set_color(theme.down)
