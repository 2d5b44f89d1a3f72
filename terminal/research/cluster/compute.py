"""The compute setting made real: which ``Cluster`` a research job runs on (or
None: this machine's worker pool), opened from ``ResearchSettings``.

TLS: Dask's ``Security`` with the user's certificate authority and certificate
(files) and private key: from the keyring (``KEY_SECRET``, what Settings stores)
or a file the user names. A key from the keyring is handed to Dask as text, which
Dask writes to a private temporary directory only while it builds the TLS context.
The key never goes into the config file, the history file or a log (the keyring
store marks its text as a secret to mask).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terminal.config import ResearchSettings
from terminal.credentials import CredentialStore
from terminal.research.cluster.connect import Cluster, ClusterError

log = logging.getLogger(__name__)

#: the keyring entry (``CredentialStore.save_secret``) of the TLS private key
KEY_SECRET = "research-tls-key"


@dataclass(frozen=True)
class ComputeChoice:
    """What a job is to run on, in words too (``where``)."""

    kind: str  # "local", "dask-local", "dask"
    address: str = ""

    @property
    def where(self) -> str:
        if self.kind == "local":
            return "this machine (worker processes)"
        if self.kind == "dask-local":
            return "a local Dask cluster"
        return f"the Dask cluster at {self.address}"

    @classmethod
    def of(cls, settings: ResearchSettings) -> ComputeChoice:
        return cls(settings.compute, settings.dask_address.strip())


def security_of(settings: ResearchSettings, keys: CredentialStore | None) -> Any:
    """Dask's ``Security`` for a ``tls://`` scheduler, or None when there is nothing to set."""
    ca, cert = settings.tls_ca_file.strip(), settings.tls_cert_file.strip()
    if not ca and not cert:
        return None
    for what, path in (("certificate authority", ca), ("certificate", cert)):
        if not path or not Path(path).expanduser().is_file():
            raise ClusterError(
                f"The cluster's {what} file {path or '(none)'} cannot be read.",
                hint="Set it in Settings, research section (a PEM file).",
            )
    key: str | None = None
    if settings.tls_key_file.strip():
        key_path = Path(settings.tls_key_file.strip()).expanduser()
        if not key_path.is_file():
            raise ClusterError(f"The private key file {key_path} cannot be read.")
        key = str(key_path)
    elif keys is not None:
        key = keys.load_secret(KEY_SECRET)
    if key is None:
        raise ClusterError(
            "The TLS private key is neither in the keyring nor in a file.",
            hint="Store it with Settings (it goes to the keyring), or name its file there.",
        )
    from distributed.security import Security

    return Security(
        tls_ca_file=str(Path(ca).expanduser()),
        tls_client_cert=str(Path(cert).expanduser()),
        tls_client_key=key,
        require_encryption=True,
    )


def open_compute(settings: ResearchSettings, keys: CredentialStore | None = None) -> Cluster | None:
    """The cluster ``settings`` name (None for this machine's worker processes).
    Blocking (it starts or reaches a cluster): call it off the GUI thread."""
    choice = ComputeChoice.of(settings)
    if choice.kind == "local":
        return None
    if choice.kind == "dask-local":
        return Cluster.local()
    return Cluster.connect(
        choice.address,
        security=security_of(settings, keys) if choice.address.startswith("tls://") else None,
        allowed_plaintext=settings.allow_plaintext,
    )


class ComputeHolder:
    """The cluster research jobs run on, opened when a job first needs it (blocking:
    from the job's thread) and kept open while the setting stays the same; closed
    and opened anew when it changes. None: this machine's worker processes."""

    def __init__(self, keys: CredentialStore | None = None) -> None:
        self.keys = keys
        self._lock = threading.Lock()
        self._cluster: Cluster | None = None
        self._for: ResearchSettings | None = None

    @property
    def cluster(self) -> Cluster | None:
        return self._cluster

    def get(self, settings: ResearchSettings) -> Cluster | None:
        with self._lock:
            same = self._for is not None and self._for.model_dump() == settings.model_dump()
            if same and (self._cluster is None or self._cluster.connected):
                return self._cluster
            self._close()
            cluster = open_compute(settings, self.keys)
            self._cluster, self._for = cluster, settings.model_copy()
            return cluster

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        cluster, self._cluster, self._for = self._cluster, None, None
        if cluster is not None:
            try:
                cluster.close()
            except Exception:
                log.debug("closing the research cluster failed", exc_info=True)
