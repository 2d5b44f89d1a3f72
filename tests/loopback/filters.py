"""A symbol's assets and exchange filters on the loopback server: what
``exchangeInfo`` lists, and the checks a new order must pass (-1013
"Filter failure: ..." otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.market.simulator.instruments import Instrument
from tests.loopback.wire import ApiError, dec, fmt

ZERO = Decimal(0)


def filter_failure(name: str) -> ApiError:
    return ApiError(400, -1013, f"Filter failure: {name}")


@dataclass(frozen=True)
class SymbolRules:
    """One symbol's assets and filters: what ``exchangeInfo`` lists and orders must pass."""

    market_id: str
    base: str
    quote: str
    tick: Decimal
    lot: Decimal
    max_price: Decimal = Decimal(1_000_000)
    max_qty: Decimal = Decimal(9_000)
    market_max_qty: Decimal = Decimal(100)
    min_notional: Decimal = Decimal(5)
    max_notional: Decimal = Decimal(9_000_000)
    max_num_orders: int = 200

    @classmethod
    def of(cls, instrument: Instrument) -> SymbolRules:
        return cls(
            instrument.market_id, instrument.base, instrument.quote, dec(instrument.tick), dec(instrument.lot)
        )

    def filters(self) -> list[dict[str, Any]]:
        """The ``filters`` of the symbol in ``exchangeInfo``."""
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(self.tick),
                "maxPrice": fmt(self.max_price),
                "tickSize": fmt(self.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(self.lot),
                "maxQty": fmt(self.max_qty),
                "stepSize": fmt(self.lot),
            },
            {
                "filterType": "MIN_NOTIONAL",
                "minNotional": fmt(self.min_notional),
                "applyToMarket": True,
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fmt(self.min_notional),
                "applyMinToMarket": True,
                "maxNotional": fmt(self.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(ZERO),
                "maxQty": fmt(self.market_max_qty),
                "stepSize": fmt(ZERO),
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_num_orders},
        ]

    def check_price(self, price: Decimal) -> None:
        if price < self.tick or price > self.max_price or (price - self.tick) % self.tick:
            raise filter_failure("PRICE_FILTER")

    def check_quantity(self, qty: Decimal, market: bool) -> None:
        if qty < self.lot or qty > self.max_qty or qty % self.lot:
            raise filter_failure("LOT_SIZE")
        if market and qty > self.market_max_qty:
            raise filter_failure("MARKET_LOT_SIZE")

    def check_notional(self, notional: Decimal, market: bool) -> None:
        if notional < self.min_notional or (not market and notional > self.max_notional):
            raise filter_failure("NOTIONAL")

    def floor_lot(self, qty: Decimal) -> Decimal:
        return qty - qty % self.lot
