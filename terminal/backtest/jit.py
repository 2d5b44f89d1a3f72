"""How the backtest's loops are compiled: numba, cached on disk, GIL released.

``nogil`` lets a worker thread run a backtest while the GUI thread keeps
painting. ``cache=True`` keeps the machine code between processes (numba
writes it next to the source, or under ``NUMBA_CACHE_DIR`` when that is set;
``terminal.backtest.warmup.configure_cache`` sets it). Where no cache
location works at all (a frozen build shipped without the ``.py`` sources,
which numba needs to find a cache folder), the functions are compiled
without the on-disk cache instead of failing to import.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from numba import njit

log = logging.getLogger(__name__)


def compiled[F: Callable[..., Any]](fn: F) -> F:
    """``fn`` compiled by numba in nopython mode, cached, without the GIL."""
    try:
        dispatcher = njit(cache=True, nogil=True)(fn)
    except RuntimeError as exc:  # numba found no folder for the cache
        log.warning("numba cache unavailable for %s (%s); compiling on each start", fn.__qualname__, exc)
        dispatcher = njit(cache=False, nogil=True)(fn)
    return cast(F, dispatcher)
