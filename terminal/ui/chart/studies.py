"""The chart's indicators: lines over the candles and panes of their own.

``ChartStudies`` owns what the indicators add to a chart: their items on the price
plot, a pane (a plot row linked in time) for each pane indicator between the price
and the volume, and a legend on each (name, parameters, the values under the
crosshair, a settings and a remove button). The chart tells it when its candles
change (``recompute``: everything; ``live_update``: the live end, at the cost of the
last bars) and asks it for the overlays' price range in view.

What a frame of the live candle costs is kept small: one graphics item per study
(``StudyGraphic``), legends drawn in the scene (``StudyLegend``), a pane's guide levels
and crosshair in one item (``PaneLines``); a new pane is one row inserted, laid out
once, its plot made ahead while the event loop is idle.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from terminal.analysis.live import LiveIndicator
from terminal.analysis.setup import IndicatorConfig
from terminal.errors import TerminalError
from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.axis_specs import QuickAxis
from terminal.ui.chart.pane_lines import PaneLines
from terminal.ui.chart.ranges import held_range
from terminal.ui.chart.still import StillLayer, layer_of
from terminal.ui.chart.study_items import Output, StudyGraphic
from terminal.ui.chart.study_legend import Run, StudyLegend
from terminal.ui.formatting import compact
from terminal.ui.theme import DARK, Theme

AXIS_WIDTH = 78  # the price axis's: every pane's plot area lines up
SPARE_FIRST_MS, SPARE_AFTER_MS = 3_000, 200  # when a pane's plot is made ahead
LEGEND_S = 0.25  # the legends follow the live candle at most this often
PANE_PAD = 0.08  # a pane's range: its values in view and this much of their span above and below
OVERLAY_MARGIN = 0.005  # of their span: how far the overlays may move before the price range does


class IndicatorFailedError(TerminalError):
    """An indicator could not be computed (its code raised, or a library refused)."""


@dataclass
class Pane:
    plot: pg.PlotItem
    lines: PaneLines  # its guide levels and the crosshair's time
    legend: StudyLegend
    layer: StillLayer  # its still picture: the guides and the indicators' history
    y_range: tuple[float, float] = (0.0, 0.0)  # the range last set (setting it again costs a layout)


@dataclass
class Study:
    """One indicator on the chart."""

    id: int
    config: IndicatorConfig
    live: LiveIndicator
    graphic: StudyGraphic  # every line of it, one item
    pane: Pane | None
    run: bool = False  # a backtest's (drawn with its trades, never saved with the chart)
    failed: str = ""  # why its values stopped (a user's indicator that failed): shown, not updated

    @property
    def items(self) -> list[Output]:
        """Its drawn outputs, one per line of its spec (each with what its last paint drew)."""
        return self.graphic.outputs


def _kind(style: str) -> str:
    return style if style in ("histogram", "dots") else "line"


class ChartStudies(QObject):
    """The indicators of one chart (see the module's docstring)."""

    #: the indicators or their settings changed (the window saves them)
    changed = Signal()
    #: the user asked for a study's settings (its legend's button): the study's id
    edit_requested = Signal(int)
    #: an indicator could not be computed any more (a user's: its error, in words)
    failed = Signal(str)

    def __init__(
        self,
        glw: pg.GraphicsLayoutWidget,
        price_plot: pg.PlotItem,
        volume_plot: pg.PlotItem,
        series: Callable[[], CandleSeries],
        decimals: Callable[[], int],
    ) -> None:
        super().__init__(glw)
        self.glw = glw
        self.price_plot = price_plot
        self.volume_plot = volume_plot
        self._series = series
        self._decimals = decimals
        self.studies: list[Study] = []
        self.panes: list[Pane] = []
        self._ids = itertools.count(1)
        self.theme: Theme | None = None
        #: saved entries of indicators not known (yet): a user's whose file has not loaded;
        #: kept and saved with the rest until they load (``IndicatorControls.retry_waiting``)
        self.waiting: list[dict[str, object]] = []
        self.price_legend = StudyLegend(price_plot.getViewBox())
        # the price plot's still picture (the chart made it, in its theme's background)
        self._price_layer = layer_of(price_plot.getViewBox(), QColor(DARK.background))
        self._hover = -1
        self._legend_due = 0.0  # when the legends may show the live candle's values again
        self._spare: pg.PlotItem | None = None  # a pane's plot made ahead (adding a pane is then 17 ms less)
        self._overlays: tuple[float, float] | None = None  # the overlays' range last given (held)
        QTimer.singleShot(SPARE_FIRST_MS, self._make_spare)  # after the window's first candles

    # -- the set -------------------------------------------------------------------
    def configs(self) -> list[IndicatorConfig]:
        """The user's indicators (a backtest's are not the chart's own)."""
        return [s.config for s in self.studies if not s.run]

    def set_run_indicators(self, configs: list[IndicatorConfig]) -> None:
        """A backtest's indicators replace the previous run's ([] takes them off)."""
        for study in [s for s in self.studies if s.run]:
            self.remove(study.id)
        for config in configs:
            self.add(config, run=True)

    def run_configs(self) -> list[IndicatorConfig]:
        return [s.config for s in self.studies if s.run]

    def add(self, config: IndicatorConfig, run: bool = False) -> Study:
        """Compute ``config`` over the candles and draw it; a TerminalError (a user's
        indicator that failed) leaves the chart as it was."""
        return self._place(config, self._computed(config), run)

    def _computed(self, config: IndicatorConfig) -> LiveIndicator:
        """``config``'s values over the candles; whatever goes wrong is an IndicatorFailedError."""
        live = LiveIndicator(config.spec, dict(config.params))
        try:
            live.compute(self._series())
        except TerminalError:
            raise
        except Exception as exc:  # a user's indicator, or a library's refusal, in words
            raise IndicatorFailedError(f"{type(exc).__name__}: {exc}") from exc
        return live

    def _place(self, config: IndicatorConfig, live: LiveIndicator, run: bool) -> Study:
        spec = config.spec
        series = self._series()
        pane = self._new_pane(spec.levels) if spec.pane else None
        plot = pane.plot if pane else self.price_plot
        shifts = [
            int(config.params[line.ahead]) * (-1 if line.behind else 1) if line.ahead else 0
            for line in spec.lines
        ]
        arrays = [live.line(i) for i in range(len(spec.lines))]
        graphic = StudyGraphic(series, arrays, shifts, [_kind(line.style) for line in spec.lines])
        graphic.setZValue(5)
        plot.addItem(graphic, ignoreBounds=True)
        (pane.layer if pane else self._price_layer).add(graphic)  # its history in the still picture
        graphic.set_values(series, arrays)
        study_id = next(self._ids)
        legend = pane.legend if pane else self.price_legend
        legend.add_row(study_id, lambda: self.edit_requested.emit(study_id), lambda: self.remove(study_id))
        study = Study(study_id, config, live, graphic, pane, run)
        self.studies.append(study)
        self._style(study)
        self._write_legend(study)
        self.changed.emit()
        return study

    def remove(self, study_id: int) -> None:
        study = self.find(study_id)
        if study is None:
            return
        self.studies.remove(study)
        plot = study.pane.plot if study.pane else self.price_plot
        plot.removeItem(study.graphic)
        if study.graphic.layer is not None:
            study.graphic.layer.discard(study.graphic)
        (study.pane.legend if study.pane else self.price_legend).remove_row(study.id)
        if study.pane is not None:
            self._drop_pane(study.pane)
        self.changed.emit()

    def replace(self, study_id: int, config: IndicatorConfig) -> Study | None:
        """New settings for a study, at its place in the list (a pane of its comes back last).
        Computed first: settings that fail (an IndicatorFailedError) leave the old one drawn."""
        study = self.find(study_id)
        if study is None:
            return None
        live = self._computed(config)
        index = self.studies.index(study)
        self.remove(study_id)
        new = self._place(config, live, study.run)
        self.studies.remove(new)
        self.studies.insert(index, new)
        return new

    def set_configs(self, configs: list[IndicatorConfig]) -> None:
        """The user's indicators become ``configs`` (a backtest's stay)."""
        for study in [s for s in self.studies if not s.run]:
            self.remove(study.id)
        for config in configs:
            self.add(config)

    def find(self, study_id: int) -> Study | None:
        return next((s for s in self.studies if s.id == study_id), None)

    # -- panes ---------------------------------------------------------------------
    @staticmethod
    def _made_plot() -> pg.PlotItem:
        """A pane's plot: a right axis only, no menu, y fixed by us (17 ms to build: one is
        kept ready, ``_spare``, made when the event loop is idle)."""
        axis = QuickAxis(orientation="right")
        plot = pg.PlotItem(axisItems={"right": axis})
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.showAxis("right")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        vb = plot.getViewBox()
        vb.setMouseEnabled(x=True, y=False)
        vb.enableAutoRange(enable=False)
        axis.setWidth(AXIS_WIDTH)
        axis.setStyle(showValues=True)
        # no label: the SI prefix is never shown, but working it out rewrote the hidden label's
        # HTML at every change of range; the hidden axes follow no range at all (each pan
        # and each new pane's layout set theirs)
        axis.enableAutoSIPrefix(False)
        # drawn from a picture of itself while its range stays (most ticks): pyqtgraph replays
        # the labels' text at every paint otherwise
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for name in ("left", "bottom", "top"):
            plot.getAxis(name).unlinkFromView()
        return plot

    def _make_spare(self) -> None:
        if self._spare is None:
            self._spare = self._made_plot()
            if self.theme is not None:
                self._theme_plot(self._spare, self.theme)

    def _new_pane(self, levels: tuple[float, ...]) -> Pane:
        plot, self._spare = self._spare or self._made_plot(), None
        QTimer.singleShot(SPARE_AFTER_MS, self._make_spare)  # the next pane's, once this one is drawn
        lines = PaneLines(levels)
        plot.addItem(lines, ignoreBounds=True)
        layer = layer_of(plot.getViewBox(), QColor(self.theme.background if self.theme else DARK.background))
        layer.add(lines)
        pane = Pane(plot, lines, StudyLegend(plot.getViewBox()), layer)
        if self.theme is not None:
            self._theme_pane(pane, self.theme)
        self.panes.append(pane)
        self._append_row(plot)
        plot.setXLink(self.price_plot)  # laid out first: the link sets its range once, at its width
        return pane

    def _drop_pane(self, pane: Pane) -> None:
        index = self.panes.index(pane)
        self.panes.remove(pane)
        self.glw.ci.removeItem(pane.plot)
        pane.plot.setXLink(None)  # linked, the price plot would keep it (and pan it) for ever
        pane.plot.deleteLater()
        self._close_row(index + 1)

    def _move(self, plot: pg.PlotItem, row: int) -> None:
        """``plot`` to ``row`` of the grid, staying in the scene (pyqtgraph's ``removeItem``
        + ``addItem`` take it out of the scene and back, and lay the grid out at each add)."""
        ci = self.glw.ci
        for old_row, old_col in ci.items[plot]:  # pyqtgraph's own books follow the move
            del ci.rows[old_row][old_col]
        ci.items[plot] = [(row, 0)]
        ci.rows.setdefault(row, {})[0] = plot
        ci.layout.removeAt(ci.itemIndex(plot))
        ci.layout.addItem(plot, row, 0)

    def _stretch(self) -> None:
        """The price pane 4 (3 with two panes or more) to each pane's and the volume's 1."""
        layout = self.glw.ci.layout
        for row in range(1, len(self.panes) + 2):
            layout.setRowStretchFactor(row, 1)
        layout.setRowStretchFactor(len(self.panes) + 2, 0)  # a row left empty by a pane taken off
        layout.setRowStretchFactor(0, 4 if len(self.panes) < 2 else 3)

    def _append_row(self, plot: pg.PlotItem) -> None:
        """A new pane below the others: only the volume's row moves down, and the grid is
        laid out once."""
        row = len(self.panes)  # the price is row 0, the panes before this one rows 1..
        self._move(self.volume_plot, row + 1)
        self._stretch()
        self.glw.ci.addItem(plot, row=row, col=0)  # its books, and the one layout of the grid

    def _close_row(self, row: int) -> None:
        """A pane's row was taken out: the rows below it move up one, laid out once."""
        for plot in [*(p.plot for p in self.panes[row - 1 :]), self.volume_plot]:
            self._move(plot, self.glw.ci.items[plot][0][0] - 1)
        self._stretch()
        self.glw.ci.layout.activate()

    # -- values --------------------------------------------------------------------
    def recompute(self) -> None:
        """The candles were replaced or changed before the live end: every value afresh."""
        series = self._series()
        for study in self.studies:
            if study.failed:
                continue
            try:
                study.live.compute(series)
            except Exception as exc:  # noqa: BLE001 - one indicator's failure stops it, not the chart
                self._fail(study, exc)
                continue
            study.graphic.set_values(series, self._lines(study))
            self._write_legend(study)

    @staticmethod
    def _lines(study: Study) -> list[np.ndarray]:
        return [study.live.line(i) for i in range(len(study.graphic.outputs))]

    def live_update(self) -> None:
        """The live end changed: each study's last bars, O(1) in the history's length."""
        series = self._series()
        for study in self.studies:
            if study.failed:
                continue
            start = max(0, len(study.live) - 1)
            try:
                study.live.update(series)
            except Exception as exc:  # noqa: BLE001 - one indicator's failure stops it, not the chart
                self._fail(study, exc)
                continue
            study.graphic.series = series
            study.graphic.live_values(self._lines(study), start)
        now = time.monotonic()
        if self._hover < 0 and now >= self._legend_due:  # the last candle's values, 4 times a second
            self._legend_due = now + LEGEND_S
            for study in self.studies:
                self._write_legend(study)

    def _fail(self, study: Study, exc: Exception) -> None:
        """A study's values cannot be computed any more: it stays as last drawn, its legend
        says why, and the window is told once."""
        study.failed = (
            exc.user_message() if isinstance(exc, TerminalError) else f"{type(exc).__name__}: {exc}"
        )
        self._write_legend(study)
        self.failed.emit(f"{study.config.label} stopped: {study.failed}")

    def overlay_range(self) -> tuple[float, float] | None:
        """The overlays' lowest and highest value in view (the price axis fits them too),
        with a margin that a tick does not move: when a line is the lowest or highest thing
        in view (Bollinger's bands often are), the live candle moved it, and so the price
        axis, the grid and every item's transform, on every tick."""
        lo, hi = np.inf, -np.inf
        for study in self.studies:
            if study.pane is None:
                r = study.graphic.visible_range()
                if r is not None:
                    lo, hi = min(lo, r[0]), max(hi, r[1])
        if lo > hi:
            self._overlays = None
            return None
        self._overlays = held_range(self._overlays, float(lo), float(hi), OVERLAY_MARGIN)
        return self._overlays

    def autoscale_panes(self) -> None:
        for pane in self.panes:
            lo, hi = np.inf, -np.inf
            for study in self.studies:
                if study.pane is pane:
                    r = study.graphic.visible_range()
                    if r is not None:
                        lo, hi = min(lo, r[0]), max(hi, r[1])
            if lo > hi:
                continue
            for level in pane.lines.levels:  # the guides stay in view (RSI's 30 and 70)
                lo, hi = min(lo, level), max(hi, level)
            if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300):  # one value: a span around it
                lo, hi = lo - max(abs(hi) * 0.01, 1e-9), hi + max(abs(hi) * 0.01, 1e-9)
            held = pane.y_range if pane.y_range[0] < pane.y_range[1] else None
            wanted = held_range(held, lo, hi, PANE_PAD)
            if wanted != pane.y_range:  # a tick rarely moves the range: its axis is drawn again only then
                pane.y_range = wanted
                pane.plot.getViewBox().setYRange(*wanted, padding=0)

    # -- crosshair and legend --------------------------------------------------------
    def in_pane(self, scene_pos: QPointF) -> bool:
        return any(p.plot.sceneBoundingRect().contains(scene_pos) for p in self.panes)

    def crosshair(self, x: float, index: int) -> None:
        for pane in self.panes:
            pane.lines.set_cursor(x)
        self._hover = index
        for study in self.studies:
            self._write_legend(study)

    def hide_crosshair(self) -> None:
        for pane in self.panes:
            pane.lines.set_cursor(None)
        if self._hover != -1:
            self._hover = -1
            for study in self.studies:
                self._write_legend(study)

    def legend(self, study: Study) -> StudyLegend:
        """The legend that has ``study``'s row (its pane's, or the price's)."""
        return study.pane.legend if study.pane is not None else self.price_legend

    def legend_text(self, study: Study) -> str:
        """ "RSI 14  54.32" (plain): the values under the crosshair, or of the last candle."""
        return self.legend(study).text(study.id)

    def _write_legend(self, study: Study) -> None:
        self.legend(study).set_runs(study.id, self._legend_runs(study))

    def _legend_runs(self, study: Study) -> tuple[Run, ...]:
        n = len(study.live)
        index = self._hover if 0 <= self._hover < n else n - 1
        runs = [Run(study.config.label, bold=True)]
        if study.run:
            runs.append(Run("backtest", italic=True))
        if study.failed:
            return (*runs, Run(f"⚠ {study.failed}", "#ef5350"))
        if index >= 0:
            for color, value in zip(study.config.colors, self._shown_values(study, index), strict=True):
                runs.append(Run(self._fmt(study, value), color))
        return tuple(runs)

    def _shown_values(self, study: Study, index: int) -> tuple[float, ...]:
        """The value each line shows at candle ``index`` (a line drawn ahead shows an older bar's)."""
        out = []
        for i, output in enumerate(study.graphic.outputs):
            j = index - output.shift
            values = study.live.line(i)
            out.append(float(values[j]) if 0 <= j < len(values) else float("nan"))
        return tuple(out)

    def _fmt(self, study: Study, value: float) -> str:
        if not np.isfinite(value):
            return "–"
        if study.pane is None:
            return f"{value:,.{self._decimals()}f}"
        return compact(value) if abs(value) >= 100_000 else f"{value:,.2f}"

    # -- looks ---------------------------------------------------------------------
    def _style(self, study: Study) -> None:
        c = study.config
        study.graphic.set_style(c.colors, c.width, c.style)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.price_legend.set_colors(QColor(theme.text), QColor(theme.muted))
        for pane in self.panes:
            self._theme_pane(pane, theme)
        if self._spare is not None:
            self._theme_plot(self._spare, theme)

    @staticmethod
    def _theme_plot(plot: pg.PlotItem, theme: Theme) -> None:
        axis = plot.getAxis("right")
        axis.setPen(pg.mkPen(theme.grid))
        axis.setTextPen(pg.mkPen(theme.muted))

    def _theme_pane(self, pane: Pane, theme: Theme) -> None:
        self._theme_plot(pane.plot, theme)
        pane.layer.set_background(QColor(theme.background))
        pane.lines.set_colors(
            QColor(theme.muted), pg.mkPen(theme.crosshair, width=1, style=Qt.PenStyle.DashLine)
        )
        pane.legend.set_colors(QColor(theme.text), QColor(theme.muted))
