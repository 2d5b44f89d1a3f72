"""Order book benchmark: UI-thread CPU and repaint rate under 5,000 level updates/s.

    .venv/bin/python benchmarks/bench_orderbook.py [--seconds 3]

Target: the main (UI) thread spends <= 150 ms of CPU per wall second while
the ladder still repaints >= 30 times a second.

A precise QTimer fires every 10 ms on the Qt loop and applies every update
that is due by then (5,000 per second, so ~50 per tick; late ticks catch
up). Each update is ``OrderBook.update(side, price, size)`` followed by:

* ours: ``FrameBridge.notify(Topic.BOOK)``; the bridge's ``changed`` signal
  (at most once per 16 ms frame) calls ``OrderBookView.refresh``; repaints
  are counted by ``LadderCanvas.paints``;
* reference: a QAbstractTableModel + QTableView ladder showing the same
  levels, which emits ``dataChanged`` for its rows on every update (Qt's own
  update() coalescing decides when it paints); repaints are Paint events
  counted on the view's viewport.

Both get the same snapshot (200 levels a side), the same pre-generated
update stream and the same widget size. CPU is ``time.thread_time()`` of the
main thread (and ``time.process_time()`` of the whole process, for
reference), measured over ``--seconds`` after a 0.5 s warm-up.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import _common
import numpy as np
from _common import print_table, verdict
from PySide6.QtCore import QAbstractTableModel, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QTableView

app = QApplication.instance() or QApplication(["bench_orderbook"])

from terminal.market.session import Topic  # noqa: E402
from terminal.marketdata.orderbook import OrderBook  # noqa: E402
from terminal.ui.market.bridge import FrameBridge  # noqa: E402
from terminal.ui.market.orderbook_view import OrderBookView  # noqa: E402
from terminal.ui.theme import DARK, apply_theme  # noqa: E402

RATE = 5_000  # updates per second
TICK_MS = 10
WARMUP_S = 0.5
LEVELS = 200  # per side in the snapshot (the session's default book depth)
TICK = 0.1  # BTC/USDT price step in the simulator
BEST_BID_TICKS, BEST_ASK_TICKS = 639_999, 640_000
SIZE = (300, 600)  # about the order-book dock in the default 1280x800 window
CPU_TARGET_MS = 150.0
REPAINT_TARGET = 30.0


def price(ticks: int | np.ndarray) -> Any:
    return np.round(np.asarray(ticks) * TICK, 1)


def snapshot() -> OrderBook:
    book = OrderBook("BTC/USDT")
    k = np.arange(LEVELS)
    rng = np.random.default_rng(3)
    bids = np.column_stack([price(BEST_BID_TICKS - k), rng.lognormal(-1, 1, LEVELS)])
    asks = np.column_stack([price(BEST_ASK_TICKS + k), rng.lognormal(-1, 1, LEVELS)])
    book.replace(bids.tolist(), asks.tolist())
    return book


@dataclass(frozen=True)
class Stream:
    side: list[str]
    price: list[float]
    size: list[float]

    def __len__(self) -> int:
        return len(self.side)


def make_stream(n: int, seed: int = 11) -> Stream:
    """Level updates concentrated near the top of the book; 15% remove a level."""
    rng = np.random.default_rng(seed)
    is_bid = rng.random(n) < 0.5
    depth = np.minimum(rng.geometric(0.04, n) - 1, LEVELS - 1)
    ticks = np.where(is_bid, BEST_BID_TICKS - depth, BEST_ASK_TICKS + depth)
    size = np.round(rng.lognormal(-1, 1, n), 5)
    size[rng.random(n) < 0.15] = 0.0
    sides = np.where(is_bid, "bids", "asks").tolist()
    return Stream(sides, price(ticks).tolist(), size.tolist())


# -- the reference ladder ---------------------------------------------------------
class LadderModel(QAbstractTableModel):
    """Asks (best last) above bids (best first): price, size, cumulative size."""

    HEADERS = ("Price", "Size", "Total")

    def __init__(self, book: OrderBook, depth: int) -> None:
        super().__init__()
        self.book = book
        self.depth = depth
        self._version = -1
        self._levels: tuple[Any, Any] = (None, None)
        self._colors = {"asks": QColor(DARK.down), "bids": QColor(DARK.up), "text": QColor(DARK.text)}
        self._align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def rowCount(self, parent: Any = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else 2 * self.depth

    def columnCount(self, parent: Any = None) -> int:  # noqa: N802 - Qt API
        return 0 if parent is not None and parent.isValid() else 3

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def levels(self) -> tuple[Any, Any]:
        if self._version != self.book.version:  # recomputed at most once per book change
            self._levels = (
                self.book.levels("asks", None, self.depth),
                self.book.levels("bids", None, self.depth),
            )
            self._version = self.book.version
        return self._levels

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row, col = index.row(), index.column()
        asks, bids = self.levels()
        if row < self.depth:
            side, levels, i = "asks", asks, len(asks) - 1 - (row - (self.depth - len(asks)))
        else:
            side, levels, i = "bids", bids, row - self.depth
        if not 0 <= i < len(levels):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            value = (levels.price, levels.size, levels.cumulative)[col][i]
            return f"{value:,.1f}" if col == 0 else f"{value:,.5f}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colors[side if col == 0 else "text"]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self._align
        return None


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


# -- the feed and the measurement -------------------------------------------------
@dataclass
class Result:
    wall: float
    thread_cpu: float
    process_cpu: float
    updates: int
    repaints: int
    frames: int = 0  # FrameBridge emissions (ours only)

    def cpu_ms_per_s(self) -> float:
        return self.thread_cpu / self.wall * 1e3

    def per_s(self, count: int) -> float:
        return count / self.wall


def run_feed(
    book: OrderBook,
    stream: Stream,
    after_update: Callable[[], None],
    repaints: Callable[[], int],
    frames: Callable[[], int],
    seconds: float,
) -> Result:
    """Apply the stream at RATE on a Qt timer; measure the window after the warm-up."""
    sides, prices, sizes = stream.side, stream.price, stream.size
    update = book.update
    state = {"sent": 0}
    marks: dict[str, tuple[float, float, float, int, int, int]] = {}
    t0 = time.perf_counter()

    def on_tick() -> None:
        due = min(int((time.perf_counter() - t0) * RATE), len(stream))
        for i in range(state["sent"], due):
            update(sides[i], prices[i], sizes[i])  # type: ignore[arg-type]
            after_update()
        state["sent"] = due

    def mark(name: str) -> None:
        marks[name] = (
            time.perf_counter(),
            time.thread_time(),
            time.process_time(),
            state["sent"],
            repaints(),
            frames(),
        )
        if name == "end":
            timer.stop()
            app.exit()

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(on_tick)
    timer.start()
    QTimer.singleShot(int(WARMUP_S * 1000), lambda: mark("start"))
    QTimer.singleShot(int((WARMUP_S + seconds) * 1000), lambda: mark("end"))
    app.exec()
    (w0, c0, p0, u0, r0, f0), (w1, c1, p1, u1, r1, f1) = marks["start"], marks["end"]
    return Result(w1 - w0, c1 - c0, p1 - p0, u1 - u0, r1 - r0, f1 - f0)


def run_ours(stream: Stream, seconds: float) -> tuple[Result, float]:
    book = snapshot()
    view = OrderBookView(book, DARK)
    view.set_market(book, TICK, 0.00001)
    view.resize(*SIZE)
    view.show()
    app.processEvents()
    bridge = FrameBridge()
    bridge.changed.connect(lambda topics: view.refresh() if topics & Topic.BOOK else None)
    notify = bridge.notify
    result = run_feed(
        book, stream, lambda: notify(Topic.BOOK), lambda: view.canvas.paints, lambda: bridge.frames, seconds
    )
    # one ladder paint on its own, for the breakdown
    samples = []
    for _ in range(50):
        t = time.perf_counter()
        view.canvas.repaint()
        samples.append(time.perf_counter() - t)
    view.close()
    app.processEvents()
    return result, float(np.median(samples))


def run_reference(stream: Stream, depth: int, row_height: int, seconds: float) -> Result:
    book = snapshot()
    model = LadderModel(book, depth)
    table = QTableView()
    table.setModel(model)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(row_height)
    table.setShowGrid(False)
    table.resize(*SIZE)
    counter = PaintCounter()
    table.viewport().installEventFilter(counter)
    table.show()
    app.processEvents()
    top_left, bottom_right = model.index(0, 0), model.index(2 * depth - 1, 2)
    emit = model.dataChanged.emit
    result = run_feed(
        book, stream, lambda: emit(top_left, bottom_right), lambda: counter.paints, lambda: 0, seconds
    )
    table.close()
    app.processEvents()
    return result


def book_update_cost(stream: Stream) -> float:
    """Seconds per OrderBook.update alone (no UI), over the whole stream."""
    book = snapshot()
    t = time.perf_counter()
    for side, p, s in zip(stream.side, stream.price, stream.size, strict=True):
        book.update(side, p, s)  # type: ignore[arg-type]
    return (time.perf_counter() - t) / len(stream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    args = parser.parse_args()
    print("Machine:", _common.machine())
    apply_theme(app, DARK)
    stream = make_stream(int(RATE * (WARMUP_S + args.seconds + 1.0)))
    print(
        f"{RATE:,} updates/s in {1000 // TICK_MS} bursts/s for {args.seconds:g} s "
        f"(+{WARMUP_S:g} s warm-up); widgets {SIZE[0]}x{SIZE[1]}"
    )

    ours, ladder_paint = run_ours(stream, args.seconds)
    probe = OrderBookView(snapshot(), DARK)
    probe.resize(*SIZE)
    probe.show()
    app.processEvents()
    depth, row_height = probe.canvas.rows_per_side(), probe.canvas.row_height()
    probe.close()
    ref = run_reference(stream, depth, row_height, args.seconds)
    per_update = book_update_cost(stream)

    def cpu(r: Result) -> str:
        return f"{r.cpu_ms_per_s():.0f} ms/s (process {r.process_cpu / r.wall * 1e3:.0f} ms/s)"

    print_table(
        f"3. Order book under {RATE:,} updates/s, {depth} levels a side on screen "
        "(reference = QTableView + dataChanged per update)",
        [
            [
                "UI-thread CPU per wall second",
                cpu(ours),
                cpu(ref),
                f"<= {CPU_TARGET_MS:.0f} ms/s",
                verdict(ours.cpu_ms_per_s() <= CPU_TARGET_MS),
            ],
            [
                "repaints per second",
                f"{ours.per_s(ours.repaints):.1f}",
                f"{ref.per_s(ref.repaints):.1f}",
                f">= {REPAINT_TARGET:.0f}/s",
                verdict(ours.per_s(ours.repaints) >= REPAINT_TARGET),
            ],
            [
                "updates applied per second",
                f"{ours.per_s(ours.updates):,.0f}",
                f"{ref.per_s(ref.updates):,.0f}",
                f"{RATE:,}/s",
                verdict(ours.per_s(ours.updates) >= RATE * 0.97),
            ],
            ["measured wall seconds", f"{ours.wall:.2f}", f"{ref.wall:.2f}", "-", "n/a"],
        ],
    )
    print_table(
        "3b. Breakdown of ours (main thread)",
        [
            ["OrderBook.update alone, per call", f"{per_update * 1e6:.1f} us"],
            [f"OrderBook.update alone at {RATE:,}/s", f"{per_update * RATE * 1e3:.0f} ms/s"],
            ["one ladder paint (canvas.repaint(), median)", f"{ladder_paint * 1e3:.2f} ms"],
            [
                "ladder paints at the measured repaint rate",
                f"{ladder_paint * ours.per_s(ours.repaints) * 1e3:.0f} ms/s",
            ],
            ["FrameBridge frames (changed emissions) per second", f"{ours.per_s(ours.frames):.1f}"],
        ],
        headers=("item", "measured"),
    )


if __name__ == "__main__":
    main()
