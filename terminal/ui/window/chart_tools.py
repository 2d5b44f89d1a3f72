"""What the user adds to each chart of a window: drawings and indicators, kept.

Every chart of the grid (``ChartGrid``) gets a drawing layer with its keeper
(drawings per exchange and symbol in the history file) and its indicators, saved in
the layout file under the chart's place (``chart/indicators`` for the first, as
before there were several; ``chart1/indicators``… for the others). The commands
(Chart ▸ Draw, the drawing keys, the indicators' menu and palette) act on the active
chart.

Two charts on one market show one set of drawings: a change on either is copied to
the other at once, and a chart that opens a market another chart shows takes its
drawings from there rather than from the file (whose last write may not have landed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject

from terminal.store.candles import CandleStore
from terminal.ui.chart.drawings.keeper import DrawingKeeper
from terminal.ui.chart.drawings.layer import DrawingLayer
from terminal.ui.chart.drawings.model import Drawing
from terminal.ui.chart.indicator_controls import IndicatorControls
from terminal.ui.theme import Theme
from terminal.ui.window.chart_grid import ChartGrid, ChartSlot


@dataclass
class Tools:
    layer: DrawingLayer
    keeper: DrawingKeeper


def indicators_key(index: int) -> str:
    return "chart/indicators" if index == 0 else f"chart{index}/indicators"


class ChartTools(QObject):
    def __init__(
        self,
        grid: ChartGrid,
        controls: IndicatorControls,
        exchange: Callable[[], str],
        store: Callable[[], CandleStore | None],
        post: Callable[..., object],
        ready: asyncio.Event,
        saved_text: Callable[[str], str | None],
        save_text: Callable[[str, str], None],
        theme: Theme,
    ) -> None:
        super().__init__(grid)
        self.grid = grid
        self.controls = controls
        self._exchange = exchange
        self._store = store
        self._post = post
        self._ready = ready
        self._saved_text = saved_text
        self._save_text = save_text
        self.theme = theme
        self.magnet = True
        self.tools: dict[int, Tools] = {}  # id(slot) → its tools
        self._restoring = False
        # "Add alert on this line…" on a drawn line (the window's alerts): (slot, drawing)
        self._alert_hook: Callable[[ChartSlot, Drawing], object] | None = None
        # hears a chart's drawings after each edit (an alert on a line follows the line)
        self.on_edited: Callable[[ChartSlot, list[Drawing]], object] | None = None
        grid.slot_made.connect(self.attach)
        grid.slot_closing.connect(self.detach)
        for slot in grid.slots:
            self.attach(slot)

    # -- per chart -------------------------------------------------------------------
    def attach(self, slot: ChartSlot) -> None:
        layer = DrawingLayer(slot.chart, self.theme)
        layer.set_magnet(self.magnet)
        keeper = DrawingKeeper(layer, self._store, self._post, ready=self._ready)
        self.tools[id(slot)] = Tools(layer, keeper)
        layer.edited.connect(lambda slot=slot: self._copy_drawings(slot))
        if self._alert_hook is not None:
            self._hook_alerts(slot, layer)
        slot.chart.series_changed.connect(lambda slot=slot: self.market_shown(slot))
        studies = slot.chart.studies
        self.controls.attach(studies)
        studies.changed.connect(lambda slot=slot: self._save_indicators(slot))
        studies.failed.connect(lambda text: self._post(text, True))
        self.restore_indicators(slot)

    def set_alert_hook(self, hook: Callable[[ChartSlot, Drawing], object]) -> None:
        """Offer "Add alert on this line…" on every chart's lines, now and later."""
        self._alert_hook = hook
        for slot in self.grid.slots:
            self._hook_alerts(slot, self.of(slot).layer)

    def _hook_alerts(self, slot: ChartSlot, layer: DrawingLayer) -> None:
        hook = self._alert_hook
        if hook is not None:
            layer.alert_requested.connect(lambda drawing, slot=slot: hook(slot, drawing))

    def detach(self, slot: ChartSlot) -> None:
        tools = self.tools.pop(id(slot), None)
        if tools is not None:
            self.grid.link.spawn(tools.keeper.shutdown(), "save a chart's drawings")

    def of(self, slot: ChartSlot) -> Tools:
        return self.tools[id(slot)]

    @property
    def active(self) -> Tools:
        return self.of(self.grid.active)

    # -- drawings --------------------------------------------------------------------
    def market_shown(self, slot: ChartSlot) -> None:
        """``slot``'s chart shows its candles (maybe of another symbol): its market's drawings."""
        if not slot.chart.symbol or id(slot) not in self.tools:
            return
        market = (self._exchange(), slot.chart.symbol)
        keeper = self.of(slot).keeper
        if keeper.market == market:
            return
        for other in self.grid.slots:
            tools = self.tools.get(id(other))
            if (
                other is not slot
                and tools is not None
                and tools.keeper.market == market
                and tools.keeper.loaded
            ):
                keeper.adopt(tools.keeper)
                return
        keeper.set_market(*market)

    def _copy_drawings(self, source: ChartSlot) -> None:
        """A change on one chart shows on every chart of the same market."""
        tools = self.tools.get(id(source))
        if tools is None:
            return
        if self.on_edited is not None:
            self.on_edited(source, list(tools.layer.drawings))
        for other in self.grid.slots:
            theirs = self.tools.get(id(other))
            if other is not source and theirs is not None and theirs.keeper.market == tools.keeper.market:
                theirs.layer.set_drawings(list(tools.layer.drawings))

    def arm(self, kind: str) -> None:
        self.active.layer.arm(kind)

    def set_magnet(self, on: bool) -> None:
        self.magnet = on
        for tools in self.tools.values():
            tools.layer.set_magnet(on)

    def undo(self) -> None:
        self.active.layer.undo()

    def redo(self) -> None:
        self.active.layer.redo()

    def delete_selected(self) -> None:
        self.active.layer.delete_selected()

    # -- indicators ------------------------------------------------------------------
    def restore_indicators(self, slot: ChartSlot) -> None:
        self._restoring = True
        try:
            self.controls.restore(slot.chart.studies, self._saved_text(indicators_key(slot.index)))
        finally:
            self._restoring = False

    def _save_indicators(self, slot: ChartSlot) -> None:
        if not self._restoring and slot in self.grid.slots:
            self._save_text(indicators_key(slot.index), self.controls.saved_text(slot.chart.studies))

    def save_all(self) -> None:
        for slot in self.grid.slots:
            self._save_text(indicators_key(slot.index), self.controls.saved_text(slot.chart.studies))

    # -- the window ------------------------------------------------------------------
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for tools in self.tools.values():
            tools.layer.apply_theme(theme)

    async def shutdown(self) -> None:
        """Let every chart's last drawing save land (before the history file closes)."""
        await asyncio.gather(*(t.keeper.shutdown() for t in self.tools.values()), return_exceptions=True)
