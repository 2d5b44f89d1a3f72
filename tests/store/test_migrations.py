"""Schema migrations: a database made by the previous schema opens in this
terminal with its data, the chain of revisions matches the models, and a
failed upgrade changes nothing."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, select

from terminal.errors import StoreError
from terminal.marketdata.candles import OHLCV
from terminal.store import CandleStore, Database, migrations
from terminal.store import chunks as layout
from terminal.store.database import connect
from terminal.store.schema import METADATA, CandleSeries, Instrument, NoTradeGap, SyncState

T0 = 1_700_006_400_000
MINUTE = 60_000
DAY = 1440 * MINUTE


def opener(path: Path):
    return lambda: connect(path, foreign_keys=False)


def revision_of(path: Path) -> str | None:
    with sqlite3.connect(path) as conn:
        return migrations.read_revision(conn)


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def revision_1_file(path: Path, data: OHLCV) -> None:
    """A file as the first schema left it: candles written the way revision 1 stored them."""
    migrations.upgrade(opener(path), "0001")
    m = layout.to_matrix(data)
    ts = layout.open_times(m)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO instrument (id, exchange, symbol) VALUES (1, 'binance', 'BTC/USDT')")
        conn.execute(
            "INSERT INTO candle_series (id, instrument_id, timeframe, timeframe_ms, chunk_ms) "
            "VALUES (1, 1, '1m', ?, ?)",
            (MINUTE, DAY),
        )
        conn.executemany(
            "INSERT INTO candle_chunk (series_id, chunk_start, first_ts, last_ts, candles, codec, data) "
            "VALUES (1, ?, ?, ?, ?, 0, ?)",
            [
                (start, int(ts[a]), int(ts[b - 1]), b - a, bytes(layout.encode(m, a, b)))
                for start, a, b in layout.split(m, DAY)
            ],
        )


def sample(n: int = 4000) -> OHLCV:
    rng = np.random.default_rng(3)
    ts = T0 + MINUTE * np.arange(n, dtype=np.int64)
    return OHLCV(ts, *(rng.uniform(1, 2, n) for _ in range(5)))


def test_the_revision_chain_ends_at_head_and_lists_every_revision() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert script.get_heads() == [migrations.HEAD]
    chain = [rev.revision for rev in script.walk_revisions()]  # newest first
    assert tuple(reversed(chain)) == migrations.REVISIONS


def test_the_migrated_schema_is_exactly_the_models(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    Database(path).close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), METADATA)
    engine.dispose()
    assert diff == []


def test_a_revision_1_file_with_candles_upgrades_to_head_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    data = sample()
    revision_1_file(path, data)
    assert revision_of(path) == "0001"
    assert "listed_since_ms" not in columns(path, "instrument")

    with CandleStore(path) as store:
        back = store.read("binance", "BTC/USDT", "1m")
        assert np.array_equal(back.ts, data.ts)
        assert all(np.array_equal(getattr(back, c), getattr(data, c)) for c in ("open", "close", "volume"))
        assert store.verify() == []
        # what revision 2 added works, next to the old rows
        with Session(store.database.engine()) as session:
            instrument = session.exec(select(Instrument)).one()
            assert (instrument.id, instrument.symbol, instrument.listed_since_ms) == (1, "BTC/USDT", None)
            instrument.listed_since_ms = T0
            session.add(SyncState(series_id=1, direction="forward", cursor_ms=int(data.ts[-1]) + MINUTE))
            session.add(
                NoTradeGap(series_id=1, first_missing_ts=T0 - DAY, last_missing_ts=T0 - MINUTE, checked_ms=1)
            )
            session.commit()
        # writing more into the upgraded file merges with the old chunks
        store.write("binance", "BTC/USDT", "1m", sample(6000).slice(3000, 6000))
        assert len(store.read("binance", "BTC/USDT", "1m")) == 6000
    assert revision_of(path) == migrations.HEAD

    with CandleStore(path) as store:
        with Session(store.database.engine()) as session:
            assert session.exec(select(Instrument.listed_since_ms)).one() == T0
            assert session.exec(select(SyncState.cursor_ms)).one() == int(data.ts[-1]) + MINUTE
        # deleting a series takes its sync state and known gaps with it (foreign keys on)
        store.delete("binance", "BTC/USDT", "1m")
        with Session(store.database.engine()) as session:
            assert session.exec(select(SyncState)).all() == []
            assert session.exec(select(NoTradeGap)).all() == []


def test_a_downgrade_to_revision_1_keeps_the_candles_and_upgrades_again(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    data = sample(3000)
    with CandleStore(path) as store:
        store.write("x", "A/B", "1m", data)
    migrations.downgrade(opener(path), "0001")
    assert revision_of(path) == "0001"
    with sqlite3.connect(path) as conn:
        assert "sync_state" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    with CandleStore(path) as store:
        assert np.array_equal(store.read("x", "A/B", "1m").close, data.close)
    assert revision_of(path) == migrations.HEAD


def test_a_failed_upgrade_leaves_the_file_at_its_old_revision_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    revision_1_file(path, sample(2000))
    with sqlite3.connect(path) as conn:  # a table in the way of revision 2: its CREATE fails
        conn.execute("CREATE TABLE no_trade_gap (anything TEXT)")
    with pytest.raises(StoreError, match="could not be brought up to date"):
        CandleStore(path)
    assert revision_of(path) == "0001"
    # revision 2's first step (a new column) was rolled back with the rest
    assert "listed_since_ms" not in columns(path, "instrument")
    engine = create_engine(f"sqlite:///{path}")
    assert "sync_state" not in inspect(engine).get_table_names()
    engine.dispose()
    with CandleStore(path, read_only=True) as store:  # still readable as it was
        assert len(store.read("binance", "BTC/USDT", "1m")) == 2000


def test_a_revision_3_file_upgrades_to_head_keeping_its_candles_and_sync_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    data = sample(3000)
    with CandleStore(path) as store:
        store.write("binance", "BTC/USDT", "1m", data)
        with Session(store.database.engine()) as session:
            series_id = session.exec(select(CandleSeries.id)).one()
            assert series_id is not None
            session.add(
                SyncState(
                    series_id=series_id,
                    direction="backward",
                    cursor_ms=T0,
                    status="failed",
                    message="The exchange did not answer.",
                    done=1200,
                    total=5000,
                )
            )
            session.add(
                NoTradeGap(
                    series_id=series_id, first_missing_ts=T0 - DAY, last_missing_ts=T0 - 1, checked_ms=7
                )
            )
            session.commit()
    migrations.downgrade(opener(path), "0003")  # the file as the previous release left it
    assert revision_of(path) == "0003"
    with sqlite3.connect(path) as conn:
        assert "backtest_run" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}

    with CandleStore(path) as store:
        assert revision_of(path) == migrations.HEAD
        back = store.read("binance", "BTC/USDT", "1m")
        assert np.array_equal(back.ts, data.ts) and np.array_equal(back.close, data.close)
        assert store.verify() == []
        with Session(store.database.engine()) as session:
            sync = session.exec(select(SyncState)).one()
            assert (sync.direction, sync.cursor_ms, sync.status) == ("backward", T0, "failed")
            assert (sync.done, sync.total) == (1200, 5000)  # revision 0003's columns
            assert sync.message == "The exchange did not answer."
            gap = session.exec(select(NoTradeGap)).one()
            assert (gap.first_missing_ts, gap.last_missing_ts, gap.checked_ms) == (T0 - DAY, T0 - 1, 7)
    with sqlite3.connect(path) as conn:  # revision 0004's table is there, empty
        assert conn.execute("SELECT count(*) FROM backtest_run").fetchone() == (0,)


def test_a_revision_4_file_upgrades_to_head_keeping_its_candles_and_backtest_runs(tmp_path: Path) -> None:
    from terminal.backtest.run_store import RunStore
    from terminal.backtest.runner import run_backtest
    from terminal.store.market_records import MarketRecord, SimulatedMarkets
    from terminal.trading.journal import TradingJournal
    from terminal.trading.paper.store import PaperAccountStore

    path = tmp_path / "history.sqlite"
    data = sample(3000)
    result = run_backtest(data, "sma_cross", {"fast": 10, "slow": 20})
    with CandleStore(path) as store:
        store.write("binance", "BTC/USDT", "1m", data)
        run_id = RunStore(store).save(result, exchange="binance", symbol="BTC/USDT", timeframe="1m")
    migrations.downgrade(opener(path), "0004")  # the file as the previous release left it
    assert revision_of(path) == "0004"
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "backtest_run" in tables and not {"paper_account", "trading_journal"} & tables

    with CandleStore(path) as store:
        assert revision_of(path) == migrations.HEAD == "0011"
        back = store.read("binance", "BTC/USDT", "1m")
        assert np.array_equal(back.ts, data.ts) and np.array_equal(back.close, data.close)
        assert store.verify() == []
        saved = RunStore(store).load(run_id)
        assert saved.summary.strategy == "sma_cross" and saved.summary.bars == len(data)
        assert np.array_equal(saved.result.equity, result.equity)
        # revision 0005's tables are there and work next to the old rows
        states = PaperAccountStore(store)
        assert states.load("simulated") is None
        states.save("simulated", '{"format": 1}', 1)
        assert states.load("simulated") == '{"format": 1}'
        journal = TradingJournal(store)
        journal.record("reset", "simulated", {"why": "first start after the upgrade"})
        assert [e.kind for e in journal.entries()] == ["reset"]
        # revision 0006's table: the simulated market's identity
        markets = SimulatedMarkets(store)
        assert markets.load("simulated") is None
        markets.save(MarketRecord("simulated", seed=7, started_ms=1, saved_ms=2))
        assert markets.load("simulated") == MarketRecord("simulated", 7, 1, 2)


def test_a_revision_7_file_upgrades_to_head_keeping_its_runs_and_keeps_strategy_versions(
    tmp_path: Path,
) -> None:
    from terminal.backtest.run_store import RunStore
    from terminal.backtest.runner import run_backtest
    from terminal.backtest.strategy_versions import StrategyVersions

    path = tmp_path / "history.sqlite"
    data = sample(2000)
    result = run_backtest(data, "sma_cross", {"fast": 5, "slow": 30})
    with CandleStore(path) as store:
        run_id = RunStore(store).save(
            result, exchange="x", symbol="A/B", timeframe="1m", source_hash="f" * 64
        )
    migrations.downgrade(opener(path), "0007")  # the file as the previous release left it
    assert revision_of(path) == "0007"
    assert "strategy_version" not in {
        r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")
    }

    with CandleStore(path) as store:
        assert revision_of(path) == migrations.HEAD == "0011"
        assert RunStore(store).load(run_id).summary.source_hash == "f" * 64
        versions = StrategyVersions(store)
        assert versions.record("sma_cross", "f" * 64, "class S: ...\n", "/s/mine.py")
        versions.set_note("sma_cross", "f" * 64, "kept")
        [version] = versions.list("sma_cross")
        assert (version.runs, version.note, version.path) == (1, "kept", "/s/mine.py")  # the old run counts
    migrations.downgrade(opener(path), "0007")  # and back: the runs stay, the versions go
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM backtest_run").fetchone() == (1,)


def test_files_opened_at_once_from_several_threads_all_reach_head(tmp_path: Path) -> None:
    """alembic's context is per process: two migrations at once used to fail
    (a chart's worker and a panel opening history files together)."""
    problems: list[str] = []

    def open_one(i: int) -> None:
        try:
            CandleStore(tmp_path / f"history-{i}.sqlite").close()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            problems.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=open_one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert all(revision_of(tmp_path / f"history-{i}.sqlite") == migrations.HEAD for i in range(6))
