"""The chart's drawings in the history file: kept per exchange and symbol, in drawing
order, across closing and opening the file; an older file gains the table on open;
a read-only file of the revision before reads as having none."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from terminal.errors import StoreError
from terminal.store import CandleStore, migrations
from terminal.store.database import connect
from terminal.store.drawings import DrawingRecord, DrawingStore

T = 1_700_000_000.0
LINE = DrawingRecord("a1", "hline", ((T, 64_000.5),), color="#f23645")
TREND = DrawingRecord("b2", "trend", ((T, 63_000.0), (T + 3600, 65_000.25)))
NOTE = DrawingRecord("c3", "note", ((T + 60, 64_100.0),), text="Breakout?\nwatch 65k ✓")


def test_drawings_survive_closing_and_reopening_the_file_in_their_order(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        DrawingStore(store).replace("binance", "BTC/USDT", [TREND, LINE, NOTE])
    with CandleStore(path) as store:
        assert DrawingStore(store).load("binance", "BTC/USDT") == [TREND, LINE, NOTE]


def test_each_market_keeps_its_own_drawings(store: CandleStore) -> None:
    drawings = DrawingStore(store)
    drawings.replace("binance", "BTC/USDT", [LINE, TREND])
    drawings.replace("binance", "ETH/USDT", [NOTE])
    drawings.replace("okx", "BTC/USDT", [TREND])

    drawings.replace("binance", "BTC/USDT", [TREND])  # a replace touches its market only
    assert drawings.load("binance", "BTC/USDT") == [TREND]
    assert drawings.load("binance", "ETH/USDT") == [NOTE]
    assert drawings.load("okx", "BTC/USDT") == [TREND]
    assert drawings.load("okx", "ETH/USDT") == []


def test_put_adds_on_top_or_changes_in_place_and_delete_removes_one(store: CandleStore) -> None:
    drawings = DrawingStore(store)
    drawings.put("binance", "BTC/USDT", LINE)
    drawings.put("binance", "BTC/USDT", TREND)
    moved = DrawingRecord(LINE.id, "hline", ((T, 64_321.0),), color="#089981")
    drawings.put("binance", "BTC/USDT", moved)
    assert drawings.load("binance", "BTC/USDT") == [moved, TREND]  # changed where it stands

    assert drawings.delete("binance", "BTC/USDT", LINE.id)
    assert not drawings.delete("binance", "BTC/USDT", LINE.id)
    assert not drawings.delete("binance", "ETH/USDT", TREND.id)  # another market's: not there
    assert drawings.load("binance", "BTC/USDT") == [TREND]


def test_a_point_that_is_not_a_number_is_refused_and_the_drawings_stay(store: CandleStore) -> None:
    drawings = DrawingStore(store)
    drawings.replace("binance", "BTC/USDT", [LINE])
    with pytest.raises(StoreError):
        drawings.replace("binance", "BTC/USDT", [DrawingRecord("x", "hline", ((T, float("nan")),))])
    assert drawings.load("binance", "BTC/USDT") == [LINE]  # the failed write changed nothing


def test_an_unreadable_row_is_left_out_and_the_others_load(store: CandleStore) -> None:
    drawings = DrawingStore(store)
    drawings.replace("binance", "BTC/USDT", [LINE, TREND])
    with store.database.writing() as conn:
        conn.execute("UPDATE drawing SET points = 'not json' WHERE id = ?", (LINE.id,))
    assert drawings.load("binance", "BTC/USDT") == [TREND]


def test_a_revision_9_file_gains_the_table_on_open_and_loses_it_on_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0009")  # as the release before left it
    with CandleStore(path, read_only=True, check=False) as old:
        assert DrawingStore(old).load("binance", "BTC/USDT") == []  # read-only: no table, no drawings

    with CandleStore(path) as store:
        DrawingStore(store).replace("binance", "BTC/USDT", [LINE])
        assert DrawingStore(store).load("binance", "BTC/USDT") == [LINE]
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0009")
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "drawing" not in tables
