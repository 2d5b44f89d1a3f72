"""``main.py --self-test`` from source: the checks a frozen build runs on itself
(tests/packaging/test_bundle.py runs them in the bundle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.packaging.self_test_checks import assert_passed

ROOT = Path(__file__).resolve().parents[2]


def self_test(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--self-test"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **env},
    )


def test_self_test_from_source_passes_every_check_and_exits_0() -> None:
    lines = assert_passed(self_test())
    assert lines[0].startswith("ok: Terminal ") and "from source" in lines[0]
    assert any(line.endswith("(numba compiling included)") for line in lines), lines


def test_a_failed_check_exits_1_and_says_why() -> None:
    # numba's JIT switched off: the backtest still runs (as plain Python), but
    # nothing reaches numba's cache, which the self-test reports as a failure.
    result = self_test(NUMBA_DISABLE_JIT="1")
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED: ")]
    assert failed and "numba wrote no cache" in failed[0], result.stdout
    assert result.stdout.splitlines()[-1].startswith("self-test FAILED (1 of its checks)")
