"""Brackets and OCO pairs: exits attached to an entry, one cancelling the other.

A **bracket** is an entry order with a take-profit (a limit) and a stop-loss
(a stop-market) attached. The exits go the other way, reduce-only, for what
the entry has filled: nothing is placed while the entry waits; its first fill
places both as an OCO pair ("one cancels the other"), and each further fill
grows them. When one exit fills, or partly fills, the other shrinks to what is
left to close, and is cancelled once nothing is. An entry cancelled before any
fill ends the bracket with no exit ever placed; one cancelled after a partial
fill leaves the exits for the part that filled. An exit cancelled (or refused)
other than by the bracket ends the pair: the other exit is cancelled with it,
as an exchange's OCO order does. An **OCO pair** on its own is the same thing
with no entry: two exits for an amount already held.

Who keeps the pair, said to the user with ``BracketMode``:

- ``NATIVE``: the account itself, as an exchange's OCO order does. The paper
  account does (``terminal.trading.paper.account``): on a spot market the two
  sells share one holding of the coins, and one filling shrinks the other in
  the same step, so a fast market can never fill both;
- ``MANAGED``: the terminal, which places the exits as two orders of the
  account and cancels or shrinks one when the other fills
  (``managed_brackets.BracketManager``, over any ``Broker``): only while the
  terminal runs, and in a fast market both may fill before it can act.

This module holds what both share: the bracket's record (``Bracket``: which
orders are its entry and exits, what each has filled), the one rule that says
what to do next (``next_step``), the checks of the exit prices
(``check_exits``), and what the order ticket talks to (``BracketDesk``).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, cast

from terminal.trading.market_rules import MarketRules
from terminal.trading.money import ZERO, ceil_to_step, floor_to_step, fmt, fmt_price
from terminal.trading.orders import Order, OrderIntent, OrderSide, OrderStatus
from terminal.trading.validation import FieldProblem, price_problem

#: how many steps one bracket may take in one go before something is wrong
MAX_STEPS = 50


def new_bracket_id() -> str:
    """ "b-" and 20 random characters: a bracket's own id (its orders keep theirs)."""
    return "b-" + base64.b32encode(secrets.token_bytes(13)).decode("ascii").lower()[:20]


class Role(StrEnum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"

    @property
    def words(self) -> str:
        return {"entry": "entry", "take_profit": "take-profit", "stop_loss": "stop-loss"}[self.value]


class BracketMode(StrEnum):
    NATIVE = "native"
    MANAGED = "managed"

    @property
    def words(self) -> str:
        """What the ticket says beside the exits."""
        return "native" if self is BracketMode.NATIVE else "managed by the terminal"

    @property
    def explanation(self) -> str:
        """The longer story, for a tooltip."""
        if self is BracketMode.NATIVE:
            return (
                "The account holds the take-profit and the stop-loss together, as one OCO order: when "
                "one fills, the other shrinks or is cancelled in the same step."
            )
        return (
            "The terminal places the take-profit and the stop-loss as two orders when the entry fills, "
            "and cancels or shrinks one when the other fills. It does so only while it runs, and in a "
            "fast market both may fill before it can act. On a spot market the exchange holds the coins "
            "for the take-profit, so the terminal holds the stop-loss itself: when a trade reaches it, "
            "it cancels the take-profit and sells at market."
        )


class BracketStatus(StrEnum):
    PENDING = "pending"  # no exit rests: the entry has not filled (or what filled is closed already)
    ACTIVE = "active"  # exits rest for what the entry filled
    CLOSED = "closed"  # nothing left to do: ``reason`` says why


@dataclass(frozen=True)
class Exits:
    """The exit prices: a take-profit (limit price), a stop-loss (stop price), or both."""

    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None

    def price(self, role: Role) -> Decimal | None:
        return self.take_profit if role is Role.TAKE_PROFIT else self.stop_loss

    def roles(self) -> tuple[Role, ...]:
        """The exits there are, take-profit first."""
        return tuple(r for r in (Role.TAKE_PROFIT, Role.STOP_LOSS) if self.price(r) is not None)

    def with_price(self, role: Role, price: Decimal) -> Exits:
        if role is Role.TAKE_PROFIT:
            return replace(self, take_profit=price)
        return replace(self, stop_loss=price)


@dataclass
class Part:
    """One order of a bracket, as the bracket last saw it."""

    role: Role
    client_order_id: str
    amount: Decimal
    filled: Decimal = ZERO
    status: OrderStatus = OrderStatus.OPEN
    reason: str = ""
    #: the bracket itself is cancelling or replacing it: its end does not end the pair
    retiring: bool = False

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def remaining(self) -> Decimal:
        return max(self.amount - self.filled, ZERO)

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "client_order_id": self.client_order_id,
            "amount": str(self.amount),
            "filled": str(self.filled),
            "status": self.status.value,
            "reason": self.reason,
            "retiring": self.retiring,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Part:
        return cls(
            role=Role(data["role"]),
            client_order_id=data["client_order_id"],
            amount=Decimal(data["amount"]),
            filled=Decimal(data["filled"]),
            status=OrderStatus(data["status"]),
            reason=data.get("reason", ""),
            retiring=bool(data.get("retiring", False)),
        )


@dataclass
class Bracket:
    """A bracket (an entry with exits) or an OCO pair (exits for ``held``, no entry)."""

    bracket_id: str
    symbol: str
    #: the position's side: the entry's (a buy for a long); the exits go the other way
    side: OrderSide
    exits: Exits
    mode: BracketMode
    #: an OCO pair on its own: the amount its exits close (a bracket: zero, its entry fills count)
    held: Decimal = ZERO
    parts: list[Part] = field(default_factory=list)
    amount_step: Decimal | None = None
    price_tick: Decimal | None = None
    #: why the pair ended early ("the stop-loss was cancelled"), "" while it holds
    broken: str = ""
    last_exit: Role | None = None  # the exit that filled last
    closed: bool = False
    reason: str = ""  # what became of it, in plain words, once closed
    #: what holds it up now, in plain words ("the take-profit could not be placed: ..."), "" if nothing
    note: str = ""
    created_ms: int = 0
    updated_ms: int = 0

    # -- reading -------------------------------------------------------------------------
    @property
    def exit_side(self) -> OrderSide:
        return OrderSide.SELL if self.side is OrderSide.BUY else OrderSide.BUY

    @property
    def entry_id(self) -> str | None:
        """The client order id of the entry now (a replaced entry's replacement); None for an OCO pair."""
        entries = [p for p in self.parts if p.role is Role.ENTRY]
        return entries[-1].client_order_id if entries else None

    @property
    def status(self) -> BracketStatus:
        if self.closed:
            return BracketStatus.CLOSED
        if any(p.role is not Role.ENTRY and p.is_open for p in self.parts):
            return BracketStatus.ACTIVE
        return BracketStatus.PENDING

    @property
    def entry_filled(self) -> Decimal:
        """What the exits close in all: the entry's fills (of every order it was replaced by), or ``held``."""
        return self.held + sum((p.filled for p in self.parts if p.role is Role.ENTRY), ZERO)

    @property
    def entry_open(self) -> bool:
        return any(p.role is Role.ENTRY and p.is_open for p in self.parts)

    @property
    def exited(self) -> Decimal:
        return sum((p.filled for p in self.parts if p.role is not Role.ENTRY), ZERO)

    @property
    def to_close(self) -> Decimal:
        """What each open exit should cover now."""
        return max(self.entry_filled - self.exited, ZERO)

    def part(self, client_order_id: str) -> Part | None:
        for p in self.parts:
            if p.client_order_id == client_order_id:
                return p
        return None

    def open_exit(self, role: Role) -> Part | None:
        """The order that is the ``role`` exit now (not one being retired)."""
        for p in reversed(self.parts):
            if p.role is role and p.is_open and not p.retiring:
                return p
        return None

    def order_ids(self) -> list[str]:
        return [p.client_order_id for p in self.parts]

    # -- learning ------------------------------------------------------------------------
    def observe(self, order: Order) -> bool:
        """Take an order's state now; False if it is none of this bracket's."""
        part = self.part(order.client_order_id)
        if part is None:
            return False
        before = part.filled
        part.amount, part.filled = order.amount, order.filled
        part.status, part.reason = order.status, order.reason
        if part.role is not Role.ENTRY and part.filled > before:
            self.last_exit = part.role
        ended_early = not part.is_open and part.status is not OrderStatus.FILLED
        if part.role is not Role.ENTRY and ended_early and not part.retiring and not self.broken:
            state = "refused" if part.status is OrderStatus.REJECTED else "cancelled"
            said = part.reason.rstrip(".")
            why = f" ({said})" if said and said.lower() != state else ""  # not "cancelled (Cancelled)"
            self.broken = f"the {part.role.words} was {state}{why}"
        self.updated_ms = max(self.updated_ms, order.updated_ms)
        return True

    def snapshot(self) -> Bracket:
        """A copy for listeners: later changes do not alter it."""
        return replace(self, parts=[replace(p) for p in self.parts])

    # -- saving --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "bracket_id": self.bracket_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "take_profit": _opt(self.exits.take_profit),
            "stop_loss": _opt(self.exits.stop_loss),
            "mode": self.mode.value,
            "held": str(self.held),
            "parts": [p.to_dict() for p in self.parts],
            "amount_step": _opt(self.amount_step),
            "price_tick": _opt(self.price_tick),
            "broken": self.broken,
            "last_exit": self.last_exit.value if self.last_exit is not None else None,
            "closed": self.closed,
            "reason": self.reason,
            "note": self.note,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Bracket:
        last = data.get("last_exit")
        return cls(
            bracket_id=data["bracket_id"],
            symbol=data["symbol"],
            side=OrderSide(data["side"]),
            exits=Exits(_opt_dec(data.get("take_profit")), _opt_dec(data.get("stop_loss"))),
            mode=BracketMode(data["mode"]),
            held=Decimal(data.get("held", "0")),
            parts=[Part.from_dict(p) for p in data.get("parts", [])],
            amount_step=_opt_dec(data.get("amount_step")),
            price_tick=_opt_dec(data.get("price_tick")),
            broken=data.get("broken", ""),
            last_exit=Role(last) if last else None,
            closed=bool(data.get("closed", False)),
            reason=data.get("reason", ""),
            note=data.get("note", ""),
            created_ms=int(data.get("created_ms", 0)),
            updated_ms=int(data.get("updated_ms", 0)),
        )


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# -- what to do next ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceExit:
    role: Role
    amount: Decimal


@dataclass(frozen=True)
class ResizeExit:
    """Make the exit's unfilled part ``amount`` (what is left to close)."""

    client_order_id: str
    role: Role
    amount: Decimal


@dataclass(frozen=True)
class CancelExit:
    client_order_id: str
    reason: str


@dataclass(frozen=True)
class Finish:
    reason: str


Step = PlaceExit | ResizeExit | CancelExit | Finish


def next_step(bracket: Bracket) -> Step | None:
    """The one thing to do now to bring the exits in line with the fills, or
    None when they are. Whoever keeps the bracket does it, learns what came of
    it (``observe``) and asks again: one step at a time, each from the state as
    it is then, so a fill that arrives meanwhile is never planned around."""
    if bracket.closed:
        return None
    open_exits = [p for p in bracket.parts if p.role is not Role.ENTRY and p.is_open and not p.retiring]
    if bracket.broken:
        if open_exits:
            return CancelExit(open_exits[0].client_order_id, f"One cancels the other: {bracket.broken}.")
        rest = " The entry stays open." if bracket.entry_open else ""
        return Finish(f"Ended: {bracket.broken}.{rest}")
    to_close = bracket.to_close
    if to_close <= 0:
        if open_exits:
            filled = bracket.last_exit.words if bracket.last_exit is not None else "other exit"
            return CancelExit(open_exits[0].client_order_id, f"One cancels the other: the {filled} filled.")
        return None if bracket.entry_open else Finish(_done_reason(bracket))
    for role in bracket.exits.roles():
        part = bracket.open_exit(role)
        if part is None:
            return PlaceExit(role, to_close)
        if part.remaining != to_close:
            return ResizeExit(part.client_order_id, role, to_close)
    return None


def _done_reason(bracket: Bracket) -> str:
    if bracket.entry_filled <= 0:
        entries = [p for p in bracket.parts if p.role is Role.ENTRY]
        last = entries[-1] if entries else None
        if last is not None and last.status is OrderStatus.REJECTED:
            why = f" ({last.reason.rstrip('.')})" if last.reason else ""
            return f"The entry was rejected{why}: no exits were placed."
        return "The entry was cancelled before it filled: no exits were placed."
    roles = {p.role for p in bracket.parts if p.role is not Role.ENTRY and p.filled > 0}
    if roles == {Role.TAKE_PROFIT, Role.STOP_LOSS}:
        return f"Closed: the take-profit and the stop-loss sold {fmt(bracket.exited)} between them."
    if roles:
        return f"Closed: the {roles.pop().words} filled ({fmt(bracket.exited)})."
    return "Closed: nothing was left to close."


# -- checking the exit prices ---------------------------------------------------------------------
def check_exits(
    side: OrderSide,
    reference: Decimal | None,
    exits: Exits,
    rules: MarketRules,
    *,
    reference_name: str = "entry price",
) -> list[FieldProblem]:
    """What is wrong with ``exits`` for a position opened on ``side`` at about
    ``reference`` (the entry's price; for an OCO pair on its own, the last
    price): each on the tick and in the market's range; for a buy the
    take-profit above and the stop-loss below, for a sell the other way round
    (with no reference, a market entry's, at least on either side of each
    other). Problems name the field ("take_profit", "stop_loss") and suggest
    the nearest price that would do."""
    if exits.take_profit is None and exits.stop_loss is None:
        return [FieldProblem("take_profit", "Enter a take-profit, a stop-loss or both.")]
    problems: list[FieldProblem] = []
    tick = rules.price_tick
    for role in exits.roles():
        value = exits.price(role)
        assert value is not None
        problem = price_problem(role.value, role.words, value, rules)
        if problem is not None:
            problems.append(problem)
            continue
        if reference is None:
            continue
        above = (role is Role.TAKE_PROFIT) == (side is OrderSide.BUY)
        if above and value <= reference:
            nearest = floor_to_step(reference, tick) + (tick or ZERO) if tick else reference
            problems.append(
                FieldProblem(
                    role.value,
                    f"For a {side.value}, the {role.words} must be above the {reference_name} "
                    f"({fmt_price(reference, tick)}); {fmt_price(value, tick)} is not. "
                    f"Set it above {fmt_price(reference, tick)}.",
                    (nearest,) if tick else (),
                )
            )
        elif not above and value >= reference:
            nearest = ceil_to_step(reference, tick) - (tick or ZERO) if tick else reference
            problems.append(
                FieldProblem(
                    role.value,
                    f"For a {side.value}, the {role.words} must be below the {reference_name} "
                    f"({fmt_price(reference, tick)}); {fmt_price(value, tick)} is not. "
                    f"Set it below {fmt_price(reference, tick)}.",
                    (nearest,) if tick and nearest > 0 else (),
                )
            )
    take, stop = exits.take_profit, exits.stop_loss
    if reference is None and not problems and take is not None and stop is not None:
        wrong_way = take <= stop if side is OrderSide.BUY else take >= stop
        if wrong_way:
            way = "above" if side is OrderSide.BUY else "below"
            problems.append(
                FieldProblem(
                    "take_profit",
                    f"For a {side.value}, the take-profit must be {way} the stop-loss "
                    f"({fmt_price(stop, tick)}); {fmt_price(take, tick)} is not.",
                )
            )
    return problems


# -- what the ticket talks to ----------------------------------------------------------------------
BracketListener = Callable[[Bracket], None]


class BracketDesk(Protocol):
    """One account's brackets and OCO pairs (``bracket_desk(broker)``)."""

    @property
    def mode(self) -> BracketMode:
        """Who keeps the pairs: the account (native) or the terminal (managed)."""
        ...

    async def submit(self, entry: OrderIntent, exits: Exits) -> Order:
        """Check and send ``entry`` with ``exits`` attached; returns the entry as
        placed (``bracket_of(entry.client_order_id)`` is its bracket). Refuses
        with ``OrderInvalidError`` (field "take_profit" / "stop_loss" for an exit)."""
        ...

    async def submit_oco(self, symbol: str, side: OrderSide, amount: Decimal, exits: Exits) -> Bracket:
        """Two exits on ``side`` (a sell closes a long) for ``amount`` already
        held, one cancelling the other."""
        ...

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """Amend an order of a bracket (drag its stop, move its entry): the
        replacement takes its place in the bracket. Exits are sized by the
        bracket: the replacement's amount is set to what is left to close."""
        ...

    async def cancel(self, bracket_id: str) -> Bracket:
        """Cancel the bracket: its open entry and exits."""
        ...

    def brackets(self, symbol: str | None = None) -> list[Bracket]:
        """Open brackets and pairs (copies), newest first."""
        ...

    def bracket_of(self, client_order_id: str) -> Bracket | None:
        """The open bracket an order (entry or exit) belongs to (a copy), if any."""
        ...

    def subscribe(self, listener: BracketListener) -> None: ...

    def unsubscribe(self, listener: BracketListener) -> None: ...


def bracket_desk(broker: object) -> BracketDesk | None:
    """The account's brackets (``broker.brackets``), or None when it has none."""
    return cast("BracketDesk | None", getattr(broker, "brackets", None))
