"""A paper account kept in step with the live market.

``PaperFeed`` listens to the session (``MarketView``) and hands the account
what moves it: the tape's new trades (``on_trades``: resting limits fill,
stops trigger), the book's mid (``mark``, for PnL of the symbol on screen),
and the watchlist tickers' mids for positions in other symbols. Orders
resting on symbols not on screen are fed by ``OffscreenTradePoll`` while
they are open.

The session calls its listeners on the GUI thread, once per batch of
messages: the feed reads only the tape rows that are new (``TapeReader``)
and never raises into the session's watch loop (a failure is logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from terminal.market.topics import Topic
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.money import optional_decimal, to_decimal
from terminal.trading.orders import Order
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.market_view import MarketView, TapeReader, keyed_trades
from terminal.trading.paper.offscreen_trades import BOOK_DEPTH, OffscreenTradePoll, Watch

log = logging.getLogger(__name__)

#: an off-screen symbol's poll starts no further back than this (a terminal
#: that was closed does not replay the trades it missed: paper fills are best effort)
LOOKBACK_MS = 60_000


class PaperFeed:
    def __init__(
        self, market: MarketView, account: PaperAccount, clock: Callable[[], int], poll_interval: float
    ) -> None:
        self.market = market  # the first view: the markets, the source and its REST calls
        self.account = account
        self.clock = clock
        # Every view that feeds the account (windows on the same exchange), each read on its own.
        self._views: dict[int, _View] = {}
        self._newest_fed: dict[str, int] = {}  # symbol -> newest trade time fed to the account
        self._poll = OffscreenTradePoll(
            market.source, self._offscreen_watches, self._feed_polled, poll_interval
        )
        self._running = False
        self.add_market(market)

    @property
    def views(self) -> list[MarketView]:
        return [v.market for v in self._views.values()]

    def add_market(self, market: MarketView) -> None:
        """Another window's session on the same exchange feeds the account too (the
        account drops a trade it already took, so two views of one symbol fill once)."""
        if id(market) in self._views:
            return
        view = self._views[id(market)] = _View(market)
        market.subscribe(lambda topic: self._on_view(view, topic))
        if self._running:
            self._on_view(view, Topic.TRADES | Topic.BOOK | Topic.TICKERS)

    def remove_market(self, market: MarketView) -> None:
        """``market`` feeds no more (its window closed or switched); the first view
        left becomes the one REST calls go through."""
        view = self._views.pop(id(market), None)
        if view is not None:
            view.active = False
        if market is self.market and self._views:
            self.market = next(iter(self._views.values())).market
            self._poll.source = self.market.source

    def start(self) -> None:
        """Listen to the market, take what it has already, start the off-screen poll."""
        if self._running:
            return
        self._running = True
        for view in list(self._views.values()):
            self._on_view(view, Topic.TRADES | Topic.BOOK | Topic.TICKERS)
        self._poll.start()

    async def stop(self) -> None:
        """Stop the poll; the sessions may go on notifying, which is ignored from now on."""
        self._running = False
        for view in self._views.values():
            view.active = False
        await self._poll.stop()

    # -- the symbols on screen -----------------------------------------------------------------
    def on_topic(self, topic: Topic) -> None:
        """A change of the first view (its symbol, tape, book or tickers)."""
        view = self._views.get(id(self.market))
        if view is not None:
            self._on_view(view, topic)

    def _on_view(self, view: _View, topic: Topic) -> None:
        if not self._running or not view.active:
            return
        market = view.market
        try:
            symbol = market.symbol
            if topic & Topic.TRADES:
                trades = view.tape.new_trades(symbol, market.tape)
                if trades:
                    self._feed(symbol, trades, market.book)
            if topic & Topic.BOOK and symbol:
                mid = market.book.mid
                if mid is not None:
                    self.account.mark(symbol, to_decimal(mid))
            if topic & Topic.TICKERS:
                self._mark_from_tickers(market)
        except Exception:  # a bug here must not stop the market feed
            log.exception("The paper account could not take a market update.")

    def _on_screen(self, symbol: str) -> MarketView | None:
        """The view showing ``symbol`` live, if any."""
        for view in self._views.values():
            if view.market.symbol == symbol and symbol:
                return view.market
        return None

    def _feed(self, symbol: str, trades: list[dict[str, Any]], book: OrderBook | None) -> None:
        """New trades of ``symbol`` (keyed by ``trade_key``) to the account."""
        if not self._running or not trades:
            return
        shown = self._on_screen(symbol)
        if shown is not None:
            book = shown.book  # it went on screen while the poll waited: the live book is better
        newest = max(int(t["timestamp"]) for t in trades)
        self._newest_fed[symbol] = max(newest, self._newest_fed.get(symbol, newest))
        self.account.on_trades(symbol, trades, book)

    def _mark_from_tickers(self, market: MarketView) -> None:
        """Positions off screen are valued at their ticker's mid (else its last price)."""
        tickers = market.tickers
        for symbol, position in self.account.positions().items():
            if self._on_screen(symbol) is not None or position.amount <= 0 or symbol not in tickers:
                continue
            ticker = tickers[symbol]
            bid, ask = optional_decimal(ticker.get("bid")), optional_decimal(ticker.get("ask"))
            mark = (bid + ask) / 2 if bid and ask else optional_decimal(ticker.get("last"))
            if mark is not None and mark > 0:
                self.account.mark(symbol, mark)

    # -- symbols not on screen --------------------------------------------------------------------
    def _offscreen_watches(self) -> list[Watch]:
        if not self._running:
            return []
        by_symbol: dict[str, list[Order]] = {}
        for order in self.account.orders(open_only=True):
            if self._on_screen(order.symbol) is None:
                by_symbol.setdefault(order.symbol, []).append(order)
        horizon = self.clock() - LOOKBACK_MS
        watches = []
        for symbol, orders in by_symbol.items():
            oldest = min(o.created_ms for o in orders)
            since = max(oldest, self._newest_fed.get(symbol, oldest), horizon)
            needs_book = any(o.type.is_stop and not o.triggered for o in orders)
            watches.append(Watch(symbol, since, needs_book))
        return watches

    def _feed_polled(self, symbol: str, trades: list[dict[str, Any]], book: OrderBook | None) -> None:
        try:
            self._feed(symbol, keyed_trades(trades), book)
        except Exception:  # a bug here must not stop the poll
            log.exception("The paper account could not take the trades of %s.", symbol)

    # -- what an order is checked and filled against ------------------------------------------------
    def book_of(self, symbol: str) -> OrderBook | None:
        """The live book if ``symbol`` is on screen (in any window this account trades)."""
        shown = self._on_screen(symbol)
        return shown.book if shown is not None else None

    async def book_for(self, symbol: str) -> OrderBook | None:
        """The live book of a symbol on screen; for another, a snapshot fetched now."""
        if self._on_screen(symbol) is not None or symbol not in self.market.markets:
            return self.book_of(symbol)
        answer = await self.market.source.fetch_order_book(symbol, BOOK_DEPTH)
        book = OrderBook(symbol)
        book.replace(answer.get("bids") or [], answer.get("asks") or [], answer.get("timestamp"))
        return book

    def last_price(self, symbol: str) -> Decimal | None:
        """The last trade of a symbol on screen (stops are checked against it)."""
        shown = self._on_screen(symbol)
        tape = shown.tape if shown is not None else None
        if tape is None or not len(tape):
            return None
        return to_decimal(float(tape.latest(1).price[0]))


class _View:
    """One session feeding the account: its own reader of the tape."""

    def __init__(self, market: MarketView) -> None:
        self.market = market
        self.tape = TapeReader()
        self.active = True
