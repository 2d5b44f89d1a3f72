"""The app's one AlertCenter: one feed per exchange however many windows show it (handed
over when its window goes), an alert set before the alerts have loaded is kept, and a
history file that cannot be written says so and keeps the alerts for the session; a loop
turn's firings are each their own desktop notification, in order, and a notification service
that hangs holds none of them beyond its timeout."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from terminal.alerts.delivery.desktop import DesktopNotifications
from terminal.alerts.rules import Alert, PriceCross, Trigger
from terminal.market.session import MarketSession
from terminal.market.simulator.exchange import SimulatedExchange
from terminal.store.history_file import HistoryFile
from terminal.ui.alerts.center import AlertCenter
from tests.alerts.notification_daemon import NotificationDaemon


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


async def test_firings_of_one_loop_turn_are_each_their_own_desktop_notification_in_order(
    tmp_path: Path, qt_loop: object, notification_daemon: NotificationDaemon
) -> None:
    # a jump over three levels fires three alerts in one loop turn: each is its own
    # notification, in the order they fired, and a later turn's firing comes after them
    center = AlertCenter(lambda: None, no_keyring)
    levels = [100.0, 101.0, 102.0, 103.0]
    crosses = [PriceCross(level=level) for level in levels]
    try:
        await center.load()
        for cross in crosses:
            center.put(Alert(exchange="simulated", symbol="BTC/USDT", condition=cross, trigger=Trigger.EVERY))
        engine, now = center.engine, int(time.time() * 1000)
        engine.price("simulated", "BTC/USDT", 99.5, now)  # the reference
        engine.price("simulated", "BTC/USDT", 102.5, now + 1)  # up through 100, 101 and 102 at once
        assert len(center.history) == 3
        await asyncio.sleep(0)  # another loop turn
        engine.price("simulated", "BTC/USDT", 103.5, now + 2)
        calls = await notification_daemon.wait_for(4, timeout=20)
        assert [call.summary for call in calls] == [
            "BTC/USDT: up through 100 at 102.5",
            "BTC/USDT: up through 101 at 102.5",
            "BTC/USDT: up through 102 at 102.5",
            "BTC/USDT: up through 103 at 103.5",
        ]
        assert [call.body for call in calls] == [f"price crosses {level:g}" for level in levels]
    finally:
        await center.close()


async def test_a_hung_notification_service_holds_each_firing_its_timeout_at_most_and_never_the_loop(
    tmp_path: Path, qt_loop: object, notification_daemon: NotificationDaemon
) -> None:
    # the notifications go out one after another: those that fire while the service does not
    # answer must not each wait the timeout in turn (five would take five timeouts)
    timeout = 1.0
    center = AlertCenter(lambda: None, no_keyring, desktop=DesktopNotifications(timeout=timeout))
    problems: list[str] = []
    center.delivery_problem.connect(problems.append)
    levels = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]
    try:
        await center.load()
        for level in levels:
            cross = PriceCross(level=level)
            center.put(Alert(exchange="simulated", symbol="BTC/USDT", condition=cross, trigger=Trigger.EVERY))
        engine, now = center.engine, int(time.time() * 1000)
        engine.price("simulated", "BTC/USDT", 99.5, now)  # the reference
        loop = asyncio.get_running_loop()
        with notification_daemon.hung():
            started = loop.time()
            for i, level in enumerate(levels[:5]):  # five loop turns, a firing each
                engine.price("simulated", "BTC/USDT", level + 0.5, now + 1 + i)
                await asyncio.sleep(0.02)
            ticks = 0
            while len(problems) < 5 and loop.time() - started < 10 * timeout:
                await asyncio.sleep(0.01)  # the rest of the program, on the same loop
                ticks += 1
            took = loop.time() - started
        assert len(problems) == 5, problems
        assert problems[-1].startswith("The system's notification service did not answer within 1 seconds")
        assert took < 2.5 * timeout, took
        assert ticks >= 20  # the loop went on while the service did not answer
        # the service answers again (it works off what it was sent meanwhile first): the next
        # firing reaches it
        engine.price("simulated", "BTC/USDT", 105.5, now + 10)
        deadline = loop.time() + 20
        while "BTC/USDT: up through 105 at 105.5" not in [
            c.summary for c in await notification_daemon.calls()
        ]:
            assert loop.time() < deadline, await notification_daemon.calls()
            await asyncio.sleep(0.02)
    finally:
        await center.close()
