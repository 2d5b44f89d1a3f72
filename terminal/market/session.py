"""A market session: one exchange source, its watchlist tickers, and the
symbol on screen (candles, order book, trades), kept current by watch loops.

Qt-free. Listeners get a ``Topic`` (``topics.py``) after each state change;
the UI bridge coalesces those to the frame rate. Every watch loop survives
errors: it reports them in ``health``, backs off with jitter, and tries
again (``watch_loops.py``). Downloads of the chart's history into the local store are the
``HistoryDownloads`` part (``session_history.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from terminal.errors import UnknownSymbolError, describe
from terminal.market.health import FeedHealth, FeedState
from terminal.market.history_loader import (
    HistoryStore,
    LoadedCandles,
    load_history,
)
from terminal.market.session_history import HISTORY, HistoryDownloads
from terminal.market.source import ExchangeSource
from terminal.market.sources import history_for
from terminal.market.topics import Listener, Topic
from terminal.market.watch_loops import Handled, WatchLoops
from terminal.marketdata.candles import CandleSeries, Change
from terminal.marketdata.orderbook import OrderBook
from terminal.marketdata.tape import TradeTape
from terminal.marketdata.timeframes import timeframe_ms
from terminal.tasks import TaskGroup

if TYPE_CHECKING:
    from terminal.market.history_sync import SyncProgress

log = logging.getLogger(__name__)

RECENT_TRADES = 200  # trades fetched to fill the tape when a symbol opens


async def _logged(work: Awaitable[object], what: str) -> None:
    """Run background ``work``; a failure is logged, not lost (nor raised into a loop)."""
    try:
        await work
    except Exception as exc:  # noqa: BLE001 - background work reports instead of raising
        log.warning("%s failed: %s", what, describe(exc, detailed=True))


SESSION = "session"  # health stream of the session itself (markets, close)
OPEN = "open"  # health stream of the last symbol/timeframe switch

#: the task slots of the symbol on screen: a switch stops them
SYMBOL_SLOTS = ("candles", "book", "trades", HISTORY)

SILENCE_S = 10.0  # a live order book with nothing for this long is stale


class MarketSession(HistoryDownloads):
    def __init__(
        self,
        source: ExchangeSource,
        watchlist: list[str],
        book_depth: int = 200,
        max_history: int = 50_000,
        silence_s: float = SILENCE_S,
        store: HistoryStore | None = None,
        store_name: str = "",
        *,
        candles_only: bool = False,
        owns_source: bool = True,
    ) -> None:
        self.source = source
        # Another chart of a window (``companion``): candles only, on the main session's source.
        self.candles_only = candles_only
        self.owns_source = owns_source
        self.watchlist = list(watchlist)
        self.book_depth = book_depth
        self.max_history = max_history
        self.silence_s = silence_s
        # Local history (terminal.store): read first, filled from the exchange,
        # live candles written as they close; ``store_name`` names the market in it.
        self.store = store
        self.store_name = store_name or source.id
        self.symbol = ""
        self.timeframe = "1m"
        self.candles = CandleSeries(timeframe_ms("1m"))
        self.book = OrderBook()
        self.book_nonce: int | None = None
        # Counts symbol/timeframe switches. A watch that was already waking up
        # when its loop was cancelled (the inner attempt is cancelled a step
        # later than its loop) must not write the old symbol into the new one's
        # book, tape or candles: each watch checks it is still for what is shown.
        self._shown = 0
        self.tape = TradeTape()
        self.tickers: dict[str, dict[str, Any]] = {}
        self.health = FeedHealth()
        self._loops = WatchLoops(self.health, self._notify, source, lambda: self._closed, self._gap)
        # Alerts (terminal.alerts.feed) hear every price of a watched market as it arrives,
        # (symbol, price, ms), and of each break in a symbol's streams; the symbols they watch
        # beside the watchlist get a ticker watch of their own.
        self.on_price: Callable[[str, float, int], None] | None = None
        self.on_gap: Callable[[str, str], None] | None = None  # (symbol, "trades" | "ticker" | "candles")
        self.alert_symbols: list[str] = []
        self._listeners: list[Listener] = []
        # Every task started, until it ends. Slots (keys): OPEN, the newest open; per stream
        # of the symbol on screen and its HISTORY download, stopped by a switch; a ticker's.
        # A task that fails is logged and marked FAILED in health under its name.
        self._tasks = TaskGroup("market session", on_error=self._task_failed, logger=log)
        self._streams_shown: tuple[str, ...] = ()  # the health names of the symbol's loops
        self._open_task: asyncio.Task[None] | None = None
        self.requested = ("", "1m")  # the newest (symbol, timeframe) asked for
        # When the exchange lacks the chart's timeframe, candles of a finer one
        # are watched and folded into the chart's live candle.
        self._fine: CandleSeries | None = None
        self._fine_tf = ""
        self._closed = False
        # History downloads into the store, one at a time per session: filling
        # the chart's window on open, or older candles when the user scrolls back.
        self.sync_progress: SyncProgress | None = None
        self.history_start_reached = False  # the exchange has nothing older than the chart

    @classmethod
    def on(
        cls, source: ExchangeSource, exchange: str, watchlist: list[str], store: HistoryStore | None
    ) -> MarketSession:
        """The session of a window on ``exchange`` ("simulated" or an account): that market's
        history limit, its local history (if any) kept in ``store`` under its name."""
        return cls(source, watchlist, max_history=history_for(exchange), store=store, store_name=exchange)

    def companion(self) -> MarketSession:
        """The session of another chart in the same window: this one's source (one
        connection, its markets loaded once) and history; candles only (the book, the
        tape and the watchlist are this session's). Closing it leaves the source open:
        close it before this one."""
        return MarketSession(
            self.source, [], self.book_depth, self.max_history, self.silence_s, self.store, self.store_name,
            candles_only=True, owns_source=False,
        )  # fmt: skip

    # -- listeners -------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """``listener`` hears no more (a view that goes before the session does)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _gap(self, carries: tuple[str, str]) -> None:
        kind, symbol = carries
        if self.on_gap is not None and symbol and kind in ("trades", "ticker", "candles"):
            try:
                self.on_gap(symbol, kind)
            except Exception:  # a listener's fault must not stop the feed
                log.exception("The alerts could not take a break in %s's %s", symbol, kind)

    def _notify(self, topic: Topic) -> None:
        for listener in self._listeners:
            listener(topic)

    @property
    def markets(self) -> Mapping[str, dict[str, Any]]:
        return self.source.markets

    # -- lifecycle -------------------------------------------------------------
    async def start(self, symbol: str, timeframe: str) -> None:
        self.health.set(SESSION, FeedState.CONNECTING)
        self._notify(Topic.STATUS)
        await self._loops.retrying(SESSION, lambda: self.source.load_markets())
        self.health.message(SESSION)
        if self.candles_only:
            if symbol not in self.source.markets:
                raise UnknownSymbolError(f"{self.source.name} does not list {symbol}.")
            self._notify(Topic.MARKETS)
            await asyncio.wait([self.request_open(symbol, timeframe)])
            return
        self.watchlist = self._listed(self.watchlist)
        self._notify(Topic.MARKETS)
        if symbol not in self.source.markets:
            log.warning("%s is not listed on %s; showing %s.", symbol, self.source.name, self.watchlist[0])
            symbol = self.watchlist[0]
        # The chart first: it is what the user waits for (the watchlist's prices follow a
        # moment later). Through request_open, so that a switch the user makes meanwhile
        # cancels this first load instead of racing it.
        await asyncio.wait([self.request_open(symbol, timeframe)])
        await self._load_tickers()
        self.alert_symbols = [s for s in self.alert_symbols if s in self.source.markets]
        for s in [*self.watchlist, *self.alert_symbols]:
            self._start_ticker(s)

    async def close(self) -> None:
        """Stop every task the session started and close the source. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._tasks.close()
        if self.owns_source:
            await self.source.close()
        self.health.set(SESSION, FeedState.STOPPED)
        self._notify(Topic.STATUS)

    # -- what is on screen -----------------------------------------------------
    def request_open(
        self, symbol: str, timeframe: str | None = None, *, reload: bool = False
    ) -> asyncio.Task[None]:
        """Switch symbol and/or timeframe without waiting. The newest request
        wins: it cancels one still loading; repeating the current or pending
        request does nothing (a failed one is tried again), unless ``reload``."""
        request = (symbol, timeframe or self.requested[1])
        current = self._open_task
        if request == self.requested and current is not None and not reload:
            failed = current.done() and not current.cancelled() and current.exception() is not None
            if not failed:
                return current
        self.requested = request
        opening = self._loops.retrying(OPEN, lambda: self.open(*request))
        self._open_task = self._tasks.spawn(opening, name=OPEN, key=OPEN)  # cancels one still loading
        return self._open_task

    def _task_failed(self, exc: BaseException, name: str) -> None:
        """A task of the session failed (the group logged it): its stream shows why. Only an
        open fails by design (the loops and downloads report their own failures)."""
        self.health.set(name, FeedState.FAILED, describe(exc))
        self._notify(Topic.STATUS)

    async def open(self, symbol: str, timeframe: str) -> None:
        """Show ``symbol`` at ``timeframe``: history first, then live updates.

        Everything is loaded before anything on screen changes, and the swap
        happens with no await in between: a failed or cancelled open leaves
        the previous symbol running as it was.
        """
        timeframe_ms(timeframe)  # unknown timeframes fail before anything is loaded
        if symbol not in self.source.markets:
            raise UnknownSymbolError(f"{self.source.name} does not list {symbol}.")
        symbol_changed = symbol != self.symbol
        if symbol_changed and not self.candles_only:  # the tape's trades come while the candles load
            (candles, fine, fine_tf), recent = await asyncio.gather(
                self._load_history(symbol, timeframe), self._fetch_recent_trades(symbol)
            )
        else:
            (candles, fine, fine_tf), recent = await self._load_history(symbol, timeframe), []

        old = self._stop_symbol_tasks()
        self._shown += 1
        self.symbol, self.timeframe = symbol, timeframe
        self.candles, self._fine, self._fine_tf = candles, fine, fine_tf
        topics = Topic.CANDLES_RELOAD | Topic.STATUS
        if symbol_changed and not self.candles_only:
            self.book.clear()
            self.tape.clear()
            self.tape.extend(recent)
            topics |= Topic.BOOK | Topic.TRADES
        self.health.forget(OPEN)
        self._streams_shown = (f"{timeframe} candles", "order book", "trades")
        candle_s, book_s, trade_s = self._streams_shown  # the health names
        self._spawn(candle_s, self._watch_candles, self.silence_s * 3, ("candles", symbol), key="candles")
        if self.candles_only:
            self._streams_shown = (candle_s,)
        else:
            self._spawn(book_s, self._watch_book, self.silence_s, ("book", symbol), key="book")
            self._spawn(
                trade_s, self._watch_trades, carries=("trades", symbol), key="trades"
            )  # quiet is no fault
        self.history_start_reached = False
        self.sync_progress = None
        if self.store is not None:
            self._start_history(self._fill_window(), "downloading history")
        log.info("%s %s on %s: %d candles on the chart", symbol, timeframe, self.source.name, len(candles))
        self._notify(topics | Topic.SYNC)
        await asyncio.gather(*old, return_exceptions=True)

    def _stop_symbol_tasks(self) -> list[asyncio.Task[None]]:
        """Cancel the symbol's loops and download (returned, to be awaited) and drop their health."""
        tasks = [task for slot in SYMBOL_SLOTS for task in self._tasks.cancel(slot)]
        for name in self._streams_shown:
            self._loops.forget(name)
        return tasks

    async def _load_history(self, symbol: str, timeframe: str) -> LoadedCandles:
        loaded = await load_history(
            self.source, symbol, timeframe, self.max_history, self.store, self.store_name
        )
        self.health.message("history")
        return loaded

    # -- watch loops -----------------------------------------------------------
    def _spawn(
        self,
        name: str,
        body: Callable[[], Awaitable[Handled]],
        silence: float | None = None,
        carries: tuple[str, str] = ("", ""),
        *,
        key: Hashable,
    ) -> asyncio.Task[None]:
        """A watch loop named ``name`` (also its stream in ``health``), with a
        silence watchdog of ``silence`` seconds for streams that must not go
        quiet; ``carries`` is its (kind, symbol), so that a reconnect drops
        only its connection; ``key`` is its task slot."""
        work = self._loops.forever(name, body, silence, carries)
        return self._tasks.spawn(work, name=name, key=key)

    async def _watch_candles(self) -> Handled:
        fine, shown = self._fine, self._shown
        if fine is None:
            rows = await self.source.watch_ohlcv(self.symbol, self.timeframe)
            if shown != self._shown:
                return 0, Topic(0)
            change = stored_change = self.candles.upsert_rows(rows)
        else:
            rows = await self.source.watch_ohlcv(self.symbol, self._fine_tf)
            if shown != self._shown:
                return 0, Topic(0)
            stored_change = fine.upsert_rows(rows)
            change = self._fold_fine(fine, rows)
        if stored_change is Change.APPEND and self.store is not None:
            self._persist_closed(fine if fine is not None else self.candles)
        if change is Change.HISTORY:
            return 1, Topic.CANDLES_CORRECTED
        return 1, (Topic(0) if change is Change.NONE else Topic.CANDLES_LIVE)

    def _persist_closed(self, series: CandleSeries) -> None:
        """A new candle opened, so the one before it closed: write it to disk
        (in a worker thread; the session waits for it when it closes)."""
        store = self.store
        if store is None or len(series) < 2:
            return
        closed = series.copy(len(series) - 2, len(series) - 1)
        tf = self._fine_tf if series is self._fine else self.timeframe
        write = asyncio.to_thread(store.write, self.store_name, self.symbol, tf, closed)
        self._tasks.spawn(_logged(write, "saving a closed candle"), name="saving a closed candle")

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
        shown = self._shown
        book = await self.source.watch_order_book(self.symbol, self.book_depth)
        if shown != self._shown:
            return 0, Topic(0)
        bids, asks = book.get("bids") or [], book.get("asks") or []
        self.book.replace(bids, asks, book.get("timestamp"), depth=self.book_depth)
        self.book_nonce = book.get("nonce")  # the exchange's sequence number of what is shown
        return 1, Topic.BOOK

    async def _watch_trades(self) -> Handled:
        shown = self._shown
        trades = await self.source.watch_trades(self.symbol)
        if shown != self._shown:
            return 0, Topic(0)
        added = self.tape.extend(trades)
        if self.on_price is not None and added:
            # every trade of the batch, in order: one seen before changes nothing (the same
            # price again, or older than the last: dropped by the alerts)
            self._tell_prices((trade.get("price"), trade.get("timestamp")) for trade in trades)
        return added, (Topic.TRADES if added else Topic(0))

    def _tell_prices(self, prices: Iterable[tuple[object, object]], symbol: str = "") -> None:
        """Each (price, ms) that is a number to ``on_price`` (the alerts): a listener's fault is
        logged and must not stop the feed."""
        hook = self.on_price
        if hook is None:
            return
        symbol = symbol or self.symbol
        try:
            for price, ts in prices:
                if isinstance(price, int | float) and isinstance(ts, int | float):
                    hook(symbol, float(price), int(ts))
        except Exception:
            log.exception("The alerts could not take a price of %s", symbol)

    async def _fetch_recent_trades(self, symbol: str) -> list[dict[str, Any]]:
        """The latest trades, so the tape does not open empty (optional: on
        failure the live stream fills it)."""
        if not self.source.has.get("fetchTrades"):
            return []
        try:
            return await self.source.fetch_trades(symbol, limit=RECENT_TRADES)
        except Exception as exc:  # noqa: BLE001 - optional data; the failure is logged
            log.warning("Could not fetch recent %s trades: %s", symbol, describe(exc))
            return []

    async def _load_tickers(self) -> None:
        try:
            tickers = await self.source.fetch_tickers(self.watchlist)
        except Exception as exc:  # noqa: BLE001 - tickers are optional at start; watch loops retry
            log.warning("Could not fetch tickers: %s", exc)
            return
        self.tickers.update({s: t for s, t in tickers.items() if s in self.watchlist})
        self._notify(Topic.TICKERS)

    def _listed(self, symbols: list[str]) -> list[str]:
        """The watchlist this exchange can show: the symbols it lists, else its first five."""
        listed = [s for s in symbols if s in self.source.markets]
        return listed or list(self.source.markets)[:5]

    def set_watchlist(self, symbols: list[str]) -> None:
        """The user changed the watchlist: start the tickers of the symbols added,
        stop those of the symbols removed (before the markets are loaded, ``start``
        reads the new list)."""
        if self._closed:
            return
        if not self.source.markets:
            self.watchlist = list(symbols)
            return
        old, self.watchlist = self.watchlist, self._listed(symbols)
        self._retick(old + self.alert_symbols)
        self._notify(Topic.MARKETS | Topic.TICKERS | Topic.STATUS)

    def set_alert_symbols(self, symbols: list[str]) -> list[str]:
        """Watch the tickers of ``symbols`` for alerts too (one watch per symbol, shared with
        the watchlist's); returns those this exchange does not list."""
        if self._closed or self.candles_only:
            return []
        if not self.source.markets:  # start() begins them once the markets are loaded
            self.alert_symbols = list(symbols)
            return []
        unknown = [s for s in symbols if s not in self.source.markets]
        old, self.alert_symbols = (
            self.watchlist + self.alert_symbols,
            [s for s in symbols if s not in unknown],
        )
        self._retick(old)
        return unknown

    def _retick(self, old: list[str]) -> None:
        """Ticker watches for the watchlist and the alerts' symbols: start the new, stop the gone."""
        wanted = set(self.watchlist) | set(self.alert_symbols)
        for symbol in set(old) - wanted:
            self._tasks.cancel(("ticker", symbol))
            self._loops.forget(f"ticker {symbol}")
            self.tickers.pop(symbol, None)
        for symbol in [*self.watchlist, *self.alert_symbols]:
            self._start_ticker(symbol)

    def _start_ticker(self, symbol: str) -> None:
        if self._tasks.running(("ticker", symbol)) is not None:
            return

        async def body() -> Handled:
            ticker = self.tickers[symbol] = await self.source.watch_ticker(symbol)
            # the symbol on screen has its trades: a ticker's last price lags them, and would
            # read as the price going back
            if self.on_price is not None and symbol != self.symbol:
                ts = ticker.get("timestamp")
                self._tell_prices(
                    [(ticker.get("last"), ts if ts is not None else self.source.milliseconds())], symbol
                )
            return 1, Topic.TICKERS

        self._spawn(f"ticker {symbol}", body, carries=("ticker", symbol), key=("ticker", symbol))
