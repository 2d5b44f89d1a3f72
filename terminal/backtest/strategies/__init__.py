"""The built-in strategies and the registry that lists them by name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from terminal.backtest.errors import BacktestError
from terminal.backtest.strategies.breakout import AtrBreakout, DonchianBreakout
from terminal.backtest.strategies.crossover import EmaCross, SmaCross
from terminal.backtest.strategies.levels import SupportResistanceRsi
from terminal.backtest.strategies.reversion import BollingerReversion, RsiReversion
from terminal.backtest.strategy import Strategy

StrategyClass = type[Strategy[Any]]

BUILTIN: Mapping[str, StrategyClass] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            SmaCross,
            EmaCross,
            RsiReversion,
            BollingerReversion,
            DonchianBreakout,
            AtrBreakout,
            SupportResistanceRsi,
        )
    }
)


def strategy_by_name(name: str, extra: Mapping[str, StrategyClass] | None = None) -> StrategyClass:
    """The built-in (or, from ``extra``, user) strategy called ``name``."""
    found = BUILTIN.get(name) or (extra or {}).get(name)
    if found is None:
        known = ", ".join(sorted({*BUILTIN, *(extra or {})}))
        raise BacktestError(f"There is no strategy called {name!r}.", hint=f"Known strategies: {known}.")
    return found


__all__ = [
    "BUILTIN",
    "AtrBreakout",
    "BollingerReversion",
    "DonchianBreakout",
    "EmaCross",
    "RsiReversion",
    "SmaCross",
    "StrategyClass",
    "SupportResistanceRsi",
    "strategy_by_name",
]
