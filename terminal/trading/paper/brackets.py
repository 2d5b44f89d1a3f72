"""The paper account's brackets and OCO pairs, as the order ticket sees them
(``terminal.trading.brackets.BracketDesk``): ``PaperBroker.brackets``.

The paper account keeps its pairs itself (``BracketMode.NATIVE``), as an
exchange's OCO order: on a spot market the take-profit and the stop-loss sell
the same coins, which the account holds once for both, and an exit's fill
shrinks or cancels the other in the same step (a manager outside the account
could only do it after the fact, with the coins held twice meanwhile). The
pairs are saved with the account, so a restart keeps them.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from terminal.trading.brackets import Bracket, BracketListener, BracketMode, Exits
from terminal.trading.orders import Order, OrderIntent, OrderSide

if TYPE_CHECKING:
    from terminal.trading.paper.broker import PaperBroker

log = logging.getLogger(__name__)


class PaperBrackets:
    def __init__(self, broker: PaperBroker) -> None:
        self._broker = broker
        self._listeners: list[BracketListener] = []

    @property
    def mode(self) -> BracketMode:
        return BracketMode.NATIVE

    async def submit(self, entry: OrderIntent, exits: Exits) -> Order:
        return await self._broker.submit_bracket(entry, exits)

    async def submit_oco(self, symbol: str, side: OrderSide, amount: Decimal, exits: Exits) -> Bracket:
        return await self._broker.submit_oco(symbol, side, amount, exits)

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """The account keeps the replacement in the bracket (``PaperAccount.amend``)."""
        return await self._broker.replace(client_order_id, intent)

    async def cancel(self, bracket_id: str) -> Bracket:
        return await self._broker.cancel_bracket(bracket_id)

    def brackets(self, symbol: str | None = None) -> list[Bracket]:
        return [b.snapshot() for b in reversed(self._broker.account_now().brackets(symbol))]

    def bracket_of(self, client_order_id: str) -> Bracket | None:
        bracket = self._broker.account_now().bracket_of(client_order_id)
        return bracket.snapshot() if bracket is not None else None

    def subscribe(self, listener: BracketListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: BracketListener) -> None:
        self._listeners.remove(listener)

    def changed(self, bracket: Bracket) -> None:
        """The broker passes on what the account said (a copy each)."""
        for listener in list(self._listeners):
            try:
                listener(bracket)
            except Exception:  # one panel's bug must not break the account
                log.exception("A bracket listener failed on %s", bracket.bracket_id)
