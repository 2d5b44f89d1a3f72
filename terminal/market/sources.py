"""Making the market source for an account: the simulator, or ccxt.

Market data needs no keys, so nothing here reads the keyring; private calls
(balances, orders) ask ``terminal.credentials`` when they happen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from terminal.config import SIMULATED, AccountSettings, Settings
from terminal.errors import ConfigError
from terminal.market.source import ExchangeSource

if TYPE_CHECKING:
    from terminal.market.simulator.market import SimulatedMarket

#: History to load on open from a real exchange (1m candles ≈ 3.5 days).
#: Real exchanges page 500-1000 candles a request, so more waits on their rate
#: limits; the local store (issue 4) will keep the rest.
CCXT_MAX_HISTORY = 5_000
#: The simulator makes history as fast as it is asked for.
SIMULATED_MAX_HISTORY = 50_000


def history_for(name: str) -> int:
    """Candles to load when a chart opens on the market ``name``."""
    return SIMULATED_MAX_HISTORY if name == SIMULATED else CCXT_MAX_HISTORY


def make_source(
    settings: Settings, name: str, seed: int | None = None, market: SimulatedMarket | None = None
) -> ExchangeSource:
    """The source for ``name``: "simulated" (a connection to ``market``, the process's
    one simulated market, or to a market of its own) or an account from the settings."""
    if name == SIMULATED:
        from terminal.market.simulator import SimulatedExchange

        if market is not None:
            return SimulatedExchange(market=market)
        sim = settings.simulator
        return SimulatedExchange(
            seed=seed if seed is not None else sim.seed, history_days=sim.history_days, speed=sim.speed
        )
    account = settings.account(name)
    if account is None:
        raise ConfigError(
            f"There is no account called '{name}'.", hint="Add it under [[accounts]] in config.toml."
        )
    return ccxt_source(account)


def ccxt_source(account: AccountSettings) -> ExchangeSource:
    from terminal.market.ccxt_source import CcxtSource

    return CcxtSource(
        account.exchange,
        sandbox=account.sandbox,
        rest_url=account.rest_url,
        ws_url=account.ws_url,
        options=account.options,
    )
