"""The alerts and their firings in the history file: kept in the panel's order across
closing and opening the file, the history newest first and capped, and an older file
gains the tables on open (a read-only one of the revision before reads as having none)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from terminal.errors import StoreError
from terminal.store import CandleStore, migrations
from terminal.store.alerts import FIRED_KEPT, AlertRecords, FiredRecord
from terminal.store.database import connect

T = 1_700_000_000_000
PRICE = ("a1", '{"id": "a1", "kind": "price"}')
RSI = ("b2", '{"id": "b2", "kind": "indicator", "note": "RSI 14 > 70 ✓"}')
FEED = ("c3", '{"id": "c3", "kind": "feed"}')


def fire(records: AlertRecords, alert_id: str, ms: int, value: float | None = None) -> None:
    records.add_fired(
        alert_id, ms, f"{alert_id} fired", f"at {ms}", value=value, symbol="BTC/USDT", exchange="simulated"
    )


def test_alerts_and_firings_survive_closing_and_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        records = AlertRecords(store)
        records.replace_all([RSI, PRICE, FEED])
        fire(records, "a1", T, 64_000.5)
        fire(records, "b2", T + 60_000, 71.25)
        fire(records, "a1", T + 120_000, 63_999.0)
        fire(records, "c3", T + 180_000)  # a feed alert fires on no value
    with CandleStore(path) as store:
        records = AlertRecords(store)
        assert records.load() == [RSI, PRICE, FEED]
        assert records.fired() == [
            FiredRecord("c3", T + 180_000, "c3 fired", f"at {T + 180_000}", None, "BTC/USDT", "simulated"),
            FiredRecord(
                "a1", T + 120_000, "a1 fired", f"at {T + 120_000}", 63_999.0, "BTC/USDT", "simulated"
            ),
            FiredRecord("b2", T + 60_000, "b2 fired", f"at {T + 60_000}", 71.25, "BTC/USDT", "simulated"),
            FiredRecord("a1", T, "a1 fired", f"at {T}", 64_000.5, "BTC/USDT", "simulated"),
        ]
        assert records.last_fired() == {"a1": T + 120_000, "b2": T + 60_000, "c3": T + 180_000}


def test_put_adds_at_the_end_or_changes_in_place_and_delete_removes_one(store: CandleStore) -> None:
    records = AlertRecords(store)
    records.put(*PRICE)
    records.put(*RSI)
    changed = ("a1", '{"id": "a1", "kind": "price", "level": 2}')
    records.put(*changed)
    assert records.load() == [changed, RSI]  # changed where it stands
    records.put(*FEED)
    assert records.load() == [changed, RSI, FEED]

    assert records.delete("b2")
    assert not records.delete("b2")
    assert records.load() == [changed, FEED]


def test_deleting_an_alert_leaves_its_firings_and_clearing_leaves_the_alerts(store: CandleStore) -> None:
    records = AlertRecords(store)
    records.replace_all([PRICE, RSI])
    fire(records, "a1", T, 1.0)
    fire(records, "b2", T + 1, 2.0)
    records.delete("a1")
    assert [f.alert_id for f in records.fired()] == ["b2", "a1"]

    records.clear_fired()
    assert records.fired() == [] and records.last_fired() == {}
    assert records.load() == [RSI]
    fire(records, "b2", T + 2)  # the history starts again after a clear
    assert [f.fired_ms for f in records.fired()] == [T + 2]


def test_firings_are_listed_newest_first_by_time_limited_and_by_alert(store: CandleStore) -> None:
    records = AlertRecords(store)
    fire(records, "a1", T + 5)
    fire(records, "b2", T + 9)
    fire(records, "a1", T + 1)  # recorded late (a delivery that waited), listed by its time
    fire(records, "a1", T + 7)
    assert [(f.alert_id, f.fired_ms) for f in records.fired()] == [
        ("b2", T + 9),
        ("a1", T + 7),
        ("a1", T + 5),
        ("a1", T + 1),
    ]
    assert [f.fired_ms for f in records.fired(limit=2)] == [T + 9, T + 7]
    assert [f.fired_ms for f in records.fired(alert_id="a1")] == [T + 7, T + 5, T + 1]
    assert [f.fired_ms for f in records.fired(limit=1, alert_id="a1")] == [T + 7]
    assert records.last_fired() == {"a1": T + 7, "b2": T + 9}


def test_a_value_that_is_not_a_number_is_kept_as_none(store: CandleStore) -> None:
    records = AlertRecords(store)
    fire(records, "a1", T, float("nan"))
    fire(records, "a1", T + 1, float("inf"))
    assert [f.value for f in records.fired()] == [float("inf"), None]


def test_the_history_keeps_the_newest_firings_and_drops_the_oldest(store: CandleStore) -> None:
    records = AlertRecords(store, fired_kept=10)
    for i in range(25):
        fire(records, f"x{i % 3}", T + i, float(i))
    assert [f.fired_ms for f in records.fired(limit=100)] == [T + i for i in range(24, 14, -1)]
    with store.database.reading() as conn:
        assert conn.execute("SELECT count(*) FROM alert_fired").fetchone() == (10,)


def test_the_file_keeps_five_thousand_firings(store: CandleStore) -> None:
    records = AlertRecords(store)
    assert records.fired_kept == FIRED_KEPT == 5_000
    with store.database.writing() as conn:  # the first 4,999 at once: one transaction
        conn.executemany(
            "INSERT INTO alert_fired (alert_id, fired_ms, value, title, message, symbol, exchange) "
            "VALUES ('old', ?, NULL, 't', 'm', '', '')",
            [(T + i,) for i in range(FIRED_KEPT - 1)],
        )
    fire(records, "new", T + 10_000_000)  # the 5,000th: nothing is dropped yet
    assert len(records.fired(limit=10_000)) == FIRED_KEPT
    fire(records, "new", T + 10_000_001)
    fire(records, "new", T + 10_000_002)
    kept = records.fired(limit=10_000)
    assert len(kept) == FIRED_KEPT
    assert kept[-1].fired_ms == T + 2  # the two oldest went
    assert records.last_fired() == {"old": T + FIRED_KEPT - 2, "new": T + 10_000_002}


def test_a_read_only_file_refuses_to_save_and_keeps_what_it_had(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        AlertRecords(store).put(*PRICE)
    with CandleStore(path, read_only=True) as store:
        records = AlertRecords(store)
        with pytest.raises(StoreError, match="read-only"):
            records.put(*RSI)
        assert records.load() == [PRICE]


def test_a_revision_10_file_gains_the_tables_on_open_and_loses_them_on_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0010")  # as the release before left it
    with sqlite3.connect(path) as conn:
        assert migrations.read_revision(conn) == "0010"
    with CandleStore(path, read_only=True, check=False) as old:
        records = AlertRecords(old)  # read-only: no tables, no alerts, no history
        assert (records.load(), records.fired(), records.last_fired()) == ([], [], {})

    with CandleStore(path) as store:
        records = AlertRecords(store)
        records.put(*PRICE)
        fire(records, "a1", T, 5.0)
        assert records.load() == [PRICE]
        assert records.last_fired() == {"a1": T}
    with sqlite3.connect(path) as conn:
        assert migrations.read_revision(conn) == migrations.HEAD == "0011"
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0010")
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {"alert", "alert_fired"} & tables and "drawing" in tables
