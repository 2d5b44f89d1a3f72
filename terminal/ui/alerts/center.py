"""The app's one alerts engine, what it keeps, and where a firing goes.

One ``AlertCenter`` for the process: every window feeds it the market it shows
(``watch``), so an alert on a symbol fires whichever window is open on its exchange,
on screen or not. A firing is recorded in the history file, listed in every window's
alerts panel and shown as a toast there (``fired``), and, unless the user muted
alerts, sent as the operating system's notification with the alert's sound and to
the alert's webhooks (their URLs in the keyring; posted from a thread of their own).

The history file's writes go to a worker thread one after another (``_write``); the
engine itself runs on the GUI thread, where the prices arrive.

A firing costs the engine's evaluation little: ``_on_fire`` only lists it (the history
in memory, and the loop turn's firings); one task per loop turn then sends the turn's
firings, shows them (``fired``, once, with all of them) and saves them (``_after_turn``).
The desktop notifications go out one after another, in the order the alerts fired, from
one long-lived task reading a queue (``_notifying``): a task per notification cost the
alerts benchmark's evaluation ~50 µs a firing (qasync starts a Qt timer for each step of
a task). A notification service that hangs holds each notification at most the timeout
counted from its firing (``DesktopNotifications.notify``'s ``since``): those queued
behind one that hung fail together, as calls made at once would, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from terminal.alerts.delivery.desktop import DesktopNotifications, Sound
from terminal.alerts.delivery.webhooks import DeliveryResult, WebhookMessage, WebhookSender, WebhookVault
from terminal.alerts.engine import AlertEngine
from terminal.alerts.feed import AlertFeed
from terminal.alerts.keeping import AlertBook
from terminal.alerts.rules import Alert, Firing
from terminal.errors import describe
from terminal.tasks import TaskGroup

if TYPE_CHECKING:
    from terminal.credentials import CredentialStore
    from terminal.market.session import MarketSession
    from terminal.store.candles import CandleStore

log = logging.getLogger(__name__)

TICK_MS = 1000  # expiry and feeds that stay down are checked this often


class AlertCenter(QObject):
    changed = Signal()  # the alerts, their problems or the muting changed
    fired = Signal(object)  # list[Firing]: a loop turn's firings, in the order they fired
    delivery_problem = Signal(str)  # a desktop notification or a webhook failed: why, in words
    # the user clicked a firing's desktop notification: (Firing, the key of the window to show it)
    notification_clicked = Signal(object, object)

    def __init__(
        self,
        store: Callable[[], CandleStore | None],
        credentials: Callable[[], CredentialStore],
        *,
        muted: bool = False,
        desktop: DesktopNotifications | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store  # blocks: the history file opens on first use (called off the GUI thread)
        self.book: AlertBook | None = None
        self.engine = AlertEngine(self._on_fire, self._on_engine_change)
        self.muted = muted
        self.desktop = desktop or DesktopNotifications()
        self._credentials = credentials
        self._webhooks: WebhookSender | None = None
        # the windows and the markets they show, in the order they came; each exchange's prices
        # come from one of them (its feed: two windows on one exchange would feed each price twice)
        self._shown: dict[object, tuple[MarketSession, str]] = {}
        self.feeds: dict[object, AlertFeed] = {}  # the feeding window's key -> its feed
        self.history: list[Firing] = []  # newest first, as the panel shows them
        self._tasks = TaskGroup("alerts", logger=log)
        self._writes = asyncio.Lock()  # the history file's writes, one after another, in order
        self.loaded = asyncio.Event()
        self._loading = asyncio.Lock()  # two windows may ask at once
        self._unsaved: list[Firing] = []  # fired, not yet in the history file
        # this loop turn's firings, each with whether alerts were muted when it fired
        self._turn: list[tuple[Alert, Firing, bool]] = []
        # the desktop notifications to send, in order: a loop turn's (firing, sound) each, and the
        # loop time they fired
        self._notices: asyncio.Queue[tuple[list[tuple[Firing, Sound]], float]] = asyncio.Queue()
        self._notifier: asyncio.Task[None] | None = None  # ``_notifying``, from the first notification
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.engine.tick)
        self._timer.start()

    # -- loading and keeping ---------------------------------------------------------
    async def load(self) -> None:
        """The alerts and their history from the history file (in memory without one)."""
        async with self._loading:
            if not self.loaded.is_set():
                await self._load()

    async def _load(self) -> None:
        try:
            store = await asyncio.to_thread(self._store)
        except Exception as exc:  # noqa: BLE001 - the alerts still work, for this session
            log.error("Alerts: the history file could not be opened: %s", describe(exc))
            store = None
        if store is None:
            self.delivery_problem.emit(
                "The history file is not open for writing: alerts work, but are kept for this session only."
            )
        book = AlertBook(store)
        alerts, last_fired = await asyncio.to_thread(book.load)
        history = await asyncio.to_thread(book.history, 500)
        self.book = book
        for problem in book.problems:
            log.warning("%s", problem)
        self.engine.load(alerts, last_fired)
        self.history = history
        self.loaded.set()
        self._sync_feeds()
        self.changed.emit()

    def _write(self, work: Callable[[AlertBook], object], what: str) -> None:
        book = self.book
        if book is None:
            return

        async def write() -> None:
            async with self._writes:
                try:
                    await asyncio.to_thread(work, book)
                except Exception as exc:  # noqa: BLE001 - a full disk must not stop alerts firing
                    log.error("Alerts: could not save %s: %s", what, describe(exc))

        self._tasks.spawn(write(), name=f"saving {what}")

    # -- the user's changes --------------------------------------------------------------
    def _after_load(self, change: Callable[[], None]) -> bool:
        """Before the alerts have loaded, ``change`` waits for them (it would be lost
        otherwise: the load replaces what the engine holds); True when it was deferred."""
        if self.loaded.is_set():
            return False

        async def later() -> None:
            await self.load()
            change()

        self._tasks.spawn(later(), name="an alert change, once the alerts have loaded")
        return True

    def put(self, alert: Alert) -> None:
        """Add ``alert`` or replace the one with its id, and keep it."""
        if self._after_load(lambda: self.put(alert)):
            return
        self.engine.put(alert)
        self._write(lambda book: book.save(alert), "an alert")
        self._sync_feeds()
        self.changed.emit()

    def remove(self, alert_id: str) -> None:
        if self._after_load(lambda: self.remove(alert_id)):
            return
        self.engine.remove(alert_id)
        self._write(lambda book: book.delete(alert_id), "a deleted alert")
        self._sync_feeds()
        self.changed.emit()

    def set_enabled(self, alert_id: str, enabled: bool) -> None:
        alert = self.engine.alerts.get(alert_id)
        if alert is not None and alert.enabled != enabled:
            self.put(alert.model_copy(update={"enabled": enabled}))

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.changed.emit()

    def clear_history(self) -> None:
        self.history = []
        self._write(lambda book: book.clear_history(), "the cleared history")
        self.changed.emit()

    def alerts(self) -> list[Alert]:
        return list(self.engine.alerts.values())

    def problems(self) -> dict[str, str]:
        """Per alert id, why it is not evaluated (a condition that cannot be read, a symbol
        not watched)."""
        out = dict(self.engine.problems)
        for feed in self.feeds.values():
            for alert in self.engine.alerts.values():
                if feed.exchange != alert.exchange:
                    continue
                for key, why in feed.problems.items():
                    if key == alert.symbol or key.startswith(f"{alert.symbol} "):
                        out.setdefault(alert.id, why)
        return out

    # -- the markets the windows show ----------------------------------------------------
    def watch(self, key: object, session: MarketSession, exchange: str) -> None:
        """Window ``key`` shows ``session`` on ``exchange`` now: its prices feed the alerts,
        unless another window on that exchange feeds them already."""
        self._shown[key] = (session, exchange)
        if any(feed.exchange == exchange for feed in self.feeds.values()):
            return
        feed = self.feeds[key] = AlertFeed(self.engine, session, exchange)
        if self.loaded.is_set():
            feed.sync()

    async def release(self, key: object) -> None:
        """Window ``key`` stops showing its market (its session is about to close): if it fed
        that exchange's alerts, another window on the exchange takes over."""
        shown = self._shown.pop(key, None)
        feed = self.feeds.pop(key, None)
        if feed is None or shown is None:
            return
        await feed.close()
        for other, (session, exchange) in self._shown.items():
            if exchange == shown[1]:
                self._shown.pop(other)
                self.watch(other, session, exchange)
                break

    def _sync_feeds(self) -> None:
        for feed in self.feeds.values():
            feed.sync()

    # -- firing -------------------------------------------------------------------------
    def _on_engine_change(self, alert: Alert) -> None:
        """The engine changed an alert itself (a once-only one fired, one expired)."""
        self._write(lambda book: book.save(alert), "an alert")
        self._sync_feeds()
        self.changed.emit()

    def _on_fire(self, alert: Alert, firing: Firing) -> None:
        """The engine's hook, on each firing: listed at once; sent, shown and saved after the
        loop turn (``_after_turn``: one task for all the turn's firings)."""
        history = self.history
        history.insert(0, firing)
        if len(history) > 500:
            del history[500:]
        turn = self._turn
        turn.append((alert, firing, self.muted))
        if len(turn) == 1:
            self._tasks.spawn(self._after_turn(), name="the fired alerts of a loop turn")

    async def _after_turn(self) -> None:
        """The firings of a loop turn (a jump over many levels fires many): sent, shown in
        the windows, then kept in one write after the writes before them."""
        turn, self._turn = self._turn, []
        firings = [firing for _alert, firing, _muted in turn]
        self._unsaved.extend(firings)
        self._dispatch(turn, firings)
        await self._save_fired()

    def _dispatch(self, turn: list[tuple[Alert, Firing, bool]], firings: list[Firing]) -> None:
        # the history file and the panel keep every firing; the log (at INFO a costly line
        # through the file handler and the redactor) only at DEBUG
        logged = log.isEnabledFor(logging.DEBUG)
        notices: list[tuple[Firing, Sound]] = []
        for alert, firing, muted in turn:
            if not muted:
                try:
                    self._deliver(alert, firing, notices)
                except Exception:  # one that cannot be sent must not stop the others
                    log.exception("Alerts: could not send %s", firing.title)
            if logged:
                log.debug("Alert: %s (%s)", firing.title, firing.message.replace("\n", " — "))
        if notices:
            loop = asyncio.get_running_loop()
            self._notices.put_nowait((notices, loop.time()))
            if self._notifier is None:
                self._notifier = loop.create_task(self._notifying(), name="the alerts' desktop notifications")
        self.fired.emit(firings)

    async def _save_fired(self) -> None:
        """The firings not yet saved, in one write after the writes before them."""
        if not self._unsaved:  # taken by the write of an earlier turn
            return
        async with self._writes:
            firings, self._unsaved = self._unsaved, []  # taken here, on the loop's thread
            book = self.book
            if book is None or not firings:
                return

            def record() -> None:
                for firing in firings:
                    book.record(firing)

            try:
                await asyncio.to_thread(record)
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop alerts firing
                log.error("Alerts: could not save %d fired alerts: %s", len(firings), describe(exc))

    def _deliver(self, alert: Alert, firing: Firing, notices: list[tuple[Firing, Sound]]) -> None:
        """To the alert's webhooks now; to ``notices`` for the desktop notification."""
        delivery = alert.delivery
        if delivery.desktop:
            notices.append((firing, Sound(delivery.sound.kind, delivery.sound.path)))
        for name in delivery.webhooks:
            message = WebhookMessage(
                text=f"{firing.title}\n{firing.message}", alert=alert.id, symbol=firing.symbol,
                value=firing.value, fired_at_ms=firing.fired_ms,
            )  # fmt: skip
            self._sender().send(name, message)

    async def _notifying(self) -> None:
        """The desktop notifications, one after another in the order they fired, till ``close``."""
        queue = self._notices
        while True:
            notices, since = await queue.get()
            try:
                for firing, sound in notices:
                    try:
                        await self._notify(firing, sound, since)
                    except Exception:  # notify never raises; a slot of delivery_problem might
                        log.exception("Alerts: the desktop notification of %s failed", firing.title)
            finally:
                queue.task_done()

    async def _notify(self, firing: Firing, sound: Sound, since: float | None = None) -> None:
        """``firing`` as the desktop's notification; ``since``: when it fired (loop time), from
        when its timeout counts."""
        clicked = partial(self._clicked, firing)
        if not await self.desktop.notify(
            firing.title, firing.message, sound, on_clicked=clicked, since=since
        ):
            self.delivery_problem.emit(self.desktop.problem)

    def _clicked(self, firing: Firing) -> None:
        window = self.window_for(firing)
        if window is not None:
            self.notification_clicked.emit(firing, window)

    def window_for(self, firing: Firing) -> object | None:
        """The window to show ``firing`` in: one showing its market, else one on its
        exchange, else the one that came last."""
        shown = list(self._shown.items())
        for key, (session, exchange) in shown:
            if exchange == firing.exchange and session.symbol == firing.symbol:
                return key
        for key, (_session, exchange) in shown:
            if exchange == firing.exchange:
                return key
        return shown[-1][0] if shown else None

    def _sender(self) -> WebhookSender:
        if self._webhooks is None:
            loop = asyncio.get_running_loop()
            vault = WebhookVault(self._credentials())

            def result(outcome: DeliveryResult) -> None:  # on the sender's thread
                loop.call_soon_threadsafe(self._webhook_result, outcome)

            self._webhooks = WebhookSender(vault, result)
        return self._webhooks

    def _webhook_result(self, result: DeliveryResult) -> None:
        if not result.ok:
            text = f"Webhook {result.webhook}: {result.problem}"
            log.warning("%s", text)
            self.delivery_problem.emit(text)

    # -- other events ---------------------------------------------------------------------
    def job_finished(self, kind: str, text: str) -> None:
        self.engine.job(kind, text)

    async def close(self) -> None:
        """After the windows: the last firings and changes saved (up to 10 s), then the rest."""
        self._timer.stop()
        for key in list(self.feeds):
            await self.release(key)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        given_up = await self._tasks.close(cancel=False, timeout=10.0)
        if given_up:
            log.warning("Alerts: %d saves did not finish before quitting", len(given_up))
        if self._notifier is not None:  # the notifications of the last firings, in the same 10 s
            try:
                async with asyncio.timeout_at(deadline):
                    await self._notices.join()
            except TimeoutError:
                log.warning("Alerts: the last desktop notifications were not all sent before quitting")
            self._notifier.cancel()
            await asyncio.gather(self._notifier, return_exceptions=True)
            self._notifier = None
        if self._webhooks is not None:
            sender, self._webhooks = self._webhooks, None
            await asyncio.to_thread(sender.close)
        self.desktop.close()
