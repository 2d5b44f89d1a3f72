"""The sweep's ranges: one row per parameter of the strategy, ticked to vary it,
with its From, To and Step prefilled around the strategy's value and inside
its model's bounds (the bounds themselves are wide: a grid over all of them
would have millions of points). An unticked parameter keeps the value the
strategy form gives it. Below the strategy's own, the backtest settings a
trader sweeps too (stops, sizing: ``SETTINGS_PARAMS``), unticked, at the
ranges the research lab prefills; a trial whose settings break a rule of
the settings (a percentage stop while the form's stop is in ATR) fails with
the settings' own message."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from terminal.backtest.strategy import ParamSpec, StrategyParams, param_specs
from terminal.research.space import (
    SETTINGS_PARAMS,
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    SweepError,
)

COLUMNS = ("Vary", "Parameter", "From", "To", "Step")
GRID_STEPS = 10  # a prefilled range of decimals takes about this many steps


def prefilled(spec: ParamSpec, value: Any) -> tuple[str, str, str] | None:
    """(from, to, step) as text around ``value``, inside the model's bounds; None for a
    parameter a sweep cannot vary here (text)."""
    if spec.kind is bool:
        return ("", "", "")
    if spec.kind not in (int, float) or not isinstance(value, int | float):
        return None
    lo = spec.minimum if spec.minimum is not None else -math.inf
    hi = spec.maximum if spec.maximum is not None else math.inf
    if spec.kind is int:
        floor_ = math.ceil(lo + 1) if spec.exclusive_minimum else math.ceil(lo) if lo > -math.inf else 1
        ceiling = math.floor(hi - 1) if spec.exclusive_maximum else math.floor(hi) if hi < math.inf else None
        low = max(floor_, int(value) // 2, 1)
        high = max(int(value) * 2, low + 1)
        high = min(ceiling, high) if ceiling is not None else high
        return (str(low), str(high), "1")
    low_f = max(lo, float(value) / 2) if value > 0 else max(lo, float(value) - 1)
    high_f = min(hi, float(value) * 2) if value > 0 else min(hi, float(value) + 1)
    step = (high_f - low_f) / GRID_STEPS
    return (_short(low_f), _short(high_f), _short(step))


def _short(x: float) -> str:
    return f"{x:.6g}"


class RangesTable(QTableWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.specs: list[ParamSpec] = []
        self.itemChanged.connect(lambda _item: self.changed.emit())

    def set_strategy(self, model: type[StrategyParams], values: Mapping[str, Any]) -> None:
        """Rows for ``model``'s parameters, prefilled around ``values``, then the settings'
        (unticked); the first two numbers ticked (what a trader sweeps first: the two
        lengths of a crossing)."""
        self.blockSignals(True)
        try:
            self.setRowCount(0)
            self.specs = []
            ticked = 0
            for spec in param_specs(model):
                cells = prefilled(spec, values.get(spec.name, spec.default))
                if cells is None:
                    continue
                row = self.rowCount()
                self.insertRow(row)
                self.specs.append(spec)
                vary = QTableWidgetItem()
                vary.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                numeric = spec.kind is not bool
                on = numeric and ticked < 2
                ticked += on
                vary.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
                self.setItem(row, 0, vary)
                name = QTableWidgetItem(spec.name)
                name.setFlags(Qt.ItemFlag.ItemIsEnabled)
                name.setToolTip(spec.description)
                self.setItem(row, 1, name)
                for column, text in enumerate(cells, start=2):
                    cell = QTableWidgetItem(text)
                    if not numeric:  # a switch: both values, nothing to type
                        cell.setFlags(Qt.ItemFlag.ItemIsEnabled)
                        cell.setText("off, on" if column == 2 else "")
                    self.setItem(row, column, cell)
            for param in SETTINGS_PARAMS.values():
                if isinstance(param, IntParam | FloatParam | ChoiceParam):
                    self._setting_row(param)
        finally:
            self.blockSignals(False)
        self.changed.emit()

    def _setting_row(self, param: IntParam | FloatParam | ChoiceParam) -> None:
        kind: type = int if isinstance(param, IntParam) else str if isinstance(param, ChoiceParam) else float
        spec = ParamSpec(param.name, kind, None, None, None, False, False, "A backtest setting")
        row = self.rowCount()
        self.insertRow(row)
        self.specs.append(spec)
        vary = QTableWidgetItem()
        vary.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        vary.setCheckState(Qt.CheckState.Unchecked)
        self.setItem(row, 0, vary)
        name = QTableWidgetItem(param.name.removeprefix("settings."))
        name.setFlags(Qt.ItemFlag.ItemIsEnabled)
        name.setToolTip(f"A backtest setting ({param.name}): varied, it replaces the form's value")
        self.setItem(row, 1, name)
        if isinstance(param, ChoiceParam):  # the values to try, typed as a list; no range
            self.setItem(row, 2, QTableWidgetItem(", ".join(str(c) for c in param.choices)))
            for column in (3, 4):
                fixed = QTableWidgetItem("")
                fixed.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.setItem(row, column, fixed)
            return
        step = param.step if param.step is not None else (param.high - param.low) / GRID_STEPS
        for column, value in enumerate((param.low, param.high, step), start=2):
            self.setItem(row, column, QTableWidgetItem(_short(float(value))))

    def cell(self, row: int, column: int) -> QTableWidgetItem:
        item = self.item(row, column)
        assert item is not None  # every row is made whole in set_strategy
        return item

    def tick(self, name: str, on: bool = True) -> None:
        for row, spec in enumerate(self.specs):
            if spec.name == name:
                self.cell(row, 0).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def set_range(self, name: str, low: str, high: str, step: str = "1") -> None:
        for row, spec in enumerate(self.specs):
            if spec.name == name:
                for column, text in ((2, low), (3, high), (4, step)):
                    self.cell(row, column).setText(text)

    def params(self) -> list[Param]:
        """The ticked parameters as the sweep's ranges; a ``SweepError`` naming the
        parameter whose range cannot be read."""
        found: list[Param] = []
        for row, spec in enumerate(self.specs):
            if self.cell(row, 0).checkState() != Qt.CheckState.Checked:
                continue
            if spec.kind is bool:
                found.append(BoolParam(spec.name))
                continue
            if spec.kind is str:  # a choice: the values typed in From, separated by commas
                values = tuple(v.strip() for v in self.cell(row, 2).text().split(",") if v.strip())
                if not values:
                    raise SweepError(f"List the values of {spec.name!r} to try in From, separated by commas.")
                found.append(ChoiceParam(spec.name, values))
                continue
            texts = [self.cell(row, c).text().strip() for c in (2, 3, 4)]
            try:
                low, high, step = (float(t.replace(",", "")) for t in texts)
            except ValueError:
                raise SweepError(
                    f"The range of {spec.name!r} needs numbers in From, To and Step.",
                    hint=f"It reads {', '.join(repr(t) for t in texts)}.",
                ) from None
            self._within(spec, low, high)
            if spec.kind is int:
                if not all(float(x).is_integer() for x in (low, high, step)):
                    raise SweepError(f"{spec.name!r} is a whole number: From, To and Step must be too.")
                found.append(IntParam(spec.name, int(low), int(high), int(step)))
            else:
                if step <= 0:
                    raise SweepError(f"The step of {spec.name!r} must be above 0.")
                found.append(FloatParam(spec.name, low, high, step))
        return found

    @staticmethod
    def _within(spec: ParamSpec, low: float, high: float) -> None:
        lo, hi = spec.minimum, spec.maximum
        below = lo is not None and (low < lo or (spec.exclusive_minimum and low <= lo))
        above = hi is not None and (high > hi or (spec.exclusive_maximum and high >= hi))
        if below or above:
            bounds = f"{'above' if spec.exclusive_minimum else 'from'} {lo:g}" if lo is not None else ""
            if hi is not None:
                bounds += f"{' ' if bounds else ''}{'below' if spec.exclusive_maximum else 'up to'} {hi:g}"
            raise SweepError(f"{spec.name!r} takes values {bounds}; the range {low:g} to {high:g} leaves it.")
