"""Drawings on a real chart, by the mouse and keys as a user makes them: each kind
drawn by its clicks (or a press and drag), selected by a click near it, moved by a
handle or its body, deleted, undone and redone; the magnet; the context menu and
its alert hook; and, through the keeper, kept per market in the history file
across a restart and a timeframe change. The chart never pans while a tool or a
drawing has the mouse, and still pans when neither has."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QApplication

from terminal.errors import StoreError
from terminal.marketdata.candles import CandleSeries
from terminal.messages import Messages
from terminal.store import CandleStore
from terminal.store.drawings import DrawingRecord, DrawingStore
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.drawings.keeper import NOT_KEPT, DrawingKeeper
from terminal.ui.chart.drawings.layer import DrawingLayer
from terminal.ui.chart.drawings.model import FIB_LEVELS, Drawing, Kind, fib_price
from terminal.ui.theme import DARK
from tests.conftest import wait_until

T0 = 1_700_000_040_000  # a whole 5 minutes, in ms
MINUTE = 60_000
CANDLES = 200
MOVE_EVERY_S = 0.015  # a mouse's pace: pyqtgraph drops moves closer than 10 ms
LEFT, RIGHT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton, Qt.MouseButton.NoButton


def minute_series() -> CandleSeries:
    series = CandleSeries(MINUTE)
    rows = []
    for i in range(CANDLES):
        o, c = 100 + 10 * math.sin(i / 10), 100 + 10 * math.sin((i + 1) / 10)
        rows.append([T0 + i * MINUTE, o, max(o, c) + 1.5, min(o, c) - 1.5, c, 5.0])
    series.upsert_rows(rows)
    return series


class Mouse:
    """A mouse over the chart's view, moving at a mouse's pace (sent as a window system would)."""

    def __init__(self, chart: ChartWidget, layer: DrawingLayer) -> None:
        self.chart, self.layer = chart, layer
        self.viewport = chart.glw.viewport()

    def at(self, t: float, price: float) -> QPoint:
        """The viewport's pixel of (time, price) as a drawing's point (mid-slot)."""
        self.viewport.repaint()  # the view as the user sees it
        frame = self.layer.item.frame()
        assert frame is not None
        return self.chart.glw.mapFromScene(frame.px((t, price)))

    def point(self, at: QPoint) -> tuple[float, float]:
        """The (time, price) a press at ``at`` means, without the magnet."""
        frame = self.layer.item.frame()
        assert frame is not None
        return frame.point(self.chart.glw.mapToScene(at))

    def send(self, kind: QEvent.Type, at: QPoint, button: Qt.MouseButton, held: Qt.MouseButton) -> None:
        local = QPointF(at)
        event = QMouseEvent(
            kind, local, self.viewport.mapToGlobal(local), button, held, Qt.KeyboardModifier(0)
        )
        QApplication.sendEvent(self.viewport, event)

    async def move(self, at: QPoint) -> None:
        await asyncio.sleep(MOVE_EVERY_S)
        self.send(QEvent.Type.MouseMove, at, NONE, NONE)

    async def click(self, at: QPoint, button: Qt.MouseButton = LEFT) -> None:
        await self.move(at)
        self.send(QEvent.Type.MouseButtonPress, at, button, button)
        self.send(QEvent.Type.MouseButtonRelease, at, button, NONE)

    async def double_click(self, at: QPoint) -> None:
        await self.click(at)
        self.send(QEvent.Type.MouseButtonDblClick, at, LEFT, LEFT)
        self.send(QEvent.Type.MouseButtonRelease, at, LEFT, NONE)

    async def drag(self, start: QPoint, end: QPoint, steps: int = 6) -> None:
        await self.move(start)
        self.send(QEvent.Type.MouseButtonPress, start, LEFT, LEFT)
        for i in range(1, steps + 1):
            await asyncio.sleep(MOVE_EVERY_S)
            self.send(QEvent.Type.MouseMove, start + (end - start) * i / steps, NONE, LEFT)
        self.send(QEvent.Type.MouseButtonRelease, end, LEFT, NONE)


@pytest.fixture
def chart(qt_loop: qasync.QEventLoop, qtbot: Any) -> Iterator[ChartWidget]:
    widget = ChartWidget(DARK, visible_candles=60)
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    widget.set_series(minute_series(), "BTC/USDT", 2)
    yield widget


@pytest.fixture
def layer(chart: ChartWidget) -> DrawingLayer:
    drawings = DrawingLayer(chart)
    drawings.set_magnet(False)  # exact points unless a test is about the magnet
    return drawings


@pytest.fixture
def mouse(chart: ChartWidget, layer: DrawingLayer) -> Mouse:
    return Mouse(chart, layer)


def slot_time(i: int) -> float:
    """Candle ``i``'s open time in seconds."""
    return (T0 + i * MINUTE) / 1000


def close_to(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(math.isclose(x, y, rel_tol=0, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def trend(layer: DrawingLayer, a: tuple[float, float], b: tuple[float, float]) -> Drawing:
    drawing = Drawing("t1", Kind.TREND, (a, b))
    layer.add(drawing)
    layer.select(None)
    return drawing


# -- making each kind -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [Kind.TREND, Kind.RAY, Kind.RECT, Kind.FIB])
async def test_a_two_click_tool_draws_from_the_first_click_to_the_second_and_disarms(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse, kind: Kind
) -> None:
    a, b = mouse.at(slot_time(160), 96.0), mouse.at(slot_time(185), 106.0)
    layer.arm(kind)
    await mouse.click(a)
    assert layer.drawings == [] and layer.armed is kind  # waits for the second point
    await mouse.click(b)

    [drawing] = layer.drawings
    assert drawing.kind is kind
    assert close_to(drawing.points[0], mouse.point(a)) and close_to(drawing.points[1], mouse.point(b))
    assert layer.armed is None  # one drawing per tool
    assert layer.selected == drawing
    chart.glw.viewport().repaint()
    assert layer.item.painted == 1


async def test_a_horizontal_line_takes_one_click_and_is_painted_across_the_chart(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    at = mouse.at(slot_time(170), 103.0)
    layer.arm("hline")
    await mouse.click(at)
    [line] = layer.drawings
    assert line.kind is Kind.HLINE and close_to(line.points[0], mouse.point(at))
    layer.set_color(line.id, "#ff9800")
    layer.select(None)

    image = chart.glw.grab().toImage()
    rows = (at.y() - 1, at.y(), at.y() + 1)
    orange = [x for x in range(20, 700, 10) if any(image.pixelColor(x, y).name() == "#ff9800" for y in rows)]
    assert len(orange) > 60  # crisp, from the left edge on, far from where it was clicked


async def test_a_fibonacci_has_its_levels_between_the_two_points(layer: DrawingLayer, mouse: Mouse) -> None:
    layer.arm(Kind.FIB)
    await mouse.click(mouse.at(slot_time(150), 92.0))  # from a low
    await mouse.click(mouse.at(slot_time(180), 108.0))  # to a high
    [fib] = layer.drawings
    low, high = fib.points[0][1], fib.points[1][1]
    prices = [fib_price(fib, level) for level in FIB_LEVELS]
    assert prices[0] == high and prices[-1] == low  # 0 at the second point, 1 at the first
    assert math.isclose(prices[FIB_LEVELS.index(0.5)], (low + high) / 2)
    assert math.isclose(prices[FIB_LEVELS.index(0.618)], high - (high - low) * 0.618)


async def test_a_text_note_takes_one_click_and_the_text_typed_there(
    layer: DrawingLayer, mouse: Mouse, qtbot: Any
) -> None:
    at = mouse.at(slot_time(170), 101.0)
    layer.arm(Kind.NOTE)
    await mouse.click(at)
    editor = layer.note_editor
    assert editor is not None and editor.isVisible() and layer.armed is None
    qtbot.keyClicks(editor, "Breakout?")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    [note] = layer.drawings
    assert (note.kind, note.text) == (Kind.NOTE, "Breakout?")
    assert close_to(note.points[0], mouse.point(at))

    # a double click edits it where it stands; Esc drops what was typed
    layer.select(None)
    await mouse.double_click(at + QPoint(12, -6))  # on its text, just above-right of its point
    editor = layer.note_editor
    assert editor is not None and editor.text() == "Breakout?"
    qtbot.keyClicks(editor, "Fake-out")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert [d.text for d in layer.drawings] == ["Breakout?"] and layer.note_editor is None


async def test_a_note_left_empty_is_not_made(layer: DrawingLayer, mouse: Mouse, qtbot: Any) -> None:
    layer.arm(Kind.NOTE)
    await mouse.click(mouse.at(slot_time(170), 101.0))
    assert layer.note_editor is not None
    qtbot.keyClick(layer.note_editor, Qt.Key.Key_Return)
    assert layer.drawings == []


async def test_a_press_and_drag_with_a_tool_draws_and_the_chart_does_not_pan(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    before = chart.x_range()
    a, b = mouse.at(slot_time(150), 95.0), mouse.at(slot_time(175), 105.0)
    layer.arm(Kind.TREND)
    await mouse.drag(a, b)
    [line] = layer.drawings
    assert close_to(line.points[0], mouse.point(a)) and close_to(line.points[1], mouse.point(b))
    assert chart.x_range() == before


async def test_esc_or_a_right_click_puts_the_tool_away_and_nothing_is_drawn(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse, qtbot: Any
) -> None:
    layer.arm(Kind.TREND)
    await mouse.click(mouse.at(slot_time(160), 100.0))
    qtbot.keyClick(chart.glw, Qt.Key.Key_Escape)
    assert layer.armed is None
    await mouse.click(mouse.at(slot_time(170), 100.0))
    assert layer.drawings == []

    layer.arm(Kind.HLINE)
    await mouse.click(mouse.at(slot_time(160), 100.0), RIGHT)
    assert layer.armed is None and layer.drawings == []


# -- selecting, moving ----------------------------------------------------------------------------
async def test_a_click_near_a_drawing_selects_it_and_one_on_empty_space_lets_go(
    layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    middle = (mouse.at(*line.points[0]) + mouse.at(*line.points[1])) / 2
    await mouse.click(middle + QPoint(0, 3))  # a few pixels off the line
    assert layer.selected == line
    await mouse.click(middle + QPoint(0, 60))
    assert layer.selected is None


async def test_dragging_a_handle_moves_that_point_only_and_the_chart_does_not_pan(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    before = chart.x_range()
    end = mouse.at(*line.points[1])
    target = end + QPoint(-40, 50)
    await mouse.drag(end, target)
    [moved] = layer.drawings
    assert moved.points[0] == line.points[0]
    assert close_to(moved.points[1], mouse.point(target))
    assert chart.x_range() == before


async def test_dragging_the_body_moves_the_whole_drawing(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    before = chart.x_range()
    middle = (mouse.at(*line.points[0]) + mouse.at(*line.points[1])) / 2
    await mouse.drag(middle, middle + QPoint(60, -40))
    [moved] = layer.drawings
    dt = moved.points[0][0] - line.points[0][0]
    dp = moved.points[0][1] - line.points[0][1]
    assert dt > 0 and dp > 0  # right (later) and up (higher)
    assert close_to(moved.points[1], (line.points[1][0] + dt, line.points[1][1] + dp))
    assert chart.x_range() == before


async def test_a_drag_away_from_the_drawings_pans_the_chart_as_before(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(155), 96.0))
    before = chart.x_range()
    start = mouse.at(slot_time(185), 108.0)
    await mouse.drag(start, start + QPoint(120, 0))
    assert chart.x_range()[0] < before[0]  # dragged right: earlier candles come into view
    assert layer.drawings == [line]


# -- delete, undo, redo ---------------------------------------------------------------------------
async def test_delete_undo_and_redo_by_the_keys(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse, qtbot: Any
) -> None:
    first = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),)))
    layer.select(first.id)
    view = chart.glw
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert [d.id for d in layer.drawings] == ["h1"]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [d.id for d in layer.drawings] == ["t1", "h1"]  # back where it was, under the line
    qtbot.keyClick(
        view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert [d.id for d in layer.drawings] == ["h1"]
    qtbot.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # nothing more to redo
    assert [d.id for d in layer.drawings] == ["h1"]

    # a move is one step, however many mouse moves it took
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    end = mouse.at(*first.points[1])
    await mouse.drag(end, end + QPoint(30, 30), steps=8)
    assert layer.drawings[0] != first
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert layer.drawings[0] == first


async def test_the_chart_claims_its_keys_only_when_it_has_something_to_do_with_them(
    chart: ChartWidget, layer: DrawingLayer, qtbot: Any
) -> None:
    """A window's own Ctrl+Z still works when there is nothing to undo on the chart."""
    chart.activateWindow()
    chart.glw.setFocus()
    await wait_until(chart.glw.hasFocus, "the chart's view has the focus")
    window_undo: list[bool] = []
    action = QAction("Undo elsewhere", chart)
    action.setShortcut(QKeySequence("Ctrl+Z"))
    action.triggered.connect(lambda _checked=False: window_undo.append(True))
    chart.addAction(action)

    trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    qtbot.keyClick(chart.glw, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert layer.drawings == [] and window_undo == []  # the chart's undo
    qtbot.keyClick(chart.glw, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window_undo == [True]  # nothing left here: the window's


# -- the magnet -----------------------------------------------------------------------------------
async def test_the_magnet_puts_a_point_near_a_candle_on_its_price_and_open_time(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    i = 170
    high = float(chart.series.high[i])
    near = mouse.at(slot_time(i) + 20, high) + QPoint(0, 6)  # 6 px under the high, inside the candle's slot
    far = mouse.at(slot_time(i) + 20, high) + QPoint(0, -30)

    layer.set_magnet(True)
    layer.arm(Kind.HLINE)
    await mouse.click(near)
    assert layer.drawings[-1].points[0] == (slot_time(i), high)
    layer.arm(Kind.HLINE)
    await mouse.click(far)
    assert layer.drawings[-1].points[0][1] > high  # too far: where it was clicked

    layer.set_magnet(False)
    layer.arm(Kind.HLINE)
    await mouse.click(near)
    assert layer.drawings[-1].points[0][1] < high


async def test_a_dragged_handle_snaps_to_the_candle_under_it(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(160), 96.0))
    layer.set_magnet(True)
    i = 175
    low = float(chart.series.low[i])
    await mouse.drag(mouse.at(*line.points[1]), mouse.at(slot_time(i) + 10, low) + QPoint(0, -5))
    assert layer.drawings[0].points[1] == (slot_time(i), low)


# -- the context menu and the alert hook ----------------------------------------------------------
def titles(layer: DrawingLayer, drawing: Drawing) -> list[str]:
    return [a.text() for a in layer.menu_for(drawing).actions() if a.text()]


async def test_the_menu_offers_an_alert_only_on_lines_and_only_when_something_takes_it(
    layer: DrawingLayer, mouse: Mouse
) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    box = Drawing("r1", Kind.RECT, ((slot_time(150), 95.0), (slot_time(160), 97.0)))
    layer.add(box)
    assert "Add alert on this line…" not in titles(layer, line)

    asked: list[Drawing] = []
    layer.alert_requested.connect(asked.append)
    assert "Add alert on this line…" in titles(layer, line)
    assert "Add alert on this line…" not in titles(layer, box)
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),)))
    layer.add(Drawing("y1", Kind.RAY, ((slot_time(160), 99.0), (slot_time(161), 99.5))))
    for drawing in layer.drawings:
        assert ("Add alert on this line…" in titles(layer, drawing)) == (drawing.kind is not Kind.RECT)

    # a right click on the line opens its menu; its alert entry hands the line over
    middle = (mouse.at(*line.points[0]) + mouse.at(*line.points[1])) / 2
    await mouse.click(middle, RIGHT)
    menu = layer.menu
    assert menu is not None and menu.isVisible() and layer.selected == line
    [alert] = [a for a in menu.actions() if a.text() == "Add alert on this line…"]
    alert.trigger()
    menu.close()
    assert asked == [line]


async def test_the_menu_changes_the_colour_and_deletes_each_undoably(layer: DrawingLayer) -> None:
    line = trend(layer, (slot_time(150), 95.0), (slot_time(180), 105.0))
    menu = layer.menu_for(line)
    [colours] = [a.menu() for a in menu.actions() if a.text() == "Colour"]
    [red] = [a for a in colours.actions() if a.text() == "Red"]
    red.trigger()
    assert layer.drawings[0].color == "#f23645"
    [delete] = [a for a in layer.menu_for(layer.drawings[0]).actions() if a.text() == "Delete"]
    delete.trigger()
    assert layer.drawings == []
    layer.undo()
    layer.undo()
    assert layer.drawings == [line]


# -- kept per market in the history file -----------------------------------------------------------
@pytest.fixture
def history(tmp_path: Path) -> Iterator[CandleStore]:
    with CandleStore(tmp_path / "history.sqlite") as store:
        yield store


def kept(store: CandleStore, symbol: str = "BTC/USDT") -> list[DrawingRecord]:
    return DrawingStore(store).load("binance", symbol)


async def test_each_change_is_saved_and_the_drawings_come_back_after_a_restart_on_any_timeframe(
    chart: ChartWidget, layer: DrawingLayer, mouse: Mouse, history: CandleStore, qtbot: Any
) -> None:
    keeper = DrawingKeeper(layer, lambda: history)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: keeper.loaded, "the market's drawings loaded")

    layer.arm(Kind.TREND)
    await mouse.click(mouse.at(slot_time(150), 95.0))
    await mouse.click(mouse.at(slot_time(180), 105.0))
    await wait_until(lambda: len(kept(history)) == 1, "the new line saved")
    [line] = layer.drawings
    end = mouse.at(*line.points[1])
    await mouse.drag(end, end + QPoint(0, 40))  # a move, saved when let go
    moved = layer.drawings[0]
    await wait_until(lambda: kept(history)[0].points == moved.points, "the move saved")
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),), color="#089981"))
    layer.delete("h1")
    layer.undo()  # the line is back: that is what is kept
    await wait_until(lambda: [r.id for r in kept(history)] == [line.id, "h1"], "the undo saved")
    await keeper.shutdown()

    # a restart: another chart, on the 5-minute candles, finds them where they were
    again = ChartWidget(DARK, visible_candles=60)
    qtbot.addWidget(again)
    again.resize(900, 600)
    again.show()
    fives = CandleSeries(5 * MINUTE)
    fives.upsert_rows([[T0 + i * 5 * MINUTE, 100.0, 110.0, 90.0, 101.0, 1.0] for i in range(CANDLES)])
    again.set_series(fives, "BTC/USDT", 2)
    other = DrawingLayer(again)
    keeper = DrawingKeeper(other, lambda: history)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: len(other.drawings) == 2, "the drawings back")
    assert other.drawings == [moved, Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),), color="#089981")]
    again.glw.viewport().repaint()
    assert other.item.painted == 2
    await keeper.shutdown()


async def test_another_symbol_shows_its_own_drawings_and_switching_back_shows_these(
    layer: DrawingLayer, history: CandleStore
) -> None:
    keeper = DrawingKeeper(layer, lambda: history)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: keeper.loaded, "BTC's drawings loaded")
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),)))
    await wait_until(lambda: len(kept(history)) == 1, "BTC's line saved")

    keeper.set_market("binance", "ETH/USDT")
    assert layer.drawings == []
    await wait_until(lambda: keeper.loaded, "ETH's drawings loaded")
    layer.add(Drawing("e1", Kind.HLINE, ((slot_time(160), 2000.0),)))
    await wait_until(lambda: len(kept(history, "ETH/USDT")) == 1, "ETH's line saved")
    assert not layer.undo_stack.can_redo

    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: [d.id for d in layer.drawings] == ["h1"], "BTC's line back")
    assert not layer.undo()  # no undo across markets
    await keeper.shutdown()


async def test_a_line_drawn_before_the_file_answers_joins_the_kept_ones(
    layer: DrawingLayer, history: CandleStore
) -> None:
    DrawingStore(history).replace(
        "binance", "BTC/USDT", [DrawingRecord("old", "hline", ((slot_time(150), 97.0),))]
    )
    ready = asyncio.Event()  # the start-up has not settled: the file is not read yet
    keeper = DrawingKeeper(layer, lambda: history, ready=ready)
    keeper.set_market("binance", "BTC/USDT")
    layer.add(Drawing("new", Kind.HLINE, ((slot_time(160), 99.0),)))
    ready.set()
    await wait_until(lambda: [r.id for r in kept(history)] == ["old", "new"], "both kept")
    assert [d.id for d in layer.drawings] == ["old", "new"]
    await keeper.shutdown()


async def test_a_newer_terminals_drawing_is_kept_through_an_edit(
    layer: DrawingLayer, history: CandleStore
) -> None:
    strange = DrawingRecord("z9", "pitchfork", ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0)))
    DrawingStore(history).replace("binance", "BTC/USDT", [strange])
    keeper = DrawingKeeper(layer, lambda: history)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: keeper.loaded, "loaded")
    assert layer.drawings == []
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),)))
    await wait_until(lambda: len(kept(history)) == 2, "saved")
    assert strange in kept(history)
    await keeper.shutdown()


@pytest.mark.parametrize("read_only", [True, False])
async def test_without_a_writable_history_file_drawings_work_and_a_message_says_they_are_not_kept(
    layer: DrawingLayer, tmp_path: Path, read_only: bool
) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    store = CandleStore(path, read_only=True) if read_only else None
    messages = Messages()
    keeper = DrawingKeeper(layer, lambda: store, messages.post)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: keeper.loaded, "loaded")
    layer.add(Drawing("h1", Kind.HLINE, ((slot_time(160), 99.0),)))
    layer.add(Drawing("h2", Kind.HLINE, ((slot_time(160), 98.0),)))
    expected = NOT_KEPT["read-only" if read_only else "none"]
    await wait_until(lambda: messages.last is not None, "the message")
    assert messages.last is not None and messages.last.text == expected
    await keeper.shutdown()
    assert len(layer.drawings) == 2  # they work for the session
    if store is not None:
        store.close()


async def test_drawings_that_could_not_be_read_are_never_written_over(
    layer: DrawingLayer, history: CandleStore
) -> None:
    old = DrawingRecord("old", "hline", ((slot_time(150), 97.0),))
    DrawingStore(history).replace("binance", "BTC/USDT", [old])

    calls: list[int] = []

    def locked_at_first() -> CandleStore:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("The market history database is locked by another program.")
        return history  # free again: a save now would write over what was never read

    messages = Messages()
    keeper = DrawingKeeper(layer, locked_at_first, messages.post)
    keeper.set_market("binance", "BTC/USDT")
    await wait_until(lambda: messages.last is not None, "the message")
    assert messages.last is not None and messages.last.bad and "not kept" in messages.last.text
    layer.add(Drawing("new", Kind.HLINE, ((slot_time(160), 99.0),)))
    await keeper.shutdown()  # whatever it had under way has ended
    assert kept(history) == [old]
