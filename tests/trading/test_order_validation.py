"""Each validation rule: the problem names the field to change and says how,
with the numbers; what passes is on the market's steps."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from terminal.errors import NotSupportedError, OrderInvalidError
from terminal.trading import (
    AmountUnit,
    FieldProblem,
    Liquidity,
    MarketRules,
    OrderIntent,
    OrderSide,
    TimeInForce,
    ValidatedOrder,
    parse_decimal,
    require_valid,
    validate,
)
from terminal.trading.market_rules import DECIMAL_PLACES, SIGNIFICANT_DIGITS
from tests.trading.trading_fixtures import (
    BUY,
    LIMIT,
    MARKET,
    SELL,
    STOP_LIMIT,
    STOP_MARKET,
    D,
    accepted,
    book,
    intent,
    market,
)

BTC = market()  # tick 0.1, step 0.00001, min amount 0.00001, min cost 5 USDT, fees 0.1%
BOOK = book([(63_999.9, 1.0), (63_999.8, 2.0)], [(64_000.1, 0.5), (64_000.2, 1.0), (64_000.5, 3.0)])


def problems(result: ValidatedOrder | list[FieldProblem]) -> list[FieldProblem]:
    assert isinstance(result, list), f"expected problems, got {result!r}"
    return result


def only(result: ValidatedOrder | list[FieldProblem]) -> FieldProblem:
    found = problems(result)
    assert len(found) == 1, found
    return found[0]


# -- precision ---------------------------------------------------------------------------------------
def test_price_off_the_tick_is_a_problem_with_the_two_nearest_prices() -> None:
    p = only(validate(intent(BUY, LIMIT, "0.01", price="63999.95"), BTC, book=BOOK))
    assert p.field == "price"
    assert p.suggestions == (D("63999.9"), D("64000.0"))
    assert "steps of 0.1 USDT" in p.message and "63,999.9 or 64,000" in p.message


def test_stop_price_off_the_tick_names_the_stop_field() -> None:
    p = only(validate(intent(SELL, STOP_MARKET, "0.01", stop="63000.01"), BTC, book=BOOK))
    assert p.field == "stop_price" and p.suggestions == (D("63000.0"), D("63000.1"))


def test_amount_is_rounded_down_to_the_step_and_the_ticket_says_so() -> None:
    vo = accepted(validate(intent(BUY, LIMIT, "0.0123456", price="64000"), BTC))
    assert vo.amount == D("0.01234")  # down, never up
    assert any("rounded down from 0.0123456 to 0.01234" in n for n in vo.notes)


def test_amount_below_one_step_is_a_problem() -> None:
    p = only(validate(intent(BUY, LIMIT, "0.000001", price="64000"), BTC))
    assert p.field == "amount" and p.suggestions == (D("0.00001"),)
    assert "less than one amount step" in p.message


def test_ccxt_decimal_places_precision_means_digit_counts() -> None:
    legacy = market(tick=2, step=3)  # 2 price decimals, 3 amount decimals
    rules = MarketRules.from_ccxt(legacy, precision_mode=DECIMAL_PLACES)
    assert (rules.price_tick, rules.amount_step) == (D("0.01"), D("0.001"))
    with pytest.raises(NotSupportedError):
        MarketRules.from_ccxt(legacy, precision_mode=SIGNIFICANT_DIGITS)


# -- limits ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mkt", "ticket", "field", "words", "suggestion"),
    [
        (
            market(min_amount=0.001, step=0.001),
            intent(BUY, LIMIT, "0.0005", price="64000"),
            "amount",
            "less than one amount step",
            "0.001",
        ),
        (
            market(min_amount=0.01),
            intent(BUY, LIMIT, "0.005", price="64000"),
            "amount",
            "below the smallest BTC/USDT order (0.01 BTC): enter at least 0.01",
            "0.01",
        ),
        (
            market(max_amount=2),
            intent(BUY, LIMIT, "2.5", price="64000"),
            "amount",
            "above the largest BTC/USDT order (2 BTC): enter at most 2, or split the order",
            "2",
        ),
        (
            market(min_cost=10),
            intent(BUY, LIMIT, "0.0001", price="64000"),
            "amount",
            "worth 6.4 USDT; BTC/USDT orders must be worth at least 10 USDT. Enter at least 0.00016 BTC",
            "0.00016",  # 10 / 64000 = 0.00015625, up to the step
        ),
        (
            market(max_cost=100_000),
            intent(BUY, LIMIT, "2", price="64000"),
            "amount",
            "worth 128,000 USDT; BTC/USDT orders may be worth at most 100,000 USDT. Enter at most 1.5625 BTC",
            "1.5625",
        ),
        (
            market(min_price=1000),
            intent(BUY, LIMIT, "1", price="999.9"),
            "price",
            "below the lowest BTC/USDT accepts (1,000 USDT): raise it",
            "1000",
        ),
        (
            market(max_price=100_000),
            intent(SELL, LIMIT, "0.01", price="100000.1"),
            "price",
            "above the highest BTC/USDT accepts (100,000 USDT): lower it",
            "100000",
        ),
    ],
    ids=["below one step", "min amount", "max amount", "min cost", "max cost", "min price", "max price"],
)
def test_market_limits(
    mkt: dict[str, Any], ticket: OrderIntent, field: str, words: str, suggestion: str
) -> None:
    p = only(validate(ticket, mkt))
    assert p.field == field
    assert words in p.message
    assert p.suggestions == (D(suggestion),)
    # The suggestion is itself a ticket that passes.
    fixed = {"amount": {"amount": D(suggestion)}, "price": {"price": D(suggestion)}}[field]
    assert isinstance(validate(replace(ticket, **fixed), mkt), ValidatedOrder)


def test_an_order_inside_every_limit_passes_with_its_estimates() -> None:
    vo = accepted(validate(intent(BUY, LIMIT, "0.5", price="63990"), BTC, book=BOOK))
    assert (vo.amount, vo.price, vo.est_cost) == (D("0.5"), D(63990), D(31995))
    assert vo.liquidity is Liquidity.MAKER and vo.est_fee == D("31.995")


# -- order shape -----------------------------------------------------------------------------------
def test_limit_without_a_price_and_stop_without_a_stop_say_what_is_missing() -> None:
    p = only(validate(intent(BUY, LIMIT, "1"), BTC))
    assert p.field == "price" and "needs a limit price" in p.message
    found = problems(validate(intent(BUY, STOP_LIMIT, "1"), BTC))
    assert {x.field for x in found} == {"price", "stop_price"}


def test_amount_must_be_positive() -> None:
    assert only(validate(intent(BUY, LIMIT, "0", price="64000"), BTC)).field == "amount"
    assert only(validate(intent(BUY, LIMIT, "-1", price="64000"), BTC)).field == "amount"


def test_a_ticket_for_another_market_or_a_halted_one_is_refused() -> None:
    assert only(validate(intent(BUY, LIMIT, "1", price="1", symbol="ETH/USDT"), BTC)).field == "symbol"
    halted = only(validate(intent(BUY, LIMIT, "1", price="64000"), market(active=False)))
    assert halted.field == "symbol" and "not trading" in halted.message


def test_market_order_without_a_book_has_no_price() -> None:
    p = only(validate(intent(BUY, MARKET, "0.01"), BTC, book=None))
    assert p.field == "type" and "no asks" in p.message and "limit order" in p.message


@pytest.mark.parametrize(
    ("side", "stop", "last", "words", "suggestion"),
    [
        (BUY, "63000", "64000", "not above the last price 64,000", "64000.1"),
        (BUY, "64000", "64000", "would trigger at once", "64000.1"),
        (SELL, "65000", "64000", "not below the last price 64,000", "63999.9"),
    ],
)
def test_a_stop_the_price_has_already_passed_would_trigger_at_once(
    side: OrderSide, stop: str, last: str, words: str, suggestion: str
) -> None:
    p = only(validate(intent(side, STOP_MARKET, "0.01", stop=stop), BTC, last_price=D(last)))
    assert p.field == "stop_price" and words in p.message
    assert p.suggestions == (D(suggestion),)


def test_a_stop_is_compared_with_the_mid_when_no_last_price_is_given() -> None:
    p = only(validate(intent(BUY, STOP_MARKET, "0.01", stop="63000"), BTC, book=BOOK))
    assert "last price 64,000" in p.message  # the mid of 63,999.9 / 64,000.1


# -- post-only, reduce-only, time in force -----------------------------------------------------------
def test_post_only_buy_that_would_cross_suggests_the_highest_price_that_rests() -> None:
    p = only(validate(intent(BUY, LIMIT, "0.01", price="64000.1", post_only=True), BTC, book=BOOK))
    assert p.field == "price"
    assert "would trade at once against the best ask 64,000.1" in p.message
    assert p.suggestions == (D("64000.0"),)


def test_post_only_sell_that_would_cross_suggests_the_lowest_price_that_rests() -> None:
    p = only(validate(intent(SELL, LIMIT, "0.01", price="63000", post_only=True), BTC, book=BOOK))
    assert p.field == "price" and p.suggestions == (D("64000.0"),)


def test_post_only_on_a_market_order_or_with_ioc_is_a_contradiction() -> None:
    assert only(validate(intent(BUY, MARKET, "0.01", post_only=True), BTC, book=BOOK)).field == "post_only"
    ioc = intent(BUY, LIMIT, "0.01", price="63000", post_only=True, tif=TimeInForce.IOC)
    assert only(validate(ioc, BTC, book=BOOK)).field == "post_only"


def test_reduce_only_needs_something_to_reduce() -> None:
    buy = only(
        validate(intent(BUY, LIMIT, "0.01", price="64000", reduce_only=True), BTC, balance={"USDT": D(10**6)})
    )
    assert buy.field == "reduce_only" and "cannot be short" in buy.message
    none = only(
        validate(intent(SELL, LIMIT, "0.01", price="64000", reduce_only=True), BTC, balance={"BTC": D(0)})
    )
    assert none.field == "reduce_only" and "You hold no BTC" in none.message
    # Holding less than the sell: the reduce-only rule and the funds rule both say so.
    found = problems(
        validate(intent(SELL, LIMIT, "0.5", price="64000", reduce_only=True), BTC, balance={"BTC": D("0.2")})
    )
    assert "this sell can be at most 0.2 BTC" in found[0].message
    assert found[0].field == "amount" and found[0].suggestions == (D("0.2"),)


# -- funds ------------------------------------------------------------------------------------------
def test_a_buy_needs_its_cost_and_fee_free_and_the_suggestion_fits() -> None:
    ticket = intent(BUY, LIMIT, "0.2", price="64000")
    p = only(validate(ticket, BTC, balance={"USDT": D(10_000)}))
    assert p.field == "amount"
    assert "needs about 12,812.8 USDT with fees; you have 10,000 USDT free" in p.message
    assert p.suggestions == (D("0.15609"),)  # 10000 / (64000 * 1.001), down to the step
    assert isinstance(
        validate(replace(ticket, amount=p.suggestions[0]), BTC, balance={"USDT": D(10_000)}), ValidatedOrder
    )


def test_a_market_buy_is_priced_by_walking_the_book() -> None:
    p = only(validate(intent(BUY, MARKET, "1"), BTC, book=BOOK, balance={"USDT": D(40_000)}))
    # 0.5 at 64,000.1 costs 32,032.05005 with the 0.1% fee; the 7,967.94995 left
    # buys 0.12437 at 64,000.2 * 1.001 = 64,064.2002 a unit.
    assert p.suggestions == (D("0.62437"),)


def test_a_sell_needs_the_base_amount_free() -> None:
    p = only(validate(intent(SELL, LIMIT, "1", price="64000"), BTC, balance={"BTC": D("0.3")}))
    assert p.field == "amount" and "you have 0.3 BTC" in p.message and p.suggestions == (D("0.3"),)


# -- quote amounts ------------------------------------------------------------------------------------
def test_quote_amount_becomes_base_at_the_limit_price_rounded_down() -> None:
    vo = accepted(validate(intent(BUY, LIMIT, "1000", price="64000", unit=AmountUnit.QUOTE), BTC))
    assert vo.amount == D("0.01562")  # 0.015625 down to the step: never spends more than 1,000
    assert vo.est_cost <= 1000


def test_quote_amount_of_a_market_buy_walks_the_book() -> None:
    vo = accepted(validate(intent(BUY, MARKET, "40000", unit=AmountUnit.QUOTE), BTC, book=BOOK))
    # 0.5 at 64,000.1 = 32,000.05, then 7,999.95 / 64,000.2 = 0.12499 more
    assert vo.amount == D("0.62499")
    assert vo.est_cost <= 40_000 and vo.worst_price == D("64000.2")


def test_market_order_larger_than_the_book_is_estimated_and_warned() -> None:
    vo = accepted(validate(intent(BUY, MARKET, "5"), BTC, book=BOOK))
    assert vo.est_cost == D("0.5") * D("64000.1") + D("1") * D("64000.2") + D("3.5") * D("64000.5")
    assert any("holds only 4.5 BTC" in n for n in vo.notes)


# -- parsing and raising --------------------------------------------------------------------------------
def test_parse_decimal_reads_what_a_trader_types() -> None:
    assert parse_decimal(" 64000.5 ", "price") == D("64000.5")
    grouped = parse_decimal("64,000.5", "price")  # a thousands separator is never guessed (test_number_input)
    assert isinstance(grouped, FieldProblem) and grouped.field == "price" and "cannot tell" in grouped.message
    bad = parse_decimal("12abc", "amount")
    assert isinstance(bad, FieldProblem) and bad.field == "amount" and "not a number" in bad.message
    assert isinstance(parse_decimal("NaN", "price"), FieldProblem)


def test_require_valid_raises_the_first_problem_with_all_of_them_attached() -> None:
    with pytest.raises(OrderInvalidError) as caught:
        require_valid(intent(BUY, STOP_LIMIT, "1"), BTC)
    assert caught.value.field in ("price", "stop_price") and len(caught.value.problems) == 2
    assert isinstance(require_valid(intent(BUY, LIMIT, "1", price="64000"), BTC).amount, Decimal)
