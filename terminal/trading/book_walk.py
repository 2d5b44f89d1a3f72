"""Walking one side of an order book, best level first, as a taker order does.

The same walk prices a ticket (validation's cost estimate, a quote amount
turned into base) and fills a paper order, so what the ticket promises and
what the paper account does cannot drift apart.

Rules, per level: take at most what the level holds and what is still
wanted, rounded down to the amount step (a fill is always on the step; a
level smaller than one step is passed over); stop at the first level beyond
the limit price; with a budget, stop once the next step would cost more
than is left of it, fee included. Levels are read from the book's float
arrays and converted to Decimal one by one, only as far as the walk goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Context, Decimal
from enum import StrEnum

from terminal.marketdata.orderbook import OrderBook
from terminal.trading.money import ONE, ZERO, floor_to_step
from terminal.trading.orders import OrderSide

_DOWN = Context(prec=40, rounding=ROUND_DOWN)


class WalkEnd(StrEnum):
    FILLED = "filled"  # all that was wanted
    LIMIT = "limit"  # the next level is beyond the limit price
    BUDGET = "budget"  # the budget would not pay for another step
    BOOK = "book"  # the side ran out of levels


@dataclass(frozen=True)
class Take:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Walk:
    takes: tuple[Take, ...]
    filled: Decimal
    cost: Decimal  # sum of price * amount, fee excluded
    end: WalkEnd

    @property
    def vwap(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    @property
    def worst_price(self) -> Decimal | None:
        """The furthest price the walk reached (the last level it took from)."""
        return self.takes[-1].price if self.takes else None


def opposite_levels(book: OrderBook, side: OrderSide) -> tuple[list[float], list[float]]:
    """The levels a ``side`` order trades against: asks for a buy, bids for a sell."""
    if side is OrderSide.BUY:
        return book.ask_price.tolist(), book.ask_size.tolist()
    return book.bid_price.tolist(), book.bid_size.tolist()


def walk_book(
    book: OrderBook,
    side: OrderSide,
    amount: Decimal | None,
    *,
    limit: Decimal | None = None,
    step: Decimal | None = None,
    budget: Decimal | None = None,
    fee_rate: Decimal = ZERO,
) -> Walk:
    """Take up to ``amount`` (None: as much as ``budget`` pays for) from the
    side of ``book`` a ``side`` order trades against."""
    if amount is None and budget is None:
        raise ValueError("walk_book needs an amount or a budget")
    prices, sizes = opposite_levels(book, side)
    buying = side is OrderSide.BUY
    unit_factor = ONE + fee_rate
    takes: list[Take] = []
    remaining = amount
    filled = cost = spent = ZERO
    end = WalkEnd.BOOK
    for raw_price, raw_size in zip(prices, sizes, strict=True):
        if remaining is not None and remaining <= 0:
            end = WalkEnd.FILLED
            break
        price = Decimal(repr(raw_price))  # the book's floats, as the exchange sent them
        if limit is not None and (price > limit if buying else price < limit):
            end = WalkEnd.LIMIT
            break
        size = Decimal(repr(raw_size))
        take = floor_to_step(size if remaining is None else min(size, remaining), step)
        capped = False
        if budget is not None:
            unit = price * unit_factor
            left = budget - spent
            if take * unit > left:  # else the whole take is affordable
                affordable = floor_to_step(_DOWN.divide(left, unit), step) if unit > 0 else take
                # Rounding down in the division keeps affordable * unit <= left;
                # the loop only guards the last digit of a stepless market.
                while affordable > 0 and affordable * unit > left:
                    affordable = affordable - (step or affordable.scaleb(-20))
                if affordable < take:
                    take, capped = max(affordable, ZERO), True
        if take > 0:
            takes.append(Take(price, take))
            filled += take
            cost += price * take
            spent += price * take * unit_factor
            if remaining is not None:
                remaining -= take
        if capped:
            end = WalkEnd.BUDGET
            break
    else:
        if remaining is not None and remaining <= 0:
            end = WalkEnd.FILLED
    return Walk(tuple(takes), filled, cost, end)
