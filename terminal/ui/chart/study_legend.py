"""The legend of a plot's indicators, drawn in the scene.

One row per indicator at the plot's top-left corner: its name and parameters, the
values under the crosshair (or of the last candle) in the colours of its lines, a
settings (⚙) and a remove (✕) button; a double-click on the row opens the settings.

It is one graphics item that paints a picture of its rows, made again only when a row's
text changes (the live candle's values four times a second, the crosshair's as it
moves). Rows of widgets over the plot (a rich-text label and two styled buttons each)
were laid out at every change and repainted with every frame of the chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPixmap
from PySide6.QtWidgets import (
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

GAP = "  "  # between a row's parts, as "RSI 14  54.32" reads
BUTTONS = (("edit", "⚙", "Settings"), ("remove", "✕", "Remove"))
PAD = 3.0  # around a button's glyph: what a click may hit


@dataclass(frozen=True)
class Run:
    """A part of a row: its text, its colour ("" for the theme's text), bold or italic."""

    text: str
    color: str = ""
    bold: bool = False
    italic: bool = False


@dataclass
class _Row:
    key: int
    runs: tuple[Run, ...]
    edit: Callable[[], None]
    remove: Callable[[], None]


class StudyLegend(pg.GraphicsObject):
    """The rows of one plot's indicators (see the module's docstring), kept at the top-left
    corner of ``view_box`` in its pixels."""

    def __init__(self, view_box: pg.ViewBox) -> None:
        super().__init__()
        self.setParentItem(view_box)  # not in the view's data coordinates: pixels from its corner
        self.setPos(4.0, 2.0)
        self.setZValue(1e6)  # over the lines
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.rows: list[_Row] = []
        self.text_color = QColor("#d1d4dc")
        self.muted_color = QColor("#787b86")
        self.font = QFont()
        self._fonts_of: tuple[QFont, tuple[QFont, QFont, QFont], list[QFontMetricsF]] | None = None
        self._picture: QPixmap | None = None  # None: to be made at the next paint
        self._size = QRectF()
        self._hits: list[tuple[QRectF, int, str]] = []  # (where, row key, "edit" | "remove" | "row")
        self._hover: tuple[int, str] | None = None  # the button the mouse is over
        self._pressed: tuple[int, str] | None = None

    # -- rows ----------------------------------------------------------------------------
    def add_row(self, key: int, edit: Callable[[], None], remove: Callable[[], None]) -> None:
        self.rows.append(_Row(key, (), edit, remove))
        self._changed()

    def remove_row(self, key: int) -> None:
        self.rows = [r for r in self.rows if r.key != key]
        if self._hover is not None and self._hover[0] == key:
            self._hover = None
            self.unsetCursor()
        self._changed()

    def set_runs(self, key: int, runs: tuple[Run, ...]) -> bool:
        """A row's text; False (and nothing done) when it is the same."""
        for row in self.rows:
            if row.key == key:
                if row.runs == runs:
                    return False
                row.runs = runs
                self._changed()
                return True
        return False

    def text(self, key: int) -> str:
        """A row as plain text ("RSI 14  54.32")."""
        row = next((r for r in self.rows if r.key == key), None)
        return "" if row is None else _plain(row.runs)

    def set_colors(self, text: QColor, muted: QColor) -> None:
        self.text_color, self.muted_color = QColor(text), QColor(muted)
        self._changed()

    def button_rect(self, key: int, button: str) -> QRectF | None:
        """Where a row's "edit" or "remove" button is, in scene coordinates (None: no such row)."""
        self._laid_out()
        for rect, k, what in self._hits:
            if k == key and what == button:
                return self.mapRectToScene(rect)
        return None

    def _changed(self) -> None:
        self._picture = None
        self._hits = []
        size = self._layout()
        if size != self._size:
            self.prepareGeometryChange()
            self._size = size
        self.update()

    # -- layout and drawing --------------------------------------------------------------------
    def _fonts(self) -> tuple[QFont, QFont, QFont]:
        """The plain, bold and italic fonts (made once for ``self.font``: a row's text changes
        four times a second)."""
        return self._typeset()[0]

    def _metrics(self) -> list[QFontMetricsF]:
        return self._typeset()[1]

    def _typeset(self) -> tuple[tuple[QFont, QFont, QFont], list[QFontMetricsF]]:
        if self._fonts_of is None or self._fonts_of[0] != self.font:
            bold, italic = QFont(self.font), QFont(self.font)
            bold.setBold(True)
            italic.setItalic(True)
            fonts = (self.font, bold, italic)
            self._fonts_of = (QFont(self.font), fonts, [QFontMetricsF(f) for f in fonts])
        return self._fonts_of[1], self._fonts_of[2]

    @staticmethod
    def _font_of(run: Run) -> int:
        """Which of ``_fonts()`` draws ``run``."""
        return 1 if run.bold else 2 if run.italic else 0

    def _layout(self) -> QRectF:
        """Each row's runs and buttons placed; the hit areas kept; the size returned."""
        metrics = self._metrics()
        height = max(m.height() for m in metrics)
        gap = metrics[0].horizontalAdvance(GAP)
        width = 0.0
        hits: list[tuple[QRectF, int, str]] = []
        for r, row in enumerate(self.rows):
            y = r * height
            x = 0.0
            for i, run in enumerate(row.runs):
                if i:
                    x += gap
                x += metrics[self._font_of(run)].horizontalAdvance(run.text)
            hits.append((QRectF(0.0, y, x, height), row.key, "row"))
            x += gap / 2
            for name, glyph, _tip in BUTTONS:
                w = metrics[0].horizontalAdvance(glyph) + 2 * PAD
                hits.append((QRectF(x, y, w, height), row.key, name))
                x += w
            width = max(width, x)
        self._hits = hits
        return QRectF(0.0, 0.0, width, height * len(self.rows))

    def _laid_out(self) -> None:
        if not self._hits and self.rows:
            self._layout()

    def _render(self, ratio: float) -> QPixmap:
        size = self._size
        picture = QPixmap(max(1, int(size.width() * ratio + 1)), max(1, int(size.height() * ratio + 1)))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        if not self.rows:
            return picture
        self._laid_out()
        fonts = self._fonts()
        all_metrics = self._metrics()
        metrics = all_metrics[0]
        gap = metrics.horizontalAdvance(GAP)
        p = QPainter(picture)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        rows = {key: rect for rect, key, what in self._hits if what == "row"}
        for row in self.rows:
            rect = rows[row.key]
            x = 0.0
            for i, run in enumerate(row.runs):
                if i:
                    x += gap
                which = self._font_of(run)
                p.setFont(fonts[which])
                p.setPen(QColor(run.color) if run.color else self.text_color)
                p.drawText(QPointF(x, rect.top() + all_metrics[which].ascent()), run.text)
                x += all_metrics[which].horizontalAdvance(run.text)
        p.setFont(fonts[0])
        glyphs = {name: glyph for name, glyph, _tip in BUTTONS}
        for rect, key, what in self._hits:
            if what == "row":
                continue
            p.setPen(self.text_color if self._hover == (key, what) else self.muted_color)
            p.drawText(QPointF(rect.left() + PAD, rect.top() + metrics.ascent()), glyphs[what])
        p.end()
        return picture

    def boundingRect(self) -> QRectF:
        return QRectF(self._size)

    def paint(self, p: QPainter, opt: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if not self.rows:
            return
        ratio = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        if self._picture is None or self._picture.devicePixelRatio() != ratio:
            self._picture = self._render(ratio)
        p.drawPixmap(QPointF(0.0, 0.0), self._picture)

    # -- the mouse -----------------------------------------------------------------------------
    def _hit(self, pos: QPointF) -> tuple[int, str] | None:
        self._laid_out()
        for rect, key, what in self._hits:
            if rect.contains(pos):
                return key, what
        return None

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        hit = self._hit(event.pos())
        button = hit if hit is not None and hit[1] != "row" else None
        if button != self._hover:
            self._hover = button
            self._picture = None  # the hovered button is drawn brighter
            self.update()
            if button is None:
                self.unsetCursor()
                self.setToolTip("")
            else:
                self.setCursor(Qt.CursorShape.PointingHandCursor)
                self.setToolTip(next(tip for name, _g, tip in BUTTONS if name == button[1]))

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self._hover is not None:
            self._hover = None
            self._picture = None
            self.unsetCursor()
            self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        hit = self._hit(event.pos())
        if hit is None or hit[1] == "row" or event.button() != Qt.MouseButton.LeftButton:
            event.ignore()  # a drag from the text pans the chart, as anywhere on it
            return
        self._pressed = hit
        event.accept()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        pressed, self._pressed = self._pressed, None
        if pressed is None or self._hit(event.pos()) != pressed:
            return
        row = next((r for r in self.rows if r.key == pressed[0]), None)
        if row is not None:
            (row.edit if pressed[1] == "edit" else row.remove)()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        hit = self._hit(event.pos())
        if hit is None or hit[1] != "row":
            event.ignore()
            return
        row = next((r for r in self.rows if r.key == hit[0]), None)
        if row is not None:
            event.accept()
            row.edit()


def _plain(runs: tuple[Run, ...]) -> str:
    return GAP.join(run.text for run in runs)
