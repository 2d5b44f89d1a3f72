"""The throttle behind both bridges: at once when idle, once more at the end of
the interval for the calls that came during it, never more often."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from terminal.market.topics import Topic
from terminal.ui.market.bridge import FrameBridge
from terminal.ui.throttle import Throttle
from terminal.ui.trading.account_bridge import AccountBridge, AccountTopic


class Calls:
    def __init__(self) -> None:
        self.at: list[float] = []

    def __call__(self) -> None:
        self.at.append(time.monotonic())


def test_an_idle_throttle_passes_a_call_on_at_once(qtbot: QtBot) -> None:
    calls = Calls()
    throttle = Throttle(calls, 50)
    throttle()
    assert len(calls.at) == 1, "the first call after a quiet spell is not held back"
    assert not throttle.idle and not throttle.pending


def test_calls_during_the_interval_are_passed_on_once_at_its_end(qtbot: QtBot) -> None:
    calls = Calls()
    throttle = Throttle(calls, 60)
    started = time.monotonic()
    for _ in range(5):
        throttle()
    assert len(calls.at) == 1 and throttle.pending, "the other four wait for the interval's end"
    qtbot.waitUntil(lambda: len(calls.at) == 2, timeout=2000)
    assert calls.at[1] - started >= 0.055, "the second call came before the interval ended"
    assert not throttle.pending
    qtbot.waitUntil(lambda: throttle.idle, timeout=2000)  # that was the burst's last call
    assert len(calls.at) == 2
    throttle()
    assert len(calls.at) == 3, "idle again: the next call is passed on at once"


def test_a_steady_stream_of_calls_is_passed_on_once_per_interval(qtbot: QtBot) -> None:
    calls = Calls()
    throttle = Throttle(calls, 40)
    source = QTimer()
    source.setInterval(2)
    source.timeout.connect(throttle)
    requested = 0

    def count() -> None:
        nonlocal requested
        requested += 1

    source.timeout.connect(count)
    started = time.monotonic()
    source.start()
    qtbot.waitUntil(lambda: time.monotonic() - started >= 0.4, timeout=5000)
    source.stop()
    took = time.monotonic() - started
    assert requested > len(calls.at) >= 2
    gaps = [b - a for a, b in zip(calls.at, calls.at[1:], strict=False)]
    assert min(gaps) >= 0.035, f"two calls closer than the interval: {gaps}"
    assert len(calls.at) <= took / 0.04 + 1


def test_flush_passes_a_waiting_call_on_now_and_cancel_forgets_it(qtbot: QtBot) -> None:
    calls = Calls()
    throttle = Throttle(calls, 10_000)
    throttle()
    throttle()
    throttle.flush()
    assert len(calls.at) == 2 and not throttle.pending
    throttle.flush()
    assert len(calls.at) == 2, "nothing waited: nothing to pass on"
    throttle()
    throttle.cancel()
    assert throttle.idle and not throttle.pending
    throttle()
    assert len(calls.at) == 3


def test_the_frame_bridge_emits_the_first_topic_at_once_and_the_rest_together(qtbot: QtBot) -> None:
    bridge = FrameBridge(frame_ms=50)
    seen: list[Topic] = []
    bridge.changed.connect(seen.append)
    bridge.notify(Topic.BOOK)
    assert seen == [Topic.BOOK] and bridge.frames == 1
    bridge.notify(Topic.TRADES)
    bridge.notify(Topic.CANDLES_LIVE)
    bridge.notify(Topic.TRADES)
    with qtbot.waitSignal(bridge.changed, timeout=2000):
        pass
    assert seen == [Topic.BOOK, Topic.TRADES | Topic.CANDLES_LIVE] and bridge.frames == 2


def test_the_account_bridge_coalesces_and_flush_now_does_not_wait(qtbot: QtBot) -> None:
    bridge = AccountBridge(interval_ms=10_000)
    seen: list[AccountTopic] = []
    bridge.changed.connect(seen.append)
    bridge.attach(None)
    assert seen == [AccountTopic.everything()], "everything counts as changed, at once"
    bridge._queue(AccountTopic.FILLS)
    bridge._queue(AccountTopic.BALANCES)
    assert len(seen) == 1
    bridge.flush_now()  # the user's own action: on screen without waiting out the interval
    assert seen[1:] == [AccountTopic.FILLS | AccountTopic.BALANCES] and bridge.frames == 2
