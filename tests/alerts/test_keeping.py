"""The alerts and their history kept across a restart in a real history file: what was
saved comes back validated and in order, a row that no longer reads is kept untouched and
reported, and without a file the same calls keep everything in memory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from terminal.alerts.keeping import AlertBook
from terminal.alerts.rules import (
    Alert,
    Delivery,
    Direction,
    Firing,
    IndicatorCondition,
    OrderEvent,
    PriceCross,
    Sound,
    Trigger,
)
from terminal.store import CandleStore, migrations
from terminal.store.alerts import FIRED_KEPT
from terminal.store.database import connect

T = 1_700_000_000_000
PRICE = Alert(
    exchange="simulated",
    symbol="BTC/USDT",
    condition=PriceCross(level=64_000.5, direction=Direction.UP),
    trigger=Trigger.EVERY,
    note="Breakout ✓",
    created_ms=T,
)
RSI = Alert(
    exchange="binance",
    symbol="ETH/USDT",
    condition=IndicatorCondition(expression="RSI 14 > 70", timeframe="15m"),
    trigger=Trigger.ONCE_PER_BAR,
    timeframe="15m",
    expires_ms=T + 86_400_000,
    delivery=Delivery(sound=Sound(kind="file", path="/home/me/ding.wav"), webhooks=("telegram", "desk chat")),
    created_ms=T + 1,
)
ORDERS = Alert(condition=OrderEvent(outcomes=("rejected",)), enabled=False, created_ms=T + 2)


def firing(alert: Alert, ms: int, value: float | None = None) -> Firing:
    return Firing(
        alert_id=alert.id,
        fired_ms=ms,
        title=f"{alert.symbol or 'Orders'}",
        message=f"fired at {value}",
        value=value,
        symbol=alert.symbol,
        exchange=alert.exchange,
    )


def bodies(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, body FROM alert"))


def test_alerts_and_their_history_are_found_again_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    fired = [firing(PRICE, T + 60_000, 64_000.75), firing(RSI, T + 90_000, 71.5), firing(ORDERS, T + 95_000)]
    with CandleStore(path) as store:
        book = AlertBook(store)
        assert book.persisted
        for alert in (PRICE, RSI, ORDERS):
            book.save(alert)
        for one in fired:
            book.record(one)
        book.save(PRICE.model_copy(update={"enabled": False}))  # a change keeps its place

    with CandleStore(path) as store:  # the next start: a new store on the same file
        book = AlertBook(store)
        alerts, last = book.load()
        assert alerts == [PRICE.model_copy(update={"enabled": False}), RSI, ORDERS]
        assert book.problems == []
        assert last == {PRICE.id: T + 60_000, RSI.id: T + 90_000, ORDERS.id: T + 95_000}
        assert book.history() == list(reversed(fired))
        assert book.history(limit=1) == [fired[-1]]

        assert book.delete(RSI.id)
        assert not book.delete(RSI.id)
        book.clear_history()
    with CandleStore(path) as store:
        book = AlertBook(store)
        assert book.load() == ([PRICE.model_copy(update={"enabled": False}), ORDERS], {})
        assert book.history() == []


def test_the_file_holds_each_alert_as_its_model_writes_it_webhooks_by_name(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        AlertBook(store).save(RSI)
    body = bodies(path)[RSI.id]
    assert body == RSI.to_json()
    assert '"webhooks":["telegram","desk chat"]' in body  # the names; their URLs live in the keyring
    assert "http" not in body


def test_a_row_that_no_longer_reads_is_kept_untouched_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        book = AlertBook(store)
        for alert in (PRICE, RSI, ORDERS):
            book.save(alert)
    damaged = RSI.to_json().replace('"RSI 14 > 70"', '"RSI 14 > 70", "colour": "red"')
    wrong_level = PRICE.to_json().replace("64000.5", "-3.0")
    with sqlite3.connect(path) as conn:  # as a newer terminal or a hand edit might leave them
        conn.execute("UPDATE alert SET body = ? WHERE id = ?", (damaged, RSI.id))
        conn.execute("UPDATE alert SET body = ? WHERE id = ?", (wrong_level, PRICE.id))

    with CandleStore(path) as store:
        book = AlertBook(store)
        alerts, _ = book.load()
        assert alerts == [ORDERS]
        assert len(book.problems) == 2
        price_problem, rsi_problem = book.problems
        assert price_problem == (
            f"Alert {PRICE.id} could not be read: condition.price.level: The price level must be a "
            "positive number, not -3. It stays in the history file unchanged and is not watched."
        )
        assert rsi_problem.startswith(f"Alert {RSI.id} could not be read: condition.indicator.colour")
        # saving, changing and deleting the others leaves the unreadable rows as they were
        new = Alert(exchange="okx", symbol="SOL/USDT", condition=PriceCross(level=150.0))
        book.save(new)
        book.save(ORDERS.model_copy(update={"enabled": True}))
        book.record(firing(PRICE, T, 64_001.0))
        assert book.delete(new.id)
    kept = bodies(path)
    assert kept[RSI.id] == damaged and kept[PRICE.id] == wrong_level

    with CandleStore(path) as store:  # and the next start reports them again
        book = AlertBook(store)
        alerts, last = book.load()
        assert alerts == [ORDERS.model_copy(update={"enabled": True})]
        assert len(book.problems) == 2
        assert last == {PRICE.id: T}  # its history is not lost either


def test_a_row_that_is_not_json_or_names_another_alert_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    with CandleStore(path) as store:
        book = AlertBook(store)
        book.save(PRICE)
        book.save(RSI)
        with store.database.writing() as conn:
            conn.execute("UPDATE alert SET body = ? WHERE id = ?", ("{not json", PRICE.id))
            conn.execute("UPDATE alert SET body = ? WHERE id = ?", (ORDERS.to_json(), RSI.id))
        assert book.load() == ([], {})
        assert book.problems[0].startswith(f"Alert {PRICE.id} could not be read: Invalid JSON")
        assert book.problems[1] == (
            f"Alert {RSI.id} could not be read: its text names another alert, {ORDERS.id}. "
            "It stays in the history file unchanged and is not watched."
        )
        book.save(PRICE)  # saving the alert again repairs its row
        assert book.load() == ([PRICE], {})
        assert len(book.problems) == 1


def test_a_file_from_the_release_before_alerts_gains_them_on_open(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    CandleStore(path).close()
    migrations.downgrade(lambda: connect(path, foreign_keys=False), "0010")  # no alert tables
    with CandleStore(path) as store:
        book = AlertBook(store)
        assert book.load() == ([], {})
        book.save(PRICE)
        book.record(firing(PRICE, T, 64_000.5))
    with CandleStore(path) as store:
        assert AlertBook(store).load() == ([PRICE], {PRICE.id: T})


def test_without_a_history_file_the_same_calls_keep_everything_in_memory() -> None:
    book = AlertBook(None)
    assert not book.persisted
    for alert in (PRICE, RSI, ORDERS):
        book.save(alert)
    moved = PRICE.model_copy(update={"note": "moved"})
    book.save(moved)
    assert book.delete(RSI.id) and not book.delete(RSI.id)
    late = firing(PRICE, T + 5, 1.0)
    book.record(firing(PRICE, T + 7, 2.0))
    book.record(firing(ORDERS, T + 7))
    book.record(late)  # recorded last, fired earlier
    alerts, last = book.load()
    assert alerts == [moved, ORDERS]
    assert last == {PRICE.id: T + 7, ORDERS.id: T + 7}
    assert book.history() == [firing(ORDERS, T + 7), firing(PRICE, T + 7, 2.0), late]
    assert book.history(limit=1) == [firing(ORDERS, T + 7)]

    for i in range(FIRED_KEPT + 3):
        book.record(firing(RSI, T + 1_000 + i))
    kept = book.history(limit=FIRED_KEPT + 10)
    assert len(kept) == FIRED_KEPT and kept[-1].fired_ms == T + 1_003  # the oldest went first
    book.clear_history()
    assert book.history() == [] and book.load() == ([moved, ORDERS], {})
