"""Each risk rule: a blocked order names the rule and gives the numbers;
an order inside every rule passes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from terminal.errors import RiskCheckFailedError
from terminal.trading import (
    AccountState,
    MarketState,
    OrderIntent,
    OrderSide,
    OrderType,
    RiskBlock,
    RiskLimits,
    SymbolRiskLimits,
    TimeInForce,
    ValidatedOrder,
    check,
    validate,
)
from terminal.trading.risk import require_within_limits
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
    market,
)

BTC = market()
BOOK = book([(63_999.9, 1.0)], [(64_000.1, 0.5), (64_000.2, 1.0), (70_000.0, 10.0)])
AT_MID = MarketState(mid=D(64_000))
NO_LIMITS = RiskLimits(price_band_pct=None, max_open_orders=None)


def order(side: OrderSide, type_: OrderType, amount: str, **kwargs: Any) -> ValidatedOrder:
    return accepted(validate(intent(side, type_, amount, **kwargs), BTC, book=BOOK))


def rules_hit(blocks: list[RiskBlock]) -> list[str]:
    return [b.rule for b in blocks]


def test_nothing_blocks_without_limits() -> None:
    assert check(order(BUY, MARKET, "5"), AccountState(), AT_MID, NO_LIMITS) == []


def test_max_order_notional() -> None:
    limits = RiskLimits(max_order_notional=D(10_000), price_band_pct=None)
    (block,) = check(order(BUY, LIMIT, "0.2", price="64000"), AccountState(), AT_MID, limits)
    assert block.rule == "max_order_notional"
    assert (block.limit, block.value) == (D(10_000), D(12_800))
    assert "worth about 12,800 USDT" in block.message and "10,000 USDT" in block.message
    assert check(order(BUY, LIMIT, "0.15", price="64000"), AccountState(), AT_MID, limits) == []


def test_max_position_counts_what_is_held_and_every_open_buy() -> None:
    limits = RiskLimits(max_position_base=D(1), price_band_pct=None)
    state = AccountState(holdings={"BTC": D("0.5")}, open_buys={"BTC/USDT": D("0.3")})
    (block,) = check(order(BUY, LIMIT, "0.3", price="64000"), state, AT_MID, limits)
    assert block.rule == "max_position_base" and block.value == D("1.1")
    assert "holding 0.5 BTC with 0.3 more in open buys" in block.message
    assert check(order(BUY, LIMIT, "0.2", price="64000"), state, AT_MID, limits) == []
    # A spot sell only shrinks the position: never blocked by it.
    assert check(order(SELL, LIMIT, "0.3", price="64000"), state, AT_MID, limits) == []


def test_max_position_notional_is_valued_at_the_mid() -> None:
    limits = RiskLimits(max_position_notional=D(50_000), price_band_pct=None)
    state = AccountState(holdings={"BTC": D("0.5")})
    (block,) = check(order(BUY, LIMIT, "0.3", price="63000"), state, AT_MID, limits)
    assert block.rule == "max_position_notional"
    assert block.value == D("0.8") * 64_000  # at the mid, not the order's price
    assert "worth 51,200 USDT at 64,000" in block.message


def test_symbol_overrides_take_precedence() -> None:
    limits = RiskLimits(
        max_order_notional=D(1_000_000),
        price_band_pct=None,
        symbols={"BTC/USDT": SymbolRiskLimits(max_order_notional=D(1_000))},
    )
    assert rules_hit(check(order(BUY, LIMIT, "0.1", price="64000"), AccountState(), AT_MID, limits)) == [
        "max_order_notional"
    ]


@pytest.mark.parametrize(
    ("ticket", "blocked", "words"),
    [
        (intent(BUY, LIMIT, "0.01", price="67300"), True, "5.16% above the mid 64,000"),
        (intent(BUY, LIMIT, "0.01", price="67100"), False, ""),
        (intent(SELL, LIMIT, "0.01", price="6400"), True, "90.00% below the mid"),  # a dropped zero
        # A market order is measured by the deepest level it would walk to.
        (intent(BUY, MARKET, "2"), True, "deepest price it would walk to, 70,000 USDT, is 9.38% above"),
        (intent(BUY, MARKET, "1.5"), False, ""),
        # A stop-limit's limit is measured from its stop, where it comes alive.
        (intent(SELL, STOP_LIMIT, "0.01", price="50000", stop="55000"), True, "9.09% below the stop 55,000"),
        (intent(SELL, STOP_LIMIT, "0.01", price="54000", stop="55000"), False, ""),
        (intent(SELL, STOP_MARKET, "0.01", stop="30000"), False, ""),
    ],
)
def test_price_band_around_the_mid(ticket: OrderIntent, blocked: bool, words: str) -> None:
    limits = RiskLimits(price_band_pct=D(5), max_open_orders=None)
    vo = accepted(validate(ticket, BTC, book=BOOK))
    blocks = check(vo, AccountState(), AT_MID, limits)
    assert rules_hit(blocks) == (["price_band_pct"] if blocked else [])
    if blocked:
        assert words in blocks[0].message and blocks[0].limit == 5


def test_a_computed_mid_is_said_as_the_market_quotes_it_not_as_float_noise() -> None:
    # The mid of a float book: (73,363.9 + 73,364.0) / 2 carries binary noise.
    mid = D((73_363.9 + 73_364.0) / 2)
    assert str(mid) != "73363.95"
    limits = RiskLimits(price_band_pct=D(5), max_open_orders=None)
    (block,) = check(order(BUY, LIMIT, "0.01", price="80000"), AccountState(), MarketState(mid=mid), limits)
    assert "the mid 73,363.95;" in block.message, block.message


def test_price_band_without_a_mid_blocks_rather_than_guess() -> None:
    (block,) = check(order(BUY, LIMIT, "0.01", price="64000"), AccountState(), MarketState(), RiskLimits())
    assert block.rule == "price_band_pct" and "no mid price" in block.message


def test_max_open_orders_counts_orders_that_can_rest() -> None:
    limits = RiskLimits(max_open_orders=3, price_band_pct=None)
    full = AccountState(open_orders=3)
    (block,) = check(order(BUY, LIMIT, "0.01", price="64000"), full, AT_MID, limits)
    assert block.rule == "max_open_orders" and "has 3 and allows 3" in block.message
    # Orders that never rest do not add to the count.
    assert check(order(BUY, MARKET, "0.01"), full, AT_MID, limits) == []
    ioc = order(BUY, LIMIT, "0.01", price="64000", tif=TimeInForce.IOC)
    assert check(ioc, full, AT_MID, limits) == []
    assert check(order(BUY, LIMIT, "0.01", price="64000"), AccountState(open_orders=2), AT_MID, limits) == []


def test_daily_loss_limit_blocks_buys_and_lets_sells_reduce() -> None:
    limits = RiskLimits(daily_loss_limit=D(500), price_band_pct=None)
    lost = AccountState(day_pnl=D(-500), pnl_currency="USDT")
    (block,) = check(order(BUY, LIMIT, "0.01", price="64000"), lost, AT_MID, limits)
    assert block.rule == "daily_loss_limit" and "500 USDT lost since 00:00 UTC" in block.message
    assert "best effort" in block.message
    assert check(order(SELL, LIMIT, "0.01", price="64000"), lost, AT_MID, limits) == []
    assert (
        check(order(BUY, LIMIT, "0.01", price="64000"), AccountState(day_pnl=D(-499)), AT_MID, limits) == []
    )
    # Unknown PnL (nothing seen yet) blocks nothing: the rule is best effort.
    assert check(order(BUY, LIMIT, "0.01", price="64000"), AccountState(), AT_MID, limits) == []


def test_every_rule_that_fires_is_reported_and_the_raise_carries_them() -> None:
    limits = RiskLimits(max_order_notional=D(100), max_position_base=D("0.001"), price_band_pct=D(1))
    vo = order(BUY, LIMIT, "0.01", price="70000")
    assert rules_hit(check(vo, AccountState(), AT_MID, limits)) == [
        "max_order_notional",
        "max_position_base",
        "price_band_pct",
    ]
    with pytest.raises(RiskCheckFailedError) as caught:
        require_within_limits(vo, AccountState(), AT_MID, limits)
    assert caught.value.rule == "max_order_notional" and len(caught.value.blocks) == 3


def test_limits_reject_nonsense_values() -> None:
    with pytest.raises(ValidationError):
        RiskLimits(price_band_pct=D(0))
    with pytest.raises(ValidationError):
        RiskLimits(max_open_orders=0)
    # Serialisable for the config file later.
    limits = RiskLimits(max_order_notional=D("2500.5"))
    assert RiskLimits.model_validate(limits.model_dump(mode="json")) == limits


def test_paper_account_state_feeds_the_rules() -> None:
    acct = account({"USDT": "100000", "BTC": "0.5"})
    acct.place(order(BUY, LIMIT, "0.2", price="63000"), BOOK, T0)
    state = acct.risk_state(T0 + 1)
    assert state.holdings["BTC"] == D("0.5") and state.open_buys == {"BTC/USDT": D("0.2")}
    assert state.open_orders == 1 and state.day_pnl == 0 and state.pnl_currency == "USDT"
    limits = RiskLimits(max_position_base=D(1), price_band_pct=None)
    (block,) = check(order(BUY, LIMIT, "0.4", price="63000"), state, MarketState.of_book(BOOK), limits)
    assert block.value == D("1.1")
    assert MarketState.of_book(BOOK).mid == Decimal("64000.0")
