"""Fuzzing the ticket: random side, type, amount (base or quote), prices and
flags against random markets, books, balances and risk limits.

The property: whatever passes validation and the risk checks satisfies every
constraint, checked here by an independent oracle in exact fractions (not by
the code under test). A seeded run also proves the generator is not vacuous:
plenty of tickets pass, and every kind of problem turns up.

Then the paper account under random orders, trades, cancels and amends:
balances never go negative, what is reserved is what open orders hold, and
every fill's fee is charged exactly once (the balances equal the start plus
what the fills moved, fees included, to the last digit).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.marketdata.orderbook import OrderBook
from terminal.trading import (
    AccountState,
    AmountUnit,
    FieldProblem,
    Liquidity,
    MarketState,
    OrderIntent,
    OrderSide,
    OrderType,
    RiskLimits,
    TimeInForce,
    ValidatedOrder,
    check,
    validate,
)
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.validation import FIELDS
from tests.trading.trading_fixtures import market, trade

D = Decimal
F = Fraction
TICKS = ["0.0001", "0.001", "0.01", "0.05", "0.1", "0.5", "1", "5"]
STEPS = ["0.00001", "0.0001", "0.001", "0.01", "0.1", "1"]


@dataclass
class Case:
    mkt: dict[str, Any]
    book: OrderBook
    intent: OrderIntent
    balance: dict[str, Decimal] | None
    last: Decimal | None
    limits: RiskLimits
    state: AccountState


def one_of(rng: random.Random, *choices: Any) -> Any:
    return choices[rng.randint(0, len(choices) - 1)]


def number(rng: random.Random, scale: Decimal) -> Decimal:
    """A positive number around ``scale`` with 1 to 7 significant digits."""
    digits = rng.randint(1, 7)
    return (D(rng.randint(1, 10**digits - 1)) / D(10**digits) * scale * D(rng.randint(1, 30))).normalize()


def random_book(rng: random.Random, mid_ticks: int, tick: Decimal, step: Decimal) -> OrderBook:
    spread = rng.randint(1, 4)
    bid, ask = mid_ticks - spread // 2 - 1, mid_ticks + (spread + 1) // 2
    bids, asks = [], []
    for side, start, sign in ((bids, bid, -1), (asks, ask, 1)):
        at = start
        for _ in range(rng.randint(0, 25)):
            if at <= 0:
                break
            size = step * rng.randint(1, 3000)
            if rng.randint(0, 9) == 0:
                size = size * D("1.37")  # exchanges' books need not be on our step
            side.append([float(at * tick), float(size)])
            at += sign * rng.randint(1, 3)
    b = OrderBook("X/USDT")
    b.replace(bids, asks)
    return b


def random_case(rng: random.Random) -> Case:
    tick, step = D(one_of(rng, *TICKS)), D(one_of(rng, *STEPS))
    mid_ticks = rng.randint(20, 2_000_000)
    mid = mid_ticks * tick
    mkt = market(
        "X/USDT",
        tick=float(tick),
        step=float(step),
        min_amount=float(step * one_of(rng, 1, 3, 10, 100)) if rng.randint(0, 4) else None,
        max_amount=float(step * rng.randint(1000, 10**7)) if rng.randint(0, 1) else None,
        min_cost=one_of(rng, None, 1.0, 5.0, 10.0, 100.0),
        max_cost=one_of(rng, None, 1e4, 1e6),
        min_price=float(tick * one_of(rng, 1, 10)) if rng.randint(0, 3) else None,
        max_price=float(mid * 3) if rng.randint(0, 2) == 0 else None,
        maker=one_of(rng, -0.0001, 0.0, 0.001, 0.002),
        taker=one_of(rng, 0.0, 0.0005, 0.001, 0.002),
    )
    the_book = random_book(rng, mid_ticks, tick, step)
    side = one_of(rng, OrderSide.BUY, OrderSide.SELL)
    type_ = one_of(rng, *OrderType)
    unit = AmountUnit.QUOTE if rng.randint(0, 3) == 0 else AmountUnit.BASE
    amount_scale = mid if unit is AmountUnit.QUOTE else D(1)
    amount = number(rng, amount_scale * one_of(rng, D("0.0001"), D("0.01"), D(1)))
    if rng.randint(0, 30) == 0:
        amount = -amount

    def a_price() -> Decimal:
        ticks = mid_ticks + rng.randint(-mid_ticks // 8, mid_ticks // 8)
        value = ticks * tick
        if rng.randint(0, 3) == 0:
            value += tick * D(rng.randint(1, 9)) / 10  # off the tick
        if rng.randint(0, 40) == 0:
            value = -value
        return value

    def a_trail() -> dict[str, Decimal]:
        """A trailing stop's distance: in ticks (sometimes off the tick, or none) or in percent."""
        kind = rng.randint(0, 9)
        if kind == 0:
            return {}
        if kind <= 5:
            ticks = D(rng.randint(1, max(1, mid_ticks // 20)))
            return {"trail_amount": ticks * tick + (tick / 2 if rng.randint(0, 5) == 0 else 0)}
        return {"trail_percent": one_of(rng, D("0.1"), D("1"), D("2.5"), D("10"), D("99.9"), D("100"))}

    the_intent = OrderIntent(
        symbol="X/USDT",
        side=side,
        type=type_,
        amount=amount,
        amount_unit=unit,
        price=a_price() if type_.has_price or rng.randint(0, 5) == 0 else None,
        stop_price=a_price() if type_.has_stop_price else None,
        time_in_force=one_of(rng, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK),
        post_only=rng.randint(0, 4) == 0,
        reduce_only=rng.randint(0, 5) == 0,
        created_ms=1,
        **(a_trail() if type_.is_trailing else {}),
    )
    balance = (
        {"USDT": number(rng, mid * one_of(rng, D("0.01"), D(1), D(100))), "X": number(rng, D(1))}
        if rng.randint(0, 4)
        else None
    )
    last = mid + tick * rng.randint(-5, 5) if rng.randint(0, 1) else None
    limits = RiskLimits(
        max_order_notional=one_of(rng, None, mid * D("0.5"), mid * 10),
        max_position_notional=one_of(rng, None, mid * 2),
        max_position_base=one_of(rng, None, D(1), D(50)),
        price_band_pct=one_of(rng, None, D("0.5"), D(5), D(20)),
        max_open_orders=one_of(rng, None, 1, 5, 50),
        daily_loss_limit=one_of(rng, None, D(100), D(10_000)),
    )
    state = AccountState(
        holdings={"X": number(rng, D(1))} if rng.randint(0, 1) else {},
        open_buys={"X/USDT": number(rng, D(1))} if rng.randint(0, 2) == 0 else {},
        open_orders=one_of(rng, 0, 1, 4, 5, 49, 50, rng.randint(0, 60)),  # often right at a limit
        day_pnl=one_of(rng, None, D(0), D(-50), D(-20_000), D(300)),
        pnl_currency="USDT",
    )
    return Case(mkt, the_book, the_intent, balance, last, limits, state)


def run(case: Case) -> tuple[ValidatedOrder | list[FieldProblem], list[Any]]:
    result = validate(case.intent, case.mkt, book=case.book, balance=case.balance, last_price=case.last)
    if not isinstance(result, ValidatedOrder):
        return result, []
    return result, check(result, case.state, MarketState.of_book(case.book), case.limits)


# -- the oracle: every constraint, recomputed in exact fractions -------------------------------------
def on_grid(value: Decimal, step: Decimal) -> bool:
    return (F(value) / F(step)).denominator == 1


def f_opt(value: Any) -> Fraction | None:
    return None if value is None else F(D(repr(value)))


def naive_cost(book: OrderBook, side: OrderSide, amount: Fraction, step: Fraction) -> Fraction:
    """Market order cost, by the rule in docs/trading.md: levels best first, each
    taken down to the step; what the book lacks valued at the deepest level taken."""
    prices = book.ask_price if side is OrderSide.BUY else book.bid_price
    sizes = book.ask_size if side is OrderSide.BUY else book.bid_size
    left, cost, last = amount, F(0), None
    for p, s in zip(prices.tolist(), sizes.tolist(), strict=True):
        if left <= 0:
            break
        take = min(F(D(repr(s))) // step * step, left)
        if take > 0:
            price = F(D(repr(p)))
            cost, left, last = cost + take * price, left - take, price
    if last is None:
        last = F(D(repr(float(prices[0]))))
    return cost + left * last


def assert_satisfies_every_constraint(case: Case, vo: ValidatedOrder) -> None:
    m, intent = case.mkt, case.intent
    tick, step = F(D(repr(m["precision"]["price"]))), F(D(repr(m["precision"]["amount"])))
    lim = m["limits"]
    amount = F(vo.amount)
    assert (vo.symbol, vo.side, vo.type) == (intent.symbol, intent.side, intent.type)
    # precision
    assert amount > 0 and (amount / step).denominator == 1
    for value, needed in ((vo.price, intent.type.has_price), (vo.stop_price, intent.type.is_stop)):
        assert (value is not None) == needed
        if value is not None:
            assert value > 0 and (F(value) / tick).denominator == 1
            if value is vo.stop_price and vo.type.is_trailing:
                continue  # worked out from the last price: the terminal's own trigger, not sent
            low, high = f_opt(lim["price"]["min"]), f_opt(lim["price"]["max"])
            assert (low is None or F(value) >= low) and (high is None or F(value) <= high)
    if vo.type.is_trailing:  # its stop is the full distance from the last price, rounded away from it
        last_now = F(case.last) if case.last is not None else F(D(repr(case.book.mid)))
        distance = (
            F(intent.trail_amount)
            if intent.trail_amount is not None
            else last_now * F(intent.trail_percent) / 100
        )
        gap = last_now - F(vo.stop_price) if vo.side is OrderSide.SELL else F(vo.stop_price) - last_now
        assert distance <= gap < distance + tick
    # the amount never exceeds what was asked
    ref = F(vo.price) if vo.price is not None else F(vo.stop_price) if vo.stop_price is not None else None
    if intent.amount_unit is AmountUnit.BASE:
        assert amount <= F(intent.amount)
    elif ref is not None:
        assert amount * ref <= F(intent.amount)
    # limits
    assert lim["amount"]["min"] is None or amount >= f_opt(lim["amount"]["min"])
    assert lim["amount"]["max"] is None or amount <= f_opt(lim["amount"]["max"])
    cost = amount * ref if ref is not None else naive_cost(case.book, vo.side, amount, step)
    assert abs(F(vo.est_cost) - cost) <= cost * F(1, 10**20)
    assert lim["cost"]["min"] is None or cost >= f_opt(lim["cost"]["min"]) * (1 - F(1, 10**20))
    assert lim["cost"]["max"] is None or cost <= f_opt(lim["cost"]["max"]) * (1 + F(1, 10**20))
    # stops, post-only, reduce-only
    mid = F(D(repr(case.book.mid))) if case.book.mid is not None else None
    last = F(case.last) if case.last is not None else mid
    if vo.stop_price is not None and last is not None:
        assert F(vo.stop_price) > last if vo.side is OrderSide.BUY else F(vo.stop_price) < last
    if vo.post_only:
        assert vo.type.has_price and vo.time_in_force is TimeInForce.GTC
        if vo.type is OrderType.LIMIT and vo.side is OrderSide.BUY and case.book.best_ask is not None:
            assert F(vo.price) < F(D(repr(case.book.best_ask)))
        if vo.type is OrderType.LIMIT and vo.side is OrderSide.SELL and case.book.best_bid is not None:
            assert F(vo.price) > F(D(repr(case.book.best_bid)))
    if vo.reduce_only and case.balance is not None:
        assert vo.side is OrderSide.SELL and amount <= F(case.balance.get("X", D(0)))
    # funds
    if case.balance is not None:
        if vo.side is OrderSide.SELL:
            assert amount <= F(case.balance.get("X", D(0)))
        else:
            maker, taker = F(D(repr(m["maker"]))), F(D(repr(m["taker"])))
            rate = max(maker, taker) if vo.type.has_price else taker
            assert cost * (1 + rate) <= F(case.balance.get("USDT", D(0))) * (1 + F(1, 10**20))
    # risk
    limits, state = case.limits, case.state
    if limits.max_order_notional is not None:
        assert cost <= F(limits.max_order_notional)
    if vo.side is OrderSide.BUY:
        after = F(state.holdings.get("X", D(0))) + F(state.open_buys.get("X/USDT", D(0))) + amount
        if limits.max_position_base is not None:
            assert after <= F(limits.max_position_base)
        if limits.max_position_notional is not None:
            mark = mid if mid is not None else F(vo.est_price)
            assert after * mark <= F(limits.max_position_notional)
        if limits.daily_loss_limit is not None and state.day_pnl is not None:
            assert F(state.day_pnl) > -F(limits.daily_loss_limit)
    band = limits.price_band_pct
    if band is not None and vo.type not in (OrderType.STOP_MARKET, OrderType.TRAILING_STOP):
        centre = F(vo.stop_price) if vo.type is OrderType.STOP_LIMIT else mid
        price = F(vo.price) if vo.price is not None else F(vo.worst_price)
        assert centre is not None and abs(price - centre) / centre * 100 <= F(band)
        if vo.type is OrderType.MARKET:
            prices = case.book.ask_price if vo.side is OrderSide.BUY else case.book.bid_price
            assert F(vo.worst_price) in {F(D(repr(p))) for p in prices.tolist()}
    rests = vo.type is not OrderType.MARKET and (vo.type.is_stop or vo.time_in_force is TimeInForce.GTC)
    if limits.max_open_orders is not None and rests:
        assert state.open_orders < limits.max_open_orders


@settings(max_examples=600, deadline=None)
@given(st.randoms(use_true_random=False))
def test_whatever_passes_validation_and_risk_satisfies_every_constraint(rng: random.Random) -> None:
    case = random_case(rng)
    result, blocks = run(case)
    if isinstance(result, ValidatedOrder) and not blocks:
        assert_satisfies_every_constraint(case, result)
    elif isinstance(result, list):
        assert result and all(p.field in FIELDS and p.message for p in result)


def test_the_generator_reaches_both_outcomes_and_every_kind_of_problem() -> None:
    rng = random.Random(6)
    passed = 0
    fields: set[str] = set()
    rules: set[str] = set()
    for _ in range(3000):
        case = random_case(rng)
        result, blocks = run(case)
        if isinstance(result, ValidatedOrder):
            rules.update(b.rule for b in blocks)
            if not blocks:
                passed += 1
                assert_satisfies_every_constraint(case, result)
        else:
            fields.update(p.field for p in result)
    assert passed >= 150, passed
    assert fields == {
        "amount",
        "price",
        "stop_price",
        "type",
        "time_in_force",
        "post_only",
        "reduce_only",
        "trail",
    }
    assert rules == {
        "max_order_notional",
        "max_position_notional",
        "max_position_base",
        "price_band_pct",
        "max_open_orders",
        "daily_loss_limit",
    }


# -- the paper account under random trading ---------------------------------------------------------------
def assert_books_balance(acct: PaperAccount, start: dict[str, Decimal], step: Decimal) -> None:
    balances = acct.balances()
    for view in balances.values():
        assert view.total >= 0 and view.reserved >= 0 and view.free >= 0
    holds: dict[str, Decimal] = {}
    for order in acct.orders():
        assert 0 <= order.filled <= order.amount
        assert order.filled == sum((f.amount for f in order.fills), D(0))
        assert order.fee == sum((f.fee for f in order.fills), D(0))
        if order.is_open:
            holds[order.hold_currency] = holds.get(order.hold_currency, D(0)) + order.hold
        else:
            assert order.hold == 0
        for fill in order.fills:
            if fill.liquidity is Liquidity.MAKER:
                assert fill.price == order.price  # a resting order fills at its own price
            if order.price is not None:
                assert fill.price <= order.price if order.side is OrderSide.BUY else fill.price >= order.price
    for currency, view in balances.items():
        assert view.reserved == holds.get(currency, D(0))
    assert acct.orders(open_only=True) == [o for o in acct.orders() if o.is_open]
    # Each fill moves the balances once: its cost, its amount, and its fee.
    expected = {c: start.get(c, D(0)) for c in ("USDT", "X")}
    for fill in acct.fills():
        assert fill.amount > 0 and on_grid(fill.amount, step)
        rate = acct.fees.rate(fill.liquidity)
        assert fill.fee == fill.price * fill.amount * rate
        sign = 1 if fill.side is OrderSide.BUY else -1
        expected["X"] += sign * fill.amount
        expected["USDT"] -= sign * fill.price * fill.amount + fill.fee
    assert {c: balances[c].total if c in balances else D(0) for c in expected} == expected


@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False))
def test_paper_balances_never_go_negative_and_fees_are_charged_once_per_fill(rng: random.Random) -> None:
    tick, step = D("0.1"), D("0.001")
    mkt = market("X/USDT", tick=0.1, step=0.001, min_amount=0.001, min_cost=1.0, maker=0.001, taker=0.002)
    start = {"USDT": D(rng.randint(0, 5000)), "X": D(rng.randint(0, 30)) / 10}
    acct = PaperAccount(PaperSettings(start_balances=start, maker_fee=D("0.001"), taker_fee=D("0.002")))
    fills_seen: list[Any] = []
    acct.subscribe(lambda e: fills_seen.append(e) if type(e).__name__ == "FillAdded" else None)
    mid_ticks, ts = 1000, 1_000
    for _ in range(rng.randint(5, 40)):
        ts += rng.randint(1, 1000)
        mid_ticks = max(100, mid_ticks + rng.randint(-20, 20))
        the_book = random_book(rng, mid_ticks, tick, step)
        action = rng.randint(0, 9)
        if action <= 4:
            ticks = mid_ticks + rng.randint(-30, 30)
            type_ = one_of(rng, *OrderType)
            side = one_of(rng, OrderSide.BUY, OrderSide.SELL)
            the_intent = OrderIntent(
                symbol="X/USDT",
                side=side,
                type=type_,
                amount=D(rng.randint(1, 30_000)) / 1000,  # up to ~3,000 USDT: balances run dry
                price=ticks * tick if type_.has_price else None,
                stop_price=(mid_ticks + (15 if side is OrderSide.BUY else -15)) * tick
                if type_.has_stop_price
                else None,
                trail_amount=D(rng.randint(1, 30)) * tick if type_.is_trailing else None,
                time_in_force=one_of(rng, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
                if type_ is OrderType.LIMIT
                else TimeInForce.GTC,
                post_only=type_ is OrderType.LIMIT and rng.randint(0, 4) == 0,
                created_ms=ts,
            )
            vo = validate(the_intent, mkt, book=the_book, balance=acct.free_balances(), fees=acct.fees)
            if isinstance(vo, list) and vo[0].field == "amount" and vo[0].suggestions:
                # Take the ticket's suggestion, as a trader clicks it: often all
                # the account can afford, which is where the funds rules bite.
                the_intent = replace(the_intent, amount=vo[0].suggestions[0])
                vo = validate(the_intent, mkt, book=the_book, balance=acct.free_balances(), fees=acct.fees)
            if isinstance(vo, ValidatedOrder):
                # Sometimes the book moves between the ticket and the account.
                moved = (
                    random_book(rng, mid_ticks + rng.randint(-50, 50), tick, step)
                    if rng.randint(0, 2)
                    else the_book
                )
                acct.place(vo, moved, ts)
        elif action <= 7:
            prints = [
                trade(float((mid_ticks + rng.randint(-25, 25)) * tick), rng.randint(1, 2000) / 1000, ts + i)
                for i in range(rng.randint(1, 5))
            ]
            acct.on_trades("X/USDT", prints, the_book)
            ts += len(prints)
        else:
            open_orders = acct.orders(open_only=True)
            if open_orders:
                acct.cancel(one_of(rng, *open_orders).client_order_id, ts)
        assert_books_balance(acct, start, step)
    assert len(fills_seen) == len(acct.fills())  # one event per fill, none twice
    copy = PaperAccount.from_dict(json.loads(json.dumps(acct.to_dict())))
    assert copy.to_dict() == acct.to_dict() and copy.balances() == acct.balances()
