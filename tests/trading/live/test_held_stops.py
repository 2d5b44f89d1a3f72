"""Stops the terminal holds for a live account (``terminal.trading.live.held``),
with the real ccxt classes against the loopback exchanges (both protocols):
a spot bracket's stop-loss beside its take-profit, and trailing stops.

The market is paused; the trades that move a held stop come from
``server.print_trade``, which puts a public trade on the tape the broker
watches. The exchange's side is checked each time: nothing of a held stop
reaches it until the stop triggers, then one market order under the stop's
own client order id.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from terminal.trading.brackets import Bracket, BracketStatus, Exits, Role
from terminal.trading.events import OrderUpdated
from terminal.trading.money import floor_to_step
from terminal.trading.orders import OrderIntent, OrderSide, OrderStatus, OrderType
from tests.loopback.protocols import Protocol
from tests.trading.live.live_helpers import SYMBOL, Live, both, run

pytestmark = pytest.mark.slow

D = Decimal


def _exchange_states(live: Live, cid: str) -> list[str]:
    """The exchange's states of its orders under ``cid`` (empty: it never saw one)."""
    return [state for wire, state in live.server_orders() if wire == cid]


def _stop_moves(live: Live, cid: str) -> list[Decimal | None]:
    """The stop prices the broker told its listeners for ``cid``, in order, without repeats."""
    seen: list[Decimal | None] = []
    for order in [e.order for e in live.events if isinstance(e, OrderUpdated)]:
        if order.client_order_id == cid and (not seen or seen[-1] != order.stop_price):
            seen.append(order.stop_price)
    return seen


async def _watched(live: Live) -> None:
    """The broker watches the symbol's trades (a trade printed before would go unseen)."""
    await live.until(lambda: live.server.trade_watchers(SYMBOL) > 0, "the broker watching the trades")


def _both_exits(bracket: Bracket | None) -> bool:
    return (
        bracket is not None
        and bracket.status is BracketStatus.ACTIVE
        and bracket.open_exit(Role.TAKE_PROFIT) is not None
        and bracket.open_exit(Role.STOP_LOSS) is not None
    )


async def _bracket(live: Live) -> tuple[str, str, str, Decimal]:
    """A market buy of 0.002 BTC with a take-profit 500 above the best ask and a
    stop-loss 500 below the best bid, once both exits stand: (entry id,
    take-profit id, stop-loss id, stop price)."""
    await live.subscribed()
    bid, ask = live.price("bid", 0), live.price("ask", 0)
    stop = bid - D(500)
    entry = OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, D("0.002"))
    await live.broker.brackets.submit(entry, Exits(ask + D(500), stop))
    cid = entry.client_order_id
    await live.until(lambda: _both_exits(live.broker.brackets.bracket_of(cid)), "both exits of the bracket")
    bracket = live.broker.brackets.bracket_of(cid)
    assert bracket is not None
    take, held = bracket.open_exit(Role.TAKE_PROFIT), bracket.open_exit(Role.STOP_LOSS)
    assert take is not None and held is not None
    await _watched(live)
    return cid, take.client_order_id, held.client_order_id, stop


@both
def test_a_spot_bracket_rests_its_take_profit_and_holds_its_stop_loss_until_a_trade_reaches_it(
    protocol: Protocol,
) -> None:
    async def scenario(live: Live) -> None:
        _, take, held, stop = await _bracket(live)

        # The take-profit rests on the exchange; the stop-loss is the terminal's alone.
        assert _exchange_states(live, take) == ["open"]
        assert _exchange_states(live, held) == []
        shown = live.broker.order(held)
        assert shown.held and shown.is_open and shown.type is OrderType.STOP_MARKET and not shown.order_id
        assert shown.stop_price == stop and shown.amount == D("0.002")
        assert {o.client_order_id for o in live.broker.open_orders(SYMBOL)} == {take, held}

        live.server.print_trade(SYMBOL, float(stop + D(1)), 0.01)  # above the stop: nothing
        live.server.print_trade(SYMBOL, float(stop), 0.01)  # at it: the stop triggers
        await live.until(
            lambda: live.broker.order(held).status is OrderStatus.FILLED, "the stop-loss's market sell"
        )

        # The take-profit was cancelled first (it held the coins), then one market
        # sell under the stop-loss's own id went out and filled.
        assert _exchange_states(live, take) == ["canceled"]
        assert _exchange_states(live, held) == ["filled"]
        sold = live.broker.order(held)
        assert sold.type is OrderType.STOP_MARKET and sold.triggered and sold.held
        assert sold.filled == D("0.002") and sold.stop_price == stop
        await live.until(lambda: live.broker.brackets.brackets() == [], "the bracket closed")
        assert live.broker.open_orders(SYMBOL) == []
        assert [k for k, p in live.journal.of(held) if k == "held" and p.get("cause") == "triggered"]

    run(protocol, scenario)


@both
def test_a_trailing_stop_is_held_follows_each_new_high_and_sells_when_the_price_falls_back(
    protocol: Protocol,
) -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        trailing = OrderIntent(
            SYMBOL, OrderSide.SELL, OrderType.TRAILING_STOP, D("0.001"), trail_amount=D(100)
        )
        cid = trailing.client_order_id
        placed = await live.broker.submit(trailing)
        first = placed.stop_price
        assert placed.held and placed.is_open and first is not None and placed.trail_extreme is not None
        # it trails from the mid, rounded to the tick away from the market
        assert first == floor_to_step(placed.trail_extreme - D(100), placed.price_tick)
        assert live.server.order_requests == 0 and _exchange_states(live, cid) == []
        await _watched(live)

        high = floor_to_step(placed.trail_extreme, placed.price_tick) + D(300)
        live.server.print_trade(SYMBOL, float(high), 0.01)  # a new high: the stop follows
        await live.until(lambda: live.broker.order(cid).stop_price == high - D(100), "the stop following")
        live.server.print_trade(SYMBOL, float(high - D(50)), 0.01)  # back, not to the stop
        live.server.print_trade(SYMBOL, float(high - D(100)), 0.01)  # at the stop
        await live.until(lambda: live.broker.order(cid).status is OrderStatus.FILLED, "the market sell")

        assert _stop_moves(live, cid) == [first, high - D(100)]  # never moved back down
        assert _exchange_states(live, cid) == ["filled"]
        sold = live.broker.order(cid)
        assert sold.type is OrderType.TRAILING_STOP and sold.triggered and sold.filled == D("0.001")

    run(protocol, scenario)


@both
def test_a_held_stop_is_cancelled_without_a_request_and_its_bracket_cancels_the_take_profit(
    protocol: Protocol,
) -> None:
    async def scenario(live: Live) -> None:
        entry, take, held, _ = await _bracket(live)
        requests = live.server.order_requests

        cancelled = await live.broker.cancel(held)  # the user cancels the stop-loss alone

        assert cancelled.status is OrderStatus.CANCELLED and cancelled.held
        await live.until(lambda: _exchange_states(live, take) == ["canceled"], "the take-profit cancelled")
        await live.until(lambda: live.broker.brackets.brackets() == [], "the pair ended")
        assert live.server.order_requests == requests  # a cancel is no order
        assert live.broker.open_orders(SYMBOL) == []
        assert live.broker.order(entry).status is OrderStatus.FILLED  # the position stays

    run(protocol, scenario)


@both
def test_a_held_stop_is_held_again_after_a_restart_and_still_triggers(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        trailing = OrderIntent(
            SYMBOL, OrderSide.SELL, OrderType.TRAILING_STOP, D("0.001"), trail_percent=D(1)
        )
        cid = trailing.client_order_id
        placed = await live.broker.submit(trailing)
        await _watched(live)
        high = floor_to_step(placed.trail_extreme or D(0), placed.price_tick) + D(200)
        live.server.print_trade(SYMBOL, float(high), 0.01)
        await live.until(lambda: live.broker.order(cid).trail_extreme == high, "the new high")
        before = live.broker.order(cid)
        await live.broker.close()  # the terminal quits; the stop is on no exchange
        await live.until(lambda: live.server.trade_watchers(SYMBOL) == 0, "the old watch gone")

        again = live.new_broker()
        try:
            await again.start()
            kept = again.order(cid)
            assert kept.held and kept.is_open and not kept.triggered
            assert (kept.trail_extreme, kept.stop_price) == (high, before.stop_price)
            assert _exchange_states(live, cid) == []
            await _watched(live)

            live.server.print_trade(SYMBOL, float(high * D("0.98")), 0.01)  # 2 % down: through a 1 % trail
            await live.until(lambda: again.order(cid).status is OrderStatus.FILLED, "the sell, restarted")
            assert _exchange_states(live, cid) == ["filled"]
        finally:
            await again.close()

    run(protocol, scenario)


@both
def test_cancel_all_cancels_held_stops_with_the_exchange_orders(protocol: Protocol) -> None:
    async def scenario(live: Live) -> None:
        await live.subscribed()
        trailing = OrderIntent(
            SYMBOL, OrderSide.SELL, OrderType.TRAILING_STOP, D("0.001"), trail_percent=D(2)
        )
        held = await live.broker.submit(trailing)
        resting = await live.broker.submit(live.limit_buy(level=5))
        assert {o.client_order_id for o in live.broker.open_orders()} == {
            held.client_order_id, resting.client_order_id,
        }  # fmt: skip

        cancelled = await live.broker.cancel_all()

        assert {o.client_order_id: o.status for o in cancelled} == {
            held.client_order_id: OrderStatus.CANCELLED,
            resting.client_order_id: OrderStatus.CANCELLED,
        }
        assert live.broker.open_orders() == []
        assert _exchange_states(live, resting.client_order_id) == ["canceled"]
        assert _exchange_states(live, held.client_order_id) == []

    run(protocol, scenario)
