"""Brackets, OCO pairs and trailing stops through the paper broker, on a live
session over the simulated exchange (with a clock the test moves), saved in a
real history file: what the order ticket calls (``bracket_desk(broker)``)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from terminal.errors import OrderInvalidError
from terminal.store.candles import CandleStore
from terminal.trading import OrderStatus, OrderType
from terminal.trading.brackets import (
    Bracket,
    BracketDesk,
    BracketMode,
    BracketStatus,
    Exits,
    Role,
    bracket_desk,
)
from terminal.trading.market_rules import MarketRules
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.paper.broker import PaperBroker
from tests.conftest import run
from tests.trading.paper.test_paper_broker import BUY, SELL, Market, broker_on, intent, live_market

D = Decimal


def prices(market: Market, up: str, down: str) -> Exits:
    """A take-profit ``up`` above the mid and a stop-loss ``down`` below it, on the tick."""
    tick = MarketRules.from_ccxt(market.session.markets["BTC/USDT"]).price_tick
    mid = to_decimal(market.session.book.mid or 0)
    return Exits(floor_to_step(mid * (1 + D(up)), tick), floor_to_step(mid * (1 - D(down)), tick))


def desk_of(broker: PaperBroker) -> BracketDesk:
    desk = bracket_desk(broker)
    assert desk is not None
    return desk


def test_a_bracket_entry_places_its_exits_journals_them_and_survives_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            desk = desk_of(broker)
            assert desk.mode is BracketMode.NATIVE and desk.mode.words == "native"
            heard: list[Bracket] = []
            desk.subscribe(heard.append)

            exits = prices(market, "0.05", "0.05")
            entry = await desk.submit(intent(amount="0.02"), exits)

            assert entry.status is OrderStatus.FILLED
            bracket = desk.bracket_of(entry.client_order_id)
            assert bracket is not None and bracket.status is BracketStatus.ACTIVE
            assert bracket.exits == exits and heard[-1].bracket_id == bracket.bracket_id
            exits_open = {o.type: o for o in broker.open_orders() if o.reduce_only}
            assert {t: (o.side, o.amount) for t, o in exits_open.items()} == {
                OrderType.LIMIT: (SELL, D("0.02")),
                OrderType.STOP_MARKET: (SELL, D("0.02")),
            }
            assert exits_open[OrderType.LIMIT].price == exits.take_profit
            assert exits_open[OrderType.STOP_MARKET].stop_price == exits.stop_loss
            assert broker.balances()["BTC"].reserved == D("0.02")  # held once for both
            kinds = [e.kind for e in broker.journal.entries(client_order_id=bracket.bracket_id)]
            assert "bracket" in kinds
            await broker.close()

            again = broker_on(market, store)
            await again.start()
            kept = desk_of(again).brackets()
            assert [(b.bracket_id, b.status) for b in kept] == [(bracket.bracket_id, BracketStatus.ACTIVE)]
            assert {o.client_order_id for o in again.open_orders()} == {
                o.client_order_id for o in exits_open.values()
            }
            assert again.balances()["BTC"].reserved == D("0.02")

            closed = await desk_of(again).cancel(bracket.bracket_id)
            assert closed.status is BracketStatus.CLOSED and again.open_orders() == []
            assert desk_of(again).brackets() == []
            await again.close()
            store.close()

    run(scenario)


def test_dragging_a_bracket_stop_through_the_desk_keeps_the_pair(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            desk = desk_of(broker)
            exits = prices(market, "0.2", "0.2")  # a take-profit beyond the 5% price band: exits skip it
            entry = await desk.submit(intent(amount="0.01"), exits)
            bracket = desk.bracket_of(entry.client_order_id)
            assert bracket is not None
            stop = next(p for p in bracket.parts if p.role is Role.STOP_LOSS)
            take = next(p for p in bracket.parts if p.role is Role.TAKE_PROFIT)
            higher = prices(market, "0.3", "0.1")

            moved = await desk.replace(
                stop.client_order_id,
                intent(SELL, OrderType.STOP_MARKET, "0.01", stop_price=higher.stop_loss, reduce_only=True),
            )
            assert moved.is_open and moved.stop_price == higher.stop_loss
            now = desk.bracket_of(moved.client_order_id)
            assert now is not None and now.exits == Exits(exits.take_profit, higher.stop_loss)
            lifted = await desk.replace(
                take.client_order_id,
                intent(SELL, OrderType.LIMIT, "0.01", price=higher.take_profit, reduce_only=True),
            )
            assert lifted.is_open and lifted.price == higher.take_profit
            assert len([o for o in broker.open_orders() if o.reduce_only]) == 2
            assert broker.balances()["BTC"].reserved == D("0.01")
            await broker.close()
            store.close()

    run(scenario)


def test_wrong_exits_are_refused_journalled_and_nothing_is_placed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            upside_down = prices(market, "-0.05", "-0.05")  # take-profit below, stop-loss above
            ticket = intent(amount="0.01")
            with pytest.raises(OrderInvalidError) as refused:
                await desk_of(broker).submit(ticket, upside_down)
            assert refused.value.field == "take_profit"
            assert "For a buy, the take-profit must be above the entry price" in refused.value.user_message()
            assert {p.field for p in refused.value.problems} == {"take_profit", "stop_loss"}  # type: ignore[attr-defined]
            check = [
                e for e in broker.journal.entries(client_order_id=ticket.client_order_id) if e.kind == "check"
            ]
            assert check and check[0].payload["ok"] is False
            assert broker.orders() == [] and desk_of(broker).brackets() == []
            await broker.close()
            store.close()

    run(scenario)


def test_an_oco_pair_on_coins_held_and_a_trailing_stop(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            await broker.submit(intent(BUY, amount="0.03"))
            desk = desk_of(broker)

            pair = await desk.submit_oco("BTC/USDT", SELL, D("0.02"), prices(market, "0.05", "0.05"))
            assert pair.entry_id is None and pair.status is BracketStatus.ACTIVE
            with pytest.raises(OrderInvalidError) as refused:  # 0.01 is left free
                await desk.submit_oco("BTC/USDT", SELL, D("0.02"), prices(market, "0.05", "0.05"))
            assert refused.value.field == "amount"

            trailing = dataclasses.replace(
                intent(SELL, OrderType.TRAILING_STOP, "0.01"), trail_percent=D("1")
            )
            placed = await broker.submit(trailing)
            assert placed.is_open and placed.stop_price is not None
            last = broker.account_now().order(placed.client_order_id).trail_extreme
            assert last is not None and placed.stop_price < last
            await broker.close()
            store.close()

    run(scenario)
