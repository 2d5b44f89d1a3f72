"""An account's ledger: balances and the funds open orders hold, fills,
positions and PnL. Only two things move it: a fill (``apply_fill``) and a
change in what an order holds (``set_hold``/``release_hold``).

Fees are charged in the quote currency, once per fill, in ``apply_fill``
and nowhere else. Holds: a sell holds its remaining base; a buy with a
limit price holds ``remaining * price * (1 + higher fee rate)`` of quote,
which covers any fill at or better than the limit, either way it fills; an
untriggered stop-market buy holds at its stop and the taker rate; a market
order holds nothing, it spends from free funds at once. With ``Balances``
refusing to go below zero, no balance ever does.

The ledger records what it touched since the account last asked
(``take_touched``), for the account's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from terminal.trading.balances import Balances
from terminal.trading.fees import FeeRates, Liquidity, hold_rate
from terminal.trading.money import ONE, ZERO
from terminal.trading.orders import Fill, Order, OrderSide, OrderType
from terminal.trading.positions import DayPnl, Position


class Ledger:
    def __init__(self, start: Mapping[str, Decimal], fees: FeeRates, pnl_currency: str) -> None:
        self.fees = fees
        self.pnl_currency = pnl_currency
        self.balances = Balances(start)
        self.fills: list[Fill] = []
        self.positions: dict[str, Position] = {}
        self.markets: dict[str, tuple[str, str]] = {}  # symbol -> (base, quote)
        self.marks: dict[str, Decimal] = {}  # symbol -> the last mid or trade price seen
        self.day = DayPnl()
        self._fill_seq = 0
        self._touched_currencies: set[str] = set()
        self._touched_positions: set[str] = set()

    def take_touched(self) -> tuple[set[str], set[str]]:
        """(currencies, symbols of positions) changed since the last call."""
        touched = self._touched_currencies, self._touched_positions
        self._touched_currencies, self._touched_positions = set(), set()
        return touched

    def currencies_of(self, symbol: str) -> tuple[str, str]:
        return self.markets[symbol]

    # -- holds -----------------------------------------------------------------------
    def hold_for(self, order: Order) -> Decimal:
        """What the unfilled part of ``order`` sets aside (see the module doc)."""
        if not order.is_open or order.remaining <= 0 or order.type is OrderType.MARKET:
            return ZERO
        if order.side is OrderSide.SELL:
            return order.remaining
        if order.price is not None:
            return order.remaining * order.price * (ONE + hold_rate(self.fees, rests=True))
        # (a trailing buy's stop only falls, so the hold made at its first stop covers it)
        stopped = order.type in (OrderType.STOP_MARKET, OrderType.TRAILING_STOP)
        if stopped and not order.triggered and order.stop_price is not None:
            return order.remaining * order.stop_price * (ONE + hold_rate(self.fees, rests=False))
        return ZERO

    def set_hold(self, order: Order) -> None:
        """Make what ``order`` holds match its unfilled part now."""
        base, quote = self.markets[order.symbol]
        currency = base if order.side is OrderSide.SELL else quote
        new = self.hold_for(order)
        if new == order.hold and order.hold_currency == currency:
            return
        self.release_hold(order)
        if new:
            self.balances.reserve(currency, new)
            self._touched_currencies.add(currency)
        order.hold, order.hold_currency = new, currency

    def release_hold(self, order: Order) -> None:
        if order.hold:
            self.balances.reserve(order.hold_currency, -order.hold)
            self._touched_currencies.add(order.hold_currency)
        order.hold = ZERO

    # -- fills -----------------------------------------------------------------------
    def apply_fill(
        self, order: Order, price: Decimal, amount: Decimal, liquidity: Liquidity, ts: int
    ) -> Fill:
        """One fill: the order's totals, its hold, the balances (fee included),
        the position and the day's PnL."""
        base, quote = self.markets[order.symbol]
        cost = price * amount
        fee = cost * self.fees.rate(liquidity)
        order.filled += amount
        order.cost += cost
        order.fee += fee
        order.updated_ms = ts
        # Release the fill's share of the hold before spending: it was sized at
        # the limit and the higher fee rate, so it covers what is spent. (A
        # hold only shrinks as an order fills: one that holds nothing stays so.)
        if order.hold:
            self.set_hold(order)
        if order.side is OrderSide.BUY:
            self.balances.debit(quote, cost + fee)
            self.balances.credit(base, amount)
        else:
            self.balances.debit(base, amount)
            self.balances.credit(quote, cost - fee)
        self._fill_seq += 1
        fill = Fill(
            fill_id=f"paper-f-{self._fill_seq}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            amount=amount,
            fee=fee,
            fee_currency=quote,
            liquidity=liquidity,
            timestamp=ts,
        )
        order.fills.append(fill)
        self.fills.append(fill)
        position = self.positions.setdefault(order.symbol, Position(order.symbol))
        realised = position.apply(order.side, amount, price, fee)
        if quote == self.pnl_currency:
            self.day.realised += realised
        self._touched_currencies.update((base, quote))
        self._touched_positions.add(order.symbol)
        return fill

    # -- PnL ---------------------------------------------------------------------------
    def unrealised(self, marks: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
        """Per symbol with a position and a mark: ``marks`` first, else the last seen."""
        result: dict[str, Decimal] = {}
        for symbol, position in self.positions.items():
            mark = (marks or {}).get(symbol, self.marks.get(symbol))
            if mark is not None and position.amount:
                result[symbol] = position.unrealised(mark)
        return result

    def unrealised_in_pnl_currency(self, marks: Mapping[str, Decimal] | None = None) -> Decimal:
        """Only symbols quoted in the PnL currency count (no conversion is guessed)."""
        return sum(
            (
                u
                for s, u in self.unrealised(marks).items()
                if self.markets.get(s, ("", ""))[1] == self.pnl_currency
            ),
            ZERO,
        )

    def roll_day(self, ts: int) -> None:
        self.day.roll(ts, self.unrealised_in_pnl_currency())

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything but the fills, which the account stores with their orders."""
        return {
            "balances": self.balances.to_dict(),
            "positions": {s: p.to_dict() for s, p in sorted(self.positions.items())},
            "markets": {s: list(bq) for s, bq in sorted(self.markets.items())},
            "marks": {s: str(p) for s, p in sorted(self.marks.items())},
            "day": self.day.to_dict(),
            "fill_seq": self._fill_seq,
        }

    def restore(self, data: Mapping[str, Any], orders: list[Order]) -> None:
        """Take the state ``to_dict`` gave; what is reserved is rebuilt from the
        open orders' holds, not kept as a second record that could disagree."""
        holds = ((o.hold_currency, o.hold) for o in orders if o.is_open and o.hold)
        self.balances = Balances.from_dict(data["balances"], holds)
        self.fills = sorted(
            (f for o in orders for f in o.fills), key=lambda f: int(f.fill_id.rsplit("-", 1)[1])
        )
        self.positions = {s: Position.from_dict(s, p) for s, p in data["positions"].items()}
        older = {s for s, p in data["positions"].items() if not Position.has_entry(p)}
        if older:
            self._rebuild_entries(older)
        self.markets = {s: (bq[0], bq[1]) for s, bq in data["markets"].items()}
        self.marks = {s: Decimal(p) for s, p in data["marks"].items()}
        self.day = DayPnl.from_dict(data["day"])
        self._fill_seq = int(data["fill_seq"])

    def _rebuild_entries(self, symbols: set[str]) -> None:
        """Positions saved before the entry price and fees were kept apart: replay
        their fills (every fill since the start or the last reset is kept) to find
        them. A replay that does not land on the saved amount and cost (it
        should) leaves the position as ``Position.from_dict`` read it."""
        replayed = {s: Position(s) for s in symbols}
        for fill in self.fills:
            position = replayed.get(fill.symbol)
            if position is not None:
                position.apply(fill.side, fill.amount, fill.price, fill.fee)
        for symbol, again in replayed.items():
            saved = self.positions[symbol]
            if (again.amount, again.cost, again.realised) == (saved.amount, saved.cost, saved.realised):
                saved.entry_cost, saved.fees = again.entry_cost, again.fees
