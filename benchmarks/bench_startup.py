"""Startup benchmark: from launching the process to a window showing candles.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--binary dist/terminal/terminal]

Target (issue 13): median <= 0.8 s from source on this machine (offscreen Qt),
and the frozen build (``--binary``) no slower than its 1.08 s before that
change. The PySide6 + pyqtgraph floor below was 0.37 s then: under load the
floor moves too, so compare against the floor of the same run.

``--binary`` launches a frozen build (packaging/build-linux) the same way
instead of ``python main.py``: the installed application's start-up.

Runs ``python main.py --startup-benchmark --seed 1`` as a subprocess with
fresh temporary TERMINAL_CONFIG_DIR / TERMINAL_DATA_DIR (a first start: no
saved layout) and measures from just before ``Popen`` to the moment its
"candles on screen after X s" line arrives on the pipe. The app's own X
starts after Python has imported ``terminal.app`` (interpreter start-up and
that import are not in it), so it is reported separately. One unmeasured
warm-up launch first fills the OS file cache.

Reference, measured the same way: the floor that any PySide6 + pyqtgraph
app pays, i.e. a script that imports PySide6 and pyqtgraph, opens a
1280x800 PlotWidget with 500 bars and paints it once (``grab()``); and the
bare interpreter (``python -c pass``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
from _common import ROOT, print_table, verdict

TARGET_S = 0.8  # median, from source
FROZEN_TARGET_S = 1.08  # median, the frozen build
READY = "candles on screen after"
FLOOR = """
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import numpy as np
from PySide6.QtWidgets import QApplication
import pyqtgraph as pg
app = QApplication(sys.argv)
w = pg.PlotWidget()
w.addItem(pg.BarGraphItem(x=np.arange(500), height=np.random.rand(500), width=0.7))
w.resize(1280, 800)
w.show()
w.grab()
print("ready", flush=True)
"""


def launch(args: list[str], marker: str, env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds to the marker line, seconds to exit, the marker line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env
    )
    assert proc.stdout is not None
    seen, line = 0.0, ""
    for text in proc.stdout:
        if text.startswith(marker):
            seen, line = time.perf_counter() - t0, text.strip()
            break
    proc.stdout.read()
    code = proc.wait(timeout=60)
    done = time.perf_counter() - t0
    if not seen or code != 0:
        raise RuntimeError(f"{args[1:]} exited {code} without printing {marker!r}")
    return seen, done, line


def terminal_run(command: list[str]) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = dict(
            user_environ(),
            QT_QPA_PLATFORM="offscreen",
            TERMINAL_CONFIG_DIR=str(Path(tmp, "config")),
            TERMINAL_DATA_DIR=str(Path(tmp, "data")),
        )
        seen, done, line = launch([*command, "--startup-benchmark", "--seed", "1"], READY, env)
    inside = float(line.removeprefix(READY).split()[0])
    return seen, done, inside


def user_environ() -> dict[str, str]:
    """This shell's environment without PYTHONDONTWRITEBYTECODE, which this sandbox sets and
    a user's machine does not: with it, every launch compiles the terminal's ~200 modules anew."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", type=Path, help="a frozen build's executable, run instead of main.py")
    args = parser.parse_args()
    command = [sys.executable, str(ROOT / "main.py")]
    if args.binary:
        command = [str(args.binary.resolve())]
        print(f"Frozen build: {command[0]}")
    print("Machine:", _common.machine())
    print(
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r} here; the launches run "
        "without it, as a user's Python does (bytecode cached by the unmeasured first launch)"
    )
    warm = terminal_run(command)
    print(f"warm-up launch (not counted): candles after {warm[0]:.2f} s")

    seen, done, inside, floor, bare = [], [], [], [], []
    env = dict(user_environ(), QT_QPA_PLATFORM="offscreen")
    for i in range(args.runs):
        s, d, x = terminal_run(command)
        seen.append(s)
        done.append(d)
        inside.append(x)
        floor.append(launch([sys.executable, "-c", FLOOR], "ready", env)[0])
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        bare.append(time.perf_counter() - t0)
        print(
            f"run {i + 1}: candles on screen {s:.3f} s after Popen (app says {x:.3f} s), "
            f"exited after {d:.3f} s; floor script {floor[-1]:.3f} s; bare python {bare[-1]:.3f} s"
        )

    runs = f"min / median / max of {args.runs}"
    what = f"the frozen build ({args.binary})" if args.binary else "from source"
    target = FROZEN_TARGET_S if args.binary else TARGET_S
    print_table(
        f"4. Launch to a window showing candles (Popen to the printed line), {what}",
        [
            [
                f"launch -> candles on screen ({runs})",
                spread(seen),
                f"{spread(floor)} (PySide6 + pyqtgraph floor)",
                f"median <= {target} s",
                verdict(statistics.median(seen) <= target),
            ],
            ["the app's own figure (from after `import terminal.app`)", spread(inside), "-", "-", "n/a"],
            ["launch -> process exit (window closed, feeds shut)", spread(done), "-", "-", "n/a"],
            ["bare interpreter (`python -c pass`)", "-", spread(bare), "-", "n/a"],
        ],
    )


if __name__ == "__main__":
    main()
