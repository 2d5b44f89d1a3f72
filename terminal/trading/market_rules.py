"""A market's trading rules as Decimals: amount step, price tick and limits.

Built from a ccxt market dict (``markets[symbol]``). In ccxt's TICK_SIZE
precision mode (every exchange the terminal has met so far, Binance, OKX,
Kraken included, and the simulator) ``precision.amount`` and
``precision.price`` are the step sizes themselves (0.00001, 0.1); in
DECIMAL_PLACES mode they are digit counts (5 -> 0.00001). A missing or
non-positive step or limit means the exchange sets none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from terminal.errors import NotSupportedError
from terminal.trading.fees import FeeRates
from terminal.trading.money import optional_decimal

# ccxt's precision modes (ccxt.DECIMAL_PLACES, ccxt.TICK_SIZE), without importing ccxt.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4


@dataclass(frozen=True)
class MarketRules:
    symbol: str
    base: str
    quote: str
    amount_step: Decimal | None = None
    price_tick: Decimal | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    cost_min: Decimal | None = None
    cost_max: Decimal | None = None
    fees: FeeRates = field(default_factory=FeeRates)
    active: bool = True
    #: spot market: a position is the base currency held, never short
    spot: bool = True

    @classmethod
    def from_ccxt(cls, market: Mapping[str, Any], precision_mode: int = TICK_SIZE) -> MarketRules:
        precision = market.get("precision") or {}
        limits = market.get("limits") or {}

        def step(key: str) -> Decimal | None:
            value = optional_decimal(precision.get(key))
            if value is None:
                return None
            if precision_mode == DECIMAL_PLACES:
                return Decimal(1).scaleb(-int(value))
            if precision_mode != TICK_SIZE:
                raise NotSupportedError(
                    f"The market {market.get('symbol')} states its precision in significant digits, "
                    "which the order ticket does not handle yet."
                )
            return value if value > 0 else None

        def limit(kind: str, end: str) -> Decimal | None:
            value = optional_decimal((limits.get(kind) or {}).get(end))
            return value if value is not None and value > 0 else None

        symbol = str(market.get("symbol") or "")
        base, _, quote = symbol.partition("/")
        return cls(
            symbol=symbol,
            base=str(market.get("base") or base),
            quote=str(market.get("quote") or quote.split(":")[0]),
            amount_step=step("amount"),
            price_tick=step("price"),
            amount_min=limit("amount", "min"),
            amount_max=limit("amount", "max"),
            price_min=limit("price", "min"),
            price_max=limit("price", "max"),
            cost_min=limit("cost", "min"),
            cost_max=limit("cost", "max"),
            fees=FeeRates.of_market(market),
            active=market.get("active") is not False,
            spot=bool(market.get("spot", True)),
        )


def market_rules(market: MarketRules | Mapping[str, Any]) -> MarketRules:
    """Rules from either form (the UI holds ccxt dicts; tests and the paper account, rules)."""
    return market if isinstance(market, MarketRules) else MarketRules.from_ccxt(market)
