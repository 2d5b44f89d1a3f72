"""The chart's indicators: lines over the candles and panes of their own.

``ChartStudies`` owns what the indicators add to a chart: their items on the price
plot, a pane (a plot row linked in time) for each pane indicator between the price
and the volume, and a legend on each (name, parameters, the values under the
crosshair, a settings and a remove button). The chart tells it when its candles
change (``recompute``: everything; ``live_update``: the live end, at the cost of the
last bars) and asks it for the overlays' price range in view.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from terminal.analysis.live import LiveIndicator
from terminal.analysis.setup import IndicatorConfig
from terminal.errors import TerminalError
from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.study_items import StudyHistogram, StudyItem, StudyLine
from terminal.ui.formatting import compact
from terminal.ui.theme import Theme

AXIS_WIDTH = 78  # the price axis's: every pane's plot area lines up
SPARE_FIRST_MS, SPARE_AFTER_MS = 3_000, 200  # when a pane's plot is made ahead
LEGEND_S = 0.25  # the legends follow the live candle at most this often (each rewrite lays them out)


class IndicatorFailedError(TerminalError):
    """An indicator could not be computed (its code raised, or a library refused)."""


@dataclass
class Pane:
    plot: pg.PlotItem
    vline: pg.InfiniteLine
    guides: list[pg.InfiniteLine] = field(default_factory=list)
    y_range: tuple[float, float] = (0.0, 0.0)  # the range last set (setting it again costs a layout)


@dataclass
class Study:
    """One indicator on the chart."""

    id: int
    config: IndicatorConfig
    live: LiveIndicator
    items: list[StudyItem]
    pane: Pane | None
    row: LegendRow
    run: bool = False  # a backtest's (drawn with its trades, never saved with the chart)
    failed: str = ""  # why its values stopped (a user's indicator that failed): shown, not updated


class LegendRow(QWidget):
    """ "RSI 14  54.32" with a settings and a remove button; a double-click opens the settings."""

    def __init__(self, parent: QWidget, edit: Callable[[], None], remove: Callable[[], None]) -> None:
        super().__init__(parent)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.edit_button = QToolButton(self)
        self.edit_button.setText("⚙")
        self.edit_button.setToolTip("Settings")
        self.remove_button = QToolButton(self)
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove")
        for button in (self.edit_button, self.remove_button):
            button.setAutoRaise(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.edit_button.clicked.connect(edit)
        self.remove_button.clicked.connect(remove)
        self._edit = edit
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.label)
        layout.addWidget(self.edit_button)
        layout.addWidget(self.remove_button)

    def mouseDoubleClickEvent(self, event: object) -> None:
        self._edit()


class Legend(QWidget):
    """The legend rows of one plot, kept at its top-left corner."""

    def __init__(self, host: QWidget, plot: pg.PlotItem) -> None:
        super().__init__(host)
        self.host = host
        self.plot = plot
        self.rows = QVBoxLayout(self)
        self.rows.setContentsMargins(4, 2, 4, 2)
        self.rows.setSpacing(0)
        plot.geometryChanged.connect(self.place)
        self.setObjectName("chartLegend")

    def place(self) -> None:
        view = self.host  # the GraphicsLayoutWidget
        assert isinstance(view, pg.GraphicsView)
        corner = view.mapFromScene(self.plot.getViewBox().sceneBoundingRect().topLeft())
        self.setVisible(self.rows.count() > 0)
        self.rows.invalidate()
        self.rows.activate()
        self.resize(self.sizeHint())
        self.move(corner.x() + 2, corner.y() + 2)
        self.raise_()


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
        self.price_legend = Legend(glw, price_plot)
        self._legends: dict[int, Legend] = {id(price_plot): self.price_legend}
        self._hover = -1
        self._legend_due = 0.0  # when the legends may show the live candle's values again
        self._spare: pg.PlotItem | None = None  # a pane's plot made ahead (adding a pane is then 17 ms less)
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
        items: list[StudyItem] = []
        for i, line in enumerate(spec.lines):
            shift = int(config.params[line.ahead]) * (-1 if line.behind else 1) if line.ahead else 0
            item: StudyItem
            if line.style == "histogram":
                item = StudyHistogram(series, live.line(i), shift)
            else:
                item = StudyLine(series, live.line(i), shift, dots=line.style == "dots")
            item.setZValue(5)
            plot.addItem(item, ignoreBounds=True)
            item.set_values(series, live.line(i))
            items.append(item)
        study_id = next(self._ids)
        legend = self._legends[id(plot)]
        row = LegendRow(legend, lambda: self.edit_requested.emit(study_id), lambda: self.remove(study_id))
        legend.rows.addWidget(row)
        row.show()  # now: a layout shows a child added to a shown widget only later (queued)
        study = Study(study_id, config, live, items, pane, row, run)
        self.studies.append(study)
        self._style(study)
        self._write_legend(study)
        legend.place()
        self.changed.emit()
        return study

    def remove(self, study_id: int) -> None:
        study = self.find(study_id)
        if study is None:
            return
        self.studies.remove(study)
        plot = study.pane.plot if study.pane else self.price_plot
        for item in study.items:
            plot.removeItem(item)
        study.row.setParent(None)
        study.row.deleteLater()
        if study.pane is not None:
            self._drop_pane(study.pane)
        else:
            self.price_legend.place()
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
        axis = pg.AxisItem(orientation="right")
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
        return plot

    def _make_spare(self) -> None:
        if self._spare is None:
            self._spare = self._made_plot()

    def _new_pane(self, levels: tuple[float, ...]) -> Pane:
        plot, self._spare = self._spare or self._made_plot(), None
        QTimer.singleShot(SPARE_AFTER_MS, self._make_spare)  # the next pane's, once this one is drawn
        plot.setXLink(self.price_plot)
        vline = pg.InfiniteLine(angle=90, movable=False)
        vline.hide()
        plot.addItem(vline, ignoreBounds=True)
        pane = Pane(plot, vline)
        for level in levels:
            guide = pg.InfiniteLine(pos=level, angle=0, movable=False)
            plot.addItem(guide, ignoreBounds=True)
            pane.guides.append(guide)
        self.panes.append(pane)
        self._legends[id(plot)] = Legend(self.glw, plot)
        if self.theme is not None:
            self.apply_theme(self.theme)
        self._append_row(plot)
        if self.theme is not None:
            self._theme_pane(pane, self.theme)
        return pane

    def _drop_pane(self, pane: Pane) -> None:
        self.panes.remove(pane)
        legend = self._legends.pop(id(pane.plot))
        legend.setParent(None)
        legend.deleteLater()
        self.glw.ci.removeItem(pane.plot)
        pane.plot.setXLink(None)  # linked, the price plot would keep it (and pan it) for ever
        pane.plot.deleteLater()
        self._relayout()

    def _append_row(self, plot: pg.PlotItem) -> None:
        """A new pane below the others: only the volume's row moves down (a full relayout
        takes every row out and back, 20 ms)."""
        ci = self.glw.ci
        row = len(self.panes)  # the price is row 0, the panes before this one rows 1..
        ci.removeItem(self.volume_plot)
        ci.addItem(plot, row=row, col=0)
        ci.addItem(self.volume_plot, row=row + 1, col=0)
        for r in (row, row + 1):
            ci.layout.setRowStretchFactor(r, 1)
        ci.layout.setRowStretchFactor(0, 4 if len(self.panes) < 2 else 3)
        for legend in self._legends.values():
            legend.place()

    def _relayout(self) -> None:
        """Price on top, the panes in the order added, the volume (with the time axis) last."""
        ci = self.glw.ci
        for plot in (*(p.plot for p in self.panes), self.volume_plot):
            if plot in ci.items:
                ci.removeItem(plot)
        rows = [p.plot for p in self.panes] + [self.volume_plot]
        for row, plot in enumerate(rows, start=1):
            ci.addItem(plot, row=row, col=0)
            ci.layout.setRowStretchFactor(row, 1)
        ci.layout.setRowStretchFactor(0, 4 if len(self.panes) < 2 else 3)
        for legend in self._legends.values():
            legend.place()

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
            for i, item in enumerate(study.items):
                item.set_values(series, study.live.line(i))
            self._write_legend(study)

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
            for i, item in enumerate(study.items):
                item.series = series
                item.live_values(study.live.line(i), start)
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
        """The overlays' lowest and highest value in view (the price axis fits them too)."""
        lo, hi = np.inf, -np.inf
        for study in self.studies:
            if study.pane is None:
                for item in study.items:
                    r = item.visible_range()
                    if r is not None:
                        lo, hi = min(lo, r[0]), max(hi, r[1])
        return (float(lo), float(hi)) if lo <= hi else None

    def autoscale_panes(self) -> None:
        for pane in self.panes:
            lo, hi = np.inf, -np.inf
            for study in self.studies:
                if study.pane is pane:
                    for item in study.items:
                        r = item.visible_range()
                        if r is not None:
                            lo, hi = min(lo, r[0]), max(hi, r[1])
            if lo > hi:
                continue
            for guide in pane.guides:  # the guides stay in view (RSI's 30 and 70)
                lo, hi = min(lo, guide.value()), max(hi, guide.value())
            pad = (hi - lo) * 0.08 or max(abs(hi) * 0.01, 1e-9)
            wanted = (lo - pad, hi + pad)
            if wanted != pane.y_range:  # a tick rarely moves the lowest or highest value in view
                pane.y_range = wanted
                pane.plot.getViewBox().setYRange(*wanted, padding=0)

    # -- crosshair and legend --------------------------------------------------------
    def in_pane(self, scene_pos: QPointF) -> bool:
        return any(p.plot.sceneBoundingRect().contains(scene_pos) for p in self.panes)

    def crosshair(self, x: float, index: int) -> None:
        for pane in self.panes:
            pane.vline.setPos(x)
            pane.vline.show()
        self._hover = index
        for study in self.studies:
            self._write_legend(study)

    def hide_crosshair(self) -> None:
        for pane in self.panes:
            pane.vline.hide()
        if self._hover != -1:
            self._hover = -1
            for study in self.studies:
                self._write_legend(study)

    def legend_text(self, study: Study) -> str:
        """ "RSI 14  54.32" (plain): the values under the crosshair, or of the last candle."""
        return _strip(self._legend_html(study))

    def _write_legend(self, study: Study) -> None:
        text = self._legend_html(study)
        if text == study.row.label.text():
            return
        study.row.label.setText(text)
        legend = study.row.parentWidget()
        if isinstance(legend, Legend) and legend.width() < legend.sizeHint().width():
            legend.place()

    def _legend_html(self, study: Study) -> str:
        n = len(study.live)
        index = self._hover if 0 <= self._hover < n else n - 1
        parts = [f"<b>{study.config.label}</b>" + (" <i>backtest</i>" if study.run else "")]
        if study.failed:
            return parts[0] + f"&nbsp;&nbsp;<span style='color:#ef5350'>⚠ {study.failed}</span>"
        if index >= 0:
            for color, value in zip(study.config.colors, self._shown_values(study, index), strict=True):
                parts.append(f"<span style='color:{color}'>{self._fmt(study, value)}</span>")
        return "&nbsp;&nbsp;".join(parts)

    def _shown_values(self, study: Study, index: int) -> tuple[float, ...]:
        """The value each line shows at candle ``index`` (a line drawn ahead shows an older bar's)."""
        out = []
        for i, item in enumerate(study.items):
            j = index - item.shift
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
        for item, color in zip(study.items, c.colors, strict=True):
            item.set_style(color, c.width, c.style)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for pane in self.panes:
            self._theme_pane(pane, theme)
        for legend in self._legends.values():
            legend.setStyleSheet(
                f"#chartLegend {{ background: transparent; }} QLabel {{ color: {theme.text}; }}"
                f" QToolButton {{ color: {theme.muted}; border: none; padding: 0 3px; }}"
                f" QToolButton:hover {{ color: {theme.text}; }}"
            )

    def _theme_pane(self, pane: Pane, theme: Theme) -> None:
        axis = pane.plot.getAxis("right")
        axis.setPen(pg.mkPen(theme.grid))
        axis.setTextPen(pg.mkPen(theme.muted))
        pane.vline.setPen(pg.mkPen(theme.crosshair, width=1, style=Qt.PenStyle.DashLine))
        for guide in pane.guides:
            guide.setPen(pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DotLine))


def _strip(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ")
