"""The checks an order passes before it leaves, run together: the market's
rules (``validation.validate``) and then the account's risk rules
(``risk.check``), with the result in one value that the journal records and
the order ticket's confirmation can show.

    result = pre_trade_check(intent, markets.get(symbol), book=..., balance=...,
                             account_state=..., limits=...)
    result.payload()                 # for the journal's "check" entry
    order = result.raise_if_refused()  # OrderInvalidError / RiskCheckFailedError

Risk rules run only on an order the market accepts: they need its amount in
base currency and its estimated cost, which validation works out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.errors import NotSupportedError, OrderInvalidError, RiskCheckFailedError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.fees import FeeRates
from terminal.trading.market_rules import TICK_SIZE, MarketRules
from terminal.trading.orders import OrderIntent
from terminal.trading.risk import AccountState, MarketState, RiskBlock, RiskLimits, check
from terminal.trading.validation import FieldProblem, ValidatedOrder, validate


@dataclass(frozen=True)
class PreTradeCheck:
    intent: OrderIntent
    order: ValidatedOrder | None  # None when the market's rules refused it
    problems: tuple[FieldProblem, ...] = ()  # the market's rules (precision, limits, funds)
    blocks: tuple[RiskBlock, ...] = ()  # the account's risk rules

    @property
    def ok(self) -> bool:
        return self.order is not None and not self.problems and not self.blocks

    def payload(self) -> dict[str, Any]:
        """What the journal keeps of the check: the verdict, and every problem
        or block in plain words, or the order as it will be sent."""
        if self.problems:
            return {
                "ok": False,
                "stage": "validation",
                "problems": [
                    {"field": p.field, "message": p.message, "suggestions": [str(s) for s in p.suggestions]}
                    for p in self.problems
                ],
            }
        if self.blocks:
            return {
                "ok": False,
                "stage": "risk",
                "blocks": [
                    {"rule": b.rule, "message": b.message, "limit": str(b.limit), "value": str(b.value)}
                    for b in self.blocks
                ],
            }
        assert self.order is not None
        o = self.order
        return {
            "ok": True,
            "amount": str(o.amount),
            "est_price": str(o.est_price),
            "est_cost": str(o.est_cost),
            "est_fee": str(o.est_fee),
            "liquidity": o.liquidity.value,
            "notes": list(o.notes),
        }

    def raise_if_refused(self) -> ValidatedOrder:
        """The order, or the refusal as ``OrderInvalidError`` (the first field's
        problem; every one in ``problems``) or ``RiskCheckFailedError`` (the
        first rule; every block in ``blocks``)."""
        if self.problems:
            first = self.problems[0]
            raise OrderInvalidError(first.field, first.message, problems=self.problems)
        if self.blocks:
            first_block = self.blocks[0]
            raise RiskCheckFailedError(first_block.rule, first_block.message, blocks=self.blocks)
        assert self.order is not None
        return self.order


def pre_trade_check(
    intent: OrderIntent,
    market: Mapping[str, Any] | None,
    *,
    book: OrderBook | None,
    balance: Mapping[str, Decimal] | None,
    account_state: AccountState,
    limits: RiskLimits,
    last_price: Decimal | None = None,
    fees: FeeRates | None = None,
    precision_mode: int = TICK_SIZE,
    exchange: str = "the exchange",
) -> PreTradeCheck:
    """Validate ``intent`` against ``market`` (its ccxt dict; None when the
    exchange does not list the symbol, or its markets are not loaded yet),
    then risk-check it against ``account_state`` and ``limits``."""
    if market is None:
        problem = FieldProblem(
            "symbol", f"{exchange} does not list {intent.symbol} (or its markets have not loaded yet)."
        )
        return PreTradeCheck(intent, None, problems=(problem,))
    try:
        rules = MarketRules.from_ccxt(market, precision_mode)
    except NotSupportedError as exc:
        return PreTradeCheck(intent, None, problems=(FieldProblem("symbol", exc.user_message()),))
    result = validate(intent, rules, book=book, balance=balance, last_price=last_price, fees=fees)
    if not isinstance(result, ValidatedOrder):
        return PreTradeCheck(intent, None, problems=tuple(result))
    blocks = check(result, account_state, MarketState.of_book(book, last_price), limits)
    return PreTradeCheck(intent, result, blocks=tuple(blocks))
