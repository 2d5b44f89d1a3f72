"""Keypress (or click) to order request on the wire.

    .venv/bin/python benchmarks/bench_order_latency.py [--orders 100] [--skip-live] [--pause 0.03]

Target (issue 6): keypress or click to order request on the wire <= 20 ms median.

A real terminal window (offscreen Qt, 1600x1000, qasync) on a ticking market,
trading hotkeys on, confirmation off (a confirmation waits for a human; with
it on, the same path starts at the key that answers it). The ticket holds a
market order for 0.001 BTC; each sample is one of:

* **hotkey**: Alt+B / Alt+S (buy / sell at market, the ticket's amount),
  alternately so the balances stay put, sent with ``QTest.keyClick`` to the
  focused widget: the shortcut, the desk's check of the ticket
  (``validate`` against the market's rules, the live book and the free
  balances), the task that calls ``broker.submit``, the broker's own checks
  (validation again, risk rules, journal), then the request;
* **click**: a click on the ticket's Send button (buy and sell alternately),
  the same path from the button.

"On the wire" is, for each broker:

* **paper** (``PaperBroker`` on the simulated market): the call of
  ``PaperAccount.place``, where the order meets the book;
* **live** (``LiveBroker`` through the real ``ccxt.pro.binance`` class against
  the loopback Binance server of ``tests/loopback``, signed with a key the
  server knows): the server's handler taking the ``POST /api/v3/order``, after
  aiohttp parsed the request and the server checked its signature. The server
  runs in this process, on the same event loop, so that one clock times both
  ends (its work on the loop is counted against us, not for us). The keys come
  from a stand-in store: the broker reads them once at start, never per order.

Each sample waits for the order's answer and 30 ms more before the next, so
the market keeps ticking between orders. Median and p95 over ``--orders``
samples per case, after 5 warm-up orders.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import _common
import numpy as np
from _common import print_table, verdict

TARGET_MS = 20.0
WARMUP = 5
PAUSE_S = 0.03
AMOUNT = "0.001"
API_KEY = "BenchLatencyKey-3Fq9ZpX2mN7vB4cR8tY1uJ6kL0wE5aSdGhzz"
SECRET = "BenchLatencySecret-Pw4Er6Ty8Ui0Op2As3Df5Gh7Jk9Lz1Xcvv"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


class Stamps:
    """perf_counter_ns of each order passing each stage, in order: "submit"
    (the broker's ``submit`` starts), "create" (ccxt's ``create_order`` is
    called; live only), "throttled" (ccxt's rate limiter lets the request go;
    live only) and "wire"."""

    def __init__(self) -> None:
        self.times: dict[str, list[int]] = {"submit": [], "create": [], "throttled": [], "wire": []}

    def mark(self, stage: str) -> None:
        self.times[stage].append(time.perf_counter_ns())

    def count(self) -> dict[str, int]:
        return {stage: len(times) for stage, times in self.times.items()}


Sample = dict[str, float]  # stage -> ms after the key press or click


def stamp_throttle(stamps: Stamps) -> Callable[[], None]:
    """Mark "throttled" when ccxt's rate limiter releases the request of an order
    (the first release after each create_order call); returns the undo."""
    from ccxt.async_support.base import exchange

    original = exchange.Exchange.throttle

    async def throttle(self: Any, cost: Any = None) -> Any:
        result = await original(self, cost)
        count = stamps.count()
        if count["create"] > count["throttled"]:
            stamps.mark("throttled")
        return result

    exchange.Exchange.throttle = throttle
    return lambda: setattr(exchange.Exchange, "throttle", original)


def stamp_calls(cls: Any, name: str, stamps: Stamps, stage: str) -> Callable[[], None]:
    """Mark ``stage`` whenever ``cls.name`` (a coroutine method) starts; returns the undo."""
    original = getattr(cls, name)

    async def stamped(self: Any, *args: Any, **kwargs: Any) -> Any:
        stamps.mark(stage)
        return await original(self, *args, **kwargs)

    setattr(cls, name, stamped)
    return lambda: setattr(cls, name, original)


async def until(predicate: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for: {what}")
        await asyncio.sleep(0.005)


async def sample_orders(window: Any, stamps: Stamps, orders: int, pause: float) -> dict[str, list[Sample]]:
    """Stage times of ``orders`` hotkey orders and ``orders`` Send clicks."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from terminal.trading.orders import OrderSide, OrderType

    ticket = window.trading.ticket
    ticket.set_type(OrderType.MARKET)
    ticket.amount.setText(AMOUNT)
    alt = Qt.KeyboardModifier.AltModifier
    results: dict[str, list[Sample]] = {"hotkey": [], "click": []}

    async def one(prepare: Callable[[int], None], send: Callable[[int], None], i: int) -> Sample:
        prepare(i)
        before = stamps.count()
        start = time.perf_counter_ns()
        send(i)  # the ticket says "Sending…" from here until the broker answers
        await until(lambda: not ticket.sending, "the broker's answer")
        if stamps.count()["wire"] == before["wire"]:
            raise SystemExit(
                f"no order went out: {ticket.message.text() or window.statusBar().currentMessage()}"
            )
        await asyncio.sleep(pause)
        return {
            stage: (times[before[stage]] - start) / 1e6
            for stage, times in stamps.times.items()
            if len(times) > before[stage]
        }

    def hotkey(i: int) -> None:
        focus = QApplication.focusWidget() or window
        QTest.keyClick(focus, Qt.Key.Key_B if i % 2 == 0 else Qt.Key.Key_S, alt)

    def nothing(_i: int) -> None:
        pass

    def side(i: int) -> None:  # not timed: the user picked the side before the click
        ticket.set_side(OrderSide.BUY if i % 2 == 0 else OrderSide.SELL)

    def click(_i: int) -> None:
        QTest.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)

    for name, prepare, send in (("hotkey", nothing, hotkey), ("click", side, click)):
        window.activateWindow()
        await until(window.isActiveWindow, "the window to be active")
        for i in range(orders + WARMUP):
            latency = await one(prepare, send, i)
            if i >= WARMUP:
                results[name].append(latency)
    return results


def stats(samples: list[float]) -> tuple[float, str]:
    median = statistics.median(samples)
    p95 = float(np.percentile(samples, 95))
    return median, f"median {median:.2f} ms, p95 {p95:.2f} ms (min {min(samples):.2f}, n={len(samples)})"


# -- the two brokers -------------------------------------------------------------------------------
async def paper_case(make_window: Callable[..., Any], orders: int, pause: float) -> dict[str, list[Sample]]:
    from terminal.market.session import MarketSession
    from terminal.market.simulator import SimulatedExchange
    from terminal.trading.paper.account import PaperAccount
    from terminal.trading.paper.broker import PaperBroker

    stamps = Stamps()
    place = PaperAccount.place

    def stamped(self: PaperAccount, *args: Any, **kwargs: Any) -> Any:
        stamps.mark("wire")
        return place(self, *args, **kwargs)

    PaperAccount.place = stamped  # type: ignore[method-assign]
    undo = stamp_calls(PaperBroker, "submit", stamps, "submit")
    try:
        exchange = SimulatedExchange(seed=7, history_days=10)
        window, _config = make_window(lambda watchlist: MarketSession(exchange, watchlist))
        running = asyncio.get_running_loop().create_task(window.run())
        session = window.session
        await until(lambda: session.book.mid is not None and len(session.candles), "the simulated market")
        broker = PaperBroker(session, account="simulated")
        await broker.start()
        window.set_broker(broker)
        try:
            return await sample_orders(window, stamps, orders, pause)
        finally:
            window.set_broker(None)
            await broker.close()
            window.close()
            await running
    finally:
        PaperAccount.place = place  # type: ignore[method-assign]
        undo()


async def live_case(make_window: Callable[..., Any], orders: int, pause: float) -> dict[str, list[Sample]]:
    from terminal.config import AccountSettings
    from terminal.credentials import ApiKey
    from terminal.market.ccxt_source import CcxtSource
    from terminal.market.session import MarketSession
    from terminal.trading.live.broker import LiveBroker
    from terminal.trading.live.exchange import PrivateExchange
    from tests.loopback.binance import LoopbackBinance

    server = LoopbackBinance(seed=5, history_days=1)
    await server.start()
    server.add_key(API_KEY, SECRET, {"USDT": 1_000_000.0, "BTC": 100.0})
    stamps = Stamps()
    new_order = server.order_api.new_order

    def stamped(*args: Any, **kwargs: Any) -> Any:
        stamps.mark("wire")
        return new_order(*args, **kwargs)

    server.order_api.new_order = stamped  # type: ignore[method-assign]
    undo = [
        stamp_calls(LiveBroker, "submit", stamps, "submit"),
        stamp_calls(PrivateExchange, "create_order", stamps, "create"),
        stamp_throttle(stamps),
    ]
    url = f"127.0.0.1:{server.port}"
    account = AccountSettings(
        name="loopback",
        exchange="binance",
        rest_url=f"http://{url}",
        ws_url=f"ws://{url}/stream",
        options=SPOT_ONLY,
    )

    class Keys:  # the keyring's stand-in: read once at start
        def load(self, _name: str) -> ApiKey:
            return ApiKey(API_KEY, SECRET)

    def session_for(watchlist: list[str]) -> MarketSession:
        source = CcxtSource(
            "binance", rest_url=f"http://{url}", ws_url=f"ws://{url}/stream", options=SPOT_ONLY
        )
        return MarketSession(source, ["BTC/USDT", "ETH/USDT"], max_history=1000)

    window, _config = make_window(session_for)
    running = asyncio.get_running_loop().create_task(window.run())
    session = window.session
    broker = LiveBroker(
        account,
        credentials=Keys(),  # type: ignore[arg-type]
        book=lambda symbol: session.book if symbol == session.symbol else None,
        symbols=["BTC/USDT"],
    )
    try:
        await until(lambda: session.book.mid is not None and len(session.candles), "the loopback market")
        await broker.start()
        window.set_broker(broker)
        return await sample_orders(window, stamps, orders, pause)
    finally:
        window.set_broker(None)
        await broker.close()
        window.close()
        await running
        await server.stop()
        for restore in undo:
            restore()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100, help="timed orders per case")
    parser.add_argument("--skip-live", action="store_true", help="only the paper broker")
    parser.add_argument(
        "--pause", type=float, default=PAUSE_S, help="seconds between an answer and the next order"
    )
    args = parser.parse_args()
    print("Machine:", _common.machine())

    import qasync
    from PySide6.QtWidgets import QApplication

    from terminal.config import ConfigStore
    from terminal.logs import LogBuffer
    from terminal.paths import AppPaths
    from terminal.ui.theme import THEMES, apply_theme
    from terminal.ui.window.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app, THEMES["dark"])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    folder = Path(tempfile.mkdtemp(prefix="bench-order-latency-"))

    def make_window(session_for: Callable[[list[str]], Any]) -> tuple[Any, Any]:
        paths = AppPaths(folder / "config", folder / "data")
        paths.ensure()
        config = ConfigStore(paths.config_file)
        config.settings.trading.hotkeys_enabled = True
        config.settings.trading.confirm_orders = False
        window = MainWindow(session_for(config.settings.watchlist), config, paths, LogBuffer())
        window.resize(1600, 1000)
        window.show()
        return window, config

    cases: list[tuple[str, Callable[..., Awaitable[dict[str, list[Sample]]]]]] = [("paper", paper_case)]
    if not args.skip_live:
        cases.append(("live", live_case))
    results: dict[str, dict[str, list[Sample]]] = {}
    for name, case in cases:
        results[name] = loop.run_until_complete(case(make_window, args.orders, args.pause))
    loop.close()  # its worker threads end here, not at interpreter exit

    where = {
        "paper": "PaperBroker (simulated market) → PaperAccount.place",
        "live": "LiveBroker → ccxt.pro.binance → loopback POST /api/v3/order",
    }
    rows = []
    for name, by_input in results.items():
        for what, samples in by_input.items():
            median, text = stats([sample["wire"] for sample in samples])
            verdict_text = verdict(median <= TARGET_MS)
            rows.append([f"{what} → {where[name]}", text, "-", f"<= {TARGET_MS:.0f} ms median", verdict_text])
    print_table("Order latency: keypress or click to the order on the wire", rows)

    stages = (
        ("submit", "the broker's submit starts (shortcut or button, ticket check, task)"),
        ("create", "ccxt's create_order is called (broker: validation, risk, journal)"),
        ("throttled", "ccxt's rate limiter lets the request go"),
        ("wire", "on the wire"),
    )
    rows = []
    for name, by_input in results.items():
        for what, samples in by_input.items():
            for stage, meaning in stages:
                times = [sample[stage] for sample in samples if stage in sample]
                if times:
                    rows.append([f"{name}, {what}", meaning, f"{statistics.median(times):.2f} ms"])
    print_table("Where the time goes (median ms after the key press or click)", rows, ("case", "stage", "at"))


if __name__ == "__main__":
    main()
