"""Finding out whether an order whose answer was lost exists on the exchange.

After a timeout or a network error on ``create_order`` the order may or may
not have gone in. Sending it again blindly could make two orders of one
intent, so the broker asks first, by the client order id it gave the order
(Binance: ``fetch_order`` with ``origClientOrderId``; OKX: with ``clOrdId``;
elsewhere the open orders and the order history, scanned for the id):

- found (or reported meanwhile by the user-data stream): **adopt** it;
- the exchange says "no such order" **twice in a row**, a back-off apart
  (an order still on its way in must not be taken for a missing one):
  **absent**, and only then may it be sent again, once, with the same
  client order id;
- anything else after ``attempts`` tries (no answer, refusals, an exchange
  that cannot list closed orders): **unknown**. The order is shown as
  "unknown — check the exchange" and never sent again by the terminal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from terminal.errors import ClockSkewError, ExchangeError, describe
from terminal.retry import Backoff
from terminal.trading.live.exchange import PrivateExchange

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Lookup:
    outcome: Outcome
    order: dict[str, Any] | None = None  # the exchange's order, when a request found it
    why: str = ""  # for UNKNOWN: what stood in the way, in plain words


async def look_up(
    exchange: PrivateExchange,
    symbol: str,
    wire_id: str,
    *,
    since: int | None,
    attempts: int,
    backoff: Backoff,
    reported: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Lookup:
    """Whether the order with client id ``wire_id`` exists (see the module's rules).
    ``reported()`` tells whether the stream has delivered it meanwhile."""
    absent_in_a_row = 0
    why = "the exchange did not answer"
    for attempt in range(max(attempts, 2)):
        if attempt:
            await sleep(backoff.next())
        if reported():
            return Lookup(Outcome.FOUND)
        try:
            certain, order = await exchange.find_order(symbol, wire_id, since)
        except ClockSkewError as exc:  # the clock could not be corrected: no use asking again
            return Lookup(Outcome.UNKNOWN, why=describe(exc))
        except ExchangeError as exc:
            log.info("looking up order %s: %s", wire_id, describe(exc, detailed=True))
            why = describe(exc)
            absent_in_a_row = 0
            if not exc.transient:
                return Lookup(Outcome.UNKNOWN, why=why)
            continue
        if not certain:
            return Lookup(
                Outcome.UNKNOWN,
                why=f"{exchange.name} cannot list closed orders, so a filled one can't be told",
            )
        if order is not None:
            return Lookup(Outcome.FOUND, order)
        if reported():
            return Lookup(Outcome.FOUND)
        absent_in_a_row += 1
        if absent_in_a_row >= 2:
            return Lookup(Outcome.ABSENT)
    return Lookup(Outcome.UNKNOWN, why=why)
