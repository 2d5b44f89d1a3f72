"""Positions and profit: average cost per symbol, and PnL since the UTC day start.

Method: **average cost**. A buy adds its amount and its cost, fee included,
to the position; a sell realises ``amount * (price - average cost) - fee``
and takes its share of the cost away, so the average cost of what remains
does not change. Unrealised PnL is ``amount * mark - cost``, the mark being
the mid price. Invariant: realised + unrealised equals the change in
``quote + base * mark`` that the fills made, fees included.

What a trader reads is kept apart as well: the **entry** (``entry_cost``,
``average_entry``) is the same average over the fill prices alone, fees left
out, and ``fees`` is every fee this symbol's fills paid (buys and sells)
since the account started. They are for showing; the PnL figures above stay
the exact ones, fees counted.

A spot position is never short. Coins sold that the position does not hold
(a start balance, coins bought through another quote) have no known cost:
they are realised at zero profit, fee still counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.trading.money import ZERO
from terminal.trading.orders import OrderSide

DAY_MS = 86_400_000


@dataclass
class Position:
    symbol: str
    amount: Decimal = ZERO  # base currency bought here and not yet sold (>= 0)
    cost: Decimal = ZERO  # what that amount cost, buy fees included, in quote
    realised: Decimal = ZERO  # since the account started or was reset
    entry_cost: Decimal = ZERO  # what that amount cost at its fill prices, fees left out
    fees: Decimal = ZERO  # paid on this symbol's fills, buys and sells, since the start (in quote)

    @property
    def average_cost(self) -> Decimal | None:
        """The break-even price: buy fees included."""
        return self.cost / self.amount if self.amount else None

    @property
    def average_entry(self) -> Decimal | None:
        """The average fill price of what is held, fees not included."""
        return self.entry_cost / self.amount if self.amount else None

    def unrealised(self, mark: Decimal) -> Decimal:
        return self.amount * mark - self.cost

    def apply(self, side: OrderSide, amount: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Take one fill (fee in quote) into the position; returns the PnL it realised."""
        self.fees += fee
        if side is OrderSide.BUY:
            self.amount += amount
            self.cost += price * amount + fee
            self.entry_cost += price * amount
            return ZERO
        known = min(amount, self.amount)
        # Closing the whole position takes all its cost: no division residue left behind.
        whole = known == self.amount
        cost_out = self.cost if whole else self.cost * known / self.amount
        entry_out = self.entry_cost if whole else self.entry_cost * known / self.amount
        realised = known * price - cost_out - fee
        self.amount -= known
        self.cost -= cost_out
        self.entry_cost -= entry_out
        self.realised += realised
        return realised

    def copy(self) -> Position:
        return Position(self.symbol, self.amount, self.cost, self.realised, self.entry_cost, self.fees)

    def to_dict(self) -> dict[str, str]:
        return {
            "amount": str(self.amount),
            "cost": str(self.cost),
            "realised": str(self.realised),
            "entry_cost": str(self.entry_cost),
            "fees": str(self.fees),
        }

    @classmethod
    def from_dict(cls, symbol: str, data: Mapping[str, Any]) -> Position:
        """A saved position. One saved before the entry and fees were kept apart
        has neither: its entry is taken as its cost (fees still in it) and its
        fees as 0, unless the caller can rebuild them (``has_entry``)."""
        cost = Decimal(data["cost"])
        return cls(
            symbol,
            Decimal(data["amount"]),
            cost,
            Decimal(data["realised"]),
            Decimal(data.get("entry_cost", cost)),
            Decimal(data.get("fees", ZERO)),
        )

    @staticmethod
    def has_entry(data: Mapping[str, Any]) -> bool:
        """True when a saved position keeps its entry and fees apart (saved by this version)."""
        return "entry_cost" in data and "fees" in data


@dataclass
class DayPnl:
    """PnL since 00:00 UTC, in one currency, best effort.

    ``realised`` counts from the day's first fill; the unrealised part is the
    change since the day began: at the first event the account sees in a new
    day, it records the unrealised PnL at the marks it had then
    (``baseline``). A terminal that was closed at midnight therefore takes
    its baseline from whenever it next sees the market, and marks of
    symbols it is not watching are the last it saw.
    """

    day: int | None = None  # days since 1970-01-01 UTC
    realised: Decimal = ZERO
    baseline: Decimal = ZERO

    def roll(self, ts_ms: int, unrealised_now: Decimal) -> bool:
        """Start a new day if ``ts_ms`` is in one; True if it did."""
        day = ts_ms // DAY_MS
        if self.day is not None and day <= self.day:
            return False
        self.day, self.realised, self.baseline = day, ZERO, unrealised_now
        return True

    def total(self, unrealised_now: Decimal) -> Decimal:
        return self.realised + unrealised_now - self.baseline

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "realised": str(self.realised), "baseline": str(self.baseline)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DayPnl:
        return cls(data.get("day"), Decimal(data["realised"]), Decimal(data["baseline"]))
