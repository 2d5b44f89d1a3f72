"""Whether an order book from an exchange is whole enough to draw or trade on.

ccxt hands a watch whatever it holds: after a snapshot it could not read
(HTTP 200 with a truncated body or an HTML page) that is an empty book with
no sequence number, which it then never updates. The terminal draws a book
only when both sides are there, each sorted best-first with positive prices
and sizes, the best bid below the best ask, and, for a protocol that numbers
its books, a sequence number once one has been seen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Levels = Sequence[Sequence[Any]]


def book_problem(bids: Levels, asks: Levels, nonce: Any = None, needs_nonce: bool = False) -> str:
    """What is wrong with the book, in plain words ("" when it is whole)."""
    if not bids or not asks:
        return "one side of the order book is empty" if bids or asks else "the order book is empty"
    for side, levels, descending in (("bid", bids, True), ("ask", asks, False)):
        previous = math.nan
        for level in levels:
            try:
                price, size = float(level[0]), float(level[1])
            except (TypeError, ValueError, IndexError):
                return f"a {side} level is not a number"
            if not (price > 0 and size > 0 and math.isfinite(price) and math.isfinite(size)):
                return f"a {side} level has a price or size that is not positive"
            if previous == previous and (price >= previous if descending else price <= previous):
                return f"the {side}s are out of order"
            previous = price
    if float(bids[0][0]) >= float(asks[0][0]):
        return "the best bid is not below the best ask (a crossed book)"
    if needs_nonce and nonce is None:
        return "the order book has no sequence number"
    return ""
