"""PySide6 6.12 aborts on Python 3.11: the setup must never build the venv on
it, and main.py must refuse it with a message instead of crashing.

These use the real interpreters on the machine: this machine kind ships
Python 3.11 (Debian's /usr/bin/python3.11 and pyenv's 3.11) beside 3.12/3.13.
"""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup"


def old_pythons() -> list[str]:
    found = glob.glob("/usr/bin/python3.1[01]") + glob.glob(
        str(Path.home() / ".pyenv/versions/3.1[01].*/bin/python3")
    )
    assert found, "expected a Python 3.10/3.11 on this machine kind to test the refusal with"
    return found


def is_ok_python(interpreter: str) -> bool:
    """Run the setup script's own version check on ``interpreter``."""
    script = f'source <(sed -n "/^is_ok_python()/,/^}}/p" {SETUP}); is_ok_python "$1"'
    result = subprocess.run(["bash", "-c", script, "check", interpreter], capture_output=True, text=True)
    return result.returncode == 0


def test_setup_accepts_the_running_python_and_refuses_3_11() -> None:
    assert is_ok_python(sys.executable)
    for interpreter in old_pythons():
        assert not is_ok_python(interpreter), interpreter


def test_setup_picks_a_python_of_at_least_3_12() -> None:
    script = f'source <(sed -n "/^is_ok_python()/,/^}}/p;/^find_python()/,/^}}/p" {SETUP}); find_python'
    chosen = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run(
        [chosen, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version in ("(3, 12)", "(3, 13)", "(3, 14)"), (chosen, version)


def test_main_refuses_python_3_11_with_a_message_not_a_crash() -> None:
    interpreter = old_pythons()[0]
    result = subprocess.run([interpreter, str(ROOT / "main.py")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr
    assert "Traceback" not in result.stderr
