"""An order's amount as a share of what the account has free: the ticket's
25 / 50 / 75 / 100 % buttons.

A buy spends ``fraction`` of the free quote currency, the fee included (the
highest of the market's two rates: whether it rests or takes is not known
yet), at ``price`` (the limit price, or the best ask for a market order); a
sell sells ``fraction`` of the free base currency. The amount is floored to
the market's step, so 100 % never asks for more than is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from terminal.trading.market_rules import MarketRules
from terminal.trading.money import ZERO, floor_to_step
from terminal.trading.orders import AmountUnit, OrderSide

FRACTIONS = (Decimal("0.25"), Decimal("0.5"), Decimal("0.75"), Decimal(1))


class SizingError(ValueError):
    """The share cannot be worked out; the message says why in plain words."""


def share_of_free(
    fraction: Decimal,
    side: OrderSide,
    unit: AmountUnit,
    rules: MarketRules,
    free: Mapping[str, Decimal],
    price: Decimal | None,
) -> Decimal:
    """The amount (in ``unit``) that uses ``fraction`` of the free balance."""
    if not ZERO < fraction <= 1:
        raise SizingError("A share of the balance is more than 0 % and at most 100 %.")
    if side is OrderSide.BUY:
        spendable = free.get(rules.quote, ZERO) * fraction / (1 + rules.fees.highest)
        if spendable <= 0:
            raise SizingError(f"There is no {rules.quote} free to buy with.")
        if unit is AmountUnit.QUOTE:
            return floor_to_step(spendable, Decimal("0.01"))
        if price is None or price <= 0:
            raise SizingError("Enter a limit price first, or wait for the order book: a share needs a price.")
        return floor_to_step(spendable / price, rules.amount_step)
    held = free.get(rules.base, ZERO) * fraction
    if held <= 0:
        raise SizingError(f"There is no {rules.base} free to sell.")
    if unit is AmountUnit.QUOTE:
        if price is None or price <= 0:
            raise SizingError("Enter a limit price first, or wait for the order book: a share needs a price.")
        return floor_to_step(held * price / (1 + rules.fees.highest), Decimal("0.01"))
    return floor_to_step(held, rules.amount_step)
