"""Equity and drawdown of a run, one above the other on one time axis.

A run has a value per bar: a million points for a million bars. pyqtgraph
clips the curves to the view and merges points per pixel ("peak"
downsampling keeps the extremes), so drawing costs what the screen shows,
not what the run holds. The drawdown is filled with an opaque colour (an
alpha fill costs more every frame; docs/architecture.md).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from terminal.ui.theme import DARK, Theme

AXIS_WIDTH = 64


class EquityPlot(pg.GraphicsLayoutWidget):
    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.ci.setSpacing(0)
        self.equity = self.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.drawdown = self.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.drawdown.setXLink(self.equity)
        self.equity.hideAxis("bottom")
        for plot, title in ((self.equity, "Equity"), (self.drawdown, "Drawdown %")):
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setLabel("left", title)
            plot.getViewBox().setMouseEnabled(x=True, y=False)
            plot.getViewBox().setAutoVisible(y=True)  # y fits what is in view as x zooms
        self.equity_curve = pg.PlotDataItem()
        self.drawdown_curve = pg.PlotDataItem(fillLevel=0.0)
        for curve, plot in ((self.equity_curve, self.equity), (self.drawdown_curve, self.drawdown)):
            # set on the plot: PlotItem.addItem gives its items the plot's own settings
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.addItem(curve)
        self.start_line = pg.InfiniteLine(angle=0, movable=False)  # the starting cash
        self.equity.addItem(self.start_line, ignoreBounds=True)
        self.trade_span = pg.LinearRegionItem(movable=False)  # the trade selected in the table
        self.trade_span.setZValue(-10)  # behind the curve
        self.trade_span.hide()
        self.equity.addItem(self.trade_span, ignoreBounds=True)
        self.points = 0
        self.apply_theme(theme)

    def show_run(
        self,
        ts_ms: NDArray[np.int64],
        equity: NDArray[np.float64],
        drawdown: NDArray[np.float64],
        initial: float,
    ) -> None:
        x = ts_ms.astype(np.float64) / 1000.0
        self.points = len(x)
        self.equity_curve.setData(x, equity)
        self.drawdown_curve.setData(x, drawdown * 100.0)
        self.start_line.setPos(initial)
        self.trade_span.hide()
        if len(x):
            self.equity.setXRange(float(x[0]), float(x[-1]), padding=0.01)
        for plot in (self.equity, self.drawdown):
            plot.enableAutoRange(axis="y")

    def show_trade(self, entry_ms: int, exit_ms: int) -> None:
        self.trade_span.setRegion((entry_ms / 1000.0, exit_ms / 1000.0))
        self.trade_span.show()

    def clear_run(self) -> None:
        self.points = 0
        self.equity_curve.setData([], [])
        self.drawdown_curve.setData([], [])
        self.trade_span.hide()

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.background)
        for plot in (self.equity, self.drawdown):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.grid))
                axis.setTextPen(pg.mkPen(theme.muted))
        self.equity_curve.setPen(pg.mkPen(theme.accent, width=1))
        self.drawdown_curve.setPen(pg.mkPen(theme.down, width=1))
        self.drawdown_curve.setBrush(pg.mkBrush(theme.down_fill))
        self.start_line.setPen(pg.mkPen(theme.muted, width=1, style=Qt.PenStyle.DotLine))
        self.trade_span.setBrush(pg.mkBrush(theme.up_fill))
        for line in self.trade_span.lines:
            line.setPen(pg.mkPen(theme.up_fill))
