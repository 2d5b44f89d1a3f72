"""The trading journal on a real history file: batched writes off the event
loop's thread, nothing lost on close or when the file refuses, filters,
atomic exports, and no secrets."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic_core import PydanticSerializationError

from terminal.errors import StoreError
from terminal.redaction import REDACTED, remember
from terminal.store.candles import CandleStore
from terminal.trading import OrderIntent, OrderSide, OrderType
from terminal.trading.journal import AccountJournal, JournalExportError, TradingJournal


def rows_on_disk(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM trading_journal").fetchone()[0])


def test_entries_are_written_in_batches_off_the_loop_and_none_is_lost_on_close(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = CandleStore(path)

    async def scenario() -> None:
        journal = TradingJournal(store)
        for n in range(2000):  # a burst, without yielding to the loop once
            journal.record("fill", "simulated", {"n": n}, client_order_id=f"t-{n % 7}", symbol="BTC/USDT")
        assert rows_on_disk(path) == 0  # record() never writes on the caller's thread
        await journal.close()

    asyncio.run(scenario())
    assert rows_on_disk(path) == 2000
    entries = TradingJournal(store).entries()
    assert [e.payload["n"] for e in entries] == list(range(2000))  # in recording order
    assert [e.id for e in entries] == list(range(1, 2001))
    store.close()


def test_a_refusing_file_keeps_the_entries_queued_and_readable_until_it_accepts(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    store = CandleStore(path, busy_timeout_s=0.05)
    journal = TradingJournal(store)
    journal.record("intent", "simulated", {"n": 1}, client_order_id="t-a")
    journal.flush_blocking()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    journal.record("request", "simulated", {"n": 2}, client_order_id="t-a")

    with pytest.raises(StoreError):
        journal.flush_blocking()
    waiting = journal.entries(client_order_id="t-a")  # the written one, then the queued one
    assert [(e.id, e.kind) for e in waiting] == [(1, "intent"), (None, "request")]

    other.execute("ROLLBACK")
    other.close()
    assert journal.flush_blocking() == 1
    assert [(e.id, e.kind) for e in journal.entries()] == [(1, "intent"), (2, "request")]
    store.close()


def test_filters_by_account_time_order_and_limit(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "history.sqlite")
    journal = TradingJournal(store)
    for n in range(10):
        journal.record("check", "simulated" if n % 2 else "binance", {"n": n}, client_order_id=f"t-{n}")
    journal.flush_blocking()

    assert [e.payload["n"] for e in journal.entries(account="simulated")] == [1, 3, 5, 7, 9]
    assert [e.payload["n"] for e in journal.entries(limit=3)] == [7, 8, 9]  # the newest, oldest first
    assert [e.payload["n"] for e in journal.entries(client_order_id="t-4")] == [4]
    since = journal.entries()[5].ts_ms
    assert all(e.ts_ms >= since for e in journal.entries(since_ms=since))
    assert journal.entries(since_ms=since + 10**9) == []
    store.close()


def test_payloads_keep_decimals_exact_and_enums_as_values(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "history.sqlite")
    journal = TradingJournal(store)
    intent = OrderIntent(
        "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.10000"), price=Decimal("64000.1")
    )
    journal.record("intent", "simulated", {"intent": intent}, intent.client_order_id, intent.symbol)

    (entry,) = journal.entries()
    assert entry.payload["intent"]["amount"] == "0.10000"
    assert entry.payload["intent"]["price"] == "64000.1"
    assert entry.payload["intent"]["side"] == "buy" and entry.payload["intent"]["type"] == "limit"
    with pytest.raises(ValueError, match="unknown journal entry kind"):
        journal.record("gossip", "simulated", {})
    store.close()


def test_a_known_secret_is_masked_even_if_a_caller_passes_it(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    secret = "JournalTestSecret-0123456789abcdefghijklmnopqrstuvwxyz"
    remember(secret)  # as the credentials module does for every key it handles
    store = CandleStore(path)
    journal = TradingJournal(store)
    journal.record("error", "binance", {"error": f"signature {secret} refused", "info": {"k": secret}})
    journal.flush_blocking()
    store.close()

    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT payload FROM trading_journal").fetchone()[0]
    assert secret not in stored and REDACTED in stored
    assert secret.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())


def test_without_a_file_the_journal_lives_in_memory() -> None:
    journal = TradingJournal(None, memory_limit=5)
    assert journal.persisted is False
    for n in range(8):
        journal.record("fill", "simulated", {"n": n})
    assert [e.payload["n"] for e in journal.entries()] == [3, 4, 5, 6, 7]  # the newest are kept
    assert [e.id for e in journal.entries(limit=2)] == [7, 8]
    asyncio.run(journal.close())


def test_a_journal_in_memory_moves_into_a_file_that_opens_later_in_recording_order(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"

    async def scenario() -> None:
        journal = TradingJournal(None)  # the history file could not be opened at first
        for n in range(3):
            journal.record("fill", "simulated", {"n": n})
        with CandleStore(path, read_only=False) as store, CandleStore(path, read_only=True) as looking:
            assert not journal.use_store(looking), "a read-only file is no place for it"
            assert journal.use_store(store) and journal.persisted
            assert not journal.use_store(store)
            journal.record("fill", "simulated", {"n": 3})
            await journal.close()
            assert [e.payload["n"] for e in journal.entries()] == [0, 1, 2, 3]

    asyncio.run(scenario())
    assert rows_on_disk(path) == 4


def test_exports_are_atomic_and_a_failed_one_leaves_no_file(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "history.sqlite")
    journal = TradingJournal(store)
    journal.record("reset", "simulated", {"why": "start over"})
    target = tmp_path / "out" / "journal.json"  # its folder does not exist

    with pytest.raises(JournalExportError) as caught:
        journal.export_json(target)
    assert "journal.json" in caught.value.user_message()
    assert not target.parent.exists()

    good = tmp_path / "journal.json"
    good.write_text("the previous export", encoding="utf-8")
    assert journal.export_json(good) == 1
    assert json.loads(good.read_text(encoding="utf-8"))["entries"][0]["payload"] == {"why": "start over"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".sqlite" and "sqlite" not in p.name) == [
        "journal.json"
    ]  # no temporary file left
    store.close()


def test_a_broker_writes_its_account_s_entries_through_an_account_journal(tmp_path: Path) -> None:
    store = CandleStore(tmp_path / "history.sqlite")
    journal = TradingJournal(store)
    live = AccountJournal(journal, "binance-main", "live")  # what the live broker writes with
    live.record("request", {"order": {"amount": "0.01"}}, "t-live", "BTC/USDT")
    journal.record("request", "simulated", {"order": {}}, "t-paper", "BTC/USDT", broker="paper")
    AccountJournal(None, "nowhere", "live").record("intent", {})  # no journal: nothing, no error

    assert [(e.account, e.broker, e.client_order_id) for e in journal.entries()] == [
        ("binance-main", "live", "t-live"),
        ("simulated", "paper", "t-paper"),
    ]
    store.close()


def test_an_account_journal_raises_only_what_must_be_recorded(caplog: pytest.LogCaptureFixture) -> None:
    journal = TradingJournal(None)
    live = AccountJournal(journal, "binance-main", "live")
    unwritable = {"order": object()}  # not JSON: the journal refuses it
    live.record("response", unwritable, "t-1")  # an order step goes on: the failure is logged
    assert "could not record response for t-1" in caplog.text
    with pytest.raises(PydanticSerializationError):
        live.record("intent", unwritable, "t-2", required=True)  # an intent not recorded is not sent
    assert journal.entries() == []
