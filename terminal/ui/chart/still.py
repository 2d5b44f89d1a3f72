"""A plot's still picture: what a live tick leaves as it was, drawn once per view.

After a tick only the newest candle, its volume bar and each indicator line's last
segment move, yet a frame painted the whole plot again: the grid, hundreds of candles
and bars, every line (most of a frame's cost, and a window of four charts pays it four
times a tick). Items that can split their drawing (``Still``: the grid, the candles, the
volume, the indicators) hand their history part to the plot's ``StillLayer``, which
draws those parts once into an opaque image of the view as it stands; each frame then
copies the image, and each item draws only its live part over it.

The image is made again when the view moves (a pan, a zoom, a new price range), its
size or pixel ratio changes, or an item's history changes (a new candle, a restyle, a
recompute: each item's ``still_key`` says so). While the view changes frame after frame
the layer stands aside and the items draw everything, as without it, so a pan pays
nothing for an image it would throw away: the image is made on the first frame after the
view came to rest.

An item knows the layer holds its history in this frame by ``holds(item, painter)``:
the layer painted first (it lies under every item of its view) with the same transform,
so a grab or an export, which paints the layer too, is drawn alike.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRect, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from terminal.ui.chart.view_rect import view_bounds

LAYER_Z = -1000.0  # under the grid (-100) and everything else in the view


class Still(Protocol):
    """An item whose drawing splits into a history part, which a live tick leaves alone,
    and a live part. Its full ``paint`` draws both unless its layer ``holds`` it."""

    layer: StillLayer | None

    def still_key(self) -> Hashable:
        """Changes whenever the history part would draw something else in the same view."""
        ...

    def paint_history(self, p: QPainter) -> None: ...

    def isVisible(self) -> bool: ...

    def zValue(self) -> float: ...


class StillLayer(pg.GraphicsObject):
    """The still picture of one view box's ``Still`` items (see the module's docstring)."""

    def __init__(self, background: QColor) -> None:
        super().__init__()
        self.members: list[Still] = []
        self.background = QColor(background)
        self.renders = 0  # images made (tests and benchmarks read it)
        self.copies = 0  # frames drawn from the image
        self._bounds = QRectF()
        self._key: Hashable = None
        self._image: QImage | None = None
        self._origin = QPoint()
        self._held: tuple[QTransform, frozenset[int]] | None = None
        self.setZValue(LAYER_Z)

    # -- members ----------------------------------------------------------------------
    def add(self, item: Still) -> None:
        if item not in self.members:
            self.members.append(item)
            self.members.sort(key=lambda m: m.zValue())
        item.layer = self
        self.update()

    def discard(self, item: Still) -> None:
        if item in self.members:
            self.members.remove(item)
        if item.layer is self:
            item.layer = None
        self.update()

    def set_background(self, color: QColor) -> None:
        self.background = QColor(color)
        self.update()

    def holds(self, item: Still, p: QPainter) -> bool:
        """Whether this frame's picture, drawn under ``item`` by ``p``, has its history."""
        held = self._held
        return held is not None and id(item) in held[1] and p.transform() == held[0]

    # -- QGraphicsItem ----------------------------------------------------------------
    def viewRangeChanged(self) -> None:
        bounds = view_bounds(self, self._bounds)
        if bounds is not self._bounds:
            self._bounds = bounds
            self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        self._held = None
        if self._bounds.isEmpty():
            return
        transform = p.transform()
        device = transform.mapRect(self._bounds).toAlignedRect()  # the view's clip trims its edges
        ratio = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        shown = [m for m in self.members if m.isVisible()]
        if device.isEmpty() or not shown:
            return
        key = (
            _transform_key(transform),
            device.x(), device.y(), device.width(), device.height(),
            ratio,
            self.background.rgba(),
            tuple((id(m), m.still_key()) for m in shown),
        )  # fmt: skip
        if key != self._key:  # the view (or a history) changed: the items draw it all this frame
            self._key, self._image = key, None
            return
        if self._image is None:
            self._image = self._render(shown, transform, device, ratio)
            self._origin = device.topLeft()
        p.save()
        p.resetTransform()
        p.drawImage(self._origin, self._image)
        p.restore()
        self.copies += 1
        self._held = (QTransform(transform), frozenset(id(m) for m in shown))

    def _render(self, shown: list[Still], transform: QTransform, device: QRect, ratio: float) -> QImage:
        image = QImage(
            round(device.width() * ratio), round(device.height() * ratio), QImage.Format.Format_RGB32
        )
        image.setDevicePixelRatio(ratio)
        image.fill(self.background)
        painter = QPainter(image)
        try:
            painter.setTransform(transform * QTransform.fromTranslate(-device.x(), -device.y()))
            painter.setBrushOrigin(-device.x(), -device.y())  # patterns in the window's phase
            for item in shown:
                painter.save()
                item.paint_history(painter)
                painter.restore()
        finally:
            painter.end()
        self.renders += 1
        return image


def _transform_key(t: QTransform) -> tuple[float, ...]:
    return (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy())


def layer_of(view_box: pg.ViewBox, background: QColor) -> StillLayer:
    """``view_box``'s still layer, made and placed the first time it is asked for."""
    layer = getattr(view_box, "_still_layer", None)
    if not isinstance(layer, StillLayer):
        layer = StillLayer(background)
        view_box.addItem(layer, ignoreBounds=True)
        view_box._still_layer = layer
    return layer
