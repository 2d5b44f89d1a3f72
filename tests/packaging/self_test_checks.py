"""What ``--self-test`` must print, from source (tests/packaging/test_self_test.py)
and in the frozen bundle (tests/packaging/test_bundle.py), and the check that
it did."""

from __future__ import annotations

import subprocess

CHECKS = (
    "ok: main window opened on the Simulated market",
    "ok: candles drawn: ",
    "ok: ccxt not imported for the first window",
    "ok: indicators: all 18 added to the chart in ",
    "ok: alerts: ",
    "ok: backtest in a worker thread: SMA cross on ",
    "ok: sweep on an in-process Dask cluster: 1 worker, 9 SMA-cross trials on ",
    "ok: history database: ",
    "ok: ccxt ",
    "ok: keyring: ",
)
#: the backtest kernels: numba's JIT from source (with its cache in the data
#: folder), compiled ahead of time in a bundle (which has no numba)
SOURCE_CHECKS = (*CHECKS, "ok: numba cache: ")
BUNDLE_CHECKS = (*CHECKS, "ok: backtest kernels: compiled ahead of time (")


def assert_passed(
    result: subprocess.CompletedProcess[str], checks: tuple[str, ...] = SOURCE_CHECKS
) -> list[str]:
    """Every check's line is there and says ok; returns the lines."""
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [line for line in lines if line.startswith("FAILED")], result.stdout
    for check in checks:
        assert any(line.startswith(check) for line in lines), f"no line {check!r} in:\n{result.stdout}"
    assert lines[-1].startswith("self-test passed in "), result.stdout
    return lines
