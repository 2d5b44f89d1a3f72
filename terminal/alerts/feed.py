"""A window's market session feeding the alerts engine, on screen or not.

Prices: every trade of the symbol on screen and every ticker of a watched symbol go to
the engine (the session's ``on_price`` hook; queued, below). The alerts' symbols
get ticker watches beside the watchlist's, one per symbol, shared with it. Candle
conditions (indicators, volume) get a background candles-only session per (symbol,
timeframe) on the window's one connection, with a short history: at most
``MAX_SERIES`` of them per exchange (each is a stream the exchange counts).

A break in a symbol's streams (``on_gap``: a failure, a stale watch, a book resync)
tells the engine to take the next price as a new reference. The session's health goes
to the feed-down alerts.

Prices are queued as they come, per symbol, and evaluated together every ``FLUSH_S``: at
thousands a second, one message at a time found the engine's code and data cold in the
CPU's caches on every call, between the loop's other work (5 µs a price against 1 in a
run of them). Each symbol's prices go to the engine in the order they came (all symbols
in one call, ``engine.price_runs``); what is left is a cost per symbol and evaluation
(its state cold in the caches again, a few µs), so evaluations are few: 25 a second at
40 ms, which adds at most 40 ms to the 100 ms allowed from a crossing to its
notification. In the alerts benchmark (1,000 alerts, 5,000 prices a second) the
evaluation took 22-26 ms of CPU a second at 20 ms and 14-19 at 40 ms, and the p99 from a
crossing to its notification was 22 and 42 ms (7 ms at 5 ms); a notification 40 ms later
is nothing a trader sees, and the issue's two marks (20 ms/s, 100 ms) both hold at 40.
The order across symbols is not kept, and need not be: no alert watches two
markets, so each fires as it would have; only the firings of one flush may reach the
history in another order across symbols. A gap flushes what came before it first, so the
order within a symbol holds.
"""

from __future__ import annotations

import asyncio
import logging

from terminal.alerts.engine import AlertEngine, Needs
from terminal.errors import describe
from terminal.market.health import FeedState
from terminal.market.session import MarketSession
from terminal.market.topics import Topic
from terminal.tasks import TaskGroup

log = logging.getLogger(__name__)

FLUSH_S = 0.04  # queued prices are evaluated this often
MAX_SERIES = 8  # background candle series per exchange
# ticker watches per exchange for alert symbols beyond the watchlist's and the chart's (each a
# stream the exchange counts: Binance takes 1,024 on a connection, OKX fewer)
MAX_TICKERS = 50
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
        # per symbol, the prices and their times (ms) not yet evaluated, in the order they came
        self._pending: dict[str, tuple[list[float], list[int]]] = {}
        self._flushing: asyncio.TimerHandle | None = None
        session.on_price = self._queue
        session.on_gap = self._gap
        session.subscribe(self._topics)

    def _queue(self, symbol: str, price: float, ts_ms: int) -> None:
        queued = self._pending.get(symbol)
        if queued is not None:  # the usual: a flush is due already
            queued[0].append(price)
            queued[1].append(ts_ms)
            return
        self._pending[symbol] = ([price], [ts_ms])
        if FLUSH_S <= 0:  # one at a time (the benchmark's comparison)
            self.flush()
        elif self._flushing is None:
            self._flushing = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        """Evaluate the prices queued so far: each symbol's in the order they came."""
        if self._flushing is not None:
            self._flushing.cancel()
            self._flushing = None
        pending, self._pending = self._pending, {}
        if pending:
            self.engine.price_runs(self.exchange, pending)

    def _gap(self, symbol: str, kind: str) -> None:
        """A stream of ``symbol`` broke: its prices (trades, ticker) or its candles."""
        self.flush()  # what came before the break, before it
        prices = kind != "candles"
        self.engine.gap(self.exchange, symbol, prices=prices, candles=not prices)

    def _topics(self, topic: Topic) -> None:
        if topic & Topic.MARKETS:  # the markets loaded: the alerts' symbols can be checked now
            self.sync()
        if topic & Topic.STATUS:
            live = self.session.health.state in (FeedState.LIVE, FeedState.CONNECTING)
            if live != self._live:
                self._live = live
                self.engine.feed(self.exchange, live)

    def sync(self) -> None:
        """Watch what the engine's enabled alerts need on this exchange, no more."""
        needs = self.engine.needs().get(self.exchange, Needs())
        symbols = sorted(needs.prices | {s for s, _tf in needs.series})
        watched = {*self.session.watchlist, self.session.symbol}
        over = [s for s in symbols if s not in watched][MAX_TICKERS:]
        self.problems = {
            s: f"{self.session.source.name} does not list {s}"
            for s in self.session.set_alert_symbols([s for s in symbols if s not in over])
        }
        for s in over:
            self.problems[s] = (
                f"not watched: alerts watch {MAX_TICKERS} symbols per exchange at most beside the "
                "watchlist (the exchange's limits); add it to the watchlist to watch it"
            )
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
        series.on_gap = lambda symbol, _kind: self._gap(symbol, "candles")
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
        self.flush()
        # the next price of these markets, whenever a window shows them again, is a reference:
        # the market moved meanwhile, and that is no crossing
        needs = self.engine.needs().get(self.exchange, Needs())
        for symbol in needs.prices | {s for s, _tf in needs.series}:
            self.engine.gap(self.exchange, symbol)
        self.session.unsubscribe(self._topics)
        closing = [s.close() for s in self._series.values()]
        self._series.clear()
        await asyncio.gather(*closing, return_exceptions=True)
        await self._tasks.close()
