"""The bounds of an item drawn across its whole view (a grid, guides, a line across the
chart, a still picture): the view's rectangle, taken when the view changes.

They come from the view box's range, never from ``viewRect()`` inside ``boundingRect()``
(stale there, and non-finite while a plot is being set up, which Qt's item index does
not survive).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QRectF


def view_bounds(item: pg.GraphicsObject, bounds: QRectF) -> QRectF:
    """The view's rectangle for ``item``, the geometry change said to Qt when it moved;
    ``bounds`` itself when the view is the same, not finite, or the item is in no view."""
    box = item.getViewBox()
    if not isinstance(box, pg.ViewBox):  # not placed in a plot yet
        return bounds
    (x0, x1), (y0, y1) = box.viewRange()
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        return bounds
    view = QRectF(x0, y0, x1 - x0, y1 - y0).normalized()
    if view == bounds:
        return bounds
    item.prepareGeometryChange()
    return view


def pixel_width(item: pg.GraphicsObject, fallback: float) -> float:
    """One pixel across, in the view's x (seconds), from its range and width: pyqtgraph's
    ``pixelWidth`` maps through the device transform, ten times the cost, at every tick."""
    box = item.getViewBox()
    width = box.width() if isinstance(box, pg.ViewBox) else 0.0
    if width <= 0:
        return fallback
    (x0, x1), _ = box.viewRange()
    return float(x1 - x0) / float(width)
