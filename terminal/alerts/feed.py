"""A window's market session feeding the alerts engine, on screen or not.

Prices: every trade of the symbol on screen and every ticker of a watched symbol go to
``engine.price`` as they arrive (the session's ``on_price`` hook). The alerts' symbols
get ticker watches beside the watchlist's, one per symbol, shared with it. Candle
conditions (indicators, volume) get a background candles-only session per (symbol,
timeframe) on the window's one connection, with a short history: at most
``MAX_SERIES`` of them per exchange (each is a stream the exchange counts).

A break in a symbol's streams (``on_gap``: a failure, a stale watch, a book resync)
tells the engine to take the next price as a new reference. The session's health goes
to the feed-down alerts.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from terminal.alerts.engine import AlertEngine, Needs
from terminal.errors import describe
from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from terminal.market.topics import Topic
from terminal.tasks import TaskGroup

log = logging.getLogger(__name__)

MAX_SERIES = 8  # background candle series per exchange
SERIES_HISTORY = 1_000  # candles a background series keeps: enough for any indicator's warm-up


class AlertFeed:
    def __init__(self, engine: AlertEngine, session: MarketSession, exchange: str) -> None:
        self.engine = engine
        self.session = session
        self.exchange = exchange
        self.problems: dict[str, str] = {}  # "symbol" or "symbol timeframe" -> why it is not watched
        self._series: dict[tuple[str, str], MarketSession] = {}
        self._tasks = TaskGroup("alert feed", logger=log)
        self._live = True
        session.on_price = partial(engine.price, exchange)  # the hot path: no frame of ours
        session.on_gap = self._gap
        session.subscribe(self._topics)

    def _gap(self, symbol: str) -> None:
        self.engine.gap(self.exchange, symbol)

    def _topics(self, topic: Topic) -> None:
        if topic & Topic.STATUS:
            live = self.session.health.state in (FeedState.LIVE, FeedState.CONNECTING)
            if live != self._live:
                self._live = live
                self.engine.feed(self.exchange, live)

    def sync(self) -> None:
        """Watch what the engine's enabled alerts need on this exchange, no more."""
        needs = self.engine.needs().get(self.exchange, Needs())
        symbols = sorted(needs.prices | {s for s, _tf in needs.series})
        self.problems = {
            s: f"{self.session.source.name} does not list {s}"
            for s in self.session.set_alert_symbols(symbols)
        }
        for key in list(self._series):
            if key not in needs.series:
                self._stop_series(key)
        for key in sorted(needs.series):
            if key in self._series:
                continue
            if len(self._series) >= MAX_SERIES:
                self.problems[" ".join(key)] = (
                    f"not watched: {MAX_SERIES} candle series per exchange at most (the exchange's limits)"
                )
                continue
            self._start_series(*key)

    def _start_series(self, symbol: str, timeframe: str) -> None:
        main = self.session
        series = MarketSession(
            main.source, [], main.book_depth, SERIES_HISTORY, main.silence_s, main.store, main.store_name,
            candles_only=True, owns_source=False,
        )  # fmt: skip
        self._series[(symbol, timeframe)] = series

        def changed(topic: Topic) -> None:
            if (
                topic & (Topic.CANDLES_LIVE | Topic.CANDLES_RELOAD | Topic.CANDLES_CORRECTED)
                and series.symbol
            ):
                now = main.source.milliseconds()
                self.engine.candles(
                    self.exchange, series.symbol, series.timeframe, series.candles, now_ms=now
                )

        series.subscribe(changed)
        series.on_gap = self._gap
        self._tasks.spawn(self._run(series, symbol, timeframe), name=f"alert candles {symbol} {timeframe}")

    async def _run(self, series: MarketSession, symbol: str, timeframe: str) -> None:
        try:
            await series.start(symbol, timeframe)
        except Exception as exc:  # noqa: BLE001 - an unknown symbol or timeframe: said in the panel
            self.problems[f"{symbol} {timeframe}"] = describe(exc)
            log.warning("alert candles %s %s: %s", symbol, timeframe, describe(exc))

    def _stop_series(self, key: tuple[str, str]) -> None:
        series = self._series.pop(key)
        self._tasks.spawn(series.close(), name=f"closing alert candles {' '.join(key)}")

    async def close(self) -> None:
        """Stop the background series and unhook from the session (before it closes)."""
        self.session.on_price = None
        self.session.on_gap = None
        self.session.unsubscribe(self._topics)
        closing = [s.close() for s in self._series.values()]
        self._series.clear()
        await asyncio.gather(*closing, return_exceptions=True)
        await self._tasks.close()
