"""Costs, sizing, stops and direction of a run: ``BacktestSettings`` as a form.

The form speaks the trader's units (fees in %, slippage in basis points,
shares of equity in %) and converts to the engine's fractions. Each field
is checked as it is typed, with the problem under it; the rules between
fields that the settings model holds (risk sizing needs a stop-loss) are
shown under the field that can fix them. The meaning of every setting is in
docs/backtesting.md.

The amount step and the fees start from the market's own when known
(``set_market``), until the user changes them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from terminal.backtest.settings import BacktestSettings, Costs, Direction, Sizing, SizingMode, Stops
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.field_errors import FieldErrors
from terminal.ui.theme import DARK, Theme

NONE, PCT, ATR = "none", "pct", "atr"
WHOLE = ""
#: the fields that start from the market's own values until the user changes them
MARKET_FIELDS = ("amount_step", "taker_fee", "maker_fee")


@dataclass(frozen=True)
class NumberField:
    """A number of the form: its bounds in the form's units and its tooltip."""

    title: str
    default: float
    minimum: float | None
    maximum: float | None
    tip: str
    integer: bool = False
    exclusive_minimum: bool = False
    step: float | None = None


NUMBERS: dict[str, NumberField] = {
    "initial_cash": NumberField("Starting cash", 10_000.0, 0.0, None,
                                "Starting equity, in the quote currency.", exclusive_minimum=True,
                                step=1000.0),
    "taker_fee": NumberField("Taker fee %", 0.1, -1.0, 10.0,
                             "Fee of market orders (entries, signal exits, stops), % of the fill's value.",
                             step=0.01),
    "maker_fee": NumberField("Maker fee %", 0.1, -1.0, 10.0,
                             "Fee of take-profit limit orders, % of the fill's value (negative: a rebate).",
                             step=0.01),
    "slippage_bps": NumberField("Slippage (bp)", 0.0, 0.0, 1000.0,
                                "Basis points against you on every market fill (1 bp = 0.01%).", step=1.0),
    "fraction": NumberField("Equity per entry %", 100.0, 0.0, 100.0,
                            "Share of equity each entry spends, its fee included.", exclusive_minimum=True,
                            step=5.0),
    "quote_amount": NumberField("Quote per entry", 1000.0, 0.0, None,
                                "Quote currency per entry, capped at what equity pays for.",
                                exclusive_minimum=True, step=100.0),
    "risk_fraction": NumberField("Risk per trade %", 1.0, 0.0, 100.0,
                                 "Share of equity lost if the stop-loss is hit (needs a stop-loss).",
                                 exclusive_minimum=True, step=0.1),
    "amount_step": NumberField("Amount step", 0.0, 0.0, None,
                               "Amounts are rounded down to this step (the market's; 1 trades whole units, "
                               "0 does not round).", step=0.001),
    "stop_loss": NumberField("Stop-loss", 2.0, 0.0, None, "Distance from the entry price.",
                             exclusive_minimum=True, step=0.5),
    "take_profit": NumberField("Take-profit", 4.0, 0.0, None, "Distance from the entry price.",
                               exclusive_minimum=True, step=0.5),
    "atr_period": NumberField("ATR period", 14, 1.0, 1000.0, "Bars of the ATR that ATR distances use.",
                              integer=True),
}  # fmt: skip

SIZING_FIELDS = {
    SizingMode.FRACTION: "fraction",
    SizingMode.QUOTE: "quote_amount",
    SizingMode.RISK: "risk_fraction",
}
DIRECTIONS = {
    Direction.BOTH: "Long and short (stop-and-reverse)",
    Direction.LONG: "Long only",
    Direction.SHORT: "Short only",
}
SIZINGS = {
    SizingMode.FRACTION: "Share of equity",
    SizingMode.QUOTE: "Fixed quote amount",
    SizingMode.RISK: "Risk per trade (needs a stop-loss)",
}
DISTANCES = {NONE: "None", PCT: "% of entry", ATR: "ATR multiples"}


class SettingsForm(QWidget):
    """``settings()`` is the validated ``BacktestSettings``, or None with the problems shown."""

    changed = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.numbers: dict[str, NumberEdit] = {}
        self.rows: dict[str, QWidget] = {}  # each number with its error line, as the form holds it
        self._touched: set[str] = set()  # fields the user changed: market defaults leave them alone
        self._setting = False
        self.errors = FieldErrors(self, [*NUMBERS, WHOLE], theme.down)
        for name, spec in NUMBERS.items():
            edit = NumberEdit(
                int(spec.default) if spec.integer else spec.default,
                integer=spec.integer,
                minimum=spec.minimum,
                maximum=spec.maximum,
                exclusive_minimum=spec.exclusive_minimum,
                step=spec.step,
                parent=self,
            )
            edit.setObjectName(f"setting_{name}")
            bounds = edit.bounds_text()
            edit.setToolTip(f"{spec.tip} ({bounds[:1].upper()}{bounds[1:]}.)" if bounds else spec.tip)
            edit.edited.connect(lambda name=name: self._edited(name))
            self.numbers[name] = edit
        self.sizing = self._combo(SIZINGS, "sizing")
        self.stop_kind = self._combo(DISTANCES, "stop_kind")
        self.target_kind = self._combo(DISTANCES, "target_kind")
        self.direction = self._combo(DIRECTIONS, "direction")
        self.close_at_end = QCheckBox("Close a trade still open at the end", self)
        self.close_at_end.setChecked(True)
        self.close_at_end.setToolTip(
            "Closed at the last close (a market fill with fee and slippage); unchecked, it is reported "
            "apart as the open trade, marked at the last close."
        )
        self.close_at_end.toggled.connect(lambda _on: self._edited("close_at_end"))

        self.form = form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        for name in ("initial_cash", "taker_fee", "maker_fee", "slippage_bps"):
            self._row(name)
        form.addRow("Sizing", self.sizing)
        for name in ("fraction", "quote_amount", "risk_fraction", "amount_step"):
            self._row(name)
        form.addRow("Stop-loss", self.stop_kind)
        self._row("stop_loss", "  distance")
        form.addRow("Take-profit", self.target_kind)
        self._row("take_profit", "  distance")
        self._row("atr_period")
        form.addRow("Direction", self.direction)
        form.addRow("", self.close_at_end)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addWidget(self.errors.labels[WHOLE])
        self._show_rows()

    def _combo(self, items: Mapping[Any, str], name: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(f"setting_{name}")
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(12)
        for value, text in items.items():
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(lambda _i: self._edited(name))
        return combo

    def _row(self, name: str, title: str | None = None) -> None:
        self.rows[name] = box = self.errors.under(self.numbers[name], name)
        self.form.addRow(title or NUMBERS[name].title, box)

    def _show_rows(self) -> None:
        """Only the fields the choices use: the sizing mode's amount, distances that are set."""
        mode = self.sizing.currentData()
        for sizing_mode, name in SIZING_FIELDS.items():
            self.form.setRowVisible(self.rows[name], mode == sizing_mode)
        stop, target = self.stop_kind.currentData(), self.target_kind.currentData()
        self.form.setRowVisible(self.rows["stop_loss"], stop != NONE)
        self.form.setRowVisible(self.rows["take_profit"], target != NONE)
        self.form.setRowVisible(self.rows["atr_period"], ATR in (stop, target))
        for name, kind in (("stop_loss", stop), ("take_profit", target)):
            label = self.form.labelForField(self.rows[name])
            if isinstance(label, QLabel):
                label.setText("  distance, %" if kind == PCT else "  distance, × ATR")

    # -- the market's defaults ------------------------------------------------------------------
    def set_market(self, amount_step: float | None, taker: float | None, maker: float | None) -> None:
        """Start from the market's amount step and fee rates (fractions), unless the user
        changed those fields."""
        self._setting = True
        try:
            for name, value in (("amount_step", amount_step), ("taker_fee", taker), ("maker_fee", maker)):
                if value is None or name in self._touched:
                    continue
                self.numbers[name].set_value(value * 100.0 if name != "amount_step" else value)
        finally:
            self._setting = False
        self.settings()

    # -- reading and filling ----------------------------------------------------------------------
    def settings(self) -> BacktestSettings | None:
        self.errors.clear()
        problems: dict[str, str] = {}
        values: dict[str, float] = {}
        for name, edit in self.numbers.items():
            if not self.form.isRowVisible(self.rows[name]):
                continue
            value = edit.value()
            if value is None:
                problems[name] = "Enter a whole number." if edit.integer else "Enter a number."
            elif not edit.inside(value):
                problems[name] = f"Must be {edit.bounds_text()}."
            else:
                values[name] = float(value)
        settings = None if problems else self._build(values, problems)
        for name, message in problems.items():
            self.errors.show(name, message)
        return settings

    def _build(self, v: dict[str, float], problems: dict[str, str]) -> BacktestSettings | None:
        mode = SizingMode(self.sizing.currentData())
        stop, target = self.stop_kind.currentData(), self.target_kind.currentData()
        try:
            return BacktestSettings(
                initial_cash=v["initial_cash"],
                costs=Costs(
                    taker_fee=v["taker_fee"] / 100.0,
                    maker_fee=v["maker_fee"] / 100.0,
                    slippage_bps=v["slippage_bps"],
                ),
                sizing=Sizing(
                    mode=mode,
                    fraction=v.get("fraction", 100.0) / 100.0,
                    quote_amount=v.get("quote_amount", 1000.0),
                    risk_fraction=v.get("risk_fraction", 1.0) / 100.0,
                    amount_step=v["amount_step"],
                ),
                stops=Stops(
                    stop_loss_pct=v.get("stop_loss") if stop == PCT else None,
                    stop_loss_atr=v.get("stop_loss") if stop == ATR else None,
                    take_profit_pct=v.get("take_profit") if target == PCT else None,
                    take_profit_atr=v.get("take_profit") if target == ATR else None,
                    atr_period=int(v.get("atr_period", 14)),
                ),
                direction=Direction(self.direction.currentData()),
                close_at_end=self.close_at_end.isChecked(),
            )
        except ValidationError as exc:
            for item in exc.errors():
                message = str(item["msg"]).removeprefix("Value error, ")
                message = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
                # a rule between fields goes where it can be fixed
                where = "stop_loss" if "stop-loss" in message and stop != NONE else WHOLE
                problems.setdefault(where, message)
            return None

    def chosen_market_fields(self) -> list[str]:
        """The fields that start from the market's values (fees, amount step) which the user set."""
        return [name for name in MARKET_FIELDS if name in self._touched]

    def set_settings(self, settings: BacktestSettings, chosen: Collection[str] = MARKET_FIELDS) -> None:
        """Show ``settings`` (a saved run's) in the form. The market's fields in
        ``chosen`` count as the user's (a market's defaults leave them alone); the
        others keep following the market (``set_market``)."""
        self._setting = True
        try:
            n = self.numbers
            n["initial_cash"].set_value(settings.initial_cash)
            n["taker_fee"].set_value(settings.costs.taker_fee * 100.0)
            n["maker_fee"].set_value(settings.costs.maker_fee * 100.0)
            n["slippage_bps"].set_value(settings.costs.slippage_bps)
            sizing = settings.sizing
            self.sizing.setCurrentIndex(self.sizing.findData(sizing.mode.value))
            n["fraction"].set_value(sizing.fraction * 100.0)
            n["quote_amount"].set_value(sizing.quote_amount)
            n["risk_fraction"].set_value(sizing.risk_fraction * 100.0)
            n["amount_step"].set_value(sizing.amount_step)
            stops = settings.stops
            for combo, name, pct, atr in (
                (self.stop_kind, "stop_loss", stops.stop_loss_pct, stops.stop_loss_atr),
                (self.target_kind, "take_profit", stops.take_profit_pct, stops.take_profit_atr),
            ):
                kind = PCT if pct is not None else ATR if atr is not None else NONE
                combo.setCurrentIndex(combo.findData(kind))
                distance = pct if pct is not None else atr
                if distance is not None:
                    n[name].set_value(distance)
            n["atr_period"].set_value(stops.atr_period)
            self.direction.setCurrentIndex(self.direction.findData(settings.direction.value))
            self.close_at_end.setChecked(settings.close_at_end)
            self._touched.difference_update(MARKET_FIELDS)
            self._touched.update(name for name in chosen if name in MARKET_FIELDS)  # chosen, not defaults
        finally:
            self._setting = False
        self._show_rows()
        self.settings()

    def problem(self, name: str) -> str:
        return self.errors.text(name)

    def _edited(self, name: str) -> None:
        if not self._setting:
            self._touched.add(name)
        self._show_rows()
        self.settings()
        self.changed.emit()

    def set_theme(self, theme: Theme) -> None:
        self.errors.set_color(theme.down)
