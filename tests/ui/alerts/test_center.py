"""The app's one AlertCenter: one feed per exchange however many windows show it (handed
over when its window goes), an alert set before the alerts have loaded is kept, and a
history file that cannot be written says so and keeps the alerts for the session."""

from __future__ import annotations

import asyncio
from pathlib import Path

from terminal.alerts.rules import Alert, PriceCross
from terminal.market.session import MarketSession
from terminal.market.simulator.exchange import SimulatedExchange
from terminal.store.history_file import HistoryFile
from terminal.ui.alerts.center import AlertCenter


def no_keyring() -> object:
    raise AssertionError("no webhooks here")


async def test_two_windows_on_one_exchange_feed_its_alerts_once_and_hand_over(
    tmp_path: Path, qt_loop: object
) -> None:
    held = HistoryFile(tmp_path / "history.sqlite")
    center = AlertCenter(held.writable, no_keyring)
    market = SimulatedExchange(seed=3, history_days=1)
    first = MarketSession(market, ["BTC/USDT"])
    second = MarketSession(market, ["BTC/USDT"])
    try:
        await center.load()
        center.watch("window 1", first, "simulated")
        center.watch("window 2", second, "simulated")
        assert list(center.feeds) == ["window 1"]
        assert first.on_price is not None and second.on_price is None  # one feed: each price once
        await center.release("window 1")
        assert list(center.feeds) == ["window 2"] and second.on_price is not None
        assert first.on_price is None
    finally:
        await center.close()
        held.close()


async def test_an_alert_set_before_the_alerts_load_is_kept(tmp_path: Path, qt_loop: object) -> None:
    held = HistoryFile(tmp_path / "history.sqlite")
    center = AlertCenter(held.writable, no_keyring)
    alert = Alert(exchange="simulated", symbol="BTC/USDT", condition=PriceCross(level=70_000))
    try:
        center.put(alert)  # Alt+A in the first seconds, before the start-up settled
        await center.load()
        while center._tasks.busy:  # the deferred change, then its save
            await asyncio.sleep(0.01)
        assert [a.id for a in center.alerts()] == [alert.id]
    finally:
        await center.close()
        held.close()
    again = HistoryFile(tmp_path / "history.sqlite")
    reopened = AlertCenter(again.writable, no_keyring)
    try:
        await reopened.load()
        assert [a.id for a in reopened.alerts()] == [alert.id]  # and it was saved
    finally:
        await reopened.close()
        again.close()


async def test_without_a_writable_history_file_alerts_work_for_the_session_and_say_so(
    tmp_path: Path, qt_loop: object
) -> None:
    center = AlertCenter(lambda: None, no_keyring)
    said: list[str] = []
    center.delivery_problem.connect(said.append)
    try:
        await center.load()
        center.put(Alert(exchange="simulated", symbol="BTC/USDT", condition=PriceCross(level=70_000)))
        assert len(center.alerts()) == 1
        assert said and "kept for this session only" in said[0]
    finally:
        await center.close()
