"""Grid lines at the axes' ticks, opaque, in one batched draw call.

pyqtgraph's own grid (``PlotItem.showGrid(alpha=...)``) draws semi-transparent
lines through the axis items; measured here it cost 16-28 ms per frame, more
than everything else in a chart frame together. Opaque lines of a subdued
colour look the same on a flat background and draw in well under 1 ms.

The lines sit exactly where the axes put their labels: the axes below record
the ticks they compute for their own labels (``TickRecorder``), and the grid
draws those. Asking an axis for ticks from outside its own paint is not safe
(pyqtgraph's DateAxisItem has no font metrics until it first paints).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.DateAxisItem import YEAR_MONTH_ZOOM_LEVEL
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.axis_specs import QuickSpecs
from terminal.ui.chart.still import StillLayer
from terminal.ui.chart.view_rect import view_bounds

TickLevels = list[tuple[float, list[float]]]
LABELS_KEPT = 4096  # the time axis's labels remembered (a few bytes each)
ZOOM_PADDING = 10  # pixels around a label, as pyqtgraph's date axis counts them


class TickRecorder:
    """Mixin for axis items: keeps the major and minor ticks of the last
    labelling and tells listeners when they change."""

    recorded: TickLevels
    listeners: list[Callable[[], None]]

    def tickValues(self, lo: float, hi: float, size: float) -> TickLevels:
        levels: TickLevels = super().tickValues(lo, hi, size)  # type: ignore[misc]
        kept = [(spacing, list(ticks)) for spacing, ticks in levels[:2]]  # the labelled levels
        if kept != getattr(self, "recorded", None):
            self.recorded = kept
            for listener in getattr(self, "listeners", []):
                listener()
        return levels

    def tick_positions(self) -> np.ndarray:
        values = [v for _, ticks in getattr(self, "recorded", []) for v in ticks]
        return np.asarray(values, dtype=np.float64)

    def add_listener(self, listener: Callable[[], None]) -> None:
        if not hasattr(self, "listeners"):
            self.listeners = []
        self.listeners.append(listener)


class _SteadyDateAxis(pg.DateAxisItem):
    """pyqtgraph's date axis, minus the work a pan repeats at every frame: its ticks are
    worked out for three widths of the view at a time and taken from there while the view
    moves within them at the same zoom; the label widths that choose the zoom level are
    measured once per font; a label, once written, is kept (pyqtgraph formats each through a
    datetime and strftime)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> TickLevels:  # noqa: N803
        self.setZoomLevelForDensity((maxVal - minVal) / size)
        key = (id(self.zoomLevel), self.minSpacing, self.utcOffset)
        kept = self.__dict__.get("_ticks")
        if kept is None or kept[0] != key or not kept[1] <= minVal <= maxVal <= kept[2]:
            width = maxVal - minVal
            lo, hi = minVal - width, maxVal + width
            kept = (key, lo, hi, self.zoomLevel.tickValues(lo, hi, minSpc=self.minSpacing))
            self.__dict__["_ticks"] = kept
        return [(spacing, [v for v in values if minVal <= v <= maxVal]) for spacing, values in kept[3]]

    def setZoomLevelForDensity(self, density: float) -> None:
        metrics = self.fontMetrics
        font = (metrics.height(), metrics.averageCharWidth())
        widths: dict[tuple[object, ...], float] = self.__dict__.setdefault("_widths", {})

        def size_of(text: str) -> float:
            found = widths.get((*font, text))
            if found is None:
                found = widths[(*font, text)] = metrics.boundingRect(text).width() + ZOOM_PADDING
            return found

        self.zoomLevel = YEAR_MONTH_ZOOM_LEVEL  # as pyqtgraph chooses it
        for maximal_spacing, level in self.zoomLevels.items():
            if maximal_spacing / size_of(level.exampleText) < density:
                break
            self.zoomLevel = level
        self.zoomLevel.utcOffset = self.utcOffset
        self.minSpacing = density * size_of(self.zoomLevel.exampleText)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        labels: dict[tuple[object, ...], str] = self.__dict__.setdefault("_labels", {})
        if len(labels) > LABELS_KEPT:
            labels.clear()
        level = (id(self.zoomLevel), spacing, scale, self.utcOffset)
        missing = [v for v in values if (*level, v) not in labels]
        if missing:
            for value, text in zip(missing, super().tickStrings(missing, scale, spacing), strict=True):
                labels[(*level, value)] = text
        return [labels[(*level, v)] for v in values]


class TimeAxis(QuickSpecs, TickRecorder, _SteadyDateAxis):
    """The date/time axis, recording its ticks for the grid."""


class ChartGrid(pg.GraphicsObject):
    def __init__(self, x_axis: TickRecorder | None, y_axis: TickRecorder | None) -> None:
        super().__init__()
        self.x_axis = x_axis
        self.y_axis = y_axis
        self._pen = QPen(QColor("#2a2e39"))
        self._pen.setCosmetic(True)
        self._lines = PrimitiveArray(QLineF, 4)
        self._bounds = QRectF()
        self.layer: StillLayer | None = None  # the plot's still picture, when it holds the grid
        self._version = 0  # bumped when the lines change in the same view (ticks, colour)
        self.setZValue(-100)  # under the candles
        for axis in (x_axis, y_axis):
            if axis is not None:
                axis.add_listener(self._changed)

    def set_color(self, color: QColor) -> None:
        self._pen.setColor(color)
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.update()

    def still_key(self) -> Hashable:
        return self._version

    def viewRangeChanged(self) -> None:
        # the grid spans whatever is in view, so its bounds follow the view
        bounds = view_bounds(self, self._bounds)
        if bounds is not self._bounds:
            self._bounds = bounds
            self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.layer is None or not self.layer.holds(self, p):  # else it is in the still picture
            self.paint_history(p)

    def paint_history(self, p: QPainter) -> None:
        view = self._bounds
        if view.isEmpty():
            return
        xs = _within(self.x_axis, view.left(), view.right())
        ys = _within(self.y_axis, view.top(), view.bottom())
        n = len(xs) + len(ys)
        if not n:
            return
        self._lines.resize(n)
        mem = self._lines.ndarray()
        k = len(xs)
        mem[:k, 0], mem[:k, 1], mem[:k, 2], mem[:k, 3] = xs, view.top(), xs, view.bottom()
        mem[k:, 0], mem[k:, 1], mem[k:, 2], mem[k:, 3] = view.left(), ys, view.right(), ys
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(self._pen)
        p.drawLines(*self._lines.drawargs())


def _within(axis: TickRecorder | None, lo: float, hi: float) -> np.ndarray:
    if axis is None:
        return np.empty(0)
    ticks = axis.tick_positions()
    return ticks[(ticks >= lo) & (ticks <= hi)]
