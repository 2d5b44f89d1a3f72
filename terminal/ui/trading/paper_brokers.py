"""Giving each window the paper account of the market it shows.

One paper account per exchange account ("simulated", "binance-main", ...),
saved in the history file. A window gets a ``PaperBroker`` on its session when
it opens and again after each market switch (the old one is closed first).
Two windows on the same exchange would save over each other's account, so
the second one trades a separate paper account kept in memory only, and says
so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from terminal.config import Settings

if TYPE_CHECKING:
    from terminal.market.session import MarketSession
    from terminal.store.candles import CandleStore
    from terminal.trading.paper_broker import PaperBroker
    from terminal.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class PaperBrokers:
    def __init__(self, settings: Settings, history_store: Callable[[], CandleStore | None]) -> None:
        self.settings = settings
        self.history_store = history_store  # blocks: the history file opens on first use
        self.brokers: dict[MainWindow, PaperBroker] = {}
        self._attaching: dict[MainWindow, set[asyncio.Task[None]]] = {}

    def manage(self, window: MainWindow) -> None:
        """Give ``window`` its broker now and after every market switch, and
        close it when the window shuts down."""
        window.on_session_changed = partial(self.attach, window)
        window.on_shutdown = partial(self.close, window)
        self.attach(window, window.session)

    def attach(self, window: MainWindow, session: MarketSession) -> None:
        task = asyncio.get_running_loop().create_task(self._attach(window, session), name="paper broker")
        tasks = self._attaching.setdefault(window, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def close(self, window: MainWindow) -> None:
        await asyncio.gather(*self._attaching.pop(window, set()), return_exceptions=True)
        broker = self.brokers.pop(window, None)
        if broker is not None:
            await broker.close()

    async def _attach(self, window: MainWindow, session: MarketSession) -> None:
        from terminal.trading.paper_broker import PaperBroker

        old = self.brokers.pop(window, None)
        if old is not None:
            await old.close()
        account = window.exchange
        shared = any(w.exchange == account for w in self.brokers)
        store = None if shared else await asyncio.to_thread(self.history_store)
        trading = self.settings.trading
        broker = PaperBroker(
            session,
            account=account,
            settings=trading.paper.paper_settings(),
            limits=trading.risk_limits(account, "paper"),
            store=store,
        )
        await broker.start()
        if window.session is not session:  # switched again meanwhile: that switch brings its own
            await broker.close()
            return
        self.brokers[window] = broker
        window.set_broker(broker)  # after start(): the panels read it at once
        if shared:
            log.warning(
                "Another window trades the %s paper account; this one's is separate and not saved.", account
            )
            window.notice.show_message(
                f"Another window trades the {account} paper account: this window's paper orders go to a "
                "separate account that is not saved."
            )
