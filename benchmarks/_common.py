"""Shared helpers for the benchmark scripts: environment, synthetic candles,
timing statistics, machine description and the result table.

Import this module before anything that imports Qt: it selects the offscreen
platform and tells pyqtgraph to use PySide6 (another Qt binding installed in
the same venv, e.g. PyQt6 pulled in by finplot, would otherwise win).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from terminal.market.simulator.history import generate_history  # noqa: E402
from terminal.market.simulator.instruments import INSTRUMENTS  # noqa: E402
from terminal.marketdata.candles import OHLCV, CandleSeries  # noqa: E402

MINUTE_MS = 60_000
END_MS = 1_700_000_040_000  # a fixed minute boundary, so every run draws the same candles


def synthetic_ohlcv(n: int, seed: int = 1) -> OHLCV:
    """``n`` 1-minute BTC/USDT-like candles from the simulator's history generator
    (a random walk with calm and busy stretches; deterministic for a seed)."""
    return generate_history(INSTRUMENTS[0], END_MS, n, np.random.default_rng(seed))


def synthetic_series(n: int, seed: int = 1) -> CandleSeries:
    series = CandleSeries(MINUTE_MS)
    series.replace(synthetic_ohlcv(n, seed))
    return series


# -- statistics -------------------------------------------------------------------
def ms(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds * 1e3:,.0f} ms"
    return f"{seconds * 1e3:.2f} ms"


class Samples(list[float]):
    """Per-frame wall seconds, with the process CPU seconds for the same frames (all
    threads; wall well above CPU means the frame waited, e.g. for another process)."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu: list[float] = []


def timed(fn: Callable[[], object], samples: Samples) -> object:
    """``fn()``, its wall and CPU seconds appended to ``samples``."""
    c0, t0 = time.process_time(), time.perf_counter()
    result = fn()
    samples.append(time.perf_counter() - t0)
    samples.cpu.append(time.process_time() - c0)
    return result


def summary(samples: Sequence[float]) -> str:
    """'mean (p95, CPU mean, n)' of per-frame seconds, in milliseconds."""
    cpu = getattr(samples, "cpu", None)
    cpu_text = f"cpu {ms(statistics.fmean(cpu))}, " if cpu else ""
    if len(samples) == 1:
        return f"{ms(samples[0])} ({cpu_text}n=1)"
    p95 = float(np.percentile(samples, 95))
    return f"{ms(statistics.fmean(samples))} (p95 {ms(p95)}, {cpu_text}n={len(samples)})"


def mean(samples: Sequence[float]) -> float:
    return statistics.fmean(samples)


# -- output -----------------------------------------------------------------------
HEADERS = ("case", "ours", "reference", "target", "met?")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def print_table(title: str, rows: Sequence[Sequence[str]], headers: Sequence[str] = HEADERS) -> None:
    """A Markdown table (readable in a terminal, pasteable into docs)."""
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(f"\n### {title}\n", flush=True)
    print(line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))
    print(flush=True)


def machine() -> str:
    """One line describing where the figures were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores", f"Python {platform.python_version()}"]
    try:
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion

        parts.append(f"PySide6 {PySide6.__version__} (Qt {qVersion()})")
        parts.append(f"pyqtgraph {pyqtgraph.__version__}")
    except ImportError:
        pass
    parts.append(f"numpy {np.__version__}")
    parts.append(f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    parts.append(f"load average {load} at start")
    return "; ".join(parts)
