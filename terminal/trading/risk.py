"""Risk checks: the account's own guard rails, applied to a validated order
before it leaves the terminal (paper or live).

Rules (each off when its limit is None; notional figures are in the order's
quote currency):

- ``max_order_notional``: the order's estimated cost;
- ``max_position_notional`` / ``max_position_base``: the position after the
  order, counting every open buy on the symbol as filled (the worst case);
  only buys are checked, since a spot sell can only shrink a position;
- ``price_band_pct``: a fat-finger guard. A limit price, or the deepest
  level a market order would walk to, must lie within this many percent of
  the mid; a stop-limit's limit is measured from its stop (where it comes
  alive); a stop-market or a trailing stop has no price to measure;
- ``max_open_orders``: orders that can rest (not market, IOC or FOK) are
  refused once the account has this many open;
- ``daily_loss_limit``: once realised + unrealised PnL since the UTC day
  start reaches minus this much, orders that add to a position (buys) are
  refused; sells, which reduce, still pass. Best effort on the client side:
  it knows only the fills this terminal saw and the marks it had (see
  ``terminal.trading.positions``); the exchange knows nothing of it.

A ``RiskBlock`` names its rule and gives the numbers, in plain words, and
the ticket field to change. The order ticket runs the same rules as the user
types (``AccountRisk``: the account's limits and its state), so a rule warns
on its field and in the confirmation before Send, not only after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from terminal.errors import RiskCheckFailedError
from terminal.marketdata.orderbook import OrderBook
from terminal.trading.money import HUNDRED, ZERO, fmt, fmt_money, fmt_price, to_decimal
from terminal.trading.orders import OrderSide, OrderType
from terminal.trading.validation import ValidatedOrder


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SymbolRiskLimits(_Frozen):
    """Overrides for one symbol (e.g. a tighter position limit on a thin market)."""

    max_order_notional: Decimal | None = Field(default=None, gt=0)
    max_position_notional: Decimal | None = Field(default=None, gt=0)
    max_position_base: Decimal | None = Field(default=None, gt=0)
    price_band_pct: Decimal | None = Field(default=None, gt=0, le=100)


class RiskLimits(_Frozen):
    """An account's risk rules. Defaults guard against fat fingers (a 5% band,
    50 open orders) and leave sizes to the trader."""

    max_order_notional: Decimal | None = Field(
        default=None, gt=0, description="largest order, in the quote currency"
    )
    max_position_notional: Decimal | None = Field(
        default=None, gt=0, description="largest position per symbol, in quote at the mid"
    )
    max_position_base: Decimal | None = Field(
        default=None, gt=0, description="largest position per symbol, in base currency"
    )
    price_band_pct: Decimal | None = Field(
        default=Decimal(5), gt=0, le=100, description="limit prices within this % of the mid"
    )
    max_open_orders: int | None = Field(default=50, ge=1, description="open orders across the account")
    daily_loss_limit: Decimal | None = Field(
        default=None, gt=0, description="no new buys after losing this much today (UTC), best effort"
    )
    symbols: dict[str, SymbolRiskLimits] = Field(default_factory=dict, description="per-symbol overrides")

    def for_symbol(self, symbol: str) -> SymbolRiskLimits:
        """The limits that apply to ``symbol``: its overrides, else the account's."""
        own = self.symbols.get(symbol, SymbolRiskLimits())
        return SymbolRiskLimits(
            max_order_notional=own.max_order_notional or self.max_order_notional,
            max_position_notional=own.max_position_notional or self.max_position_notional,
            max_position_base=own.max_position_base or self.max_position_base,
            price_band_pct=own.price_band_pct or self.price_band_pct,
        )


@dataclass(frozen=True)
class AccountState:
    """What the rules need to know about the account (``PaperAccount.risk_state``)."""

    #: currency -> total held; a spot position is the base currency held
    holdings: Mapping[str, Decimal] = field(default_factory=dict)
    #: symbol -> position in base, where the account has positions of its own
    #: (contracts); it takes precedence over ``holdings``
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    #: symbol -> unfilled base of open buy orders (stops included)
    open_buys: Mapping[str, Decimal] = field(default_factory=dict)
    open_orders: int = 0
    #: realised + unrealised PnL since the UTC day start; None when unknown
    day_pnl: Decimal | None = None
    pnl_currency: str = ""


@dataclass(frozen=True)
class MarketState:
    """The order's market now."""

    mid: Decimal | None = None
    last: Decimal | None = None

    @classmethod
    def of_book(cls, book: OrderBook | None, last: Decimal | None = None) -> MarketState:
        mid = book.mid if book is not None else None
        return cls(to_decimal(mid) if mid is not None else None, last)


@dataclass(frozen=True)
class AccountRisk:
    """An account's risk rules and what they need to know of it now
    (``Broker.limits``, ``Broker.risk_state()``): what the ticket checks an
    order against as the user types."""

    limits: RiskLimits
    state: AccountState

    def check(self, order: ValidatedOrder, book: OrderBook | None) -> list[RiskBlock]:
        return check(order, self.state, MarketState.of_book(book), self.limits)


@dataclass(frozen=True)
class RiskBlock:
    rule: str  # the RiskLimits field that blocks
    message: str  # which rule, why, with the numbers
    limit: Decimal
    value: Decimal
    field: str | None = None  # the ticket field to change ("amount", "price"); None: no one field


@dataclass(frozen=True)
class PriceDistance:
    """How far an order's price is from where the market is: the price band
    measures this, and the confirmation says it ("limit price 36% above the mid")."""

    what: str  # "limit price", or for a market order "deepest price it would walk to"
    price: Decimal
    centre_name: str  # "mid", or "stop" for a stop-limit (its limit counts from where it comes alive)
    centre: Decimal
    pct: Decimal  # distance in percent of the centre, >= 0

    @property
    def direction(self) -> str:
        return "above" if self.price > self.centre else "below"


def price_distance(order: ValidatedOrder, mid: Decimal | None) -> PriceDistance | None:
    """The distance the price band rule judges, or None: a stop-market (or a
    trailing stop) has no price to measure, and without a mid a limit or market order has no centre."""
    if order.type in (OrderType.STOP_MARKET, OrderType.TRAILING_STOP):
        return None
    if order.type is OrderType.STOP_LIMIT:
        centre, centre_name, price, what = order.stop_price, "stop", order.price, "limit price"
    elif order.type is OrderType.LIMIT:
        centre, centre_name, price, what = mid, "mid", order.price, "limit price"
    else:
        centre, centre_name, price, what = mid, "mid", order.worst_price, "deepest price it would walk to"
    if price is None or centre is None or centre <= 0:
        return None
    return PriceDistance(what, price, centre_name, centre, abs(price - centre) / centre * HUNDRED)


def check(
    order: ValidatedOrder, account: AccountState, market: MarketState, limits: RiskLimits
) -> list[RiskBlock]:
    """Every rule ``order`` breaks (empty: it may go)."""
    rules = limits.for_symbol(order.symbol)
    quote, base = order.rules.quote, order.rules.base
    blocks: list[RiskBlock] = []

    if rules.max_order_notional is not None and order.est_cost > rules.max_order_notional:
        blocks.append(
            RiskBlock(
                "max_order_notional",
                f"Order too large: {fmt(order.amount)} {base} is worth about {fmt(order.est_cost)} {quote}; "
                f"the most this account allows in one order is {fmt(rules.max_order_notional)} {quote}.",
                rules.max_order_notional,
                order.est_cost,
                "amount",
            )
        )

    if order.side is OrderSide.BUY:
        held = account.positions.get(order.symbol, account.holdings.get(base, ZERO))
        pending = account.open_buys.get(order.symbol, ZERO)
        after = held + pending + order.amount
        if rules.max_position_base is not None and after > rules.max_position_base:
            blocks.append(
                RiskBlock(
                    "max_position_base",
                    f"Position too large: holding {fmt(held)} {base} with {fmt(pending)} more in open buys, "
                    f"this order would take it to {fmt(after)} {base}; the limit is "
                    f"{fmt(rules.max_position_base)} {base}.",
                    rules.max_position_base,
                    after,
                    "amount",
                )
            )
        if rules.max_position_notional is not None:
            mark = market.mid if market.mid is not None else order.est_price
            worth = after * mark
            if worth > rules.max_position_notional:
                blocks.append(
                    RiskBlock(
                        "max_position_notional",
                        f"Position too large: after this order (and the open buys) it would be "
                        f"{fmt(after)} {base}, worth {fmt_money(worth)} {quote} at "
                        f"{fmt_price(mark, order.rules.price_tick)}; the limit is "
                        f"{fmt(rules.max_position_notional)} {quote}.",
                        rules.max_position_notional,
                        worth,
                        "amount",
                    )
                )

    band = _band_block(order, market, rules.price_band_pct)
    if band is not None:
        blocks.append(band)

    if limits.max_open_orders is not None and order.rests and account.open_orders >= limits.max_open_orders:
        blocks.append(
            RiskBlock(
                "max_open_orders",
                f"Too many open orders: the account has {account.open_orders} and allows "
                f"{limits.max_open_orders}. Cancel one first.",
                Decimal(limits.max_open_orders),
                Decimal(account.open_orders + 1),
            )
        )

    if (
        limits.daily_loss_limit is not None
        and account.day_pnl is not None
        and order.side is OrderSide.BUY
        and account.day_pnl <= -limits.daily_loss_limit
    ):
        blocks.append(
            RiskBlock(
                "daily_loss_limit",
                f"Daily loss limit reached: {fmt(-account.day_pnl)} {account.pnl_currency} lost since "
                f"00:00 UTC (limit {fmt(limits.daily_loss_limit)} {account.pnl_currency}). Only orders "
                "that reduce a position are allowed until tomorrow. (Counted on this computer from the "
                "fills it saw: best effort.)",
                limits.daily_loss_limit,
                -account.day_pnl,
            )
        )
    return blocks


def require_within_limits(
    order: ValidatedOrder, account: AccountState, market: MarketState, limits: RiskLimits
) -> None:
    """``check``, raising ``RiskCheckFailedError`` (first rule, every block) if any rule blocks."""
    blocks = check(order, account, market, limits)
    if blocks:
        raise RiskCheckFailedError(blocks[0].rule, blocks[0].message, blocks=tuple(blocks))


def _band_block(order: ValidatedOrder, market: MarketState, band_pct: Decimal | None) -> RiskBlock | None:
    if band_pct is None or order.type in (OrderType.STOP_MARKET, OrderType.TRAILING_STOP):
        return None
    # a limit price is the user's to fix; a market order walking too deep is too large for the book
    field = "price" if order.type.has_price else "amount"
    distance = price_distance(order, market.mid)
    if distance is None:
        if order.type is OrderType.STOP_LIMIT:
            return None
        return RiskBlock(
            "price_band_pct",
            f"There is no mid price to check the {fmt(band_pct)}% price band against: "
            "wait for the order book.",
            band_pct,
            ZERO,
            field,
        )
    if distance.pct <= band_pct:
        return None
    tick = order.rules.price_tick
    return RiskBlock(
        "price_band_pct",
        f"Price far from the market: the {distance.what}, {fmt_price(distance.price, tick)} "
        f"{order.rules.quote}, is {distance.pct:.2f}% {distance.direction} the {distance.centre_name} "
        f"{fmt_price(distance.centre, tick)}; "
        f"this account allows {fmt(band_pct)}%. Check the price (a typo?) or widen the band.",
        band_pct,
        distance.pct,
        field,
    )
