"""The deterministic simulated market with a clock the test drives, and the prices it
will show at each step, read from a twin run with the same seed."""

from __future__ import annotations

from terminal.market.simulator.exchange import SimulatedExchange
from tests.conftest import ManualClock, run

STEP_MS = 5_000
SEED = 11


def market(clock: ManualClock) -> SimulatedExchange:
    return SimulatedExchange(seed=SEED, clock=clock, pump_interval=0.01, history_days=1, max_replay_s=3600)


async def walk(symbol: str, steps: int) -> list[float]:
    """The last price of ``symbol`` after each of ``steps`` steps of STEP_MS (a twin run)."""
    clock = ManualClock()
    twin = market(clock)
    await twin.load_markets()
    engine = await twin.market.ready(symbol)
    prices = []
    for _ in range(steps):
        clock.now += STEP_MS
        engine.advance_to(clock.now)
        prices.append(engine.last_price)
    await twin.close()
    return prices


def future_path(symbol: str, steps: int) -> list[float]:
    """``walk`` from a test that has no loop running."""
    return run(lambda: walk(symbol, steps))


def first_rise(path: list[float], after: int = 20) -> tuple[int, float]:
    """A step ``k`` at which the price first rises above everything before it (after step
    ``after``), and a level half way through that rise: crossed first at step ``k``."""
    k = next(i for i in range(after, len(path)) if path[i] > max(path[:i]))
    return k, (max(path[:k]) + path[k]) / 2
