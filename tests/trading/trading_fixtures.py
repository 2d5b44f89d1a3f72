"""Shared builders for the trading tests: ccxt-shaped markets, books, trades, tickets."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from terminal.marketdata.orderbook import OrderBook
from terminal.trading import (
    AmountUnit,
    OrderIntent,
    OrderSide,
    OrderType,
    TimeInForce,
    ValidatedOrder,
    validate,
)
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.settings import PaperSettings

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
MARKET, LIMIT, STOP_MARKET, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
)
T0 = 1_700_000_000_000  # a fixed clock, ms


def market(
    symbol: str = "BTC/USDT",
    *,
    tick: float | None = 0.1,
    step: float | None = 0.00001,
    min_amount: float | None = 0.00001,
    max_amount: float | None = None,
    min_cost: float | None = 5.0,
    max_cost: float | None = None,
    min_price: float | None = 0.1,
    max_price: float | None = None,
    maker: float = 0.001,
    taker: float = 0.001,
    active: bool = True,
) -> dict[str, Any]:
    """A market dict as ccxt (TICK_SIZE mode) and the simulator give it."""
    base, quote = symbol.split("/")
    return {
        "id": symbol.replace("/", ""),
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "type": "spot",
        "spot": True,
        "active": active,
        "maker": maker,
        "taker": taker,
        "precision": {"price": tick, "amount": step},
        "limits": {
            "amount": {"min": min_amount, "max": max_amount},
            "price": {"min": min_price, "max": max_price},
            "cost": {"min": min_cost, "max": max_cost},
        },
        "info": {},
    }


def book(
    bids: Sequence[tuple[float, float]] = (),
    asks: Sequence[tuple[float, float]] = (),
    symbol: str = "BTC/USDT",
) -> OrderBook:
    b = OrderBook(symbol)
    b.replace([list(level) for level in bids], [list(level) for level in asks])
    return b


def trade(
    price: float, amount: float, ts: int, trade_id: str | None = None, side: str = "sell"
) -> dict[str, Any]:
    return {
        "id": trade_id or f"{ts}-{price}-{amount}",
        "timestamp": ts,
        "price": price,
        "amount": amount,
        "side": side,
        "symbol": None,
    }


def intent(
    side: OrderSide,
    type_: OrderType,
    amount: str | Decimal,
    *,
    symbol: str = "BTC/USDT",
    price: str | None = None,
    stop: str | None = None,
    unit: AmountUnit = AmountUnit.BASE,
    tif: TimeInForce = TimeInForce.GTC,
    post_only: bool = False,
    reduce_only: bool = False,
) -> OrderIntent:
    return OrderIntent(
        symbol=symbol,
        side=side,
        type=type_,
        amount=D(amount),
        amount_unit=unit,
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
        time_in_force=tif,
        post_only=post_only,
        reduce_only=reduce_only,
        created_ms=T0,
    )


def accepted(result: object) -> ValidatedOrder:
    assert isinstance(result, ValidatedOrder), f"expected a valid order, got {result!r}"
    return result


def ticket(
    account: PaperAccount,
    mkt: dict[str, Any],
    the_book: OrderBook | None,
    side: OrderSide,
    type_: OrderType,
    amount: str,
    **kwargs: Any,
) -> ValidatedOrder:
    """A ticket validated against ``account``'s free balances and fees, as the UI will do."""
    last = kwargs.pop("last", None)
    check_funds = kwargs.pop("check_funds", True)
    return accepted(
        validate(
            intent(side, type_, amount, symbol=mkt["symbol"], **kwargs),
            mkt,
            book=the_book,
            balance=account.free_balances() if check_funds else None,
            last_price=None if last is None else D(last),
            fees=account.fees,
        )
    )


def account(start: dict[str, str] | None = None, maker: str = "0.001", taker: str = "0.002") -> PaperAccount:
    """Maker and taker rates differ by default, so a test can tell which one a fill paid."""
    balances = {c: D(v) for c, v in (start or {"USDT": "10000"}).items()}
    return PaperAccount(PaperSettings(start_balances=balances, maker_fee=D(maker), taker_fee=D(taker)))
