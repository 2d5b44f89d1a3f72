"""Fee rates per side of a trade: maker (an order that rested) and taker.

Fees are charged in the quote currency, once per fill, as ``cost * rate``
(0.001 = 0.1%); a negative maker rate is a rebate. A limit order may fill
either way (as taker if it crosses on arrival, as maker once it rests), so
the funds it holds are sized with the higher of the two rates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from terminal.trading.money import ZERO, optional_decimal


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True)
class FeeRates:
    maker: Decimal = ZERO
    taker: Decimal = ZERO

    def rate(self, liquidity: Liquidity) -> Decimal:
        return self.maker if liquidity is Liquidity.MAKER else self.taker

    @property
    def highest(self) -> Decimal:
        return max(self.maker, self.taker)

    @classmethod
    def of_market(cls, market: Mapping[str, Any]) -> FeeRates:
        """The rates a ccxt market states (``maker``/``taker``), zero where it states none."""
        return cls(
            optional_decimal(market.get("maker")) or ZERO, optional_decimal(market.get("taker")) or ZERO
        )


def hold_rate(fees: FeeRates, rests: bool) -> Decimal:
    """The fee rate funds are set aside with: the taker rate for an order that
    only takes (market, stop-market), the higher rate for one with a limit
    price, which may fill either way."""
    return fees.highest if rests else fees.taker
