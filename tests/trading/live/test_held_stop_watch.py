"""``HeldStops`` on its own: what a held stop does when its trade stream fails,
sends garbage, or replays trades from before it was placed.

The trade watch here is a function the test drives (a queue of answers and
failures): the failures a real stream has are hard to produce on command at
the right moment, and the broker's tests (test_held_stops.py) run the real
ccxt stream against the loopback exchanges.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from terminal.errors import ExchangeUnreachableError
from terminal.trading.events import AccountEvent, OrderUpdated
from terminal.trading.journal import AccountJournal, TradingJournal
from terminal.trading.live.held import HeldSettings, HeldStops, load_held
from terminal.trading.orders import Order, OrderIntent, OrderSide, OrderStatus, OrderType, now_ms
from tests.conftest import wait_until

D = Decimal
SYMBOL = "BTC/USDT"


class Tape:
    """The watch: each call takes the next answer (a list of trades, or an
    exception to raise), waiting for the test to give one."""

    def __init__(self) -> None:
        self.answers: asyncio.Queue[list[dict[str, Any]] | Exception] = asyncio.Queue()
        self.calls = 0

    async def watch(self, symbol: str) -> list[dict[str, Any]]:
        self.calls += 1
        answer = await self.answers.get()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def trade(self, price: str, ts: int, trade_id: str) -> None:
        self.answers.put_nowait(
            [{"id": trade_id, "symbol": SYMBOL, "timestamp": ts, "price": float(price), "amount": 0.1}]
        )


def _stop(created: int, stop: str = "100", cid: str = "t-held") -> Order:
    return Order(
        client_order_id=cid,
        symbol=SYMBOL,
        side=OrderSide.SELL,
        type=OrderType.STOP_MARKET,
        amount=D("0.5"),
        stop_price=D(stop),
        created_ms=created,
        updated_ms=created,
        held=True,
    )


def _run(scenario: Any) -> None:
    async def main() -> None:
        tape, fired, events = Tape(), [], []
        journal = TradingJournal(None)

        async def fire(intent: OrderIntent, stop: Order) -> Order:
            fired.append(intent)
            return stop

        held = HeldStops(
            AccountJournal(journal, "acct", "live"),
            watch=tape.watch,
            fire=fire,
            publish=events.append,
            settings=HeldSettings(backoff=0.01, backoff_cap=0.02),
        )
        held.start([])
        try:
            await asyncio.wait_for(scenario(held, tape, fired, events, journal), 10)
        finally:
            await held.close()

    asyncio.run(main())


def test_a_lost_stream_is_said_on_the_stop_and_it_triggers_once_the_trades_are_back() -> None:
    async def scenario(
        held: HeldStops, tape: Tape, fired: list[OrderIntent], events: list[AccountEvent], journal: Any
    ) -> None:
        t0 = now_ms()
        held.hold(_stop(t0))
        tape.answers.put_nowait(ExchangeUnreachableError("the connection was reset"))
        await wait_until(lambda: held.orders()[0].note != "", "the note on the stop")
        assert "cannot see BTC/USDT's trades now" in held.orders()[0].note
        assert "the connection was reset" in held.orders()[0].note
        assert held.orders()[0].is_open and fired == []

        tape.trade("101", t0 + 5, "a")  # back: the note goes, no trigger yet
        await wait_until(lambda: held.orders()[0].note == "", "the note cleared")
        tape.trade("100", t0 + 6, "b")  # at the stop
        await wait_until(lambda: len(fired) == 1, "the market order")
        sent = fired[0]
        assert (sent.type, sent.side, sent.amount, sent.client_order_id) == (
            OrderType.MARKET, OrderSide.SELL, D("0.5"), "t-held",
        )  # fmt: skip
        notes = [e.order.note for e in events if isinstance(e, OrderUpdated)]
        assert any(notes) and notes[-1] == ""

    _run(scenario)


def test_trades_from_before_the_stop_or_seen_twice_never_trigger_it() -> None:
    async def scenario(
        held: HeldStops, tape: Tape, fired: list[OrderIntent], events: list[AccountEvent], journal: Any
    ) -> None:
        t0 = now_ms()
        held.hold(_stop(t0))
        tape.trade("90", t0 - 1_000, "old")  # a replayed trade from before the stop: through it
        tape.trade("101", t0 + 1, "new")
        await wait_until(lambda: tape.calls >= 3, "both answers taken")
        assert fired == [] and held.holds("t-held")
        tape.trade("90", t0 - 1_000, "old")  # the same again, older than what was seen
        # two trades through the stop in one answer: one market order
        tape.answers.put_nowait(
            [
                {"id": i, "symbol": SYMBOL, "timestamp": t0 + 2, "price": p, "amount": 0.1}
                for i, p in (("through", 99.0), ("again", 98.0))
            ]
        )
        await wait_until(lambda: len(fired) == 1, "one market order")
        held.hold(_stop(t0, "80", cid="t-next"))  # another stop, triggered after: the sync point
        tape.trade("80", t0 + 3, "next")
        await wait_until(lambda: len(fired) == 2, "the second stop's order")
        assert [i.client_order_id for i in fired] == ["t-held", "t-next"]

    _run(scenario)


def test_a_held_stop_is_saved_on_each_change_and_loaded_open_until_it_triggers() -> None:
    async def scenario(
        held: HeldStops, tape: Tape, fired: list[OrderIntent], events: list[AccountEvent], journal: Any
    ) -> None:
        t0 = now_ms()
        held.hold(_stop(t0))
        assert [o.client_order_id for o in load_held(journal, "acct")] == ["t-held"]
        assert load_held(journal, "another account") == []
        tape.trade("100", t0 + 1, "x")
        await wait_until(lambda: len(fired) == 1, "the trigger")
        assert load_held(journal, "acct") == []  # triggered: the account's order stands for it now

        held.hold(_stop(t0, cid="t-two"))
        held.cancel("t-two")
        assert load_held(journal, "acct") == []
        assert [o.status for o in held.orders() if o.client_order_id == "t-two"] == [OrderStatus.CANCELLED]

    _run(scenario)
