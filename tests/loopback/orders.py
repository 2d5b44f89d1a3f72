"""User orders on the loopback exchange: accounts and balances, the symbol
filters of ``exchangeInfo``, and matching against the simulated market.

The rules the tests rely on:

- Own orders never enter the simulated book and never move it. A taker order
  (MARKET, or the crossing part of a LIMIT) fills against the *published* book,
  the one clients see, level by level at each level's price, and leaves it as
  it was. A resting order fills only from the market's public trades.
- A resting order fills from every public trade at or through its price (a buy
  at P from trades at p <= P, a sell from p >= P), at its own price (maker), for
  at most the trade's size; one trade's size is shared by the resting orders of
  a side in price-time priority, across all accounts. Own orders never match
  each other.
- Stop orders wait (status NEW, not working) until a public trade at or through
  the stop price. Then STOP_LOSS / TAKE_PROFIT run as a market order, and
  STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT become a limit order: they take what
  crosses, and rest the remainder (IOC/FOK: expire it).
- Funds: an order that waits or rests locks what it may spend: a buy its
  quantity x limit price (x stop price for a stop-market buy), a sell its
  quantity. A fill spends from the lock (a better price is refunded); what is
  still locked when the order ends is released. A market order spends free funds.
- Commission: ``MAKER_FEE`` / ``TAKER_FEE`` of what the order receives, in the
  received asset (a buy pays in base, a sell in quote), rounded to 8 places.
- Amounts are Decimals with Binance's 8 places: no float residue in balances.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any, Protocol

from tests.loopback.filters import SymbolRules, filter_failure
from tests.loopback.wire import EIGHT, ApiError, dec

BUY, SELL = "BUY", "SELL"
ZERO = Decimal(0)
MAKER_FEE = Decimal("0.001")
TAKER_FEE = Decimal("0.001")
ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
PRICED_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
MARKET_TYPES = frozenset({"MARKET", "STOP_LOSS", "TAKE_PROFIT"})  # MARKET_LOT_SIZE applies
OPEN = ("NEW", "PARTIALLY_FILLED")

INSUFFICIENT = "Account has insufficient balance for requested action."

#: book side, best level first, as (price, size); the callback the desk reads the market through
Levels = Callable[[str, bool], list[tuple[Decimal, Decimal]]]


def q8(x: Decimal) -> Decimal:
    return x.quantize(EIGHT, rounding=ROUND_HALF_UP)


def q8_up(x: Decimal) -> Decimal:
    return x.quantize(EIGHT, rounding=ROUND_UP)


@dataclass
class Balance:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass(frozen=True)
class Fill:
    """One execution of a user order (a row of ``myTrades``)."""

    trade_id: int
    order_id: int
    symbol: str  # market id
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    maker: bool


@dataclass(frozen=True)
class OrderRequest:
    """A new order as parsed from Binance's parameters (validated by the desk)."""

    symbol: str  # market id
    side: str
    type: str
    time_in_force: str
    quantity: Decimal | None
    quote_qty: Decimal | None  # quoteOrderQty, MARKET only
    price: Decimal | None
    stop_price: Decimal | None
    client_order_id: str


@dataclass
class UserOrder:
    order_id: int
    client_order_id: str
    symbol: str  # market id
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    quote_qty: Decimal  # origQuoteOrderQty
    stop_price: Decimal
    time: int
    update_time: int
    working_time: int  # -1 while a stop order waits for its trigger
    executed_qty: Decimal = ZERO
    cumm_quote: Decimal = ZERO
    status: str = "NEW"
    locked: Decimal = ZERO  # still locked for this order, in lock_asset
    lock_asset: str = ""
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    @property
    def waiting(self) -> bool:
        """A stop order not triggered yet."""
        return self.is_open and self.working_time < 0

    @property
    def on_book(self) -> bool:
        """Resting as a limit order (what Binance calls ``isWorking`` for these)."""
        return self.is_open and self.working_time >= 0 and self.type in PRICED_TYPES


@dataclass
class Account:
    key: str
    balances: dict[str, Balance]
    orders: dict[int, UserOrder] = field(default_factory=dict)  # by id, oldest first
    trades: list[Fill] = field(default_factory=list)
    update_time: int = 0

    def balance(self, asset: str) -> Balance:
        return self.balances.setdefault(asset, Balance())

    def free(self, asset: str) -> Decimal:
        balance = self.balances.get(asset)
        return balance.free if balance is not None else ZERO


class DeskListener(Protocol):
    def order_update(
        self, account: Account, order: UserOrder, execution: str, fill: Fill | None, cancel_id: str | None
    ) -> None: ...

    def balance_update(self, account: Account, assets: list[str]) -> None: ...


@dataclass(frozen=True)
class DeskMarket:
    """What the desk reads of a server's market."""

    rules: dict[str, SymbolRules]  # by market id
    levels: Levels  # the published book
    last_price: Callable[[str], Decimal]
    clock: Callable[[], int]  # the server's time (ms)


class DeskApi:
    """What both servers' order endpoints (``order_api.py``, ``okx_orders.py``)
    share: the market, where their events go (``publish``, with the protocol's
    arguments) and the ``OrderDesk`` they listen to. A subclass speaks the
    protocol: it answers the endpoints, writes the desk's events
    (``DeskListener``) and lists an account's orders (``views``)."""

    def __init__(self, market: DeskMarket, publish: Callable[..., None]) -> None:
        self.rules = market.rules
        self._clock = market.clock
        self._last_price = market.last_price
        self._publish = publish
        self.desk = OrderDesk(market, self)

    def views(self, key: str) -> list[Any]:
        """The account's orders as a test sees them (``OrderView``s, oldest first)."""
        raise NotImplementedError

    def order_update(
        self, account: Account, order: UserOrder, execution: str, fill: Fill | None, cancel_id: str | None
    ) -> None:
        raise NotImplementedError

    def balance_update(self, account: Account, assets: list[str]) -> None:
        raise NotImplementedError


class OrderDesk:
    """Accounts, their orders and the matching. Every public method is one
    transaction: order events go to the listener as they happen, then one
    balance update per account whose balances changed."""

    def __init__(self, market: DeskMarket, listener: DeskListener) -> None:
        self.rules = market.rules
        self._levels = market.levels
        self._last_price = market.last_price
        self._clock = market.clock
        self._listener = listener
        self.accounts: dict[str, Account] = {}
        self._order_ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        # symbol -> order id -> (account, order), for every open order
        self._open: dict[str, dict[int, tuple[Account, UserOrder]]] = {}
        self._touched: dict[str, tuple[Account, set[str]]] = {}

    # -- accounts ---------------------------------------------------------------
    def open_account(self, key: str, balances: dict[str, float]) -> Account:
        """A fresh account (replacing any of that key) holding ``balances`` free."""
        old = self.accounts.pop(key, None)
        if old is not None:
            for book in self._open.values():
                for order_id in [i for i, (a, _) in book.items() if a is old]:
                    del book[order_id]
        account = Account(key, {a: Balance(dec(float(v))) for a, v in balances.items()})
        self.accounts[key] = account
        return account

    def account(self, key: str) -> Account:
        return self.accounts[key]

    # -- orders -----------------------------------------------------------------
    def place(
        self, key: str, req: OrderRequest, test: bool = False, crossing_maker_cancels: bool = False
    ) -> UserOrder | None:
        """Validate and place ``req``; None when ``test`` (validation only). A
        LIMIT_MAKER that would cross is refused (-2010, Binance), or with
        ``crossing_maker_cancels`` accepted and at once ended EXPIRED (OKX's
        post_only)."""
        account = self.accounts[key]
        rules = self.rules[req.symbol]
        crossing = (
            req.type == "LIMIT_MAKER"
            and req.price is not None
            and self._crosses(req.symbol, req.side, req.price)
        )
        plan = self._validate(account, rules, req, refuse_crossing=not crossing_maker_cancels)
        if test:
            return None
        now = self._clock()
        qty = req.quantity if req.quantity is not None else sum((q for _, q in plan), ZERO)
        order = UserOrder(
            order_id=next(self._order_ids),
            client_order_id=req.client_order_id,
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force,
            price=req.price or ZERO,
            orig_qty=qty,
            quote_qty=req.quote_qty or ZERO,
            stop_price=req.stop_price or ZERO,
            time=now,
            update_time=now,
            working_time=-1 if req.type in STOP_TYPES else now,
        )
        account.orders[order.order_id] = order
        if req.type != "MARKET":
            self._open.setdefault(order.symbol, {})[order.order_id] = (account, order)
            if order.side == BUY:
                price = order.price if req.type in PRICED_TYPES else order.stop_price
                self._lock(account, order, rules.quote, q8_up(order.orig_qty * price))
            else:
                self._lock(account, order, rules.base, order.orig_qty)
        self._emit(account, order, "NEW")
        if req.type == "MARKET":
            self._execute(account, rules, order, plan)
            if order.is_open:
                self._finish(account, order, "EXPIRED")
        elif req.type == "LIMIT":
            self._work_limit(account, rules, order)
        elif crossing:
            self._finish(account, order, "EXPIRED")
        self._flush()
        return order

    def cancel(
        self, key: str, symbol: str, order_id: int | None, client_id: str | None, cancel_id: str
    ) -> UserOrder:
        account = self.accounts[key]
        try:
            order = self._find(account, symbol, order_id, client_id)
        except ApiError:
            raise ApiError(400, -2011, "Unknown order sent.") from None
        if not order.is_open:
            raise ApiError(400, -2011, "Unknown order sent.")
        self._finish(account, order, "CANCELED", cancel_id)
        self._flush()
        return order

    def cancel_all(self, key: str, symbol: str, cancel_id: Callable[[], str]) -> list[tuple[UserOrder, str]]:
        account = self.accounts[key]
        orders = [o for a, o in self._open.get(symbol, {}).values() if a is account]
        if not orders:
            raise ApiError(400, -2011, "Unknown order sent.")
        done = []
        for order in sorted(orders, key=lambda o: o.order_id):
            cid = cancel_id()
            self._finish(account, order, "CANCELED", cid)
            done.append((order, cid))
        self._flush()
        return done

    def find(self, key: str, symbol: str, order_id: int | None, client_id: str | None) -> UserOrder:
        return self._find(self.accounts[key], symbol, order_id, client_id)

    def open_orders(self, key: str, symbol: str | None) -> list[UserOrder]:
        account = self.accounts[key]
        return [o for o in account.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    # -- the market --------------------------------------------------------------
    def on_trade(self, symbol: str, price: Decimal, qty: Decimal) -> None:
        """A public trade of ``qty`` at ``price``: trigger stops, fill resting orders."""
        book = self._open.get(symbol)
        if not book:
            return
        rules = self.rules[symbol]
        for account, order in sorted(book.values(), key=lambda ao: ao[1].order_id):
            if order.waiting and _triggers(order, price):
                self._trigger(account, rules, order)
        for side in (BUY, SELL):
            through = [
                (a, o)
                for a, o in book.values()
                if o.on_book and o.side == side and (o.price >= price if side == BUY else o.price <= price)
            ]
            through.sort(key=lambda ao: (-ao[1].price if side == BUY else ao[1].price, ao[1].order_id))
            left = qty
            for account, order in through:
                q = rules.floor_lot(min(order.remaining, left))
                if q <= 0:
                    break
                self._fill(account, rules, order, order.price, q, maker=True)
                left -= q
        self._flush()

    # -- internals ---------------------------------------------------------------
    def _find(self, account: Account, symbol: str, order_id: int | None, client_id: str | None) -> UserOrder:
        order = None
        if order_id is not None:
            order = account.orders.get(order_id)
            if order is not None and client_id is not None and order.client_order_id != client_id:
                order = None
        elif client_id is not None:
            matches = [
                o for o in account.orders.values() if o.client_order_id == client_id and o.symbol == symbol
            ]
            order = matches[-1] if matches else None
        if order is None or order.symbol != symbol:
            raise ApiError(400, -2013, "Order does not exist.")
        return order

    def _validate(
        self, account: Account, rules: SymbolRules, req: OrderRequest, refuse_crossing: bool = True
    ) -> list[tuple[Decimal, Decimal]]:
        """Binance's checks, in its order: filters (-1013), then what the matching
        engine refuses (-2010). Returns the taker plan of a MARKET order."""
        market = req.type in MARKET_TYPES
        if req.price is not None:
            rules.check_price(req.price)
        if req.stop_price is not None:
            rules.check_price(req.stop_price)
        if req.quantity is not None:
            rules.check_quantity(req.quantity, market)
        last = self._last_price(req.symbol)
        if req.quote_qty is not None:
            notional = req.quote_qty
        else:
            assert req.quantity is not None
            reference = req.price if req.price is not None else req.stop_price or last
            notional = req.quantity * reference
        rules.check_notional(notional, market)
        open_here = [o for a, o in self._open.get(req.symbol, {}).values() if a is account]
        if len(open_here) >= rules.max_num_orders:
            raise filter_failure("MAX_NUM_ORDERS")
        if any(o.client_order_id == req.client_order_id and o.is_open for o in account.orders.values()):
            raise ApiError(400, -2010, "Duplicate order sent.")
        if req.stop_price is not None and _would_trigger(req.type, req.side, req.stop_price, last):
            raise ApiError(400, -2010, "Stop price would trigger immediately.")
        if (
            refuse_crossing
            and req.type == "LIMIT_MAKER"
            and req.price is not None
            and self._crosses(req.symbol, req.side, req.price)
        ):
            raise ApiError(400, -2010, "Order would immediately match and take.")
        plan: list[tuple[Decimal, Decimal]] = []
        base, quote = account.free(rules.base), account.free(rules.quote)
        if req.type == "MARKET":
            plan = self._plan(rules, req.side, req.quantity, req.quote_qty, None)
            if req.side == BUY:
                need = req.quote_qty if req.quote_qty is not None else sum((q8(p * q) for p, q in plan), ZERO)
                enough = need <= quote
            else:
                enough = (req.quantity or sum((q for _, q in plan), ZERO)) <= base
        elif req.side == BUY:
            assert req.quantity is not None
            price = req.price if req.type in PRICED_TYPES else req.stop_price
            assert price is not None
            enough = q8_up(req.quantity * price) <= quote
        else:
            assert req.quantity is not None
            enough = req.quantity <= base
        if not enough:
            raise ApiError(400, -2010, INSUFFICIENT)
        return plan

    def _crosses(self, symbol: str, side: str, price: Decimal) -> bool:
        levels = self._levels(symbol, side == BUY)
        return bool(levels) and (levels[0][0] <= price if side == BUY else levels[0][0] >= price)

    def _plan(
        self, rules: SymbolRules, side: str, qty: Decimal | None, quote: Decimal | None, limit: Decimal | None
    ) -> list[tuple[Decimal, Decimal]]:
        """The fills a taker order would get from the published book, best level
        first: up to ``qty``, or up to ``quote`` spent/received, within ``limit``."""
        plan = []
        for price, size in self._levels(rules.market_id, side == BUY):
            if limit is not None and (price > limit if side == BUY else price < limit):
                break
            if quote is not None:
                q = rules.floor_lot(min(size, quote / price))
            else:
                assert qty is not None
                q = min(size, qty)
            if q <= 0:
                break
            plan.append((price, q))
            if quote is not None:
                quote -= q8(price * q)
            else:
                assert qty is not None
                qty -= q
                if qty <= 0:
                    break
        return plan

    def _work_limit(self, account: Account, rules: SymbolRules, order: UserOrder) -> None:
        """A working LIMIT order (new, or a triggered stop-limit): take what
        crosses, then rest (GTC) or expire the rest (IOC; FOK unless all fills)."""
        plan = self._plan(rules, order.side, order.remaining, None, order.price)
        if order.time_in_force == "FOK" and sum((q for _, q in plan), ZERO) < order.remaining:
            self._finish(account, order, "EXPIRED")
            return
        self._execute(account, rules, order, plan)
        if order.is_open and order.time_in_force in ("IOC", "FOK"):
            self._finish(account, order, "EXPIRED")

    def _trigger(self, account: Account, rules: SymbolRules, order: UserOrder) -> None:
        order.working_time = self._clock()
        if order.type in PRICED_TYPES:
            self._work_limit(account, rules, order)
            return
        # a stop-market runs as a market order on free funds
        self._release(account, order)
        plan = self._plan(rules, order.side, order.remaining, None, None)
        if order.side == BUY:
            enough = sum((q8(p * q) for p, q in plan), ZERO) <= account.free(rules.quote)
        else:
            enough = order.remaining <= account.free(rules.base)
        if enough:
            self._execute(account, rules, order, plan)
        if order.is_open:
            self._finish(account, order, "EXPIRED")

    def _execute(
        self, account: Account, rules: SymbolRules, order: UserOrder, plan: list[tuple[Decimal, Decimal]]
    ) -> None:
        for price, q in plan:
            self._fill(account, rules, order, price, q, maker=False)

    def _fill(
        self,
        account: Account,
        rules: SymbolRules,
        order: UserOrder,
        price: Decimal,
        qty: Decimal,
        maker: bool,
    ) -> None:
        now = self._clock()
        quote_qty = q8(price * qty)
        rate = MAKER_FEE if maker else TAKER_FEE
        if order.side == BUY:
            self._release(account, order, q8(qty * order.price))
            self._change(account, rules.quote, -quote_qty)
            commission, asset = q8(qty * rate), rules.base
            self._change(account, rules.base, qty - commission)
        else:
            self._release(account, order, qty)
            self._change(account, rules.base, -qty)
            commission, asset = q8(quote_qty * rate), rules.quote
            self._change(account, rules.quote, quote_qty - commission)
        fill = Fill(
            next(self._trade_ids), order.order_id, order.symbol, order.side, price, qty, quote_qty,
            commission, asset, now, maker,
        )  # fmt: skip
        order.fills.append(fill)
        account.trades.append(fill)
        order.executed_qty += qty
        order.cumm_quote += quote_qty
        order.update_time = now
        order.status = "FILLED" if order.remaining <= 0 else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._close(account, order)
        self._emit(account, order, "TRADE", fill)

    def _finish(self, account: Account, order: UserOrder, status: str, cancel_id: str | None = None) -> None:
        """End an open order as CANCELED or EXPIRED (its lock released)."""
        order.status = status
        order.update_time = self._clock()
        self._close(account, order)
        self._emit(account, order, status, cancel_id=cancel_id)

    def _close(self, account: Account, order: UserOrder) -> None:
        self._release(account, order)
        self._open.get(order.symbol, {}).pop(order.order_id, None)

    def _lock(self, account: Account, order: UserOrder, asset: str, amount: Decimal) -> None:
        balance = account.balance(asset)
        balance.free -= amount
        balance.locked += amount
        order.locked, order.lock_asset = amount, asset
        self._touch(account, asset)

    def _release(self, account: Account, order: UserOrder, amount: Decimal | None = None) -> None:
        """Give back ``amount`` (default: all) of the order's lock."""
        amount = order.locked if amount is None else min(amount, order.locked)
        if amount <= 0:
            return
        balance = account.balance(order.lock_asset)
        balance.locked -= amount
        balance.free += amount
        order.locked -= amount
        self._touch(account, order.lock_asset)

    def _change(self, account: Account, asset: str, delta: Decimal) -> None:
        account.balance(asset).free += delta
        self._touch(account, asset)

    def _touch(self, account: Account, asset: str) -> None:
        account.update_time = self._clock()
        self._touched.setdefault(account.key, (account, set()))[1].add(asset)

    def _emit(
        self,
        account: Account,
        order: UserOrder,
        execution: str,
        fill: Fill | None = None,
        cancel_id: str | None = None,
    ) -> None:
        self._listener.order_update(account, order, execution, fill, cancel_id)

    def _flush(self) -> None:
        touched, self._touched = self._touched, {}
        for account, assets in touched.values():
            self._listener.balance_update(account, sorted(assets))


def _triggers(order: UserOrder, price: Decimal) -> bool:
    """Has a trade at ``price`` reached the stop of a waiting order?"""
    stop = order.stop_price
    if order.type.startswith("STOP_LOSS"):
        return price >= stop if order.side == BUY else price <= stop
    return price <= stop if order.side == BUY else price >= stop


def _would_trigger(type_: str, side: str, stop: Decimal, last: Decimal) -> bool:
    """Binance refuses a stop whose trigger the last price has already reached."""
    if type_.startswith("STOP_LOSS"):
        return stop <= last if side == BUY else stop >= last
    return stop >= last if side == BUY else stop <= last
