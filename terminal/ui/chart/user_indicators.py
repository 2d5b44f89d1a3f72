"""The user's own indicators (``.py`` files in the strategies folder) on the chart.

Their code runs in a strategies' process of its own (``StrategyWorker``), as the
user strategies' does, never in the window: the chart asks it for an indicator's
arrays, over the whole history when one is added and over a short tail on each
live candle. A call that takes longer than ``TIMEOUT_S`` stops that process (the
next call starts another) and the indicator says why in its legend.

``reload()`` scans the folder (in a worker thread; files that did not change are
not loaded again) and puts what it found in the catalogue; ``loaded`` tells the
window, which then draws saved indicators that were waiting for their file. A
file that does not load is said with its file and line, as for strategies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import QObject, Signal

from terminal.analysis.catalogue import set_user_specs
from terminal.analysis.user import user_specs
from terminal.backtest.strategy_worker import StrategyWorker
from terminal.errors import describe
from terminal.marketdata.candles import OHLCV

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
TIMEOUT_S = 10.0  # one computation of a user's indicator, at most


class UserIndicators(QObject):
    loaded = Signal()

    def __init__(self, folder: Path, post: Callable[..., object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = folder
        self._post = post
        self.worker = StrategyWorker(folder)
        self.names: list[str] = []
        self._errors_said: set[str] = set()

    def compute(
        self, name: str, params: Mapping[str, Any], candles: OHLCV
    ) -> tuple[NDArray[np.float64], ...]:
        arrays = self.worker.indicator(name, params, candles, timeout_s=TIMEOUT_S)
        return tuple(np.asarray(a, dtype=np.float64) for a in arrays)

    async def reload(self) -> None:
        if not self.folder.is_dir():
            return
        try:
            scan = await asyncio.to_thread(self.worker.scan)
        except Exception as exc:  # noqa: BLE001 - the chart goes on with the built-in indicators
            log.warning("User indicators not loaded: %s", describe(exc, detailed=True))
            self._post(f"User indicators not loaded: {describe(exc)}", bad=True)
            return
        specs, problems = user_specs(scan.indicators, self.compute)
        set_user_specs(specs)
        names = [s.key for s in specs]
        if names != self.names:
            log.info("User indicators from %s: %s", self.folder, ", ".join(names) or "none")
        self.names = names
        for error in scan.errors:  # a broken file: said once until it changes
            text = str(error)
            if text not in self._errors_said:
                self._errors_said.add(text)
                self._post(f"A file in {self.folder.name} did not load: {text}", bad=True)
        for problem in problems:
            self._post(problem + ".", bad=True)
        self.loaded.emit()

    async def close(self) -> None:
        await asyncio.to_thread(self.worker.close)
