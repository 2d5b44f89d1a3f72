"""An axis's drawing worked out with less Python: pyqtgraph's ``AxisItem.generateDrawSpecs``
as the chart's axes use it (on the right or at the bottom, no grid, no fixed ticks, tick
alpha by level), returning the very same specs.

pyqtgraph works an axis out afresh whenever its range or size changes: the time axis at
every pan frame, every axis when a pane is added (each row changes height), the price
axis when the view refits. It made a ``pg.Point`` for every tick end (about a hundred),
took numpy's sum and max of a few numbers, and measured every label's text each time:
~1.3 ms for the price axis on this machine. ``QuickSpecs`` builds the same tuples with
``QPointF`` and plain arithmetic, and remembers each label's measured size per font.
Any other use of an axis (a grid, fixed ticks, a stop at a tick, a set tick alpha, the
left or top side) goes to pyqtgraph's own method.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

SIZES_KEPT = 2048  # label sizes remembered per axis
PROBE = QRectF(0.0, 0.0, 100.0, 100.0)  # what pyqtgraph measures a label in
CENTER = Qt.AlignmentFlag.AlignCenter


class QuickSpecs:
    """Mixin for pyqtgraph axis items (first in the bases), see the module's docstring."""

    def generateDrawSpecs(self, p: QPainter) -> Any:
        axis: Any = self
        style = axis.style
        if (
            axis.orientation not in ("right", "bottom")
            or axis.grid is not False
            or axis._tickLevels is not None
            or style["tickAlpha"] is not None
            or style["stopAxisAtTick"][0]
            or style["stopAxisAtTick"][1]
            or axis.linkedView() is None
        ):
            return super().generateDrawSpecs(p)  # type: ignore[misc]
        return _specs(axis, p)


def _specs(axis: Any, p: QPainter) -> Any:
    style = axis.style
    if style["tickFont"] is not None:
        p.setFont(style["tickFont"])
    if isinstance(axis, pg.DateAxisItem):  # its zoom levels measure labels in the painter's font
        axis.fontMetrics = p.fontMetrics()
    bounds = axis.mapRectFromParent(axis.geometry())
    vertical = axis.orientation == "right"
    if vertical:
        span = (bounds.topLeft() + QPointF(1.0, -1.0), bounds.bottomLeft() + QPointF(1.0, 1.0))
        tick_stop = bounds.left()
    else:
        span = (bounds.topLeft() + QPointF(-1.0, 1.0), bounds.topRight() + QPointF(1.0, 1.0))
        tick_stop = bounds.top()
    ends = [axis.mapToDevice(point) for point in span]
    if None in ends:
        return None
    length = _length(ends[1] - ends[0])
    if length == 0:
        return None
    lo, hi = axis.range[0], axis.range[1]
    levels = axis.tickValues(lo, hi, length)
    dif = hi - lo
    if dif == 0:
        scale, offset = 1.0, 0.0
    elif vertical:
        scale = -bounds.height() / dif
        offset = lo * scale - bounds.height()
    else:
        scale = bounds.width() / dif
        offset = lo * scale
    x_lo, x_hi = lo * scale - offset, hi * scale - offset
    x_min, x_max = min(x_lo, x_hi), max(x_lo, x_hi)

    positions: list[list[float | None]] = []
    tick_specs = []
    base_pen = axis.tickPen()
    solid = base_pen.brush().style() == Qt.BrushStyle.SolidPattern
    for i, (_spacing, ticks) in enumerate(levels):
        at: list[float | None] = []
        positions.append(at)
        tick_length = style["tickLength"] / (i * 0.5 + 1.0)
        pen = base_pen
        if solid:
            pen = QPen(base_pen)
            color = QColor(pen.color())
            color.setAlpha(int(255 / (i + 1)))
            pen.setColor(color)
        for v in ticks:
            x = v * scale - offset
            if x < x_min or x > x_max:
                at.append(None)
                continue
            at.append(x)
            if vertical:
                tick_specs.append((pen, QPointF(tick_stop, x), QPointF(tick_stop + tick_length, x)))
            else:
                tick_specs.append((pen, QPointF(x, tick_stop), QPointF(x, tick_stop + tick_length)))
    axis_spec = (axis.pen(), span[0], span[1])
    text_specs: list[tuple[QRectF, Any, str]] = []
    if not style["showValues"]:
        return axis_spec, tick_specs, text_specs

    sizes: dict[tuple[str, str], QRectF] = axis.__dict__.setdefault("_label_sizes", {})
    if len(sizes) > SIZES_KEPT:
        sizes.clear()
    font = p.font().key()
    text_offset = style["tickTextOffset"][0 if vertical else 1]
    outer = axis.boundingRect()
    measured: list[QRectF] = []
    last_size2 = 0.0
    if vertical:
        flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextDontClip
    else:
        flags = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip
    for i in range(min(len(levels), style["maxTextLevel"] + 1)):
        spacing, values = levels[i]
        strings: list[str | None] = list(
            axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
        )
        if not strings:
            continue
        rects: list[QRectF | None] = []
        for j, s in enumerate(strings):
            if positions[i][j] is None or s is None:
                strings[j] = None
                rects.append(None)
                continue
            found = sizes.get((font, s))
            if found is None:
                found = QRectF(p.boundingRect(PROBE, CENTER, s))
                found.setHeight(found.height() * 0.8)  # as pyqtgraph trims it
                sizes[(font, s)] = found
            rect = QRectF(found)
            rects.append(rect)
            measured.append(rect)
        if measured:
            if vertical:
                size, size2 = sum(r.height() for r in measured), max(r.width() for r in measured)
            else:
                size, size2 = sum(r.width() for r in measured), max(r.height() for r in measured)
        else:
            size, size2 = 0.0, 0.0
        if i > 0:  # the top level always; the next ones while the labels are not too crowded
            ratio = float(size) / length
            if any(len(text_specs) >= n and ratio >= limit for n, limit in style["textFillLimits"]):
                break
        last_size2 = size2
        gap = max(0, style["tickLength"]) + text_offset
        for j, s in enumerate(strings):
            found_rect = rects[j]
            x = positions[i][j]
            if s is None or found_rect is None or x is None:
                continue
            height, width = found_rect.height(), found_rect.width()
            if vertical:
                rect = QRectF(tick_stop + gap, x - height / 2, width, height)
            else:
                rect = QRectF(x - width / 2.0, tick_stop + gap, width, height)
            if outer & rect != rect:
                continue
            text_specs.append((rect, flags, s))
    axis._updateMaxTextSize(last_size2)
    return axis_spec, tick_specs, text_specs


def _length(v: QPointF) -> float:
    return float((v.x() ** 2 + v.y() ** 2) ** 0.5)


class QuickAxis(QuickSpecs, pg.AxisItem):
    """pyqtgraph's axis with ``QuickSpecs``."""
