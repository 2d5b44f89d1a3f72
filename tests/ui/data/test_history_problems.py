"""A history file that cannot be opened: the terminal still starts, on any
market, says why above the chart and what is kept in memory only meanwhile,
and offers the ways out as buttons; none deletes the file. After one, the
paper account and the trading journal are saved in the file again."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from terminal.config import SIMULATED
from terminal.logs import LogBuffer
from terminal.paths import AppPaths
from terminal.store.candles import CandleStore
from terminal.store.database import default_path
from terminal.store.history_file import HistoryFile
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.trading.paper.account import PaperAccount
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.paper.settings import PaperSettings
from terminal.trading.paper.store import PaperAccountStore
from terminal.ui.trading.paper_brokers import PaperBrokers
from terminal.ui.window.main_window import MainWindow
from tests.ui.harness import DEAD_ACCOUNT, Launch

GARBAGE = b"not a database, but someone's only copy of it" * 200


async def test_a_damaged_history_file_is_explained_and_moved_aside_on_request(
    launch: Launch, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)
    held.get()  # as a real exchange's window does on start
    async with launch(history_file=held) as t:
        notice = t.window.notice
        assert notice.isVisible()
        assert "damaged" in notice.label.text() and str(path) in notice.label.text()
        labels = [b.text() for b in notice.buttons]
        assert labels == ["Open read-only", "Move it aside and start a new one"]
        assert path.read_bytes() == GARBAGE, "nothing touched the file by itself"

        notice.buttons[1].click()
        await t.until(lambda: held.store is not None, "a new history file")
        await t.until(lambda: "moved to" in notice.label.text(), "the notice to say where the file went")
        assert held.moved_to is not None and held.moved_to.read_bytes() == GARBAGE
        assert str(held.moved_to) in notice.label.text()
        assert notice.buttons == []
        panel = t.window.open_data_manager()
        assert panel is not None, "the market data panel opens on the new file"


async def test_a_damaged_file_opened_read_only_serves_the_data_panel(launch: Launch, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)
    async with launch(history_file=held) as t:
        assert t.window.open_data_manager() is None, "no panel on a file that cannot be opened"
        notice = t.window.notice
        assert notice.isVisible() and "damaged" in notice.label.text()
        notice.buttons[0].click()  # read-only: this garbage cannot be read even so
        await t.until(lambda: held.error is not None and notice.buttons, "the answer on screen")
        assert held.store is None and path.read_bytes() == GARBAGE
        assert notice.isVisible() and notice.buttons, "the problem and its ways out are still shown"


# -- every market: what is kept in memory only, and the paper account and journal saved again --
HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("SELECT count(*) FROM candle_chunk").fetchall()
print("holding", flush=True)
time.sleep(60)
"""
IN_MEMORY = "The paper account and trading journal are kept in memory only until this is fixed."


@asynccontextmanager
async def locked(path: Path) -> AsyncIterator[subprocess.Popen[str]]:
    """Another program holding the file in exclusive locking mode (no one else opens it)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert await asyncio.to_thread(holder.stdout.readline) == "holding\n"
        yield holder
    finally:
        holder.kill()
        await asyncio.to_thread(holder.wait)


def paper(window: MainWindow) -> PaperBroker | None:
    """The paper account the window trades, if it has one yet."""
    broker = window.trading.broker
    return broker if isinstance(broker, PaperBroker) else None


def saved_paper_account(path: Path) -> str | None:
    with CandleStore(path) as store:
        return PaperAccountStore(store).load(SIMULATED)


def journal_order_ids(path: Path) -> set[str]:
    with CandleStore(path) as store, store.database.reading() as conn:
        return {r[0] for r in conn.execute("SELECT client_order_id FROM trading_journal")}


async def test_a_damaged_file_on_the_simulated_market_shows_the_bar_and_moving_it_aside_saves_again(
    launch: Launch, app_paths: AppPaths
) -> None:
    path = default_path(app_paths)
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)  # not opened yet: the simulated market needs no candle history
    async with launch(history_file=held) as t:
        window, notice = t.window, t.window.notice
        brokers = PaperBrokers(window.settings, held.writable)
        brokers.manage(window)  # as terminal.app does: the paper account and journal live in the file
        await t.until(lambda: notice.isVisible() and notice.buttons, "the history file's problem")
        text = notice.label.text()
        assert "damaged" in text and IN_MEMORY in text and str(path) in text, text
        assert "Candle history" not in text, "the simulated market keeps none"
        assert [b.text() for b in notice.buttons] == ["Open read-only", "Move it aside and start a new one"]
        await t.until(lambda: paper(window) is not None, "the paper account")
        broker = paper(window)
        assert broker is not None and not broker.persisted
        journal = await brokers.journal()
        assert not journal.persisted
        order = await broker.submit(OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
        assert path.read_bytes() == GARBAGE, "nothing touched the file by itself"

        notice.buttons[1].click()
        await t.until(lambda: broker.persisted and journal.persisted, "the paper account and journal saved")
        assert held.moved_to is not None and held.moved_to.read_bytes() == GARBAGE
        text = notice.label.text()
        assert "moved to" in text and str(held.moved_to) in text and "saved in it again" in text, text
        assert notice.buttons == [] and not notice.standing
        notice.dismiss()
        assert notice.isHidden(), "the problem is resolved: it does not come back"
        assert paper(window) is broker, "the same account: this session's order is kept"
        sell = OrderIntent("BTC/USDT", OrderSide.SELL, OrderType.MARKET, Decimal("0.01"))
        second = await broker.submit(sell)
        assert await broker.save()
        await journal.flush()
    await brokers.shutdown()
    held.close()
    saved = saved_paper_account(path)
    assert saved is not None
    account = PaperAccount.from_dict(json.loads(saved))
    # both orders, the one before the way out and the one after (each may fill at several levels)
    assert {f.client_order_id for f in account.fills()} == {order.client_order_id, second.client_order_id}
    assert account.order(order.client_order_id).symbol == "BTC/USDT"
    assert order.client_order_id in journal_order_ids(path), "the journal kept in memory was written"


async def test_a_locked_file_on_the_simulated_market_shows_the_bar_and_try_again_loads_the_saved_account(
    launch: Launch, app_paths: AppPaths, log_buffer: LogBuffer
) -> None:
    path = default_path(app_paths)
    saved = PaperAccount(PaperSettings(start_balances={"USDT": Decimal(1234)}))
    with CandleStore(path) as store:
        PaperAccountStore(store).save(SIMULATED, json.dumps(saved.to_dict()), 1)
    held = HistoryFile(path, busy_timeout_s=0.3)

    def refusals() -> int:
        return sum("history file cannot be used" in line.text for line in log_buffer.since(0))

    async with locked(path) as holder, launch(history_file=held) as t:
        window, notice = t.window, t.window.notice
        brokers = PaperBrokers(window.settings, held.writable)
        brokers.manage(window)
        await t.until(lambda: notice.isVisible() and notice.buttons, "the history file's problem")
        text = notice.label.text()
        assert "in use by another program" in text and IN_MEMORY in text, text
        assert [b.text() for b in notice.buttons] == ["Try again", "Open read-only"]
        await t.until(lambda: paper(window) is not None, "the paper account")
        in_memory = paper(window)
        assert in_memory is not None and not in_memory.persisted
        assert in_memory.balances()["USDT"].total == 10_000, "a new account, in memory"

        notice.buttons[0].click()  # still locked: the problem stays, with its ways out
        await t.until(lambda: refusals() == 2, "the second try to be refused")
        assert notice.isVisible() and IN_MEMORY in notice.label.text() and len(notice.buttons) == 2

        holder.kill()  # the other program lets go
        await asyncio.to_thread(holder.wait)
        notice.buttons[0].click()
        await t.until(lambda: getattr(paper(window), "persisted", False), "the saved account")
        loaded = paper(window)
        assert loaded is not None and loaded is not in_memory
        assert loaded.balances()["USDT"].total == 1234, "the file's account, not a new one"
        assert notice.isHidden() and not notice.standing
        journal = await brokers.journal()
        assert journal.persisted
    await brokers.shutdown()
    held.close()


async def test_on_a_real_exchange_the_bar_names_candle_history_too_and_stays_after_a_switch(
    launch: Launch, app_paths: AppPaths
) -> None:
    app_paths.config_file.write_text(DEAD_ACCOUNT, encoding="utf-8")
    path = default_path(app_paths)
    path.write_bytes(GARBAGE)
    held = HistoryFile(path)
    async with launch(history_file=held) as t:
        notice = t.window.notice
        await t.until(lambda: notice.isVisible() and notice.buttons, "the history file's problem")
        assert IN_MEMORY in notice.label.text()

        await t.window.switch_market("dead", "BTC/USDT")  # a Binance account nobody answers for
        text = notice.label.text()
        assert notice.isVisible() and "damaged" in text, "the problem outlives the switch"
        assert "Candle history, the paper account and the trading journal are kept in memory only" in text
        assert len(notice.buttons) == 2

        t.window.export_journal()  # another message covers the problem for a while
        assert notice.label.text() == "There is no trading journal in this window." and not notice.buttons
        notice.dismiss()
        assert notice.isVisible() and notice.label.text() == text and len(notice.buttons) == 2
        notice.dismiss()
        assert notice.isHidden(), "the user may put the problem itself away"
    held.close()
