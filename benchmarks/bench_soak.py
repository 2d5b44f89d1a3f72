"""Soak: the real window on the loopback exchange at 2,000 depth updates/s with
a fault injected every 30 s for 10 minutes (issue 11, item 7).

    .venv/bin/python benchmarks/bench_soak.py [--minutes 10] [--fault-every 30] [--rate 2000]
        [--protocol binance|okx] [--warmup 60]

A real terminal window (offscreen Qt, qasync, 1280x800) on the real ccxt
class inside ``CcxtSource`` with the user's defaults, pointed at the loopback
server, which runs in this process so that what the window showed can be
compared with what the server had published (``server.book_at``). After a
warm-up with no faults, the measured period cycles through the faults of
``tests/loopback/soak.py`` (socket close, TCP reset, server down 5 s, a
sequence gap, a 429 on the book snapshot, a garbage snapshot, an invalid
websocket frame, a snapshot slower than the REST timeout), one every
``--fault-every`` seconds. Then the last faults get up to 60 s to heal, the
feed runs 5 s untouched, and the window is closed.

Reported: RSS at the end of the warm-up and at the end, growth and slope;
the terminal's asyncio tasks and TCP connections to the server at the start
and end of the measured period and after the window closed; websocket
reconnects; seconds with a wrong book drawn as live (sampled every 50 ms);
how long each fault took to heal. The issue names no external reference for
this one: the table prints the targets beside our figures.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import machine, print_table, verdict

RSS_TARGET_MB = 50.0
# terminal.logs FILE_FORMAT: date time LEVEL logger [thread] message
LOG_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+)\s+(?P<logger>\S+) \[[^\]]*\] (?P<message>.*)$")
HEADERS = ("case", "ours", "target", "met?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="the measured period (faults)")
    parser.add_argument("--fault-every", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--rate", type=int, default=2000, help="depth updates/s for BTC/USDT")
    parser.add_argument("--protocol", default="binance", help="binance or okx (a loopback server)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds of live feed before measuring")
    parser.add_argument("--faults", default="", help="comma-separated fault kinds (default: all, in turn)")
    args = parser.parse_args()

    from terminal.ui import pin_qt_binding

    pin_qt_binding()
    import qasync
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from terminal.logs import setup_logging
    from tests.loopback.soak import ALL_FAULTS, FAULTS, SoakPlan, run_soak

    kinds = [k.strip() for k in args.faults.split(",") if k.strip()] or list(ALL_FAULTS)
    unknown = [k for k in kinds if k not in FAULTS]
    if unknown:
        raise SystemExit(f"unknown fault kinds {unknown}; known: {', '.join(FAULTS)}")
    plan = SoakPlan(
        protocol=args.protocol, rate=args.rate, warmup_s=args.warmup, duration_s=args.minutes * 60,
        every_s=args.fault_every, faults=kinds,
    )  # fmt: skip
    print(machine(), flush=True)
    qInstallMessageHandler(quiet_offscreen_warning)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)  # as terminal.app: run() finishes the shutdown
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        buffer = setup_logging(Path(tmp) / "logs", "INFO")  # the log panel gets what the app's would
        report = loop.run_until_complete(
            run_soak(plan, Path(tmp), buffer, progress=lambda m: print(f"  {m}", flush=True))
        )
        warnings = log_warnings(Path(tmp) / "logs" / "terminal.log")
    loop.close()
    show(report, warnings)


def quiet_offscreen_warning(_kind: object, _context: object, message: str) -> None:
    """Qt's messages to stderr, but for the offscreen plugin's note on every dock
    resize ("does not support propagateSizeHints()")."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def log_warnings(path: Path) -> Counter[str]:
    """WARNING (and worse) lines of the terminal's log, by who logged what (the
    message up to its first parenthesis)."""
    kinds: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match and match["level"] in ("WARNING", "ERROR", "CRITICAL"):
            kinds[f"{match['level']} {match['logger']}: {match['message'].split(' (', 1)[0][:80]}"] += 1
    return kinds


def show(report: object, warnings: Counter[str]) -> None:
    from tests.loopback.soak import FAULTS, FROZEN_S, LEVELS, SoakReport

    assert isinstance(report, SoakReport)
    r, plan = report, report.plan
    minutes = plan.duration_s / 60
    print(
        f"server: in-process loopback {plan.protocol} at {plan.rate:,} depth updates/s for BTC/USDT "
        f"({r.depth_rate:,.0f}/s achieved); window 1280x800 offscreen; {plan.warmup_s:.0f} s warm-up, "
        f"{minutes:g} min with a fault every {plan.every_s:g} s ({len(r.faults)} faults), "
        f"sampled every {plan.interval_s * 1000:.0f} ms ({r.samples:,} samples over {r.sampled_s:.0f} s)"
    )
    print("No external reference: the issue names none for the soak. The targets stand beside the figures.")
    healed = [x.healed_s for x in r.faults if x.healed_s is not None]
    heal = (
        f"{len(healed)} of {len(r.faults)}; median {statistics.median(healed):.1f} s, max {max(healed):.1f} s"
        if healed else f"0 of {len(r.faults)}"
    )  # fmt: skip
    half = (r.rss[-1][0] / 2) if r.rss else 0.0
    no_task_left = r.closed.terminal_tasks <= r.before.terminal_tasks
    no_socket_left = r.closed.client_sockets == 0 and r.closed.server_sockets == 0
    rows = [
        [f"RSS growth over the {minutes:g} min after warm-up",
         f"{r.rss_growth_mb:+.1f} MB ({r.start.rss_mb:.0f} -> {r.end.rss_mb:.0f} MB)",
         f"<= {RSS_TARGET_MB:.0f} MB", verdict(r.rss_growth_mb <= RSS_TARGET_MB)],
        ["RSS at the end after malloc_trim(0) (free heap handed back to the system)",
         f"{r.end.rss_trimmed_mb:.0f} MB ({r.end.rss_trimmed_mb - r.start.rss_mb:+.1f} MB over the start)"
         if r.end.rss_trimmed_mb is not None else "not glibc", "-", "n/a"],
        ["Python's small-object arenas (MB; in blocks in use), start -> end",
         f"{r.start.py_arenas_mb:.0f} ({r.start.py_small_mb:.0f}) -> {r.end.py_arenas_mb:.0f} "
         f"({r.end.py_small_mb:.0f})", "-", "n/a"],
        ["Python: allocated blocks; objects the collector tracks (start -> end)",
         f"{r.start.py_blocks:,} -> {r.end.py_blocks:,}; {r.start.gc_objects:,} -> {r.end.gc_objects:,}",
         "-", "n/a"],
        ["RSS slope (least squares, 5 s samples)",
         f"{r.rss_slope():+.2f} MB/min; second half {r.rss_slope(half):+.2f} MB/min", "-", "n/a"],
        ["terminal's asyncio tasks, start -> end of the period",
         f"{r.start.terminal_tasks} -> {r.end.terminal_tasks}", "no more at the end",
         verdict(r.end.terminal_tasks <= r.start.terminal_tasks)],
        ["terminal's asyncio tasks left after the window closed",
         f"{r.closed.terminal_tasks} (before the window: {r.before.terminal_tasks})", "none",
         verdict(no_task_left)],
        ["TCP connections to the server, start -> end",
         f"{r.start.client_sockets} -> {r.end.client_sockets}", "no more at the end",
         verdict(r.end.client_sockets <= r.start.client_sockets)],
        ["TCP connections left after the window closed (client / server end)",
         f"{r.closed.client_sockets} / {r.closed.server_sockets}", "none", verdict(no_socket_left)],
        ["file descriptors: before the window, start, end, closed",
         f"{r.before.fds}, {r.start.fds}, {r.end.fds}, {r.closed.fds}", "-", "n/a"],
        ["server's asyncio tasks: before the window, start, end, closed",
         f"{r.before.server_tasks}, {r.start.server_tasks}, {r.end.server_tasks}, {r.closed.server_tasks}",
         "-", "n/a"],
        ["faults injected", f"{len(r.faults)} ({len({x.fault for x in r.faults})} kinds)", "-", "n/a"],
        ["websocket reconnects (server handshakes)", f"{r.reconnects}", "-", "n/a"],
        ["seconds with a wrong book shown as live",
         f"{r.wrong_live_s:.2f} s ({r.wrong_count} samples)", "0 s", verdict(r.wrong_count == 0)],
        ["faults healed (live book equal to the server's)", heal, "every one", verdict(not r.unhealed())],
        [f"seconds a right book > {FROZEN_S:g} s behind the server was shown as live",
         f"{r.frozen_live_s:.1f} s (furthest behind: {r.worst_behind_live_s:.1f} s)", "-", "n/a"],
        ["seconds the book was shown not live (stale, with its last good levels)",
         f"{r.not_live_s:.1f} s of {r.sampled_s:.0f} s", "-", "n/a"],
        ["errors reaching the event loop's exception handler", f"{len(r.loop_errors)}", "-", "n/a"],
        ["WARNING and ERROR lines in the terminal's log", f"{warnings.total():,}", "-", "n/a"],
    ]  # fmt: skip
    print_table(
        f"Soak: {minutes:g} min at {plan.rate:,} depth updates/s, a fault every {plan.every_s:g} s "
        f"({plan.protocol}, real window)", rows, HEADERS,
    )  # fmt: skip

    minute = [f"{m:.0f}" for t, m in r.rss if abs(t / 60 - round(t / 60)) * 60 < plan.rss_every_s / 2]
    print(f"RSS (MB) each minute from the warm-up's end: {', '.join(minute)}; at the end {r.end.rss_mb:.0f}")
    kinds: dict[str, list[object]] = {}
    for x in r.faults:
        kinds.setdefault(x.fault, []).append(x)
    rows = []
    for name, records in kinds.items():
        times = [x.healed_s for x in records if x.healed_s is not None]  # type: ignore[attr-defined]
        reconnects = [x.reconnects for x in records if x.healed_s is not None]  # type: ignore[attr-defined]
        rows.append([
            f"{name}: {FAULTS[name].what}", f"{len(records)}", f"{len(times)}",
            f"{statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f})" if times else "-",
            f"{statistics.median(reconnects):g}" if reconnects else "-",
            f"{sum(x.not_live_s for x in records):.1f}",  # type: ignore[attr-defined]
            f"{sum(x.frozen_live_s for x in records):.1f}",  # type: ignore[attr-defined]
            f"{sum(x.wrong_live_s for x in records):.2f}",  # type: ignore[attr-defined]
        ])  # fmt: skip
    print_table(
        "Soak: each fault, from its injection (seconds summed over its injections, until the next fault)",
        rows, ("fault", "injected", "healed", "heal s: median (min-max)", "reconnects (median)",
               "s shown not live", f"s frozen > {FROZEN_S:g} s shown live", "s wrong shown live"),
    )  # fmt: skip
    if r.wrong:
        print(f"Wrong books shown as live (first {len(r.wrong)}; top {LEVELS} levels compared):")
        for w in r.wrong[:20]:
            print(f"  {w.at:7.2f} s after the window opened, after fault '{w.fault}': {w.reason}")
    if r.loop_errors:
        print(f"Event loop exception handler ({len(r.loop_errors)}, first 5):")
        for e in r.loop_errors[:5]:
            print(f"  {e[:300]}")
    if r.closed.task_names:
        print("Terminal tasks alive after the window closed:")
        for name in r.closed.task_names:
            print(f"  {name}")
    print(f"Terminal tasks at the end of the period: {', '.join(r.end.task_names)}")
    print("The terminal's log, WARNING and worse, most frequent first:")
    for kind, count in warnings.most_common(12):
        print(f"  {count:5d}  {kind}")


if __name__ == "__main__":
    main()
