"""The simulated exchange: a market that behaves like a real one, repeatably.

Most tests drive simulated time with a manual clock, so they are exact and
fast; the streaming tests run the real pump against the wall clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from terminal.errors import ExchangeClosedError, UnknownSymbolError, UnsupportedTimeframeError
from terminal.market.simulator import SimulatedExchange
from terminal.market.simulator.engine import SymbolMarket
from terminal.marketdata.candles import OHLCV
from terminal.marketdata.resample import candles_from_trades, resample
from terminal.marketdata.timeframes import MINUTE_MS, timeframe_ms
from tests.conftest import ManualClock, wait_until

# 2023-11-14 22:13:20 UTC: not on a minute boundary, so the exchange's start
# (the minute it floors to) and the clock differ, as they do in real use.
T0 = 1_700_000_000_000
DAY_MS = 1440 * MINUTE_MS


def exchange(seed: int = 11, clock: ManualClock | None = None, **kwargs: Any) -> SimulatedExchange:
    return SimulatedExchange(seed=seed, clock=clock or ManualClock(), **kwargs)


def step_to(engine: SymbolMarket, start: int, end: int, step: int) -> None:
    t = start
    while t < end:
        t = min(end, t + step)
        engine.advance_to(t)


def live_candles(engine: SymbolMarket, start_ms: int) -> OHLCV:
    data = engine.candles.snapshot()
    return data.slice(int(np.searchsorted(data.ts, start_ms)), len(data))


def trade_columns(engine: SymbolMarket) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.array([t.timestamp for t in engine.trades], dtype=np.int64)
    price = np.array([t.price for t in engine.trades])
    amount = np.array([t.amount for t in engine.trades])
    return ts, price, amount


def fetch_all(ex: SimulatedExchange, symbol: str, timeframe: str, limit: int = 5000) -> list[list[float]]:
    """Every candle the exchange has, paged forward with ``since``."""

    async def run() -> list[list[float]]:
        rows: list[list[float]] = []
        since = 0
        while True:
            page = await ex.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)
            if not page:
                return rows
            rows.extend(page)
            since = int(page[-1][0]) + timeframe_ms(timeframe)

    return asyncio.run(run())


def assert_same_candles(a: OHLCV, b: OHLCV) -> None:
    np.testing.assert_array_equal(a.ts, b.ts)
    for name in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_allclose(a.volume, b.volume, rtol=1e-9, atol=1e-12)


# -- the order book ------------------------------------------------------------


def test_book_is_never_crossed_and_levels_stay_sorted_for_every_symbol() -> None:
    ex = exchange(seed=5)
    for symbol in ex.symbols:
        engine = ex.engine(symbol)
        t, end = ex.start_ms, ex.start_ms + 10 * MINUTE_MS
        checks = 0
        while t < end:
            t += 100  # ~one event per step at 12 events/s
            engine.advance_to(t)
            bid, ask = engine.best_bid_ask()
            assert bid is not None and ask is not None, symbol
            assert bid < ask, f"{symbol} crossed at {t}: bid {bid} >= ask {ask}"
            if t % 5000 == 0:
                bids, asks = engine.book_snapshot()
                bid_px = np.array([p for p, _ in bids])
                ask_px = np.array([p for p, _ in asks])
                assert np.all(np.diff(bid_px) < 0), f"{symbol} bids not strictly descending"
                assert np.all(np.diff(ask_px) > 0), f"{symbol} asks not strictly ascending"
                assert all(size > 0 for _, size in bids + asks), f"{symbol} has an empty level"
                checks += 1
        assert checks == 120
        assert len(engine.trades) > 100, f"{symbol}: the market barely traded"


# -- candles from trades -------------------------------------------------------


def test_live_candles_are_the_exact_aggregation_of_the_trades() -> None:
    ex = exchange(seed=3)
    engine = ex.engine("ETH/USDT")
    step_to(engine, ex.start_ms, ex.start_ms + 15 * MINUTE_MS + 30_000, 1000)

    expected = candles_from_trades(*trade_columns(engine), MINUTE_MS)
    live = live_candles(engine, ex.start_ms)

    assert len(expected) == 16  # every minute traded at this rate
    assert_same_candles(live, expected)


def test_minutes_without_trades_are_flat_zero_volume_candles_at_previous_close() -> None:
    # A sleepy market (one event every ~8 s) leaves some minutes without a trade.
    ex = exchange(seed=4, speed=0.01)
    engine = ex.engine("SOL/USDT")
    step_to(engine, ex.start_ms, ex.start_ms + 90 * MINUTE_MS, 5000)

    traded = candles_from_trades(*trade_columns(engine), MINUTE_MS)
    by_minute = {int(ts): i for i, ts in enumerate(traded.ts)}
    live = live_candles(engine, ex.start_ms)
    all_candles = engine.candles.snapshot()
    first_live = len(all_candles) - len(live)

    assert len(live) == 90
    np.testing.assert_array_equal(np.diff(live.ts), MINUTE_MS)
    empty = 0
    for i, ts in enumerate(live.ts):
        row = (live.open[i], live.high[i], live.low[i], live.close[i])
        if int(ts) in by_minute:
            j = by_minute[int(ts)]
            assert row == (traded.open[j], traded.high[j], traded.low[j], traded.close[j])
            assert live.volume[i] == pytest.approx(traded.volume[j], rel=1e-9)
        else:
            previous_close = all_candles.close[first_live + i - 1]
            assert row == (previous_close,) * 4
            assert live.volume[i] == 0.0
            empty += 1
    assert 0 < empty < 90, "the scenario must have both quiet and traded minutes"


# -- determinism ---------------------------------------------------------------


def market_state(ex: SimulatedExchange, symbol: str) -> tuple[Any, ...]:
    engine = ex.engine(symbol)
    bids, asks = engine.book_snapshot()
    candles = engine.candles.snapshot()
    return (
        engine.trades,
        bids,
        asks,
        candles.to_rows(),
    )


def test_same_seed_and_clock_steps_give_an_identical_market() -> None:
    states = []
    for _ in range(2):
        ex = exchange(seed=21)
        step_to(ex.engine("BTC/USDT"), ex.start_ms, ex.start_ms + 5 * MINUTE_MS, 1000)
        states.append(market_state(ex, "BTC/USDT"))
    assert len(states[0][0]) > 100
    assert states[0] == states[1]


def test_slicing_time_differently_gives_the_same_market() -> None:
    end_offset = 5 * MINUTE_MS + 17
    states = []
    for step in (1000, 7300, 1):  # a second; 7.3 s; every millisecond
        ex = exchange(seed=21)
        step_to(ex.engine("BTC/USDT"), ex.start_ms, ex.start_ms + end_offset, step)
        states.append(market_state(ex, "BTC/USDT"))
    assert len(states[0][0]) > 100
    assert states[0] == states[1]
    assert states[0] == states[2]


def test_different_seeds_give_different_markets() -> None:
    a, b = exchange(seed=1), exchange(seed=2)
    for ex in (a, b):
        ex.engine("BTC/USDT").advance_to(ex.start_ms + MINUTE_MS)
    trades_a, bids_a, _, candles_a = market_state(a, "BTC/USDT")
    trades_b, bids_b, _, candles_b = market_state(b, "BTC/USDT")
    assert [t.price for t in trades_a] != [t.price for t in trades_b]
    assert bids_a != bids_b
    assert candles_a[:100] != candles_b[:100]  # the history differs too


def test_each_symbol_has_its_own_market() -> None:
    ex = exchange(seed=1)
    btc = ex.engine("BTC/USDT").candles.snapshot()
    eth = ex.engine("ETH/USDT").candles.snapshot()
    assert not np.allclose(np.diff(np.log(btc.close)), np.diff(np.log(eth.close)))


# -- history -------------------------------------------------------------------


def test_history_is_thirty_days_of_gapless_consistent_minute_candles() -> None:
    ex = exchange(seed=8)
    data = OHLCV.from_rows(fetch_all(ex, "XRP/USDT", "1m"))
    history = data.slice(0, int(np.searchsorted(data.ts, ex.start_ms)))

    assert len(history) >= 30 * 1440
    assert np.all(history.ts % MINUTE_MS == 0)
    np.testing.assert_array_equal(np.diff(history.ts), MINUTE_MS)
    assert history.ts[-1] == ex.start_ms - MINUTE_MS
    assert np.all(history.low <= np.minimum(history.open, history.close))
    assert np.all(history.high >= np.maximum(history.open, history.close))
    assert np.all(history.low > 0)
    assert np.all(history.volume > 0)
    # Each candle opens where the previous one closed: no price jumps.
    np.testing.assert_array_equal(history.open[1:], history.close[:-1])


def test_live_candles_continue_where_history_ends() -> None:
    for symbol in ("BTC/USDT", "XRP/USDT"):
        ex = exchange(seed=9, clock=ManualClock(T0 + 3 * MINUTE_MS))
        data = OHLCV.from_rows(fetch_all(ex, symbol, "1m"))
        i = int(np.searchsorted(data.ts, ex.start_ms))

        assert data.ts[i] == data.ts[i - 1] + MINUTE_MS == ex.start_ms
        np.testing.assert_array_equal(np.diff(data.ts), MINUTE_MS)
        # The live market starts around the last historical price.
        assert data.open[i] == pytest.approx(data.close[i - 1], rel=0.002)
        assert data.ts[-1] == T0 + 3 * MINUTE_MS - (T0 % MINUTE_MS)


@pytest.mark.parametrize("timeframe", ["5m", "1h", "1d"])
def test_higher_timeframes_are_the_resampled_minute_candles(timeframe: str) -> None:
    ex = exchange(seed=12, clock=ManualClock(T0 + 7 * MINUTE_MS))
    minutes = OHLCV.from_rows(fetch_all(ex, "BNB/USDT", "1m"))
    higher = OHLCV.from_rows(fetch_all(ex, "BNB/USDT", timeframe))

    assert np.all(higher.ts % timeframe_ms(timeframe) == 0)
    assert_same_candles(higher, resample(minutes, timeframe_ms(timeframe)))


def test_fetch_ohlcv_without_since_returns_the_newest_candles_up_to_the_live_one() -> None:
    clock = ManualClock(T0 + 2 * MINUTE_MS)
    ex = exchange(seed=12, clock=clock)
    rows = asyncio.run(ex.fetch_ohlcv("BTC/USDT", "15m", limit=10))
    assert len(rows) == 10
    assert rows[-1][0] == clock.now - clock.now % timeframe_ms("15m")
    assert np.all(np.diff([row[0] for row in rows]) == timeframe_ms("15m"))


@pytest.mark.parametrize(("timeframe", "limit"), [("1m", 1000), ("1h", 100)])
def test_since_paging_returns_consecutive_non_overlapping_pages(timeframe: str, limit: int) -> None:
    ex = exchange(seed=2)
    tf = timeframe_ms(timeframe)

    async def pages() -> list[list[list[float]]]:
        out = []
        since = ex.start_ms - 10 * DAY_MS + 12_345  # not on a candle boundary
        while page := await ex.fetch_ohlcv("SOL/USDT", timeframe, since=since, limit=limit):
            out.append(page)
            since = int(page[-1][0]) + tf
        return out

    result = asyncio.run(pages())
    assert len(result) >= 3
    assert all(len(page) == limit for page in result[:-1])
    first_ts = result[0][0][0]
    assert first_ts >= ex.start_ms - 10 * DAY_MS + 12_345
    assert first_ts - tf < ex.start_ms - 10 * DAY_MS + 12_345  # the first candle at or after since
    ts = [row[0] for page in result for row in page]
    assert ts == list(range(int(first_ts), int(ts[-1]) + 1, tf))  # no overlap, no gap
    assert ts[-1] == T0 - T0 % tf  # down to the live candle


# -- errors ----------------------------------------------------------------------


def test_unknown_symbol_raises_unknown_symbol_error() -> None:
    ex = exchange()

    async def calls() -> None:
        for call in (
            lambda: ex.fetch_ohlcv("DOGE/EUR", "1m"),
            lambda: ex.fetch_order_book("DOGE/EUR"),
            lambda: ex.fetch_trades("DOGE/EUR"),
            lambda: ex.fetch_tickers(["DOGE/EUR"]),
            lambda: ex.watch_trades("DOGE/EUR"),
            lambda: ex.watch_order_book("DOGE/EUR"),
        ):
            with pytest.raises(UnknownSymbolError, match="DOGE/EUR"):
                await call()
        await ex.close()

    asyncio.run(calls())


@pytest.mark.parametrize("timeframe", ["1h", "7m"])
def test_timeframe_the_exchange_does_not_offer_raises_unsupported_timeframe(timeframe: str) -> None:
    ex = exchange(timeframes=["1m", "5m"])

    async def calls() -> None:
        with pytest.raises(UnsupportedTimeframeError):
            await ex.fetch_ohlcv("BTC/USDT", timeframe)
        with pytest.raises(UnsupportedTimeframeError):
            await ex.watch_ohlcv("BTC/USDT", timeframe)
        assert await ex.fetch_ohlcv("BTC/USDT", "5m", limit=3)
        await ex.close()

    asyncio.run(calls())


# -- streaming -------------------------------------------------------------------


def test_watch_trades_returns_only_new_trades_each_call() -> None:
    async def scenario() -> tuple[int, list[list[dict[str, Any]]]]:
        ex = SimulatedExchange(seed=3, pump_interval=0.005)
        already = await ex.fetch_trades("BTC/USDT", limit=1)
        last_seen = int(already[-1]["id"]) if already else 0
        loop = asyncio.get_running_loop()
        # a second of watching, or longer until three calls came back: the market's trades
        # arrive at random, a second without one is rare, not impossible
        deadline = loop.time() + 1.0
        batches = []
        while loop.time() < deadline or (len(batches) < 3 and loop.time() < deadline + 10.0):
            batches.append(await asyncio.wait_for(ex.watch_trades("BTC/USDT"), 5.0))
        await ex.close()
        return last_seen, batches

    last_seen, batches = asyncio.run(scenario())
    assert len(batches) >= 2
    assert all(batches), "a watch returned without a new trade"
    ids = [int(t["id"]) for batch in batches for t in batch]
    # Each trade exactly once, none from before the first call, none skipped
    # (the market may trade between fetch_trades and the first watch).
    assert ids[0] > last_seen
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    stamps = [t["timestamp"] for batch in batches for t in batch]
    assert stamps == sorted(stamps)
    trade = batches[0][0]
    assert trade["symbol"] == "BTC/USDT"
    assert trade["side"] in ("buy", "sell")
    assert trade["cost"] == pytest.approx(trade["price"] * trade["amount"])


def test_watch_order_book_returns_a_ccxt_shaped_book_after_each_change() -> None:
    async def scenario() -> list[dict[str, Any]]:
        ex = SimulatedExchange(seed=3, pump_interval=0.005)
        books = [await asyncio.wait_for(ex.watch_order_book("ETH/USDT", 25), 2.0) for _ in range(3)]
        await ex.close()
        return books

    books = asyncio.run(scenario())
    for book in books:
        assert book["symbol"] == "ETH/USDT"
        assert isinstance(book["timestamp"], int)
        assert isinstance(book["nonce"], int)
        for side in ("bids", "asks"):
            levels = book[side]
            assert isinstance(levels, list) and len(levels) == 25
            assert all(isinstance(level, list) and len(level) == 2 for level in levels)
            assert all(size > 0 for _, size in levels)
        bid_prices = [p for p, _ in book["bids"]]
        ask_prices = [p for p, _ in book["asks"]]
        assert bid_prices == sorted(bid_prices, reverse=True)
        assert ask_prices == sorted(ask_prices)
        assert bid_prices[0] < ask_prices[0]
    nonces = [b["nonce"] for b in books]
    assert nonces == sorted(nonces) and len(set(nonces)) == 3


def test_tickers_agree_with_the_candles_of_the_last_24_hours() -> None:
    clock = ManualClock(T0 + 20 * MINUTE_MS)
    ex = exchange(seed=6, clock=clock)

    async def fetch() -> tuple[dict[str, Any], dict[str, OHLCV]]:
        tickers = await ex.fetch_tickers()
        candles = {s: OHLCV.from_rows(await ex.fetch_ohlcv(s, "1m", limit=1441)) for s in tickers}
        return tickers, candles

    tickers, candles = asyncio.run(fetch())
    assert sorted(tickers) == sorted(ex.symbols)
    for symbol, ticker in tickers.items():
        c = candles[symbol]
        day = c.slice(int(np.searchsorted(c.ts, clock.now - DAY_MS, side="right")), len(c))
        assert len(day) == 1440  # the candles that opened within the last 24 h
        assert ticker["last"] == c.close[-1]
        assert ticker["open"] == day.open[0]
        assert ticker["high"] == day.high.max()
        assert ticker["low"] == day.low.min()
        expected_pct = (day.close[-1] - day.open[0]) / day.open[0] * 100
        assert ticker["percentage"] == pytest.approx(expected_pct, rel=1e-9)
        assert ticker["baseVolume"] == pytest.approx(day.volume.sum(), rel=1e-9)
        # Quote volume is traded amount times a price inside each candle's range.
        assert (day.volume * day.low).sum() <= ticker["quoteVolume"] <= (day.volume * day.high).sum()
        assert ticker["bid"] < ticker["ask"]
        assert ticker["timestamp"] == clock.now


def test_close_makes_pending_watches_end() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        ex = exchange(clock=clock, pump_interval=0.005)
        await ex.fetch_trades("BTC/USDT")  # catch up with the clock, which then stands still
        rounds = 0  # of the pump, which advances the market and wakes the watches when it moved
        advance = ex.market.advance

        def counted(t_ms: int | None = None) -> list[str]:
            nonlocal rounds
            rounds += 1
            return advance(t_ms)

        ex.market.advance = counted  # type: ignore[method-assign]
        pending = [
            asyncio.ensure_future(ex.watch_trades("BTC/USDT")),
            asyncio.ensure_future(ex.watch_order_book("BTC/USDT")),
            asyncio.ensure_future(ex.watch_ohlcv("BTC/USDT", "1m")),
        ]
        await wait_until(lambda: rounds >= 3, "three rounds of the pump")
        assert not any(task.done() for task in pending), "nothing changed, so nothing should return"

        await ex.close()
        done, still_pending = await asyncio.wait(pending, timeout=1.0)
        assert not still_pending
        # Like ccxt's ExchangeClosedByUser: a named error, not a cancellation
        # the caller would mistake for its own task being cancelled.
        assert all(isinstance(task.exception(), ExchangeClosedError) for task in done)
        with pytest.raises(ExchangeClosedError):
            await ex.watch_trades("BTC/USDT")
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []  # the pump has stopped too

    asyncio.run(scenario())


def test_watch_ohlcv_returns_every_candle_that_changed_while_it_waited() -> None:
    async def scenario() -> tuple[int, list[list[float]], list[list[float]]]:
        clock = ManualClock()
        ex = exchange(clock=clock, pump_interval=0.005)
        await ex.fetch_trades("ETH/USDT")  # catch up with the clock
        live_minute = T0 - T0 % MINUTE_MS
        watch = asyncio.ensure_future(ex.watch_ohlcv("ETH/USDT", "1m"))
        await asyncio.sleep(0.02)
        clock.now += 3 * MINUTE_MS  # the live minute closes, and two more after it
        rows = await asyncio.wait_for(watch, 2.0)
        expected = await ex.fetch_ohlcv("ETH/USDT", "1m", since=live_minute)
        await ex.close()
        return live_minute, rows, expected

    live_minute, rows, expected = asyncio.run(scenario())
    assert [row[0] for row in rows] == [live_minute + i * MINUTE_MS for i in range(4)]
    assert rows == expected


def test_a_long_pause_is_skipped_quickly_and_leaves_a_coherent_market() -> None:
    # The machine slept for two hours: the simulator must not replay two hours
    # of events on the GUI thread, yet the chart must stay gapless.
    import time

    clock = ManualClock()
    ex = exchange(clock=clock)
    engine = ex.engine("BTC/USDT")
    clock.now += 60_000
    engine.advance_to(clock.now)
    price_before = engine.last_price

    clock.now += 2 * 3600 * 1000
    started = time.perf_counter()
    engine.advance_to(clock.now)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0, f"catching up two hours took {elapsed:.2f} s"
    candles = engine.candles
    assert np.all(np.diff(candles.ts) == MINUTE_MS)
    assert candles.ts[-1] == clock.now - clock.now % MINUTE_MS
    assert np.all(candles.open[1:] > 0) and np.all(candles.low <= candles.high)
    bid, ask = engine.best_bid_ask()
    assert bid is not None and ask is not None and bid < ask
    assert abs((bid + ask) / 2 / engine.last_price - 1) < 0.01  # the book moved with the price
    assert engine.last_price != price_before
