"""Drawings on a chart: the tools, selection, dragging, the magnet, undo, the
context menu and the keys, over one ``ChartWidget`` it is attached to from outside.

    layer = DrawingLayer(chart)       # the drawings' item goes over the price pane
    layer.arm("trend")                # the next two clicks draw a trend line (Esc: not)
    layer.edited.connect(save)        # after every change the user made: keep them
    layer.set_drawings(loaded)        # another market's drawings (no undo across markets)

How the mouse goes (TradingView's way): an armed tool takes the clicks (one
for a horizontal line or a note, two for the others, or a press and a drag)
and disarms after one drawing; a click on or near a drawing selects it, a drag
of one of its handles moves that point, a drag of its body moves all of it;
a click on empty space lets go of the selection. Whatever the drawings do not
take reaches the chart, which pans and zooms as it always has.

The magnet (on by default) puts a point placed or dragged within
``MAGNET_PX`` of the open, high, low or close of the candle under the cursor
on that price, at that candle's open time.

Keys, while the chart has the focus (``keys.py``): Delete (or Backspace)
removes the selected drawing, Ctrl+Z undoes, Ctrl+Shift+Z or Ctrl+Y redoes,
Esc disarms the tool or lets go of the selection. The chart takes a key only
when it has something to do with it, so the window's own shortcuts on those
keys still work elsewhere and when there is nothing to undo here.

The alert hook: ``alert_requested(drawing)``. The context menu (``menu.py``) of a
horizontal line, trend line or ray offers "Add alert on this line…" only
while something is connected to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QMetaMethod, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.drawings.item import DrawingsItem
from terminal.ui.chart.drawings.keys import ChartKeys
from terminal.ui.chart.drawings.menu import drawing_menu
from terminal.ui.chart.drawings.model import (
    CLICKS,
    DEFAULT_COLOR,
    Drawing,
    Kind,
    Point,
    new_id,
)
from terminal.ui.chart.drawings.note_editor import NoteEditor
from terminal.ui.chart.drawings.shapes import Frame, Handle, outline
from terminal.ui.chart.drawings.undo import Step, UndoStack
from terminal.ui.chart.visible import index_at
from terminal.ui.theme import Theme

MAGNET_PX = 12.0  # a point this close to a candle's open, high, low or close goes onto it
PLACE_DRAG_PX = 5.0  # a press and drag at least this long with a tool places both points


@dataclass(frozen=True)
class _Held:
    """A drawing being dragged: as it was, the handle held (None: the body), and
    where the press was (time, price)."""

    original: Drawing
    handle: Handle | None
    start: Point


class DrawingLayer(QObject):
    #: the user changed the drawings (added, moved, deleted, edited, undone, redone): keep them
    edited = Signal()
    #: the selected drawing (None: none)
    selection_changed = Signal(object)
    #: the tool armed ("" when none)
    armed_changed = Signal(str)
    #: "Add alert on this line…" on a drawing (issue 18 connects it; the entry shows only then)
    alert_requested = Signal(object)

    def __init__(self, chart: ChartWidget, theme: Theme | None = None) -> None:
        super().__init__(chart)
        self.chart = chart
        self._drawings: dict[str, Drawing] = {}
        self.selected_id: str | None = None
        self.armed: Kind | None = None
        self.magnet = True
        self.color = DEFAULT_COLOR  # of the next drawing
        self.undo_stack = UndoStack()
        self._pending: list[Point] = []  # the points an armed tool has so far
        self._cursor: Point | None = None  # where the next point would go (the preview's end)
        self._held: _Held | None = None
        self._placing_drag = False  # a tool's press and drag is under way
        self.menu: QMenu | None = None  # the context menu last shown
        self.note_editor: NoteEditor | None = None
        self.item = DrawingsItem(self)
        chart.price_plot.addItem(self.item, ignoreBounds=True)
        chart.series_changed.connect(self.item.update)  # another timeframe: the points' slots change
        self._keys = ChartKeys(self)
        chart.glw.installEventFilter(self._keys)
        self.apply_theme(theme or chart.theme)

    # -- what there is ---------------------------------------------------------------------
    @property
    def drawings(self) -> list[Drawing]:
        """Every drawing, in drawing order (the last is on top)."""
        return list(self._drawings.values())

    @property
    def selected(self) -> Drawing | None:
        return None if self.selected_id is None else self._drawings.get(self.selected_id)

    def shown(self) -> list[Drawing]:
        """What to paint: the drawings, and the one an armed tool is making."""
        preview = self._preview()
        return self.drawings if preview is None else [*self.drawings, preview]

    def half_slot(self) -> float:
        """Half the chart's candle slot, in seconds: a point stands mid-slot, as its candle."""
        return self.chart.series.timeframe_ms / 2000.0

    def price_text(self, price: float) -> str:
        return f"{price:,.{self.chart.decimals}f}"

    def apply_theme(self, theme: Theme) -> None:
        self.item.background = QColor(theme.background)
        self.item.update()

    # -- loading (not an edit: no undo, nothing to save) -----------------------------------
    def set_drawings(self, drawings: list[Drawing]) -> None:
        """Show ``drawings`` instead of what is shown (another market's): the undo
        history and the selection go with the old ones."""
        self._close_editor()
        self.disarm()
        self._held = None
        self._drawings = {d.id: d for d in drawings}
        self.undo_stack.clear()
        self.select(None)
        self.item.update()

    # -- tools -----------------------------------------------------------------------------
    def arm(self, kind: Kind | str) -> None:
        """The next click(s) on the chart make a drawing of ``kind``."""
        self._close_editor()
        self.armed = Kind(kind)
        self._pending, self._cursor = [], None
        self.select(None)
        self.chart.glw.setFocus()  # picked from a menu: Esc still reaches the chart
        self.armed_changed.emit(self.armed.value)
        self.item.update()

    def disarm(self) -> None:
        was = self.armed
        self.armed, self._pending, self._cursor, self._placing_drag = None, [], None, False
        if was is not None:
            self.armed_changed.emit("")
            self.item.update()

    def set_magnet(self, on: bool) -> None:
        self.magnet = on

    # -- edits (each one a step to undo, then ``edited``) ----------------------------------
    def add(self, drawing: Drawing) -> None:
        self._do(Step(None, drawing, len(self._drawings)))
        self.select(drawing.id)

    def change(self, drawing: Drawing) -> None:
        """``drawing`` replaces the one with its id (a move, a colour, a text)."""
        old = self._drawings.get(drawing.id)
        if old is None or old == drawing:
            return
        self._do(Step(old, drawing, self._index(drawing.id)))

    def delete(self, drawing_id: str) -> None:
        old = self._drawings.get(drawing_id)
        if old is None:
            return
        self._do(Step(old, None, self._index(drawing_id)))
        if self.selected_id == drawing_id:
            self.select(None)

    def delete_selected(self) -> bool:
        if self.selected is None:
            return False
        self.delete(self.selected.id)
        return True

    def set_color(self, drawing_id: str, color: str) -> None:
        drawing = self._drawings.get(drawing_id)
        if drawing is not None:
            self.change(replace(drawing, color=color))

    def set_text(self, drawing_id: str, text: str) -> None:
        """A note's new text ("" removes the note)."""
        drawing = self._drawings.get(drawing_id)
        if drawing is None:
            return
        if text:
            self.change(replace(drawing, text=text))
        else:
            self.delete(drawing_id)

    def undo(self) -> bool:
        return self._replay(self.undo_stack.undo())

    def redo(self) -> bool:
        return self._replay(self.undo_stack.redo())

    def _do(self, step: Step) -> None:
        self.undo_stack.push(step)
        self._apply(step)
        self.edited.emit()

    def _replay(self, step: Step | None) -> bool:
        if step is None:
            return False
        self._held = None
        self._apply(step)
        self.select(step.id if step.after is not None else None)
        self.edited.emit()
        return True

    def _apply(self, step: Step) -> None:
        items = [d for d in self._drawings.values() if d.id != step.id]
        if step.after is not None:
            if step.id in self._drawings:  # in its place
                items.insert(self._index(step.id), step.after)
            else:
                items.insert(min(step.index, len(items)), step.after)
        self._drawings = {d.id: d for d in items}
        self.item.update()

    def _index(self, drawing_id: str) -> int:
        return list(self._drawings).index(drawing_id)

    def select(self, drawing_id: str | None) -> None:
        if drawing_id == self.selected_id:
            return
        self.selected_id = drawing_id
        self.item.update()
        self.selection_changed.emit(self.selected)

    # -- the alert hook -----------------------------------------------------------------------
    @property
    def alerts_wanted(self) -> bool:
        """Whether something listens to ``alert_requested`` (then the menu offers it)."""
        return self.isSignalConnected(QMetaMethod.fromSignal(self.alert_requested))

    # -- the mouse (the item passes scene pixels) --------------------------------------------
    def hover(self, px: QPointF | None) -> str | None:
        """What is under the cursor: "tool" (an armed tool takes the mouse),
        "handle", "body", or None (the chart's)."""
        if px is None:
            return None
        if self.armed is not None:
            frame = self.item.frame()
            if frame is not None:
                self._cursor = self._snap(px, frame)
                self.item.update()
            return "tool"
        hit = self._hit(px)
        if hit is None:
            return None
        return "body" if hit[1] is None else "handle"

    def click(self, px: QPointF, button: Qt.MouseButton, double: bool, screen: QPointF) -> bool:
        """A click the drawings take (True), or leave to the chart (False)."""
        if button == Qt.MouseButton.RightButton:
            if self.armed is not None:  # TradingView's way out of a tool
                self.disarm()
                return True
            hit = self._hit(px)
            if hit is None:
                return False
            self.select(hit[0].id)
            self.menu = self.menu_for(hit[0])
            self.menu.popup(screen.toPoint())
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        frame = self.item.frame()
        if frame is None:
            return False
        if self.armed is not None:
            self._place(self._snap(px, frame), frame)
            return True
        hit = self._hit(px)
        if hit is None:
            self.select(None)
            return False
        drawing = hit[0]
        self.select(drawing.id)
        if double and drawing.kind is Kind.NOTE:
            self.edit_note(drawing.id)
        return True

    @property
    def dragging(self) -> bool:
        return self._held is not None or self._placing_drag

    def drag_start(self, px: QPointF) -> bool:
        """A press and drag from ``px``: True when the drawings take it (no pan)."""
        frame = self.item.frame()
        if frame is None:
            return False
        if self.armed is not None:
            self._placing_drag = True
            if not self._pending and CLICKS[self.armed] > 1:
                self._pending.append(self._snap(px, frame))
            return True
        hit = self._hit(px)
        if hit is None:
            return False
        drawing, handle = hit
        self.select(drawing.id)
        self._held = _Held(drawing, handle, frame.point(px))
        return True

    def drag_move(self, px: QPointF) -> None:
        frame = self.item.frame()
        if frame is None:
            return
        if self._placing_drag:
            self._cursor = self._snap(px, frame)
            self.item.update()
            return
        held = self._held
        if held is None:
            return
        if held.handle is not None:
            moved = held.original.with_coordinates(
                held.handle.time_of, held.handle.price_of, self._snap(px, frame)
            )
        else:
            t, p = frame.point(px)
            moved = held.original.moved_by(t - held.start[0], p - held.start[1])
        self._drawings[moved.id] = moved  # shown as it goes; one undo step when let go
        self.item.update()

    def drag_end(self, px: QPointF) -> None:
        frame = self.item.frame()
        if self._placing_drag:
            self._placing_drag = False
            if frame is None or self.armed is None:
                return
            if CLICKS[self.armed] == 1 or self._far_enough(px, frame):
                self._place(self._snap(px, frame), frame)
            return  # a press and a tiny drag: the first point, the next click gives the second
        self.drag_move(px)
        held, self._held = self._held, None
        if held is None:
            return
        now = self._drawings.get(held.original.id)
        if now is not None and now != held.original:
            self.undo_stack.push(Step(held.original, now, self._index(now.id)))
            self.edited.emit()

    def _far_enough(self, px: QPointF, frame: Frame) -> bool:
        if not self._pending:
            return True
        first = frame.px(self._pending[0])
        return (px - first).manhattanLength() >= PLACE_DRAG_PX

    def _place(self, point: Point, frame: Frame) -> None:
        kind = self.armed
        if kind is None:
            return
        self._pending.append(point)
        if len(self._pending) < CLICKS[kind]:
            self._cursor = point
            self.item.update()
            return
        points = tuple(self._pending)
        self.disarm()  # one drawing per tool, as TradingView
        if kind is Kind.NOTE:
            self._open_editor(points[0], frame, None)
            return
        self.add(Drawing(new_id(), kind, points, color=self.color))

    def _preview(self) -> Drawing | None:
        """The drawing an armed tool is making, to the cursor."""
        kind = self.armed
        if kind is None or kind is Kind.NOTE or self._cursor is None:
            return None
        points = (*self._pending, self._cursor)[: CLICKS[kind]]
        if len(points) < CLICKS[kind]:
            return None
        return Drawing("", kind, points, color=self.color)

    def _snap(self, px: QPointF, frame: Frame) -> Point:
        """The (time, price) at ``px``; with the magnet, on the nearby open, high, low or
        close of the candle under it, at that candle's open time."""
        t, price = frame.point(px)
        series = self.chart.series
        if not self.magnet or not len(series):
            return t, price
        slot = 2 * frame.half_slot
        x = t + frame.half_slot
        i = index_at(series.ts, x)
        opened = float(series.ts[i]) / 1000.0
        if not opened <= x < opened + slot:
            return t, price  # left or right of the candles
        values = (series.open[i], series.high[i], series.low[i], series.close[i])
        distance, value = min((abs(frame.px((opened, float(v))).y() - px.y()), float(v)) for v in values)
        return (opened, value) if distance <= MAGNET_PX else (t, price)

    def _hit(self, px: QPointF) -> tuple[Drawing, Handle | None] | None:
        """The drawing at ``px`` and its handle there (None: its body); the selected
        drawing first, then the others from the top."""
        frame = self.item.frame()
        if frame is None:
            return None
        order = list(reversed(self.drawings))
        selected = self.selected
        if selected is not None:
            order.remove(selected)
            order.insert(0, selected)
        for drawing in order:
            shape = outline(drawing, frame, self.item.metrics, self.price_text)
            handle = shape.handle_at(px)
            if handle is not None:
                return drawing, handle
            if shape.touches(px):
                return drawing, None
        return None

    # -- notes -----------------------------------------------------------------------------
    def edit_note(self, drawing_id: str) -> None:
        """Type a new text for a note where it stands."""
        drawing = self._drawings.get(drawing_id)
        frame = self.item.frame()
        if drawing is None or frame is None:
            return
        self._open_editor(drawing.points[0], frame, drawing)

    def _open_editor(self, point: Point, frame: Frame, note: Drawing | None) -> None:
        self._close_editor()
        view = self.chart.glw
        at = view.mapFromScene(frame.px(point))
        editor = NoteEditor(view.viewport(), note.text if note is not None else "", at)
        self.note_editor = editor

        def typed(text: str) -> None:
            self._editor_closed(editor)
            if note is not None:
                self.set_text(note.id, text)
            elif text:
                self.add(Drawing(new_id(), Kind.NOTE, (point,), text=text, color=self.color))

        editor.finished.connect(typed)
        editor.cancelled.connect(lambda: self._editor_closed(editor))

    def _editor_closed(self, editor: NoteEditor) -> None:
        if self.note_editor is editor:
            self.note_editor = None
            self.chart.glw.setFocus()

    def _close_editor(self) -> None:
        if self.note_editor is not None:
            self.note_editor.cancel()

    # -- the context menu --------------------------------------------------------------------
    def menu_for(self, drawing: Drawing) -> QMenu:
        """Delete, colour, a note's text and, when something takes it, an alert on the line."""
        return drawing_menu(self, drawing)

    def request_alert(self, drawing_id: str) -> None:
        drawing = self._drawings.get(drawing_id)
        if drawing is not None:
            self.alert_requested.emit(drawing)
