"""Brackets and OCO pairs kept by the terminal (``BracketMode.MANAGED``), over
any ``Broker``: for an account that holds no pairs of its own (the live one).

The manager listens to the broker's ``OrderUpdated`` events. Each change to a
bracket's order (an entry fill, an exit fill, a cancel) queues the bracket;
one task then brings its exits in line, one step at a time
(``brackets.next_step``), each step a call to the broker: ``submit`` an exit,
``replace`` one with its new size, ``cancel`` one, and after each the state as
the broker reports it. Every change is saved (``BracketLog``: the trading
journal's "bracket" entries), and ``start`` re-arms what was open: each order
is read back from the broker (looked up on the exchange when it is no longer
open), so an entry that filled while the terminal was closed gets its exits.

What it cannot do, said where it matters:

- it acts after the fact: between an exit's fill and the other's cancel both
  rest, and a fast market may fill both (the exits are reduce-only, so on a
  contract market the second cannot open a position the other way);
- on a **spot** market an exchange sets aside the coins of an open sell, so
  a second sell of the same coins would be refused: with both exits, the
  take-profit rests on the exchange and the terminal **holds the stop-loss**
  itself (an account that can: ``holds_stops``; the live one,
  ``terminal.trading.live.held``). When the stop triggers, ``make_room``
  cancels the take-profit, and the stop sells what is left at market. An
  account that cannot hold stops refuses such a pair up front;
- each exit goes through the account's checks like any order, risk rules
  included; a refused exit is retried when the entry's fills change, and the
  bracket's ``note`` says why it waits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Protocol

from terminal.errors import (
    OrderInvalidError,
    OrderNotFoundError,
    OrderStatusUnknownError,
    RiskCheckFailedError,
    TerminalError,
    describe,
)
from terminal.tasks import TaskGroup
from terminal.trading.brackets import (
    MAX_STEPS,
    Bracket,
    BracketListener,
    BracketMode,
    CancelExit,
    Exits,
    Finish,
    Part,
    PlaceExit,
    ResizeExit,
    Role,
    Step,
    check_exits,
    new_bracket_id,
    next_step,
)
from terminal.trading.broker import Broker
from terminal.trading.events import AccountEvent, OrderUpdated
from terminal.trading.journal import TradingJournal
from terminal.trading.market_rules import MarketRules
from terminal.trading.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    new_client_order_id,
    now_ms,
)
from terminal.trading.validation import FieldProblem

log = logging.getLogger(__name__)

SPOT_REFUSAL = (
    "A take-profit and a stop-loss together on a spot market need an account that holds the stop-loss "
    "itself: the exchange sets aside the coins of the take-profit and would refuse a separate "
    "stop-loss for them. Nothing was sent."
)
LOST_AFTER_RESTART = "it could not be found on the exchange after the restart"

#: ``look_up(client_order_id, symbol)``: the order as the exchange has it now, or None
LookUp = Callable[[str, str], Awaitable[Order | None]]


class BracketLog(Protocol):
    """Where the manager keeps its brackets across restarts."""

    def save(self, bracket: Bracket) -> None:
        """Record ``bracket`` as it is now (cheap; never blocks)."""
        ...

    def load(self) -> list[Bracket]:
        """The brackets open at the last save, each as last saved. Blocking."""
        ...


class JournalBracketLog:
    """Brackets in the trading journal: one "bracket" entry per change, under
    the bracket's id, so the audit trail shows each step too. The open ones are
    each bracket's newest entry that is not closed."""

    def __init__(self, journal: TradingJournal | None, account: str) -> None:
        self.journal = journal
        self.account = account

    def save(self, bracket: Bracket) -> None:
        if self.journal is None:
            return
        try:
            self.journal.record(
                "bracket",
                self.account,
                {"bracket": bracket.to_dict()},
                bracket.bracket_id,
                bracket.symbol,
                broker="live",
            )
        except Exception:  # the bracket goes on; only a restart would not find it
            log.exception("the trading journal could not record bracket %s", bracket.bracket_id)

    def load(self) -> list[Bracket]:
        if self.journal is None:
            return []
        newest: dict[str, Bracket] = {}
        for entry in self.journal.entries(self.account, kind="bracket"):
            saved = entry.payload.get("bracket")
            if isinstance(saved, dict):
                bracket = Bracket.from_dict(saved)
                newest[bracket.bracket_id] = bracket
        return [b for b in newest.values() if not b.closed]


class BracketManager:
    """``BracketDesk`` for a broker that keeps no pairs itself (see the module doc)."""

    def __init__(
        self,
        broker: Broker,
        saved: BracketLog | None = None,
        *,
        rules: Callable[[str], MarketRules | None],
        look_up: LookUp | None = None,
        holds_stops: bool = False,
    ) -> None:
        """``rules(symbol)``: the market's rules (None: not listed, or not loaded);
        ``look_up``: reads an order that is no longer open back from the exchange
        (re-arming after a restart); without it such an order counts as gone;
        ``holds_stops``: the broker holds a stop itself when asked (``OrderIntent.held``)."""
        self._broker = broker
        self._holds_stops = holds_stops
        self._saved = saved
        self._rules = rules
        self._look_up = look_up
        self._brackets: dict[str, Bracket] = {}  # open ones, by id
        self._of: dict[str, str] = {}  # client order id -> bracket id
        self._queue: list[str] = []
        self._blocked: dict[str, Step] = {}  # bracket id -> the step the account refused last
        self._lock = asyncio.Lock()  # one step at a time, across brackets
        self._listeners: list[BracketListener] = []
        self._tasks = TaskGroup("brackets", logger=log)
        self._started = False

    @property
    def mode(self) -> BracketMode:
        return BracketMode.MANAGED

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen to the broker (started already) and re-arm the brackets saved open."""
        if self._started:
            return
        self._started = True
        self._broker.subscribe(self._on_event)
        saved = await asyncio.to_thread(self._saved.load) if self._saved is not None else []
        if not saved:
            return
        known = {o.client_order_id: o for o in self._broker.orders()}
        for bracket in saved:
            for part in [p for p in bracket.parts if p.is_open]:
                order = known.get(part.client_order_id) or await self._read_back(part, bracket.symbol)
                if order is not None:
                    bracket.observe(order)
                else:
                    part.status, part.reason = OrderStatus.CANCELLED, LOST_AFTER_RESTART
                    if part.role is not Role.ENTRY and not part.retiring and not bracket.broken:
                        bracket.broken = f"the {part.role.words} {LOST_AFTER_RESTART}"
            self._track(bracket)
            log.info("re-armed bracket %s on %s", bracket.bracket_id, bracket.symbol)
            self._queue_up(bracket)

    async def _read_back(self, part: Part, symbol: str) -> Order | None:
        if self._look_up is None:
            return None
        try:
            return await self._look_up(part.client_order_id, symbol)
        except TerminalError as exc:
            log.warning("order %s could not be read back: %s", part.client_order_id, describe(exc, True))
            return None

    async def close(self) -> None:
        """Stop listening and let the step under way finish (a broker call's answer matters)."""
        if self._started:
            self._broker.unsubscribe(self._on_event)
        self._started = False
        await self._tasks.close(cancel=False, timeout=5.0)

    # -- the desk ------------------------------------------------------------------------------
    async def submit(self, entry: OrderIntent, exits: Exits) -> Order:
        rules = self._spot_checked(entry.symbol, exits)
        reference = entry.price if entry.type.has_price else entry.stop_price
        self._raise_if(check_exits(entry.side, reference, exits, rules))
        bracket = Bracket(
            bracket_id=new_bracket_id(),
            symbol=entry.symbol,
            side=entry.side,
            exits=exits,
            mode=BracketMode.MANAGED,
            parts=[Part(Role.ENTRY, entry.client_order_id, entry.amount)],
            amount_step=rules.amount_step,
            price_tick=rules.price_tick,
            created_ms=now_ms(),
            updated_ms=now_ms(),
        )
        self._track(bracket)  # before the entry goes: it may fill in the answer
        try:
            placed = await self._broker.submit(entry)
        except OrderStatusUnknownError:
            raise  # it may be in: the bracket waits for the account to say
        except TerminalError:
            self._finish(bracket, "The entry was refused: no exits were placed.")
            raise
        bracket.observe(placed)
        self._changed(bracket)
        self._queue_up(bracket)
        return placed

    async def submit_oco(self, symbol: str, side: OrderSide, amount: Decimal, exits: Exits) -> Bracket:
        rules = self._spot_checked(symbol, exits)
        position = OrderSide.BUY if side is OrderSide.SELL else OrderSide.SELL
        self._raise_if(check_exits(position, None, exits, rules, reference_name="last price"))
        bracket = Bracket(
            bracket_id=new_bracket_id(),
            symbol=symbol,
            side=position,
            exits=exits,
            mode=BracketMode.MANAGED,
            held=amount,
            amount_step=rules.amount_step,
            price_tick=rules.price_tick,
            created_ms=now_ms(),
            updated_ms=now_ms(),
        )
        self._track(bracket)
        async with self._lock:
            await self._settle(bracket)
        return bracket.snapshot()

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """An order of a bracket amended: the replacement takes its place. An
        exit keeps its role and its size (what is left to close); a moved entry
        is checked against the exits first."""
        bracket = self._bracket(client_order_id)
        if bracket is None:
            return await self._broker.replace(client_order_id, intent)
        if intent.client_order_id == client_order_id:  # a replacement is a new order
            intent = dataclasses.replace(intent, client_order_id=new_client_order_id())
        async with self._lock:
            part = bracket.part(client_order_id)
            assert part is not None
            exits_before = bracket.exits
            if part.role is Role.ENTRY:
                rules = self._spot_checked(bracket.symbol, bracket.exits)
                reference = intent.price if intent.type.has_price else intent.stop_price
                self._raise_if(check_exits(intent.side, reference, bracket.exits, rules))
            else:
                price = intent.price if part.role is Role.TAKE_PROFIT else intent.stop_price
                if price is not None:
                    bracket.exits = bracket.exits.with_price(part.role, price)
                held = self._held_exit(bracket, part.role)
                intent = dataclasses.replace(intent, amount=bracket.to_close, reduce_only=True, held=held)
            part.retiring = True
            self._add_part(bracket, Part(part.role, intent.client_order_id, intent.amount))
            try:
                placed = await self._broker.replace(client_order_id, intent)
            except TerminalError:
                self._drop_part(bracket, intent.client_order_id)
                self._refresh(bracket, client_order_id)
                if part.is_open:  # refused before the old one was cancelled: it stays as it was
                    part.retiring, bracket.exits = False, exits_before
                self._changed(bracket)
                self._queue_up(bracket)
                raise
            bracket.observe(placed)
            self._changed(bracket)
        self._queue_up(bracket)
        return placed

    async def cancel(self, bracket_id: str) -> Bracket:
        bracket = self._brackets.get(bracket_id)
        if bracket is None:
            raise OrderNotFoundError(f"There is no open bracket {bracket_id}.")
        async with self._lock:
            for part in [p for p in bracket.parts if p.is_open]:
                part.retiring = True
                try:
                    bracket.observe(await self._broker.cancel(part.client_order_id))
                except OrderNotFoundError:
                    self._refresh(bracket, part.client_order_id)
            self._finish(bracket, "Cancelled: its open orders were cancelled.")
        return bracket.snapshot()

    async def make_room(self, stop: Order) -> Decimal | None:
        """A stop the broker holds triggered and is about to sell: if it is a
        bracket's stop-loss, cancel the bracket's other exits first (on a spot
        market the take-profit holds the coins) and say what is left to close
        (0: the take-profit filled it all meanwhile). None: no bracket's stop."""
        bracket = self._bracket(stop.client_order_id)
        part = bracket.part(stop.client_order_id) if bracket is not None else None
        if bracket is None or part is None:
            return None
        async with self._lock:
            others = [p for p in bracket.parts if p.role is not Role.ENTRY and p.is_open and p is not part]
            for other in others:
                other.retiring = True
                try:
                    bracket.observe(await self._broker.cancel(other.client_order_id))
                except OrderNotFoundError:
                    self._refresh(bracket, other.client_order_id)
                except TerminalError:
                    other.retiring = False
                    raise
            # The stop-loss closes what is left, and nothing else is placed for the bracket now.
            bracket.exits = Exits(stop_loss=bracket.exits.stop_loss)
            left = bracket.to_close
            part.amount = left
            self._changed(bracket)
            return left

    def brackets(self, symbol: str | None = None) -> list[Bracket]:
        found = [b.snapshot() for b in self._brackets.values() if symbol is None or b.symbol == symbol]
        return list(reversed(found))

    def bracket_of(self, client_order_id: str) -> Bracket | None:
        bracket = self._bracket(client_order_id)
        return bracket.snapshot() if bracket is not None else None

    def subscribe(self, listener: BracketListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: BracketListener) -> None:
        self._listeners.remove(listener)

    async def settled(self) -> None:
        """Wait until the queued brackets have been brought in line (tests; a shutdown)."""
        while (task := self._tasks.running("settle")) is not None and not task.done():
            await asyncio.wait({task})

    # -- events -> steps ---------------------------------------------------------------------------
    def _on_event(self, event: AccountEvent) -> None:
        if not isinstance(event, OrderUpdated):
            return
        bracket = self._bracket(event.order.client_order_id)
        if bracket is None or not bracket.observe(event.order):
            return
        self._changed(bracket)
        self._queue_up(bracket)

    def _queue_up(self, bracket: Bracket) -> None:
        if bracket.bracket_id not in self._queue:
            self._queue.append(bracket.bracket_id)
        task = self._tasks.running("settle")
        if self._started and (task is None or task.done()):
            self._tasks.spawn(self._drain(), name="settle brackets", key="settle")

    async def _drain(self) -> None:
        while self._queue:
            bracket = self._brackets.get(self._queue.pop(0))
            if bracket is None:
                continue
            async with self._lock:
                await self._settle(bracket)

    async def _settle(self, bracket: Bracket) -> None:
        for _ in range(MAX_STEPS):
            step = next_step(bracket)
            if step is None:
                if bracket.note:  # what held it up is over
                    bracket.note = ""
                    self._changed(bracket)
                return
            if self._blocked.get(bracket.bracket_id) == step:
                return  # refused as it is: tried again when the fills change it
            if not await self._take(bracket, step):
                return
        log.error("Bracket %s did not settle in %d steps.", bracket.bracket_id, MAX_STEPS)

    async def _take(self, bracket: Bracket, step: Step) -> bool:
        """One step through the broker; False when the bracket must wait."""
        if isinstance(step, Finish):
            self._finish(bracket, step.reason)
            return False
        if isinstance(step, PlaceExit):
            done = await self._place_exit(bracket, step)
        elif isinstance(step, ResizeExit):
            done = await self._resize_exit(bracket, step)
        else:
            done = await self._cancel_exit(bracket, step)
        if done:
            self._blocked.pop(bracket.bracket_id, None)
            self._changed(bracket)
        return done

    async def _place_exit(self, bracket: Bracket, step: PlaceExit) -> bool:
        intent = self._exit_intent(bracket, step.role, step.amount)
        self._add_part(bracket, Part(step.role, intent.client_order_id, step.amount))
        try:
            placed = await self._broker.submit(intent)
        except (OrderInvalidError, RiskCheckFailedError) as exc:  # refused before it was sent
            self._drop_part(bracket, intent.client_order_id)
            return self._wait(bracket, step, f"the {step.role.words} could not be placed", exc)
        except OrderStatusUnknownError as exc:  # the account keeps asking; its events will tell
            return self._wait(bracket, step, f"the {step.role.words} may or may not be in", exc)
        except TerminalError as exc:  # refused by the exchange: rejected, which ends the pair
            self._refresh(bracket, intent.client_order_id)
            log.info("bracket %s: %s", bracket.bracket_id, describe(exc, detailed=True))
            return True
        bracket.observe(placed)
        return True

    async def _resize_exit(self, bracket: Bracket, step: ResizeExit) -> bool:
        """Cancel/replace with the new size (an exchange's amend of the amount, where there is one)."""
        part = bracket.part(step.client_order_id)
        assert part is not None
        intent = self._exit_intent(bracket, step.role, step.amount)
        part.retiring = True
        self._add_part(bracket, Part(step.role, intent.client_order_id, step.amount))
        try:
            placed = await self._broker.replace(step.client_order_id, intent)
        except OrderNotFoundError:  # filled or gone meanwhile: learn how, then plan again
            self._drop_part(bracket, intent.client_order_id)
            part.retiring = False
            self._refresh(bracket, step.client_order_id)
            return True
        except TerminalError as exc:
            self._drop_part(bracket, intent.client_order_id)
            self._refresh(bracket, step.client_order_id)
            return self._wait(bracket, step, f"the {step.role.words} could not be resized", exc)
        bracket.observe(placed)
        return True

    async def _cancel_exit(self, bracket: Bracket, step: CancelExit) -> bool:
        part = bracket.part(step.client_order_id)
        assert part is not None
        part.retiring = True
        try:
            bracket.observe(await self._broker.cancel(step.client_order_id))
        except OrderNotFoundError:
            self._refresh(bracket, step.client_order_id)
        except TerminalError as exc:
            part.retiring = False
            return self._wait(bracket, step, f"the {part.role.words} could not be cancelled", exc)
        return True

    def _wait(self, bracket: Bracket, step: Step, what: str, exc: TerminalError) -> bool:
        """The account refused a step: it is tried again once the fills change it."""
        self._blocked[bracket.bracket_id] = step
        bracket.note = f"{what[0].upper()}{what[1:]}: {describe(exc)}"
        log.info("bracket %s waits: %s", bracket.bracket_id, bracket.note)
        self._changed(bracket)
        return False

    # -- bookkeeping ---------------------------------------------------------------------------------
    def _spot_checked(self, symbol: str, exits: Exits) -> MarketRules:
        rules = self._rules(symbol)
        if rules is None:
            raise OrderInvalidError("symbol", f"{symbol} is not listed, or its markets have not loaded yet.")
        if rules.spot and len(exits.roles()) == 2 and not self._holds_stops:
            raise OrderInvalidError("take_profit", SPOT_REFUSAL)
        return rules

    def _held_exit(self, bracket: Bracket, role: Role) -> bool:
        """The broker holds this exit: a spot pair's stop-loss (the take-profit holds the coins)."""
        rules = self._rules(bracket.symbol)
        spot = rules.spot if rules is not None else False
        return spot and role is Role.STOP_LOSS and bracket.exits.take_profit is not None

    @staticmethod
    def _raise_if(problems: list[FieldProblem]) -> None:
        if problems:
            first = problems[0]
            raise OrderInvalidError(first.field, first.message, problems=tuple(problems))

    def _exit_intent(self, bracket: Bracket, role: Role, amount: Decimal) -> OrderIntent:
        take_profit = role is Role.TAKE_PROFIT
        return OrderIntent(
            symbol=bracket.symbol,
            side=bracket.exit_side,
            type=OrderType.LIMIT if take_profit else OrderType.STOP_MARKET,
            amount=amount,
            price=bracket.exits.take_profit if take_profit else None,
            stop_price=None if take_profit else bracket.exits.stop_loss,
            reduce_only=True,
            held=self._held_exit(bracket, role),
        )

    def _bracket(self, client_order_id: str) -> Bracket | None:
        bracket_id = self._of.get(client_order_id)
        return self._brackets.get(bracket_id) if bracket_id is not None else None

    def _track(self, bracket: Bracket) -> None:
        self._brackets[bracket.bracket_id] = bracket
        for cid in bracket.order_ids():
            self._of[cid] = bracket.bracket_id
        self._changed(bracket)

    def _add_part(self, bracket: Bracket, part: Part) -> None:
        """Known before the order goes, so its first events find the bracket."""
        bracket.parts.append(part)
        self._of[part.client_order_id] = bracket.bracket_id

    def _drop_part(self, bracket: Bracket, client_order_id: str) -> None:
        """An order that was never sent."""
        known = {o.client_order_id for o in self._broker.orders(bracket.symbol)}
        if client_order_id in known:
            self._refresh(bracket, client_order_id)  # it was sent after all: keep what the account says
            return
        bracket.parts = [p for p in bracket.parts if p.client_order_id != client_order_id]
        self._of.pop(client_order_id, None)

    def _refresh(self, bracket: Bracket, client_order_id: str) -> None:
        for order in self._broker.orders(bracket.symbol):
            if order.client_order_id == client_order_id:
                bracket.observe(order)
                return

    def _finish(self, bracket: Bracket, reason: str) -> None:
        bracket.closed, bracket.reason, bracket.note = True, reason, ""
        bracket.updated_ms = now_ms()
        self._brackets.pop(bracket.bracket_id, None)
        self._blocked.pop(bracket.bracket_id, None)
        for cid in bracket.order_ids():
            self._of.pop(cid, None)
        self._changed(bracket)

    def _changed(self, bracket: Bracket) -> None:
        if self._saved is not None:
            self._saved.save(bracket)
        copy = bracket.snapshot()
        for listener in list(self._listeners):
            try:
                listener(copy)
            except Exception:  # one panel's bug must not stop the brackets
                log.exception("A bracket listener failed on %s", bracket.bracket_id)
