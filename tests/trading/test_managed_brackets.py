"""Brackets kept by the terminal over the ``Broker`` interface
(``BracketManager``), against an in-memory broker whose fills the test makes:
which calls the manager makes as the entry and the exits fill, what it says
when the account refuses one, and what it re-arms after a restart.

The market is a contract market (BTC/USDT:USDT): the managed pairs are for
accounts whose reduce-only exits hold nothing; a spot market is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from terminal.errors import OrderInvalidError, OrderNotFoundError, RiskCheckFailedError, TerminalError
from terminal.trading.brackets import Bracket, BracketMode, BracketStatus, Exits, Role
from terminal.trading.broker import Listener
from terminal.trading.events import OrderUpdated
from terminal.trading.journal import TradingJournal
from terminal.trading.managed_brackets import SPOT_REFUSAL, BracketManager, JournalBracketLog
from terminal.trading.market_rules import MarketRules
from terminal.trading.orders import Order, OrderIntent, OrderSide, OrderStatus, OrderType
from tests.conftest import run

D = Decimal
SYMBOL = "BTC/USDT:USDT"
BUY, SELL = OrderSide.BUY, OrderSide.SELL
EXITS = Exits(take_profit=D(110), stop_loss=D(90))


def contract(symbol: str = SYMBOL, spot: bool = False) -> MarketRules:
    return MarketRules.from_ccxt(
        {
            "symbol": symbol,
            "base": "BTC",
            "quote": "USDT",
            "spot": spot,
            "active": True,
            "precision": {"price": 1.0, "amount": 0.01},
            "limits": {"amount": {"min": 0.01}, "price": {}, "cost": {}},
        }
    )


class FakeBroker:
    """The calls the manager makes, and an exchange the test fills orders on."""

    def __init__(self) -> None:
        self.exchange: dict[str, Order] = {}  # every order, as the exchange has it
        self.known: set[str] = set()  # what this session of the broker has seen
        self.listeners: list[Listener] = []
        self.calls: list[tuple[str, str, str]] = []  # (call, type or id, amount)
        self.refuse: Callable[[OrderIntent], TerminalError | None] = lambda _intent: None

    # -- the Broker calls the manager makes -----------------------------------------------
    async def submit(self, intent: OrderIntent) -> Order:
        self.calls.append(("submit", intent.type.value, _plain(intent.amount)))
        return self._place(intent)

    async def replace(self, client_order_id: str, intent: OrderIntent) -> Order:
        """Cancel, then place (as the live broker does)."""
        self.calls.append(("replace", self._role(client_order_id), _plain(intent.amount)))
        self._close(client_order_id)
        return self._place(intent)

    async def cancel(self, client_order_id: str) -> Order:
        self.calls.append(("cancel", self._role(client_order_id), ""))
        return self._close(client_order_id)

    def _place(self, intent: OrderIntent) -> Order:
        refusal = self.refuse(intent)
        if refusal is not None:
            raise refusal
        order = Order(
            intent.client_order_id,
            intent.symbol,
            intent.side,
            intent.type,
            intent.amount,
            price=intent.price,
            stop_price=intent.stop_price,
            reduce_only=intent.reduce_only,
        )
        self.exchange[order.client_order_id] = order
        self.known.add(order.client_order_id)
        self._tell(order)
        return order.snapshot()

    def _close(self, client_order_id: str) -> Order:
        order = self.exchange.get(client_order_id)
        if order is None or not order.is_open:
            raise OrderNotFoundError(f"Order {client_order_id} is no longer open.")
        order.status, order.reason = OrderStatus.CANCELLED, "Cancelled."
        self._tell(order)
        return order.snapshot()

    def orders(self, symbol: str | None = None) -> list[Order]:
        return [o.snapshot() for o in self.exchange.values() if o.client_order_id in self.known]

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self.listeners.remove(listener)

    async def look_up(self, client_order_id: str, symbol: str) -> Order | None:
        order = self.exchange.get(client_order_id)
        if order is not None:
            self.known.add(client_order_id)
        return order.snapshot() if order is not None else None

    # -- what the test does ------------------------------------------------------------------
    def fill(self, client_order_id: str, amount: str) -> None:
        order = self.exchange[client_order_id]
        order.filled += D(amount)
        order.status = OrderStatus.FILLED if order.filled == order.amount else OrderStatus.PARTIALLY_FILLED
        self._tell(order)

    def restart(self) -> None:
        """A new session: it knows the open orders only (as the live broker loads them)."""
        self.known = {cid for cid, o in self.exchange.items() if o.is_open}
        self.listeners.clear()

    def open_exits(self) -> list[tuple[str, str, str]]:
        """(type, amount, filled) of each open reduce-only order."""
        return [
            (o.type.value, _plain(o.amount), _plain(o.filled))
            for o in self.exchange.values()
            if o.reduce_only and o.is_open
        ]

    def _tell(self, order: Order) -> None:
        for listener in list(self.listeners):
            listener(OrderUpdated(order.snapshot()))

    def _role(self, client_order_id: str) -> str:
        order = self.exchange.get(client_order_id)
        return order.type.value if order is not None else client_order_id


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def manager(broker: FakeBroker, journal: TradingJournal | None = None) -> BracketManager:
    return BracketManager(
        broker,  # type: ignore[arg-type]  # the part of Broker the manager uses
        JournalBracketLog(journal or TradingJournal(None), "live-test"),
        rules=lambda symbol: contract(symbol, spot=":" not in symbol),
        look_up=broker.look_up,
    )


def entry(amount: str = "1", price: str = "99") -> OrderIntent:
    return OrderIntent(SYMBOL, BUY, OrderType.LIMIT, D(amount), price=D(price))


LIMIT, STOP = "limit", "stop_market"


# -- the manager's steps, fill by fill ---------------------------------------------------------------
@dataclass
class Move:
    what: str  # "entry", "take_profit", "stop_loss": the order the exchange fills
    amount: str
    calls: list[tuple[str, str, str]]  # what the manager then asks of the broker
    exits: list[tuple[str, str, str]]  # the open exits after
    status: BracketStatus = BracketStatus.ACTIVE


@dataclass
class Case:
    name: str
    moves: list[Move] = field(default_factory=list)


CASES = [
    Case(
        "the entry fills: both exits are placed; the take-profit fills and the stop-loss is cancelled",
        [
            Move(
                "entry",
                "1",
                [("submit", LIMIT, "1"), ("submit", STOP, "1")],
                [(LIMIT, "1", "0"), (STOP, "1", "0")],
            ),
            Move("take_profit", "1", [("cancel", STOP, "")], [], BracketStatus.CLOSED),
        ],
    ),
    Case(
        "partial fills: the exits grow with the entry, and shrink to what is left when one partly fills",
        [
            Move(
                "entry",
                "0.4",
                [("submit", LIMIT, "0.4"), ("submit", STOP, "0.4")],
                [(LIMIT, "0.4", "0"), (STOP, "0.4", "0")],
            ),
            Move(
                "entry",
                "0.6",
                [("replace", LIMIT, "1"), ("replace", STOP, "1")],
                [(LIMIT, "1", "0"), (STOP, "1", "0")],
            ),
            Move("take_profit", "0.3", [("replace", STOP, "0.7")], [(LIMIT, "1", "0.3"), (STOP, "0.7", "0")]),
            Move("stop_loss", "0.7", [("cancel", LIMIT, "")], [], BracketStatus.CLOSED),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_manager_keeps_the_exits_in_line_with_the_fills(case: Case) -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        keeper = manager(broker)
        await keeper.start()
        assert keeper.mode is BracketMode.MANAGED
        placed = await keeper.submit(entry(), EXITS)
        bracket = keeper.bracket_of(placed.client_order_id)
        assert bracket is not None and bracket.status is BracketStatus.PENDING
        assert broker.calls == [("submit", LIMIT, "1")] and broker.open_exits() == []
        heard: list[Bracket] = []
        keeper.subscribe(heard.append)
        for n, move in enumerate(case.moves):
            broker.calls.clear()
            broker.fill(_current(broker, heard[-1] if heard else bracket, move.what), move.amount)
            await keeper.settled()
            assert broker.calls == move.calls, f"move {n}"
            assert broker.open_exits() == move.exits, f"move {n}"
            assert heard[-1].status is move.status, f"move {n}"
        await keeper.close()

    run(scenario)


def _current(broker: FakeBroker, bracket: Bracket, what: str) -> str:
    """The client order id that is ``what`` now."""
    role = Role(what)
    parts = [p for p in bracket.parts if p.role is role and broker.exchange[p.client_order_id].is_open]
    assert parts, f"no open {what}"
    return parts[-1].client_order_id


def test_an_entry_cancelled_before_any_fill_never_places_exits() -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        keeper = manager(broker)
        await keeper.start()
        heard: list[Bracket] = []
        keeper.subscribe(heard.append)
        placed = await keeper.submit(entry(), EXITS)
        await broker.cancel(placed.client_order_id)
        await keeper.settled()
        assert broker.open_exits() == [] and keeper.brackets() == []
        assert heard[-1].reason == "The entry was cancelled before it filled: no exits were placed."
        await keeper.close()

    run(scenario)


def test_cancelling_an_exit_elsewhere_cancels_the_other() -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        keeper = manager(broker)
        await keeper.start()
        placed = await keeper.submit(entry(), EXITS)
        broker.fill(placed.client_order_id, "1")
        await keeper.settled()
        bracket = keeper.bracket_of(placed.client_order_id)
        assert bracket is not None
        await broker.cancel(_current(broker, bracket, "take_profit"))  # e.g. from the exchange's site
        await keeper.settled()
        assert broker.open_exits() == [] and keeper.brackets() == []
        await keeper.close()

    run(scenario)


def test_a_refused_exit_waits_says_why_and_is_tried_again_when_the_entry_fills_more() -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        broker.refuse = lambda intent: (
            RiskCheckFailedError("max_open_orders", "Too many open orders.")
            if intent.reduce_only and intent.amount < 1
            else None
        )
        keeper = manager(broker)
        await keeper.start()
        placed = await keeper.submit(entry(), EXITS)
        broker.fill(placed.client_order_id, "0.5")
        await keeper.settled()
        waiting = keeper.bracket_of(placed.client_order_id)
        assert waiting is not None and waiting.note.startswith("The take-profit could not be placed")
        assert "Too many open orders." in waiting.note
        broker.calls.clear()
        broker.fill(placed.client_order_id, "0.5")
        await keeper.settled()
        assert broker.open_exits() == [(LIMIT, "1", "0"), (STOP, "1", "0")]
        now = keeper.bracket_of(placed.client_order_id)
        assert now is not None and now.note == ""
        await keeper.close()

    run(scenario)


def test_a_restart_re_arms_the_brackets_from_the_journal_and_catches_up() -> None:
    async def scenario() -> None:
        broker, journal = FakeBroker(), TradingJournal(None)
        first = manager(broker, journal)
        await first.start()
        filled_away = await first.submit(entry(), EXITS)
        waiting = await first.submit(entry("2", "98"), EXITS)
        broker.fill(filled_away.client_order_id, "1")
        await first.settled()
        bracket = first.bracket_of(filled_away.client_order_id)
        assert bracket is not None
        await first.close()

        # while the terminal is closed: the take-profit fills, the other entry fills
        broker.fill(_current(broker, bracket, "take_profit"), "1")
        broker.fill(waiting.client_order_id, "2")
        broker.restart()
        again = manager(broker, journal)
        await again.start()
        await again.settled()
        assert broker.open_exits() == [(LIMIT, "2", "0"), (STOP, "2", "0")]  # the first pair's stop is gone
        assert [b.parts[0].client_order_id for b in again.brackets()] == [waiting.client_order_id]
        await again.close()

    run(scenario)


def test_dragging_an_exit_through_the_manager_keeps_the_pair() -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        keeper = manager(broker)
        await keeper.start()
        placed = await keeper.submit(entry(), EXITS)
        broker.fill(placed.client_order_id, "1")
        await keeper.settled()
        bracket = keeper.bracket_of(placed.client_order_id)
        assert bracket is not None
        stop = _current(broker, bracket, "stop_loss")
        moved = await keeper.replace(
            stop, OrderIntent(SYMBOL, SELL, OrderType.STOP_MARKET, D("5"), stop_price=D(95), reduce_only=True)
        )
        await keeper.settled()
        assert moved.amount == D(1)  # sized by the bracket, not by the ticket
        now = keeper.bracket_of(moved.client_order_id)
        assert now is not None and now.exits == Exits(D(110), D(95))
        assert broker.open_exits() == [(LIMIT, "1", "0"), (STOP, "1", "0")]
        await keeper.close()

    run(scenario)


@pytest.mark.parametrize(
    ("symbol", "exits", "field", "message"),
    [
        ("BTC/USDT", EXITS, "take_profit", SPOT_REFUSAL),
        (SYMBOL, Exits(D(95), D(90)), "take_profit", "the take-profit must be above the entry price (99)"),
        (SYMBOL, Exits(None, D("90.5")), "stop_loss", "90.5 is not a valid stop-loss"),
    ],
)
def test_a_bracket_the_manager_cannot_keep_is_refused_before_anything_is_sent(
    symbol: str, exits: Exits, field: str, message: str
) -> None:
    async def scenario() -> None:
        broker = FakeBroker()
        keeper = manager(broker)
        await keeper.start()
        ticket = OrderIntent(symbol, BUY, OrderType.LIMIT, D(1), price=D(99))
        with pytest.raises(OrderInvalidError) as refused:
            await keeper.submit(ticket, exits)
        assert refused.value.field == field and message in refused.value.user_message()
        assert broker.calls == [] and keeper.brackets() == []
        await keeper.close()

    run(scenario)
