"""The account in one line, above the positions: equity, what is free, the
day's P&L and the P&L since the start, all in the account's P&L currency.

- **Equity**: every balance valued in the P&L currency at its latest mid:
  the book on screen, else the market's ticker, else the mark the broker
  values the position at. A currency with no price is left out, and the
  tooltip names it.
- **Free**: the P&L currency not held by open orders.
- **Day P&L**: the broker's own figure (``risk_state().day_pnl``, what the
  daily loss limit counts).
- **Since start**: a paper account's equity against its start balances (the
  balances it started with or was last reset to, valued at today's prices,
  so the figure is what trading made); a live account's start is not known,
  so against its equity when this terminal first valued it.

No Qt here: ``AccountSummary.figures`` is what the panel shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from terminal.marketdata.orderbook import OrderBook
from terminal.trading.balances import BalanceView
from terminal.trading.broker import Broker
from terminal.trading.money import HUNDRED, ONE, ZERO, optional_decimal, to_decimal
from terminal.trading.positions import Position


class MarketOnScreen(Protocol):
    """What the summary reads of the window's market (``MarketSession``)."""

    @property
    def symbol(self) -> str: ...

    @property
    def book(self) -> OrderBook: ...

    @property
    def tickers(self) -> Mapping[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class AccountFigures:
    currency: str  # the P&L currency everything is counted in
    equity: Decimal
    free: Decimal
    day_pnl: Decimal | None  # None: the broker cannot say
    since_start: Decimal | None  # percent; None: no start to compare with
    #: "paper": against the start balances; "watching": since the terminal first valued the account
    start: str
    #: what the start was: "10,000 USDT" (paper), or the time the terminal first valued it (live)
    start_note: str
    unpriced: tuple[str, ...] = ()  # currencies held that have no price in ``currency``


@dataclass(frozen=True)
class _Valued:
    equity: Decimal
    unpriced: tuple[str, ...]
    when: str  # HH:MM, local time


class AccountSummary:
    """Works out the figures; remembers a live account's first equity."""

    def __init__(self, market: Callable[[], MarketOnScreen]) -> None:
        self._market = market
        #: (kind, account) -> a live account's equity when first valued
        self._watching: dict[tuple[str, str], _Valued] = {}

    def figures(
        self,
        broker: Broker,
        positions: Mapping[str, Position],
        unrealised: Mapping[str, Decimal],
        balances: Mapping[str, BalanceView],
    ) -> AccountFigures:
        state = broker.risk_state()
        currency = state.pnl_currency or "USDT"
        price = self._prices(currency, positions, unrealised)
        equity, unpriced = value_of({c: b.total for c, b in balances.items()}, currency, price)
        own = balances.get(currency)
        start_balances = _start_balances(broker)
        if start_balances is not None:
            start, missing = value_of(start_balances, currency, price)
            # a balance with no price today, or at the start, would show a gain or loss that is not there
            since = _change(equity, start) if not missing and not unpriced else None
            note = ", ".join(f"{v.normalize():,f} {c}" for c, v in sorted(start_balances.items()) if v)
            kind = "paper"
        else:
            since, note = self._since_watching(
                (broker.kind, broker.account), equity, unpriced, bool(balances)
            )
            kind = "watching"
        return AccountFigures(
            currency=currency,
            equity=equity,
            free=own.free if own is not None else ZERO,
            day_pnl=state.day_pnl,
            since_start=since,
            start=kind,
            start_note=note or "nothing",
            unpriced=unpriced,
        )

    def _since_watching(
        self, key: tuple[str, str], equity: Decimal, unpriced: tuple[str, ...], known: bool
    ) -> tuple[Decimal | None, str]:
        """The change since the account was first valued. A currency priced only
        later (its ticker came after the balances) makes that first value
        incomplete: it is taken again. One that loses its price stops the figure."""
        first = self._watching.get(key)
        if known and (first is None or set(unpriced) < set(first.unpriced)):
            self._watching[key] = first = _Valued(equity, unpriced, time.strftime("%H:%M"))
        if first is None or set(unpriced) != set(first.unpriced):
            return None, first.when if first is not None else ""
        return _change(equity, first.equity), first.when

    def _prices(
        self, currency: str, positions: Mapping[str, Position], unrealised: Mapping[str, Decimal]
    ) -> Callable[[str], Decimal | None]:
        market = self._market()

        def price(held: str) -> Decimal | None:
            if held == currency:
                return ONE
            symbol = f"{held}/{currency}"
            if market.symbol == symbol and market.book.mid is not None:
                return to_decimal(market.book.mid)
            ticker = market.tickers.get(symbol)
            if ticker is not None:
                bid, ask = optional_decimal(ticker.get("bid")), optional_decimal(ticker.get("ask"))
                last = (bid + ask) / 2 if bid and ask else optional_decimal(ticker.get("last"))
                if last is not None and last > 0:
                    return last
            position = positions.get(symbol)
            if position is not None and position.amount > 0 and symbol in unrealised:
                # the broker's own mark: unrealised = amount * mark - cost
                return (unrealised[symbol] + position.cost) / position.amount
            return None

        return price


def value_of(
    amounts: Mapping[str, Decimal], currency: str, price: Callable[[str], Decimal | None]
) -> tuple[Decimal, tuple[str, ...]]:
    """The worth of ``amounts`` in ``currency``, and the currencies that have no price."""
    total, unpriced = ZERO, []
    for held, amount in sorted(amounts.items()):
        if not amount:
            continue
        rate = price(held)
        if rate is None:
            unpriced.append(held)
        else:
            total += amount * rate
    return total, tuple(unpriced)


def _change(now: Decimal, start: Decimal) -> Decimal | None:
    return (now - start) / start * HUNDRED if start > 0 else None


def _start_balances(broker: Broker) -> Mapping[str, Decimal] | None:
    """A paper account's start balances (its own, as saved), else None."""
    start = getattr(broker, "start_balances", None)
    if broker.kind != "paper" or not callable(start):
        return None
    result = start()
    return result if isinstance(result, Mapping) else None
