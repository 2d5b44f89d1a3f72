"""Where a window and the trading accounts meet, as two narrow interfaces.

A window is a *seat*: it shows one market and trades it through whatever
broker it is given. What gives the broker (``PaperBrokers``: the paper
account of the market on screen, or the live one the user asked for) needs
only what ``TradingSeat`` names, not the whole window; the window needs only
what ``SeatAccounts`` names of it, set once by the composition root
(``PaperBrokers.manage``). Either side can be built and tested with a
stand-in for the other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from terminal.credentials import KeySource
    from terminal.market.session import MarketSession
    from terminal.store.candles import CandleStore
    from terminal.trading.broker import Broker
    from terminal.trading.journal import TradingJournal


class SeatAccounts(Protocol):
    """What a window asks of the accounts that trade its market."""

    def session_changed(self, session: MarketSession) -> None:
        """The window shows a new market session (after a switch): give it that market's
        broker (the old one has been dropped)."""

    def live_requested(self, live: bool) -> None:
        """The user asked to trade this window's exchange live (True) or on paper."""

    async def journal(self) -> TradingJournal:
        """The trading journal (every intent, check, request and fill)."""
        ...

    async def history_reopened(self, store: CandleStore) -> None:
        """The history file is open and writable again after a way out was taken:
        what was kept in memory is saved there from now on."""

    async def close(self) -> None:
        """The window is closing: close its broker (after the trading panels let go of it,
        before the market session stops)."""


class TradingSeat(Protocol):
    """What the accounts need of a window."""

    exchange: str  # the account (or "simulated") whose market the window shows
    session: MarketSession
    accounts: SeatAccounts | None  # set by PaperBrokers.manage

    @property
    def credentials(self) -> KeySource:
        """Where a live account's keys come from."""
        ...

    def set_broker(self, broker: Broker | None) -> None: ...

    def show_live(self, live: bool) -> None: ...

    def show_notice(self, text: str) -> None:
        """Say something above the chart that stays until dismissed."""

    def window(self) -> QWidget:
        """The top-level widget questions to the user are asked over."""
        ...
