"""The backtest panel's Monte Carlo tab: how much of the run shown in Results was
the order, the sample or the timing of its trades (docs/research.md, "Monte Carlo").

The user picks the number of paths, the method (reshuffle, resample, block
bootstrap), a drawdown threshold and a ruin level, and presses Run; the
simulation runs in a worker thread (``montecarlo_job.simulate``) and the tab
shows the percentile fan of equity over trade number with the run's own path
on it, the histogram of the paths' maximum drawdowns with the run's own
marked, and the answer in plain words, the random-entry baseline included
when the run's candles are at hand. A run without closed trades gets the
module's message and nothing drawn.

The view holds the widgets and the computation's await; the panel hands it
the run and where the run's candles are (``run_opens``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from terminal.backtest.run_store import SavedRun
from terminal.errors import TerminalError
from terminal.research import montecarlo as mc
from terminal.research.cluster.connect import Cluster
from terminal.store.candles import CandleStore
from terminal.ui.backtest.chart_link import ChartLink
from terminal.ui.backtest.equity_plot import AXIS_WIDTH
from terminal.ui.backtest.montecarlo_job import (
    METHODS,
    FloatArray,
    MonteCarloChoice,
    MonteCarloOutcome,
    OpensSource,
    simulate_on,
)
from terminal.ui.backtest.number_edit import NumberEdit
from terminal.ui.theme import DARK, Theme

HISTOGRAM_BINS = 60


class MonteCarloPlots(pg.GraphicsLayoutWidget):
    """The fan of equity over trade number (left) and the drawdown histogram (right).

    The bands are filled with opaque colours, a blend of the accent into the
    background: an alpha fill costs more every frame (docs/architecture.md)."""

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.fan_plot = self.addPlot(row=0, col=0)
        self.histogram_plot = self.addPlot(row=0, col=1)
        self.ci.layout.setColumnStretchFactor(0, 3)
        self.ci.layout.setColumnStretchFactor(1, 2)
        for plot, left, bottom in (
            (self.fan_plot, "Equity", "Trades closed"),
            (self.histogram_plot, "Paths", "Maximum drawdown %"),
        ):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setLabel("left", left)
            plot.setLabel("bottom", bottom)
        #: one curve per percentile of the fan, in ``mc.PERCENTILES`` order
        self.fan_curves = [pg.PlotDataItem() for _ in mc.PERCENTILES]
        outer, inner = (self.fan_curves[0], self.fan_curves[-1]), (self.fan_curves[1], self.fan_curves[-2])
        self.outer_band = pg.FillBetweenItem(*outer)
        self.inner_band = pg.FillBetweenItem(*inner)
        for item in (self.outer_band, self.inner_band, *self.fan_curves):
            self.fan_plot.addItem(item)
        self.run_curve = pg.PlotDataItem()  # the run's own path
        self.fan_plot.addItem(self.run_curve)
        self.start_line = pg.InfiniteLine(angle=0, movable=False)
        self.fan_plot.addItem(self.start_line, ignoreBounds=True)
        self.histogram = pg.PlotDataItem(stepMode="center", fillLevel=0.0)
        self.histogram_plot.addItem(self.histogram)
        self.run_line = pg.InfiniteLine(angle=90, movable=False)  # the run's own drawdown
        self.threshold_line = pg.InfiniteLine(angle=90, movable=False)  # the drawdown asked about
        self.histogram_plot.addItem(self.run_line)
        self.histogram_plot.addItem(self.threshold_line, ignoreBounds=True)  # shown when in the spread
        self.counts = np.zeros(0, dtype=np.int64)
        self.clear_plots()
        self.apply_theme(theme)

    def show_outcome(self, outcome: MonteCarloOutcome) -> None:
        fan = outcome.fan
        x = fan.trades.astype(np.float64)
        for curve, equity in zip(self.fan_curves, fan.equity, strict=True):
            curve.setData(x, equity)
        self.run_curve.setData(np.arange(len(outcome.run_equity), dtype=np.float64), outcome.run_equity)
        self.start_line.setPos(outcome.simulation.initial)
        depths = outcome.simulation.max_drawdown * 100.0
        own = outcome.run_drawdown * 100.0
        # bins over the paths' spread (and the run's own), not from 0: when every path is
        # deep, a range from 0 would put them all in one bar
        low, high = min(float(depths.min()), own), max(float(depths.max()), own)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        counts, edges = np.histogram(depths, bins=HISTOGRAM_BINS, range=(low, high))
        self.counts = counts
        self.histogram.setData(edges, counts.astype(np.float64))
        self.run_line.setPos(outcome.run_drawdown * 100.0)
        self.threshold_line.setPos(-outcome.choice.drawdown * 100.0)
        for item in (self.run_line, self.threshold_line, self.start_line):
            item.show()
        for plot in (self.fan_plot, self.histogram_plot):
            plot.enableAutoRange()

    def clear_plots(self) -> None:
        for curve in (*self.fan_curves, self.run_curve):
            curve.setData([], [])
        self.histogram.setData([0.0, 1.0], [0.0])
        self.counts = np.zeros(0, dtype=np.int64)
        for item in (self.run_line, self.threshold_line, self.start_line):
            item.hide()

    @property
    def drawn(self) -> bool:
        return len(self.counts) > 0

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.background)
        for plot in (self.fan_plot, self.histogram_plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.grid))
                axis.setTextPen(pg.mkPen(theme.muted))
        self.outer_band.setBrush(pg.mkBrush(_blend(theme.accent, theme.background, 0.18)))
        self.inner_band.setBrush(pg.mkBrush(_blend(theme.accent, theme.background, 0.36)))
        for i, curve in enumerate(self.fan_curves):
            middle = i == len(self.fan_curves) // 2
            curve.setPen(pg.mkPen(theme.accent, width=2 if middle else 1))
        self.run_curve.setPen(pg.mkPen(theme.text, width=2))
        self.start_line.setPen(pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DotLine))
        self.histogram.setPen(pg.mkPen(theme.accent, width=1))
        self.histogram.setBrush(pg.mkBrush(_blend(theme.accent, theme.background, 0.45)))
        self.run_line.setPen(pg.mkPen(theme.text, width=2))
        self.threshold_line.setPen(pg.mkPen(theme.down, width=1, style=Qt.PenStyle.DashLine))


class MonteCarloView(QWidget):
    """``run_requested``: Run was pressed (the panel answers with ``compute``)."""

    run_requested = Signal()

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.run: SavedRun | None = None
        self.outcome: MonteCarloOutcome | None = None
        #: the research cluster chosen in the Research tab (None: this machine); called in
        #: the worker thread, as opening one blocks
        self.where: Callable[[], Cluster | None] | None = None
        self.paths = NumberEdit(10_000, integer=True, minimum=1, maximum=1_000_000, step=1_000, parent=self)
        self.paths.setToolTip("How many simulated paths (and random-entry tries)")
        self.method = QComboBox(self)
        for key, words in METHODS.items():
            self.method.addItem(words, key)
        self.method.setToolTip(
            "Reshuffle: the same trades in random orders (the drawdown met on the way).\n"
            "Resample: trades drawn with replacement (the spread of the total return).\n"
            "Block bootstrap: runs of consecutive trades drawn, for trades whose results cluster."
        )
        self.drawdown = NumberEdit(20.0, integer=False, minimum=0.0, maximum=100.0, exclusive_minimum=True,
                                   step=1.0, parent=self)  # fmt: skip
        self.drawdown.setToolTip("The odds of a drawdown this deep or deeper (% below a peak)")
        self.ruin = NumberEdit(50.0, integer=False, minimum=0.0, maximum=100.0, exclusive_maximum=True,
                               step=5.0, parent=self)  # fmt: skip
        self.ruin.setToolTip("Ruin: equity falls to this share of the starting cash or below")
        self.seed = NumberEdit(0, integer=True, minimum=0, parent=self)
        self.seed.lineEdit().clear()
        self.seed.lineEdit().setPlaceholderText("random")
        self.seed.setToolTip("The same seed gives the same paths; empty: new ones each time")
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("montecarlo_run")
        self.run_button.setToolTip("Simulate the trades of the run shown in Results")
        self.status = QLabel(self)
        self.status.setObjectName("montecarlo_status")
        self.status.setWordWrap(True)
        self.words = QLabel(self)
        self.words.setObjectName("montecarlo_words")
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plots = MonteCarloPlots(theme, self)

        form = QFormLayout()
        form.addRow("Paths", self.paths)
        form.addRow("Method", self.method)
        form.addRow("Drawdown beyond %", self.drawdown)
        form.addRow("Ruin at % of start", self.ruin)
        form.addRow("Seed", self.seed)
        left = QWidget(self)
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 4, 0)
        left_column.addLayout(form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addStretch(1)
        left_column.addLayout(buttons)
        left_column.addWidget(self.status)
        left_column.addStretch(1)
        right = QWidget(self)
        right_column = QVBoxLayout(right)
        right_column.setContentsMargins(4, 0, 0, 0)
        right_column.addWidget(self.words)
        right_column.addWidget(self.plots, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.run_button.clicked.connect(lambda _checked=False: self.run_requested.emit())
        self.set_run(None)
        self.apply_theme(theme)

    # -- the run -------------------------------------------------------------------------------
    def set_run(self, run: SavedRun | None) -> None:
        """The run shown in Results: what Run will simulate (what was drawn is cleared)."""
        self.run = run
        self.outcome = None
        self.plots.clear_plots()
        self.words.clear()
        self.run_button.setEnabled(run is not None)
        if run is None:
            self._say("No run shown: run a backtest or open a saved run first.")
        else:
            n = len(run.result.trades)
            trades = f"{n:,} closed trade{'' if n == 1 else 's'}"
            self._say(f"Run to simulate the {trades} of {run.summary.label}.")

    def choice(self) -> MonteCarloChoice | None:
        """The fields as a choice, or None with what is wrong said."""
        paths, drawdown, ruin = self.paths.value(), self.drawdown.value(), self.ruin.value()
        typed_seed = self.seed.text().strip()
        seed = self.seed.value() if typed_seed else None
        problem = ""
        if not isinstance(paths, int) or not 1 <= paths <= 1_000_000:
            problem = "Paths must be a whole number from 1 to 1,000,000."
        elif drawdown is None or not 0.0 < drawdown <= 100.0:
            problem = "The drawdown must be a percentage above 0 and at most 100."
        elif ruin is None or not 0.0 <= ruin < 100.0:
            problem = "The ruin level must be a percentage of the start from 0 to below 100."
        elif typed_seed and (not isinstance(seed, int) or seed < 0):
            problem = "The seed must be a whole number, 0 or more (or empty)."
        if problem or not isinstance(paths, int) or drawdown is None or ruin is None:
            self._say(problem, error=True)
            return None
        method = str(self.method.currentData())
        return MonteCarloChoice(
            paths, method, drawdown / 100.0, ruin / 100.0, seed if isinstance(seed, int) else None
        )

    async def compute(self, run: SavedRun, opens: OpensSource) -> MonteCarloOutcome | None:
        """Simulate ``run``'s trades as chosen, in a worker thread, and show the answer
        (None, and why said, when there is none)."""
        choice = self.choice()
        if choice is None:
            return None
        self._say(f"Simulating {choice.paths:,} paths…")
        self.run_button.setEnabled(False)
        where = self.where
        ran_on: list[str] = []

        def work() -> MonteCarloOutcome:  # in a worker thread: a cluster opens here, not on the GUI's
            cluster = where() if where is not None else None
            if cluster is not None:
                ran_on.append(cluster.description)
            return simulate_on(cluster, run.result, choice, opens)

        try:
            outcome = await asyncio.to_thread(work)
        except TerminalError as exc:  # too few trades: the module's own words
            if self.run is run:
                self.plots.clear_plots()
                self.words.clear()
                self._say(exc.user_message(), error=True)
            return None
        finally:
            self.run_button.setEnabled(self.run is not None)
        if self.run is not run:
            return None  # another run is shown now
        self.outcome = outcome
        self.plots.show_outcome(outcome)
        self.words.setText("\n".join(outcome.words()))
        on = f" on {ran_on[0]}" if ran_on else ""
        self._say(f"Simulated {outcome.simulation.paths:,} paths ({METHODS[choice.method].lower()}){on}.")
        return outcome

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {self.theme.down if error else self.theme.muted};")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plots.apply_theme(theme)
        self._say(self.status.text())


def run_opens(run: SavedRun, link: ChartLink, store: Callable[[], CandleStore]) -> OpensSource:
    """Where ``run``'s open prices are, for the random-entry baseline: the chart's
    candles if it shows the run's market and still holds every one of the run's
    candles (copied now, on the GUI thread, where the session changes them), else
    the stored series (read in the worker thread); None from both: not at hand."""
    s, ts = run.summary, run.result.ts
    if not len(ts):
        return lambda: None
    if link.market() == (s.exchange, s.symbol, s.timeframe):
        series = link.series()
        first = int(np.searchsorted(series.ts, ts[0]))
        window = series.ts[first : first + len(ts)]
        if len(window) == len(ts) and np.array_equal(window, ts):
            prices = np.array(series.open[first : first + len(ts)], dtype=np.float64)
            return lambda: prices

    def stored() -> FloatArray | None:
        try:
            candles = store().read(s.exchange, s.symbol, s.timeframe, int(ts[0]), int(ts[-1]) + 1)
        except TerminalError:
            return None
        if len(candles) != len(ts) or not np.array_equal(candles.ts, ts):
            return None
        return np.asarray(candles.open, dtype=np.float64)

    return stored


def _blend(colour: str, background: str, share: float) -> str:
    """``share`` of ``colour`` over ``background``, as an opaque colour."""
    a, b = QColor(colour), QColor(background)
    mix = QColor(
        round(a.red() * share + b.red() * (1.0 - share)),
        round(a.green() * share + b.green() * (1.0 - share)),
        round(a.blue() * share + b.blue() * (1.0 - share)),
    )
    return mix.name()
