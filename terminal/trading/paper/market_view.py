"""What the paper broker sees of the market (``MarketView``), and how it reads the
trade tape.

``MarketView`` is the part of ``terminal.market.session.MarketSession`` the
broker uses: the symbol on screen with its order book and tape, the markets,
the tickers of the watchlist, the source (its clock, and REST calls for
symbols not on screen), and a listener per change.

The tape (``TradeTape``) keeps no trade ids, so ``TapeReader`` hands the
account its new rows with an id made of what a row holds (``trade_key``);
the off-screen poll makes the same key from the exchange's trades, so a
trade seen both ways is taken once (``SeenTrades`` drops a repeated id at
the same time). Two different trades in the same millisecond at the same
price, size and side look alike and the second is not counted: the paper
account then fills a little less, never twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from terminal.market.source import ExchangeSource
from terminal.market.topics import Topic
from terminal.marketdata.orderbook import OrderBook
from terminal.marketdata.tape import SELL, TradeTape


class MarketView(Protocol):
    @property
    def source(self) -> ExchangeSource: ...

    @property
    def symbol(self) -> str:
        """The symbol on screen, whose book and tape are live ("" before the first open)."""
        ...

    @property
    def book(self) -> OrderBook: ...

    @property
    def tape(self) -> TradeTape: ...

    @property
    def markets(self) -> Mapping[str, dict[str, Any]]: ...

    @property
    def tickers(self) -> Mapping[str, dict[str, Any]]: ...

    def subscribe(self, listener: Callable[[Topic], None]) -> None: ...


def trade_key(ts: int, price: float, amount: float, side: str | None) -> str:
    """The id a trade is known by to the paper account, from either path."""
    return f"{ts}:{float(price)!r}:{float(amount)!r}:{'sell' if side == 'sell' else 'buy'}"


def keyed_trades(trades: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ccxt trades (the off-screen poll's) as the account is fed them, keyed by ``trade_key``."""
    keyed = []
    for t in trades:
        ts, price, amount = t.get("timestamp"), t.get("price"), t.get("amount")
        if ts is None or price is None or amount is None:
            continue  # malformed: the account would skip it too
        keyed.append(
            {
                "id": trade_key(int(ts), price, amount, t.get("side")),
                "timestamp": int(ts),
                "price": price,
                "amount": amount,
            }
        )
    return keyed


class TapeReader:
    """The tape's rows that are new since the last read, oldest first.

    The session notifies ``Topic.TRADES`` after each batch it adds, and
    clears and refills the tape when the symbol changes; the reader counts
    rows (``tape.total``) and starts over with a new symbol or a cleared tape.
    """

    def __init__(self) -> None:
        self._symbol = ""
        self._total = 0

    def new_trades(self, symbol: str, tape: TradeTape) -> list[dict[str, Any]]:
        total = tape.total
        if symbol != self._symbol or total < self._total:
            count = len(tape)
        else:
            count = min(total - self._total, len(tape))
        self._symbol, self._total = symbol, total
        if count <= 0 or not symbol:
            return []
        rows = tape.latest(count)  # newest first
        ts, price, amount = rows.ts.tolist(), rows.price.tolist(), rows.amount.tolist()
        side = rows.side.tolist()
        trades = []
        for i in range(count - 1, -1, -1):
            s = "sell" if side[i] == SELL else "buy"
            trades.append(
                {
                    "id": trade_key(ts[i], price[i], amount[i], s),
                    "timestamp": ts[i],
                    "price": price[i],
                    "amount": amount[i],
                }
            )
        return trades
