"""The versions a cluster must share with the terminal, checked on connecting.

A trial on a worker must equal the same trial on this machine bit for bit, and
the objects that travel (the candles, the settings, the outcomes) are pickled on
one side and read on the other. So the scheduler and every worker must run the
same Python (major.minor: pickle and numba's caches), numpy, numba, dask,
distributed and terminal as the terminal itself; a mismatch is refused with a
message naming each difference and where it is.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata
from typing import Any

#: the packages whose versions must be equal, besides Python
PACKAGES = ("numpy", "numba", "dask", "distributed", "terminal")


def local_versions() -> dict[str, str]:
    """This process's versions, as ``remote_versions`` reports a worker's."""
    found = {"python": ".".join(platform.python_version_tuple()[:2])}
    for name in PACKAGES:
        found[name] = _version(name)
    return found


def _version(name: str) -> str:
    if name == "terminal":
        from terminal import __version__

        return __version__
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def report() -> dict[str, str]:
    """What a worker or the scheduler answers when asked (``Client.run``)."""
    return local_versions()


def mismatches(ours: Mapping[str, str], theirs: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Each difference as "numpy 2.1.0 on tcp://10.0.0.7:40133 (here 2.5.5)"."""
    found = []
    for where, versions in theirs.items():
        for name, want in ours.items():
            have = versions.get(name, "unknown")
            if have != want:
                found.append(f"{name} {have} on {where} (here {want})")
    return found


def cluster_versions(client: Any) -> dict[str, dict[str, str]]:
    """The versions of the scheduler and of every worker, by address."""
    workers: dict[str, dict[str, str]] = client.run(report)
    scheduler: dict[str, str] = client.run_on_scheduler(report)
    return {"the scheduler": scheduler, **workers}
