"""Balances per currency: what the account holds, and how much of it open
orders set aside.

Invariants (checked on every change): ``0 <= reserved <= total`` for every
currency, so ``free = total - reserved`` is never negative either. A debit
that would break them is a bug in the caller and raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.trading.money import ZERO


@dataclass(frozen=True)
class BalanceView:
    currency: str
    total: Decimal
    reserved: Decimal  # held by open orders

    @property
    def free(self) -> Decimal:
        return self.total - self.reserved


class Balances:
    def __init__(self, start: Mapping[str, Decimal] | None = None) -> None:
        self._total: dict[str, Decimal] = {c: Decimal(v) for c, v in (start or {}).items()}
        self._reserved: dict[str, Decimal] = {}

    def currencies(self) -> list[str]:
        return sorted(set(self._total) | set(self._reserved))

    def total(self, currency: str) -> Decimal:
        return self._total.get(currency, ZERO)

    def reserved(self, currency: str) -> Decimal:
        return self._reserved.get(currency, ZERO)

    def free(self, currency: str) -> Decimal:
        return self.total(currency) - self.reserved(currency)

    def view(self, currency: str) -> BalanceView:
        return BalanceView(currency, self.total(currency), self.reserved(currency))

    def credit(self, currency: str, amount: Decimal) -> None:
        self._set(currency, self.total(currency) + amount, self.reserved(currency))

    def debit(self, currency: str, amount: Decimal) -> None:
        self._set(currency, self.total(currency) - amount, self.reserved(currency))

    def reserve(self, currency: str, delta: Decimal) -> None:
        """Set aside ``delta`` more (less, if negative) of ``currency`` for open orders."""
        self._set(currency, self.total(currency), self.reserved(currency) + delta)

    def _set(self, currency: str, total: Decimal, reserved: Decimal) -> None:
        if reserved < 0 or total < reserved:
            raise ValueError(
                f"paper balance of {currency} would break 0 <= reserved ({reserved}) <= total ({total})"
            )
        self._total[currency] = total
        self._reserved[currency] = reserved

    def to_dict(self) -> dict[str, str]:
        """Totals only: what is reserved follows from the open orders."""
        return {c: str(v) for c, v in sorted(self._total.items())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], holds: Iterable[tuple[str, Decimal]] = ()) -> Balances:
        balances = cls({c: Decimal(v) for c, v in data.items()})
        for currency, amount in holds:
            balances.reserve(currency, amount)
        return balances
