"""One simulated market per process, kept in the history file and continued at the
next start: the same price path goes on, the time it was closed is filled from
where it stopped, and a different seed starts a new market on purpose."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from terminal.market.simulator import SimulatedExchange
from terminal.market.simulator.market import SimulatedMarket
from terminal.market.simulator.memory import MarketMemory
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store.candles import CandleStore
from tests.conftest import ManualClock, run

SYMBOL = "BTC/USDT"
HOUR_MS = 3_600_000


def kept_market(store: CandleStore, clock: ManualClock, seed: int | None = None) -> SimulatedMarket:
    return SimulatedMarket(
        seed=seed,
        history_days=2,
        clock=clock,
        max_replay_s=3600,
        memory=lambda: MarketMemory(store, "simulated"),
    )


async def trade_for(market: SimulatedMarket, clock: ManualClock, minutes: int) -> None:
    await market.ready(SYMBOL)
    for _ in range(minutes):
        clock.now += MINUTE_MS
        market.advance()


def test_a_restarted_market_continues_its_price_path_after_the_pause(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        with CandleStore(tmp_path / "history.sqlite") as store:
            first = kept_market(store, clock)
            await trade_for(first, clock, 30)
            before = first.engine(SYMBOL).candles.snapshot()
            stopped_ms = clock.now
            await first.close()

            clock.now += 3 * HOUR_MS  # the terminal was closed for three hours
            second = kept_market(store, clock)
            started = []
            second.when_started(started.append)
            again = (await second.ready(SYMBOL)).candles.snapshot()

            assert second.seed == first.seed
            assert started and started[0].replaced_seed is None
            away = started[0].resumed_after_ms
            assert away is not None and abs(away - 3 * HOUR_MS) <= MINUTE_MS
            # every minute the first run made is the same after the restart (those the
            # restarted market's two days still hold) ...
            still = before.slice(int(np.searchsorted(before.ts, again.ts[0])), len(before))
            assert len(still) > 2000
            shared = again.slice(0, len(still))
            assert np.array_equal(shared.ts, still.ts) and np.array_equal(shared.close, still.close)
            # ... and the gap goes on from the last close, one minute after another, to now
            gap_start = len(still)
            assert again.ts[gap_start] == before.ts[-1] + MINUTE_MS
            assert again.open[gap_start] == before.close[-1]
            assert np.all(np.diff(again.ts) == MINUTE_MS)
            assert again.ts[-1] >= stopped_ms + 3 * HOUR_MS - 2 * MINUTE_MS
            # ending three hours later near where it stopped, not at a new random level
            assert abs(again.close[-1] / before.close[-1] - 1) < 0.1
            await second.close()

    run(scenario)


def test_a_different_seed_starts_a_new_market_and_says_which_it_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        with CandleStore(tmp_path / "history.sqlite") as store:
            first = kept_market(store, clock, seed=5)
            await trade_for(first, clock, 5)
            old = first.engine(SYMBOL).candles.snapshot()
            await first.close()

            clock.now += HOUR_MS
            same = kept_market(store, clock, seed=5)  # the same seed asked: the same market goes on
            told = []
            same.when_started(told.append)
            await same.ready(SYMBOL)
            assert told[0].resumed_after_ms is not None and told[0].replaced_seed is None
            await same.close()

            new = kept_market(store, clock, seed=6)
            told.clear()
            new.when_started(told.append)
            fresh = (await new.ready(SYMBOL)).candles.snapshot()
            assert told[0].seed == 6 and told[0].replaced_seed == 5 and told[0].resumed_after_ms is None
            assert not np.isin(old.close[-50:], fresh.close).all()
            await new.close()
            # what is kept now is the new market's only
            kept = store.read("simulated", SYMBOL, "1m")
            assert np.isin(kept.ts, fresh.ts).all()

    run(scenario)


def test_windows_on_one_market_see_the_same_prices_and_each_gets_every_trade() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        market = SimulatedMarket(seed=3, history_days=1, clock=clock, pump_interval=0.005)
        one, two = SimulatedExchange(market=market), SimulatedExchange(market=market)
        await one.fetch_ticker(SYMBOL)
        first = asyncio.ensure_future(one.watch_trades(SYMBOL))
        second = asyncio.ensure_future(two.watch_trades(SYMBOL))
        await asyncio.sleep(0)
        clock.now += 20_000
        trades_one, trades_two = await asyncio.wait_for(asyncio.gather(first, second), 5)
        assert trades_one and [t["id"] for t in trades_one] == [t["id"] for t in trades_two]
        assert (await one.fetch_ticker(SYMBOL))["last"] == (await two.fetch_ticker(SYMBOL))["last"]
        await one.close()  # one window closing leaves the market to the other
        assert not market.closed
        clock.now += 20_000
        assert await asyncio.wait_for(two.watch_trades(SYMBOL), 5)
        await two.close()
        await market.close()

    run(scenario)


def test_without_a_history_file_the_market_runs_anew_and_says_so() -> None:
    async def scenario() -> None:
        market = SimulatedMarket(seed=1, history_days=1, clock=ManualClock(), memory=lambda: None)
        told = []
        market.when_started(told.append)
        await market.ready(SYMBOL)
        assert told[0].seed == 1 and told[0].resumed_after_ms is None and told[0].replaced_seed is None
        await market.close()

    run(scenario)


def test_a_restart_within_the_same_minute_continues_too(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock()
        with CandleStore(tmp_path / "history.sqlite") as store:
            first = kept_market(store, clock)
            await trade_for(first, clock, 30)
            clock.now += 20_000  # twenty seconds into its last minute
            first.advance()
            before = first.engine(SYMBOL).candles.snapshot()
            await first.close()  # keeps the live minute too

            second = kept_market(store, clock)  # started again within that same minute
            again = (await second.ready(SYMBOL)).candles.snapshot()
            assert second.seed == first.seed
            # the minutes before this one are the first run's; this one is live again
            start = second.start_ms
            closed = before.slice(0, int(np.searchsorted(before.ts, start)))
            history = again.slice(0, int(np.searchsorted(again.ts, start)))
            k = 50
            assert np.array_equal(history.ts[-k:], closed.ts[-k:])
            assert np.array_equal(history.close[-k:], closed.close[-k:])
            assert np.all(np.diff(again.ts) == MINUTE_MS)  # no gap, no minute twice
            await second.close()

    run(scenario)
