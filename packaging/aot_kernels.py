"""Compile the backtest kernels ahead of time, so that a build can leave numba out.

    .venv/bin/python packaging/aot_kernels.py [--output-dir build/aot] [--cpu x86-64]
    .venv/bin/python packaging/aot_kernels.py --bench [--bars 1000000]

The first form writes one extension module, ``_kernels_aot`` (e.g.
``build/aot/_kernels_aot.cpython-312-x86_64-linux-gnu.so``), holding every
``@compiled`` function of ``terminal.backtest``: the same Python functions
numba compiles at run time from source, taken from ``terminal.backtest.jit.KERNELS``
with the signature declared beside each one, compiled by ``numba.pycc``.
``packaging/build-linux`` runs it before PyInstaller; the spec puts the module
into the bundle as ``terminal/backtest/_kernels_aot...``, where
``terminal.backtest.jit`` finds it when numba is not installed.

* **CPU**: ``--cpu`` defaults to the architecture's baseline (``x86-64``:
  SSE2, no AVX), so the bundle runs on any x86-64 machine; numba's JIT
  compiles for the machine it runs on. ``--bench`` shows what that costs.
* **GIL**: released in every exported function, as ``nogil=True`` does for
  the JIT (pycc's own default keeps it): a worker thread's backtest must not
  stall the GUI thread.
* **numba.pycc** is pending deprecation (since numba 0.57, still in 0.68.1;
  numba will warn for at least two releases before removing it, once its
  replacement works). It needs setuptools and a C and C++ compiler (gcc and
  g++ here; MSVC on Windows, clang on macOS). The ways out when it goes:
  packaging/README.md.

``--bench`` times a 1,000,000-bar SMA(10,20) cross with reversal (the
figure of docs/performance.md section 7) with numba's JIT and with the module
just built, in a child process that cannot import numba.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

NAME = "_kernels_aot"
#: its import name (terminal.backtest.jit.AOT_MODULE; not imported from there: see use_module)
AOT_MODULE = f"terminal.backtest.{NAME}"
DEFAULT_OUTPUT = ROOT / "build" / "aot"
#: the baseline of each architecture: code that runs on every CPU of that kind
BASELINE_CPU = {"x86_64": "x86-64", "amd64": "x86-64"}


def baseline_cpu() -> str:
    """The CPU to compile for: the architecture's baseline (LLVM's generic one
    where none is listed: numba's own AOT default)."""
    return BASELINE_CPU.get(platform.machine().lower(), "")


def built_module(folder: Path = DEFAULT_OUTPUT) -> Path | None:
    """The extension module a build wrote to ``folder``, if there is one."""
    from importlib.machinery import EXTENSION_SUFFIXES

    for suffix in EXTENSION_SUFFIXES:
        path = folder / f"{NAME}{suffix}"
        if path.is_file():
            return path
    return None


def kernel_sources() -> list[Path]:
    """The source files the module is compiled from: those with a ``@compiled``
    kernel, and ``jit.py`` (which declares how)."""
    package = ROOT / "terminal" / "backtest"
    return sorted(
        path
        for path in package.rglob("*.py")
        if path.name == "jit.py" or "@compiled(" in path.read_text(encoding="utf-8")
    )


def newer_sources(module: Path) -> list[Path]:
    """Kernel sources changed since ``module`` was built (it must be built again)."""
    built = module.stat().st_mtime
    return [path for path in kernel_sources() if path.stat().st_mtime > built]


def load_kernels() -> dict[str, Any]:
    """Every ``@compiled`` kernel of ``terminal.backtest``: imports each of its
    modules (so a kernel added anywhere in the package is found), then reads
    the registry."""
    import terminal.backtest
    from terminal.backtest import jit

    for info in pkgutil.walk_packages(terminal.backtest.__path__, "terminal.backtest."):
        if info.name != jit.AOT_MODULE:
            importlib.import_module(info.name)
    return dict(jit.KERNELS)


def build(output_dir: Path, cpu: str | None = None, *, verbose: bool = False) -> Path:
    """Compile every kernel into ``output_dir``; returns the module's path.

    A kernel that calls another (``run_bars`` calls ``_write_trade``) gets the
    callee compiled into the module with it, for the same CPU."""
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)  # said in the docstring
        from numba.core.compiler import Flags
        from numba.pycc import CC
        from numba.pycc import compiler as pycc_compiler

    from terminal.backtest import jit

    if jit.MODE != "numba":
        raise SystemExit(f"aot_kernels: numba is needed to build the kernels (found: {jit.MODE})")
    kernels = load_kernels()
    output_dir.mkdir(parents=True, exist_ok=True)
    cc = CC(NAME, source_module=jit.__name__)
    cc.output_dir = str(output_dir)
    cc.target_cpu = baseline_cpu() if cpu is None else cpu
    cc.verbose = verbose
    for kernel in kernels.values():
        cc.export(kernel.name, kernel.signature)(kernel.function)

    class ReleaseGil(Flags):
        """pycc's compile flags, with the GIL released around each call (``nogil``:
        pycc has no setting for it; its wrappers honour the flag as the JIT's do)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True  # type: ignore[assignment]  # an Option descriptor, set to a bool

    names = vars(pycc_compiler)  # the module's globals: ModuleCompiler makes its Flags() from here
    original = names["Flags"]
    names["Flags"] = ReleaseGil
    try:
        cc.compile()
    finally:
        names["Flags"] = original
    path = output_dir / cc.output_file
    if not path.is_file():
        raise SystemExit(f"aot_kernels: numba.pycc wrote no {path}")
    return path


def use_module(path: Path) -> None:
    """Make this process run the kernels from the module at ``path``, as a frozen
    build does: numba cannot be imported, and ``terminal.backtest._kernels_aot``
    is that file. Call it before anything imports ``terminal.backtest.jit``."""
    if "terminal.backtest.jit" in sys.modules:
        raise RuntimeError("use_module() must run before terminal.backtest.jit is imported")
    sys.modules["numba"] = None  # type: ignore[assignment]  # `import numba` raises ImportError
    spec = importlib.util.spec_from_file_location(AOT_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"not an extension module: {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[AOT_MODULE] = module


BENCH_CHILD = """import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
if sys.argv[2]:
    import aot_kernels
    from pathlib import Path
    aot_kernels.use_module(Path(sys.argv[2]))
import numpy as np
from terminal.market.simulator.history import generate_history
from terminal.market.simulator.instruments import INSTRUMENTS
candles = generate_history(INSTRUMENTS[0], 1_700_000_040_000, int(sys.argv[3]), np.random.default_rng(1))
t0 = time.perf_counter()  # as bench_backtest.py: the engine's import and the first run
from terminal.backtest import engine, jit, signals
from terminal.backtest.runner import run_backtest
from terminal.backtest.settings import BacktestSettings, Costs, Sizing
from terminal.backtest.strategies import SmaCross
settings = BacktestSettings(initial_cash=1e7, costs=Costs(taker_fee=0.001, maker_fee=0.001),
                            sizing=Sizing(fraction=1.0, amount_step=1.0), close_at_end=False)
params = {"fast": 10, "slow": 20}
first = run_backtest(candles, "sma_cross", params, settings)
first_s = time.perf_counter() - t0
strategy = SmaCross.create(params)
sig = signals.validate(strategy.signals(candles), len(candles))

def median(fn, repeats=9):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)

print(json.dumps({
    "mode": jit.MODE,
    "first": first_s,
    "run": median(lambda: run_backtest(candles, "sma_cross", params, settings)),
    "signals": median(lambda: strategy.signals(candles)),
    "loop": median(lambda: engine.simulate(candles, sig, settings)),
    "trades": len(first.trades),
    "equity": float(first.final_equity),
}))
"""


def bench(folder: Path, bars: int) -> int:
    """Print the JIT's and the built module's times for one backtest of ``bars`` bars:
    warm (median of 9), and the first run in a fresh process (the engine's import
    included; for the JIT with numba's on-disk cache empty, then filled)."""
    module = built_module(folder)
    if module is None:
        print(f"aot_kernels: no module in {folder}: build it first", file=sys.stderr)
        return 1
    results = []
    with tempfile.TemporaryDirectory(prefix="aot-bench-numba-cache-") as cache:
        for path in ("", "", str(module)):  # the JIT twice: its cache empty, then filled
            child = subprocess.run(
                [sys.executable, "-c", BENCH_CHILD, str(Path(__file__).parent), path, str(bars)],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
                env={**os.environ, "NUMBA_CACHE_DIR": cache},
            )
            if child.returncode != 0:
                print(f"aot_kernels: a benchmark run failed:\n{child.stderr[-3000:]}", file=sys.stderr)
                return 1
            results.append(json.loads(child.stdout.splitlines()[-1]))
    cold, jit_run, aot_run = results
    if aot_run["mode"] != "aot" or jit_run["mode"] != "numba":
        print(f"aot_kernels: the runs used {jit_run['mode']} and {aot_run['mode']}", file=sys.stderr)
        return 1
    if (jit_run["trades"], jit_run["equity"]) != (aot_run["trades"], aot_run["equity"]):
        print(f"aot_kernels: the two disagree: {jit_run} vs {aot_run}", file=sys.stderr)
        return 1
    print(
        f"aot_kernels: SMA(10,20) cross with reversal, {bars:,} bars; the same {aot_run['trades']:,} "
        f"trades and final equity from both; warm: median of 9"
    )
    print(f"  {'':<44}{'numba JIT':>12}{'ahead of time':>15}{'AOT / JIT':>11}")
    for label, key in (
        ("warm run, all metrics", "run"),
        ("  signals (two SMAs)", "signals"),
        ("  position loop", "loop"),
    ):
        print(
            f"  {label:<44}{jit_run[key] * 1e3:>9.1f} ms{aot_run[key] * 1e3:>12.1f} ms"
            f"{aot_run[key] / jit_run[key]:>10.2f}x"
        )
    for label, run in (
        ("first run, fresh process, numba cache empty", cold),
        ("  numba cache filled", jit_run),
    ):
        print(
            f"  {label:<44}{run['first'] * 1e3:>9.0f} ms{aot_run['first'] * 1e3:>12.0f} ms"
            f"{aot_run['first'] / run['first']:>10.2f}x"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--cpu", help=f"LLVM CPU name (default: {baseline_cpu() or 'generic'})")
    parser.add_argument("--verbose", action="store_true", help="show the compiler's commands")
    parser.add_argument("--bench", action="store_true", help="time the JIT and the built module")
    parser.add_argument("--bars", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    if args.bench:
        return bench(args.output_dir, args.bars)
    t0 = time.perf_counter()
    path = build(args.output_dir, args.cpu, verbose=args.verbose)
    from terminal.backtest import jit

    cpu = args.cpu if args.cpu is not None else baseline_cpu() or "generic"
    print(
        f"aot_kernels: {len(jit.KERNELS)} kernels ({', '.join(jit.KERNELS)}) compiled for {cpu} into "
        f"{path} ({path.stat().st_size / 1e3:.0f} kB) in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
