"""Switching what is on screen while data is still on its way: the newest
request wins, a failure leaves the previous market running, nothing leaks.
The simulated exchange is given network latency so that loads really overlap."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.marketdata.timeframes import MINUTE_MS
from tests.conftest import run, wait_until

LATENCY = 0.005  # 5 ms per REST call: a history load takes several round trips
WATCHLIST = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def slow_exchange(**kwargs: Any) -> SimulatedExchange:
    return SimulatedExchange(seed=5, history_days=3, pump_interval=0.01, latency=LATENCY, **kwargs)


def symbol_loops(session: MarketSession) -> list[str]:
    names = ("order book", "trades")
    return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name() in names and not t.done())


def test_a_switch_during_start_wins_and_leaves_one_set_of_loops() -> None:
    async def scenario() -> None:
        session = MarketSession(slow_exchange(), WATCHLIST)
        start = asyncio.create_task(session.start("BTC/USDT", "1m"))
        await wait_until(lambda: session.requested[0] == "BTC/USDT")  # the first load is under way
        session.request_open("ETH/USDT", "5m")
        await start
        await wait_until(lambda: session.symbol == "ETH/USDT" and len(session.book.bid_price) > 0)

        assert (session.symbol, session.timeframe) == ("ETH/USDT", "5m")
        assert np.all(np.diff(session.candles.ts) == 5 * MINUTE_MS)
        assert symbol_loops(session) == ["order book", "trades"]  # one of each, not two
        await session.close()
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    run(scenario)


def test_quick_presses_end_on_the_last_one() -> None:
    async def scenario() -> None:
        session = MarketSession(slow_exchange(), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        presses = [session.request_open("BTC/USDT", tf) for tf in ("5m", "15m", "1h", "1m", "4h")]
        # Every request has ended (the older ones cancelled): nothing can land after this.
        await asyncio.wait(presses)
        assert [p.cancelled() for p in presses] == [True] * 4 + [False]
        assert session.timeframe == "4h"
        assert np.all(np.diff(session.candles.ts) == 240 * MINUTE_MS)
        await session.close()

    run(scenario)


def test_repeating_the_pending_request_does_not_restart_it() -> None:
    async def scenario() -> None:
        session = MarketSession(slow_exchange(), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        first = session.request_open("ETH/USDT")
        assert session.request_open("ETH/USDT") is first  # a double-click is one request
        await first
        assert session.symbol == "ETH/USDT"
        await session.close()

    run(scenario)


def test_a_failed_switch_leaves_the_previous_market_running_and_can_be_retried() -> None:
    async def scenario() -> None:
        # An exchange that offers only daily candles cannot build 1h ones.
        session = MarketSession(slow_exchange(timeframes=["1d"]), WATCHLIST)
        await session.start("BTC/USDT", "1d")
        await wait_until(lambda: session.tape.total > 0)
        candles_before = len(session.candles)

        failing = session.request_open("ETH/USDT", "1h")
        await asyncio.wait([failing])

        assert session.health.state is FeedState.FAILED
        assert "1h" in session.health.reason
        # Still BTC daily, still live: the failure changed nothing on screen.
        assert (session.symbol, session.timeframe) == ("BTC/USDT", "1d")
        assert len(session.candles) == candles_before
        trades = session.tape.total
        await wait_until(lambda: session.tape.total > trades)
        # The same request is tried again rather than ignored.
        assert session.request_open("ETH/USDT", "1h") is not failing
        await session.close()

    run(scenario)


def test_returning_to_a_symbol_shows_each_trade_once_in_time_order() -> None:
    async def scenario() -> None:
        session = MarketSession(slow_exchange(), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        await wait_until(lambda: session.tape.total > 20)
        await session.request_open("ETH/USDT")
        await wait_until(lambda: session.tape.total > 20)
        await session.request_open("BTC/USDT")
        opened = session.tape.total  # BTC's recent trades, fetched
        # The trade stream has spoken since: first what it kept meanwhile, then new trades.
        await wait_until(lambda: session.tape.total > opened, "BTC/USDT's trade stream")

        rows = session.tape.latest()
        assert np.all(np.diff(rows.ts) <= 0), "newest first, never backwards"
        engine = session.source.engine("BTC/USDT")  # type: ignore[attr-defined]
        by_time = {(t.timestamp, t.price, t.amount) for t in engine.trades}
        shown = list(zip(rows.ts.tolist(), rows.price.tolist(), rows.amount.tolist(), strict=True))
        assert all(row in by_time for row in shown)
        assert len(shown) == len(set(shown)), "a trade appears twice on the tape"
        await session.close()

    run(scenario)


class SmallPagesExchange(SimulatedExchange):
    """An exchange that returns at most 300 candles a request (as some do)."""

    async def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        return await super().fetch_ohlcv(symbol, timeframe, since, min(limit or 300, 300), params)


def test_history_pages_through_an_exchange_with_small_pages() -> None:
    async def scenario() -> None:
        source = SmallPagesExchange(seed=5, history_days=2, pump_interval=0.01)
        session = MarketSession(source, WATCHLIST)
        await session.start("BTC/USDT", "1m")
        engine = source.engine("BTC/USDT")
        assert len(session.candles) >= 2 * 1440
        assert session.candles.ts[0] == engine.candles.ts[0]
        assert np.all(np.diff(session.candles.ts) == MINUTE_MS)  # no gap between pages
        await session.close()

    run(scenario)


def test_a_watch_waking_up_as_its_symbol_is_switched_away_writes_nothing() -> None:
    # The loop of a watch is cancelled at the switch, but the watch inside it
    # is cancelled only one step later: an answer for the old symbol arriving
    # in between must not land in the new symbol's book or tape.
    class HeldBook(SimulatedExchange):
        release = asyncio.Event()

        async def watch_order_book(
            self, symbol: str, limit: int | None = None, params: dict[str, Any] | None = None
        ) -> dict[str, Any]:
            if symbol == "BTC/USDT":
                await self.release.wait()
                return self._book(symbol, limit)
            return await super().watch_order_book(symbol, limit, params)

    async def scenario() -> None:
        exchange = HeldBook(seed=5, history_days=3, pump_interval=0.01)
        session = MarketSession(exchange, WATCHLIST)
        await session.start("BTC/USDT", "1m")
        stop = session._stop_symbol_tasks

        def answer_then_stop() -> list[asyncio.Task[None]]:
            HeldBook.release.set()  # the old symbol's book arrives right as the switch happens
            return stop()

        session._stop_symbol_tasks = answer_then_stop  # type: ignore[method-assign]
        await session.open("SOL/USDT", "1m")
        await wait_until(lambda: len(session.book.bid_price) > 0)
        sol = float(session.candles.close[-1])
        assert float(session.book.bid_price[0]) < sol * 1.05, "the ladder shows BTC prices on SOL/USDT"
        await session.close()

    run(scenario)
