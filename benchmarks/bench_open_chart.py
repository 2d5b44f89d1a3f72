"""Opening a chart whose market has 1,000,000 candles on disk: from the click
to those candles painted on screen.

    .venv/bin/python benchmarks/bench_open_chart.py [--runs 5] [--candles 1000000]

Target (issue 4): candles on screen <= 1 s.

A real terminal window (offscreen Qt, qasync) on the real ``ccxt.pro.binance``
class pointed at the loopback exchange server, with a real history file that
holds ``--candles`` 1-minute BTC/USDT candles up to a few minutes ago. The
window starts on ETH/USDT (nothing stored); each run then switches to
BTC/USDT the way a click in the watchlist does (``open_symbol``) and stops the
clock when the chart has painted a frame showing the stored candles. The
exchange is asked only for the few minutes since the last stored candle, in
the background, after the candles are on screen. Between runs the window
goes back to ETH/USDT.

Reference, same run: the same 1M candles stored a row each (one SQLite row
per candle, the usual layout) and read with ``fetchall`` + numpy, which is
only the read: a chart on that layout pays it before anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import _common
import numpy as np
from _common import MINUTE_MS, ms, print_table, verdict

TARGET_S = 1.0
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


def stored_candles(n: int, end_ms: int) -> _common.OHLCV:
    data = _common.synthetic_ohlcv(n)
    shift = end_ms - int(data.ts[-1])
    return _common.OHLCV(data.ts + shift, data.open, data.high, data.low, data.close, data.volume)


def row_reference(data: _common.OHLCV, folder: Path) -> float:
    """Seconds to read ``data`` back from a row-per-candle table (fetchall + numpy)."""
    path = folder / "rows.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE candle (exchange TEXT, symbol TEXT, timeframe TEXT, ts INTEGER, open REAL, high REAL,"
        " low REAL, close REAL, volume REAL, PRIMARY KEY (exchange, symbol, timeframe, ts)) WITHOUT ROWID"
    )
    rows = zip(data.ts.tolist(), data.open.tolist(), data.high.tolist(), data.low.tolist(),
               data.close.tolist(), data.volume.tolist(), strict=True)  # fmt: skip
    with conn:
        conn.executemany("INSERT INTO candle VALUES ('x', 'BTC/USDT', '1m', ?, ?, ?, ?, ?, ?)", rows)
    t0 = time.perf_counter()
    got = conn.execute(
        "SELECT ts, open, high, low, close, volume FROM candle WHERE exchange = 'x' AND symbol = 'BTC/USDT'"
        " AND timeframe = '1m' ORDER BY ts"
    ).fetchall()
    arr = np.array(got, dtype=np.float64)
    elapsed = time.perf_counter() - t0
    assert len(arr) == len(data)
    conn.close()
    return elapsed


async def measure(runs: int, n: int, folder: Path) -> tuple[list[float], list[int]]:

    from terminal.config import ConfigStore
    from terminal.logs import LogBuffer
    from terminal.market.ccxt_source import CcxtSource
    from terminal.market.session import MarketSession
    from terminal.paths import AppPaths
    from terminal.store import CandleStore
    from terminal.store.history_file import HistoryFile
    from terminal.ui.window.main_window import MainWindow
    from tests.loopback.binance import LoopbackBinance

    server = LoopbackBinance(seed=2, history_days=2, pump_interval=0.1)
    await server.start()
    paths = AppPaths(folder / "config", folder / "data")
    paths.ensure()
    store = CandleStore(paths.data_dir / "history.sqlite")
    now = int(time.time() * 1000)
    end = now - now % MINUTE_MS - 5 * MINUTE_MS  # closed a few minutes ago: a small gap to fetch
    store.write("loopback", "BTC/USDT", "1m", stored_candles(n, end))
    source = CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )
    config = ConfigStore(paths.config_file)
    config.settings.market.symbol = "ETH/USDT"
    session = MarketSession(
        source, ["ETH/USDT", "BTC/USDT"], max_history=5000, store=store, store_name="loopback"
    )
    held = HistoryFile.of(store)
    window = MainWindow(
        session, config, paths, LogBuffer(), exchange="loopback", history=lambda _n: store, history_file=held
    )
    window.show()
    task = asyncio.get_running_loop().create_task(window.run())
    chart = window.chart

    async def until(predicate: object, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():  # type: ignore[operator]
            if time.perf_counter() > deadline:
                raise TimeoutError("the benchmark waited too long")
            await asyncio.sleep(0.001)

    times: list[float] = []
    shown: list[int] = []
    try:
        await until(lambda: session.symbol == "ETH/USDT" and chart.candles.drawn > 0)
        for _ in range(runs):
            await until(lambda: session.history_download is None)
            painted: list[float] = []
            t0 = time.perf_counter()
            window.open_symbol("BTC/USDT")
            await until(lambda: chart.series is session.candles and len(chart.series) >= n - 10)
            chart.candles.on_painted = lambda seen=painted: seen.append(time.perf_counter())
            chart.glw.viewport().update()
            await until(lambda seen=painted: bool(seen))
            times.append(painted[0] - t0)
            shown.append(len(session.candles))
            window.open_symbol("ETH/USDT")
            await until(lambda: session.symbol == "ETH/USDT" and chart.candles.drawn > 0)
    finally:
        window.close()
        await asyncio.wait_for(task, 20)
        store.close()
        await server.stop()
    return times, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--candles", type=int, default=1_000_000)
    args = parser.parse_args()

    from terminal.ui import pin_qt_binding

    pin_qt_binding()
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        times, shown = loop.run_until_complete(measure(args.runs, args.candles, folder))
        loop.close()
        reference = row_reference(stored_candles(args.candles, _common.END_MS), folder)

    print(_common.machine())
    best, median = min(times), float(np.median(times))
    print_table(
        "Opening a chart from the local history",
        [
            (
                f"click to {shown[0]:,} stored candles on screen (median of {len(times)})",
                f"{ms(median)} (best {ms(best)}, worst {ms(max(times))})",
                f"row per candle, the read alone: {ms(reference)}",
                f"<= {TARGET_S * 1000:,.0f} ms",
                verdict(median <= TARGET_S),
            )
        ],
        ("case", "time", "reference, same run", "target", "met"),
    )


if __name__ == "__main__":
    main()
