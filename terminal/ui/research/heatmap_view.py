"""The heatmap of a sweep: any two varied parameters across and up, each cell
the best objective value a trial with that pair reached (the others
aggregated by their best: ``terminal.research.heatmap``), green for the
better end, red for the worse, empty where no trial counted. Hovering a cell
says its pair, value and trial; a double-click opens that trial."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolTip, QVBoxLayout, QWidget

from terminal.research.heatmap import Heatmap, heatmap
from terminal.research.sweep import Trial
from terminal.ui.theme import DARK, Theme

MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 56, 22, 6


class HeatmapCanvas(QWidget):
    cell_opened = Signal(int)  # the trial number

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.map: Heatmap | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(200, 140)

    def set_map(self, found: Heatmap | None) -> None:
        self.map = found
        self.update()

    def _plot(self) -> QRect:
        return self.rect().adjusted(MARGIN_LEFT, MARGIN_TOP, -6, -MARGIN_BOTTOM)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        found, plot = self.map, self._plot()
        if found is None or not found.xs or not found.ys or not plot.contains(point):
            return None
        j = int((point.x() - plot.left()) * len(found.xs) / max(plot.width(), 1))
        i = int((plot.bottom() - point.y()) * len(found.ys) / max(plot.height(), 1))
        return (min(i, len(found.ys) - 1), min(j, len(found.xs) - 1))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self.theme.background))
        found, plot = self.map, self._plot()
        painter.setPen(QColor(self.theme.muted))
        if found is None or not found.xs or not found.ys:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No trials to map yet.")
            return
        finite = found.values[np.isfinite(found.values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        rows, cols = found.values.shape
        width, height = plot.width() / cols, plot.height() / rows
        for i in range(rows):
            for j in range(cols):
                value = float(found.values[i, j])
                if math.isnan(value):
                    continue
                share = (value - low) / (high - low) if high > low else 1.0
                x0 = plot.left() + j * width
                y0 = plot.bottom() - (i + 1) * height
                cell = QRect(round(x0), round(y0), math.ceil(width), math.ceil(height))
                painter.fillRect(cell, _colour(share))
        painter.setPen(QColor(self.theme.muted))
        painter.drawRect(plot)
        for j in _ticks(cols):
            x = round(plot.left() + (j + 0.5) * width)
            painter.drawText(QRect(x - 30, plot.bottom() + 2, 60, 18), Qt.AlignmentFlag.AlignHCenter,
                             _label(found.xs[j]))  # fmt: skip
        for i in _ticks(rows):
            y = round(plot.bottom() - (i + 0.5) * height)
            painter.drawText(QRect(0, y - 9, MARGIN_LEFT - 4, 18), Qt.AlignmentFlag.AlignRight,
                             _label(found.ys[i]))  # fmt: skip

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        found = self.map
        if cell is None or found is None:
            QToolTip.hideText()
            return
        i, j = cell
        value, number = float(found.values[i, j]), int(found.trials[i, j])
        said = "no trial" if number < 0 else f"best {value:,.3f} (trial #{number + 1:,})"
        text = f"{found.x_name} {_label(found.xs[j])}, {found.y_name} {_label(found.ys[i])}: {said}"
        QToolTip.showText(event.globalPosition().toPoint(), text, self)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and self.map is not None and self.map.trials[cell] >= 0:
            self.cell_opened.emit(int(self.map.trials[cell]))


class HeatmapView(QWidget):
    """The canvas with the two parameters to map."""

    def __init__(self, theme: Theme = DARK, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.across = QComboBox(self)
        self.up = QComboBox(self)
        self.canvas = HeatmapCanvas(theme, self)
        self.trials: list[Trial] = []
        row = QHBoxLayout()
        row.addWidget(QLabel("Across", self))
        row.addWidget(self.across)
        row.addWidget(QLabel("up", self))
        row.addWidget(self.up)
        row.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.canvas, 1)
        self.across.currentIndexChanged.connect(self.redraw)
        self.up.currentIndexChanged.connect(self.redraw)

    def set_names(self, names: list[str]) -> None:
        for box, index in ((self.across, 0), (self.up, 1)):
            box.blockSignals(True)
            box.clear()
            box.addItems(names)
            box.setCurrentIndex(min(index, len(names) - 1))
            box.blockSignals(False)
        self.trials = []
        self.redraw()

    def set_trials(self, trials: list[Trial]) -> None:
        self.trials = trials
        if self.isVisible():
            self.redraw()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.redraw()

    def redraw(self) -> None:
        x, y = self.across.currentText(), self.up.currentText()
        if not x or not y or x == y:
            self.canvas.set_map(None)
            return
        self.canvas.set_map(heatmap(self.trials, x, y))


def _colour(share: float) -> QColor:
    """Red (worst) through grey to green (best)."""
    share = min(max(share, 0.0), 1.0)
    if share < 0.5:
        t = share / 0.5
        return QColor(round(200 - 110 * t), round(60 + 30 * t), round(60 + 30 * t))
    t = (share - 0.5) / 0.5
    return QColor(round(90 - 50 * t), round(90 + 100 * t), round(90 + 10 * t))


def _ticks(n: int, most: int = 8) -> range:
    return range(0, n, max(1, math.ceil(n / most)))


def _label(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
