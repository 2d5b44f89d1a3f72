"""Keeping a chart's drawings in the history file, per exchange and symbol.

    keeper = DrawingKeeper(layer, history_file.get, messages.post, ready=settled)
    keeper.set_market("binance", "BTC/USDT")   # on every symbol or exchange switch
    await keeper.shutdown()                     # when the window closes: the last save lands

``set_market`` shows the market's drawings: the layer empties at once and
fills when the file answers (a timeframe change is the same market: the
drawings stay). After every change the user makes (``DrawingLayer.edited``:
add, move, delete, edit, undo, redo) the market's drawings are written whole
(a market holds tens of them, not thousands), one write at a time and always
the newest state, so an older save can never land after a newer one.

Like every store call in the window, reads and writes run in a worker thread;
the file is not opened before ``ready`` is set (the window's start-up
``settled``: the first candles come first). Without a history file, or with a
read-only one, drawings work for the session and the first change says, once,
that they will not be kept. Drawings of a kind this terminal does not know (a
newer terminal's) are kept as they are and written back with the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from terminal.errors import describe
from terminal.store.candles import CandleStore
from terminal.store.drawings import DrawingRecord, DrawingStore
from terminal.tasks import TaskGroup
from terminal.ui.chart.drawings.layer import DrawingLayer
from terminal.ui.chart.drawings.model import CLICKS, Drawing, Kind

log = logging.getLogger(__name__)

Market = tuple[str, str]  # (exchange, symbol)
SHUTDOWN_TIMEOUT_S = 10.0

_NOT_KEPT = "drawings are shown, but not kept after the terminal closes."
NOT_KEPT = {
    "none": f"The history file cannot be used: {_NOT_KEPT}",
    "read-only": f"The history file is open read-only: {_NOT_KEPT}",
}


class DrawingKeeper:
    def __init__(
        self,
        layer: DrawingLayer,
        store: Callable[[], CandleStore | None],
        post: Callable[..., object] | None = None,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.layer = layer
        self._store = store  # called in a worker thread: it may open the file
        self._post = post
        self.ready = ready
        self.market: Market | None = None
        self.loaded = False  # the market's drawings are on the layer (edits are saved from then on)
        self._unknown: dict[Market, list[DrawingRecord]] = {}  # kinds this terminal cannot draw
        self._pending: dict[Market, list[DrawingRecord]] = {}  # the newest state to write, per market
        self._writing = False
        self._told = False
        self._tasks = TaskGroup("chart drawings", on_error=self._failed, logger=log)
        layer.edited.connect(self._edited)

    def set_market(self, exchange: str, symbol: str) -> None:
        """Show the drawings of ``symbol`` on ``exchange`` (nothing happens for the market shown)."""
        market = (exchange, symbol)
        if market == self.market:
            return
        self.market, self.loaded = market, False
        self.layer.set_drawings([])
        self._tasks.spawn(self._load(market), name="load the chart's drawings", key="load")

    def adopt(self, other: DrawingKeeper) -> None:
        """Show the market ``other`` shows, with its drawings (another chart of the window,
        loaded): no read of the file, whose last write may still be under way."""
        if other.market is None or not other.loaded:
            return
        self._tasks.cancel("load")
        self.market, self.loaded = other.market, True
        self._unknown[other.market] = list(other._unknown.get(other.market, []))
        self.layer.set_drawings(list(other.layer.drawings))

    async def shutdown(self) -> None:
        """Let the last save land (a load under way is dropped)."""
        self._tasks.cancel("load")
        await self._tasks.close(cancel=False, timeout=SHUTDOWN_TIMEOUT_S)

    # -- loading ---------------------------------------------------------------------------
    async def _load(self, market: Market) -> None:
        if self.ready is not None:
            await self.ready.wait()
        records = await asyncio.to_thread(self._read, market)
        if market != self.market:
            return
        drawings, unknown = _drawings_of(records)
        self._unknown[market] = unknown
        meanwhile = self.layer.drawings  # drawn before the file answered: kept, on top
        if drawings:
            self.layer.set_drawings(drawings + meanwhile)
        self.loaded = True
        if meanwhile:
            self._edited()

    def _read(self, market: Market) -> list[DrawingRecord]:
        store = self._store()
        return [] if store is None else DrawingStore(store).load(*market)

    # -- saving ----------------------------------------------------------------------------
    def _edited(self) -> None:
        market = self.market
        if market is None or not self.loaded:
            return  # the load keeps what is drawn meanwhile, and saves it
        records = [_record_of(d) for d in self.layer.drawings] + self._unknown.get(market, [])
        self._pending[market] = records
        if not self._writing:
            self._writing = True
            self._tasks.spawn(self._write_pending(), name="save the chart's drawings")

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                market = next(iter(self._pending))
                records = self._pending.pop(market)
                why_not = await asyncio.to_thread(self._write, market, records)
                if why_not:
                    self._tell(NOT_KEPT[why_not])
        finally:
            self._writing = False

    def _write(self, market: Market, records: list[DrawingRecord]) -> str:
        """Write the market's drawings; "" when done, else why they cannot be kept."""
        store = self._store()
        if store is None:
            return "none"
        if store.database.read_only:
            return "read-only"
        DrawingStore(store).replace(*market, records)
        return ""

    def _tell(self, text: str) -> None:
        if not self._told:
            self._told = True
            if self._post is not None:
                self._post(text)

    def _failed(self, exc: BaseException, name: str) -> None:
        if self._post is None:
            return
        if name.startswith("load"):
            # Nothing is written over drawings that could not be read: new ones stay unsaved.
            self._post(
                f"The chart's drawings could not be loaded ({describe(exc)}); new ones are not kept.", True
            )
        else:
            self._post(f"The chart's drawings could not be saved: {describe(exc)}", True)


def _record_of(drawing: Drawing) -> DrawingRecord:
    return DrawingRecord(drawing.id, drawing.kind.value, drawing.points, drawing.text, drawing.color)


def _drawings_of(records: list[DrawingRecord]) -> tuple[list[Drawing], list[DrawingRecord]]:
    """The records this terminal can draw, and the others (kept as they are)."""
    drawings, unknown = [], []
    for record in records:
        try:
            kind = Kind(record.kind)
        except ValueError:
            unknown.append(record)
            continue
        if len(record.points) != CLICKS[kind]:
            unknown.append(record)
            continue
        drawings.append(Drawing(record.id, kind, record.points, record.text, record.color))
    return drawings, unknown
