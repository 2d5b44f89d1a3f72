"""MarketSession against the real simulated exchange, pump included."""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt
import numpy as np
import pytest

from terminal.market.health import FeedState
from terminal.market.session import MarketSession, Topic
from terminal.market.simulator import SimulatedExchange
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.resample import resample
from terminal.marketdata.timeframes import MINUTE_MS
from tests.conftest import ManualClock, run, wait_until

HOUR_MS = 60 * MINUTE_MS
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
WATCHLIST = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


class Recorder:
    """A session listener that remembers each topic and the health at that moment."""

    def __init__(self, session: MarketSession) -> None:
        self.session = session
        self.events: list[tuple[Topic, FeedState, str]] = []
        session.subscribe(self)

    def __call__(self, topic: Topic) -> None:
        self.events.append((topic, self.session.health.state, self.session.health.reason))

    def topics(self) -> Topic:
        seen = Topic(0)
        for topic, _, _ in self.events:
            seen |= topic
        return seen


def same_candle(a: tuple[float, ...] | list[float] | None, b: tuple[float, ...] | list[float] | None) -> bool:
    """Equal candles; volume up to float summation order."""
    if a is None or b is None:
        return a is b
    return tuple(a[:5]) == tuple(b[:5]) and a[5] == pytest.approx(b[5], rel=1e-9)


def live_exchange(**kwargs: Any) -> SimulatedExchange:
    return SimulatedExchange(seed=17, pump_interval=0.01, **kwargs)


def near(price: float | None, reference: float, tolerance: float = 0.05) -> bool:
    return price is not None and abs(price / reference - 1) < tolerance


def test_start_fills_candles_book_tape_and_tickers_and_notifies_each_topic() -> None:
    async def scenario() -> None:
        session = MarketSession(live_exchange(), WATCHLIST)
        recorder = Recorder(session)

        await session.start("BTC/USDT", "1m")
        await wait_until(lambda: len(session.book.bid_price) > 0 and session.tape.total > 0)

        engine = session.source.engine("BTC/USDT")  # type: ignore[attr-defined]
        assert session.symbol == "BTC/USDT" and session.timeframe == "1m"
        assert len(session.candles) >= 30 * 1440
        np.testing.assert_array_equal(np.diff(session.candles.ts), MINUTE_MS)
        assert session.candles.ts[-1] >= engine.candles.ts[-1] - MINUTE_MS
        assert not session.book.is_crossed()
        assert near(session.book.mid, engine.last_price)
        assert near(float(session.tape.latest(1).price[0]), engine.last_price)
        assert sorted(session.tickers) == sorted(WATCHLIST)
        assert all(t["last"] > 0 for t in session.tickers.values())
        assert session.health.state is FeedState.LIVE
        expected = Topic.STATUS | Topic.MARKETS | Topic.TICKERS
        expected |= Topic.CANDLES_RELOAD | Topic.BOOK | Topic.TRADES
        assert expected in recorder.topics(), recorder.topics()
        await session.close()

    run(scenario)


def test_symbol_missing_from_the_exchange_falls_back_to_the_watchlist() -> None:
    async def scenario() -> None:
        session = MarketSession(live_exchange(), ["NOPE/USDT", "ETH/USDT"])
        await session.start("NOPE/USDT", "5m")
        assert session.watchlist == ["ETH/USDT"]
        assert session.symbol == "ETH/USDT"
        assert session.timeframe == "5m"
        await session.close()

    run(scenario)


def test_switching_symbol_clears_book_and_tape_and_reloads_candles() -> None:
    async def scenario() -> None:
        session = MarketSession(live_exchange(), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        await wait_until(lambda: len(session.book.bid_price) > 0 and session.tape.total > 0)
        recorder = Recorder(session)

        await session.open("ETH/USDT", "1m")

        eth = session.source.engine("ETH/USDT")  # type: ignore[attr-defined]
        # Nothing of BTC is left on screen while ETH's live data is on its way;
        # the tape opens with ETH's recent trades rather than empty.
        assert len(session.book.bid_price) == 0 and len(session.book.ask_price) == 0
        assert session.tape.total > 0
        assert all(near(float(p), eth.last_price) for p in session.tape.latest().price)
        assert session.symbol == "ETH/USDT"
        assert near(float(session.candles.close[-1]), eth.last_price)
        assert Topic.BOOK in recorder.topics() and Topic.TRADES in recorder.topics()
        assert Topic.CANDLES_RELOAD in recorder.topics()

        await wait_until(lambda: len(session.book.bid_price) > 0 and session.tape.total > 0)
        assert near(session.book.mid, eth.last_price)
        assert all(near(float(p), eth.last_price) for p in session.tape.latest().price)
        await session.close()

    run(scenario)


def test_switching_timeframe_keeps_book_and_tape() -> None:
    async def scenario() -> None:
        session = MarketSession(live_exchange(), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        await wait_until(lambda: session.tape.total > 0)
        trades_before = session.tape.total

        await session.open("BTC/USDT", "15m")

        assert session.candles.timeframe_ms == 15 * MINUTE_MS
        assert np.all(session.candles.ts % (15 * MINUTE_MS) == 0)
        assert session.tape.total >= trades_before
        await session.close()

    run(scenario)


def test_timeframe_built_from_minute_candles_matches_the_native_one_and_stays_live() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        # One symbol and a calm market keep the simulated hour cheap to run.
        # The clock steps five minutes at a time: replay all of it, skip nothing.
        calm: dict[str, Any] = {
            "seed": 5, "clock": clock, "pump_interval": 0.01, "speed": 0.25, "max_replay_s": 3600,
            "history_days": 3,
        }  # fmt: skip
        minute_only = MarketSession(SimulatedExchange(timeframes=["1m"], **calm), ["SOL/USDT"])
        native = MarketSession(SimulatedExchange(**calm), ["SOL/USDT"])
        await minute_only.start("SOL/USDT", "1h")
        await native.start("SOL/USDT", "1h")

        def same(a: OHLCV, b: OHLCV) -> None:
            np.testing.assert_array_equal(a.ts, b.ts)
            for name in ("open", "high", "low", "close"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
            np.testing.assert_allclose(a.volume, b.volume, rtol=1e-9)

        built = minute_only.candles.snapshot()
        assert len(built) >= 3 * 24
        assert np.all(built.ts % HOUR_MS == 0)
        same(built, native.candles.snapshot())
        await asyncio.sleep(0.05)  # both sessions now wait on their watch loops

        engine = minute_only.source.engine("SOL/USDT")  # type: ignore[attr-defined]

        def hour_of_engine() -> OHLCV:
            return resample(engine.candles.snapshot(), HOUR_MS)

        # Time moves on, five minutes at a time: within the hour the live 1h
        # candle follows the 1m updates; at the hour a new candle is appended.
        hour = T0 - T0 % HOUR_MS
        live = minute_only.candles.last()
        assert live is not None and live[0] == hour
        count = len(minute_only.candles)
        while clock.now < hour + HOUR_MS + 2 * MINUTE_MS:
            clock.now += 5 * MINUTE_MS
            await wait_until(
                lambda: (
                    engine.time_ms == clock.now
                    and same_candle(minute_only.candles.last(), hour_of_engine().to_rows()[-1])
                ),
            )
            updated = minute_only.candles.last()
            assert updated is not None
            if updated[0] == live[0]:
                assert len(minute_only.candles) == count
                assert updated[5] > live[5]  # more volume traded in the same candle
            else:
                assert updated[0] == hour + HOUR_MS
                assert len(minute_only.candles) == count + 1
            live = updated
        assert live[0] == hour + HOUR_MS

        # The closed hour is final and matches the exchange's own 1h candles.
        await wait_until(lambda: same_candle(native.candles.last(), minute_only.candles.last()))
        same(minute_only.candles.snapshot(), hour_of_engine())
        same(minute_only.candles.snapshot(), native.candles.snapshot())

        await minute_only.close()
        await native.close()

    run(scenario)


def test_opening_an_unknown_symbol_fails_with_a_reason_and_keeps_the_current_one() -> None:
    async def scenario() -> None:
        clock = ManualClock()  # a still market: no live message hides the failure
        session = MarketSession(SimulatedExchange(seed=1, clock=clock, pump_interval=0.01), WATCHLIST)
        await session.start("BTC/USDT", "1m")
        recorder = Recorder(session)
        candles_before = session.candles.snapshot()

        task = session.request_open("DOGE/EUR")
        with pytest.raises(Exception, match="DOGE/EUR"):
            await task
        await wait_until(lambda: session.health.state is FeedState.FAILED, "the failure reported")
        assert "DOGE/EUR" in session.health.reason
        assert any(t & Topic.STATUS and s is FeedState.FAILED for t, s, _ in recorder.events)
        assert session.symbol == "BTC/USDT"
        np.testing.assert_array_equal(session.candles.ts, candles_before.ts)
        # BTC stays live: when its market moves, the screen follows.
        trades_before = session.tape.total
        clock.now += 10_000
        await wait_until(lambda: session.tape.total > trades_before)
        await session.close()

    run(scenario)


def test_close_ends_every_task_and_can_be_called_twice() -> None:
    async def scenario() -> None:
        session = MarketSession(live_exchange(), WATCHLIST)
        recorder = Recorder(session)
        await session.start("BTC/USDT", "1m")
        await wait_until(lambda: session.tape.total > 0)
        session.request_open("ETH/USDT", "5m")  # still loading when closed

        await session.close()

        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []
        assert session.health.state is FeedState.STOPPED
        stops = len(recorder.events)
        await session.close()
        assert len(recorder.events) == stops
        assert session.health.state is FeedState.STOPPED

    run(scenario)


class FlakyTradesExchange(SimulatedExchange):
    """The simulated exchange whose trade stream drops the first few times."""

    def __init__(self, failures: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures = failures

    async def watch_trades(self, symbol: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if self.failures > 0:
            self.failures -= 1
            await asyncio.sleep(0)
            raise ccxt.NetworkError("simulated: connection reset by peer")
        return await super().watch_trades(symbol, *args, **kwargs)


def test_failing_trade_stream_reconnects_and_goes_live_again() -> None:
    async def scenario() -> None:
        source = FlakyTradesExchange(failures=2, seed=4, pump_interval=0.01)
        session = MarketSession(source, WATCHLIST)
        recorder = Recorder(session)

        await session.start("BTC/USDT", "1m")
        # The tape opens with fetched trades; wait for the *stream* to recover.
        await wait_until(
            lambda: source.failures == 0 and session.health.stream_state("trades") is FeedState.LIVE,
            timeout=10,
        )

        reconnecting = [
            i
            for i, (t, s, reason) in enumerate(recorder.events)
            if t & Topic.STATUS and s is FeedState.RECONNECTING and "NetworkError" in reason
        ]
        assert len(reconnecting) == 2
        assert source.failures == 0
        recovered = [
            i
            for i, (t, s, _) in enumerate(recorder.events)
            if t & Topic.TRADES and s is FeedState.LIVE and i > reconnecting[-1]
        ]
        assert recovered, "trades never arrived after the reconnect"
        assert session.health.state is FeedState.LIVE
        assert session.health.reason == ""
        await session.close()

    run(scenario)
