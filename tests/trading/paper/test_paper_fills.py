"""Every paper fill rule, pinned by small books and tapes with hand-computed results.

Market: prices in whole units (tick 1), amounts in hundredths (step 0.01),
maker fee 0.1%, taker fee 0.2% (different, so each fill shows which it paid).
The expected numbers are worked out by hand from the rules in docs/trading.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from pydantic import ValidationError

from terminal.errors import OrderNotFoundError, TradingError
from terminal.trading import (
    Liquidity,
    Order,
    OrderSide,
    OrderStatus,
    TimeInForce,
    validate,
)
from terminal.trading.events import AccountReset, BalanceChanged, FillAdded, OrderUpdated, PositionChanged
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.positions import DAY_MS
from tests.trading.trading_fixtures import (
    BUY,
    LIMIT,
    MARKET,
    SELL,
    STOP_LIMIT,
    STOP_MARKET,
    T0,
    D,
    accepted,
    account,
    book,
    intent,
    ticket,
    trade,
)

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
ASKS = [(100, 1), (101, 1), (102, 2)]
BIDS = [(99, 1), (98, 1), (97, 5)]
TAKER, MAKER = Liquidity.TAKER, Liquidity.MAKER


def fills_of(order: Order) -> list[tuple[Decimal, Decimal, Liquidity]]:
    return [(f.price, f.amount, f.liquidity) for f in order.fills]


def levels(*rows: tuple[str, str, Liquidity]) -> list[tuple[Decimal, Decimal, Liquidity]]:
    return [(D(p), D(a), liq) for p, a, liq in rows]


# -- market orders walk the book ----------------------------------------------------------
@dataclass
class MarketCase:
    name: str
    side: OrderSide
    amount: str
    fills: list[tuple[str, str, Liquidity]]
    status: OrderStatus
    average: str
    fee: str
    balances: dict[str, str]  # totals after
    start: dict[str, str] = field(default_factory=lambda: {"USDT": "10000", "BTC": "3"})
    asks: list[tuple[float, float]] = field(default_factory=lambda: list(ASKS))
    bids: list[tuple[float, float]] = field(default_factory=lambda: list(BIDS))
    reason: str = ""


MARKET_CASES = [
    MarketCase(
        "buy walks three levels at their prices",
        BUY,
        "2.5",
        [("100", "1", TAKER), ("101", "1", TAKER), ("102", "0.5", TAKER)],
        OrderStatus.FILLED,
        "100.8",  # (100 + 101 + 51) / 2.5
        "0.504",  # 252 * 0.002
        {"USDT": "9747.496", "BTC": "5.5"},
    ),
    MarketCase(
        "sell walks the bids down",
        SELL,
        "2.5",
        [("99", "1", TAKER), ("98", "1", TAKER), ("97", "0.5", TAKER)],
        OrderStatus.FILLED,
        "98.2",  # (99 + 98 + 48.5) / 2.5
        "0.491",  # 245.5 * 0.002
        {"USDT": "10245.009", "BTC": "0.5"},
    ),
    MarketCase(
        "a book too thin fills what it has and cancels the rest",
        BUY,
        "5",
        [("100", "1", TAKER), ("101", "1", TAKER), ("102", "2", TAKER)],
        OrderStatus.CANCELLED,
        "101.25",  # 405 / 4
        "0.81",
        {"USDT": "9594.19", "BTC": "7"},
        reason="only 4 BTC of asks",
    ),
    MarketCase(
        "fills stay on the amount step: a level's odd remainder is left",
        BUY,
        "0.5",
        [("100", "0.01", TAKER), ("101", "0.49", TAKER)],
        OrderStatus.FILLED,
        "100.98",  # (1 + 49.49) / 0.5
        "0.10098",
        {"USDT": "9949.40902", "BTC": "3.5"},
        asks=[(100, 0.015), (101, 1)],
    ),
    MarketCase(
        "a level smaller than one step is passed over",
        BUY,
        "0.5",
        [("101", "0.5", TAKER)],
        OrderStatus.FILLED,
        "101",
        "0.101",
        {"USDT": "9949.399", "BTC": "3.5"},
        asks=[(100, 0.005), (101, 1)],
    ),
    MarketCase(
        "a buy spends no more than the free quote, fee included",
        BUY,
        "2",
        # 100 * 1.002 = 100.2 leaves 49.8; at 101 * 1.002 = 101.202 a unit, 0.49 fits (49.58898), 0.5 does not
        [("100", "1", TAKER), ("101", "0.49", TAKER)],
        OrderStatus.CANCELLED,
        "100.3288590604026845637583893",  # 149.49 / 1.49
        "0.29898",
        {"USDT": "0.21102", "BTC": "1.49"},
        start={"USDT": "150"},
        reason="Not enough USDT",
    ),
    MarketCase(
        "an empty side rejects the order",
        BUY,
        "1",
        [],
        OrderStatus.REJECTED,
        "",
        "0",
        {"USDT": "10000", "BTC": "3"},
        asks=[],
        reason="No asks",
    ),
]


@pytest.mark.parametrize("case", MARKET_CASES, ids=lambda c: c.name)
def test_market_order_fills(case: MarketCase) -> None:
    acct = account(case.start)
    # Validated against a deep book and without funds (the empty side, the
    # short balance would fail validation): the paper account is the last
    # guard, meeting the book and balances the case gives.
    deep = book(BIDS, ASKS)
    vo = ticket(acct, MKT, deep, case.side, MARKET, case.amount, check_funds=False)
    order = acct.place(vo, book(case.bids, case.asks), T0)

    assert fills_of(order) == levels(*case.fills)
    assert order.status is case.status
    assert order.average_price == (D(case.average) if case.average else None)
    assert order.fee == D(case.fee)
    assert {c: b.total for c, b in acct.balances().items()} == {c: D(v) for c, v in case.balances.items()}
    assert case.reason in order.reason
    assert all(b.reserved == 0 for b in acct.balances().values())


# -- limit orders on arrival ------------------------------------------------------------------
@dataclass
class ArrivalCase:
    name: str
    side: OrderSide
    amount: str
    price: str
    fills: list[tuple[str, str, Liquidity]]
    status: OrderStatus
    reserved: dict[str, str]
    tif: TimeInForce = TimeInForce.GTC
    reason: str = ""


ARRIVAL_CASES = [
    ArrivalCase(
        "a crossing buy takes up to its limit and rests the rest",
        BUY,
        "2.5",
        "101",
        [("100", "1", TAKER), ("101", "1", TAKER)],
        OrderStatus.PARTIALLY_FILLED,
        {"USDT": "50.601", "BTC": "0"},  # 0.5 * 101 * (1 + 0.002, the higher rate)
    ),
    ArrivalCase(
        "a buy below the ask rests whole",
        BUY,
        "1",
        "99",
        [],
        OrderStatus.OPEN,
        {"USDT": "99.198", "BTC": "0"},
    ),
    ArrivalCase(
        "a crossing sell takes down to its limit",
        SELL,
        "2.5",
        "98",
        [("99", "1", TAKER), ("98", "1", TAKER)],
        OrderStatus.PARTIALLY_FILLED,
        {"USDT": "0", "BTC": "0.5"},
    ),
    ArrivalCase(
        "IOC cancels what does not fill at once",
        BUY,
        "2.5",
        "101",
        [("100", "1", TAKER), ("101", "1", TAKER)],
        OrderStatus.CANCELLED,
        {"USDT": "0", "BTC": "0"},
        tif=TimeInForce.IOC,
        reason="Immediate-or-cancel: 0.5 BTC",
    ),
    ArrivalCase(
        "FOK that the book cannot fill entirely fills nothing",
        BUY,
        "2.5",
        "101",
        [],
        OrderStatus.CANCELLED,
        {"USDT": "0", "BTC": "0"},
        tif=TimeInForce.FOK,
        reason="only 2 BTC",
    ),
    ArrivalCase(
        "FOK that the book can fill fills entirely",
        BUY,
        "2",
        "101",
        [("100", "1", TAKER), ("101", "1", TAKER)],
        OrderStatus.FILLED,
        {"USDT": "0", "BTC": "0"},
        tif=TimeInForce.FOK,
    ),
]


@pytest.mark.parametrize("case", ARRIVAL_CASES, ids=lambda c: c.name)
def test_limit_order_on_arrival(case: ArrivalCase) -> None:
    acct = account({"USDT": "10000", "BTC": "3"})
    the_book = book(BIDS, ASKS)
    vo = ticket(acct, MKT, the_book, case.side, LIMIT, case.amount, price=case.price, tif=case.tif)
    order = acct.place(vo, the_book, T0)

    assert fills_of(order) == levels(*case.fills)
    assert order.status is case.status
    assert {c: b.reserved for c, b in acct.balances().items()} == {c: D(v) for c, v in case.reserved.items()}
    assert case.reason in order.reason


def test_post_only_that_would_cross_on_arrival_is_rejected() -> None:
    acct = account()
    vo = ticket(acct, MKT, book(BIDS, ASKS), BUY, LIMIT, "1", price="99", post_only=True)
    moved = book([(98, 1)], [(99, 1)])  # the ask came down to the order's price meanwhile
    order = acct.place(vo, moved, T0)
    assert order.status is OrderStatus.REJECTED
    assert "Post-only" in order.reason
    assert order.fills == [] and acct.balances()["USDT"].reserved == 0


# -- resting limits fill on trades -----------------------------------------------------------------
def resting(acct: PaperAccount, side: OrderSide, amount: str, price: str, ts: int = T0) -> Order:
    the_book = book(BIDS, ASKS)
    return acct.place(ticket(acct, MKT, the_book, side, LIMIT, amount, price=price), the_book, ts)


def test_resting_buy_fills_at_its_price_when_a_trade_prints_at_or_below_it() -> None:
    acct = account()
    order = resting(acct, BUY, "1", "99")
    assert acct.on_trades("BTC/USDT", [trade(100, 5, T0 + 1)]) == []  # above: nothing
    fills = acct.on_trades("BTC/USDT", [trade(99, 2, T0 + 2)])
    assert [(f.price, f.amount, f.liquidity, f.fee) for f in fills] == [(D(99), D(1), MAKER, D("0.099"))]
    assert order.status is OrderStatus.FILLED
    balances = acct.balances()
    assert balances["USDT"].total == D("9900.901") and balances["USDT"].reserved == 0
    assert balances["BTC"].total == D(1)


def test_resting_buy_fills_at_its_own_price_even_when_the_trade_is_lower() -> None:
    acct = account()
    order = resting(acct, BUY, "1", "99")
    acct.on_trades("BTC/USDT", [trade(90, 2, T0 + 1)])
    assert fills_of(order) == levels(("99", "1", MAKER))


def test_resting_sell_fills_when_a_trade_prints_at_or_above_it() -> None:
    acct = account({"USDT": "0", "BTC": "1"})
    order = resting(acct, SELL, "1", "105")
    acct.on_trades("BTC/USDT", [trade(104, 3, T0 + 1)])
    assert order.filled == 0
    acct.on_trades("BTC/USDT", [trade(106, 3, T0 + 2)])
    assert fills_of(order) == levels(("105", "1", MAKER))
    assert acct.balances()["USDT"].total == D("104.895")  # 105 - 0.105


def test_resting_order_fills_partly_when_the_trade_is_smaller() -> None:
    acct = account()
    order = resting(acct, BUY, "1", "99")
    acct.on_trades("BTC/USDT", [trade(98, 0.3, T0 + 1)])
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled == D("0.3")
    # What is still held covers the rest at the limit and the higher fee rate.
    assert acct.balances()["USDT"].reserved == D("0.7") * 99 * D("1.002")
    acct.on_trades("BTC/USDT", [trade(99, 5, T0 + 2)])
    assert fills_of(order) == levels(("99", "0.3", MAKER), ("99", "0.7", MAKER))
    assert order.status is OrderStatus.FILLED and acct.balances()["USDT"].reserved == 0


def test_one_trade_is_shared_best_price_first_then_oldest() -> None:
    acct = account()
    older = resting(acct, BUY, "1", "98", T0)
    better = resting(acct, BUY, "1", "99", T0 + 1)
    same_price_newer = resting(acct, BUY, "1", "98", T0 + 2)
    acct.on_trades("BTC/USDT", [trade(97, 1.5, T0 + 3)])
    assert (better.filled, older.filled, same_price_newer.filled) == (D(1), D("0.5"), D(0))


def test_trades_before_the_order_and_replayed_trades_fill_nothing() -> None:
    acct = account()
    order = resting(acct, BUY, "1", "99", T0)
    acct.on_trades("BTC/USDT", [trade(95, 5, T0 - 1)])  # printed before the order existed
    assert order.filled == 0
    print_ = trade(99, 0.4, T0 + 1, trade_id="a")
    acct.on_trades("BTC/USDT", [print_])
    acct.on_trades("BTC/USDT", [print_])  # the stream replays it
    assert order.filled == D("0.4")


# -- stops -----------------------------------------------------------------------------------------
def test_stop_market_sell_triggers_on_the_last_price_and_walks_the_bids() -> None:
    acct = account({"USDT": "0", "BTC": "1"})
    the_book = book([(94, 0.4), (93, 1)], [(96, 1)])
    order = acct.place(
        ticket(acct, MKT, the_book, SELL, STOP_MARKET, "1", stop="95", last="96"), the_book, T0
    )
    assert order.status is OrderStatus.OPEN
    assert acct.balances()["BTC"].free == 0  # the stop holds what it will sell

    acct.on_trades("BTC/USDT", [trade(96, 1, T0 + 1)], the_book)
    assert not order.triggered
    acct.on_trades("BTC/USDT", [trade(95, 1, T0 + 2)], the_book)
    assert order.triggered and order.triggered_ms == T0 + 2
    assert fills_of(order) == levels(("94", "0.4", TAKER), ("93", "0.6", TAKER))
    assert order.status is OrderStatus.FILLED
    assert acct.balances()["USDT"].total == D("93.4") - D("93.4") * D("0.002")


def test_stop_limit_buy_triggers_then_behaves_as_a_limit_order() -> None:
    acct = account()
    the_book = book([(99, 1)], [(106, 0.5), (107, 1)])
    vo = ticket(acct, MKT, the_book, BUY, STOP_LIMIT, "1", price="106", stop="105", last="100")
    order = acct.place(vo, the_book, T0)
    acct.on_trades("BTC/USDT", [trade(104, 10, T0 + 1)], the_book)
    assert not order.triggered and order.filled == 0

    # The trigger trade makes it arrive: it takes the 0.5 at 106 as a taker and
    # rests the rest; the trigger trade itself does not also fill it.
    acct.on_trades("BTC/USDT", [trade(105, 10, T0 + 2)], the_book)
    assert fills_of(order) == levels(("106", "0.5", TAKER))
    assert order.status is OrderStatus.PARTIALLY_FILLED

    acct.on_trades("BTC/USDT", [trade(106, 1, T0 + 3)], the_book)
    assert fills_of(order) == levels(("106", "0.5", TAKER), ("106", "0.5", MAKER))
    assert order.fee == D("0.106") + D("0.053")  # taker 0.2% of 53, maker 0.1% of 53


def test_triggered_stop_market_with_no_book_is_rejected_and_releases_its_hold() -> None:
    acct = account()
    the_book = book([(99, 1)], [(101, 1)])
    order = acct.place(
        ticket(acct, MKT, the_book, BUY, STOP_MARKET, "1", stop="105", last="100"), the_book, T0
    )
    assert acct.balances()["USDT"].reserved == D("105.21")  # 105 * 1.002
    acct.on_trades("BTC/USDT", [trade(105, 1, T0 + 1)], None)
    assert order.status is OrderStatus.REJECTED and "No asks" in order.reason
    assert acct.balances()["USDT"].reserved == 0 and acct.balances()["USDT"].total == D(10000)


# -- fees --------------------------------------------------------------------------------------------
def test_each_fill_pays_its_own_rate_once() -> None:
    acct = account()
    the_book = book(BIDS, ASKS)
    order = acct.place(ticket(acct, MKT, the_book, BUY, LIMIT, "2", price="100"), the_book, T0)
    acct.on_trades("BTC/USDT", [trade(100, 1, T0 + 1)])
    assert [(f.liquidity, f.fee) for f in order.fills] == [(TAKER, D("0.2")), (MAKER, D("0.1"))]
    assert order.fee == D("0.3")
    assert acct.balances()["USDT"].total == D(10000) - 200 - D("0.3")


# -- cancel, cancel all, amend -----------------------------------------------------------------------
def test_cancel_releases_the_hold_and_keeps_what_filled() -> None:
    acct = account()
    order = resting(acct, BUY, "1", "99")
    acct.on_trades("BTC/USDT", [trade(99, 0.25, T0 + 1)])
    acct.cancel(order.client_order_id, T0 + 2)
    assert order.status is OrderStatus.CANCELLED and order.filled == D("0.25")
    assert acct.balances()["USDT"].reserved == 0
    with pytest.raises(OrderNotFoundError, match="already cancelled"):
        acct.cancel(order.client_order_id)
    with pytest.raises(OrderNotFoundError):
        acct.cancel("t-unknown")


def test_cancel_all_closes_every_open_order_of_the_symbol() -> None:
    acct = account({"USDT": "10000", "BTC": "2"})
    a = resting(acct, BUY, "1", "99")
    b = resting(acct, SELL, "1", "105")
    cancelled = acct.cancel_all("BTC/USDT", T0 + 1)
    assert {o.client_order_id for o in cancelled} == {a.client_order_id, b.client_order_id}
    assert acct.orders(open_only=True) == []
    assert all(x.reserved == 0 for x in acct.balances().values())


def test_amend_is_cancel_then_replace_and_moves_the_hold() -> None:
    acct = account({"USDT": "150"})
    old = resting(acct, BUY, "1", "99")  # holds 99.198 of 150
    the_book = book(BIDS, ASKS)
    # Validated as if the old order were gone: 1.4 at 98 would not fit beside it.
    replacement = accepted(
        validate(
            intent(BUY, LIMIT, "1.4", price="98"),
            MKT,
            book=the_book,
            balance=acct.free_balances(releasing=old.client_order_id),
            fees=acct.fees,
        )
    )
    new = acct.amend(old.client_order_id, replacement, the_book, T0 + 1)
    assert old.status is OrderStatus.CANCELLED and new.client_order_id in old.reason
    assert new.status is OrderStatus.OPEN and new.price == D(98)
    assert acct.balances()["USDT"].reserved == D("1.4") * 98 * D("1.002")
    with pytest.raises(TradingError):
        acct.amend(new.client_order_id, replacement, the_book)  # same client id again


# -- PnL -----------------------------------------------------------------------------------------------
def test_realised_and_unrealised_pnl_by_average_cost_include_fees() -> None:
    acct = account()
    the_book = book(BIDS, [(100, 1), (110, 1)])
    acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "1"), the_book, T0)  # 100 + 0.2 fee
    acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "1"), book(BIDS, [(110, 1)]), T0 + 1)  # 110 + 0.22
    position = acct.position("BTC/USDT")
    assert position.amount == 2 and position.average_cost == D("105.21")
    assert acct.unrealised_pnl({"BTC/USDT": D(120)}) == {"BTC/USDT": D(240) - D("210.42")}

    sell = ticket(acct, MKT, the_book, SELL, LIMIT, "1", price="120")
    acct.place(sell, book([(119, 1)], [(121, 1)]), T0 + 2)
    acct.on_trades("BTC/USDT", [trade(120, 1, T0 + 3)])  # maker: fee 0.12
    assert acct.realised_pnl() == {"BTC/USDT": D(120) - D("105.21") - D("0.12")}
    # Realised + unrealised is exactly what the account gained at that mark.
    equity = acct.balances()["USDT"].total + acct.balances()["BTC"].total * 120
    gained = acct.realised_pnl()["BTC/USDT"] + acct.unrealised_pnl({"BTC/USDT": D(120)})["BTC/USDT"]
    assert equity - 10000 == gained


def test_daily_pnl_counts_from_the_utc_day_start() -> None:
    acct = account()
    the_book = book(BIDS, [(100, 1)])
    acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "1"), the_book, T0)  # cost 100.2
    acct.on_trades("BTC/USDT", [trade(110, 1, T0 + 1)])
    assert acct.day_pnl(T0 + 2) == D("9.8")  # marked at the last trade, 110

    next_day = (T0 // DAY_MS + 1) * DAY_MS
    acct.on_trades("BTC/USDT", [trade(120, 1, next_day + 5)])  # first event of the day: baseline at 110
    assert acct.day_pnl(next_day + 6, {"BTC/USDT": D(120)}) == D(10)  # 110 -> 120 today
    assert acct.risk_state(next_day + 6, {"BTC/USDT": D(120)}).day_pnl == D(10)


# -- events -----------------------------------------------------------------------------------------
def test_one_operation_publishes_its_fills_then_final_states() -> None:
    acct = account()
    events: list[object] = []
    acct.subscribe(events.append)
    the_book = book(BIDS, ASKS)
    order = acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "2.5"), the_book, T0)
    kinds = [type(e) for e in events]
    assert kinds == [FillAdded] * 3 + [OrderUpdated, PositionChanged, BalanceChanged, BalanceChanged]
    update = events[3]
    assert isinstance(update, OrderUpdated) and update.order.status is OrderStatus.FILLED
    assert update.order is not order  # a copy: later changes cannot rewrite what was published
    balances = {e.balance.currency: e.balance.total for e in events if isinstance(e, BalanceChanged)}
    assert balances == {"BTC": D("2.5"), "USDT": D("9747.496")}

    events.clear()
    acct.reset()
    assert isinstance(events[0], AccountReset)
    assert acct.balances()["USDT"].total == D(10000) and acct.orders() == [] and acct.fills() == []


# -- persistence ----------------------------------------------------------------------------------
def test_to_dict_round_trips_through_json_and_the_copy_trades_on_identically() -> None:
    acct = account({"USDT": "10000", "BTC": "1"})
    the_book = book(BIDS, ASKS)
    acct.place(ticket(acct, MKT, the_book, BUY, MARKET, "1.5"), the_book, T0)
    resting(acct, BUY, "2", "95", T0 + 1)
    acct.place(
        ticket(acct, MKT, the_book, SELL, STOP_LIMIT, "1", price="90", stop="91", last="99"), the_book, T0 + 2
    )
    acct.on_trades("BTC/USDT", [trade(95, 0.5, T0 + 3, "x")], the_book)

    saved = json.loads(json.dumps(acct.to_dict()))
    copy = PaperAccount.from_dict(saved)
    assert copy.to_dict() == acct.to_dict()
    assert copy.balances() == acct.balances()  # reserved rebuilt from the open orders' holds

    for a in (acct, copy):
        a.on_trades("BTC/USDT", [trade(95, 0.5, T0 + 3, "x"), trade(90, 5, T0 + 4, "y")], the_book)
    assert copy.to_dict() == acct.to_dict()
    assert acct.orders()[1].status is OrderStatus.FILLED  # the resting buy, filled by trade y


def test_settings_refuse_a_negative_start_balance() -> None:
    with pytest.raises(ValidationError, match="start balance of USDT"):
        PaperSettings(start_balances={"USDT": D(-1)})
