"""The Research tab of the backtest panel: what to sweep (``SweepForm``), Start
and Cancel, progress with trials per second, the time left and the best so
far, and the trials as a sortable table. A trial opens as a normal backtest
run (double-click, Enter or Open as backtest): the panel sets its form to the
trial and runs it, so the run has every metric and its trades on the chart.

The view holds widgets and says what it is told; the panel (``panel.py``)
starts the sweep with the backtest form's candles, strategy and costs."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from terminal.research.objectives import Objective
from terminal.research.odds import Odds
from terminal.research.study import StudyStatus, StudySummary
from terminal.research.sweep import SweepProgress, Trial
from terminal.ui.research.compute_box import ComputeBox
from terminal.ui.research.heatmap_view import HeatmapView
from terminal.ui.research.sweep_form import SweepForm
from terminal.ui.research.trials_model import TrialsModel, sortable
from terminal.ui.research.walkforward_form import WalkForwardForm
from terminal.ui.research.walkforward_view import WalkForwardView
from terminal.ui.tables import fit_columns, table
from terminal.ui.theme import DARK, Theme


class ResearchView(QWidget):
    start_requested = Signal()
    cancel_requested = Signal()
    open_requested = Signal(object)  # the Trial
    export_requested = Signal()
    report_requested = Signal()
    ended = Signal(str, bool)  # a sweep or walk-forward ended: what it said, whether it failed
    show_study_requested = Signal(int)  # a stored study's id
    resume_requested = Signal(int)

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.form = SweepForm(theme, self)
        self.walk = WalkForwardForm(self)  # ticked: Start walks forward with the form's sweep
        self.compute = ComputeBox(parent=self)  # where jobs run (the window gives it the settings)
        self.start_button = QPushButton("Start sweep", self)
        self.start_button.setObjectName("research_start")
        self.start_button.setToolTip("Sweep the strategy of the backtest form over these ranges")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.status = QLabel("No sweep yet.", self)
        self.status.setObjectName("research_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.odds = QLabel("", self)
        self.odds.setObjectName("research_odds")
        self.odds.setWordWrap(True)
        self.odds.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.odds.setToolTip(
            "How likely the best trial is an artefact of having tried many: the Deflated Sharpe Ratio "
            "and the Probability of Backtest Overfitting, from the trials' daily returns (docs/research.md)"
        )
        self.heatmap = HeatmapView(theme, self)
        self.walk_view = WalkForwardView(theme, self)
        self.model = TrialsModel(self)
        self.proxy = sortable(self.model)
        self.table = table(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.open_button = QPushButton("Open as backtest", self)
        self.open_button.setToolTip("Run the selected trial as a normal backtest (Enter or double-click)")
        self.open_button.setEnabled(False)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setToolTip("The trials, their parameters and metrics, as a CSV file")
        self.export_button.setEnabled(False)
        self.report_button = QPushButton("Export HTML…", self)
        self.report_button.setToolTip("The sweep as one self-contained page: set-up, odds, heatmap, trials")
        self.report_button.setEnabled(False)
        self.studies = QComboBox(self)
        self.studies.setObjectName("research_studies")
        self.studies.setToolTip(
            "Sweeps kept in the history file: show one's trials, or resume one that stopped"
        )
        self.studies.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.show_study_button = QPushButton("Show", self)
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.setToolTip("Run the study on from its last kept trial (none runs twice)")
        for button in (self.show_study_button, self.resume_button):
            button.setEnabled(False)

        # the form scrolls in a low dock; Start and Cancel stay in view below it
        scroll = QScrollArea(self)
        what = QWidget(self)
        what_column = QVBoxLayout(what)
        what_column.setContentsMargins(0, 0, 0, 0)
        what_column.addWidget(self.form, 1)
        what_column.addWidget(self.walk)
        scroll.setWidget(what)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QWidget(self)
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 4, 0)
        left_column.addWidget(scroll, 1)
        left_column.addWidget(self.compute)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        left_column.addLayout(buttons)
        right = QWidget(self)
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(4, 0, 0, 0)
        kept = QHBoxLayout()
        kept.addWidget(QLabel("Kept studies", self))
        kept.addWidget(self.studies, 1)
        kept.addWidget(self.show_study_button)
        kept.addWidget(self.resume_button)
        right_column.addLayout(kept)
        right_column.addWidget(self.status)
        right_column.addWidget(self.progress)
        right_column.addWidget(self.odds)
        self.results = QTabWidget(self)
        self.results.addTab(self.table, "Trials")
        self.results.addTab(self.heatmap, "Heatmap")
        self.results.addTab(self.walk_view, "Walk-forward")
        right_column.addWidget(self.results, 1)
        open_row = QHBoxLayout()
        open_row.addWidget(self.export_button)
        open_row.addWidget(self.report_button)
        open_row.addStretch(1)
        open_row.addWidget(self.open_button)
        right_column.addLayout(open_row)
        scroll.setMinimumWidth(280)
        self.split = split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        self._sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        self.start_button.clicked.connect(lambda _checked=False: self.start_requested.emit())
        self.cancel_button.clicked.connect(lambda _checked=False: self.cancel_requested.emit())
        self.open_button.clicked.connect(lambda _checked=False: self._open_selected())
        self.export_button.clicked.connect(lambda _checked=False: self.export_requested.emit())
        self.report_button.clicked.connect(lambda _checked=False: self.report_requested.emit())
        self.table.doubleClicked.connect(self._open_index)
        self.walk.toggled.connect(self._walk_toggled)
        self.heatmap.canvas.cell_opened.connect(self._open_number)
        self.show_study_button.clicked.connect(
            lambda _checked=False: self._study_signal(self.show_study_requested)
        )
        self.resume_button.clicked.connect(lambda _checked=False: self._study_signal(self.resume_requested))
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.open_button.setEnabled(self.selected() is not None)
        )
        for keys in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(keys), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._open_selected)

    def _walk_toggled(self, on: bool) -> None:
        self.start_button.setText("Start walk-forward" if on else "Start sweep")
        self.start_button.setToolTip(
            "Sweep each fold's in-sample window, trade its best on the window after"
            if on
            else "Sweep the strategy of the backtest form over these ranges"
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:  # the first time it has a width: the trials get the larger part
            self._sized = True
            width = max(self.split.width(), 600)
            self.split.setSizes([int(width * 0.42), width - int(width * 0.42)])

    # -- kept studies -------------------------------------------------------------------------------
    def set_studies(self, studies: list[StudySummary]) -> None:
        """The studies kept in the history file, newest first; the one shown stays chosen."""
        chosen = self.studies.currentData()
        self.studies.clear()
        for summary in sorted(studies, key=lambda s: -s.id):
            self.studies.addItem(study_text(summary), summary.id)
        index = self.studies.findData(chosen)
        self.studies.setCurrentIndex(index if index >= 0 else 0)
        for button in (self.show_study_button, self.resume_button):
            button.setEnabled(bool(studies))

    def _study_signal(self, signal: Any) -> None:
        study_id = self.studies.currentData()
        if study_id is not None:
            signal.emit(int(study_id))

    # -- the table --------------------------------------------------------------------------------
    def begin(self, names: list[str], objectives: tuple[Objective, ...], total: int | None) -> None:
        self.model.start(names, objectives)
        self.export_button.setEnabled(False)
        self.report_button.setEnabled(False)
        self.heatmap.set_names(names)
        numbers = ["000,000", *("00,000.0" for _ in names), *("-000.000" for _ in objectives)]
        fit_columns(self.table, [*numbers, "+000.00%", "-00.00%", "00,000"])
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # in the order they ran, until asked
        self.progress.setRange(0, total or 0)
        self.progress.setValue(0)
        self.odds.setText("")
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.say("Starting…")

    def add(self, trials: list[Trial], progress: SweepProgress | None, objective: Objective) -> None:
        self.model.add(trials)
        if trials:
            self.heatmap.set_trials(self.model.trials)
            self.export_button.setEnabled(True)
            self.report_button.setEnabled(True)
        if progress is None:
            return
        if progress.total:
            self.progress.setValue(min(progress.done, progress.total))
        self.say(progress_text(progress, objective))

    def end(self, text: str, error: bool = False) -> None:
        self.start_button.setEnabled(True)
        self.resume_button.setEnabled(self.studies.count() > 0)
        self.cancel_button.setEnabled(False)
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
        self.say(text, error)
        self.ended.emit(text, error)

    def set_odds(self, odds: Odds, importance: str = "") -> None:
        text = f"<b>Overfitting odds.</b> {escape(odds.dsr)}<br>{escape(odds.pbo)}"
        if importance:
            text += f"<br>{escape(importance)}"
        self.odds.setText(text)

    def selected(self) -> Trial | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.trial(self.proxy.mapToSource(rows[0]).row())

    def _open_index(self, index: QModelIndex) -> None:
        self.open_requested.emit(self.model.trial(self.proxy.mapToSource(index).row()))

    def _open_number(self, number: int) -> None:
        for trial in self.model.trials:
            if trial.number == number:
                self.open_requested.emit(trial)
                return

    def _open_selected(self) -> None:
        trial = self.selected()
        if trial is not None:
            self.open_requested.emit(trial)

    def say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.theme.down if error else self.theme.text};")

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.form.set_theme(theme)
        self.walk_view.apply_theme(theme)


def progress_text(progress: SweepProgress, objective: Objective) -> str:
    """ "1,234 of 3,965 trials · 412/s · about 7 s left · best Sharpe ratio 1.84 (#1,102)"."""
    rate = progress.done / progress.elapsed if progress.elapsed > 0 else 0.0
    done = f"{progress.done:,} of {progress.total:,}" if progress.total else f"{progress.done:,}"
    parts = [f"{done} trials"]
    if rate > 0:
        parts.append(f"{rate:,.0f}/s" if rate >= 10 else f"{rate:.1f}/s")
        if progress.total and progress.done < progress.total:
            parts.append(f"about {_duration((progress.total - progress.done) / rate)} left")
    best = progress.best
    if best is not None and best.values:
        parts.append(f"best {objective.label} {best.values[0]:,.3f} (#{best.number + 1:,})")
    return " · ".join(parts)


def study_text(summary: StudySummary) -> str:
    """ "#3 sma_cross on BTC/USDT 1m · grid · 1,146 trials · done" (and its label)."""
    spec = summary.spec
    label = f" “{spec.label}”" if spec.label else ""
    return (
        f"#{summary.id}{label} {spec.strategy} on {spec.data.symbol} {spec.data.timeframe} · "
        f"{spec.method.label} · {summary.trials:,} trials · {STATUS_WORDS.get(summary.status, '')}"
    )


STATUS_WORDS = {
    StudyStatus.RUNNING: "interrupted",  # a study running in no job: the terminal stopped under it
    StudyStatus.DONE: "done",
    StudyStatus.STOPPED: "stopped early",
    StudyStatus.CANCELLED: "cancelled",
}


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:.0f} min"
