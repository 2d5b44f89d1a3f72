"""``dask scheduler`` and ``dask worker`` started as a user starts them on other
machines (this environment's ``dask`` command, loopback only), for
tests/research/test_cluster_cli.py; and the certificates of a TLS cluster, made
with ``cryptography`` (a certificate authority and one certificate per role).

Each command runs in its own process group, so that stopping it ends what it
started too (a worker's nanny starts the worker process); its output goes to a
log file the failure messages quote. Readiness is polled with a Dask ``Client``,
never waited for with a fixed sleep.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the ``dask`` command of the environment the tests run in
DASK = Path(sys.executable).parent / "dask"
#: how long a scheduler and its workers may take to start on a busy two-core machine
READY_S = 90.0


def free_port() -> int:
    """A TCP port free on loopback now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    """One role's files: the certificate authority, its certificate and its private key."""

    ca: Path
    cert: Path
    key: Path

    def args(self) -> list[str]:
        """The ``dask scheduler`` / ``dask worker`` options that name them."""
        return ["--tls-ca-file", str(self.ca), "--tls-cert", str(self.cert), "--tls-key", str(self.key)]

    def security(self) -> Any:
        """Dask's ``Security`` for a client with these files."""
        from distributed.security import Security

        return Security(
            tls_ca_file=str(self.ca),
            tls_client_cert=str(self.cert),
            tls_client_key=str(self.key),
            require_encryption=True,
        )


class DaskProcess:
    """One ``dask`` command in its own process group, its output in ``log``."""

    def __init__(self, args: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> None:
        self.args = [str(DASK), *args]
        self.log = log
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaskProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.log.parent,
                start_new_session=True,
            )  # fmt: skip
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, how: signal.Signals = signal.SIGTERM, grace_s: float = 10.0) -> None:
        """Send ``how`` to its process group, and SIGKILL the group if it has not
        ended within ``grace_s``; the process is reaped either way."""
        process = self.process
        if process is None:
            return
        _signal_group(process.pid, how)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(grace_s)
        _signal_group(process.pid, signal.SIGKILL)  # whatever it started and left behind

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, how: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has ended already
        os.killpg(pid, how)


class SupervisedWorker:
    """``dask worker`` started again each time it ends, as a supervisor does it
    (systemd's ``Restart=always``, a container's ``--restart=always``).

    A ``dask worker`` does not outlive its scheduler: when the connection breaks,
    the worker closes and tells its nanny to close, and the command exits (there is
    no option to make it wait and reconnect; ``--death-timeout`` only bounds how long
    a *starting* worker waits for the scheduler, by default for ever). So a worker
    that is to come back to a scheduler started again must be restarted by whatever
    runs it; started again while the scheduler is still down, it waits for it.
    ``starts`` counts how often the command was started."""

    def __init__(self, args: Sequence[str], folder: Path, env: Mapping[str, str] | None = None) -> None:
        self._args, self._folder, self._env = list(args), folder, env
        self._lock = threading.Lock()
        self._stopping = False
        self.starts = 0
        self.current: DaskProcess | None = None
        self._thread = threading.Thread(target=self._supervise, name="dask-worker-supervisor", daemon=True)

    def start(self) -> SupervisedWorker:
        self._thread.start()
        return self

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self.starts += 1
                self.current = DaskProcess(self._args, self._folder / f"worker-{self.starts}.log", self._env)
                process = self.current.start().process
            assert process is not None
            process.wait()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            current = self.current
        if current is not None:
            current.stop()
        self._thread.join(30)

    def tail(self) -> str:
        current = self.current
        return current.tail() if current is not None else ""


def scheduler_args(port: int, tls: TlsFiles | None = None) -> list[str]:
    """``dask scheduler`` on loopback at ``port`` (``tls://`` when given files)."""
    args = ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", "--no-show"]
    if tls is not None:
        args += ["--protocol", "tls", *tls.args()]
    return args


def worker_args(address: str, folder: Path, tls: TlsFiles | None = None) -> list[str]:
    """``dask worker`` of one thread on loopback, for the scheduler at ``address``."""
    args = ["worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
            "--local-directory", str(folder)]  # fmt: skip
    if tls is not None:
        args += tls.args()
    return args


def wait_for_workers(
    address: str,
    count: int,
    processes: Sequence[DaskProcess | SupervisedWorker],
    security: Any = None,
    timeout: float = READY_S,
) -> None:
    """Poll the scheduler at ``address`` with a client until ``count`` workers have
    joined; fails with the processes' logs if one ended or the time is up."""
    from distributed import Client

    deadline = time.monotonic() + timeout
    while True:
        for process in processes:
            assert not isinstance(process, DaskProcess) or process.running, (
                f"{process.args} ended:\n{process.tail()}"
            )
        left = deadline - time.monotonic()
        assert left > 0, f"{count} workers did not join {address} in {timeout:.0f} s:\n" + "\n".join(
            p.tail() for p in processes
        )
        try:
            with Client(address, security=security, timeout=min(5.0, left), set_as_default=False) as client:
                client.wait_for_workers(count, timeout=min(5.0, left))
                return
        except (OSError, TimeoutError):
            time.sleep(0.1)  # not up yet: poll again


@dataclass
class CliCluster:
    """A ``dask scheduler`` and its supervised ``dask worker`` commands."""

    folder: Path
    port: int
    tls: dict[str, TlsFiles] | None
    scheduler: DaskProcess
    workers: list[SupervisedWorker] = field(default_factory=list)
    schedulers: int = 1

    @property
    def address(self) -> str:
        return f"{'tls' if self.tls else 'tcp'}://127.0.0.1:{self.port}"

    def start_scheduler(self) -> None:
        """A scheduler again, on the same port."""
        self.schedulers += 1
        tls = self.tls["scheduler"] if self.tls else None
        log = self.folder / f"scheduler-{self.schedulers}.log"
        self.scheduler = DaskProcess(scheduler_args(self.port, tls), log).start()

    def wait_ready(self, workers: int) -> None:
        security = self.tls["client"].security() if self.tls else None
        wait_for_workers(self.address, workers, [self.scheduler, *self.workers], security)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.scheduler.stop()


def start_cluster(
    folder: Path, workers: int, *, tls: dict[str, TlsFiles] | None = None, env: dict[str, str] | None = None
) -> CliCluster:
    """A scheduler on a free loopback port and ``workers`` workers (``env`` for the
    workers' commands), ready: every worker has joined."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = scheduler_args(port, tls["scheduler"] if tls else None)
    scheduler = DaskProcess(args, folder / "scheduler-1.log")
    cluster = CliCluster(folder, port, tls, scheduler.start())
    try:
        for n in range(workers):
            place = folder / f"worker{n}"
            place.mkdir()
            args = worker_args(cluster.address, place, tls["worker"] if tls else None)
            cluster.workers.append(SupervisedWorker(args, place, env).start())
        cluster.wait_ready(workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster


# -- certificates ------------------------------------------------------------------------------------


def make_certificates(folder: Path, roles: Sequence[str]) -> dict[str, TlsFiles]:
    """A certificate authority and, for each role, a key and a certificate it signed
    for 127.0.0.1 and localhost, good as server and as client (a worker is both);
    written to ``folder`` as PEM, the keys 0600."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "terminal test cluster CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    made = {}
    for role in roles:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"terminal test {role}")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_path, key_path = folder / f"{role}.crt", folder / f"{role}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.touch(mode=0o600)
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        made[role] = TlsFiles(ca_path, cert_path, key_path)
    return made
