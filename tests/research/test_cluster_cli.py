"""Sweeps on a Dask cluster started as a user starts one on other machines: a
``dask scheduler`` and ``dask worker`` commands (tests/research/dask_processes.py),
on loopback. The trials equal this machine's bit for bit; the scheduler stopped
mid-sweep and started again pauses the job, which then ends with every trial once;
a worker with another terminal version is refused by name; TLS with a certificate
authority made here, the private key in a file or in the keyring and nowhere else;
and ``check_address``'s judgement of the addresses a user types."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import terminal
from terminal.backtest.settings import BacktestSettings, Costs
from terminal.config import ConfigStore, ResearchSettings
from terminal.credentials import CredentialStore
from terminal.errors import describe
from terminal.marketdata.candles import OHLCV
from terminal.research.cluster.compute import KEY_SECRET, open_compute, security_of
from terminal.research.cluster.connect import Cluster, ClusterError, check_address
from terminal.research.space import IntParam, Space
from terminal.research.sweep import StopReason, SweepProgress, SweepResult, Trial, run_sweep
from tests.backtest.backtest_scenarios import random_candles
from tests.keyring_helpers import needs_keyring
from tests.research.dask_processes import CliCluster, make_certificates, start_cluster
from tests.research.user_strategy import load_slow_cross

pytestmark = pytest.mark.slow  # Dask commands take a few seconds to start

FEES = BacktestSettings(costs=Costs(taker_fee=0.001, maker_fee=0.001))
SPACE = Space((IntParam("fast", 2, 9), IntParam("slow", 6, 30, step=3)), ("fast < slow",))
ROOT = Path(terminal.__file__).resolve().parent


def rows(trials: Sequence[Trial]) -> list[tuple[Any, ...]]:
    return [
        (t.number, t.params, t.values, t.metrics, t.state, t.reason, t.folds,
         t.daily.returns.tobytes() if t.daily is not None else None)
        for t in trials
    ]  # fmt: skip


@pytest.fixture(scope="module")
def candles() -> OHLCV:
    return random_candles(np.random.default_rng(161), 3000)


@pytest.fixture(scope="module")
def here(candles: OHLCV) -> SweepResult:
    """The sweep on this machine, the one way (no fast path) the cluster's must equal."""
    return run_sweep(candles, "sma_cross", SPACE, settings=FEES, fast=False)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    started = start_cluster(tmp_path_factory.mktemp("plain"), 2)
    yield started
    started.stop()


# -- 1. the same trials -------------------------------------------------------------------------------


def test_a_sweep_on_dask_commands_equals_this_machines_bit_for_bit(
    candles: OHLCV, here: SweepResult, plain: CliCluster
) -> None:
    cluster = Cluster.connect(plain.address)
    try:
        on_cluster = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster)
        assert on_cluster.path == "cluster" and on_cluster.stopped is StopReason.EXHAUSTED
        assert rows(on_cluster.trials) == rows(here.trials) and len(here.trials) == SPACE.grid_size()
        states = cluster.workers()
        assert len(states) == 2 and all(w.trials > 0 and w.trials_per_s > 0 for w in states)
    finally:
        cluster.close()


# -- 2. the scheduler lost mid-sweep ------------------------------------------------------------------


@pytest.fixture(scope="module")
def slow(candles: OHLCV, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, SweepResult]:
    """A user strategy whose trials each wait a while (so that a sweep is mid-way long
    enough to stop its scheduler), and its sweep on this machine."""
    strategy = load_slow_cross(tmp_path_factory.mktemp("slow")).create({"pause": 0.03})
    return strategy, run_sweep(candles, strategy, SPACE, settings=FEES, fast=False)


class SchedulerRestart:
    """Stops the scheduler with ``how`` from the sweep's first progress report (a
    round is done, the rest is still to run: the sweep is mid-way), and notes what
    the cluster says of itself while its scheduler is lost; a thread then starts a
    scheduler again on the same port once the job has said it lost the first."""

    def __init__(self, plain: CliCluster, cluster: Cluster, how: signal.Signals) -> None:
        self.plain, self.cluster, self.how = plain, cluster, how
        self.midway, self.lost, self.back = threading.Event(), threading.Event(), threading.Event()
        self.heard: list[str] = []
        self.stopped_at: int | None = None
        self.while_lost: tuple[Any, ...] = ()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._start_again, name="scheduler-restart", daemon=True)
        cluster.on_status = self.status

    def progress(self, progress: SweepProgress) -> None:
        if self.stopped_at is not None or progress.total is None or progress.done >= progress.total:
            return
        self.stopped_at = progress.done
        self.plain.scheduler.stop(self.how)
        deadline = time.monotonic() + 30
        while self.cluster.connected and time.monotonic() < deadline:
            time.sleep(0.01)  # polling for the positive event: the client saw the loss
        # what the job asks of the cluster between rounds, answered at once, not after
        # Dask's connect timeout, and without raising: nothing, while it is lost
        asked = time.monotonic()
        found = (self.cluster.threads(), self.cluster.worker_count(), self.cluster.workers())
        self.while_lost = (*found, time.monotonic() - asked)
        self.midway.set()

    def status(self, text: str) -> None:
        self.heard.append(text)
        if "is lost: waiting for it" in text:
            self.lost.set()
        elif "is back" in text:
            self.back.set()

    def _start_again(self) -> None:
        try:
            assert self.midway.wait(120), "the sweep gave no progress report before its end"
            assert self.lost.wait(60), "the job did not say the scheduler was lost"
            self.plain.start_scheduler()
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails with it
            self.failed = exc


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_scheduler_stopped_mid_sweep_pauses_the_job_which_ends_with_every_trial_once(
    candles: OHLCV, plain: CliCluster, slow: tuple[Any, SweepResult], how: signal.Signals
) -> None:
    strategy, here = slow
    starts = [w.starts for w in plain.workers]
    cluster = Cluster.connect(plain.address)
    restart = SchedulerRestart(plain, cluster, how)
    restart.thread.start()
    try:
        on_cluster = run_sweep(
            candles, strategy, SPACE, settings=FEES, workers=cluster, progress=restart.progress
        )
        restart.thread.join(60)
        assert restart.failed is None, restart.failed
        assert restart.stopped_at is not None and 0 < restart.stopped_at < SPACE.grid_size()
        threads, count, workers, took = restart.while_lost
        assert (threads, count, workers) == (0, 0, []) and took < 1.0
        # it paused, said so, and went on when the scheduler was back
        lost = next(i for i, t in enumerate(restart.heard) if "is lost: waiting for it" in t)
        assert any("is back" in t for t in restart.heard[lost + 1 :])
        # every trial once, in order, as on this machine
        assert on_cluster.stopped is StopReason.EXHAUSTED and on_cluster.count == SPACE.grid_size()
        assert rows(on_cluster.trials) == rows(here.trials)
        # both workers came back to the new scheduler: their commands ended with the old
        # one and their supervisors started them again (SupervisedWorker says why)
        plain.wait_ready(2)
        assert cluster.worker_count() == 2
        assert all(w.starts > s for w, s in zip(plain.workers, starts, strict=True))
    finally:
        cluster.close()
        restart.midway.set()  # a thread still waiting ends
        restart.lost.set()
        restart.thread.join(30)
        if not plain.scheduler.running:  # stopped and not started again: the next test needs one
            plain.start_scheduler()


# -- 3. another terminal on a worker ------------------------------------------------------------------

OTHER_VERSION = "0.0.0.dev-other"


def test_a_worker_running_another_terminal_version_is_refused_and_runs_nothing(
    tmp_path: Path,
) -> None:
    # a copy of the terminal package, its version changed, ahead of the installed one
    site = tmp_path / "other-site"
    shutil.copytree(ROOT, site / "terminal", ignore=shutil.ignore_patterns("__pycache__"))
    init = site / "terminal" / "__init__.py"
    text = init.read_text()
    assert f'__version__ = "{terminal.__version__}"' in text
    init.write_text(text.replace(terminal.__version__, OTHER_VERSION, 1))
    other = start_cluster(tmp_path / "cluster", 1, env={**os.environ, "PYTHONPATH": str(site)})
    try:
        with pytest.raises(ClusterError) as refused:
            Cluster.connect(other.address)
        message = str(refused.value)
        assert re.search(
            rf"terminal {re.escape(OTHER_VERSION)} on tcp://127\.0\.0\.1:\d+ "
            rf"\(here {re.escape(terminal.__version__)}\)",
            message,
        ), message
        assert "numpy" not in message and "python" not in message  # the one difference, no other
        # nothing ran there: no task reached the scheduler, no candles reached the worker
        from distributed import Client

        from terminal.research.cluster import worker_side

        with Client(other.address, timeout=10, set_as_default=False) as look:
            # (a lambda: pickled by value, where a function of this module would be looked up
            # by its module's name, which the scheduler cannot import)
            assert look.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)) == []
            assert list(look.run(worker_side.held).values()) == [{}]
    finally:
        other.stop()


# -- 4. TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliCluster]:
    folder = tmp_path_factory.mktemp("tls")
    files = make_certificates(folder / "certificates", ("scheduler", "worker", "client", "stranger"))
    started = start_cluster(folder, 1, tls=files)
    yield started
    started.stop()


def tls_settings(tls: CliCluster, *, key_file: bool) -> ResearchSettings:
    assert tls.tls is not None
    client = tls.tls["client"]
    return ResearchSettings(
        compute="dask",
        dask_address=tls.address,
        tls_ca_file=str(client.ca),
        tls_cert_file=str(client.cert),
        tls_key_file=str(client.key) if key_file else "",
    )


def test_a_tls_cluster_with_the_key_in_a_file_runs_the_sweep_as_this_machine(
    candles: OHLCV, here: SweepResult, tls: CliCluster
) -> None:
    cluster = open_compute(tls_settings(tls, key_file=True))
    assert cluster is not None
    try:
        assert cluster.address == tls.address
        on_cluster = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster)
        assert rows(on_cluster.trials) == rows(here.trials)
    finally:
        cluster.close()


def test_plaintext_to_a_tls_scheduler_is_refused_in_plain_words(tls: CliCluster) -> None:
    plaintext = tls.address.replace("tls://", "tcp://")
    with pytest.raises(ClusterError) as refused:  # a scheduler on loopback may be reached in plaintext
        open_compute(ResearchSettings(compute="dask", dask_address=plaintext))
    said = refused.value.user_message()
    assert said.startswith(f"The scheduler at {plaintext} cannot be reached.")
    assert "tls://" in said  # the way out
    assert "Traceback" not in said and "\n" not in said


def secret_parts(pem: str) -> list[str]:
    """The key's text and each line of its body: none may appear anywhere."""
    return [pem.strip(), *(line for line in pem.splitlines() if line and not line.startswith("-----"))]


@pytest.mark.keyring
def test_a_tls_cluster_with_the_key_in_the_keyring_and_the_key_nowhere_else(
    candles: OHLCV, here: SweepResult, tls: CliCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    needs_keyring()
    assert tls.tls is not None
    pem = tls.tls["client"].key.read_text()
    keys = CredentialStore(service="terminal-cluster-cli-test")
    keys.save_secret(KEY_SECRET, pem)
    settings = tls_settings(tls, key_file=False)
    texts: list[str] = []
    dask_logger = logging.getLogger("distributed")
    level = dask_logger.level
    caplog.set_level(logging.DEBUG)
    dask_logger.addHandler(caplog.handler)  # Dask's records do not reach the root logger
    dask_logger.setLevel(logging.DEBUG)
    try:
        cluster = open_compute(settings, keys)
        assert cluster is not None
        try:
            on_cluster = run_sweep(candles, "sma_cross", SPACE, settings=FEES, workers=cluster)
            assert rows(on_cluster.trials) == rows(here.trials)
        finally:
            cluster.close()
        # a key in the keyring that is not the certificate's: refused, the key not in the words
        keys.save_secret(KEY_SECRET, tls.tls["stranger"].key.read_text())
        with pytest.raises(ClusterError) as refused:
            Cluster.connect(tls.address, security=security_of(settings, keys), timeout=3)
        texts += [describe(refused.value, detailed=True), repr(refused.value), str(refused.value.__cause__)]
        logging.getLogger("test").exception("connecting failed", exc_info=refused.value)
    finally:
        dask_logger.removeHandler(caplog.handler)
        dask_logger.setLevel(level)
        keys.delete_secret(KEY_SECRET)
    # the settings saved as the terminal saves them
    config = ConfigStore(tmp_path / "config.toml")
    config.change(research=settings)
    texts.append((tmp_path / "config.toml").read_text())
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    assert len(caplog.records) > 0 and "[redacted]" not in "".join(texts)
    for secret in secret_parts(pem) + secret_parts(tls.tls["stranger"].key.read_text()):
        assert not [t for t in texts if secret in t], "a private key's text was written out"


# -- 5. the addresses a user types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "taken"),
    [
        ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        ("tls://127.0.0.1:8786", "tls://127.0.0.1:8786"),
        ("  tcp://localhost:8786 ", "tcp://localhost:8786"),
        ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),  # a bare host:port is tcp, as Dask takes it
        ("tcp://[::1]:8786", "tcp://[::1]:8786"),
        ("tls://10.1.2.3:8786", "tls://10.1.2.3:8786"),  # off this machine but encrypted
    ],
)
def test_check_address_takes_tcp_and_tls_host_port(typed: str, taken: str) -> None:
    assert check_address(typed) == taken


@pytest.mark.parametrize(
    "typed",
    [
        "http://127.0.0.1:8786",
        "http://x",
        "tcp://127.0.0.1",
        "tcp://",
        "",
        "tcp://user:pass@127.0.0.1:8786",
        "tcp://127.0.0.1:8786/path",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1:port",
    ],
)
def test_check_address_refuses_what_is_not_a_scheduler_address(typed: str) -> None:
    with pytest.raises(ClusterError) as refused:
        check_address(typed)
    assert repr(typed.strip()) in str(refused.value) or f"'{typed}'" in str(refused.value)


def test_plaintext_off_this_machine_is_refused_unless_allowed_for_that_address() -> None:
    with pytest.raises(ClusterError) as refused:
        check_address("tcp://10.1.2.3:8786")
    said = refused.value.user_message()
    assert "not be encrypted" in said  # why
    assert "tls://" in said and "allow plaintext for 10.1.2.3:8786" in said  # how
    assert check_address("tcp://10.1.2.3:8786", ["10.1.2.3:8786"]) == "tcp://10.1.2.3:8786"
    assert check_address("10.1.2.3:8786", ["tcp://10.1.2.3:8786"]) == "tcp://10.1.2.3:8786"
    with pytest.raises(ClusterError):  # allowed for that address only
        check_address("tcp://10.1.2.3:8787", ["10.1.2.3:8786"])
    with pytest.raises(ClusterError):
        check_address("tcp://10.1.2.4:8786", ["10.1.2.3:8786"])
