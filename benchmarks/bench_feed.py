"""Feed path under load: 5,000 depth updates/s from the loopback Binance
server through the real ccxt.pro.binance class into the terminal's book,
with the real window on the qasync loop.

The server runs in its own process (``python -m tests.loopback.binance
--depth-rate 5000``), so the CPU figures are the terminal's alone: ccxt's
JSON parsing and book maintenance, the session, the frame bridge and the
repaints of chart, ladder, tape and watchlist, all on the GUI thread.

Measured over a window of steady state:
- event-loop lag: a probe task asks to wake every 5 ms and records how late
  it wakes (p50 / p99 / max); the target is p99 <= 50 ms;
- messages: depth diffs ccxt applied to its book per second (from the book's
  nonce, i.e. Binance's update id), and how many book snapshots the
  terminal's watch loop took from ccxt (ccxt coalesces);
- CPU of this process per 1,000 depth messages.

Usage: .venv/bin/python benchmarks/bench_feed.py [--rate 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

from _common import ROOT, machine, print_table, verdict

LAG_TARGET_MS = 50.0
PROBE_S = 0.005
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, rate: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.loopback.binance", "--port", str(port), "--history-days", "1",
         "--depth-rate", str(rate), "--depth-symbol", "BTC/USDT"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the loopback server did not start")


async def measure(window: object, session: object, seconds: float, warmup: float) -> dict[str, float]:
    from terminal.market.session import MarketSession

    assert isinstance(session, MarketSession)
    source = session.source
    deadline = time.monotonic() + 30
    while len(session.book.bid_price) == 0:  # first data
        if time.monotonic() > deadline:
            raise SystemExit("no order book from the loopback server")
        await asyncio.sleep(0.1)
    await asyncio.sleep(warmup)

    versions0 = session.book.version
    ccxt_book = source.exchange.orderbooks["BTC/USDT"]  # type: ignore[attr-defined]
    nonce0 = ccxt_book["nonce"]
    frames0 = window.bridge.frames  # type: ignore[attr-defined]
    lags: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    end = wall0 + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        await asyncio.sleep(PROBE_S)
        lags.append((time.perf_counter() - t - PROBE_S) * 1000.0)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    applied = ccxt_book["nonce"] - nonce0
    lags.sort()
    return {
        "wall": wall,
        "applied_per_s": applied / wall,
        "book_reads_per_s": (session.book.version - versions0) / wall,
        "cpu_per_1000": cpu / max(applied, 1) * 1000 * 1000.0,  # ms per 1,000 messages
        "cpu_share": cpu / wall,
        "lag_p50": lags[len(lags) // 2],
        "lag_p99": lags[int(len(lags) * 0.99)],
        "lag_max": lags[-1],
        "frames_per_s": (window.bridge.frames - frames0) / wall,  # type: ignore[attr-defined]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    port = free_port()
    server = start_server(port, args.rate)
    os.environ["TERMINAL_CONFIG_DIR"] = tmp = os.path.join("/tmp", f"bench-feed-{port}")
    os.environ["TERMINAL_DATA_DIR"] = tmp
    try:
        import qasync
        from PySide6.QtWidgets import QApplication

        from terminal.config import ConfigStore
        from terminal.logs import setup_logging
        from terminal.market.ccxt_source import CcxtSource
        from terminal.market.session import MarketSession
        from terminal.paths import resolve_paths
        from terminal.ui.window.main_window import MainWindow

        paths = resolve_paths()
        paths.ensure()
        config = ConfigStore(paths.config_file)
        buffer = setup_logging(paths.log_dir, "WARNING")
        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        app.setQuitOnLastWindowClosed(False)  # as terminal.app: run() finishes the shutdown
        source = CcxtSource("binance", rest_url=f"http://127.0.0.1:{port}",
                            ws_url=f"ws://127.0.0.1:{port}/stream", options=SPOT_ONLY)  # fmt: skip
        session = MarketSession(source, ["BTC/USDT", "ETH/USDT"], max_history=1000)
        window = MainWindow(session, config, paths, buffer)
        window.resize(1280, 800)
        window.show()
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)

        async def scenario() -> dict[str, float]:
            running = asyncio.create_task(window.run())
            try:
                return await measure(window, session, args.seconds, warmup=2.0)
            finally:
                window.close()
                await running

        result = loop.run_until_complete(scenario())
    finally:
        server.terminate()
        server.wait(10)

    print(machine())
    print(f"server: separate process at {args.rate:,} depth diffs/s for BTC/USDT; window 1280x800 offscreen; "
          f"{args.seconds:.0f} s measured after 2 s warm-up")  # fmt: skip
    lag = f"{result['lag_p99']:.1f} ms (p50 {result['lag_p50']:.1f}, max {result['lag_max']:.1f})"
    rows = [
        ["event-loop lag p99", lag,
         "-", f"<= {LAG_TARGET_MS:.0f} ms", verdict(result["lag_p99"] <= LAG_TARGET_MS)],
        ["depth diffs applied by ccxt per second", f"{result['applied_per_s']:,.0f}", "-",
         f"{args.rate:,}/s sustained", verdict(result["applied_per_s"] >= 0.95 * args.rate)],
        ["book snapshots the terminal took /s", f"{result['book_reads_per_s']:,.0f}", "-", "-", "n/a"],
        ["frames (bridge emissions) /s", f"{result['frames_per_s']:.1f}", "-", "<= 62.5 (16 ms)", "n/a"],
        ["CPU per 1,000 depth messages", f"{result['cpu_per_1000']:.1f} ms", "-", "-", "n/a"],
        ["CPU share of one core", f"{result['cpu_share'] * 100:.0f}%", "-", "-", "n/a"],
    ]  # fmt: skip
    print_table("Feed path: loopback server -> ccxt.pro.binance -> terminal (GUI thread)", rows)


if __name__ == "__main__":
    main()
