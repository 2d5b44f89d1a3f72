"""Saved runs side by side: every metric of two or more runs in one table, the
best of each row marked, and what differs between them (strategy, parameters,
market, range) in the column titles' tooltips.

Below the table, whether the difference is real: the runs' daily returns,
aligned on the days both cover, compared by ``terminal.research.compare``'s
paired bootstrap (docs/research.md, "Comparing two runs"). With more than two
runs, each is compared with the first column's. The runs' curves are read and
the bootstrap run in a worker thread (``compare_pairs``), with a fixed seed, so
the same runs always give the same figures.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QVBoxLayout, QWidget

from terminal.backtest.run_store import RunSummary, SavedRun
from terminal.errors import TerminalError
from terminal.research import compare as rc
from terminal.research.montecarlo import InsufficientDataError
from terminal.ui.backtest.metrics_table import CompareModel
from terminal.ui.tables import table
from terminal.ui.theme import DARK, Theme

#: the bootstrap's seed and size: fixed, so that comparing the same runs again gives the same figures
SEED = 15
RESAMPLES = 10_000

#: what the figures under the table are, said above them
METHOD = (
    f"A paired bootstrap of the runs' daily returns on the days both cover ({RESAMPLES:,} resamples, "
    f"seed {SEED}). Its Sharpe ratios are of daily returns (×√365 a year), so they differ from the "
    "table's, which are of each bar's returns."
)

#: reads a saved run (curves included) by id; called in the worker thread
LoadRun = Callable[[int], SavedRun]


def run_name(summary: RunSummary) -> str:
    return f"run #{summary.id}"


@dataclass(frozen=True)
class Pair:
    """One comparison: ``a`` against ``b`` (names as shown), the module's answer, or
    why there is none (``message``: too few common days, in the module's words)."""

    a: str
    b: str
    comparison: rc.Comparison | None
    message: str = ""
    identical: bool = False  # the same return on every common day

    def words(self) -> str:
        if self.comparison is None:
            return f"{_capital(self.a)} against {self.b}: {self.message}"
        c = self.comparison
        return f"{c.sentence((self.a, self.b))}\n{self.verdict()}"

    def verdict(self) -> str:
        """Is the difference real? Said of the mean daily return and of the Sharpe ratio."""
        c = self.comparison
        if c is None:
            return ""
        if self.identical:
            return "Is the difference real? There is none: both made the same return on every common day."
        yearly = math.sqrt(rc.DAYS_PER_YEAR)
        level = 1.0 - c.confidence
        mean = _chance(f"in mean daily return ({c.mean.difference:+.3%} a day)", c.mean.p_value, level)
        sharpe = _chance(f"in Sharpe ({c.sharpe.difference * yearly:+.2f} a year)", c.sharpe.p_value, level)
        return f"Is the difference real? {mean} {sharpe}"


def _chance(what: str, p: float, level: float) -> str:
    if p >= level:
        return f"The difference {what} is within what chance gives: p = {p:.2f}."
    return (
        f"The difference {what} is larger than chance alone usually gives: p = {p:.3f}, "
        f"below {level:.2f} (among many comparisons, one this small still comes by luck)."
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def compare_pairs(
    runs: Sequence[RunSummary], load: LoadRun, *, seed: int = SEED, resamples: int = RESAMPLES
) -> list[Pair]:
    """In a worker thread: each run after the first against the first, by their daily
    returns on the days both cover (``TerminalError`` when a run cannot be read)."""
    daily = []
    for summary in runs:
        result = load(summary.id).result
        daily.append(rc.daily_returns(result.ts, result.equity, result.settings.initial_cash))
    first, name = daily[0], run_name(runs[0])
    pairs = []
    for summary, other in zip(runs[1:], daily[1:], strict=True):
        try:
            comparison = rc.compare(first, other, resamples=resamples, seed=seed)
        except InsufficientDataError as exc:
            pairs.append(Pair(name, run_name(summary), None, exc.user_message()))
            continue
        _, ra, rb = rc.align(first, other)
        pairs.append(Pair(name, run_name(summary), comparison, identical=bool(np.array_equal(ra, rb))))
    return pairs


class CompareView(QWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.runs: list[RunSummary] = []
        self.pairs: list[Pair] | None = None  # the last answer shown (None: none yet, or working)
        self._tone = (False, False)  # the words' colour: (muted, error)
        self.model = CompareModel(theme, self)
        self.caption = QLabel("Select two or more saved runs and press Compare.", self)
        self.caption.setWordWrap(True)
        self.view = table(self)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.words = QLabel(self)
        self.words.setObjectName("compare_words")
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.caption)
        column.addWidget(self.view, 1)
        column.addWidget(self.words)
        self.apply_theme(theme)

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        self.runs = list(runs)
        self.pairs = None
        self.words.clear()
        self.model.set_runs(runs)
        header = self.view.horizontalHeader()
        header.resizeSection(0, 190)
        for section in range(1, self.model.columnCount()):
            header.resizeSection(section, 170)
        self.caption.setText(
            f"{len(runs)} runs; the best value of each row is in bold (where higher or lower is better)."
        )

    async def test_difference(self, load: LoadRun) -> list[Pair] | None:
        """Compare the runs shown by their daily returns, in a worker thread, and say
        the answer under the table (None when there is nothing to compare, or the runs
        shown changed meanwhile)."""
        runs = self.runs
        if len(runs) < 2:
            return None
        self._say("Comparing the runs' daily returns (paired bootstrap)…", muted=True)
        try:
            pairs = await asyncio.to_thread(compare_pairs, runs, load)
        except TerminalError as exc:  # a run deleted or damaged meanwhile
            if self.runs is runs:
                self._say(f"The runs could not be compared: {exc.user_message()}", error=True)
            return None
        if self.runs is not runs:
            return None
        self.pairs = pairs
        lines = [pair.words() for pair in pairs]
        if any(pair.comparison is not None for pair in pairs):
            lines.insert(0, METHOD)
        if len(pairs) > 1:
            lines.append(
                f"Each run is compared with {run_name(runs[0])} (the first column). With {len(pairs)} "
                "comparisons, one small p-value among them is likelier to be luck than a single one."
            )
        self._say("\n\n".join(lines))
        return pairs

    def _say(self, text: str, *, muted: bool = False, error: bool = False) -> None:
        self.words.setText(text)
        colour = self.theme.down if error else self.theme.muted if muted else self.theme.text
        self.words.setStyleSheet(f"color: {colour};")
        self._tone = (muted, error)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.model.theme = theme
        self.model.layoutChanged.emit()
        self.caption.setStyleSheet(f"color: {theme.muted};")
        muted, error = self._tone
        self._say(self.words.text(), muted=muted, error=error)
