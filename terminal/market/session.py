"""A market session: one exchange source, its watchlist tickers, and the
symbol on screen (candles, order book, trades), kept current by watch loops.

Qt-free. Listeners get a ``Topic`` after each state change; the UI bridge
coalesces those to the frame rate. Every watch loop survives errors: it
reports them in ``health``, backs off with jitter, and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import Flag, auto
from functools import partial
from typing import Any

import numpy as np

from terminal.errors import ExchangeClosedError, TerminalError, UnknownSymbolError, UnsupportedTimeframeError
from terminal.market.backoff import Backoff
from terminal.market.candles import OHLCV, CandleSeries, Change
from terminal.market.health import FeedHealth, FeedState
from terminal.market.orderbook import OrderBook
from terminal.market.resample import resample
from terminal.market.source import ExchangeSource
from terminal.market.tape import TradeTape
from terminal.market.timeframes import source_timeframe, timeframe_ms

log = logging.getLogger(__name__)

OHLCV_PAGE = 1000
RECENT_TRADES = 200  # trades fetched to fill the tape when a symbol opens
MAX_FINE_CANDLES = 500_000  # cap when building a timeframe from a finer one


class Topic(Flag):
    CANDLES_LIVE = auto()  # the newest candle changed, or one was appended
    CANDLES_RELOAD = auto()  # the whole series changed (symbol, timeframe, history)
    BOOK = auto()
    TRADES = auto()
    TICKERS = auto()
    STATUS = auto()
    MARKETS = auto()


Listener = Callable[[Topic], None]
Handled = tuple[int, Topic]  # what one pass of a watch loop did: messages handled, topics changed

SESSION = "session"  # health stream of the session itself (markets, close)
OPEN = "open"  # health stream of the last symbol/timeframe switch

#: Errors that retrying cannot fix: the loop stops and says why.
PERMANENT_ERRORS: tuple[type[TerminalError], ...] = (UnknownSymbolError, UnsupportedTimeframeError)


class MarketSession:
    def __init__(
        self,
        source: ExchangeSource,
        watchlist: list[str],
        book_depth: int = 200,
        max_history: int = 50_000,
    ) -> None:
        self.source = source
        self.watchlist = list(watchlist)
        self.book_depth = book_depth
        self.max_history = max_history
        self.symbol = ""
        self.timeframe = "1m"
        self.candles = CandleSeries(timeframe_ms("1m"))
        self.book = OrderBook()
        self.tape = TradeTape()
        self.tickers: dict[str, dict[str, Any]] = {}
        self.health = FeedHealth()
        self._listeners: list[Listener] = []
        self._symbol_tasks: list[asyncio.Task[None]] = []
        self._ticker_tasks: dict[str, asyncio.Task[None]] = {}
        self._open_task: asyncio.Task[None] | None = None
        # When the exchange lacks the chart's timeframe, candles of a finer one
        # are watched and folded into the chart's live candle.
        self._fine: CandleSeries | None = None
        self._fine_tf = ""
        self._closed = False

    # -- listeners -------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self, topic: Topic) -> None:
        for listener in self._listeners:
            listener(topic)

    @property
    def markets(self) -> dict[str, dict[str, Any]]:
        return self.source.markets

    # -- lifecycle -------------------------------------------------------------
    async def start(self, symbol: str, timeframe: str) -> None:
        self.health.set(SESSION, FeedState.CONNECTING)
        self._notify(Topic.STATUS)
        await self.source.load_markets()
        self.health.message(SESSION)
        self.watchlist = [s for s in self.watchlist if s in self.source.markets] or list(self.source.markets)[
            :5
        ]
        self._notify(Topic.MARKETS)
        await self._load_tickers()
        for s in self.watchlist:
            self._start_ticker(s)
        if symbol not in self.source.markets:
            log.warning(
                "%s is not listed on %s; showing %s instead.", symbol, self.source.name, self.watchlist[0]
            )
            symbol = self.watchlist[0]
        await self.open(symbol, timeframe)

    async def close(self) -> None:
        """Stop every loop and close the source. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        tasks = [*self._symbol_tasks, *self._ticker_tasks.values()]
        if self._open_task is not None:
            tasks.append(self._open_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._symbol_tasks.clear()
        self._ticker_tasks.clear()
        await self.source.close()
        self.health.set(SESSION, FeedState.STOPPED)
        self._notify(Topic.STATUS)

    # -- what is on screen -----------------------------------------------------
    def request_open(self, symbol: str, timeframe: str | None = None) -> asyncio.Task[None]:
        """Switch symbol and/or timeframe without waiting; a newer request
        cancels one still loading."""
        if self._open_task is not None and not self._open_task.done():
            self._open_task.cancel()
        task = asyncio.get_running_loop().create_task(self.open(symbol, timeframe or self.timeframe))
        task.add_done_callback(partial(self._report_open_failure, symbol))
        self._open_task = task
        return task

    def _report_open_failure(self, symbol: str, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            message = exc.user_message() if isinstance(exc, TerminalError) else f"{type(exc).__name__}: {exc}"
            log.error("Could not open %s: %s", symbol, message)
            self.health.set(OPEN, FeedState.FAILED, message)
            self._notify(Topic.STATUS)

    async def open(self, symbol: str, timeframe: str) -> None:
        """Show ``symbol`` at ``timeframe``: history first, then live updates."""
        timeframe_ms(timeframe)  # unknown timeframes fail before anything is torn down
        if symbol not in self.source.markets:
            raise UnknownSymbolError(f"{self.source.name} does not list {symbol}.")
        symbol_changed = symbol != self.symbol
        await self._stop_symbol_tasks()
        self.symbol, self.timeframe = symbol, timeframe
        if symbol_changed:
            self.book.clear()
            self.tape.clear()
            self._notify(Topic.BOOK | Topic.TRADES)
        await self._load_history()
        if symbol_changed:
            await self._load_recent_trades()
        self.health.forget(OPEN)
        self._symbol_tasks = [
            self._spawn(f"{timeframe} candles", self._watch_candles),
            self._spawn("order book", self._watch_book),
            self._spawn("trades", self._watch_trades),
        ]

    async def _stop_symbol_tasks(self) -> None:
        tasks, self._symbol_tasks = self._symbol_tasks, []
        for task in tasks:
            task.cancel()
            self.health.forget(task.get_name())
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _load_history(self) -> None:
        fetch_tf = source_timeframe(self.timeframe, self.source.timeframes)
        fetch_ms = timeframe_ms(fetch_tf)
        target_ms = timeframe_ms(self.timeframe)
        wanted = min(self.max_history * (target_ms // fetch_ms), MAX_FINE_CANDLES)
        since = self.source.milliseconds() - wanted * fetch_ms
        rows: list[list[float]] = []
        while len(rows) < wanted:
            page = await self.source.fetch_ohlcv(self.symbol, fetch_tf, since=since, limit=OHLCV_PAGE)
            if not page:
                break
            if rows and page[0][0] <= rows[-1][0]:
                page = [r for r in page if r[0] > rows[-1][0]]
                if not page:
                    break
            rows.extend(page)
            since = int(page[-1][0]) + fetch_ms
            if len(page) < OHLCV_PAGE // 2:
                break  # a short page: we reached the newest candle
        data = OHLCV.from_rows(rows)
        self.health.message("history")
        if fetch_tf != self.timeframe:
            self._fine, self._fine_tf = CandleSeries(fetch_ms), fetch_tf
            self._fine.replace(data)
            data = resample(data, target_ms)
        else:
            self._fine = None
        self.candles = CandleSeries(target_ms)
        self.candles.replace(data)
        log.info("%s %s: %d candles loaded from %s", self.symbol, self.timeframe, len(data), self.source.name)
        self._notify(Topic.CANDLES_RELOAD | Topic.STATUS)

    # -- watch loops -----------------------------------------------------------
    def _spawn(self, name: str, body: Callable[[], Awaitable[Handled]]) -> asyncio.Task[None]:
        """A watch loop named ``name``; the name is also its stream in ``health``."""
        return asyncio.get_running_loop().create_task(self._forever(name, body), name=name)

    async def _forever(self, name: str, body: Callable[[], Awaitable[Handled]]) -> None:
        """Run ``body`` again and again; on failure report, back off, retry.
        Health is marked before listeners hear of the change, so they see it."""
        backoff = Backoff()
        while not self._closed:
            try:
                count, topic = await body()
                backoff.reset()
                if count:
                    self.health.message(name, count)
                if topic:
                    self._notify(topic)
            except asyncio.CancelledError:
                raise
            except ExchangeClosedError:
                return  # closed on purpose: nothing to report
            except PERMANENT_ERRORS as exc:
                self.health.set(name, FeedState.FAILED, exc.user_message())
                log.error("%s stopped: %s", name, exc.user_message())
                self._notify(Topic.STATUS)
                return
            except Exception as exc:  # noqa: BLE001 - any exchange failure: report, back off, retry
                delay = backoff.next()
                reason = f"{type(exc).__name__}: {exc}"
                self.health.set(name, FeedState.RECONNECTING, reason)
                log.warning("%s failed (%s); retrying in %.1f s", name, reason, delay)
                self._notify(Topic.STATUS)
                await asyncio.sleep(delay)

    async def _watch_candles(self) -> Handled:
        fine = self._fine
        if fine is None:
            rows = await self.source.watch_ohlcv(self.symbol, self.timeframe)
            change = self.candles.upsert_rows(rows)
        else:
            rows = await self.source.watch_ohlcv(self.symbol, self._fine_tf)
            fine.upsert_rows(rows)
            change = self._fold_fine(fine, rows)
        if change is Change.HISTORY:
            return 1, Topic.CANDLES_RELOAD
        return 1, (Topic(0) if change is Change.NONE else Topic.CANDLES_LIVE)

    def _fold_fine(self, fine: CandleSeries, rows: list[list[float]]) -> Change:
        """Rebuild the chart candles that the finer candles in ``rows`` fall in."""
        target = self.candles.timeframe_ms
        widest = Change.NONE
        for bucket in sorted({int(r[0]) - int(r[0]) % target for r in rows if r[0] is not None}):
            lo = int(np.searchsorted(fine.ts, bucket))
            hi = int(np.searchsorted(fine.ts, bucket + target))
            if hi <= lo:
                continue
            change = self.candles.upsert(
                bucket,
                float(fine.open[lo]),
                float(fine.high[lo:hi].max()),
                float(fine.low[lo:hi].min()),
                float(fine.close[hi - 1]),
                float(fine.volume[lo:hi].sum()),
            )
            widest = max(widest, change, key=lambda c: c.value)
        return widest

    async def _watch_book(self) -> Handled:
        book = await self.source.watch_order_book(self.symbol, self.book_depth)
        bids, asks = book.get("bids") or [], book.get("asks") or []
        self.book.replace(bids, asks, book.get("timestamp"), depth=self.book_depth)
        return 1, Topic.BOOK

    async def _watch_trades(self) -> Handled:
        trades = await self.source.watch_trades(self.symbol)
        added = self.tape.extend(trades)
        return added, (Topic.TRADES if added else Topic(0))

    async def _load_recent_trades(self) -> None:
        """Fill the tape with the latest trades, so it is not empty until the next trade."""
        if not self.source.has.get("fetchTrades"):
            return
        try:
            trades = await self.source.fetch_trades(self.symbol, limit=RECENT_TRADES)
        except Exception as exc:  # noqa: BLE001 - optional: the live stream fills the tape anyway
            log.warning("Could not fetch recent %s trades: %s", self.symbol, exc)
            return
        if self.tape.extend(trades):
            self._notify(Topic.TRADES)

    async def _load_tickers(self) -> None:
        try:
            tickers = await self.source.fetch_tickers(self.watchlist)
        except Exception as exc:  # noqa: BLE001 - tickers are optional at start; watch loops retry
            log.warning("Could not fetch tickers: %s", exc)
            return
        self.tickers.update({s: t for s, t in tickers.items() if s in self.watchlist})
        self._notify(Topic.TICKERS)

    def _start_ticker(self, symbol: str) -> None:
        if symbol in self._ticker_tasks:
            return

        async def body() -> Handled:
            self.tickers[symbol] = await self.source.watch_ticker(symbol)
            return 1, Topic.TICKERS

        self._ticker_tasks[symbol] = self._spawn(f"ticker {symbol}", body)
