"""The ticket's 25/50/75/100 % buttons: a share of the free balance, the fee
included, floored to the market's step, so 100 % is always affordable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from terminal.trading.fees import FeeRates
from terminal.trading.market_rules import MarketRules
from terminal.trading.orders import AmountUnit, OrderSide
from terminal.trading.sizing import SizingError, share_of_free

D = Decimal
RULES = MarketRules(
    "BTC/USDT",
    "BTC",
    "USDT",
    amount_step=D("0.0001"),
    price_tick=D("0.1"),
    fees=FeeRates(D("0.001"), D("0.002")),
)
FREE = {"USDT": D("10000"), "BTC": D("0.5")}
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BASE, QUOTE = AmountUnit.BASE, AmountUnit.QUOTE


@pytest.mark.parametrize(
    ("fraction", "side", "unit", "price", "expected"),
    [
        # 10,000 USDT / 1.002 (the higher fee) = 9,980.04 USDT; / 50,000 = 0.19960 BTC, floored to 0.0001
        ("1", BUY, BASE, "50000", "0.1996"),
        ("0.5", BUY, BASE, "50000", "0.0998"),
        ("0.25", BUY, BASE, "50000", "0.0499"),
        ("1", BUY, QUOTE, None, "9980.03"),  # a quote amount needs no price
        ("0.75", SELL, BASE, None, "0.375"),
        ("1", SELL, BASE, None, "0.5"),
        ("0.5", SELL, QUOTE, "50000", "12475.04"),  # 0.25 BTC * 50,000 / 1.002
    ],
)
def test_a_share_of_the_free_balance(
    fraction: str, side: OrderSide, unit: AmountUnit, price: str | None, expected: str
) -> None:
    amount = share_of_free(D(fraction), side, unit, RULES, FREE, None if price is None else D(price))
    assert amount == D(expected)
    if side is BUY and unit is BASE and price is not None:  # what it costs, fee included, fits the balance
        assert amount * D(price) * (1 + RULES.fees.taker) <= FREE["USDT"] * D(fraction)


@pytest.mark.parametrize(
    ("side", "unit", "free", "price", "message"),
    [
        (BUY, BASE, {"USDT": D(0)}, D(1), "no USDT free"),
        (SELL, BASE, {"USDT": D(5)}, D(1), "no BTC free"),
        (BUY, BASE, FREE, None, "needs a price"),
        (SELL, QUOTE, FREE, None, "needs a price"),
    ],
)
def test_a_share_that_cannot_be_worked_out_says_why(
    side: OrderSide, unit: AmountUnit, free: dict[str, Decimal], price: Decimal | None, message: str
) -> None:
    with pytest.raises(SizingError, match=message):
        share_of_free(D("0.5"), side, unit, RULES, free, price)
