"""Silence judged by each stream's own pace."""

from __future__ import annotations

from terminal.market.cadence import FLOOR_S, Cadence


def test_a_busy_stream_is_stale_after_a_short_silence_a_quiet_one_after_the_limit() -> None:
    cadence = Cadence()
    for i in range(200):
        cadence.arrived("order book", now=i * 0.01)  # 100 answers a second
        cadence.arrived("quiet", now=i * 3.0)  # one every 3 s
    assert cadence.stale_after("order book", 10.0) == FLOOR_S
    assert cadence.stale_after("quiet", 10.0) == 10.0
    assert cadence.stale_after("never heard", 10.0) == 10.0


def test_the_pace_follows_the_stream_and_starts_over_when_forgotten() -> None:
    cadence = Cadence()
    for i in range(100):
        cadence.arrived("book", now=i * 0.4)
    assert abs(cadence.stale_after("book", 10.0) - 4.0) < 1e-9  # ten times its usual gap
    for i in range(100):
        cadence.arrived("book", now=40 + i * 0.01)
    assert cadence.stale_after("book", 10.0) == FLOOR_S
    cadence.forget("book")
    assert cadence.stale_after("book", 10.0) == 10.0
