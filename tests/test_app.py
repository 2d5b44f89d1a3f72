"""The real program, started as a user starts it: ``python main.py``."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        TERMINAL_CONFIG_DIR=str(tmp_path / "config"),
        TERMINAL_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def log_text(tmp_path: Path) -> str:
    log = tmp_path / "data" / "logs" / "terminal.log"
    return log.read_text(encoding="utf-8") if log.exists() else ""


def test_screenshot_run_saves_a_picture_of_the_live_window_and_exits_cleanly(tmp_path: Path) -> None:
    shot = tmp_path / "s.png"
    done = subprocess.run(
        [sys.executable, "main.py", "--seed", "3", "--screenshot", str(shot), "--screenshot-delay", "2"],
        cwd=ROOT,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"screenshot saved to {shot}" in done.stdout

    image = QImage(str(shot))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1280, 800)
    # A living terminal, not a blank window: many distinct colours across the picture.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 30

    log = log_text(tmp_path)
    assert "Simulated market seed: 3" in log
    assert "candles on the chart" in log
    assert "closed cleanly" in log
    assert "Traceback" not in log
    assert (tmp_path / "config" / "config.toml").exists()
    assert (tmp_path / "config" / "layout.ini").stat().st_size > 0  # written on close; created empty
    # The paper account loads once the candles are on screen, into the history file,
    # and the simulated market is kept there from then on (its seed, for the next start).
    with sqlite3.connect(tmp_path / "data" / "history.sqlite") as conn:
        assert conn.execute("SELECT seed FROM simulated_market").fetchall() == [(3,)]


WARMUP_WAIT_S = 15  # terminal/app.py: thread.join(15) on the warm-up before quitting


def test_ctrl_c_in_the_shell_closes_the_terminal_cleanly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "main.py", "--seed", "3"],
        cwd=ROOT,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while "candles on the chart" not in log_text(tmp_path):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the terminal never showed candles"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        # A quit right after start waits up to 15 s for the kernel warm-up (numba aborts
        # the process if it exits mid-compile; terminal/app.py), longer under a busy suite.
        _, stderr = process.communicate(timeout=WARMUP_WAIT_S + 10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert "closed cleanly" in log_text(tmp_path)


def test_startup_benchmark_reports_the_time_to_first_candles_and_quits(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "main.py", "--seed", "3", "--startup-benchmark"],
        cwd=ROOT,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("candles on screen after ")]
    seconds = float(line.removeprefix("candles on screen after ").removesuffix(" s"))
    assert 0 < seconds < 60
    assert "closed cleanly" in log_text(tmp_path)
    # Nothing on the way to the first candles made the history file (a first start has no
    # simulated market to continue; the paper account loads after them), and a quit then
    # makes nothing.
    assert not (tmp_path / "data" / "history.sqlite").exists()


def test_a_broken_config_is_reported_in_the_log_and_kept_as_it_was(tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    broken = b'theme = "pink"\n[market]\ntimeframe = "7m"\n'
    config.write_bytes(broken)
    done = subprocess.run(
        [sys.executable, "main.py", "--startup-benchmark"],
        cwd=ROOT,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    log = log_text(tmp_path)
    assert f"{config} has invalid settings" in log
    assert "theme" in log and "market.timeframe" in log
    assert config.read_bytes() == broken  # started on defaults, file untouched
