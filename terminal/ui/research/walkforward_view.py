"""The Walk-forward tab of the Research tab's results: a line in plain words
(the stitched out-of-sample return, the walk-forward efficiency, how stable
the chosen parameters were), the fold table (each fold's windows as dates,
the parameters its in-sample sweep chose, the objective, return and trades
in-sample and out-of-sample, its efficiency) and the stitched out-of-sample
equity with its drawdown, drawn by the backtest's own ``EquityPlot``.

The figures are the analysis's (``terminal.research.walkforward``); this
module only words and lays them out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from terminal.backtest.drawdown import drawdown_curve
from terminal.marketdata.candles import OHLCV
from terminal.research.walkforward import FoldResult, ParamStability, WalkForwardResult
from terminal.ui.backtest.equity_plot import EquityPlot
from terminal.ui.backtest.formats import params_text, utc_text
from terminal.ui.research.trials_model import SORT_ROLE
from terminal.ui.table_model import HeaderedTableModel
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme

#: Pardo's rule of thumb: a strategy keeping about half its in-sample rate of gain out-of-sample is robust
ROBUST_WFE = 0.5


@dataclass(frozen=True)
class WalkForwardOutcome:
    """A walk-forward as the tab shows it: the analysis's result and the candles it
    ran on (the folds' windows are bar positions in them)."""

    result: WalkForwardResult
    candles: OHLCV


# -- words -------------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:+.2%}"


def _number(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.3f}"


def efficiency_text(wfe: float) -> str:
    """ "Walk-forward efficiency 0.62: out-of-sample gained 62% of the in-sample rate (…)"."""
    if math.isnan(wfe):
        return "Walk-forward efficiency not given: the in-sample windows did not gain, no rate to compare."
    said = f"Walk-forward efficiency {wfe:.2f}: out-of-sample gained {wfe:.0%} of the in-sample rate of gain"
    if wfe >= ROBUST_WFE:
        return said + f" (about {ROBUST_WFE} or more keeps a fair part of the optimised edge)."
    if wfe > 0:
        return said + f", well below the {ROBUST_WFE} taken as robust: fitted to its in-sample data?"
    return f"Walk-forward efficiency {wfe:.2f}: out-of-sample did not gain: fitted to its in-sample data?"


def stability_text(stability: Sequence[ParamStability]) -> str:
    """ "fast changed in 3 of 9 folds, spread 12% of its range; slow kept 30 in every fold." """
    parts = []
    for p in stability:
        if len(p.values) < 2:
            continue
        if p.changes == 0:
            parts.append(f"{p.name} kept {p.values[0]} in every fold")
        else:
            folds = len(p.values) - 1
            parts.append(
                f"{p.name} changed in {p.changes} of {folds} folds, spread {p.spread:.0%} of its range"
            )
    if not parts:
        return "Fewer than two folds chose parameters: nothing to compare."
    return "; ".join(parts) + "."


def headline(result: WalkForwardResult) -> str:
    """ "5 rolling folds in 2.1 s: stitched out-of-sample +1.20%, walk-forward efficiency 0.62." """
    said = f"{result.message[:1].upper()}{result.message[1:]} in {result.seconds:,.1f} s"
    if not result.folds:
        return f"{said}: no fold done."
    wfe = "not given" if math.isnan(result.efficiency) else f"{result.efficiency:.2f}"
    return f"{said}: stitched out-of-sample {_pct(result.total_return)}, walk-forward efficiency {wfe}."


def summary_text(result: WalkForwardResult) -> str:
    """What the walk-forward found, in a few sentences."""
    if not result.folds:
        return headline(result)
    said = (
        f"{result.message[:1].upper()}{result.message[1:]} in {result.seconds:,.1f} s. "
        f"Out-of-sample, stitched: {_pct(result.total_return)}, max drawdown {_pct(result.max_drawdown)}. "
    )
    return f"{said}{efficiency_text(result.efficiency)} {stability_text(result.stability)}"


# -- the fold table ----------------------------------------------------------------------------------
class FoldsModel(HeaderedTableModel):
    """One row a fold; sorting by the numbers (``SORT_ROLE``), not their text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.folds: tuple[FoldResult, ...] = ()
        self.ts: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self.bar_ms = 0
        self.columns: tuple[str, ...] = ()  # the objective's name is in two of them
        self.down = QColor("#ef5350")

    def show(self, outcome: WalkForwardOutcome | None) -> None:
        self.beginResetModel()
        if outcome is None:
            self.folds, self.ts, self.columns = (), np.zeros(0, dtype=np.int64), ()
        else:
            result = outcome.result
            label = result.objectives[0].label
            self.folds, self.bar_ms = result.folds, result.bar_ms
            self.ts = np.asarray(outcome.candles.ts, dtype=np.int64)
            self.columns = (
                "Fold", "In-sample (UTC)", "Out-of-sample (UTC)", "Chosen", f"In {label}", f"Out {label}",
                "In return", "Out return", "In trades", "Out trades", "WFE", "Note",
            )  # fmt: skip
        self.endResetModel()

    def row_total(self) -> int:
        return len(self.folds)

    def column_headers(self) -> tuple[str, ...]:
        return self.columns

    def window_text(self, start: int, stop: int) -> str:
        """From the first bar's open to the last bar's close."""
        return f"{utc_text(int(self.ts[start]))} → {utc_text(int(self.ts[stop - 1]) + self.bar_ms)}"

    def cell(self, f: FoldResult, column: int) -> tuple[str, float | str]:
        """(text, sort key) of one cell."""
        fold = f.fold
        match column:
            case 0:
                return f"{fold.index + 1}", fold.index
            case 1:
                return self.window_text(fold.in_start, fold.in_stop), fold.in_start
            case 2:
                return self.window_text(fold.out_start, fold.out_stop), fold.out_start
            case 3:
                text = params_text(f.params) if f.params is not None else "–"
                return text, text
            case 4 | 5:
                value = f.in_objective if column == 4 else f.out_objective
                return _number(value), _key(value)
            case 6 | 7:
                value = f.in_return if column == 6 else f.out_return
                return _pct(value), _key(value)
            case 8 | 9:
                count = f.in_trades if column == 8 else f.out_trades
                return f"{count:,}", count
            case 10:
                return (_number(f.efficiency), _key(f.efficiency))
        return f.error, f.error

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        f = self.folds[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(f, column)[0]
        if role == SORT_ROLE:
            return self.cell(f, column)[1]
        if role == Qt.ItemDataRole.ForegroundRole and f.error:
            return self.down
        if role == Qt.ItemDataRole.ToolTipRole and f.error:
            return f.error
        if role == Qt.ItemDataRole.TextAlignmentRole and (column == 0 or 4 <= column <= 10):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _key(x: float) -> float:
    return -math.inf if math.isnan(x) else x


# -- the tab -----------------------------------------------------------------------------------------
class WalkForwardView(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome: WalkForwardOutcome | None = None
        self.summary = QLabel("Tick Walk-forward under the ranges and press Start to walk forward.", self)
        self.summary.setObjectName("research_walk_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model = FoldsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = table(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.plot = EquityPlot(theme, self)
        self.split = split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setStretchFactor(1, 1)
        self._sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:  # the first time it has a height: the curve gets the larger part
            self._sized = True
            height = max(self.split.height(), 300)
            self.split.setSizes([int(height * 0.45), height - int(height * 0.45)])

    def show_outcome(self, outcome: WalkForwardOutcome) -> None:
        self.outcome = outcome
        result = outcome.result
        self.model.show(outcome)
        stamp = "0000-00-00 00:00 → 0000-00-00 00:00"
        names = [p.name for p in result.stability]
        chosen = params_text(dict.fromkeys(names, 10_000)) if names else "–"
        fit_columns(self.table, ["00", stamp, stamp, chosen, *["-000.000"] * 2, *["+000.00%"] * 2,
                                 "00,000", "00,000", "-00.000"])  # fmt: skip
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # in fold order, until asked
        self.summary.setText(summary_text(result))
        equity = result.stitched_equity
        if len(equity):
            drawdown = drawdown_curve(equity, result.initial_cash)
            self.plot.show_run(result.stitched_ts, equity, drawdown, result.initial_cash)
        else:
            self.plot.clear_run()

    def clear(self, text: str) -> None:
        """Nothing shown, and why (a walk-forward under way, or one that could not run)."""
        self.outcome = None
        self.model.show(None)
        self.plot.clear_run()
        self.summary.setText(text)

    def apply_theme(self, theme: Theme) -> None:
        self.plot.apply_theme(theme)
