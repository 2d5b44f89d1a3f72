"""Several charts in one window: 1, 2 or 4, each with its own symbol and timeframe.

The first chart is the window's own (the one the order book, the tape and the ticket
follow, on the window's market session); the others each have a candles-only session
on the same connection (``MarketSession.companion``), their own indicators and
drawings. What ties them together:

- **link groups**: charts in group A (or B) show one symbol; picking a symbol in one
  of them, or on the window's chart by any means (watchlist, palette), moves the
  others of its group, each keeping its timeframe;
- **crosshair in time**: the candle under the mouse on one chart is marked on the
  others (each at its own candle of that moment, whatever its timeframe);
- **the active chart**: the one last clicked; the indicator and drawing commands
  (menus, palette, keys) act on it.

``ChartGrid`` is the window's central chart area; the window gives it what it must
not know itself (``GridLink``) and saves its ``state()`` in the layout file.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QVBoxLayout,
    QWidget,
)

from terminal.errors import UnknownSymbolError
from terminal.market.health import FeedState
from terminal.market.session import MarketSession, Topic
from terminal.marketdata.orderbook import decimals_for
from terminal.marketdata.timeframes import TIMEFRAMES
from terminal.ui.chart.chart_widget import ChartWidget
from terminal.ui.chart.items import PRICE_STYLES
from terminal.ui.market.bridge import FrameBridge
from terminal.ui.theme import Theme

log = logging.getLogger(__name__)

COUNTS = (1, 2, 4)
GROUPS = ("", "A", "B")  # "" is no group
GROUP_TEXT = {"": "no link", "A": "link A", "B": "link B"}


@dataclass(frozen=True)
class SlotState:
    """What a chart of the grid is, as saved in the layout file."""

    symbol: str = ""
    timeframe: str = ""
    group: str = ""
    style: str = "candles"  # PRICE_STYLES
    log: bool = False  # the price on a log scale
    compare: str = ""  # another symbol drawn in percent from the left edge


@dataclass
class GridLink:
    """What the grid needs of its window."""

    main_chart: ChartWidget
    main_session: Callable[[], MarketSession]
    #: the window's chart shows another symbol (the window's own request)
    open_main_symbol: Callable[[str], object]
    set_main_timeframe: Callable[[str], object]
    #: run a coroutine the window waits for when it closes
    spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]
    initial_candles: int = 300
    time_zone: str = "local"
    watchlist: Callable[[], list[str]] = field(default_factory=lambda: list)


class SlotHeader(QWidget):
    """Symbol, timeframe and link group of one chart (shown with two charts or more)."""

    symbol_chosen = Signal(str)
    timeframe_chosen = Signal(str)
    group_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.symbol = QComboBox(self)
        self.symbol.setEditable(True)
        self.symbol.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.symbol.setMinimumContentsLength(10)
        self.symbol.setToolTip("This chart's symbol (type to find one)")
        self.timeframe = QComboBox(self)
        self.timeframe.addItems(list(TIMEFRAMES))
        self.timeframe.setToolTip("This chart's timeframe")
        self.group = QComboBox(self)
        for g in GROUPS:
            self.group.addItem(GROUP_TEXT[g], g)
        self.group.setToolTip("Charts in one link group show the same symbol")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(4)
        layout.addWidget(self.symbol, 2)
        layout.addWidget(self.timeframe)
        layout.addWidget(self.group)
        layout.addStretch(1)
        self._quiet = False
        line = self.symbol.lineEdit()
        assert line is not None
        line.returnPressed.connect(self._typed)
        self.symbol.activated.connect(lambda _i: self._typed())
        self.timeframe.activated.connect(lambda _i: self.timeframe_chosen.emit(self.timeframe.currentText()))
        self.group.activated.connect(lambda _i: self.group_chosen.emit(self.group.currentData()))

    def _typed(self) -> None:
        if not self._quiet:
            self.symbol_chosen.emit(self.symbol.currentText().strip().upper())

    def set_symbols(self, watchlist: list[str], every: list[str]) -> None:
        self._quiet = True
        try:
            current = self.symbol.currentText()
            self.symbol.clear()
            self.symbol.addItems(watchlist)
            completer = QCompleter(every, self.symbol)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            self.symbol.setCompleter(completer)
            self.symbol.setEditText(current)
        finally:
            self._quiet = False

    def show_state(self, symbol: str, timeframe: str, group: str) -> None:
        self._quiet = True
        try:
            if symbol and self.symbol.currentText() != symbol:
                self.symbol.setEditText(symbol)
            if timeframe:
                self.timeframe.setCurrentText(timeframe)
            self.group.setCurrentIndex(max(0, GROUPS.index(group) if group in GROUPS else 0))
        finally:
            self._quiet = False


class ChartSlot(QFrame):
    """One chart of the grid with its header; ``session`` is None for the window's own."""

    def __init__(self, index: int, chart: ChartWidget, session: MarketSession | None) -> None:
        super().__init__()
        self.index = index
        self.chart = chart
        self.session = session
        self.group = ""
        self.header = SlotHeader(self)
        self.bridge: FrameBridge | None = None
        # a comparison: the other symbol's candles at this chart's timeframe
        self.compare_symbol = ""
        self.compare_session: MarketSession | None = None
        self.compare_bridge: FrameBridge | None = None
        # the sessions' starts under way (cancelled when the chart goes: an exchange that
        # does not answer would keep retrying them past the window's close)
        self.start_task: asyncio.Task[None] | None = None
        self.compare_task: asyncio.Task[None] | None = None
        self.setObjectName("chartSlot")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(0)
        self.column.addWidget(self.header)
        self.column.addWidget(chart, 1)

    @property
    def symbol(self) -> str:
        return self.chart.symbol

    def set_active(self, active: bool, theme: Theme, several: bool) -> None:
        """A border marks the active chart when there are several (none around a lone chart)."""
        color = theme.accent if active else theme.grid
        self.setStyleSheet(f"#chartSlot {{ border: 1px solid {color}; }}" if several else "")


class ChartGrid(QWidget):
    """The window's charts (see the module's docstring)."""

    #: the active chart changed (the slot)
    active_changed = Signal(object)
    #: what the grid shows changed (count, a chart's symbol, timeframe or group): save it
    changed = Signal()
    #: an extra chart was made (the window adds its indicators and drawings)
    slot_made = Signal(object)
    #: an extra chart is going (the window lets its drawings' last save land)
    slot_closing = Signal(object)

    def __init__(self, link: GridLink, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.theme = theme
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        main = ChartSlot(0, link.main_chart, None)
        self.slots: list[ChartSlot] = [main]
        self.active: ChartSlot = main
        #: what charts taken away showed (4 -> 1 -> 4 brings them back), kept with the layout
        self.spare: list[SlotState] = []
        self._dirty: dict[int, tuple[ChartSlot, Topic]] = {}  # the other charts' changes, waiting
        self._draining = False
        self._wire(main)
        main.header.symbol_chosen.connect(self._main_symbol_chosen)
        main.header.timeframe_chosen.connect(lambda tf: self.link.set_main_timeframe(tf))
        self._place()

    # -- the layout ----------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.slots)

    def set_count(self, count: int, states: list[SlotState] | None = None) -> None:
        """Show ``count`` charts (1, 2 or 4); new ones take ``states`` (else the window's symbol)."""
        if count not in COUNTS:
            raise ValueError(f"a window holds 1, 2 or 4 charts, not {count}")
        states = states if states is not None else self.state()
        while len(self.slots) > count:
            slot = self.slots[-1]
            self.spare.insert(0, self._state_of(slot))
            self._drop(slot)
        main = self.link.main_session()
        while len(self.slots) < count:
            index = len(self.slots)
            state = states[index] if index < len(states) else SlotState()
            self.spare = self.spare[1:]
            self._make(index, state, main)
        if self.active not in self.slots:
            self.activate(self.slots[0])
        self._place()
        self.changed.emit()

    def _place(self) -> None:
        for slot in self.slots:
            self.grid.removeWidget(slot)
        positions = {1: [(0, 0)], 2: [(0, 0), (0, 1)], 4: [(0, 0), (0, 1), (1, 0), (1, 1)]}[len(self.slots)]
        for slot, (row, col) in zip(self.slots, positions, strict=True):
            self.grid.addWidget(slot, row, col)
            several = len(self.slots) > 1
            slot.header.setVisible(several)
            margin = 1 if several else 0  # room for the active chart's border
            slot.column.setContentsMargins(margin, margin, margin, margin)
            slot.show()
        for i in range(2):
            self.grid.setRowStretch(i, 1 if i < (2 if len(self.slots) == 4 else 1) else 0)
            self.grid.setColumnStretch(i, 1 if i < (1 if len(self.slots) == 1 else 2) else 0)
        self._mark_active()
        self.refresh_headers()

    def _make(self, index: int, state: SlotState, main: MarketSession) -> ChartSlot:
        chart = ChartWidget(self.theme, self.link.initial_candles)
        chart.time_zone = self.link.time_zone
        session = main.companion()
        slot = ChartSlot(index, chart, session)
        slot.group = state.group if state.group in GROUPS else ""
        apply_looks(chart, state)
        self.slots.append(slot)
        self._wire(slot)
        slot.header.symbol_chosen.connect(lambda s, slot=slot: self.choose_symbol(slot, s))
        slot.header.timeframe_chosen.connect(lambda tf, slot=slot: self.choose_timeframe(slot, tf))
        self._bind(slot, session)
        symbol = state.symbol or main.requested[0] or main.symbol
        timeframe = state.timeframe if state.timeframe in TIMEFRAMES else main.timeframe
        if slot.group:  # a linked chart follows its group's symbol (once the group shows one)
            shown = [s.symbol for s in self.slots if s is not slot and s.group == slot.group and s.symbol]
            symbol = shown[0] if shown else symbol
        slot.chart.wants_older.connect(lambda slot=slot: slot.session and slot.session.request_older())
        slot.start_task = self.link.spawn(
            self._start(slot, session, symbol or main.symbol, timeframe), "open a chart"
        )
        self.slot_made.emit(slot)
        if state.compare:
            self.set_compare(slot, state.compare)
        return slot

    def _bind(self, slot: ChartSlot, session: MarketSession) -> None:
        slot.session = session
        slot.bridge = FrameBridge(session, parent=slot)
        slot.bridge.changed.connect(lambda topics, slot=slot: self._queue(slot, topics))

    async def _start(self, slot: ChartSlot, session: MarketSession, symbol: str, timeframe: str) -> None:
        try:
            try:
                await session.start(symbol, timeframe)
            except UnknownSymbolError as exc:  # gone from the exchange (or none saved): the window's
                fallback = self.link.main_session().requested[0]
                if not fallback or fallback == symbol:
                    raise
                log.info("%s; the chart shows %s", exc, fallback)
                await session.start(fallback, timeframe)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - said on the chart; the other charts go on
            log.warning("A chart could not open %s %s: %s", symbol or "its symbol", timeframe, exc)
            slot.chart.set_feed_note(f"Could not open {symbol} {timeframe}: {exc}")

    def _drop(self, slot: ChartSlot) -> None:
        self._end_compare(slot)
        self.slots.remove(slot)
        self.grid.removeWidget(slot)
        self.slot_closing.emit(slot)
        self._close_session(slot.session, slot.bridge, slot.start_task, "close a chart")
        slot.session, slot.bridge, slot.start_task = None, None, None
        slot.hide()
        slot.deleteLater()

    def _close_session(
        self,
        session: MarketSession | None,
        bridge: FrameBridge | None,
        starting: asyncio.Task[None] | None,
        what: str,
    ) -> None:
        """A chart's (or comparison's) session goes: its start stops, its view hears no more,
        then it closes (in the background; the window waits for it when it closes)."""
        if starting is not None:
            starting.cancel()
        if session is not None and bridge is not None:
            session.unsubscribe(bridge.notify)
        if bridge is not None:
            bridge.deleteLater()
        if session is not None:
            self.link.spawn(session.close(), what)

    async def shutdown(self) -> None:
        """Close the extra charts' sessions (before the window's own, whose connection they use)."""
        for slot in self.slots:
            for task in (slot.start_task, slot.compare_task):
                if task is not None:
                    task.cancel()
        sessions = [s.session for s in self.slots[1:] if s.session is not None]
        sessions += [s.compare_session for s in self.slots if s.compare_session is not None]
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)

    def rebind(self) -> None:
        """The window's market session was replaced (another exchange): the extra charts
        move to its connection, keeping their symbols where it lists them."""
        main = self.link.main_session()
        for slot in self.slots:
            compared = slot.compare_symbol
            self._end_compare(slot)
            if compared:
                self.set_compare(slot, compared)
        for slot in self.slots[1:]:
            old = slot.session
            timeframe = old.requested[1] if old is not None else main.timeframe
            self._close_session(old, slot.bridge, slot.start_task, "close a chart")
            session = main.companion()
            self._bind(slot, session)
            slot.start_task = self.link.spawn(
                self._start(slot, session, slot.symbol, timeframe), "open a chart"
            )

    # -- what each chart shows -------------------------------------------------------
    def _queue(self, slot: ChartSlot, topics: Topic) -> None:
        """The other charts update one per event-loop turn: one trade moves every chart of
        its symbol, and all of them in one turn held the loop up to ~10 ms (the window's
        late wake-ups were mostly that, docs/performance.md "Chart analysis")."""
        self._dirty[id(slot)] = (slot, self._dirty.get(id(slot), (slot, Topic(0)))[1] | topics)
        if not self._draining:
            self._draining = True
            QTimer.singleShot(0, self._drain_one)

    def _drain_one(self) -> None:
        if not self._dirty:
            self._draining = False
            return
        key = next(iter(self._dirty))
        slot, topics = self._dirty.pop(key)
        try:
            self._slot_changed(slot, topics)
        finally:
            if self._dirty:
                QTimer.singleShot(0, self._drain_one)
            else:
                self._draining = False

    def _slot_changed(self, slot: ChartSlot, topics: Topic) -> None:
        session = slot.session
        if session is None or slot not in self.slots:
            return
        chart = slot.chart
        if topics & Topic.CANDLES_RELOAD:
            market = session.markets.get(session.symbol, {})
            tick = float((market.get("precision") or {}).get("price") or 0.01)
            before = chart.symbol
            chart.set_series(session.candles, session.symbol, decimals_for(tick))
            self.refresh_headers()
            self._compare_timeframe(slot, session.timeframe)
            if before != session.symbol:
                self.changed.emit()
        else:
            if topics & Topic.CANDLES_CORRECTED:
                chart.refresh()
            if topics & Topic.CANDLES_LIVE:
                chart.live_update()
        if topics & Topic.SYNC:
            chart.history_start_reached = session.history_start_reached
        if topics & Topic.MARKETS:
            self.refresh_headers()
        if topics & Topic.STATUS:
            state = session.health.state
            reason = f": {session.health.reason}" if session.health.reason else ""
            live = state in (FeedState.LIVE, FeedState.CONNECTING, FeedState.STOPPED)
            chart.set_feed_note("" if live else f"{state.value.upper()}{reason}")

    def choose_symbol(self, slot: ChartSlot, symbol: str) -> None:
        """The user picked ``symbol`` on ``slot``: it, and its link group, show it."""
        main = self.link.main_session()
        if symbol not in main.source.markets:
            slot.chart.set_feed_note(f"{main.source.name} does not list {symbol}.")
            self.refresh_headers()
            return
        for other in self._group_of(slot):
            self._open(other, symbol)

    def main_shown(self, symbol: str, timeframe: str, symbol_changed: bool) -> None:
        """The window's chart shows ``symbol`` at ``timeframe`` now (by any means): its group
        follows a new symbol, its comparison the timeframe."""
        if symbol_changed:
            for other in self._group_of(self.slots[0]):
                if other is not self.slots[0] and other.symbol != symbol:
                    self._open(other, symbol)
        self._compare_timeframe(self.slots[0], timeframe)
        self.refresh_headers()
        if symbol_changed:
            self.changed.emit()

    # -- comparison ----------------------------------------------------------------------
    def set_compare(self, slot: ChartSlot, symbol: str) -> None:
        """Draw ``symbol`` on ``slot``'s chart in percent from the left edge ("" stops)."""
        self._end_compare(slot)
        main = self.link.main_session()
        if not symbol:
            self.changed.emit()
            return
        if main.source.markets and symbol not in main.source.markets:
            slot.chart.set_feed_note(f"{main.source.name} does not list {symbol}: nothing to compare.")
            return
        session = main.companion()
        slot.compare_symbol, slot.compare_session = symbol, session
        slot.compare_bridge = FrameBridge(session, parent=slot)
        slot.compare_bridge.changed.connect(lambda topics, slot=slot: self._compare_changed(slot, topics))
        timeframe = (slot.session or main).requested[1] or main.timeframe
        slot.compare_task = self.link.spawn(
            self._start_compare(slot, session, symbol, timeframe), "open a comparison"
        )
        self.changed.emit()

    async def _start_compare(
        self, slot: ChartSlot, session: MarketSession, symbol: str, timeframe: str
    ) -> None:
        try:
            await session.start(symbol, timeframe)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - said on the chart, which goes on without it
            log.warning("Could not compare with %s: %s", symbol, exc)
            slot.chart.set_feed_note(f"Could not compare with {symbol}: {exc}")

    def _compare_changed(self, slot: ChartSlot, topics: Topic) -> None:
        session = slot.compare_session
        if session is None or slot not in self.slots or not len(session.candles):
            return
        chart = slot.chart
        if topics & Topic.CANDLES_RELOAD:
            if chart.compare is None or chart.compare.symbol != slot.compare_symbol:
                chart.set_compare(slot.compare_symbol, session.candles)
            else:
                chart.compare_updated(session.candles, reloaded=True)
        elif topics & (Topic.CANDLES_LIVE | Topic.CANDLES_CORRECTED):
            chart.compare_updated(session.candles, reloaded=bool(topics & Topic.CANDLES_CORRECTED))

    def _compare_timeframe(self, slot: ChartSlot, timeframe: str) -> None:
        """The chart's timeframe changed: its comparison's candles follow."""
        session = slot.compare_session
        if session is not None and session.markets and session.requested[1] != timeframe:
            session.request_open(slot.compare_symbol, timeframe)

    def _end_compare(self, slot: ChartSlot) -> None:
        self._close_session(
            slot.compare_session, slot.compare_bridge, slot.compare_task, "close a comparison"
        )
        slot.compare_symbol, slot.compare_session, slot.compare_bridge, slot.compare_task = (
            "",
            None,
            None,
            None,
        )
        slot.chart.set_compare("", None)

    def choose_timeframe(self, slot: ChartSlot, timeframe: str) -> None:
        if slot.session is not None and slot.session.markets:
            slot.session.request_open(slot.session.requested[0], timeframe)
            self.changed.emit()

    def set_group(self, slot: ChartSlot, group: str) -> None:
        """``slot`` joins link group ``group`` ("" none) and shows the group's symbol."""
        slot.group = group if group in GROUPS else ""
        others = [s for s in self._group_of(slot) if s is not slot]
        if others:
            self._open(slot, others[0].symbol)
        self.refresh_headers()
        self.changed.emit()

    def _main_symbol_chosen(self, symbol: str) -> None:
        main = self.link.main_session()
        if symbol not in main.source.markets:
            self.link.main_chart.set_feed_note(f"{main.source.name} does not list {symbol}.")
            return
        self.choose_symbol(self.slots[0], symbol)

    def _group_of(self, slot: ChartSlot) -> list[ChartSlot]:
        if not slot.group:
            return [slot]
        return [s for s in self.slots if s.group == slot.group]

    def _open(self, slot: ChartSlot, symbol: str) -> None:
        if slot.session is None:
            self.link.open_main_symbol(symbol)
        elif slot.session.markets:
            slot.session.request_open(symbol, slot.session.requested[1])

    def refresh_headers(self) -> None:
        main = self.link.main_session()
        every = sorted(main.source.markets) if main.source.markets else []
        for slot in self.slots:
            header = slot.header
            if header.symbol.count() == 0 and every:
                header.set_symbols(self.link.watchlist(), every)
            session = slot.session or main
            timeframe = session.requested[1] if session.markets else session.timeframe
            header.show_state(slot.symbol or session.symbol, timeframe, slot.group)

    # -- crosshair and focus ------------------------------------------------------------
    def _wire(self, slot: ChartSlot) -> None:
        slot.chart.hovered.connect(lambda t, slot=slot: self._hovered(slot, t))
        slot.header.group_chosen.connect(lambda g, slot=slot: self.set_group(slot, g))
        slot.chart.installEventFilter(self)
        slot.chart.glw.viewport().installEventFilter(self)

    def _hovered(self, source: ChartSlot, t_s: float) -> None:
        for slot in self.slots:
            if slot is not source:
                slot.chart.show_time(t_s)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.FocusIn):
            for slot in self.slots:
                if watched is slot.chart or watched is slot.chart.glw.viewport():
                    if slot is not self.active:
                        self.activate(slot)
                    break
        return False

    def activate(self, slot: ChartSlot) -> None:
        self.active = slot
        self._mark_active()
        self.active_changed.emit(slot)

    def _mark_active(self) -> None:
        for slot in self.slots:
            slot.set_active(slot is self.active, self.theme, len(self.slots) > 1)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for slot in self.slots[1:]:
            slot.chart.apply_theme(theme)
        self._mark_active()

    # -- saved ---------------------------------------------------------------------------
    def state(self) -> list[SlotState]:
        """What each chart shows, then what the charts taken away showed (up to four)."""
        return ([self._state_of(slot) for slot in self.slots] + self.spare)[: max(COUNTS)]

    def _state_of(self, slot: ChartSlot) -> SlotState:
        session = slot.session or self.link.main_session()
        timeframe = session.requested[1] if session.requested[1] else session.timeframe
        chart = slot.chart
        symbol = slot.symbol or session.requested[0]
        return SlotState(
            symbol, timeframe, slot.group, chart.chart_style, chart.log_scale, slot.compare_symbol
        )


CHARTS = "charts"  # the layout file's key for the grid


def apply_looks(chart: ChartWidget, state: SlotState) -> None:
    """A saved chart's style and scale (an unknown style, from a newer terminal: candles)."""
    chart.set_style(state.style if state.style in PRICE_STYLES else "candles")
    chart.set_log_scale(state.log)


def charts_to_text(count: int, states: list[SlotState]) -> str:
    """The grid as the layout file keeps it: how many charts, and what each of up to four showed
    (those beyond ``count`` come back when the user shows more charts again)."""
    return json.dumps({"count": count, "charts": [asdict(s) for s in states]})


def charts_from_text(text: str | None) -> tuple[int, list[SlotState]]:
    """The saved grid: how many charts and what each showed; (1, []) when none or unreadable."""
    try:
        saved = json.loads(text or "{}")
    except ValueError:
        return 1, []
    if not isinstance(saved, dict) or not isinstance(saved.get("charts"), list):
        return 1, []
    raw = saved["charts"]
    states = [
        SlotState(
            str(r.get("symbol", "")), str(r.get("timeframe", "")), str(r.get("group", "")),
            str(r.get("style", "candles")), r.get("log") is True, str(r.get("compare", "")),
        )
        for r in raw
        if isinstance(r, dict)
    ]  # fmt: skip
    count = saved.get("count")
    count = count if count in COUNTS and isinstance(count, int) and count <= len(states) else 1
    return count, states
