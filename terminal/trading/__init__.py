"""Trading, Qt-free: order intents and their validation against the market's
rules, the account's risk checks and the broker interface (this package's
core), the paper account that fills against the live book and tape
(``terminal.trading.paper``), and the live broker on a real exchange
(``terminal.trading.live``). The two brokers do not import each other, and
the core imports neither. docs/trading.md states the rules.

Flow of one order (the UI's ticket, the keyboard, later the live broker):
``OrderIntent`` -> ``validate`` (market precision and limits, book, free
balances) -> ``ValidatedOrder`` -> ``risk.check`` -> ``PaperAccount.place``
(or the live broker). Money is ``Decimal`` throughout; floats from the book
and the exchange are converted at that boundary (``money.to_decimal``).
"""

from terminal.trading.fees import FeeRates, Liquidity
from terminal.trading.market_rules import MarketRules
from terminal.trading.orders import (
    AmountUnit,
    Fill,
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    new_client_order_id,
)
from terminal.trading.risk import AccountState, MarketState, RiskBlock, RiskLimits, SymbolRiskLimits, check
from terminal.trading.validation import FieldProblem, ValidatedOrder, parse_decimal, require_valid, validate

__all__ = [
    "AccountState",
    "AmountUnit",
    "FeeRates",
    "FieldProblem",
    "Fill",
    "Liquidity",
    "MarketRules",
    "MarketState",
    "Order",
    "OrderIntent",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "RiskBlock",
    "RiskLimits",
    "SymbolRiskLimits",
    "TimeInForce",
    "ValidatedOrder",
    "check",
    "new_client_order_id",
    "parse_decimal",
    "require_valid",
    "validate",
]
