"""The backtest form as the user left it, kept across restarts: the strategy
and its parameters, costs, sizing, stops and direction, and the candles and
range tested on.

It is the panel's own state, like the window's layout, so it lives beside
the layout in the config folder as a small JSON file (``backtest.json``),
written whole or not at all (``terminal.atomic_file``), never in
``config.toml``, which holds what the user configures. The file is read
with suspicion: a part that is missing, of the wrong shape, or that no
longer validates (a strategy whose parameters changed, a deleted strategy
file) is dropped with a note, and the form keeps its defaults for it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.atomic_file import atomic_text
from terminal.store.candles import SeriesKey
from terminal.ui.backtest.data_picker import CHART

log = logging.getLogger(__name__)

FILE_NAME = "backtest.json"
VERSION = 1


@dataclass
class SavedForm:
    """What the form held, as plain JSON values; each part checked when applied."""

    strategy: str = ""
    #: the strategy's title, for a note while a user strategy is not loaded yet
    strategy_title: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    #: ``BacktestSettings.model_dump(mode="json")``, or None when never valid
    settings: dict[str, Any] | None = None
    #: the settings the user chose that otherwise follow the market (fees, amount step)
    chosen: list[str] = field(default_factory=list)
    #: ``CHART`` or a stored series
    source: SeriesKey | str = CHART
    whole: bool = True
    start_ms: int | None = None
    end_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        source: Any = self.source
        if isinstance(source, SeriesKey):
            source = {"exchange": source.exchange, "symbol": source.symbol, "timeframe": source.timeframe}
        return {
            "version": VERSION,
            "strategy": {"name": self.strategy, "title": self.strategy_title, "params": self.params},
            "settings": self.settings,
            "chosen": self.chosen,
            "data": {"source": source, "whole": self.whole, "start_ms": self.start_ms, "end_ms": self.end_ms},
        }

    @classmethod
    def from_json(cls, data: object) -> SavedForm:
        """The parts of ``data`` that have the right shape; the others as defaults."""
        saved = cls()
        if not isinstance(data, dict):
            return saved
        strategy = data.get("strategy")
        if isinstance(strategy, dict):
            saved.strategy = _text(strategy.get("name"))
            saved.strategy_title = _text(strategy.get("title"))
            params = strategy.get("params")
            saved.params = (
                {k: v for k, v in params.items() if isinstance(k, str)} if isinstance(params, dict) else {}
            )
        settings = data.get("settings")
        saved.settings = settings if isinstance(settings, dict) else None
        chosen = data.get("chosen")
        saved.chosen = [c for c in chosen if isinstance(c, str)] if isinstance(chosen, list) else []
        candles = data.get("data")
        if isinstance(candles, dict):
            saved.source = _source(candles.get("source"))
            saved.whole = candles.get("whole") is not False
            saved.start_ms, saved.end_ms = _ms(candles.get("start_ms")), _ms(candles.get("end_ms"))
        return saved


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _ms(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def _source(value: object) -> SeriesKey | str:
    if isinstance(value, dict):
        parts = [value.get(k) for k in ("exchange", "symbol", "timeframe")]
        if all(isinstance(p, str) and p for p in parts):
            return SeriesKey(*parts)  # type: ignore[arg-type]  # three non-empty strings, checked
    return CHART


class FormMemory:
    """Reads and writes the saved form at ``path``; never raises for a bad or
    unwritable file (the form then starts from its defaults, or is not kept)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[SavedForm | None, str]:
        """The saved form (None when there is none) and a note when the file could not be read."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, ""
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Backtest form not restored: cannot read %s: %s", self.path, exc)
            return None, "The backtest form's last set-up could not be read; it starts from the defaults."
        try:
            data = json.loads(text)
        except ValueError as exc:
            log.warning("Backtest form not restored: %s is not JSON: %s", self.path, exc)
            return None, "The backtest form's last set-up could not be read; it starts from the defaults."
        return SavedForm.from_json(data), ""

    def save(self, form: SavedForm) -> bool:
        """Write ``form`` (whole or not at all); False, logged, when it could not be."""
        try:
            text = json.dumps(form.to_json(), indent=2, default=str)
            with atomic_text(self.path, None, private=True) as f:
                f.write(text + "\n")
        except (OSError, ValueError, TypeError) as exc:
            log.warning("Backtest form not kept: cannot write %s: %s", self.path, exc)
            return False
        return True
