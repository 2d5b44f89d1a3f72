"""The paper broker on a real MarketSession over the real simulated exchange
(with a clock the test moves), saving into a real history file."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from terminal.errors import OrderInvalidError, RiskCheckFailedError, TradingError
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.store.candles import CandleStore
from terminal.store.history_file import HistoryFile
from terminal.trading import (
    AmountUnit,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    RiskLimits,
)
from terminal.trading.broker import Broker
from terminal.trading.events import AccountEvent, AccountReset, BalanceChanged, FillAdded, OrderUpdated
from terminal.trading.journal import TradingJournal
from terminal.trading.paper.account import FORMAT
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.paper.store import PaperAccountStore
from terminal.trading.paper.throttled_save import ThrottledSave
from tests.conftest import ManualClock, run, wait_until

D = Decimal
T0 = 1_700_000_000_000
WATCHLIST = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
BUY, SELL = OrderSide.BUY, OrderSide.SELL


class Market:
    """A live session on the simulator; time moves only when the test says."""

    def __init__(self, session: MarketSession, clock: ManualClock) -> None:
        self.session = session
        self.clock = clock

    @property
    def exchange(self) -> SimulatedExchange:
        source = self.session.source
        assert isinstance(source, SimulatedExchange)
        return source

    async def step(self, ms: int = 1000) -> None:
        """Move the market ``ms`` on and wait until the session has what happened."""
        self.clock.now += ms
        engine = self.exchange.engine(self.session.symbol)
        await wait_until(lambda: engine.time_ms >= self.clock.now)
        await wait_until(lambda: self.session.tape.total == 0 or self._tape_current(engine))

    def _tape_current(self, engine: Any) -> bool:
        newest = engine.trades[-1].timestamp if engine.trades else None
        rows = self.session.tape.latest(1)
        return newest is None or (len(rows) > 0 and int(rows.ts[0]) == newest)

    async def step_until(self, condition: Callable[[], object], ms: int = 2000, steps: int = 600) -> None:
        for _ in range(steps):
            if condition():
                return
            await self.step(ms)
        raise AssertionError("the market never got there")


@asynccontextmanager
async def live_market(symbol: str = "BTC/USDT", seed: int = 11) -> AsyncIterator[Market]:
    clock = ManualClock()
    exchange = SimulatedExchange(
        seed=seed, clock=clock, pump_interval=0.002, history_days=1, max_replay_s=3600
    )
    session = MarketSession(exchange, WATCHLIST, max_history=2000)
    await session.start(symbol, "1m")
    market = Market(session, clock)
    await market.step_until(lambda: len(session.book.ask_price) and len(session.book.bid_price), ms=500)
    await market.step_until(lambda: session.tape.total > 0, ms=500)
    try:
        yield market
    finally:
        await session.close()


def broker_on(market: Market, store: CandleStore | None, **kwargs: Any) -> PaperBroker:
    kwargs.setdefault("settings", PaperSettings())
    broker = PaperBroker(market.session, account="simulated", store=store, **kwargs)
    as_the_ui_sees_it: Broker = broker  # mypy checks that it keeps the shared contract
    assert as_the_ui_sees_it.kind == "paper"
    return broker


def intent(
    side: OrderSide = BUY,
    type_: OrderType = OrderType.MARKET,
    amount: str = "0.01",
    price: Decimal | None = None,
    symbol: str = "BTC/USDT",
    **kwargs: Any,
) -> OrderIntent:
    return OrderIntent(symbol, side, type_, D(amount), price=price, **kwargs)


def kinds(journal: TradingJournal, client_order_id: str) -> list[str]:
    return [e.kind for e in journal.entries(client_order_id=client_order_id)]


# -- orders against the live market ------------------------------------------------------------


def test_a_market_buy_fills_against_the_live_book_and_moves_the_balances(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            events: list[AccountEvent] = []
            broker.subscribe(events.append)
            best_ask = D(repr(float(market.session.book.ask_price[0])))

            order = await broker.submit(intent(amount="0.05"))

            assert order.status is OrderStatus.FILLED and order.filled == D("0.05")
            assert order.fills and order.fills[0].price == best_ask  # the book's best level first
            assert order.average_price is not None and order.average_price >= best_ask
            balances = broker.balances()
            assert balances["BTC"].total == D("0.05")
            spent = order.cost + order.fee
            assert balances["USDT"].total == D(10_000) - spent
            assert order.fee == (order.cost * D("0.001"))  # the paper taker fee
            assert broker.positions()["BTC/USDT"].amount == D("0.05")
            # listeners heard the fills, the order, the new balances
            assert [type(e) for e in events[: len(order.fills)]] == [FillAdded] * len(order.fills)
            assert any(isinstance(e, OrderUpdated) and e.order.status is OrderStatus.FILLED for e in events)
            assert {e.balance.currency for e in events if isinstance(e, BalanceChanged)} == {"BTC", "USDT"}
            assert broker.fills()[0].client_order_id == order.client_order_id
            await broker.close()
            store.close()

    run(scenario)


def test_a_resting_limit_fills_when_the_market_trades_through_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            book = market.session.book
            price = D(repr(float(book.bid_price[0])))  # at the best bid: it rests, and sellers hit it

            order = await broker.submit(intent(BUY, OrderType.LIMIT, "0.002", price=price))
            assert order.status is OrderStatus.OPEN
            assert broker.open_orders()[0].client_order_id == order.client_order_id
            assert broker.balances()["USDT"].reserved > 0

            def filled() -> bool:
                return broker.orders()[0].status is OrderStatus.FILLED

            await market.step_until(filled, ms=1000)

            done = broker.orders()[0]
            assert done.fills and all(f.price == price for f in done.fills)  # at its own price
            assert all(f.liquidity.value == "maker" for f in done.fills)
            assert all(f.timestamp >= order.created_ms for f in done.fills)
            assert broker.balances()["BTC"].total == D("0.002")
            assert broker.balances()["USDT"].reserved == 0
            assert broker.open_orders() == []
            # the journal: the placing, then the fills the market made, then the market's close
            assert kinds(broker.journal, order.client_order_id)[:4] == [
                "intent",
                "check",
                "request",
                "response",
            ]
            assert kinds(broker.journal, order.client_order_id)[-1] == "response"
            assert "fill" in kinds(broker.journal, order.client_order_id)[4:]
            await broker.close()
            store.close()

    run(scenario)


def test_a_refused_ticket_raises_with_its_field_and_nothing_is_placed_or_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            too_small = intent(amount="0.000001")  # under one lot of 0.00001 BTC

            with pytest.raises(OrderInvalidError) as caught:
                await broker.submit(too_small)

            assert caught.value.field == "amount"
            assert caught.value.problems  # every problem, for the ticket
            assert broker.orders() == [] and broker.fills() == []
            assert broker.balances()["USDT"].total == D(10_000)
            assert kinds(broker.journal, too_small.client_order_id) == ["intent", "check"]
            check = broker.journal.entries(client_order_id=too_small.client_order_id)[1].payload
            assert check["ok"] is False and check["stage"] == "validation"
            assert check["problems"][0]["field"] == "amount"

            off_tick = intent(BUY, OrderType.LIMIT, "0.01", price=D("50000.05"))
            with pytest.raises(OrderInvalidError) as caught:
                await broker.submit(off_tick)
            assert caught.value.field == "price" and "0.1" in caught.value.user_message()
            assert broker.orders() == []
            await broker.close()
            store.close()

    run(scenario)


def test_a_risk_block_names_its_rule_and_nothing_is_placed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store, limits=RiskLimits(max_order_notional=D(100)))
            await broker.start()
            big = intent(amount="0.01")  # about 640 USDT

            with pytest.raises(RiskCheckFailedError) as caught:
                await broker.submit(big)

            assert caught.value.rule == "max_order_notional"
            assert "100 USDT" in caught.value.user_message()
            assert broker.orders() == []
            assert kinds(broker.journal, big.client_order_id) == ["intent", "check"]
            check = broker.journal.entries(client_order_id=big.client_order_id)[1].payload
            assert (check["stage"], check["blocks"][0]["rule"]) == ("risk", "max_order_notional")

            # the fat-finger band: a limit 20% under the mid
            mid = D(repr(market.session.book.mid or 0))
            far = intent(BUY, OrderType.LIMIT, "0.001", price=(mid * D("0.8")).quantize(D("0.1")))
            with pytest.raises(RiskCheckFailedError) as caught:
                await broker.submit(far)
            assert caught.value.rule == "price_band_pct"

            broker.set_limits(RiskLimits())  # the config changed: from the next order on
            assert (await broker.submit(big)).status is OrderStatus.FILLED
            await broker.close()
            store.close()

    run(scenario)


def test_cancel_replace_and_cancel_all(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            mid = D(repr(market.session.book.mid or 0))
            low = (mid * D("0.98")).quantize(D("0.1"))
            first = await broker.submit(intent(BUY, OrderType.LIMIT, "0.01", price=low))
            second = await broker.submit(intent(BUY, OrderType.LIMIT, "0.01", price=low - 1))

            moved = await broker.replace(
                first.client_order_id, intent(BUY, OrderType.LIMIT, "0.02", price=low)
            )

            assert moved.client_order_id != first.client_order_id and moved.amount == D("0.02")
            response = broker.journal.entries(client_order_id=moved.client_order_id)[-1]
            assert response.kind == "response" and response.payload["replaced"]["status"] == "cancelled"
            old = next(o for o in broker.orders() if o.client_order_id == first.client_order_id)
            assert old.status is OrderStatus.CANCELLED and moved.client_order_id in old.reason
            assert {o.client_order_id for o in broker.open_orders()} == {
                moved.client_order_id,
                second.client_order_id,
            }
            # a refused replacement leaves the old order as it was
            with pytest.raises(OrderInvalidError):
                await broker.replace(
                    moved.client_order_id, intent(BUY, OrderType.LIMIT, "0.02", price=D("1.05"))
                )
            assert moved.client_order_id in {o.client_order_id for o in broker.open_orders()}

            cancelled = await broker.cancel(second.client_order_id)
            assert cancelled.status is OrderStatus.CANCELLED
            with pytest.raises(TradingError):
                await broker.cancel(second.client_order_id)  # closed already

            assert [o.client_order_id for o in await broker.cancel_all()] == [moved.client_order_id]
            assert broker.open_orders() == []
            assert broker.balances()["USDT"].reserved == 0
            await broker.close()
            store.close()

    run(scenario)


def test_orders_on_a_symbol_not_on_screen_fill_from_its_trades(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market("BTC/USDT") as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store, poll_interval=0.01)
            await broker.start()
            asked: list[str] = []  # which symbols' trades the broker fetched
            fetch_trades = market.exchange.fetch_trades

            async def spy(symbol: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
                asked.append(symbol)
                return await fetch_trades(symbol, *args, **kwargs)

            market.exchange.fetch_trades = spy  # type: ignore[method-assign]
            # A SOL/USDT order far under the market rests all along: each poll asks for
            # SOL/USDT's trades, which shows, by a positive event, that the poll has run.
            sol_book = await market.exchange.fetch_order_book("SOL/USDT")
            far_under = (D(repr(sol_book["bids"][0][0])) * D("0.97")).quantize(D("0.01"))
            resting = await broker.submit(
                intent(BUY, OrderType.LIMIT, "0.1", price=far_under, symbol="SOL/USDT")
            )

            async def polls(n: int) -> None:
                seen = asked.count("SOL/USDT")
                await wait_until(lambda: asked.count("SOL/USDT") >= seen + n, f"{n} more polls")

            await polls(2)
            assert set(asked) == {"SOL/USDT"}  # nothing rests on ETH/USDT: it is not asked for
            eth_book = await market.exchange.fetch_order_book("ETH/USDT")
            price = D(repr(eth_book["bids"][0][0]))

            order = await broker.submit(intent(BUY, OrderType.LIMIT, "0.05", price=price, symbol="ETH/USDT"))
            assert order.status is OrderStatus.OPEN

            def filled() -> bool:
                return broker.orders("ETH/USDT")[0].status is OrderStatus.FILLED

            await market.step_until(filled, ms=1000)
            assert "ETH/USDT" in asked and "BTC/USDT" not in asked  # the tape feeds the symbol on screen
            assert broker.balances()["ETH"].total == D("0.05")
            assert all(f.price == price for f in broker.fills())
            asked.clear()
            await polls(2)
            assert "ETH/USDT" not in asked  # filled: the poll stops asking for it
            assert broker.orders("SOL/USDT") == [resting]  # still resting, still polled
            await broker.close()
            store.close()

    run(scenario)


# -- persistence ------------------------------------------------------------------------------------


def test_the_account_survives_a_restart_with_its_balances_and_open_orders(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"

    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(path)
            broker = broker_on(market, store)
            await broker.start()
            assert broker.persisted and broker.problem == ""
            await broker.submit(intent(amount="0.03"))
            mid = D(repr(market.session.book.mid or 0))
            resting = await broker.submit(
                intent(SELL, OrderType.LIMIT, "0.01", price=(mid * D("1.02")).quantize(D("0.1")))
            )
            balances, orders = broker.balances(), broker.orders()
            await broker.close()

            again = broker_on(market, store)
            await again.start()
            assert again.balances() == balances
            assert [o.client_order_id for o in again.open_orders()] == [resting.client_order_id]
            assert [o.to_dict() for o in again.orders()] == [o.to_dict() for o in orders]
            assert again.balances()["BTC"].reserved == D("0.01")  # the hold came back with the order
            await again.close()
            store.close()

    run(scenario)
    with sqlite3.connect(path) as conn:  # saved as JSON text under the account's name
        account, state = conn.execute("SELECT account, state FROM paper_account").fetchone()
    assert account == "simulated" and json.loads(state)["format"] == FORMAT


def test_saving_is_coalesced_under_a_burst_of_changes() -> None:
    async def scenario() -> None:
        saved: list[int] = []
        state = {"n": 0}
        saver: ThrottledSave[int] = ThrottledSave(lambda: state["n"], saved.append, interval=0.2)
        for n in range(1, 201):  # a burst: two hundred changes at once
            state["n"] = n
            saver.changed()
            await asyncio.sleep(0)
        await wait_until(lambda: saved and saved[-1] == 200, "the burst's last state saved")
        assert len(saved) <= 2  # one save per interval, not one per change
        state["n"] = 201
        saver.changed()
        assert await saver.flush() is True
        assert saved[-1] == 201  # flush writes the newest state, at once
        assert saved == sorted(saved)  # in the order taken

    run(scenario)


def test_a_costly_snapshot_is_taken_less_often_to_spare_the_gui_thread() -> None:
    async def scenario() -> None:
        saved: list[int] = []
        state = {"n": 0}

        def slow_snapshot() -> int:  # a big account: to_dict takes a while on the loop's thread
            time.sleep(0.02)
            return state["n"]

        saver: ThrottledSave[int] = ThrottledSave(slow_snapshot, saved.append, interval=0.01, max_share=0.05)
        loop = asyncio.get_running_loop()
        end = loop.time() + 0.6
        while loop.time() < end:  # a change every 10 ms for 0.6 s
            state["n"] += 1
            saver.changed()
            await asyncio.sleep(0.01)
        # 20 ms per snapshot at most 5% of the time: a save per 0.4 s, not one per 10 ms
        assert 1 <= len(saved) <= 3
        assert await saver.flush() and saved[-1] == state["n"]

    run(scenario)


def test_reset_restores_the_start_balances_and_is_journalled(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"

    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(path)
            settings = PaperSettings(start_balances={"USDT": D(5_000), "BTC": D("0.1")})
            broker = broker_on(market, store, settings=settings)
            await broker.start()
            await broker.submit(intent(SELL, amount="0.05"))
            mid = D(repr(market.session.book.mid or 0))
            await broker.submit(
                intent(BUY, OrderType.LIMIT, "0.01", price=(mid * D("0.97")).quantize(D("0.1")))
            )
            events: list[AccountEvent] = []
            broker.subscribe(events.append)

            await broker.reset()

            assert isinstance(events[0], AccountReset)
            assert {c: b.total for c, b in broker.balances().items()} == {"USDT": D(5_000), "BTC": D("0.1")}
            assert broker.orders() == [] and broker.fills() == [] and broker.open_orders() == []
            reset = [e for e in broker.journal.entries() if e.kind == "reset"]
            assert len(reset) == 1 and reset[0].payload["before"]["open_orders"] == 1
            await broker.close()

            again = broker_on(market, store, settings=settings)  # the reset was saved
            await again.start()
            assert again.orders() == [] and again.balances()["BTC"].total == D("0.1")
            await again.close()
            store.close()

    run(scenario)


# -- the journal ------------------------------------------------------------------------------------


def test_the_journal_holds_intent_check_request_response_fill_in_order_and_exports(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(tmp_path / "history.sqlite")
            broker = broker_on(market, store)
            await broker.start()
            order = await broker.submit(intent(amount="0.02", amount_unit=AmountUnit.BASE))
            await broker.close()

            journal = TradingJournal(store)  # a new reader of the same file: it was all written
            entries = journal.entries(client_order_id=order.client_order_id)
            assert [e.kind for e in entries] == ["intent", "check", "request", "response"] + ["fill"] * len(
                order.fills
            )
            assert [e.id for e in entries] == sorted(e.id for e in entries if e.id is not None)
            assert all(e.account == "simulated" and e.broker == "paper" for e in entries)
            intent_entry, check, request, response = entries[:4]
            assert intent_entry.payload["intent"]["amount"] == "0.02"  # Decimals as exact text
            assert check.payload["ok"] is True
            assert request.payload["order"]["client_order_id"] == order.client_order_id
            assert response.payload["order"]["status"] == "filled"
            assert entries[4].payload["fill"]["price"] == str(order.fills[0].price)

            csv_path, json_path = tmp_path / "journal.csv", tmp_path / "journal.json"
            assert journal.export_csv(csv_path, account="simulated") == len(journal.entries())
            rows = list(csv.DictReader(csv_path.read_text(encoding="utf-8").splitlines()))
            mine = [r for r in rows if r["client_order_id"] == order.client_order_id]
            assert [r["kind"] for r in mine] == [e.kind for e in entries]
            assert json.loads(mine[0]["payload"])["intent"]["symbol"] == "BTC/USDT"
            assert mine[0]["time"].endswith("Z")

            assert journal.export_json(json_path) == len(rows)
            document = json.loads(json_path.read_text(encoding="utf-8"))
            assert document["format"] == 1
            assert [e["kind"] for e in document["entries"]] == [r["kind"] for r in rows]
            store.close()

    run(scenario)


# -- without the history file --------------------------------------------------------------------------


def test_an_unopenable_history_file_leaves_the_broker_working_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    history = HistoryFile(path)
    assert history.get() is None and history.error is not None  # the app's way of opening it

    async def scenario() -> None:
        async with live_market() as market:
            broker = broker_on(market, history.writable())
            await broker.start()
            assert broker.persisted is False and "memory" in broker.problem
            assert broker.journal.persisted is False

            order = await broker.submit(intent(amount="0.01"))

            assert order.status is OrderStatus.FILLED and broker.balances()["BTC"].total == D("0.01")
            assert [e.kind for e in broker.journal.entries()][:4] == [
                "intent",
                "check",
                "request",
                "response",
            ]
            await broker.close()

    run(scenario)
    assert "memory" in caplog.text  # said in the log too
    assert path.read_bytes().startswith(b"this is not a database")  # and the file left alone


def test_an_unreadable_saved_account_is_kept_until_a_reset(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        PaperAccountStore(store).save("simulated", '{"format": 99, "what": "from the future"}', 1)

    async def scenario() -> None:
        async with live_market() as market:
            store = CandleStore(path)
            broker = broker_on(market, store)
            await broker.start()
            assert broker.persisted is False and "reset" in broker.problem
            await broker.submit(intent(amount="0.01"))  # trading goes on, in memory
            await broker.close()
            assert "from the future" in (PaperAccountStore(store).load("simulated") or "")  # not overwritten

            again = broker_on(market, store)
            await again.start()
            await again.reset()  # the user's way out
            assert again.persisted is True and again.problem == ""
            reset = [e for e in again.journal.entries() if e.kind == "reset"][-1]
            assert "from the future" in reset.payload["unreadable_saved_state"]  # kept in the journal
            await again.close()
            assert json.loads(PaperAccountStore(store).load("simulated") or "{}")["format"] == FORMAT
            store.close()

    run(scenario)
