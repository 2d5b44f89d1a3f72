"""Local history store benchmarks: write and read 1,000,000 1-minute candles.

    .venv/bin/python benchmarks/bench_store.py [--quick] [--full-core] [--page-sizes]

Targets (issue 4, this machine): write 1,000,000 candles <= 1.0 s; read
1,000,000 candles into numpy arrays <= 0.15 s. Ours is ``CandleStore``
(columnar day chunks in one SQLite file); the references, measured in the
same run, each into its own fresh file on the same pragmas (WAL,
synchronous=NORMAL, 16 KiB pages): raw sqlite3 with a row per candle
(``executemany``; ``fetchall`` + numpy), SQLAlchemy Core rows (200,000, x5;
``--full-core``: all), SQLModel ORM objects (20,000, extrapolated x50), and
parquet when pyarrow is importable (not a dependency). Reads: "new
connection" is a fresh store's first read (OS file cache warm); "cold" first
evicts the file from the OS cache (fsync + posix_fadvise DONTNEED); "new
process" is a child's own time from before ``import terminal.store`` to the
end of the read. Method and figures: docs/performance.md, section 6.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _common
import numpy as np
from _common import Samples, mean, ms, print_table, summary, synthetic_ohlcv, timed, verdict

from terminal.marketdata.candles import OHLCV, CandleSeries
from terminal.store import CandleStore, database
from terminal.store.database import PAGE_SIZE

N = 1_000_000
WRITE_TARGET_S = 1.0
READ_TARGET_S = 0.15
CHART_TARGET_S = 1.0
KEY = ("binance", "BTC/USDT", "1m")
NAMES = ("ts", "open", "high", "low", "close", "volume")
OURS_CASES = ("write", "close", "new", "warm", "cold", "open", "chart", "size", "process")
CHILD = f"""import sys, time
t0 = time.perf_counter()
from terminal.store import CandleStore
with CandleStore(sys.argv[1]) as store:
    assert len(store.read(*{KEY!r})) == {N}
print(time.perf_counter() - t0)"""
ROW_TABLE = """CREATE TABLE candle (exchange TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL,
 ts INTEGER NOT NULL, open REAL, high REAL, low REAL, close REAL, volume REAL)"""
ROW_INDEX = "CREATE UNIQUE INDEX candle_key ON candle (exchange, symbol, timeframe, ts)"
ROW_INSERT = "INSERT OR REPLACE INTO candle VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
ROW_SELECT = (
    "SELECT ts, open, high, low, close, volume FROM candle "
    "WHERE exchange = ? AND symbol = ? AND timeframe = ? ORDER BY ts"
)


class Workdir:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench_store_"))
        self.n = 0

    def fresh(self, name: str) -> Path:
        self.n += 1
        return self.root / f"{name}-{self.n}.sqlite"


def evict(path: Path) -> None:
    """Drop the file's pages from the OS cache (no root needed for one file)."""
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            fd = os.open(file, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def py_rows(part: OHLCV) -> Iterator[tuple[Any, ...]]:
    """(ts, open, high, low, close, volume) tuples of Python numbers (timed as part of a write)."""
    return zip(*(getattr(part, n).tolist() for n in NAMES), strict=True)


def same(a: OHLCV, b: OHLCV) -> bool:
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in NAMES)


# -- ours --------------------------------------------------------------------------
def ours(work: Workdir, data: OHLCV, repeats: int, compress: bool = False) -> dict[str, Samples]:
    res = {k: Samples() for k in OURS_CASES}
    for _ in range(repeats):
        path = work.fresh("ours")
        store = CandleStore(path, compress=compress)
        timed(lambda s=store: s.write(*KEY, data), res["write"])
        timed(store.close, res["close"])  # the last connection out checkpoints what is left in the WAL
        res["size"].append(path.stat().st_size)
    for _ in range(repeats):
        with CandleStore(path) as store:
            back = timed(lambda s=store: s.read(*KEY), res["new"])
            assert isinstance(back, OHLCV) and same(back, data), "ours read back different candles"
            for _ in range(3):
                timed(lambda s=store: s.read(*KEY), res["warm"])
        evict(path)
        with CandleStore(path, check=False) as store:
            timed(lambda s=store: s.read(*KEY), res["cold"])
        # the store's part of opening a chart: open the file, read, fill the series
        series = CandleSeries(60_000)

        def chart_open(series: CandleSeries = series) -> None:
            with CandleStore(path) as store:
                series.replace(store.read(*KEY))

        timed(chart_open, res["chart"])

        timed(lambda: CandleStore(path).close(), res["open"])
        child = [sys.executable, "-c", CHILD, str(path)]
        out = subprocess.run(child, capture_output=True, text=True, check=True, cwd=_common.ROOT).stdout
        res["process"].append(float(out))
    return res


def ours_updates(work: Workdir, data: OHLCV, repeats: int) -> dict[str, Samples]:
    """Writes into a store that already holds the 1M candles."""
    res = {k: Samples() for k in ("upsert_all", "page", "live", "day")}
    path = work.fresh("ours-upd")
    with CandleStore(path) as store:
        store.write(*KEY, data)
        last = int(data.ts[-1])
        for i in range(repeats):
            timed(lambda: store.write(*KEY, data), res["upsert_all"])
            page = synthetic_ohlcv(1000, seed=10 + i)
            page = OHLCV(
                last + 60_000 * (1 + i * 1000 + np.arange(1000)), *(getattr(page, n) for n in NAMES[1:])
            )
            timed(lambda p=page: store.write(*KEY, p), res["page"])
        last = int(store.coverage()[0].last_ts)
        for i in range(20):
            one = OHLCV(np.array([last + 60_000 * (i + 1)]), *(np.array([100.0]) for _ in NAMES[1:]))
            timed(lambda o=one: store.write(*KEY, o), res["live"])
            timed(lambda: store.read(*KEY, last - 86_400_000, last + 60_000), res["day"])
        assert store.verify() == []
    return res


def page_sizes(work: Workdir, data: OHLCV, repeats: int) -> list[tuple[str, ...]]:
    """Ours with other SQLite page sizes (the size is fixed when a file is created)."""
    rows = []
    try:
        for size in (4096, 16_384, 65_536):
            database.PAGE_SIZE = size
            res = ours(work, data, repeats)
            shipped = " (shipped)" if size == PAGE_SIZE else ""
            cells = [summary(res[k]) for k in ("write", "close", "new", "cold")]
            rows.append((f"{size // 1024} KiB pages{shipped}", *cells, f"{mean(res['size']) / 1e6:.1f} MB"))
    finally:
        database.PAGE_SIZE = PAGE_SIZE
    return rows


# -- references -----------------------------------------------------------------------
def row_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def sqlite_rows(work: Workdir, data: OHLCV, repeats: int) -> dict[str, Samples]:
    res = {"write": Samples(), "read": Samples(), "size": Samples()}
    for _ in range(repeats):
        path = work.fresh("rows")
        conn = row_connection(path)
        conn.execute(ROW_TABLE)
        conn.execute(ROW_INDEX)

        def write(conn: sqlite3.Connection = conn) -> None:
            conn.execute("BEGIN")
            conn.executemany(ROW_INSERT, (KEY + r for r in py_rows(data)))
            conn.execute("COMMIT")

        timed(write, res["write"])
        conn.close()
        res["size"].append(path.stat().st_size)
    for _ in range(max(1, repeats - 1)):
        conn = row_connection(path)

        def read(conn: sqlite3.Connection = conn) -> OHLCV:
            arr = np.array(conn.execute(ROW_SELECT, KEY).fetchall(), dtype=np.float64)
            return OHLCV(arr[:, 0].astype(np.int64), *(np.ascontiguousarray(arr[:, i]) for i in range(1, 6)))

        back = timed(read, res["read"])
        assert isinstance(back, OHLCV) and same(back, data)
        conn.close()
    return res


def engine_for(path: Path) -> Any:
    """A SQLAlchemy engine on the same pragmas as ours (WAL, NORMAL, 16 KiB pages)."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        for pragma in (f"page_size = {PAGE_SIZE}", "journal_mode = WAL", "synchronous = NORMAL"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    return engine


def sqlalchemy_core(work: Workdir, data: OHLCV, n: int) -> Samples:
    from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert

    meta = MetaData()
    table = Table(
        "candle",
        meta,
        Column("exchange", String, primary_key=True),
        Column("symbol", String, primary_key=True),
        Column("timeframe", String, primary_key=True),
        Column("ts", Integer, primary_key=True),
        *(Column(name, Float) for name in NAMES[1:]),
    )
    engine = engine_for(work.fresh("core"))
    meta.create_all(engine)
    part = data.slice(0, n)
    out = Samples()

    def write() -> None:
        key = dict(zip(("exchange", "symbol", "timeframe"), KEY, strict=True))
        rows = [{**key, **dict(zip(NAMES, r, strict=True))} for r in py_rows(part)]
        with engine.begin() as conn:
            conn.execute(insert(table), rows)

    timed(write, out)
    engine.dispose()
    return out


def sqlmodel_orm(work: Workdir, data: OHLCV, n: int) -> Samples:
    from sqlmodel import Field, Session, SQLModel

    class BenchCandle(SQLModel, table=True):
        __tablename__ = "bench_candle"
        exchange: str = Field(primary_key=True)
        symbol: str = Field(primary_key=True)
        timeframe: str = Field(primary_key=True)
        ts: int = Field(primary_key=True)
        open: float
        high: float
        low: float
        close: float
        volume: float

    engine = engine_for(work.fresh("orm"))
    BenchCandle.__table__.create(engine)  # type: ignore[attr-defined]
    part = data.slice(0, n)
    out = Samples()

    def write() -> None:
        key = dict(zip(("exchange", "symbol", "timeframe"), KEY, strict=True))
        with Session(engine) as session:
            session.add_all(BenchCandle(**key, **dict(zip(NAMES, r, strict=True))) for r in py_rows(part))
            session.commit()

    timed(write, out)
    engine.dispose()
    return out


def parquet(work: Workdir, data: OHLCV, repeats: int) -> dict[str, Samples] | None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return None
    path = work.root / "candles.parquet"
    res = {"write": Samples(), "read": Samples()}
    for _ in range(repeats):
        timed(lambda: pq.write_table(pa.table({n: getattr(data, n) for n in NAMES}), path), res["write"])
        timed(lambda: [c.to_numpy() for c in pq.read_table(path).columns], res["read"])
    return res


# -- report -------------------------------------------------------------------------------
def row(
    case: str, ours: Samples, ref: str = "-", target_s: float | None = None, note: str = ""
) -> tuple[str, ...]:
    if target_s is None:
        return (case, summary(ours), ref, "-", "n/a")
    return (case, summary(ours), ref, f"<= {ms(target_s)}", verdict(mean(ours) <= target_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller reference samples")
    parser.add_argument("--full-core", action="store_true", help="SQLAlchemy Core on all 1,000,000 candles")
    parser.add_argument("--page-sizes", action="store_true", help="also ours with 4, 16 and 64 KiB pages")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    core_n = N if args.full_core else 200_000
    orm_n = 5_000 if args.quick else 20_000

    print("Machine:", _common.machine())
    print(f"SQLite {sqlite3.sqlite_version}; files in {tempfile.gettempdir()}; {N:,} 1-minute candles")
    data = synthetic_ohlcv(N)
    work = Workdir()
    try:
        o = ours(work, data, repeats)
        z = ours(work, data, max(1, repeats // 2), compress=True)
        upd = ours_updates(work, data, repeats)
        rows = sqlite_rows(work, data, max(2, repeats // 2))
        core = sqlalchemy_core(work, data, core_n)
        orm = sqlmodel_orm(work, data, orm_n)
        pq = parquet(work, data, repeats)
        layouts = page_sizes(work, data, max(2, repeats // 2)) if args.page_sizes else []
    finally:
        shutil.rmtree(work.root, ignore_errors=True)

    core_scale, orm_scale = N / core_n, N / orm_n
    core_how = "measured" if core_n == N else f"{core_n:,} measured, x{core_scale:g}"
    core_ref = f"{ms(mean(core) * core_scale)} ({core_how})"
    orm_ref = f"{ms(mean(orm) * orm_scale)} (extrapolated from {orm_n:,}: {ms(mean(orm))})"
    pq_write, pq_read = (summary(pq["write"]), summary(pq["read"])) if pq else ("not installed",) * 2
    w, r = ms(mean(o["write"])), ms(mean(o["new"]))
    rows_w, rows_r = (
        f"sqlite3 row per candle: {summary(rows['write'])}",
        f"sqlite3 fetchall + numpy: {summary(rows['read'])}",
    )
    print_table(
        "6. Local history store: 1,000,000 1-minute candles",
        [
            row("write 1M (fresh file, one transaction)", o["write"], rows_w, WRITE_TARGET_S),
            row("write 1M: SQLAlchemy Core rows", o["write"], core_ref, WRITE_TARGET_S),
            row("write 1M: SQLModel ORM objects", o["write"], orm_ref, WRITE_TARGET_S),
            row("write 1M: parquet file (pyarrow)", o["write"], pq_write),
            row("read 1M into numpy, new connection", o["new"], rows_r, READ_TARGET_S),
            row("read 1M, warm (same connection again)", o["warm"], "-", READ_TARGET_S),
            row("read 1M, cold (file evicted from the OS cache)", o["cold"], "-", READ_TARGET_S),
            row("read 1M: parquet file (pyarrow)", o["new"], pq_read),
        ],
    )
    print_table(
        "6b. Ours: other operations (1M candles stored)",
        [
            row("close after the 1M write (final WAL checkpoint)", o["close"]),
            row("open the file (quick_check, schema revision)", o["open"]),
            row("new process: import terminal.store, open, read 1M", o["process"]),
            row("chart open, store part only: open, read 1M, fill series", o["chart"], "-", CHART_TARGET_S),
            row("upsert 1M over the same 1M (every candle replaced)", upd["upsert_all"]),
            row("sync page: 1,000 new candles after 1M", upd["page"]),
            row("live close: 1 candle appended", upd["live"]),
            row("read the last day (1,440 candles)", upd["day"]),
            row("zlib chunks: write 1M", z["write"], f"raw chunks: {w}"),
            row("zlib chunks: read 1M, new connection", z["new"], f"raw chunks: {r}"),
        ],
    )
    mb = 1e6
    print_table(
        "6c. File size for 1M candles",
        [
            ("ours, raw chunks", f"{mean(o['size']) / mb:.1f} MB", "-", "-", "n/a"),
            ("ours, zlib chunks", f"{mean(z['size']) / mb:.1f} MB", "-", "-", "n/a"),
            ("sqlite3 row per candle", "-", f"{mean(rows['size']) / mb:.1f} MB", "-", "n/a"),
        ],
    )
    if layouts:
        print_table(
            "6d. Ours by SQLite page size (1M candles)",
            layouts,
            headers=(
                "page size",
                "write 1M",
                "then close",
                "read 1M, new connection",
                "read 1M, cold",
                "size",
            ),
        )


if __name__ == "__main__":
    main()
