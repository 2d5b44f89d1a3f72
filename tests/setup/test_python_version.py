"""PySide6 6.12 aborts on Python 3.11: the setup must never build the venv on
it, and main.py must refuse it with a message instead of crashing.

They use the real old interpreters where the machine has them (this machine
kind ships Debian's /usr/bin/python3.11 and pyenv's 3.11), and always a
stand-in: this Python made to report 3.11 (a contributor's machine may have
no old interpreter; the checks read only ``sys.version_info`` and
``sys.version``).
"""

from __future__ import annotations

import glob
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup"


RUN_SCRIPT = "import runpy; runpy.run_path(sys.argv[1], run_name='__main__')"
PRETEND_3_11 = "import sys; sys.version_info = (3, 11, 9, 'final', 0); sys.version = '3.11.9 (stand-in)'; "


@pytest.fixture
def stand_in(tmp_path: Path) -> str:
    """An executable that runs ``-c CODE`` or a script on this Python, reporting 3.11."""
    path = tmp_path / "python3.11"
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-c" ]; then exec {sys.executable} -c "{PRETEND_3_11}exec(sys.argv[1])" "$2"; fi\n'
        f'exec {sys.executable} -c "{PRETEND_3_11}{RUN_SCRIPT}" "$1"\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def old_pythons(stand_in: str) -> list[str]:
    real = glob.glob("/usr/bin/python3.1[01]") + glob.glob(
        str(Path.home() / ".pyenv/versions/3.1[01].*/bin/python3")
    )
    return [stand_in, *real]


def is_ok_python(interpreter: str) -> bool:
    """Run the setup script's own version check on ``interpreter``."""
    script = f'source <(sed -n "/^is_ok_python()/,/^}}/p" {SETUP}); is_ok_python "$1"'
    result = subprocess.run(["bash", "-c", script, "check", interpreter], capture_output=True, text=True)
    return result.returncode == 0


def test_setup_accepts_the_running_python_and_refuses_3_11(stand_in: str) -> None:
    assert is_ok_python(sys.executable)
    for interpreter in old_pythons(stand_in):
        assert not is_ok_python(interpreter), interpreter


def test_setup_picks_a_python_of_at_least_3_12() -> None:
    script = f'source <(sed -n "/^is_ok_python()/,/^}}/p;/^find_python()/,/^}}/p" {SETUP}); find_python'
    chosen = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    version = subprocess.run(
        [chosen, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert version in ("(3, 12)", "(3, 13)", "(3, 14)"), (chosen, version)


def test_main_refuses_python_3_11_with_a_message_not_a_crash(stand_in: str) -> None:
    for interpreter in old_pythons(stand_in):
        result = subprocess.run(
            [interpreter, str(ROOT / "main.py")], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 1, (interpreter, result.stderr)
        assert re.search(r"needs Python 3\.12 or newer; this is 3\.1[01]", result.stderr), result.stderr
        assert "Traceback" not in result.stderr
