"""The one back-off and retry helper: delays, jitter, reset, what is retried and when it gives up."""

from __future__ import annotations

import asyncio
import random

import pytest

from terminal.errors import ExchangeError, ExchangeUnreachableError, UnknownSymbolError
from terminal.retry import Backoff, retrying, transient


def test_delays_double_from_the_first_up_to_the_cap_and_start_again_after_reset() -> None:
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5
    tripled = Backoff(1.0, 100.0, factor=3.0)
    assert [tripled.next() for _ in range(3)] == [1.0, 3.0, 9.0]


def test_jitter_draws_each_wait_from_the_upper_half_of_the_delay() -> None:
    backoff = Backoff(2.0, 16.0, jitter=True, rng=random.Random(7))
    waits = [backoff.next() for _ in range(200)]
    ceilings = [min(16.0, 2.0 * 2**n) for n in range(200)]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len({round(w, 6) for w in waits[10:]}) > 100, "capped waits still differ"


class Flaky:
    """Fails with the given errors, one per call, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def down() -> ExchangeError:
    return ExchangeUnreachableError("The exchange cannot be reached.")


def run_retrying(call: Flaky, **kwargs: object) -> tuple[str, list[float], list[str]]:
    slept: list[float] = []
    told: list[str] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> str:
        return await retrying(
            call,
            Backoff(0.5, 4.0),
            retry_on=transient,
            on_retry=lambda exc, delay: told.append(f"{exc} {delay}"),
            sleep=sleep,
            **kwargs,  # type: ignore[arg-type]
        )

    return asyncio.run(scenario()), slept, told


def test_transient_failures_are_told_and_retried_after_the_backoff() -> None:
    call = Flaky(down(), down(), down())
    answer, slept, told = run_retrying(call)
    assert answer == "answer" and call.calls == 4
    assert slept == [0.5, 1.0, 2.0]
    assert told == [f"The exchange cannot be reached. {d}" for d in (0.5, 1.0, 2.0)]


def test_a_failure_retrying_cannot_fix_is_raised_at_once() -> None:
    call = Flaky(down(), UnknownSymbolError("Binance does not list XYZ/USDT."))
    with pytest.raises(UnknownSymbolError):
        run_retrying(call)
    assert call.calls == 2


def test_the_last_of_the_attempts_is_raised() -> None:
    call = Flaky(down(), down(), down())
    with pytest.raises(ExchangeUnreachableError):
        run_retrying(call, attempts=3)
    assert call.calls == 3
    assert run_retrying(Flaky(down(), down()), attempts=3)[0] == "answer"


def test_only_transient_exchange_errors_count_as_transient() -> None:
    assert transient(down())
    assert not transient(ExchangeError("The exchange refused the request."))
    assert not transient(UnknownSymbolError("No such symbol."))
    assert not transient(RuntimeError("bug"))
