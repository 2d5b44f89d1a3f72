"""A connection to the Dask cluster research jobs run on: a local cluster the
terminal starts (worker processes on this machine), or a scheduler at an address
the user gives (``tcp://`` or ``tls://host:port``), as Dask's own ``Client``.

On connecting the terminal checks the cluster's versions (``versions.py``) and
refuses a mismatch; it refuses a plaintext (``tcp://``) address off this machine
unless the user allowed that address (the trials, the candles and the strategy's
source would cross the network readable by anyone on the way). ``Cluster.workers``
says what the Research panel shows: each worker, its threads and load, and the
trials/s it ran for the terminal.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from terminal.errors import TerminalError
from terminal.research.cluster import versions

log = logging.getLogger(__name__)

#: seconds to reach a scheduler before saying it cannot be reached
CONNECT_TIMEOUT_S = 10.0
SCHEMES = ("tcp", "tls")


class ClusterError(TerminalError):
    """The cluster cannot be used: unreachable, refused, or not like this terminal."""


@dataclass(frozen=True)
class WorkerState:
    address: str
    threads: int
    running: int  # tasks executing now
    memory_mb: float
    trials: int  # trials it ran for this terminal since it connected
    seconds: float  # the time those took there

    @property
    def trials_per_s(self) -> float:
        return self.trials / self.seconds if self.seconds > 0 else 0.0


def check_address(address: str, allowed_plaintext: Sequence[str] = ()) -> str:
    """``address`` as Dask takes it, or ClusterError saying what is wrong with it."""
    text = address.strip()
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    try:
        port = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        port = None
    if parts.scheme not in SCHEMES or not parts.hostname or not port:
        raise ClusterError(
            f"'{address}' is not a scheduler address.", hint="Give it as tcp://host:port or tls://host:port."
        )
    if parts.username or parts.password or parts.path not in ("", "/"):
        raise ClusterError(f"'{address}' must be only scheme://host:port.")
    clean = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme == "tcp" and not on_this_machine(parts.hostname):
        hostport = parts.netloc
        if hostport not in allowed_plaintext and clean not in allowed_plaintext:
            raise ClusterError(
                f"The scheduler {clean} is off this machine and the connection would not be encrypted: "
                "the candles, the trials and your strategy's source would cross the network in the clear.",
                hint=f"Use tls:// with your certificates, or allow plaintext for {hostport} in Settings "
                "(research.allow_plaintext) if that network is yours alone.",
            )
    return clean


def on_this_machine(host: str) -> bool:
    """Whether ``host`` is a loopback address or names one."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0])).is_loopback for i in infos)


class Cluster:
    """The terminal's connection to one cluster (``Cluster.local`` or ``Cluster.connect``)."""

    def __init__(self, client: Any, description: str, *, local: Any = None, address: str = "") -> None:
        self.client = client
        self.description = description
        self.address = address or str(client.scheduler.address)
        self._local = local
        self._lock = threading.Lock()
        self._ran: dict[str, tuple[int, float]] = {}
        #: told of what a job waits for ("the scheduler is lost: waiting for it"), from any thread
        self.on_status: Callable[[str], None] | None = None

    # -- opening ---------------------------------------------------------------------------------------
    @classmethod
    def local(cls, workers: int | None = None, *, check: bool = True) -> Cluster:
        """A cluster of ``workers`` processes on this machine (one per core by default),
        one thread each: Dask's ``LocalCluster``."""
        import os

        from distributed import Client, LocalCluster

        n = workers or os.cpu_count() or 1
        local = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        client = Client(local, timeout=CONNECT_TIMEOUT_S)
        cluster = cls(client, f"a local Dask cluster of {n} worker{'s' if n > 1 else ''}", local=local)
        if check:
            cluster.check_versions()
        return cluster

    @classmethod
    def in_process(cls, workers: int = 1) -> Cluster:
        """A cluster of worker threads in this process (the installed app's self-test)."""
        from distributed import Client, LocalCluster

        local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False, dashboard_address=None)
        return cls(Client(local, timeout=CONNECT_TIMEOUT_S), "an in-process Dask cluster", local=local)

    @classmethod
    def connect(
        cls,
        address: str,
        *,
        security: Any = None,
        allowed_plaintext: Sequence[str] = (),
        timeout: float = CONNECT_TIMEOUT_S,
    ) -> Cluster:
        """The scheduler at ``address``, checked (``check_address``, versions)."""
        from distributed import Client

        clean = check_address(address, allowed_plaintext)
        if clean.startswith("tls://") and security is None:
            raise ClusterError(
                f"{clean} needs certificates.",
                hint="Set the certificate authority, your certificate and key.",
            )
        try:
            client = Client(clean, security=security, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            hint = "Check that it runs and that this machine may connect to it."
            if clean.startswith("tcp://"):  # a TLS scheduler hangs up on plaintext at once
                hint += " If it uses TLS, give its address as tls://host:port, with your certificates."
            raise ClusterError(
                f"The scheduler at {clean} cannot be reached.",
                hint=hint,
                detail=f"{type(exc).__name__}: {exc}",
            ) from exc
        cluster = cls(client, clean, address=clean)
        try:
            cluster.check_versions()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def check_versions(self) -> None:
        """ClusterError naming every version that differs from this terminal's."""
        try:
            found = versions.cluster_versions(self.client)
        except ModuleNotFoundError as exc:
            raise ClusterError(
                f"The workers of {self.description} do not have the terminal installed.",
                hint="Install it there from its checkout, as packaging/worker/README.md says.",
                detail=str(exc),
            ) from exc
        if not any(where != "the scheduler" for where in found):
            raise ClusterError(
                f"{self.description} has no worker yet.", hint="Start a worker, then try again."
            )
        wrong = versions.mismatches(versions.local_versions(), found)
        if wrong:
            raise ClusterError(
                f"{self.description} does not run what this terminal runs: " + "; ".join(wrong) + ".",
                hint="Install the same versions there; a trial must give the same result everywhere.",
            )

    # -- what it has -----------------------------------------------------------------------------------
    @property
    def dashboard(self) -> str | None:
        """The address of the cluster's dashboard, when its scheduler serves one (it
        needs bokeh there: without it Dask still forms a link, to nothing)."""
        try:
            if "dashboard" not in self.client.scheduler_info(n_workers=0).get("services", {}):
                return None
            link = self.client.dashboard_link
        except Exception:  # noqa: BLE001 - no dashboard to show, whatever the reason
            return None
        return str(link) if link else None

    def threads(self) -> int:
        """The worker threads the cluster has now (the scheduler's own count, cheap)."""
        if not self.connected:
            return 0  # see _workers_info
        try:
            return int(sum(self.client.nthreads().values()))
        except (OSError, RuntimeError):  # lost between the look and the question ("pool is closed")
            return 0

    def worker_count(self) -> int:
        return len(self._workers_info())

    def workers(self) -> list[WorkerState]:
        info = self._workers_info()
        with self._lock:
            ran = dict(self._ran)
        out = []
        for address, w in sorted(info.items()):
            metrics = w.get("metrics", {})
            trials, seconds = ran.get(address, (0, 0.0))
            out.append(
                WorkerState(
                    address=address,
                    threads=int(w.get("nthreads", 0)),
                    running=int(metrics.get("task_counts", {}).get("executing", metrics.get("executing", 0))),
                    memory_mb=float(metrics.get("memory", 0)) / 2**20,
                    trials=trials,
                    seconds=seconds,
                )
            )
        return out

    def _workers_info(self) -> dict[str, Any]:
        """The scheduler's record of each worker; none while the scheduler is lost: a
        question then waits for Dask's connect timeout and raises, so a job could
        neither say it waits nor pause (``ClusterEvaluator._reconnect``)."""
        if not self.connected:
            return {}
        try:
            return dict(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        except (OSError, RuntimeError):  # lost between the look and the question
            return {}

    def ran(self, worker: str, trials: int, seconds: float) -> None:
        """Count a batch a worker ran (trials/s per worker on screen)."""
        with self._lock:
            done, took = self._ran.get(worker, (0, 0.0))
            self._ran[worker] = (done + trials, took + seconds)

    def status(self, text: str) -> None:
        log.info("Research cluster: %s", text)
        if self.on_status is not None:
            self.on_status(text)

    @property
    def connected(self) -> bool:
        return str(self.client.status) == "running"

    def wait_connected(self, stop: Callable[[], bool], poll_s: float = 0.25) -> bool:
        """Block until the client is connected again (Dask reconnects by itself for a
        while, then this opens a new client to the same address); False if ``stop``."""
        from distributed import Client

        while not stop():
            if self.connected:
                return True
            if str(self.client.status) in ("closed", "closing", "failed") and self._local is None:
                try:
                    self.client = Client(self.address, security=self.client.security, timeout=2,
                                         set_as_default=False)  # fmt: skip
                    continue
                except (OSError, TimeoutError):
                    pass
            time.sleep(poll_s)
        return False

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._local is not None:
                self._local.close()
