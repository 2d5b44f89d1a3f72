"""Where the data manager downloads history from: the user's accounts.

    sources = HistorySources(settings, lambda: [window.session])
    async with sources.source("binance-main") as source:
        await HistorySync(source, store, "binance-main").download(...)

An account that a window has open is served by that window's own source: its
markets are loaded already and its rate limiter is the one the live feed
obeys, so a download and the chart never hammer the exchange side by side.
Any other account gets a source of its own for the duration of the block,
closed on the way out.

The simulated exchange is not offered: it invents new history on each start,
so its candles are not worth keeping (and the session keeps none).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from terminal.config import Settings
from terminal.errors import ConfigError
from terminal.market.source import ExchangeSource
from terminal.market.sources import make_source

if TYPE_CHECKING:
    from terminal.market.session import MarketSession

log = logging.getLogger(__name__)


class HistorySources:
    """The accounts history can be downloaded from, and a ready source for each.

    ``sessions`` returns the market sessions open right now (it is called on
    every use: a window may have switched exchange since)."""

    def __init__(self, settings: Settings, sessions: Callable[[], list[MarketSession]]) -> None:
        self.settings = settings
        self.sessions = sessions
        self._symbols: dict[str, list[str]] = {}

    def names(self) -> list[str]:
        """The accounts, by name, in the order of the settings (read each time:
        accounts added in File → Accounts and keys appear at once)."""
        return [account.name for account in self.settings.accounts]

    def _session_on(self, name: str) -> MarketSession | None:
        return next((s for s in self.sessions() if s.store_name == name), None)

    @asynccontextmanager
    async def source(self, name: str) -> AsyncIterator[ExchangeSource]:
        """A source of account ``name`` with its markets loaded; a source made
        here is closed when the block ends (a window's own is left running)."""
        if name not in self.names():
            raise ConfigError(
                f"There is no account called '{name}' to download from.",
                hint="Add it in File → Accounts and keys.",
            )
        session = self._session_on(name)
        if session is not None:
            if not session.source.markets:
                await session.source.load_markets()
            yield session.source
            return
        # Making a ccxt exchange imports ccxt (half a second): not on the GUI thread.
        source = await asyncio.to_thread(make_source, self.settings, name)
        try:
            await source.load_markets()
            yield source
        finally:
            await source.close()

    async def symbols(self, name: str) -> list[str]:
        """The symbols account ``name`` lists, sorted (loaded once, then remembered)."""
        known = self._symbols.get(name)
        if known is None:
            async with self.source(name) as source:
                known = self._symbols[name] = sorted(source.markets)
        return known
