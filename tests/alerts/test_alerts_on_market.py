"""Alerts on live data through the real session: a symbol on screen and one that is
not, on the deterministic simulated market (a clock the test drives) and on the
loopback Binance server through the real ccxt class, through a reconnect and a
book resync: each crossing fires once, nothing fires falsely."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import pytest

from terminal.alerts import feed as alert_feed
from terminal.alerts.engine import AlertEngine
from terminal.alerts.feed import AlertFeed
from terminal.alerts.rules import Alert, Direction, Firing, IndicatorCondition, PriceCross, Trigger
from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from tests.alerts.market_path import STEP_MS, first_rise, future_path, market
from tests.conftest import ManualClock, run, wait_until
from tests.loopback.binance import LoopbackBinance
from tests.loopback.protocols import BINANCE

ON_SCREEN, ELSEWHERE = "BTC/USDT", "ETH/USDT"


def test_an_alert_on_a_symbol_not_on_screen_fires_once_at_each_crossing() -> None:
    path = future_path(ELSEWHERE, 240)
    k, level = first_rise(path)

    async def scenario() -> None:
        clock = ManualClock()
        session = MarketSession(market(clock), [ON_SCREEN])
        fired: list[Firing] = []
        engine = AlertEngine(lambda alert, firing: fired.append(firing), clock=clock)
        feed = AlertFeed(engine, session, "simulated")
        cross = PriceCross(level=level, direction=Direction.UP)
        up = Alert(exchange="simulated", symbol=ELSEWHERE, condition=cross, trigger=Trigger.EVERY)
        engine.load([up])
        feed.sync()
        try:
            await session.start(ON_SCREEN, "1m")
            assert ELSEWHERE not in session.watchlist and session.symbol == ON_SCREEN
            seen: list[float] = []
            original = engine.price_runs

            def spy(exchange: str, runs: Mapping[str, tuple[Sequence[float], Sequence[int]]]) -> None:
                if ELSEWHERE in runs:
                    seen.extend(runs[ELSEWHERE][0])
                original(exchange, runs)

            engine.price_runs = spy  # type: ignore[method-assign]
            fired_at: list[int] = []
            for i in range(len(path)):
                clock.now += STEP_MS
                await wait_until(lambda i=i: seen and seen[-1] == path[i], f"the ticker of step {i}")
                fired_at += [i] * (len(fired) - len(fired_at))
            # once at each step where the price rose through the level, the first at step k
            crossings = [i for i in range(1, len(path)) if path[i - 1] < level <= path[i]]
            assert crossings[0] == k
            assert fired_at == crossings
            assert [f.value for f in fired] == [path[i] for i in crossings]
            assert all(f.symbol == ELSEWHERE for f in fired)
        finally:
            await feed.close()
            await session.close()

    run(scenario, timeout=60)


def test_an_rsi_alert_on_a_symbol_not_on_screen_watches_its_candles() -> None:
    async def scenario() -> None:
        clock = ManualClock()
        session = MarketSession(market(clock), [ON_SCREEN])
        engine = AlertEngine(lambda alert, firing: None, clock=clock)
        feed = AlertFeed(engine, session, "simulated")
        rsi = Alert(exchange="simulated", symbol="SOL/USDT",
                    condition=IndicatorCondition(expression="RSI 14 > 101", timeframe="5m"))  # fmt: skip
        engine.load([rsi])
        feed.sync()
        try:
            await session.start(ON_SCREEN, "1m")
            series = engine._series[("simulated", "SOL/USDT", "5m")]
            await wait_until(
                lambda: len(series.indicators.live["RSI 14"]) > 100, "the RSI over SOL's 5m candles"
            )
            assert engine.needs()["simulated"].series == {("SOL/USDT", "5m")}
            engine.load([])  # the alert deleted: its background candles stop
            feed.sync()
            assert feed._series == {}
        finally:
            await feed.close()
            await session.close()

    run(scenario, timeout=60)


def test_alert_symbols_beyond_the_cap_are_not_watched_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_feed, "MAX_TICKERS", 1)  # the cap is 50: two symbols show it here

    async def scenario() -> None:
        clock = ManualClock()
        session = MarketSession(market(clock), [ON_SCREEN])
        engine = AlertEngine(lambda alert, firing: None, clock=clock)
        feed = AlertFeed(engine, session, "simulated")

        def alert(symbol: str) -> Alert:
            return Alert(exchange="simulated", symbol=symbol, condition=PriceCross(level=1.0))

        engine.load([alert(ON_SCREEN), alert(ELSEWHERE), alert("SOL/USDT")])
        try:
            await session.start(ON_SCREEN, "1m")
            feed.sync()
            # the watchlist's symbol costs no watch of its own; of the other two, the first is watched
            assert session.alert_symbols == [ON_SCREEN, ELSEWHERE]
            assert set(feed.problems) == {"SOL/USDT"}
            assert "add it to the watchlist" in feed.problems["SOL/USDT"]
            engine.load([alert(ON_SCREEN), alert("SOL/USDT")])  # one gone: the other has room now
            feed.sync()
            assert session.alert_symbols == [ON_SCREEN, "SOL/USDT"] and feed.problems == {}
        finally:
            await feed.close()
            await session.close()

    run(scenario, timeout=60)


def test_on_the_loopback_exchange_a_reconnect_and_a_resync_neither_repeat_nor_fake_a_crossing() -> None:
    async def scenario() -> None:
        server = LoopbackBinance(seed=8, history_days=1, pump_interval=0.05)
        await server.start()
        source = CcxtSource("binance", **BINANCE.urls(server), options=BINANCE.options)
        session = MarketSession(source, [ON_SCREEN], max_history=300)
        fired: list[Firing] = []
        engine = AlertEngine(lambda alert, firing: fired.append(firing))
        feed = AlertFeed(engine, session, "binance")
        try:
            await session.start(ON_SCREEN, "1m")
            await wait_until(lambda: session.tape.total > 0, "the first trades")
            last = server.engine(ON_SCREEN).last_price
            level = round(last * 1.2, 2)  # far above the market: only a printed trade reaches it
            up = Alert(exchange="binance", symbol=ON_SCREEN, trigger=Trigger.EVERY,
                       condition=PriceCross(level=level, direction=Direction.UP))  # fmt: skip
            engine.load([up])
            feed.sync()
            await wait_until(
                lambda: engine._markets[("binance", ON_SCREEN)].prices.price is not None, "a reference price"
            )
            server.print_trade(ON_SCREEN, level * 1.01, 0.5, side="buy")
            await wait_until(lambda: len(fired) == 1, "the crossing to fire")
            assert fired[0].value == round(level * 1.01, 2) or abs(fired[0].value - level * 1.01) < 0.01
            # the market trades back below; then the socket drops and the book resyncs
            prices = engine._markets[("binance", ON_SCREEN)].prices
            await wait_until(
                lambda: prices.price not in (None, fired[0].value), "the price back in the market"
            )
            gaps: list[str] = []
            original_gap = engine.gap

            def gap(exchange: str, symbol: str, **kinds: bool) -> None:
                gaps.append(symbol)
                original_gap(exchange, symbol, **kinds)

            engine.gap = gap  # type: ignore[method-assign]
            server.close_sockets()
            server.depth_gap(ON_SCREEN)
            before = session.tape.total
            await wait_until(lambda: session.tape.total > before + 5, "trades again after the reconnect", 20)
            assert ON_SCREEN in gaps  # the feed told the engine its streams broke
            await asyncio.sleep(0.3)  # (the book resynced meanwhile; nothing must have fired)
            assert len(fired) == 1, [f.title for f in fired]
            # a new crossing after all that fires once more, not twice
            server.print_trade(ON_SCREEN, level * 1.02, 0.5, side="buy")
            await wait_until(lambda: len(fired) == 2, "the second crossing to fire")
            await asyncio.sleep(0.3)
            assert len(fired) == 2
        finally:
            await feed.close()
            await session.close()
            await server.stop()

    run(scenario, timeout=60)
