"""A soak of the real window on a loopback exchange: a steady depth rate, a
fault every few seconds, and a sampler that records what the window showed.

Shared by ``benchmarks/bench_soak.py`` (10 minutes, a fault every 30 s) and
``tests/market/test_soak.py`` (about a minute, one fault of each of five
kinds). ``run_soak`` must run on a qasync loop over a ``QApplication`` (the
window is real): it starts the loopback server in this process, so the
sampler can ask it which book it had published as of any update id
(``server.book_at``), then opens a ``MainWindow`` on it through the real ccxt
class (``CcxtSource`` with the user's defaults: 10 s REST timeout, 10 s
silence limit), as ``terminal.app`` does for a real exchange (a history file
in a temporary folder; no paper broker).

Every ``interval`` seconds the sampler looks at what the window shows: the
session's book (the ladder paints it), its sequence number
(``session.book_nonce``), and whether the ladder draws it as live
(``book_view.canvas.stale == ""``). A sample counts as a **wrong book shown
as live** when it is drawn live and the book is empty, one-sided, crossed or
unsorted (``book_problem``), has no sequence number, or its top ``LEVELS``
levels differ from the server's book as of that sequence number; as
**frozen** when it is right for its sequence number and drawn live, but the
server had moved past that number more than ``FROZEN_S`` seconds before.
Seconds are the sums of the sampling intervals.

A fault is **healed** at the first sample after its injection where the book
is drawn live, its stream reads LIVE, it equals the server's book at its
sequence number, and that number is newer than the server's at injection
(so it came after the fault, through whatever recovery the fault needed).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import ctypes
import gc
import math
import os
import re
import sys
import tempfile
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.market.book_check import book_problem
from terminal.market.health import FeedState
from tests.loopback.protocols import PROTOCOLS, Protocol

SYMBOL = "BTC/USDT"
WATCHLIST = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"]
BOOK = "order book"
LEVELS = 20  # levels a side compared with the server's (the ladder shows fewer)
FROZEN_S = 2.0  # a right book this far behind the server, drawn live, counts as frozen
KEEP_S = 20.0  # seconds of depth events the server keeps for book_at (at the soak's rate)


# -- faults ------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    name: str
    what: str
    inject: Callable[[Any, Protocol], Awaitable[None]]


async def _close(server: Any, protocol: Protocol) -> None:
    server.close_sockets()


async def _abort(server: Any, protocol: Protocol) -> None:
    server.abort_sockets()


async def _down(server: Any, protocol: Protocol) -> None:
    await server.go_down()
    await asyncio.sleep(DOWN_S)
    await server.come_back()


async def _gap(server: Any, protocol: Protocol) -> None:
    server.depth_gap(SYMBOL)


async def _rate_limited(server: Any, protocol: Protocol) -> None:
    server.http_error(429, retry_after=2, path=protocol.book_path)
    server.close_sockets()


async def _garbage(server: Any, protocol: Protocol) -> None:
    server.malformed_rest(path=protocol.book_path)
    server.close_sockets()


async def _frame(server: Any, protocol: Protocol) -> None:
    server.malformed_ws_frame()


async def _slow(server: Any, protocol: Protocol) -> None:
    server.slow_rest(SLOW_S, path=protocol.book_path)
    server.close_sockets()


DOWN_S = 5.0
SLOW_S = 12.0  # longer than the user's 10 s REST timeout

FAULTS = {
    f.name: f
    for f in (
        Fault("close", "close frame on every websocket", _close),
        Fault("abort", "TCP reset of every websocket", _abort),
        Fault("down", f"server down {DOWN_S:.0f} s (refuses connections), then back", _down),
        Fault("gap", "depth update ids skip 5 (sequence gap)", _gap),
        Fault("429", "429 Retry-After: 2 on the book snapshot, sockets closed", _rate_limited),
        Fault("garbage", "HTTP 200 truncated JSON book snapshot, sockets closed", _garbage),
        Fault("frame", "invalid JSON text frame on every websocket", _frame),
        Fault("slow", f"book snapshot answered after {SLOW_S:.0f} s, sockets closed", _slow),
    )
}
ALL_FAULTS = list(FAULTS)


# -- what the process holds ----------------------------------------------------------
def rss_mb() -> float:
    """Resident set size of this process, MB (10^6 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS in /proc/self/status")


def tcp_connections(port: int) -> tuple[int, int]:
    """This process's TCP sockets connected to (client side) and accepted on
    (server side) 127.0.0.1:``port``, listening sockets left out: /proc/net/tcp
    matched with /proc/self/fd (psutil is not a dependency)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    client = server = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                local, remote, state, inode = cols[1], cols[2], cols[3], cols[9]
                if inode not in inodes or state == "0A":  # 0A: LISTEN
                    continue
                if int(remote.rsplit(":", 1)[1], 16) == port:
                    client += 1
                elif int(local.rsplit(":", 1)[1], 16) == port:
                    server += 1
    return client, server


def _owner(task: asyncio.Task[Any]) -> str:
    """Whose task it is: "server" for the loopback server's (its own and aiohttp's server
    side), else "terminal" (the window, the session, ccxt)."""
    coro: Any = task.get_coro()
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    filename = code.co_filename if code is not None else ""
    if "/tests/loopback/" in filename or "/aiohttp/web_" in filename:
        return "server"
    return "terminal"


@dataclass
class Census:
    """Tasks, sockets and memory at one moment."""

    label: str
    terminal_tasks: int
    server_tasks: int
    client_sockets: int  # this process's TCP connections to the server's port
    server_sockets: int  # ... accepted by the server
    fds: int
    rss_mb: float
    py_blocks: int  # memory blocks Python's allocator has handed out (sys.getallocatedblocks)
    gc_objects: int  # objects the cycle collector tracks
    py_arenas_mb: float  # pymalloc's arenas (small objects live in them), MB
    py_small_mb: float  # ... of which in blocks in use
    task_names: list[str] = field(default_factory=list)  # the terminal's, for the report
    rss_trimmed_mb: float | None = None  # RSS after malloc_trim(0), where taken

    @classmethod
    def take(cls, label: str, port: int, ours: Iterable[asyncio.Task[Any]] = ()) -> Census:
        mine = set(ours)
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current and t not in mine and not t.done()]
        terminal = [t for t in tasks if _owner(t) == "terminal"]
        client, server = tcp_connections(port)
        return cls(
            label,
            len(terminal),
            len(tasks) - len(terminal),
            client,
            server,
            len(os.listdir("/proc/self/fd")),
            rss_mb(),
            sys.getallocatedblocks(),
            len(gc.get_objects()),
            *pymalloc_mb(),
            sorted(_task_name(t) for t in terminal),
        )


def pymalloc_mb() -> tuple[float, float]:
    """(MB in pymalloc's arenas, MB of it in blocks in use), from
    ``sys._debugmallocstats()`` (which writes to file descriptor 2). An arena is
    handed back only when every block in it is free, so a burst of small
    objects can leave arenas behind with a few survivors in each."""
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()
    arenas = re.search(r"# arenas allocated current\s*=\s*([\d,]+)", text)
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    size = re.search(r"(\d+) arenas \* (\d+) bytes/arena", text)
    if not (arenas and used and size):
        return math.nan, math.nan
    per_arena = int(size[2])
    return int(arenas[1].replace(",", "")) * per_arena / 1e6, int(used[1].replace(",", "")) / 1e6


def trimmed_rss_mb() -> float | None:
    """RSS after asking glibc to hand its free heap memory back (``malloc_trim(0)``):
    what the process holds beyond that is memory in use. None without glibc."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    trim(0)
    return rss_mb()


def _task_name(task: asyncio.Task[Any]) -> str:
    coro: Any = task.get_coro()
    return f"{task.get_name()} ({getattr(coro, '__qualname__', type(coro).__name__)})"


# -- the sampler ---------------------------------------------------------------------
@dataclass
class FaultRecord:
    fault: str
    at: float  # monotonic seconds at injection
    update_id: int  # the server's last update id then
    connections: int  # the server's websocket handshakes then
    healed_s: float | None = None  # injection -> live book equal to the server's
    reconnects: int = 0  # websocket handshakes from injection to healed
    went_not_live: bool = False  # the book was drawn not live before it healed
    # until the next fault: seconds drawn not live, right but frozen while drawn live, wrong drawn live
    not_live_s: float = 0.0
    frozen_live_s: float = 0.0
    wrong_live_s: float = 0.0


@dataclass
class WrongSample:
    at: float  # seconds since the soak started
    reason: str
    fault: str  # the last fault injected before it ("" for none)


class Screen:
    """Samples what the window shows every ``interval`` seconds (see the module)."""

    def __init__(self, window: Any, server: Any, symbol: str = SYMBOL, interval: float = 0.05) -> None:
        self.window = window
        self.session = window.session
        self.server = server
        self.symbol = symbol
        self.interval = interval
        self.t0 = time.monotonic()
        self.samples = 0
        self.wrong_live_s = 0.0
        self.frozen_live_s = 0.0
        self.not_live_s = 0.0
        self.wrong: list[WrongSample] = []  # the first ones, with why
        self.wrong_count = 0
        self.faults: list[FaultRecord] = []
        self.worst_behind_live_s = 0.0  # the furthest behind a right book drawn live was
        # (monotonic time, the server's update id) per sample, for how far behind a book is
        self._server_ids: deque[tuple[float, int]] = deque(maxlen=int(60 / interval))
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="soak-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def inject(self, fault: Fault, protocol: Protocol) -> None:
        """Inject ``fault`` and follow it until it heals (see ``sample``). The
        server's update id is read here, in the same step as the injection:
        its depth events keep coming between two steps of the loop."""
        server = self.server
        uid, connections = server.update_id(self.symbol), server.ws_connections
        record = FaultRecord(fault.name, time.monotonic(), uid, connections)
        self.faults.append(record)
        await fault.inject(server, protocol)

    def healed(self) -> bool:
        return all(r.healed_s is not None for r in self.faults)

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.interval)
            now = time.monotonic()
            self.sample(now, now - last)
            last = now

    def sample(self, now: float, dt: float) -> None:
        session, server = self.session, self.server
        canvas = self.window.book_view.canvas
        self.samples += 1
        current = server.update_id(self.symbol)
        self._server_ids.append((now, current))
        drawn_live = canvas.stale == "" and canvas.book is session.book
        stream_live = session.health.stream_state(BOOK) is FeedState.LIVE
        nonce = session.book_nonce
        problem = self.check(nonce)
        behind = self.behind(nonce, now, current) if not problem else 0.0
        latest = self.faults[-1] if self.faults else None
        if not drawn_live:
            self.not_live_s += dt
            if latest is not None:
                latest.not_live_s += dt
        elif problem:
            self.wrong_live_s += dt
            self.wrong_count += 1
            if latest is not None:
                latest.wrong_live_s += dt
            if len(self.wrong) < 50:
                self.wrong.append(WrongSample(now - self.t0, problem, latest.fault if latest else ""))
        else:
            self.worst_behind_live_s = max(self.worst_behind_live_s, behind)
            if behind > FROZEN_S:
                self.frozen_live_s += dt
                if latest is not None:
                    latest.frozen_live_s += dt
        for record in self.faults:
            if record.healed_s is not None:
                continue
            if not drawn_live:
                record.went_not_live = True
            elif stream_live and not problem and nonce is not None and nonce > record.update_id:
                record.healed_s = now - record.at
                record.reconnects = server.ws_connections - record.connections

    def check(self, nonce: Any) -> str:
        """What is wrong with the session's book ("" if it is the server's book as
        of its sequence number, top ``LEVELS`` levels a side)."""
        book = self.session.book
        bids = list(zip(book.bid_price[:LEVELS].tolist(), book.bid_size[:LEVELS].tolist(), strict=True))
        asks = list(zip(book.ask_price[:LEVELS].tolist(), book.ask_size[:LEVELS].tolist(), strict=True))
        problem = book_problem(bids, asks)
        if problem:
            return problem
        if nonce is None:
            return "the book has no sequence number"
        try:
            theirs = self.server.book_at(self.symbol, nonce, LEVELS)
        except KeyError:
            oldest = self._server_ids[0][1] if self._server_ids else nonce
            if nonce < oldest:
                return f"sequence number {nonce} is more than {KEEP_S:.0f} s older than the server's"
            return f"sequence number {nonce} was never published by the server"
        ours = ([[p, s] for p, s in bids], [[p, s] for p, s in asks])
        if ours != (theirs[0], theirs[1]):
            return f"the top {LEVELS} levels differ from the server's book at sequence number {nonce}"
        return ""

    def behind(self, nonce: Any, now: float, current: int) -> float:
        """Seconds since the server moved past ``nonce`` (0 while it is the newest)."""
        if nonce is None or nonce >= current:
            return 0.0
        ids = self._server_ids
        i = bisect.bisect_right([u for _, u in ids], nonce)  # the first sample past nonce
        return now - ids[min(i, len(ids) - 1)][0]


# -- the run -------------------------------------------------------------------------
@dataclass
class SoakPlan:
    protocol: str = "binance"
    rate: int = 2000  # depth updates/s for SYMBOL
    warmup_s: float = 60.0  # live feed, no faults, before the measured period
    duration_s: float = 600.0  # the measured period; a fault at its start and every ``every_s``
    every_s: float = 30.0
    faults: list[str] = field(default_factory=lambda: list(ALL_FAULTS))  # cycled in this order
    settle_s: float = 60.0  # after the period: at most this long for the last faults to heal
    quiet_s: float = 5.0  # then the feed runs this long untouched before the end census
    interval_s: float = 0.05  # sampling
    rss_every_s: float = 5.0


@dataclass
class SoakReport:
    plan: SoakPlan
    before: Census  # the server alone, before the window
    start: Census  # warm-up done, feed live
    end: Census  # faults over and healed, feed live
    closed: Census  # window closed, session shut (server still up)
    rss: list[tuple[float, float]]  # (seconds since warm-up end, MB), measured period and settle
    faults: list[FaultRecord]
    samples: int
    wrong_live_s: float
    wrong_count: int
    wrong: list[WrongSample]
    frozen_live_s: float
    worst_behind_live_s: float
    not_live_s: float
    sampled_s: float
    reconnects: int  # websocket handshakes during the measured period and settle
    depth_rate: float  # depth events the server published per second during the period
    loop_errors: list[str]  # what reached the event loop's exception handler

    @property
    def rss_growth_mb(self) -> float:
        return self.end.rss_mb - self.start.rss_mb

    def rss_slope(self, since: float = 0.0) -> float:
        """MB per minute (least squares) of the RSS samples from ``since`` seconds on."""
        points = [(t, m) for t, m in self.rss if t >= since]
        if len(points) < 2:
            return 0.0
        mt = sum(t for t, _ in points) / len(points)
        mm = sum(m for _, m in points) / len(points)
        var = sum((t - mt) ** 2 for t, _ in points)
        cov = sum((t - mt) * (m - mm) for t, m in points)
        return cov / var * 60.0 if var else 0.0

    def unhealed(self) -> list[FaultRecord]:
        return [r for r in self.faults if r.healed_s is None]


def protocol_named(name: str) -> Protocol:
    for protocol in PROTOCOLS:
        if protocol.name == name:
            return protocol
    raise SystemExit(f"no loopback protocol {name!r} (have: {', '.join(p.name for p in PROTOCOLS)})")


async def run_soak(
    plan: SoakPlan, folder: Path, log_buffer: Any, progress: Callable[[str], None] = lambda _m: None
) -> SoakReport:
    """Run ``plan`` (see the module); the window is opened and closed inside."""
    from terminal.config import ConfigStore
    from terminal.market.ccxt_source import CcxtSource
    from terminal.market.session import MarketSession
    from terminal.paths import AppPaths
    from terminal.store.history_file import HistoryFile
    from terminal.ui.window.main_window import MainWindow

    protocol = protocol_named(plan.protocol)
    loop = asyncio.get_running_loop()
    errors: list[str] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: errors.append(_describe(context)))
    keep = max(1024, int(plan.rate * KEEP_S))
    server = protocol.server(seed=5, history_days=1, keep_versions=keep)
    await server.start()
    window: Any = None
    running: asyncio.Task[None] | None = None
    screen: Screen | None = None
    history: HistoryFile | None = None
    try:
        server.depth_rate(plan.rate, SYMBOL)
        gc.collect()
        before = Census.take("before", server.port)
        paths = AppPaths(folder / "config", folder / "data")
        paths.ensure()
        config = ConfigStore(paths.config_file)
        config.settings.market.symbol, config.settings.market.timeframe = SYMBOL, "1m"
        history = HistoryFile(paths.data_dir / "history.sqlite")
        store = history.writable()
        source = CcxtSource(protocol.exchange_id, **protocol.urls(server), options=protocol.options)
        session = MarketSession(source, WATCHLIST, max_history=5000, store=store, store_name="loopback")
        held = history
        window = MainWindow(
            session, config, paths, log_buffer, exchange="loopback",
            history=lambda _name: held.writable(), history_file=held,
        )  # fmt: skip
        window.resize(1280, 800)
        window.show()
        running = loop.create_task(window.run(), name="soak-window")
        screen = Screen(window, server, interval=plan.interval_s)
        ours: list[asyncio.Task[Any]] = [running]

        async def until(condition: Callable[[], bool], what: str, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while not condition():
                if running.done():
                    running.result()
                    raise RuntimeError(f"the window closed while waiting for {what}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no {what} within {timeout:.0f} s")
                await asyncio.sleep(0.05)

        def live_and_right() -> bool:
            stream = session.health.stream_state(BOOK) is FeedState.LIVE
            return stream and window.book_view.canvas.stale == "" and not screen.check(session.book_nonce)

        await until(live_and_right, "live order book equal to the server's", 60)
        screen.start()
        ours.append(screen.task)  # type: ignore[arg-type]
        progress(f"book live; warm-up {plan.warmup_s:.0f} s")
        await asyncio.sleep(plan.warmup_s)
        gc.collect()  # as before the end's census: both count what is alive
        start = Census.take("start", server.port, ours)
        rss: list[tuple[float, float]] = [(0.0, start.rss_mb)]
        t_start = time.monotonic()
        connections0 = server.ws_connections
        events0 = server.depth_events

        async def sample_rss() -> None:
            while True:
                await asyncio.sleep(plan.rss_every_s)
                rss.append((time.monotonic() - t_start, rss_mb()))

        rss_task = loop.create_task(sample_rss(), name="soak-rss")
        ours.append(rss_task)
        background: set[asyncio.Task[None]] = set()
        try:
            slots = max(1, int(plan.duration_s // plan.every_s + (plan.duration_s % plan.every_s > 1e-9)))
            for k in range(slots):
                await asyncio.sleep(max(0.0, t_start + k * plan.every_s - time.monotonic()))
                fault = FAULTS[plan.faults[k % len(plan.faults)]]
                progress(f"{time.monotonic() - t_start:6.1f} s  fault {k + 1}/{slots}: {fault.name}")
                task = loop.create_task(screen.inject(fault, protocol), name=f"soak-fault-{fault.name}")
                background.add(task)
                ours.append(task)
                task.add_done_callback(background.discard)
            await asyncio.sleep(max(0.0, t_start + plan.duration_s - time.monotonic()))
            events = server.depth_events - events0
            depth_rate = events / max(1e-9, time.monotonic() - t_start)
            await asyncio.gather(*background)
            deadline = time.monotonic() + plan.settle_s
            while not screen.healed() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            progress(f"faults over; {'all healed' if screen.healed() else 'NOT all healed'}")
            await asyncio.sleep(plan.quiet_s)
        finally:
            rss_task.cancel()
            await asyncio.gather(rss_task, return_exceptions=True)
        gc.collect()
        end = Census.take("end", server.port, ours)
        rss.append((time.monotonic() - t_start, end.rss_mb))
        end.rss_trimmed_mb = trimmed_rss_mb()  # after the census: the figures above are untouched
        reconnects = server.ws_connections - connections0
        await screen.stop()
        sampled = time.monotonic() - screen.t0
        window.close()
        await asyncio.wait_for(running, 30)
        # Let both ends of the closed connections finish (the server's handlers end
        # when they see the close), then count what is left.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            closed = Census.take("closed", server.port, ours)
            if closed.terminal_tasks <= before.terminal_tasks and closed.client_sockets == 0:
                break
            await asyncio.sleep(0.1)
        gc.collect()
        closed = Census.take("closed", server.port, ours)
        return SoakReport(
            plan, before, start, end, closed, rss, screen.faults, screen.samples, screen.wrong_live_s,
            screen.wrong_count, screen.wrong, screen.frozen_live_s, screen.worst_behind_live_s,
            screen.not_live_s, sampled, reconnects, depth_rate, errors,
        )  # fmt: skip
    finally:
        if screen is not None:
            await screen.stop()
        if running is not None and not running.done():
            window.close()
            await asyncio.gather(asyncio.wait_for(running, 30), return_exceptions=True)
        server.depth_rate(0)
        await server.stop()
        if history is not None:
            history.close()
        loop.set_exception_handler(previous_handler)


def _describe(context: dict[str, Any]) -> str:
    exc = context.get("exception")
    message = context.get("message", "")
    return f"{message}: {type(exc).__name__}: {exc}" if exc is not None else str(message)
