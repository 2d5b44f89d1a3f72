"""``scripts/demo-loopback`` keeps its throwaway key apart from the user's and
removes it when the demo ends, however it ends.

The real script runs, with the real loopback server and the real terminal
(``main.py --version``: it starts and quits at once), against the throwaway
keyring of ``scripts/with-keyring``. Its stdin is a pseudo-terminal, so after
the terminal quits the script waits at its "Enter opens it again" prompt:
the moment to look at the keyring, then to end the demo as a user would
(Ctrl+D, Ctrl+C, or a kill).

The script runs from a scratch copy of the repository's layout whose
``scripts/setup`` does nothing: the real one would reinstall the project's
venv in the middle of the suite.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.credentials import SERVICE, SERVICE_ENV, ApiKey, CredentialStore

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROMPT = b"Terminal closed. Enter opens it again"
USERS_KEY = ApiKey("users-own-key-0123456789", "users-own-secret-0123456789")


@pytest.fixture
def keyring_of_with_keyring() -> None:
    """Refuse to run against a desktop's own keyring: this test writes to it."""
    if not os.environ.get("WITH_KEYRING_PASSWORD"):
        pytest.fail("run through scripts/with-keyring (a plain pytest does that itself)", pytrace=False)


@pytest.fixture
def demo_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "repo"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "demo-loopback", tree / "scripts" / "demo-loopback")
    setup = tree / "scripts" / "setup"
    setup.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")  # the venv is ready: see the module docstring
    setup.chmod(0o755)
    for name in (".venv", "terminal", "tests", "main.py"):
        (tree / name).symlink_to(ROOT / name)
    return tree


@pytest.fixture
def users_account(keyring_of_with_keyring: None) -> Iterator[CredentialStore]:
    """A real account of the user's that happens to be called "loopback", as the demo's."""
    store = CredentialStore(SERVICE)
    store.save("loopback", USERS_KEY)
    yield store
    store.delete("loopback")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_until(fd: int, wanted: bytes, timeout_s: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in seen:
        said = seen.decode(errors="replace")
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {wanted!r} within {timeout_s} s; the demo said:\n{said}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other side closed: the script ended
            raise AssertionError(f"the demo ended before {wanted!r}:\n{said}") from None
        seen += chunk
    return seen


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("how", ["ctrl-d", "ctrl-c", "kill"])
def test_demo_key_lives_apart_from_the_users_and_goes_when_the_demo_ends(
    demo_tree: Path, users_account: CredentialStore, how: str
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != SERVICE_ENV}
    env.update(PORT=str(port), QT_QPA_PLATFORM="offscreen")
    master, slave = pty.openpty()
    demo = subprocess.Popen(
        [str(demo_tree / "scripts" / "demo-loopback"), "--version"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=demo_tree,
        start_new_session=True,  # its own process group: a Ctrl+C reaches it, not pytest
        # As from a user's shell: SIGINT at its default. A pytest started in the
        # background of a script inherits it ignored, and bash cannot trap a signal
        # that was ignored when it started.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    os.close(slave)
    try:
        said = read_until(master, PROMPT, timeout_s=90)
        assert b"No usable keyring" not in said
        demo_keys = CredentialStore(f"terminal-demo-loopback-{port}")
        assert demo_keys.has_key("loopback"), "the demo stored its key where the terminal reads it"
        assert users_account.load("loopback") == USERS_KEY, "the user's own 'loopback' account is untouched"

        if how == "ctrl-d":
            os.write(master, b"\x04")
        elif how == "ctrl-c":
            os.killpg(demo.pid, signal.SIGINT)
        else:
            demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        os.close(master)

    assert not demo_keys.has_key("loopback"), f"the demo's key is left in the keyring after {how}"
    assert users_account.load("loopback") == USERS_KEY
    assert not listening(port), "the loopback server was stopped too"


def test_the_terminal_reads_keys_from_the_service_the_demo_names(
    users_account: CredentialStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_key = ApiKey("demo-key-0123456789abcdef", "demo-secret-0123456789abcdef")
    CredentialStore("terminal-demo-test").save("loopback", demo_key)
    try:
        monkeypatch.setenv(SERVICE_ENV, "terminal-demo-test")
        assert CredentialStore().load("loopback") == demo_key  # what the demo's terminal gets
        monkeypatch.delenv(SERVICE_ENV)
        assert CredentialStore().load("loopback") == USERS_KEY  # what the user's terminal gets
    finally:
        CredentialStore("terminal-demo-test").delete("loopback")
