"""What a trading account tells its listeners (panels now, the audit trail later).

An account publishes events after each operation (place, cancel, trades,
reset) has finished, so a listener always sees a consistent account: the
fills first, in order, then the final state of each order, position and
balance the operation touched. Orders and positions are copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.trading.balances import BalanceView
from terminal.trading.orders import Fill, Order
from terminal.trading.positions import Position


@dataclass(frozen=True)
class FillAdded:
    fill: Fill


@dataclass(frozen=True)
class OrderUpdated:
    order: Order


@dataclass(frozen=True)
class PositionChanged:
    position: Position


@dataclass(frozen=True)
class BalanceChanged:
    balance: BalanceView


@dataclass(frozen=True)
class AccountReset:
    """Everything went back to the start balances; reload every panel."""


AccountEvent = FillAdded | OrderUpdated | PositionChanged | BalanceChanged | AccountReset
