"""A study's process killed midway, as when the terminal is killed mid-sweep: what
tests/research/test_resume.py and the window's test (tests/ui/backtest/
test_research_killed.py) share."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stored_trials(path: Path, study_id: int) -> int:
    """The trials of ``study_id`` in the history file at ``path`` now (read-only)."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*) FROM study_trial WHERE study_id = ?", (study_id,)).fetchone()
    return int(row[0])


def kill_once_stored(script: str, args: list[str], path: Path, study_id: int, at_least: int) -> None:
    """Run ``script`` (``python -c``, from the repository root) and kill it with SIGKILL as
    soon as it has stored ``at_least`` trials of ``study_id``; fails if it ends by itself."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # the child imports and compiles the engine first
        while stored_trials(path, study_id) < at_least:
            assert child.poll() is None, f"the study's process ended early: {child.communicate()}"
            assert time.monotonic() < deadline, "the study's process stored too few trials in 120 s"
            time.sleep(0.01)  # polling for the positive event: enough trials stored
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == -signal.SIGKILL and "finished" not in out
