"""Brackets, OCO pairs and trailing stops on the paper account, pinned by small
books and tapes with hand-worked results (the market of test_paper_fills:
tick 1, step 0.01, maker 0.1%, taker 0.2%).

A bracket here is a buy entry with a take-profit at 110 and a stop-loss at 90
unless a case says otherwise; the book's bids are 89/88/87 below the stop, so a
triggered stop-loss sells into them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from terminal.errors import OrderInvalidError, OrderNotFoundError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading import Order, OrderSide, OrderStatus, OrderType, ValidatedOrder, validate
from terminal.trading.brackets import Bracket, BracketMode, BracketStatus, Exits, Role
from terminal.trading.market_rules import MarketRules
from terminal.trading.paper.account import PaperAccount
from tests.trading.trading_fixtures import (
    BUY,
    LIMIT,
    MARKET,
    SELL,
    T0,
    D,
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
SYMBOL = "BTC/USDT"
EXITS = Exits(take_profit=D(110), stop_loss=D(90))
TRAILING = OrderType.TRAILING_STOP


def near_book() -> OrderBook:
    return book(bids=[(99, 5), (98, 5)], asks=[(100, 5), (101, 5)])


def low_book() -> OrderBook:
    """Where the market is once it has fallen through the stop-loss."""
    return book(bids=[(89, 0.5), (88, 0.5), (87, 5)], asks=[(90, 5)])


def high_book() -> OrderBook:
    return book(bids=[(110, 5)], asks=[(111, 5)])


def place_bracket(
    acc: PaperAccount, amount: str = "1", price: str | None = "99", exits: Exits = EXITS
) -> Bracket:
    type_ = LIMIT if price is not None else MARKET
    order = ticket(acc, MKT, near_book(), BUY, type_, amount, price=price)
    acc.place(order, near_book(), T0, exits=exits)
    bracket = acc.bracket_of(order.client_order_id)
    assert bracket is not None
    return bracket


class Watched:
    """An account and every bracket it published, newest state of each."""

    def __init__(self, acc: PaperAccount) -> None:
        self.acc = acc
        self.seen: dict[str, Bracket] = {}
        acc.subscribe_brackets(lambda b: self.seen.__setitem__(b.bracket_id, b))

    def now(self, bracket: Bracket) -> Bracket:
        """The bracket as it is (open) or as last published (closed ones leave the account)."""
        live = self.acc.bracket_of(bracket.order_ids()[0])
        return live if live is not None else self.seen[bracket.bracket_id]


def watched(start: dict[str, str]) -> Watched:
    return Watched(account(start))


def exit_order(acc: PaperAccount, bracket: Bracket, role: Role) -> Order:
    """The order that is ``role`` now (the newest of that role)."""
    parts = [p for p in bracket.parts if p.role is role]
    assert parts, f"no {role.words} was placed"
    return acc.order(parts[-1].client_order_id)


def exits_of(acc: PaperAccount) -> list[tuple[str, str, str, str]]:
    """Every exit order: (type, amount, filled, status)."""
    return [
        (o.type.value, plain(o.amount), plain(o.filled), o.status.value)
        for o in acc.orders()
        if o.reduce_only
    ]


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def btc(acc: PaperAccount) -> tuple[Decimal, Decimal]:
    view = acc.balances().get("BTC")
    return (view.total, view.reserved) if view is not None else (D(0), D(0))


# -- a bracket through its life, step by step --------------------------------------------------
@dataclass
class Step:
    trades: list[tuple[float, float]]  # (price, amount), one ms apart
    book: str = "near"  # which book the tape comes with
    exits: list[tuple[str, str, str, str]] = field(default_factory=list)  # every exit order after
    btc: tuple[str, str] = ("0", "0")  # BTC total and held after
    status: BracketStatus = BracketStatus.ACTIVE
    reason: str = ""  # in the bracket's reason once it closed


@dataclass
class Life:
    name: str
    steps: list[Step]
    amount: str = "1"


BOOKS = {"near": near_book, "low": low_book, "high": high_book}
LIMIT_SELL, STOP_SELL = "limit", "stop_market"

LIVES = [
    Life(
        "the entry fills: both exits are placed for it, holding the coins once; the take-profit fills "
        "and the stop-loss is cancelled",
        [
            Step([], exits=[], status=BracketStatus.PENDING),
            Step(
                [(99, 1)],
                exits=[(LIMIT_SELL, "1", "0", "open"), (STOP_SELL, "1", "0", "open")],
                btc=("1", "1"),
            ),
            Step(
                [(110, 1)],
                book="high",
                exits=[(LIMIT_SELL, "1", "1", "filled"), (STOP_SELL, "1", "0", "cancelled")],
                status=BracketStatus.CLOSED,
                reason="the take-profit filled",
            ),
        ],
    ),
    Life(
        "the stop-loss triggers and sells into the bids: the take-profit is cancelled",
        [
            Step(
                [(99, 1)],
                exits=[(LIMIT_SELL, "1", "0", "open"), (STOP_SELL, "1", "0", "open")],
                btc=("1", "1"),
            ),
            Step(
                [(90, 0.1)],
                book="low",  # 0.5 at 89 (the take-profit shrinks to the other 0.5), 0.5 at 88
                exits=[(LIMIT_SELL, "0.5", "0", "cancelled"), (STOP_SELL, "1", "1", "filled")],
                status=BracketStatus.CLOSED,
                reason="the stop-loss filled",
            ),
        ],
    ),
    Life(
        "partial entry fills grow the exits; a partial take-profit shrinks the stop-loss to what is left",
        [
            Step(
                [(99, 0.4)],
                exits=[(LIMIT_SELL, "0.4", "0", "open"), (STOP_SELL, "0.4", "0", "open")],
                btc=("0.4", "0.4"),
            ),
            Step(
                [(99, 0.3)],
                exits=[(LIMIT_SELL, "0.7", "0", "open"), (STOP_SELL, "0.7", "0", "open")],
                btc=("0.7", "0.7"),
            ),
            Step(
                [(110, 0.2)],
                book="high",
                exits=[(LIMIT_SELL, "0.7", "0.2", "partially_filled"), (STOP_SELL, "0.5", "0", "open")],
                btc=("0.5", "0.5"),
            ),
            Step(
                [(99, 0.3)],  # the rest of the entry: both exits grow by it
                exits=[(LIMIT_SELL, "1", "0.2", "partially_filled"), (STOP_SELL, "0.8", "0", "open")],
                btc=("0.8", "0.8"),
            ),
            Step(
                [(110, 5)],
                book="high",
                exits=[(LIMIT_SELL, "1", "1", "filled"), (STOP_SELL, "0.8", "0", "cancelled")],
                status=BracketStatus.CLOSED,
                reason="the take-profit filled (1)",
            ),
        ],
    ),
    Life(
        "the stop-loss fills after a partial take-profit: together they sell exactly what was bought",
        [
            Step(
                [(99, 1)],
                exits=[(LIMIT_SELL, "1", "0", "open"), (STOP_SELL, "1", "0", "open")],
                btc=("1", "1"),
            ),
            Step(
                [(110, 0.25)],
                book="high",
                exits=[(LIMIT_SELL, "1", "0.25", "partially_filled"), (STOP_SELL, "0.75", "0", "open")],
                btc=("0.75", "0.75"),
            ),
            Step(
                [(90, 0.1)],
                book="low",
                # 0.5 at 89 leaves 0.25 to close (the take-profit: 0.25 filled + 0.25), then 0.25 at 88
                exits=[(LIMIT_SELL, "0.5", "0.25", "cancelled"), (STOP_SELL, "0.75", "0.75", "filled")],
                status=BracketStatus.CLOSED,
                reason="the take-profit and the stop-loss sold 1 between them",
            ),
        ],
    ),
]


@pytest.mark.parametrize("life", LIVES, ids=lambda c: c.name)
def test_a_bracket_through_its_life(life: Life) -> None:
    w = watched({"USDT": "10000"})
    bracket = place_bracket(w.acc, life.amount)
    ts = T0
    for n, step in enumerate(life.steps):
        for price, amount in step.trades:
            ts += 1
            w.acc.on_trades(SYMBOL, [trade(price, amount, ts)], BOOKS[step.book]())
        now = w.now(bracket)
        assert exits_of(w.acc) == step.exits, f"step {n}"
        assert btc(w.acc) == (D(step.btc[0]), D(step.btc[1])), f"step {n}"
        assert now.status is step.status, f"step {n}"
        if step.reason:
            assert step.reason in now.reason, f"step {n}: {now.reason}"


def test_the_cancelled_partner_says_why() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 1, T0 + 1)], near_book())
    stop = exit_order(acc, acc.bracket_of(bracket.entry_id or "") or bracket, Role.STOP_LOSS)
    acc.on_trades(SYMBOL, [trade(110, 1, T0 + 2)], high_book())
    assert acc.order(stop.client_order_id).reason == "One cancels the other: the take-profit filled."


def test_a_market_entry_places_its_exits_at_once() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc, "2", price=None)
    entry = acc.order(bracket.entry_id or "")
    assert entry.status is OrderStatus.FILLED
    assert exits_of(acc) == [(LIMIT_SELL, "2", "0", "open"), (STOP_SELL, "2", "0", "open")]
    assert btc(acc) == (D(2), D(2))


def test_an_entry_cancelled_before_any_fill_never_places_its_exits() -> None:
    w = watched({"USDT": "10000"})
    acc = w.acc
    bracket = place_bracket(acc)
    acc.cancel(bracket.entry_id or "", T0 + 1)
    assert exits_of(acc) == []
    assert acc.brackets() == []
    closed = w.now(bracket)
    assert closed.reason == "The entry was cancelled before it filled: no exits were placed."
    acc.on_trades(SYMBOL, [trade(99, 5, T0 + 2)], near_book())
    assert exits_of(acc) == [] and btc(acc) == (D(0), D(0))


def test_an_entry_cancelled_after_a_partial_fill_keeps_the_exits_for_what_filled() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 0.3, T0 + 1)], near_book())
    acc.cancel(bracket.entry_id or "", T0 + 2)
    assert exits_of(acc) == [(LIMIT_SELL, "0.3", "0", "open"), (STOP_SELL, "0.3", "0", "open")]
    still = acc.brackets()
    assert [b.status for b in still] == [BracketStatus.ACTIVE]


def test_cancelling_an_exit_cancels_its_partner_and_ends_the_bracket() -> None:
    w = watched({"USDT": "10000"})
    acc = w.acc
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 1, T0 + 1)], near_book())
    acc.cancel(exit_order(acc, w.now(bracket), Role.TAKE_PROFIT).client_order_id, T0 + 2)
    assert exits_of(acc) == [(LIMIT_SELL, "1", "0", "cancelled"), (STOP_SELL, "1", "0", "cancelled")]
    closed = w.now(bracket)
    assert closed.reason == "Ended: the take-profit was cancelled."
    assert btc(acc) == (D(1), D(0))  # the coins are free again, nothing sold them


def test_dragging_the_stop_loss_moves_it_and_keeps_the_pair() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 1, T0 + 1)], near_book())
    live = acc.bracket_of(bracket.entry_id or "")
    assert live is not None
    stop = exit_order(acc, live, Role.STOP_LOSS)
    moved = validate(
        intent(SELL, OrderType.STOP_MARKET, "1", stop="95", reduce_only=True),
        MKT,
        book=near_book(),
        balance=acc.free_balances(releasing=stop.client_order_id),
        last_price=D(99),
        fees=acc.fees,
    )
    assert not isinstance(moved, list), moved
    acc.amend(stop.client_order_id, moved, near_book(), T0 + 2)
    live = acc.bracket_of(bracket.entry_id or "")
    assert live is not None and live.exits == Exits(D(110), D(95))
    assert acc.order(exit_order(acc, live, Role.STOP_LOSS).client_order_id).stop_price == D(95)
    assert btc(acc) == (D(1), D(1))
    acc.on_trades(SYMBOL, [trade(95, 0.1, T0 + 3)], low_book())  # the moved stop triggers
    assert [o.status for o in acc.orders() if o.reduce_only] == [
        OrderStatus.CANCELLED,  # the take-profit
        OrderStatus.CANCELLED,  # the old stop, replaced
        OrderStatus.FILLED,  # the moved stop
    ]
    assert btc(acc) == (D(0), D(0))


def test_cancelling_the_bracket_cancels_its_entry_and_exits() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 0.5, T0 + 1)], near_book())
    closed = acc.cancel_bracket(bracket.bracket_id, T0 + 2)
    assert closed.status is BracketStatus.CLOSED
    assert [o.status for o in acc.orders()] == [OrderStatus.CANCELLED] * 3
    assert btc(acc) == (D("0.5"), D(0))
    with pytest.raises(OrderNotFoundError):
        acc.cancel_bracket(bracket.bracket_id)


def test_a_restart_mid_bracket_keeps_the_exits_and_their_pairing() -> None:
    acc = account({"USDT": "10000"})
    bracket = place_bracket(acc)
    acc.on_trades(SYMBOL, [trade(99, 0.6, T0 + 1)], near_book())
    saved = json.loads(json.dumps(acc.to_dict()))
    again = PaperAccount.from_dict(saved)
    assert [b.bracket_id for b in again.brackets()] == [bracket.bracket_id]
    assert (
        exits_of(again)
        == exits_of(acc)
        == [(LIMIT_SELL, "0.6", "0", "open"), (STOP_SELL, "0.6", "0", "open")]
    )
    assert btc(again) == (D("0.6"), D("0.6"))
    again.on_trades(SYMBOL, [trade(99, 0.4, T0 + 2)], near_book())  # the entry goes on filling
    assert exits_of(again) == [(LIMIT_SELL, "1", "0", "open"), (STOP_SELL, "1", "0", "open")]
    again.on_trades(SYMBOL, [trade(110, 1, T0 + 3)], high_book())
    assert exits_of(again) == [(LIMIT_SELL, "1", "1", "filled"), (STOP_SELL, "1", "0", "cancelled")]


def test_an_account_saved_before_brackets_still_loads() -> None:
    acc = account({"USDT": "10000"})
    acc.place(ticket(acc, MKT, near_book(), BUY, LIMIT, "1", price="99"), near_book(), T0)
    old = acc.to_dict()
    old["format"] = 1
    del old["brackets"]
    for order in old["orders"]:
        for key in ("trail_amount", "trail_percent", "trail_extreme", "price_tick"):
            del order[key]
    again = PaperAccount.from_dict(old)
    assert again.brackets() == [] and len(again.orders(open_only=True)) == 1


def test_an_oco_pair_on_its_own_sells_held_coins_once() -> None:
    acc = account({"USDT": "0", "BTC": "2"})
    rules = MarketRules.from_ccxt(MKT)
    pair = acc.place_oco(rules, SELL, D("1.5"), EXITS, near_book(), T0)
    assert pair.mode is BracketMode.NATIVE and pair.entry_id is None
    assert exits_of(acc) == [(LIMIT_SELL, "1.5", "0", "open"), (STOP_SELL, "1.5", "0", "open")]
    assert btc(acc) == (D(2), D("1.5"))
    acc.on_trades(SYMBOL, [trade(90, 0.1, T0 + 1)], low_book())
    assert exits_of(acc) == [(LIMIT_SELL, "0.5", "0", "cancelled"), (STOP_SELL, "1.5", "1.5", "filled")]
    assert btc(acc) == (D("0.5"), D(0))


@pytest.mark.parametrize(
    ("side", "amount", "start", "message"),
    [
        (BUY, "1", {"BTC": "2"}, "closes coins you hold, so it sells"),
        (SELL, "3", {"BTC": "2"}, "it asks for 3 BTC; 2 is free"),
    ],
)
def test_an_oco_pair_is_refused_with_a_reason(
    side: OrderSide, amount: str, start: dict[str, str], message: str
) -> None:
    acc = account(start)
    with pytest.raises(OrderInvalidError) as refused:
        acc.place_oco(MarketRules.from_ccxt(MKT), side, D(amount), EXITS, near_book(), T0)
    assert message in refused.value.user_message()
    assert acc.orders() == []


# -- refused exits: plain words, prices to the tick -------------------------------------------------
@pytest.mark.parametrize(
    ("side", "exits", "field", "message"),
    [
        (
            BUY,
            Exits(D(95), D(90)),
            "take_profit",
            "For a buy, the take-profit must be above the entry price (99); 95 is not. Set it above 99.",
        ),
        (
            BUY,
            Exits(D(110), D(99)),
            "stop_loss",
            "For a buy, the stop-loss must be below the entry price (99); 99 is not. Set it below 99.",
        ),
        (BUY, Exits(), "take_profit", "Enter a take-profit, a stop-loss or both."),
        (BUY, Exits(D("110.5"), None), "take_profit", "110.5 is not a valid take-profit"),
        (SELL, Exits(D(90), D(110)), "side", "the entry must be a buy"),
    ],
)
def test_a_bracket_with_wrong_exits_is_refused_before_anything_is_placed(
    side: OrderSide, exits: Exits, field: str, message: str
) -> None:
    acc = account({"USDT": "10000", "BTC": "5"})
    order = ticket(acc, MKT, near_book(), side, LIMIT, "1", price="99")
    with pytest.raises(OrderInvalidError) as refused:
        acc.place(order, near_book(), T0, exits=exits)
    assert refused.value.field == field
    assert message in refused.value.user_message()
    assert acc.orders() == [] and acc.brackets() == []


# -- trailing stops -----------------------------------------------------------------------------------
@dataclass
class TrailCase:
    name: str
    side: OrderSide
    trail: dict[str, str]  # trail_amount or trail_percent
    last: str
    tape: list[float]  # trade prices, in order
    stops: list[str]  # the stop after each trade
    triggers_at: int | None  # index of the trade that triggers it


TRAIL_CASES = [
    TrailCase(
        "a sell's stop rises with each new high, never falls, and triggers when the price comes back",
        SELL,
        {"trail_amount": "5"},
        "100",
        [101, 103, 102, 99, 99, 98],
        ["96", "98", "98", "98", "98", "98"],
        5,
    ),
    TrailCase(
        "a buy's stop falls with each new low by a percent, rounded up to the tick",
        BUY,
        {"trail_percent": "2"},
        "100",
        [98, 99, 97, 99, 99.5, 99],  # 98 * 1.02 = 99.96 -> 100; 97 * 1.02 = 98.94 -> 99
        ["100", "100", "99", "99", "99", "99"],
        3,
    ),
    TrailCase(
        "a sell placed in a falling market keeps its first stop until a new high",
        SELL,
        {"trail_amount": "5"},
        "100",
        [99, 97, 96, 100],
        ["95", "95", "95", "95"],
        None,
    ),
]


@pytest.mark.parametrize("case", TRAIL_CASES, ids=lambda c: c.name)
def test_a_trailing_stop_follows_the_price_and_triggers_at_the_right_trade(case: TrailCase) -> None:
    acc = account({"USDT": "10000", "BTC": "2"})
    trail = {k: D(v) for k, v in case.trail.items()}
    order = accepted_trailing(acc, case.side, "1", case.last, **trail)
    placed = acc.place(order, near_book(), T0)
    for n, price in enumerate(case.tape):
        acc.on_trades(SYMBOL, [trade(price, 0.1, T0 + 1 + n)], near_book())
        now = acc.order(placed.client_order_id)
        if case.triggers_at is not None and n >= case.triggers_at:
            assert now.status is OrderStatus.FILLED, f"trade {n} ({price}) should have triggered it"
            assert now.fills[0].timestamp == T0 + 1 + case.triggers_at
            break
        assert now.is_open and not now.triggered, f"trade {n} ({price}) triggered it"
        assert now.stop_price == D(case.stops[n]), f"after trade {n} ({price})"
    else:
        assert case.triggers_at is None


def accepted_trailing(
    acc: PaperAccount, side: OrderSide, amount: str, last: str, **trail: Decimal
) -> ValidatedOrder:
    the_intent = dataclasses.replace(intent(side, TRAILING, amount), **trail)
    result = validate(
        the_intent,
        MKT,
        book=near_book(),
        balance=acc.free_balances(),
        last_price=D(last),
        fees=acc.fees,
    )
    assert isinstance(result, ValidatedOrder), result
    return result


def test_a_trailing_buy_holds_its_funds_at_its_first_stop() -> None:
    acc = account({"USDT": "1000"})
    acc.place(accepted_trailing(acc, BUY, "2", "100", trail_amount=D(3)), near_book(), T0)
    assert acc.balances()["USDT"].reserved == D("206.412")  # 2 * 103 * (1 + 0.2% taker)


def test_a_trailing_stop_keeps_its_best_price_across_a_restart() -> None:
    acc = account({"USDT": "10000", "BTC": "1"})
    placed = acc.place(accepted_trailing(acc, SELL, "1", "100", trail_amount=D(5)), near_book(), T0)
    acc.on_trades(SYMBOL, [trade(104, 0.1, T0 + 1)], near_book())
    again = PaperAccount.from_dict(json.loads(json.dumps(acc.to_dict())))
    kept = again.order(placed.client_order_id)
    assert (kept.trail_extreme, kept.stop_price) == (D(104), D(99))
    again.on_trades(SYMBOL, [trade(99, 0.1, T0 + 2)], book(bids=[(99, 5)], asks=[(100, 5)]))
    assert again.order(placed.client_order_id).status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("trail", "last", "field", "message"),
    [
        ({}, "100", "trail", "A trailing stop needs a distance: enter it in USDT or in percent."),
        ({"trail_amount": "5", "trail_percent": "1"}, "100", "trail", "in one way only"),
        ({"trail_amount": "2.5"}, "100", "trail", "off the price step"),
        ({"trail_amount": "0"}, "100", "trail", "must be above zero"),
        ({"trail_percent": "100"}, "100", "trail", "above 0 and below 100"),
        ({"trail_amount": "100"}, "100", "trail", "would never trigger: enter less than 100"),
        ({"trail_amount": "5"}, None, "type", "follows the last price, and BTC/USDT has none yet"),
    ],
)
def test_a_trailing_stop_with_a_bad_distance_is_refused_in_plain_words(
    trail: dict[str, str], last: str | None, field: str, message: str
) -> None:
    the_intent = dataclasses.replace(intent(SELL, TRAILING, "1"), **{k: D(v) for k, v in trail.items()})
    result = validate(the_intent, MKT, book=None, balance=None, last_price=None if last is None else D(last))
    assert isinstance(result, list)
    assert (result[0].field, message in result[0].message) == (field, True), result[0].message


def test_a_fast_tape_in_one_batch_never_fills_both_exits() -> None:
    acc = account({"USDT": "10000"})
    place_bracket(acc)
    tape = [trade(99, 1, T0 + 1), trade(110, 1, T0 + 2), trade(90, 1, T0 + 3), trade(111, 1, T0 + 4)]
    acc.on_trades(SYMBOL, tape, low_book())
    assert exits_of(acc) == [(LIMIT_SELL, "1", "1", "filled"), (STOP_SELL, "1", "0", "cancelled")]
    assert btc(acc) == (D(0), D(0))


def test_a_stop_loss_the_book_cannot_fill_ends_the_pair_and_says_why() -> None:
    w = watched({"USDT": "10000"})
    bracket = place_bracket(w.acc)
    w.acc.on_trades(SYMBOL, [trade(99, 1, T0 + 1)], near_book())
    thin = book(bids=[(89, 0.3)], asks=[(90, 5)])
    w.acc.on_trades(SYMBOL, [trade(90, 0.1, T0 + 2)], thin)
    assert exits_of(w.acc) == [(LIMIT_SELL, "0.7", "0", "cancelled"), (STOP_SELL, "1", "0.3", "cancelled")]
    closed = w.now(bracket)
    assert closed.status is BracketStatus.CLOSED
    assert closed.reason.startswith("Ended: the stop-loss was cancelled (The book held only 0.3 BTC of bids")
    assert btc(w.acc) == (D("0.7"), D(0))  # what the book could not take is the trader's again


def test_cancel_all_takes_the_pair_and_the_bracket_with_it() -> None:
    w = watched({"USDT": "10000"})
    bracket = place_bracket(w.acc)
    w.acc.on_trades(SYMBOL, [trade(99, 0.5, T0 + 1)], near_book())
    cancelled = w.acc.cancel_all(SYMBOL, T0 + 2)
    assert len(cancelled) == 3 and w.acc.orders(open_only=True) == []
    assert w.acc.brackets() == [] and w.now(bracket).status is BracketStatus.CLOSED
    assert btc(w.acc) == (D("0.5"), D(0))
