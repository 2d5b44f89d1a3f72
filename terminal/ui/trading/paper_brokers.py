"""Giving each window the account it trades: the paper account of the market
it shows, or, when the user asks (Trade → Trade live), the live account with
the keys from the keyring, once the user has agreed to where they go when
that is not the exchange's own host (``key_confirmation``).

One paper account per exchange account ("simulated", "binance-main", ...),
saved in the history file, and one ``PaperBroker`` for it however many windows
show that exchange: every window on it trades the same account, and each
window's session feeds it what that window shows (``PaperBroker.add_market``).
A window gets it when it opens and again after each market switch (a switch
always comes back to paper); the broker closes when its last window leaves.

When the history file could not be opened, the paper accounts and the
journal start in memory; once a way out opens it again (``history_reopened``)
they are saved there: an account the file does not hold yet is saved as it
is, one it holds is loaded in place of this session's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from terminal.config import Settings
from terminal.errors import TerminalError, describe
from terminal.tasks import TaskGroup
from terminal.trading.paper.settings import paper_settings
from terminal.trading.settings import risk_limits

if TYPE_CHECKING:
    from terminal.market.session import MarketSession
    from terminal.store.candles import CandleStore
    from terminal.trading.broker import Broker
    from terminal.trading.journal import TradingJournal
    from terminal.trading.paper.broker import PaperBroker
    from terminal.ui.trading.seat import TradingSeat

log = logging.getLogger(__name__)


class PaperBrokers:
    def __init__(
        self,
        settings: Settings,
        history_store: Callable[[], CandleStore | None],
        settled: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.history_store = history_store  # blocks: the history file opens on first use
        self.brokers: dict[TradingSeat, Broker] = {}
        # Each exchange account's paper broker, shared by the windows on it, and the session
        # each window feeds it through; one lock per account, so that two windows attaching
        # together make one broker.
        self._paper: dict[str, PaperBroker] = {}
        self._fed_by: dict[TradingSeat, MarketSession] = {}
        self._making: dict[str, asyncio.Lock] = {}
        self._attaching: dict[TradingSeat, TaskGroup] = {}  # each window's broker changes
        # One audit journal for every account of every window, in the history file.
        self._journal: TradingJournal | None = None
        self._journal_lock = asyncio.Lock()
        # The history file opens, and the paper accounts load, once this is set: at once,
        # unless the app shares the event it sets when the first window shows candles. A
        # user's demand (the journal, live trading) sets it sooner.
        if settled is None:
            settled = asyncio.Event()
            settled.set()
        self.settled = settled

    async def journal(self) -> TradingJournal:
        """The shared trading journal, made on first use (the history file opens
        off the GUI thread; without it the journal is kept in memory)."""
        from terminal.trading.journal import TradingJournal

        self.settled.set()  # asked for: the paper accounts may load too
        async with self._journal_lock:
            if self._journal is None:
                self._journal = TradingJournal(await asyncio.to_thread(self.history_store))
            return self._journal

    async def shutdown(self) -> None:
        """Write what the journal still holds (after every window has closed its broker)."""
        if self._journal is not None:
            await self._journal.close()

    def manage(self, window: TradingSeat) -> None:
        """Give ``window`` its broker now and after every market switch, and
        close it when the window shuts down."""
        window.accounts = _Seated(self, window)
        self.attach(window, window.session)

    def settings_changed(self, changed: frozenset[str]) -> None:
        """New risk limits apply to every open account at once (``ConfigStore.subscribe``)."""
        if "trading" not in changed:
            return
        for window, broker in self.brokers.items():
            broker.set_limits(risk_limits(self.settings.trading, window.exchange, broker.kind))

    async def history_reopened(self, store: CandleStore) -> None:
        """The history file is open and writable again after starting without it:
        the journal and the paper accounts kept in memory are saved there from now on."""
        under_way = [task for tasks in self._attaching.values() for task in tasks]
        if under_way:
            await asyncio.wait(under_way)
        if self._journal is not None:
            self._journal.use_store(store)
        for account, broker in list(self._paper.items()):
            if broker.persisted or await broker.adopt_store(store):
                continue
            log.warning(
                "Paper account %s: opened anew on the history file, which holds one of that name "
                "(the one kept in memory this session is set aside).",
                account,
            )
            # every window on it moves to the one the file holds: a new broker, loaded from it
            windows = [w for w, b in self.brokers.items() if b is broker]
            del self._paper[account]
            for window in windows:
                self.brokers.pop(window, None)
                self._fed_by.pop(window, None)
            await broker.close()
            for window in windows:
                self.attach(window, window.session)

    async def attached(self) -> None:
        """Until every window attaching now has its account."""
        under_way = [task for tasks in self._attaching.values() for task in tasks]
        if under_way:
            await asyncio.wait(under_way)

    async def reset_account(self, account: str) -> bool:
        """Reset the paper account ``account`` to its start balances (journalled);
        False when no window trades it yet."""
        broker = self._paper.get(account)
        if broker is None:
            return False
        await broker.reset()
        return True

    def request_live(self, window: TradingSeat, live: bool) -> None:
        """Trade live on the window's exchange account (True) or go back to paper."""
        self.settled.set()
        self._tasks_of(window).spawn(self._switch_live(window, live), name="live broker")

    async def _switch_live(self, window: TradingSeat, live: bool) -> None:
        from terminal.trading.live.broker import LiveBroker
        from terminal.ui.accounts.key_confirmation import approve_key_destinations

        session = window.session
        account = self.settings.account(window.exchange)
        if not live or account is None:
            if account is None and live:
                window.show_notice("The simulated market has no live account: it trades on paper.")
            window.show_live(False)
            await self._attach(window, session)
            return
        try:  # before the keys are read: they go nowhere the user has not agreed to
            destinations = await approve_key_destinations(window.window(), account, "Trading live")
        except TerminalError as exc:
            log.warning("Live trading on %s not started: %s", account.name, describe(exc, detailed=True))
            window.show_notice(f"Live trading on {account.name} did not start: {exc.user_message()}")
            window.show_live(False)
            return
        if window.session is not session:  # the market changed while the user was asked
            window.show_live(False)
            return
        broker = LiveBroker(
            account,
            credentials=window.credentials,
            limits=risk_limits(self.settings.trading, account.name, "live"),
            book=lambda symbol: session.book if symbol == session.symbol else None,
            symbols=session.watchlist,
            journal=await self.journal(),
        )
        try:
            await broker.start()
        except TerminalError as exc:
            await broker.close()
            log.error("Live trading on %s did not start: %s", account.name, describe(exc, detailed=True))
            window.show_notice(f"Live trading on {account.name} did not start: {exc.user_message()}")
            window.show_live(False)
            return
        if window.session is not session:  # the market changed meanwhile: back to paper there
            await broker.close()
            window.show_live(False)
            return
        await self._release(window)  # its paper account goes on for the other windows
        self.brokers[window] = broker
        window.set_broker(broker)
        window.show_live(True)
        real = f"Live trading on {account.name} ({destinations.summary()}): orders from this window are real."
        log.warning("%s", real)
        window.show_notice(real)

    def attach(self, window: TradingSeat, session: MarketSession) -> None:
        self._tasks_of(window).spawn(self._attach(window, session), name="paper broker")

    def _tasks_of(self, window: TradingSeat) -> TaskGroup:
        tasks = self._attaching.get(window)
        if tasks is None:

            def failed(exc: BaseException, name: str) -> None:
                problem = f"The {window.exchange} trading account could not be opened: {describe(exc)}"
                window.show_notice(problem)

            tasks = self._attaching[window] = TaskGroup("trading account", on_error=failed, logger=log)
        return tasks

    async def close(self, window: TradingSeat) -> None:
        tasks = self._attaching.pop(window, None)
        if tasks is not None:
            # a quit during the start-up: nothing was loaded, load nothing
            await tasks.close(cancel=not self.settled.is_set())
        await self._release(window)

    async def _attach(self, window: TradingSeat, session: MarketSession) -> None:
        await self.settled.wait()  # not on the first candles' path (see __init__)
        await self._release(window)
        window.show_live(False)
        broker = await self._paper_broker(window.exchange, session)
        if window.session is not session:  # switched again meanwhile: that switch brings its own
            await self._leave(broker, session)
            return
        self.brokers[window] = broker
        self._fed_by[window] = session
        window.set_broker(broker)  # after start(): the panels read it at once

    async def _paper_broker(self, account: str, session: MarketSession) -> PaperBroker:
        """The account's paper broker, fed by ``session`` too; made and started by the
        first window on that exchange."""
        from terminal.trading.paper.broker import PaperBroker

        async with self._making.setdefault(account, asyncio.Lock()):
            broker = self._paper.get(account)
            if broker is not None:
                broker.add_market(session)
                return broker
            trading = self.settings.trading
            broker = PaperBroker(
                session,
                account=account,
                settings=paper_settings(trading.paper),
                limits=risk_limits(trading, account, "paper"),
                store=await asyncio.to_thread(self.history_store),
                journal=await self.journal(),
            )
            await broker.start()
            self._paper[account] = broker
            return broker

    async def _release(self, window: TradingSeat) -> None:
        """``window`` trades nothing now: its live broker closes; its paper account goes on
        for the other windows on that exchange (and closes with the last one)."""
        broker = self.brokers.pop(window, None)
        session = self._fed_by.pop(window, None)
        if broker is None:
            return
        if session is not None and self._paper.get(broker.account) is broker:
            await self._leave(broker, session)  # type: ignore[arg-type]
        else:
            await broker.close()

    async def _leave(self, broker: PaperBroker, session: MarketSession) -> None:
        if broker.remove_market(session) and self._paper.get(broker.account) is broker:
            del self._paper[broker.account]
            await broker.close()


class _Seated:
    """One window's side of the accounts (``SeatAccounts``)."""

    def __init__(self, brokers: PaperBrokers, window: TradingSeat) -> None:
        self._brokers, self._window = brokers, window

    def session_changed(self, session: MarketSession) -> None:
        self._brokers.attach(self._window, session)

    def live_requested(self, live: bool) -> None:
        self._brokers.request_live(self._window, live)

    async def journal(self) -> TradingJournal:
        return await self._brokers.journal()

    async def history_reopened(self, store: CandleStore) -> None:
        await self._brokers.history_reopened(store)

    async def close(self) -> None:
        await self._brokers.close(self._window)
