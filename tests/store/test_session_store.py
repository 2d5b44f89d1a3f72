"""Live candles reach the disk as they close (the session with a real store
file, on the simulated exchange under a manual clock)."""

from __future__ import annotations

from pathlib import Path

from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.marketdata.timeframes import MINUTE_MS
from terminal.store import CandleStore
from tests.conftest import ManualClock, run, wait_until

T0 = 1_700_000_000_000


def test_live_candles_are_written_to_disk_as_they_close(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = ManualClock(T0)
        source = SimulatedExchange(seed=2, history_days=2, clock=clock, pump_interval=0.01,
                                   max_replay_s=3600)  # fmt: skip
        store = CandleStore(tmp_path / "history.sqlite")
        session = MarketSession(source, ["BTC/USDT"], max_history=1000, store=store, store_name="sim")
        try:
            await session.start("BTC/USDT", "1m")
            live_open = int(session.candles.ts[-1])

            def moved_on() -> bool:  # the live candle follows the clock, minute by minute
                return int(session.candles.ts[-1]) >= live_open + (clock.now - T0)

            for _ in range(3):  # three minutes pass, each opening a new candle
                clock.now += MINUTE_MS
                await wait_until(moved_on, "the live candle to move on")
            await wait_until(
                lambda: len(store.read("sim", "BTC/USDT", "1m", live_open)) >= 3,
                "closed candles to reach the disk",
                interval=0.05,
            )
            saved = store.read("sim", "BTC/USDT", "1m", live_open, live_open + 3 * MINUTE_MS)
            engine = source.engine("BTC/USDT")
            # What is on disk is each candle as it closed, exactly as the exchange made it.
            for i, ts in enumerate(saved.ts):
                j = int(ts - engine.candles.ts[0]) // MINUTE_MS
                assert engine.candles.ts[j] == ts
                assert (saved.open[i], saved.high[i], saved.low[i], saved.close[i]) == (
                    engine.candles.open[j],
                    engine.candles.high[j],
                    engine.candles.low[j],
                    engine.candles.close[j],
                )
        finally:
            await session.close()
            store.close()

    run(scenario, timeout=60)
