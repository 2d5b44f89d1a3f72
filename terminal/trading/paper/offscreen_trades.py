"""Trades of symbols that are not on screen, for the paper orders resting there.

Only the symbol on screen has a live book and tape. A paper order on another
symbol would otherwise wait until its symbol is shown again (and then see
only the trades the tape fetches on opening). So while such orders are open,
a task asks the exchange every ``interval`` seconds for the symbol's trades
since the last one it saw (one ``fetch_trades`` per symbol; plus one
``fetch_order_book`` when a stop waits there, since a triggered stop fills
against the book). Nothing is asked while no order rests off screen.

Best effort: trades are what a REST call returns (a busy market may print
more between two polls than one page holds; the next poll goes on from the
last one taken), and a failed poll is logged and tried again next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from terminal.errors import describe
from terminal.market.source import ExchangeSource
from terminal.marketdata.orderbook import OrderBook

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 2.0
PAGE = 500  # trades per request
BOOK_DEPTH = 50


@dataclass(frozen=True)
class Watch:
    symbol: str
    since_ms: int  # the oldest trade that could still fill an order there
    needs_book: bool  # a stop waits there


Feed = Callable[[str, list[dict[str, Any]], OrderBook | None], None]


class OffscreenTradePoll:
    def __init__(
        self,
        source: ExchangeSource,
        watches: Callable[[], list[Watch]],
        feed: Feed,
        interval: float = POLL_INTERVAL_S,
    ) -> None:
        self.source = source
        self.watches = watches  # asked each round: which symbols, from when
        self.feed = feed  # gets each symbol's trades (and book), on the loop's thread
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._failing: set[str] = set()  # symbols whose last poll failed (logged once per streak)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="paper off-screen trades")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.poll_once()

    async def poll_once(self) -> None:
        if not self.source.has.get("fetchTrades"):
            return
        for watch in self.watches():
            try:
                trades = await self.source.fetch_trades(watch.symbol, since=watch.since_ms, limit=PAGE)
                book = await self._book(watch.symbol) if watch.needs_book else None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failed poll is reported and tried again
                if watch.symbol not in self._failing:
                    self._failing.add(watch.symbol)
                    log.warning(
                        "Paper orders on %s: trades could not be fetched (%s); trying again every %.0f s.",
                        watch.symbol,
                        describe(exc, detailed=True),
                        self.interval,
                    )
                continue
            self._failing.discard(watch.symbol)
            self.feed(watch.symbol, trades, book)

    async def _book(self, symbol: str) -> OrderBook:
        answer = await self.source.fetch_order_book(symbol, BOOK_DEPTH)
        book = OrderBook(symbol)
        book.replace(answer.get("bids") or [], answer.get("asks") or [], answer.get("timestamp"))
        return book
