"""What a sweep varies and how it judges: the ranges, the constraints, the
search method and its budget, one or two objectives, the filters and early
stop, the folds each trial is scored over and whether optuna may prune weak
trials between them; with the grid's size said as the user types. The candles, the strategy
and the costs are the backtest form's, beside it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import TerminalError
from terminal.research.folds import MAX_FOLDS
from terminal.research.methods import MethodKind
from terminal.research.objectives import Filters, Objective
from terminal.research.space import Space, SweepError
from terminal.ui.research.ranges import RangesTable
from terminal.ui.theme import DARK, Theme

NO_SECOND = "—"


@dataclass(frozen=True)
class SweepChoice:
    """The form as the sweep takes it."""

    space: Space
    method: MethodKind
    objectives: tuple[Objective, ...]
    filters: Filters
    budget: int | None  # None: a grid runs to its end
    early_stop: int | None
    seed: int
    folds: int = 1  # each trial scored over this many consecutive parts of the candles
    prune: bool = False  # optuna's median pruner may stop a trial between folds


class SweepForm(QWidget):
    changed = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.ranges = RangesTable(self)
        self.constraints = QLineEdit(self)
        self.constraints.setPlaceholderText("constraints, e.g. fast < slow (separate several with ;)")
        self.constraints.setToolTip(
            "Rules every point must meet, over the parameter names: comparisons, + - * /, and, or, not."
        )
        self.method = QComboBox(self)
        for kind in MethodKind:
            self.method.addItem(kind.label, kind.value)
        self.budget = QSpinBox(self)
        self.budget.setRange(1, 1_000_000)
        self.budget.setValue(200)
        self.budget.setSuffix(" trials")
        self.objective = QComboBox(self)
        self.second = QComboBox(self)
        self.second.addItem(NO_SECOND, "")
        self.second.setToolTip("A second objective: the sweep keeps the trials no other beats on both")
        for objective in Objective:
            self.objective.addItem(objective.label, objective.value)
            self.second.addItem(objective.label, objective.value)
        self.min_trades = QSpinBox(self)
        self.min_trades.setRange(0, 1_000_000)
        self.min_trades.setValue(10)
        self.max_drawdown = QDoubleSpinBox(self)
        self.max_drawdown.setRange(0, 100)
        self.max_drawdown.setDecimals(1)
        self.max_drawdown.setSuffix(" %")
        self.max_drawdown.setSpecialValueText("no limit")
        self.early_stop = QSpinBox(self)
        self.early_stop.setRange(0, 1_000_000)
        self.early_stop.setSpecialValueText("never")
        self.early_stop.setSuffix(" trials")
        self.early_stop.setToolTip("Stop when this many trials in a row bring no better one")
        self.seed = QSpinBox(self)
        self.seed.setRange(0, 2**31 - 1)
        self.folds = QSpinBox(self)
        self.folds.setRange(1, MAX_FOLDS)
        self.folds.setSpecialValueText("none: the whole period")
        self.folds.setSuffix(" folds")
        self.folds.setToolTip(
            "Score each trial over this many consecutive parts of the candles, each run alone: a "
            "setting must do well in every period"
        )
        self.prune = QCheckBox("Prune weak trials between folds", self)
        self.prune.setToolTip(
            "optuna stops a trial whose value so far is worse than the median of the earlier trials "
            "at the same fold (TPE or CMA-ES, one objective, two folds or more)"
        )
        self.grid_note = QLabel(self)
        self.grid_note.setObjectName("research_size")
        self.grid_note.setWordWrap(True)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        fields = (
            ("Method", self.method), ("Budget", self.budget),
            ("Objective", self.objective), ("2nd objective", self.second),
            ("Min trades", self.min_trades), ("Max drawdown", self.max_drawdown),
            ("Early stop", self.early_stop), ("Seed", self.seed),
            ("Folds", self.folds), ("", self.prune),
        )  # fmt: skip
        for row, (label, field) in enumerate(fields):
            grid.addWidget(QLabel(label, self), row, 0)
            grid.addWidget(field, row, 1)
        grid.setColumnStretch(1, 1)
        self.ranges.setMinimumHeight(5 * 24)  # the header and four parameters, whatever the dock's height
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.ranges, 1)
        column.addWidget(self.constraints)
        column.addWidget(self.grid_note)
        column.addLayout(grid)

        self.ranges.changed.connect(self._changed)
        self.constraints.textChanged.connect(self._changed)
        self.method.currentIndexChanged.connect(self._changed)
        self.second.currentIndexChanged.connect(self._changed)
        self.folds.valueChanged.connect(self._changed)
        self.prune.toggled.connect(self._changed)

    def kind(self) -> MethodKind:
        return MethodKind(self.method.currentData())

    def space(self) -> Space:
        """The ranges and constraints as a space (a ``SweepError`` says what is wrong)."""
        texts = [t.strip() for t in self.constraints.text().split(";") if t.strip()]
        return Space(tuple(self.ranges.params()), tuple(texts))

    def choice(self) -> SweepChoice:
        space = self.space()
        if not space.params:
            raise SweepError("Tick at least one parameter to vary.")
        kind = self.kind()
        objectives = [Objective(self.objective.currentData())]
        if self.second.currentData():
            objectives.append(Objective(self.second.currentData()))
        drawdown = self.max_drawdown.value()
        return SweepChoice(
            space=space,
            method=kind,
            objectives=tuple(objectives),
            filters=Filters(self.min_trades.value(), drawdown / 100 if drawdown > 0 else None),
            budget=None if kind is MethodKind.GRID else self.budget.value(),
            early_stop=self.early_stop.value() or None,
            seed=self.seed.value(),
            folds=self.folds.value(),
            prune=self.prune.isEnabled() and self.prune.isChecked(),
        )

    def can_prune(self) -> bool:
        """optuna prunes by the median of one objective, between folds (terminal.research.folds)."""
        kind = self.kind()
        one = not self.second.currentData()
        return kind in (MethodKind.TPE, MethodKind.CMAES) and one and self.folds.value() > 1

    def _changed(self) -> None:
        grid = self.kind() is MethodKind.GRID
        self.budget.setEnabled(not grid)
        self.prune.setEnabled(self.can_prune())
        try:
            space = self.space()
            if not space.params:
                self.say("Tick the parameters to vary.")
            else:
                size = (
                    f"{space.grid_size():,} points in the grid, after the constraints."
                    if grid
                    else f"{self.budget.value():,} trials drawn from the ranges."
                )
                folds = self.folds.value()
                if folds > 1:
                    pruned = (
                        ", weak ones pruned between folds"
                        if self.prune.isEnabled() and self.prune.isChecked()
                        else ""
                    )
                    size += f" Each scored over {folds} folds{pruned}."
                self.say(size)
        except TerminalError as exc:
            self.say(exc.user_message(), error=True)
        self.changed.emit()

    def say(self, text: str, error: bool = False) -> None:
        self.grid_note.setText(text)
        self.grid_note.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._changed()
