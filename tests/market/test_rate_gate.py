"""The per-exchange cool-down: Retry-After honoured, back-off doubling, one gate per exchange."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from terminal.market.rate_gate import COOLDOWN_MAX_S, RateGate, retry_after, shared_gate


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"RETRY-AFTER": " 7 "}, 7.0),
        ({"Retry-After": "0"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Content-Type": "application/json"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_seconds(headers: dict[str, str] | None, expected: float | None) -> None:
    assert retry_after(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after({"Retry-After": header}, now=now) == pytest.approx(30, abs=1)
    assert retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) is None


def test_refusals_without_retry_after_double_up_to_the_cap_and_reset_on_success() -> None:
    gate = RateGate("X", start_s=2.0)
    delays = [gate.refused(None) for _ in range(8)]
    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert max(delays) == COOLDOWN_MAX_S
    gate.passed()
    assert gate.refused(None) == 2.0


def test_the_shipped_cool_down_starts_at_2_s_and_doubles() -> None:
    # what the README promises; the feed's tests use a shorter one (test_feed_integrity)
    gate = RateGate("X")
    assert [gate.refused(None) for _ in range(3)] == [2.0, 4.0, 8.0]


def test_retry_after_wins_over_the_back_off_and_never_shortens_a_cool_down() -> None:
    gate = RateGate("X")
    assert gate.refused(5.0) == 5.0
    gate.refused(1.0)  # a shorter ask later does not cut the pause short
    assert gate.remaining() > 4.5


def test_wait_returns_only_when_the_cool_down_is_over() -> None:
    async def scenario() -> float:
        gate = RateGate("X")
        gate.refused(0.3)
        started = time.monotonic()
        await gate.wait()
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.29


def test_sources_of_one_exchange_share_one_gate() -> None:
    a = shared_gate("binance|api.binance.com", "Binance")
    b = shared_gate("binance|api.binance.com", "Binance")
    other = shared_gate("okx|www.okx.com", "OKX")
    assert a is b and a is not other
    a.refused(10.0)
    assert b.remaining() > 9 and other.remaining() == 0
