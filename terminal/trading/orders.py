"""Orders: what the user asks for (``OrderIntent``), what then happens to it
(``Order``, its ``Fill``s), and the client order id that ties them together.

Every order carries a client order id from the moment the ticket makes the
intent, so the live broker can find an order it sent even when the answer to
``create_order`` was lost (reconcile by id; never send the intent twice).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from terminal.trading.fees import Liquidity
from terminal.trading.money import HUNDRED, ZERO, ceil_to_step, floor_to_step

CLIENT_ID_PREFIX = "t-"
CLIENT_ID_RANDOM_CHARS = 20


def new_client_order_id() -> str:
    """ "t-" and 20 random characters of [a-z2-7] (100 bits): unique without
    coordination, and inside what exchanges accept (Binance: 36 of
    [A-Za-z0-9._:/-]; Gate.io: its "t-" prefix and 28 more; Bybit: 36).
    OKX takes letters and digits only: the live broker drops the "-" there."""
    text = base64.b32encode(secrets.token_bytes(13)).decode("ascii").lower()
    return CLIENT_ID_PREFIX + text[:CLIENT_ID_RANDOM_CHARS]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"  # becomes a market order when the last price reaches the stop
    STOP_LIMIT = "stop_limit"  # becomes a limit order when the last price reaches the stop
    #: a stop-market whose stop follows the price at a distance (on a live account, held by the terminal):
    #: a sell's stop rises with the highest price since it was placed, a buy's falls with the lowest
    TRAILING_STOP = "trailing_stop"

    @property
    def has_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def is_stop(self) -> bool:
        """Waits for a trigger (shown and drawn at its stop price until then)."""
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP)

    @property
    def has_stop_price(self) -> bool:
        """The user types the stop price (a trailing stop works its own out from a distance)."""
        return self in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT)

    @property
    def is_trailing(self) -> bool:
        return self is OrderType.TRAILING_STOP


class TimeInForce(StrEnum):
    GTC = "gtc"  # good till cancelled: what does not fill at once rests
    IOC = "ioc"  # immediate or cancel: fill what crosses now, cancel the rest
    FOK = "fok"  # fill or kill: all at once, or nothing


class AmountUnit(StrEnum):
    BASE = "base"  # the amount is in the base currency (BTC of BTC/USDT)
    QUOTE = "quote"  # the amount is what to spend or receive in the quote currency (USDT)


class OrderStatus(StrEnum):
    OPEN = "open"  # resting (or a stop waiting for its trigger), nothing filled yet
    PARTIALLY_FILLED = "partially_filled"  # resting with part filled
    FILLED = "filled"
    CANCELLED = "cancelled"  # closed before filling completely; ``filled`` may be > 0
    REJECTED = "rejected"  # refused on arrival, nothing filled

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True)
class OrderIntent:
    """An order as the ticket holds it, before validation. Numbers are Decimals
    (``terminal.trading.validation.parse_decimal`` reads the ticket's text)."""

    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal
    amount_unit: AmountUnit = AmountUnit.BASE
    price: Decimal | None = None  # limit price (limit and stop-limit)
    stop_price: Decimal | None = None  # trigger price (stop-market and stop-limit)
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: str = field(default_factory=new_client_order_id)
    created_ms: int = field(default_factory=now_ms)
    #: a trailing stop's distance from the best price since it was placed: in the
    #: quote currency (``trail_amount``) or in percent (``trail_percent``), one of them
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    #: a live account: the terminal holds this stop until its trigger instead of sending it
    #: (``terminal.trading.live.held``): a spot bracket's stop-loss beside its take-profit.
    #: A live account's trailing stops always are; the paper account holds every stop anyway.
    held: bool = False


def trailing_stop_price(
    side: OrderSide,
    extreme: Decimal,
    trail_amount: Decimal | None,
    trail_percent: Decimal | None,
    tick: Decimal | None,
) -> Decimal:
    """Where a trailing stop triggers, ``extreme`` being the highest price seen
    since it was placed (a sell) or the lowest (a buy). Rounded to the tick
    away from the market: prices trade on the tick, so a sell that triggers at
    or below the rounded-down stop triggers exactly when the price has fallen
    the whole distance, no sooner."""
    if trail_amount is not None:
        distance = trail_amount
    else:
        assert trail_percent is not None, "a trailing stop needs a distance"
        distance = extreme * trail_percent / HUNDRED
    if side is OrderSide.SELL:
        return floor_to_step(extreme - distance, tick)
    return ceil_to_step(extreme + distance, tick)


@dataclass(frozen=True)
class Fill:
    """One execution of part of an order. ``fee`` (in ``fee_currency``) is
    charged exactly once, when the fill is applied."""

    fill_id: str
    client_order_id: str
    symbol: str
    side: OrderSide
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    timestamp: int

    @property
    def cost(self) -> Decimal:
        return self.price * self.amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "fill_id": self.fill_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "price": str(self.price),
            "amount": str(self.amount),
            "fee": str(self.fee),
            "fee_currency": self.fee_currency,
            "liquidity": self.liquidity.value,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fill:
        return cls(
            fill_id=data["fill_id"],
            client_order_id=data["client_order_id"],
            symbol=data["symbol"],
            side=OrderSide(data["side"]),
            price=Decimal(data["price"]),
            amount=Decimal(data["amount"]),
            fee=Decimal(data["fee"]),
            fee_currency=data["fee_currency"],
            liquidity=Liquidity(data["liquidity"]),
            timestamp=int(data["timestamp"]),
        )


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass
class Order:
    """An order's state as an account keeps it. Invariants: ``0 <= filled <=
    amount``; ``filled`` is the sum of the fills' amounts, ``fee`` of their
    fees; a closed order (filled, cancelled, rejected) holds no funds."""

    client_order_id: str
    symbol: str
    side: OrderSide
    type: OrderType
    amount: Decimal  # base currency, on the market's amount step
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    post_only: bool = False
    reduce_only: bool = False
    status: OrderStatus = OrderStatus.OPEN
    filled: Decimal = ZERO
    cost: Decimal = ZERO  # sum of price * amount over the fills, in quote
    fee: Decimal = ZERO
    fills: list[Fill] = field(default_factory=list)
    created_ms: int = 0
    updated_ms: int = 0
    #: why the order was cancelled or rejected, in plain words ("" otherwise)
    reason: str = ""
    #: a stop order's trigger was reached (it now behaves as market or limit)
    triggered: bool = False
    triggered_ms: int | None = None
    #: funds set aside for the unfilled part: ``hold`` of ``hold_currency``
    hold: Decimal = ZERO
    hold_currency: str = ""
    #: the market's amount step, so fills from trades stay on it after a restart
    amount_step: Decimal | None = None
    order_id: str = ""  # the exchange's (for paper: the account's) own id
    #: a trailing stop's distance (one of the two) and the best price seen since it
    #: was placed (highest for a sell, lowest for a buy); ``stop_price`` follows it
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    trail_extreme: Decimal | None = None
    #: the market's price tick, so a trailing stop's moving stop stays on it after a restart
    price_tick: Decimal | None = None
    #: a live account's stop the terminal holds until its trigger, not on the exchange
    #: (``terminal.trading.live.held``); it then sends a market order under this id
    held: bool = False
    #: what the user should know about the open order now, in plain words ("" if nothing)
    note: str = ""

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def average_price(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def follow(self, price: Decimal, ts: int) -> bool:
        """A trailing stop keeps its distance from the best price since it was
        placed: a sell's stop rises with a new high, a buy's falls with a new
        low; neither ever moves back. True if the stop moved."""
        extreme = self.trail_extreme
        if extreme is not None and (price <= extreme if self.side is OrderSide.SELL else price >= extreme):
            return False
        self.trail_extreme = price
        self.stop_price = trailing_stop_price(
            self.side, price, self.trail_amount, self.trail_percent, self.price_tick
        )
        self.updated_ms = ts
        return True

    def stop_reached(self, price: Decimal) -> bool:
        """A trade at ``price`` reaches this stop: a buy's at or above it, a sell's at or below.
        (The paper account and the stops the terminal holds for a live one trigger alike.)"""
        if self.stop_price is None:
            return False
        return price >= self.stop_price if self.side is OrderSide.BUY else price <= self.stop_price

    def snapshot(self) -> Order:
        """A copy for events: later changes to this order do not alter it."""
        return replace(self, fills=list(self.fills))

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "order_id": self.order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "type": self.type.value,
            "amount": str(self.amount),
            "price": _opt(self.price),
            "stop_price": _opt(self.stop_price),
            "time_in_force": self.time_in_force.value,
            "post_only": self.post_only,
            "reduce_only": self.reduce_only,
            "status": self.status.value,
            "filled": str(self.filled),
            "cost": str(self.cost),
            "fee": str(self.fee),
            "fills": [f.to_dict() for f in self.fills],
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "reason": self.reason,
            "triggered": self.triggered,
            "triggered_ms": self.triggered_ms,
            "hold": str(self.hold),
            "hold_currency": self.hold_currency,
            "amount_step": _opt(self.amount_step),
            "trail_amount": _opt(self.trail_amount),
            "trail_percent": _opt(self.trail_percent),
            "trail_extreme": _opt(self.trail_extreme),
            "price_tick": _opt(self.price_tick),
            "held": self.held,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        return cls(
            client_order_id=data["client_order_id"],
            order_id=data.get("order_id", ""),
            symbol=data["symbol"],
            side=OrderSide(data["side"]),
            type=OrderType(data["type"]),
            amount=Decimal(data["amount"]),
            price=_opt_dec(data.get("price")),
            stop_price=_opt_dec(data.get("stop_price")),
            time_in_force=TimeInForce(data.get("time_in_force", "gtc")),
            post_only=bool(data.get("post_only", False)),
            reduce_only=bool(data.get("reduce_only", False)),
            status=OrderStatus(data["status"]),
            filled=Decimal(data["filled"]),
            cost=Decimal(data["cost"]),
            fee=Decimal(data["fee"]),
            fills=[Fill.from_dict(f) for f in data.get("fills", [])],
            created_ms=int(data["created_ms"]),
            updated_ms=int(data["updated_ms"]),
            reason=data.get("reason", ""),
            triggered=bool(data.get("triggered", False)),
            triggered_ms=data.get("triggered_ms"),
            hold=Decimal(data.get("hold", "0")),
            hold_currency=data.get("hold_currency", ""),
            amount_step=_opt_dec(data.get("amount_step")),
            trail_amount=_opt_dec(data.get("trail_amount")),
            trail_percent=_opt_dec(data.get("trail_percent")),
            trail_extreme=_opt_dec(data.get("trail_extreme")),
            price_tick=_opt_dec(data.get("price_tick")),
            held=bool(data.get("held", False)),
        )
