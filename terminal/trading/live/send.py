"""One order to the exchange, and what follows when the answer is lost.

``send_order`` creates the order with its client order id and returns it as
the exchange took it. An answer that only acknowledges the order, with no
state (OKX), is followed by one read of the order, so that what is returned
says filled, resting or cancelled as Binance's full answer does. A refusal
(funds, filters, post-only, the key, a rate limit, ...) is recorded as a
rejected order, with the reason, and raised; so is a post-only order the
exchange took and cancelled at once because it would have traded (OKX).
No answer (a timeout, a network error, an answer that cannot be read, the
exchange's own "status unknown") is **never** answered by sending again: the
order is looked up by its client order id (``reconcile``):

- found: adopted, returned as any placed order;
- certainly absent: sent once more, with the same client order id (an
  exchange refuses an id that is still open, so the worst case is a
  refusal); absent again after that: rejected, not sent a third time;
- unknown: shown as "Unknown — check the exchange" and
  ``OrderStatusUnknownError`` raised; the refresh keeps looking it up.

A create refused for its time stamp (``ClockSkewError``) measures the clock
offset once, then follows the same rules: looked up first, resent only if
certainly absent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from terminal.errors import (
    AuthenticationFailedError,
    ClockSkewError,
    ExchangeError,
    InsufficientFundsError,
    NotSupportedError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TerminalError,
    describe,
)
from terminal.retry import Backoff
from terminal.trading.journal import AccountJournal
from terminal.trading.live.exchange import PrivateExchange
from terminal.trading.live.journal import exchange_order
from terminal.trading.live.orders import POST_ONLY_HINT, POST_ONLY_REASON, POST_ONLY_TOOK, create_request
from terminal.trading.live.reconcile import Outcome, look_up
from terminal.trading.live.state import LiveState
from terminal.trading.money import fmt
from terminal.trading.orders import Order, OrderStatus
from terminal.trading.validation import ValidatedOrder

log = logging.getLogger(__name__)

UNKNOWN_REASON = (
    "Unknown — check the exchange: the answer to this order was lost and the exchange has not said."
)
LOOK_BACK_MS = 60_000  # order history asked for from this long before the order was made


@dataclass(frozen=True)
class ReconcileSettings:
    attempts: int = 5  # lookups by client order id after a lost answer
    backoff: float = 0.5  # first wait between lookups; doubles, with jitter
    backoff_cap: float = 4.0


async def _read_back(
    exchange: PrivateExchange, state: LiveState, journal: AccountJournal, order: Order
) -> None:
    """The order's state after an answer that only acknowledged it (OKX answers a
    new order with its ids alone): filled at once, resting, or cancelled by the
    exchange. It is in, so a failure here is only logged: the streams and the
    refresh will tell."""
    try:
        raw = await exchange.fetch_order(order.order_id, order.symbol)
    except TerminalError as exc:
        log.info(
            "order %s is in; reading it back failed: %s", order.client_order_id, describe(exc, detailed=True)
        )
        return
    state.apply_order(raw, order.client_order_id)
    journal.record(
        "response", {"order": exchange_order(raw), "read_back": True}, order.client_order_id, order.symbol
    )


async def send_order(
    exchange: PrivateExchange,
    state: LiveState,
    journal: AccountJournal,
    order: ValidatedOrder,
    settings: ReconcileSettings,
    publish: Callable[[], None],
) -> Order:
    cid, symbol = order.client_order_id, order.symbol
    wire = exchange.wire_client_id(cid)
    request = create_request(order, exchange.client_id_params(wire))
    state.add_pending(order, wire)

    def refused(error: TerminalError) -> NoReturn:
        state.reject(cid, error.user_message())
        journal.record(
            "error",
            {"error": error.user_message(), "kind": type(error).__name__, "detail": error.detail},
            cid,
            symbol,
        )
        publish()
        raise error

    resent = clock_corrected = False
    while True:
        journal.record("request", {"create": request.to_dict(), "resend": resent}, cid, symbol)
        lost: ExchangeError
        try:
            raw = await exchange.create_order(
                request.symbol, request.type, request.side, request.amount, request.price, request.params
            )
        except ClockSkewError as exc:
            if clock_corrected:
                refused(exc)
            clock_corrected = True
            try:
                await exchange.sync_clock()
            except ClockSkewError as failed:
                refused(failed)
            lost = exc  # refused for its time stamp: confirmed absent by id before it goes again
        except (OrderRejectedError, InsufficientFundsError, AuthenticationFailedError, RateLimitedError,
                NotSupportedError) as exc:  # fmt: skip
            refused(exc)
        except ExchangeError as exc:  # no answer, or none that can be read: it may be in
            lost = exc
        except TerminalError as exc:
            refused(exc)
        except asyncio.CancelledError:
            state.mark_unknown(cid, UNKNOWN_REASON)
            raise
        else:
            placed = state.apply_order(raw, cid) or state.orders[cid]
            journal.record("response", {"order": exchange_order(raw)}, cid, symbol)
            if not raw.get("status") and placed.is_open:
                await _read_back(exchange, state, journal, placed)
            if placed.status is OrderStatus.REJECTED:  # taken, then refused at once (OKX: post-only)
                took = placed.reason == POST_ONLY_REASON
                refused(OrderRejectedError(
                    f"{exchange.name} refused the order" + (f": {POST_ONLY_TOOK}." if took else "."),
                    hint=POST_ONLY_HINT if took else "",
                ))  # fmt: skip
            publish()
            return placed.snapshot()

        log.warning("order %s: %s; looking it up by its client order id", cid, describe(lost, detailed=True))
        lookup = await look_up(
            exchange,
            symbol,
            wire,
            since=state.orders[cid].created_ms - LOOK_BACK_MS,
            attempts=settings.attempts,
            backoff=Backoff(settings.backoff, settings.backoff_cap, jitter=True),
            reported=lambda: bool(state.orders[cid].order_id),
        )
        reconcile = {"after": describe(lost), "outcome": lookup.outcome.value, "why": lookup.why}
        found = exchange_order(lookup.order) if lookup.order is not None else None
        journal.record("response", {"reconcile": reconcile, "order": found}, cid, symbol)
        if lookup.outcome is Outcome.FOUND:
            if lookup.order is not None:
                state.apply_order(lookup.order, cid)
            log.info("order %s found on %s after the lost answer: adopted", cid, exchange.name)
            publish()
            return state.orders[cid].snapshot()
        if lookup.outcome is Outcome.ABSENT and not resent:
            log.info("order %s is certainly not on %s: sending it once more, same id", cid, exchange.name)
            resent = True
            continue
        if lookup.outcome is Outcome.ABSENT:
            lost.hint = "The order did not reach the exchange, twice; it was not sent again."
            refused(lost)
        state.mark_unknown(cid, UNKNOWN_REASON)
        journal.record("error", {"error": UNKNOWN_REASON, "why": lookup.why}, cid, symbol)
        publish()
        raise OrderStatusUnknownError(
            f"{exchange.name} did not say whether it took order {cid} ({order.side.value} "
            f"{fmt(order.amount)} {symbol}), and asking it by the order's id did not tell either "
            f"({lookup.why}). The order is shown as unknown: check it on the exchange before placing it "
            "again.",
            client_order_id=cid,
            hint="The terminal keeps asking and updates the order when the exchange answers; "
            "it never sends it again by itself.",
            detail=lost.detail,
        )
