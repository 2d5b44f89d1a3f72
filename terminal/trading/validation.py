"""Order ticket validation: an ``OrderIntent`` against the market's precision
and limits, the current book and the account's free balances.

``validate`` returns either a ``ValidatedOrder`` (every number on the
market's steps and inside its limits, the amount in base currency) or every
problem found, each naming the ticket field to change and saying how, in
plain words. Rules (docs/trading.md has them in full):

- the amount is rounded DOWN to the amount step (never up: rounding must not
  spend more than asked); a quote amount is converted to base first, at the
  limit or stop price, or for a market order by walking the current book;
- a price or stop price off the tick is a problem, not silently moved: the
  two nearest valid prices are suggested;
- amount min/max, cost (notional) min/max, price min/max;
- a stop that the last price has already passed would trigger at once;
- a trailing stop: one distance (an amount in quote on the tick, or a percent
  under 100) and a last price to trail from; its first stop is worked out here;
- post-only that would cross the book now; reduce-only with nothing to reduce;
- (given balances) the free balance must cover the order, fees included.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from terminal.errors import OrderInvalidError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.book_walk import walk_book
from terminal.trading.fees import FeeRates, Liquidity, hold_rate
from terminal.trading.market_rules import MarketRules, market_rules
from terminal.trading.money import (
    HUNDRED,
    ONE,
    ZERO,
    ceil_to_step,
    floor_to_step,
    fmt,
    fmt_money,
    fmt_price,
    on_step,
    to_decimal,
)
from terminal.trading.number_input import Unreadable, read_number
from terminal.trading.orders import (
    AmountUnit,
    Order,
    OrderIntent,
    OrderSide,
    OrderType,
    TimeInForce,
    trailing_stop_price,
)

#: Names of the ticket fields a problem can point at.
FIELDS = (
    "symbol",
    "side",
    "type",
    "amount",
    "price",
    "stop_price",
    "time_in_force",
    "post_only",
    "reduce_only",
    "trail",  # a trailing stop's distance
    "take_profit",  # a bracket's exits (terminal.trading.brackets)
    "stop_loss",
)


@dataclass(frozen=True)
class FieldProblem:
    field: str  # one of FIELDS
    message: str  # what is wrong and what to change, in plain words
    suggestions: tuple[Decimal, ...] = ()  # valid values to offer (nearest prices, the most affordable, ...)


@dataclass(frozen=True)
class ValidatedOrder:
    """An order that satisfies the market's rules (and, when they were given,
    the account's balances). ``amount`` is in base currency on the step;
    ``price``/``stop_price`` are on the tick. The estimates price the order
    as the ticket shows it: ``est_price`` is the limit (limit orders), the
    stop (stop-market) or the book walk's average (market orders)."""

    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: TimeInForce
    post_only: bool
    reduce_only: bool
    rules: MarketRules
    est_price: Decimal
    worst_price: Decimal  # the furthest price it would trade at (market: the deepest level walked)
    est_cost: Decimal  # amount * price, in quote, fee excluded
    est_fee: Decimal
    liquidity: Liquidity  # how it is expected to fill now (taker if it crosses)
    created_ms: int
    notes: tuple[str, ...] = ()  # what validation changed or estimated, for the confirmation
    #: a trailing stop: its distance (one of the two) and the last price its first
    #: stop (``stop_price``) was worked out from
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_from: Decimal | None = None

    def new_order(self, ts: int, **more: Any) -> Order:
        """The account's record of this order, made at ``ts`` (``more``: an account's own fields)."""
        return Order(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            amount=self.amount,
            price=self.price,
            stop_price=self.stop_price,
            time_in_force=self.time_in_force,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            created_ms=ts,
            updated_ms=ts,
            amount_step=self.rules.amount_step,
            price_tick=self.rules.price_tick,
            trail_amount=self.trail_amount,
            trail_percent=self.trail_percent,
            trail_extreme=self.trail_from,
            **more,
        )

    @property
    def rests(self) -> bool:
        """Can wait in the book (or for a trigger): everything but market and IOC/FOK limits."""
        if self.type is OrderType.MARKET:
            return False
        return self.type.is_stop or self.time_in_force is TimeInForce.GTC


def parse_decimal(text: str, field: str) -> Decimal | FieldProblem:
    """A number typed into the ticket (" 0.01 ", "1,5", "١٫٥") as a Decimal, or
    the problem on ``field`` when it cannot be read for sure ("1,500",
    "1.500,25", "1 500": ``number_input`` has the rules)."""
    value = read_number(text)
    return FieldProblem(field, value.message) if isinstance(value, Unreadable) else value


def validate(
    intent: OrderIntent,
    market: MarketRules | Mapping[str, Any],
    *,
    book: OrderBook | None = None,
    balance: Mapping[str, Decimal] | None = None,
    last_price: Decimal | None = None,
    fees: FeeRates | None = None,
) -> ValidatedOrder | list[FieldProblem]:
    """Check a ticket. ``balance`` maps currencies to their FREE amounts (not
    held by open orders); without it, neither funds nor reduce-only are
    checked (the exchange does). ``last_price`` (else the book's mid) is what
    a stop is compared with; ``fees`` default to the market's own rates."""
    rules = market_rules(market)
    return _Check(intent, rules, book, balance, last_price, fees or rules.fees).run()


def require_valid(
    intent: OrderIntent,
    market: MarketRules | Mapping[str, Any],
    *,
    book: OrderBook | None = None,
    balance: Mapping[str, Decimal] | None = None,
    last_price: Decimal | None = None,
    fees: FeeRates | None = None,
) -> ValidatedOrder:
    """``validate``, raising ``OrderInvalidError`` (the first problem's field
    and message, every problem in ``problems``) instead of returning them."""
    result = validate(intent, market, book=book, balance=balance, last_price=last_price, fees=fees)
    if isinstance(result, ValidatedOrder):
        return result
    first = result[0]
    raise OrderInvalidError(first.field, first.message, problems=tuple(result))


def price_problem(field: str, label: str, value: Decimal, rules: MarketRules) -> FieldProblem | None:
    """What is wrong with a price typed into ``field`` (named ``label`` in the
    message: "limit price", "take-profit"...): not above zero, off the tick
    (the two nearest valid prices suggested), or outside the market's range."""
    if not value.is_finite() or value <= 0:
        return FieldProblem(field, f"The {label} must be above zero.")
    tick = rules.price_tick
    if not on_step(value, tick):
        below, above = floor_to_step(value, tick), ceil_to_step(value, tick)
        nearest = tuple(p for p in (below, above) if p > 0)
        return FieldProblem(
            field,
            f"{fmt(value)} is not a valid {label}: {rules.symbol} prices move in steps of "
            f"{fmt(tick or ONE)} {rules.quote}. Use {' or '.join(fmt(p) for p in nearest)}.",
            nearest,
        )
    if rules.price_min is not None and value < rules.price_min:
        return FieldProblem(
            field,
            f"The {label} {fmt(value)} is below the lowest {rules.symbol} accepts "
            f"({fmt(rules.price_min)} {rules.quote}): raise it.",
            (ceil_to_step(rules.price_min, tick),),
        )
    if rules.price_max is not None and value > rules.price_max:
        return FieldProblem(
            field,
            f"The {label} {fmt(value)} is above the highest {rules.symbol} accepts "
            f"({fmt(rules.price_max)} {rules.quote}): lower it.",
            (floor_to_step(rules.price_max, tick),),
        )
    return None


class _Check:
    """One validation run; ``problems`` collects what is wrong."""

    def __init__(
        self,
        intent: OrderIntent,
        rules: MarketRules,
        book: OrderBook | None,
        balance: Mapping[str, Decimal] | None,
        last_price: Decimal | None,
        fees: FeeRates,
    ) -> None:
        self.intent = intent
        self.rules = rules
        self.book = book if book is not None and (len(book.bid_price) or len(book.ask_price)) else None
        self.balance = balance
        mid = to_decimal(book.mid) if book is not None and book.mid is not None else None
        self.last = last_price if last_price is not None else mid
        self.fees = fees
        self.problems: list[FieldProblem] = []
        self.notes: list[str] = []
        self.short_of_base = False  # reduce-only found the base holding too small

    def problem(self, field: str, message: str, *suggestions: Decimal) -> None:
        self.problems.append(FieldProblem(field, message, tuple(suggestions)))

    # -- the run -------------------------------------------------------------------
    def run(self) -> ValidatedOrder | list[FieldProblem]:
        intent, rules = self.intent, self.rules
        if intent.symbol != rules.symbol:
            self.problem(
                "symbol", f"The ticket is for {intent.symbol}, but the market shown is {rules.symbol}."
            )
            return self.problems
        if not rules.active:
            self.problem("symbol", f"{rules.symbol} is not trading at the moment: no orders can be placed.")
            return self.problems
        self.check_flags()
        price = self.check_price("price", intent.price) if intent.type.has_price else None
        stop = self.check_price("stop_price", intent.stop_price) if intent.type.has_stop_price else None
        if stop is not None:
            self.check_trigger(stop)
        if intent.type.is_trailing:
            stop = self.check_trail()
        amount_ok = self.check_positive_amount()
        if self.problems or not amount_ok:
            return self.problems
        reference = self.reference_price(price, stop)
        if reference is None:
            return self.problems
        amount = self.base_amount(reference)
        if amount is None:
            return self.problems
        est_price, worst_price, est_cost = self.estimate(amount, price, stop)
        self.check_amount_limits(amount)
        self.check_cost(amount, est_price, est_cost)
        liquidity = self.expected_liquidity(price)
        if intent.post_only and intent.type is OrderType.LIMIT and price is not None:
            self.check_post_only(price)
        if intent.reduce_only:
            self.check_reduce_only(amount)
        self.check_funds(amount, est_cost, est_price)
        if self.problems:
            return self.problems
        tif = TimeInForce.IOC if intent.type is OrderType.MARKET else intent.time_in_force
        return ValidatedOrder(
            client_order_id=intent.client_order_id,
            symbol=rules.symbol,
            side=intent.side,
            type=intent.type,
            amount=amount,
            price=price,
            stop_price=stop,
            time_in_force=tif,
            post_only=intent.post_only,
            reduce_only=intent.reduce_only,
            rules=rules,
            est_price=est_price,
            worst_price=worst_price,
            est_cost=est_cost,
            est_fee=est_cost * self.fees.rate(liquidity),
            liquidity=liquidity,
            created_ms=intent.created_ms,
            notes=tuple(self.notes),
            trail_amount=intent.trail_amount if intent.type.is_trailing else None,
            trail_percent=intent.trail_percent if intent.type.is_trailing else None,
            trail_from=self.last if intent.type.is_trailing else None,
        )

    # -- shape of the ticket -------------------------------------------------------
    def check_flags(self) -> None:
        intent = self.intent
        if intent.post_only and not intent.type.has_price:
            self.problem(
                "post_only", "Post-only needs a limit price: a market order always takes. Untick post-only."
            )
        if intent.post_only and intent.time_in_force is not TimeInForce.GTC:
            self.problem(
                "post_only",
                f"Post-only orders rest in the book; {intent.time_in_force.value.upper()} cancels what does "
                "not fill at once. Choose GTC or untick post-only.",
            )
        if intent.time_in_force is not TimeInForce.GTC and intent.type is OrderType.STOP_MARKET:
            self.problem("time_in_force", "A stop-market order takes what it can when triggered; choose GTC.")
        if intent.time_in_force is not TimeInForce.GTC and intent.type is OrderType.TRAILING_STOP:
            self.problem("time_in_force", "A trailing stop takes what it can when triggered; choose GTC.")

    def check_price(self, field: str, value: Decimal | None) -> Decimal | None:
        label = "limit price" if field == "price" else "stop price"
        if value is None:
            kind = self.intent.type.value.replace("_", "-")
            self.problem(field, f"A {kind} order needs a {label}: enter one.")
            return None
        found = price_problem(field, label, value, self.rules)
        if found is not None:
            self.problems.append(found)
            return None
        return value

    def check_trail(self) -> Decimal | None:
        """A trailing stop's distance, and its first stop from the last price."""
        intent, rules = self.intent, self.rules
        amount, percent = intent.trail_amount, intent.trail_percent
        if amount is None and percent is None:
            self.problem(
                "trail",
                f"A trailing stop needs a distance: enter it in {rules.quote} or in percent.",
            )
            return None
        if amount is not None and percent is not None:
            self.problem("trail", "Give the trailing distance in one way only: in an amount or in percent.")
            return None
        tick = rules.price_tick
        if amount is not None:
            if not amount.is_finite() or amount <= 0:
                self.problem("trail", "The trailing distance must be above zero.")
                return None
            if not on_step(amount, tick):
                nearest = tuple(p for p in (floor_to_step(amount, tick), ceil_to_step(amount, tick)) if p > 0)
                self.problem(
                    "trail",
                    f"A trailing distance of {fmt(amount)} {rules.quote} is off the price step: "
                    f"{rules.symbol} prices move in steps of {fmt(tick or ONE)} {rules.quote}. "
                    f"Use {' or '.join(fmt(p) for p in nearest)}.",
                    *nearest,
                )
                return None
        elif percent is not None and (not percent.is_finite() or percent <= 0 or percent >= HUNDRED):
            self.problem("trail", "The trailing distance in percent must be above 0 and below 100.")
            return None
        last = self.last
        if last is None:
            self.problem(
                "type",
                f"A trailing stop follows the last price, and {rules.symbol} has none yet: wait for "
                "the market, or use a stop order.",
            )
            return None
        stop = trailing_stop_price(intent.side, last, amount, percent, tick)
        distance = f"{fmt(amount)} {rules.quote}" if amount is not None else f"{fmt(percent or ZERO)}%"
        if stop <= 0:
            less = f"less than {fmt_price(last, tick)}" if amount is not None else "a smaller percent"
            self.problem(
                "trail",
                f"A sell that trails {distance} behind {fmt_price(last, tick)} would have its stop at or "
                f"below zero, so it would never trigger: enter {less}.",
            )
            return None
        way = "below the highest" if intent.side is OrderSide.SELL else "above the lowest"
        self.notes.append(
            f"The stop starts at {fmt_price(stop, tick)} ({distance} from the last price "
            f"{fmt_price(last, tick)}) and follows the price: it stays {distance} {way} price since "
            "the order was placed, and triggers a market order when the price comes back to it."
        )
        return stop

    def check_trigger(self, stop: Decimal) -> None:
        """A buy stop waits for the price to rise to it, a sell stop for it to
        fall: one already passed would trigger on the next trade."""
        last = self.last
        if last is None:
            return
        tick = self.rules.price_tick
        at, price = fmt_price(stop, tick), fmt_price(last, tick)
        if self.intent.side is OrderSide.BUY and stop <= last:
            nearest = (floor_to_step(last, tick) + tick,) if tick else ()
            self.problem(
                "stop_price",
                f"A buy stop triggers when the price rises to it; {at} is not above the last price "
                f"{price}, so it would trigger at once. Set it above {price}, or use a "
                "market or limit order.",
                *nearest,
            )
        elif self.intent.side is OrderSide.SELL and stop >= last:
            nearest = (ceil_to_step(last, tick) - tick,) if tick else ()
            self.problem(
                "stop_price",
                f"A sell stop triggers when the price falls to it; {at} is not below the last price "
                f"{price}, so it would trigger at once. Set it below {price}, or use a "
                "market or limit order.",
                *(p for p in nearest if p > 0),
            )

    def check_positive_amount(self) -> bool:
        amount = self.intent.amount
        if not amount.is_finite() or amount <= 0:
            self.problem("amount", "Enter an amount above zero.")
            return False
        return True

    # -- amounts and prices ----------------------------------------------------------
    def reference_price(self, price: Decimal | None, stop: Decimal | None) -> Decimal | None:
        """The price the order is valued at: its limit, its stop, or for a
        market order the best level it would take from."""
        if price is not None:
            return price
        if stop is not None:
            return stop
        side = "asks" if self.intent.side is OrderSide.BUY else "bids"
        best = (
            self.book.best_ask if self.book and side == "asks" else self.book.best_bid if self.book else None
        )
        if best is None:
            self.problem(
                "type",
                f"There are no {side} in the {self.rules.symbol} order book yet, so a market order has "
                "no price. Wait for the book, or use a limit order.",
            )
            return None
        return to_decimal(best)

    def base_amount(self, reference: Decimal) -> Decimal | None:
        intent, rules = self.intent, self.rules
        step = rules.amount_step
        if intent.amount_unit is AmountUnit.BASE:
            amount = floor_to_step(intent.amount, step)
            if amount != intent.amount and amount > 0:
                self.notes.append(
                    f"Amount rounded down from {fmt(intent.amount)} to {fmt(amount)} {rules.base} "
                    f"(steps of {fmt(step or ONE)})."
                )
        elif intent.type is OrderType.MARKET and self.book is not None:
            # What the quote amount buys (or what must be sold to receive it)
            # at the current book: the walk stops when it is spent.
            walk = walk_book(self.book, intent.side, None, step=step, budget=intent.amount)
            amount = walk.filled
            if amount > 0:
                self.notes.append(
                    f"{fmt(intent.amount)} {rules.quote} is about {fmt(amount)} {rules.base} "
                    f"at the current book (average {fmt(walk.vwap or reference)})."
                )
        else:
            amount = floor_to_step(intent.amount / reference, step)
            if amount > 0:
                self.notes.append(
                    f"{fmt(intent.amount)} {rules.quote} is {fmt(amount)} {rules.base} at {fmt(reference)}."
                )
        if amount <= 0:
            smallest = step or rules.amount_min or ONE
            if intent.amount_unit is AmountUnit.BASE:
                self.problem(
                    "amount",
                    f"{fmt(intent.amount)} {rules.base} is less than one amount step of {rules.symbol} "
                    f"({fmt(smallest)} {rules.base}): enter at least {fmt(smallest)}.",
                    smallest,
                )
            else:
                least = smallest * reference
                self.problem(
                    "amount",
                    f"{fmt(intent.amount)} {rules.quote} buys less than one amount step of {rules.symbol} "
                    f"({fmt(smallest)} {rules.base}, about {fmt(least)} {rules.quote}): enter more.",
                    least,
                )
            return None
        return amount

    def estimate(
        self, amount: Decimal, price: Decimal | None, stop: Decimal | None
    ) -> tuple[Decimal, Decimal, Decimal]:
        """(average price, furthest price, cost) the ticket shows."""
        if price is not None:
            return price, price, amount * price
        if stop is not None:
            return stop, stop, amount * stop
        assert self.book is not None  # reference_price needed a level
        walk = walk_book(self.book, self.intent.side, amount, step=self.rules.amount_step)
        worst = walk.worst_price
        if worst is None:  # the side holds only levels smaller than one step
            best = self.book.best_ask if self.intent.side is OrderSide.BUY else self.book.best_bid
            worst = to_decimal(best or 0)
        short = amount - walk.filled
        if short > 0:
            self.notes.append(
                f"The book holds only {fmt(walk.filled)} {self.rules.base} on this side now; "
                f"a market order fills that much and cancels the other {fmt(short)}."
            )
        # What the book cannot fill is valued at the deepest level reached.
        cost = walk.cost + short * worst
        return cost / amount, worst, cost

    def expected_liquidity(self, price: Decimal | None) -> Liquidity:
        if self.intent.type in (OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TRAILING_STOP):
            return Liquidity.TAKER
        if self.intent.type is OrderType.LIMIT and price is not None and self.crosses(price):
            return Liquidity.TAKER
        return Liquidity.MAKER

    def crosses(self, price: Decimal) -> bool:
        if self.book is None:
            return False
        if self.intent.side is OrderSide.BUY:
            ask = self.book.best_ask
            return ask is not None and price >= to_decimal(ask)
        bid = self.book.best_bid
        return bid is not None and price <= to_decimal(bid)

    # -- limits ---------------------------------------------------------------------
    def check_amount_limits(self, amount: Decimal) -> None:
        rules = self.rules
        if rules.amount_min is not None and amount < rules.amount_min:
            least = ceil_to_step(rules.amount_min, rules.amount_step)
            self.problem(
                "amount",
                f"{fmt(amount)} {rules.base} is below the smallest {rules.symbol} order "
                f"({fmt(rules.amount_min)} {rules.base}): enter at least {fmt(least)}.",
                least,
            )
        if rules.amount_max is not None and amount > rules.amount_max:
            most = floor_to_step(rules.amount_max, rules.amount_step)
            self.problem(
                "amount",
                f"{fmt(amount)} {rules.base} is above the largest {rules.symbol} order "
                f"({fmt(rules.amount_max)} {rules.base}): enter at most {fmt(most)}, or split the order.",
                most,
            )

    def check_cost(self, amount: Decimal, est_price: Decimal, cost: Decimal) -> None:
        rules = self.rules
        if rules.cost_min is not None and cost < rules.cost_min:
            least = ceil_to_step(rules.cost_min / est_price, rules.amount_step)
            self.problem(
                "amount",
                f"{fmt(amount)} {rules.base} at {fmt(est_price)} is worth {fmt(cost)} {rules.quote}; "
                f"{rules.symbol} orders must be worth at least {fmt(rules.cost_min)} {rules.quote}. "
                f"Enter at least {fmt(least)} {rules.base}.",
                least,
            )
        if rules.cost_max is not None and cost > rules.cost_max:
            most = floor_to_step(rules.cost_max / est_price, rules.amount_step)
            self.problem(
                "amount",
                f"{fmt(amount)} {rules.base} at {fmt(est_price)} is worth {fmt(cost)} {rules.quote}; "
                f"{rules.symbol} orders may be worth at most {fmt(rules.cost_max)} {rules.quote}. "
                f"Enter at most {fmt(most)} {rules.base}.",
                most,
            )

    def check_post_only(self, price: Decimal) -> None:
        if not self.crosses(price) or self.book is None:
            return
        tick = self.rules.price_tick or ZERO
        if self.intent.side is OrderSide.BUY:
            ask = to_decimal(self.book.best_ask or 0)
            below = floor_to_step(ask - tick, self.rules.price_tick) if tick else ask
            self.problem(
                "price",
                f"A post-only buy at {fmt(price)} would trade at once against the best ask {fmt(ask)}, "
                f"and the exchange would reject it. Set a price below {fmt(ask)}, or untick post-only.",
                *((below,) if below > 0 and tick else ()),
            )
        else:
            bid = to_decimal(self.book.best_bid or 0)
            above = ceil_to_step(bid + tick, self.rules.price_tick) if tick else bid
            self.problem(
                "price",
                f"A post-only sell at {fmt(price)} would trade at once against the best bid {fmt(bid)}, "
                f"and the exchange would reject it. Set a price above {fmt(bid)}, or untick post-only.",
                *((above,) if tick else ()),
            )

    def check_reduce_only(self, amount: Decimal) -> None:
        rules = self.rules
        if not rules.spot or self.balance is None:
            return  # contract positions: the exchange enforces reduce-only
        if self.intent.side is OrderSide.BUY:
            self.problem(
                "reduce_only",
                f"A spot position in {rules.base} cannot be short, so a reduce-only buy has nothing "
                "to reduce. Untick reduce-only, or sell instead.",
            )
            return
        held = self.balance.get(rules.base, ZERO)
        self.short_of_base = amount > held
        if held <= 0:
            self.problem(
                "reduce_only", f"You hold no {rules.base}: a reduce-only sell has nothing to reduce."
            )
        elif amount > held:
            most = floor_to_step(held, rules.amount_step)
            self.problem(
                "amount",
                f"Reduce-only: you hold {fmt(held)} {rules.base} free, so this sell can be at most "
                f"{fmt(most)} {rules.base}.",
                most,
            )

    def check_funds(self, amount: Decimal, est_cost: Decimal, est_price: Decimal) -> None:
        """Buys need their cost plus fee in quote: at the higher fee rate if
        the order has a limit price (it may fill either way), at the taker
        rate if it only takes. Sells need their amount in base. The paper
        account holds exactly this much for an order that waits."""
        if self.balance is None:
            return
        rules = self.rules
        if self.intent.side is OrderSide.SELL:
            free = self.balance.get(rules.base, ZERO)
            if amount > free and not self.short_of_base:  # the reduce-only rule said it already
                most = floor_to_step(max(free, ZERO), rules.amount_step)
                advice = f"Enter at most {fmt(most)}" if most > 0 else f"Buy {rules.base} first"
                self.problem(
                    "amount",
                    f"Selling {fmt(amount)} {rules.base} needs that much free; you have {fmt(free)} "
                    f"{rules.base}. {advice}, or cancel an order that holds {rules.base}.",
                    *((most,) if most > 0 else ()),
                )
            return
        rate = hold_rate(self.fees, rests=self.intent.type.has_price)
        needed = est_cost * (ONE + rate)
        free = self.balance.get(rules.quote, ZERO)
        if needed <= free:
            return
        if self.intent.type is OrderType.MARKET and self.book is not None:
            most = walk_book(
                self.book, OrderSide.BUY, None, step=rules.amount_step, budget=max(free, ZERO), fee_rate=rate
            ).filled
        else:
            most = floor_to_step(max(free, ZERO) / (est_price * (ONE + rate)), rules.amount_step)
        advice = (
            f"Enter at most {fmt(most)} {rules.base}"
            if most > 0
            else f"Add {rules.quote} to the account, or cancel an order that holds it"
        )
        self.problem(
            "amount",
            f"This buy needs about {fmt_money(needed)} {rules.quote} with fees; you have {fmt_money(free)} "
            f"{rules.quote} free. {advice}.",
            *((most,) if most > 0 else ()),
        )
