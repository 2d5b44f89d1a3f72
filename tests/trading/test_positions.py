"""A position's average entry price leaves fees out and its fees are kept apart,
while its P&L stays exact (fees counted); accounts saved before that was so
still load, with the entry and fees rebuilt from their fills.

Market of tests/trading/paper: prices in whole units, maker fee 0.1%, taker 0.2%.
"""

from __future__ import annotations

import json

from terminal.trading.live.state import LiveState
from terminal.trading.orders import OrderSide
from terminal.trading.paper.account import PaperAccount
from terminal.trading.positions import Position
from tests.trading.trading_fixtures import BUY, LIMIT, MARKET, SELL, T0, D, account, book, ticket, trade

MKT = {
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "spot": True,
    "active": True,
    "maker": 0.001,
    "taker": 0.002,
    "precision": {"price": 1.0, "amount": 0.01},
    "limits": {"amount": {"min": 0.01}, "price": {"min": 1.0}, "cost": {}},
}
BIDS = [(99, 1), (98, 1)]


def bought_twice_and_sold_once() -> PaperAccount:
    """1 BTC at 100 (fee 0.2), 1 at 110 (fee 0.22), then 1 sold at 120 as a maker (fee 0.12)."""
    acct = account()
    acct.place(ticket(acct, MKT, book(BIDS, [(100, 1)]), BUY, MARKET, "1"), book(BIDS, [(100, 1)]), T0)
    acct.place(ticket(acct, MKT, book(BIDS, [(110, 1)]), BUY, MARKET, "1"), book(BIDS, [(110, 1)]), T0 + 1)
    sell = ticket(acct, MKT, book(BIDS, [(121, 1)]), SELL, LIMIT, "1", price="120")
    acct.place(sell, book([(119, 1)], [(121, 1)]), T0 + 2)
    acct.on_trades("BTC/USDT", [trade(120, 1, T0 + 3)])
    return acct


def test_average_entry_leaves_fees_out_and_fees_are_kept_apart() -> None:
    acct = account()
    acct.place(ticket(acct, MKT, book(BIDS, [(100, 1)]), BUY, MARKET, "1"), book(BIDS, [(100, 1)]), T0)
    acct.place(ticket(acct, MKT, book(BIDS, [(110, 1)]), BUY, MARKET, "1"), book(BIDS, [(110, 1)]), T0 + 1)
    position = acct.position("BTC/USDT")
    assert position.average_entry == D(105)  # (100 + 110) / 2: the fill prices alone
    assert position.fees == D("0.42")  # 0.2 + 0.22
    assert position.average_cost == D("105.21")  # the break-even price still counts them

    acct = bought_twice_and_sold_once()
    position = acct.position("BTC/USDT")
    assert position.amount == 1 and position.average_entry == D(105)  # a sale leaves the average as it was
    assert position.fees == D("0.54")  # the sale's maker fee 0.12 too
    # The P&L is the exact one, fees counted: 120 - 105.21 - 0.12.
    assert position.realised == D("14.67")
    assert acct.unrealised_pnl({"BTC/USDT": D(120)}) == {"BTC/USDT": D(120) - D("105.21")}


def test_closing_the_whole_position_leaves_no_entry_and_keeps_the_fees() -> None:
    position = Position("BTC/USDT")
    position.apply(OrderSide.BUY, D(3), D(100), D("0.3"))
    position.apply(OrderSide.SELL, D(3), D(90), D("0.27"))
    assert position.amount == 0 and position.entry_cost == 0 and position.average_entry is None
    assert position.fees == D("0.57")
    assert position.realised == D(270) - D("300.3") - D("0.27")


def test_an_account_saved_before_fees_were_apart_loads_with_its_entry_rebuilt() -> None:
    acct = bought_twice_and_sold_once()
    saved = json.loads(json.dumps(acct.to_dict()))
    for kept in saved["ledger"]["positions"].values():  # as the previous version saved them
        del kept["entry_cost"], kept["fees"]

    loaded = PaperAccount.from_dict(saved).position("BTC/USDT")
    assert loaded == acct.position("BTC/USDT")  # amount, cost, P&L, entry and fees alike
    assert loaded.average_entry == D(105) and loaded.fees == D("0.54")


def test_a_saved_position_without_its_fills_reads_its_entry_as_its_cost() -> None:
    old = {"amount": "2", "cost": "210.42", "realised": "0"}  # no entry and no fills to rebuild it
    position = Position.from_dict("BTC/USDT", old)
    assert position.average_entry == D("105.21") and position.fees == 0
    assert not Position.has_entry(old) and Position.has_entry(position.to_dict())
    assert Position.from_dict("BTC/USDT", position.to_dict()) == position


def test_a_live_buy_whose_fee_is_paid_in_the_base_currency_enters_at_the_fill_price() -> None:
    """Binance takes a buy's fee in the coin bought: the amount got is smaller,
    the entry is still the fill price, and the coins kept are a fee at that price."""
    state = LiveState("USDT")
    state.markets["BTC/USDT"] = MKT
    state.apply_balance({"BTC": {"free": 0.999, "used": 0, "total": 0.999}}, complete=True)
    state.apply_order(
        {
            "id": "1",
            "symbol": "BTC/USDT",
            "side": "buy",
            "type": "market",
            "status": "closed",
            "amount": 1,
            "filled": 1,
            "cost": 100,
            "timestamp": T0,
            "trades": [{"id": "t1", "price": 100, "amount": 1, "fee": {"cost": 0.001, "currency": "BTC"}}],
        },
        client_order_id="c-1",
    )
    position = state.position("BTC/USDT")
    assert position.amount == D("0.999")
    assert position.average_entry == D(100)
    assert position.fees == D("0.1")  # 0.001 BTC at 100
    assert position.cost == D(100)  # what was paid, as before
