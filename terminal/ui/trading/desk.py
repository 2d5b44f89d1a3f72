"""The trading desk of one window: binds the ticket, the quick ticket, the
orders, positions and fills panels, the order lines on the chart and the
marks in the book to the window's broker (``set_broker``) and to the market
on screen (``market_changed``, from the window's frame bridge).

The desk knows its window only through a ``DeskLink``: the session and the
settings it reads, the message channel it posts to, and the chart's order
lines and the book's marks it draws. The window makes the link and wires a
click on a price in the book or on the chart to ``price_picked``.

Views are refreshed from the broker's state, never per event: the
``AccountBridge`` says, at most ten times a second, what kind of thing
changed. With no broker the ticket says so and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from terminal.config import Settings
from terminal.errors import TerminalError, describe
from terminal.market.session import MarketSession
from terminal.market.topics import Topic
from terminal.marketdata.orderbook import OrderBook
from terminal.messages import Messages
from terminal.trading.balances import BalanceView
from terminal.trading.brackets import Bracket, bracket_desk
from terminal.trading.broker import Broker
from terminal.trading.money import ZERO, fmt
from terminal.trading.orders import AmountUnit, Fill, Order, OrderSide, OrderType
from terminal.trading.positions import Position
from terminal.trading.risk import AccountRisk
from terminal.ui.chart.order_lines import OrderLine, OrderLines
from terminal.ui.theme import Theme
from terminal.ui.trading.account_bridge import AccountBridge, AccountTopic
from terminal.ui.trading.account_summary import AccountSummary
from terminal.ui.trading.confirmation import Confirmation
from terminal.ui.trading.fills_panel import FillsPanel
from terminal.ui.trading.hotkeys import TradingKeys
from terminal.ui.trading.order_events import OrderEvents
from terminal.ui.trading.order_flow import OrderFlow
from terminal.ui.trading.order_history import OrderHistoryPanel
from terminal.ui.trading.order_words import base_of
from terminal.ui.trading.orders_panel import OrdersPanel
from terminal.ui.trading.positions_panel import PositionsPanel
from terminal.ui.trading.quick_ticket import QuickTicket
from terminal.ui.trading.ticket import OrderTicket
from terminal.ui.trading.ticket_input import TicketCheck, TicketInput, check_ticket, decimal_text

log = logging.getLogger(__name__)

_NO_BALANCES: Mapping[str, BalanceView] = {}
_NO_POSITIONS: Mapping[str, Position] = {}
_NO_PNL: Mapping[str, Decimal] = {}

NO_BROKER = "No trading account is connected to this window: the ticket sends nothing."
#: unrealised PnL moves with the market, not with account events: refresh it this often
PNL_REFRESH_MS = 1000
#: levels a side of the book fetched to check a flatten of a symbol not on the chart
FLATTEN_BOOK_LEVELS = 50


@dataclass(frozen=True)
class DeskLink:
    """What the desk needs of its window, and nothing more."""

    parent: QWidget  # the window: the parent of the confirmation and the quick ticket
    theme: Theme
    session: Callable[[], MarketSession]  # the market on screen (it changes on a switch)
    settings: Callable[[], Settings]  # read when used: a changed config applies at once
    messages: Messages  # the window's message channel
    order_lines: OrderLines  # the chart's lines of open orders
    book_marks: Callable[[list[float], list[float]], None]  # own order prices (bids, asks) in the book


class TradingDesk(QObject):
    def __init__(self, link: DeskLink) -> None:
        super().__init__(link.parent)
        self.link = link
        self.broker: Broker | None = None
        theme = link.theme
        self.ticket = OrderTicket(theme)
        self.ticket.setObjectName("orderTicket")
        self.orders = OrdersPanel(theme)
        self.positions = PositionsPanel(theme)
        self.fills = FillsPanel(theme)
        self.history = OrderHistoryPanel(theme)
        self.summary = AccountSummary(lambda: self._session())
        self.confirmation = Confirmation(link.parent, theme)
        self.quick: QuickTicket | None = None  # made on first F9
        self.bridge = AccountBridge(parent=self)
        self.bridge.changed.connect(self._on_account)
        self.flow = OrderFlow(lambda: self.broker, self.confirmation, self.confirm_orders, self.say)
        self.flow.on_sent = self._on_sent
        link.order_lines.on_moved = self.order_dragged  # a line dragged on the chart amends its order
        # Every own fill, partial fill, cancel and rejection said in the window (and the log).
        self.events = OrderEvents(
            link.messages.post, lambda: link.settings().trading.fill_sound, QApplication.beep
        )
        self.keys = TradingKeys(self)
        self.symbol = ""  # the market the tickets trade (the chart's)
        self._flattening: set[str] = set()  # symbols whose book is being fetched to flatten them
        # hears the positions' unrealised PnL at each refresh (alerts on a position's PnL)
        self.on_pnl: Callable[[Mapping[str, Decimal]], None] | None = None
        self._pnl_timer = QTimer(self)
        self._pnl_timer.setInterval(PNL_REFRESH_MS)
        self._pnl_timer.timeout.connect(self._refresh_positions)
        self._pnl_timer.start()

        self.ticket.send_requested.connect(lambda check: self._send_from(self.ticket, check))
        self.orders.cancel_requested.connect(lambda cid: self.flow.cancel(cid, self.orders.say))
        self.orders.amend_requested.connect(self.amend)
        self.orders.cancel_all_requested.connect(lambda: self.cancel_all(confirm=True))
        self.positions.flatten_requested.connect(lambda symbol: self.flatten(symbol, confirm=True))
        self.positions.reset_requested.connect(lambda: self.flow.reset_paper(self.say))
        self.history.export_requested.connect(
            lambda path: self.flow.spawn(self.history.export(path, self.say), "export order history")
        )
        self.history.set_source(
            lambda: self._read(lambda b: b.orders(), list[Order]()), lambda: self._session().markets
        )
        self.set_broker(None)

    # -- settings (read when used: a changed config applies at once) --------------------------
    def confirm_orders(self) -> bool:
        return self.link.settings().trading.confirm_orders

    def hotkeys_enabled(self) -> bool:
        return self.link.settings().trading.hotkeys_enabled

    def say(self, text: str, bad: bool = False) -> None:
        """A message in the window (hotkeys, quick ticket, panels' results)."""
        self.link.messages.post(text, bad)

    # -- binding --------------------------------------------------------------------------
    def set_broker(self, broker: Broker | None) -> None:
        """Trade through ``broker`` from now on (None: trade nothing)."""
        self.broker = broker
        self.bridge.attach(broker)
        self.events.attach(broker)
        for ticket in self._tickets():
            self._offer(ticket)
        self.positions.set_paper(broker is not None and broker.kind == "paper")
        self.symbol = ""  # rebinds the tickets
        self._bind_tickets()
        self.bridge.flush_now()

    def market_changed(self, topics: Topic) -> None:
        """The window's frame bridge: another symbol, or the book moved."""
        if topics & (Topic.CANDLES_RELOAD | Topic.MARKETS) and self._session().symbol != self.symbol:
            self._bind_tickets()
            self._refresh_orders()
        if topics & Topic.BOOK:
            for ticket in self._tickets():
                ticket.market_moved()

    # What the broker holds, or nothing with no broker or while it cannot say
    # (still loading, already closed): a panel then shows nothing, not a traceback.
    def _read[T](self, read: Callable[[Broker], T], empty: T) -> T:
        broker = self.broker
        if broker is None:
            return empty
        try:
            return read(broker)
        except TerminalError as exc:
            log.debug("The %s account could not be read: %s", broker.account, describe(exc))
            return empty

    def _balances(self) -> Mapping[str, BalanceView]:
        return self._read(lambda b: b.balances(), _NO_BALANCES)

    def _open_orders(self) -> list[Order]:
        return self._read(lambda b: b.open_orders(), list[Order]())

    def _positions(self) -> Mapping[str, Position]:
        return self._read(lambda b: b.positions(), _NO_POSITIONS)

    def _session(self) -> MarketSession:
        return self.link.session()

    def _tickets(self) -> list[OrderTicket]:
        return [self.ticket] + ([self.quick.ticket] if self.quick is not None else [])

    def _bind_tickets(self) -> None:
        session, broker = self._session(), self.broker
        symbol = session.symbol
        market = session.markets.get(symbol) if symbol else None
        for ticket in self._tickets():
            if broker is None:
                ticket.unbind(NO_BROKER)
            elif market is None:
                ticket.unbind("Waiting for the market…")
            else:
                ticket.bind(
                    symbol,
                    market,
                    self._book_of(symbol),
                    self._free_for(ticket),
                    f"{broker.kind} · {broker.account}",
                    self._account_risk,
                )
        self.symbol = symbol if broker is not None and market is not None else ""

    def _offer(self, ticket: OrderTicket) -> None:
        """What the account takes beyond the basic order types, on ``ticket``."""
        broker = self.broker
        brackets = bracket_desk(broker) if broker is not None else None
        ticket.offer(
            trailing=broker is not None,  # paper and live take them (live: held by the terminal)
            exits_mode=None if brackets is None else brackets.mode.words,
            exits_explained="" if brackets is None else brackets.mode.explanation,
        )

    def _account_risk(self) -> AccountRisk | None:
        """The broker's risk rules and account state, for the tickets' warnings as the user types."""
        return self._read(lambda b: AccountRisk(b.limits, b.risk_state()), None)

    def _book_of(self, symbol: str) -> Callable[[], OrderBook | None]:
        """The window's book while it shows ``symbol`` (the session, and its book, change on a switch)."""

        def book() -> OrderBook | None:
            session = self._session()
            return session.book if session.symbol == symbol else None

        return book

    def _free_for(self, ticket: OrderTicket) -> Callable[[], Mapping[str, Decimal]]:
        def free() -> Mapping[str, Decimal]:
            balances = {c: b.free for c, b in self._balances().items()}
            replacing = ticket.replacing
            if replacing is None:
                return balances

            # the replacement may use what the order it replaces holds (cancelled first); an
            # exit of a take-profit / stop-loss pair shares what the pair holds (held once)
            def bracket_of(broker: Broker) -> Bracket | None:
                brackets = bracket_desk(broker)
                return brackets.bracket_of(replacing.client_order_id) if brackets is not None else None

            bracket = self._read(bracket_of, None)  # an account closed meanwhile: none
            ids = {replacing.client_order_id}
            if bracket is not None:
                ids |= {part.client_order_id for part in bracket.parts if part.is_open}
            for order in self._open_orders():
                if order.client_order_id in ids and order.hold and order.hold_currency:
                    currency = order.hold_currency
                    balances[currency] = balances.get(currency, ZERO) + order.hold
            return balances

        return free

    # -- refreshing the views ------------------------------------------------------------------
    def _on_account(self, topics: AccountTopic) -> None:
        if topics & AccountTopic.ORDERS:
            self._refresh_orders()
            self.history.refresh()
        if topics & AccountTopic.FILLS:
            self.fills.set_fills(self._read(lambda b: b.fills(), list[Fill]()))
        if topics & (AccountTopic.POSITIONS | AccountTopic.BALANCES | AccountTopic.FILLS):
            self._refresh_positions()
            for ticket in self._tickets():
                ticket.market_moved()

    def _refresh_orders(self) -> None:
        open_orders = self._open_orders()
        self.orders.set_orders(sorted(open_orders, key=lambda o: o.created_ms, reverse=True))
        shown = self._session().symbol
        here = [o for o in open_orders if o.symbol == shown]
        self.link.order_lines.set_lines([_line_of(o) for o in here])
        resting = [o for o in here if o.price is not None and (not o.type.is_stop or o.triggered)]
        self.link.book_marks(
            [float(o.price) for o in resting if o.side is OrderSide.BUY and o.price is not None],
            [float(o.price) for o in resting if o.side is OrderSide.SELL and o.price is not None],
        )
        replacing = self.ticket.replacing
        if replacing is not None and all(o.client_order_id != replacing.client_order_id for o in open_orders):
            self.ticket.set_replacing(None)
            self.ticket.show_outcome("The order being amended is no longer open.", ok=False)

    def _refresh_positions(self) -> None:
        positions, balances = self._positions(), self._balances()
        unrealised = self._read(lambda b: b.unrealised_pnl(), _NO_PNL)
        if self.on_pnl is not None and unrealised:
            self.on_pnl(unrealised)
        self.positions.set_state(positions, unrealised, balances, self._session().markets)
        self.positions.set_summary(
            self._read(lambda b: self.summary.figures(b, positions, unrealised, balances), None)
        )

    # -- what the user does -----------------------------------------------------------------------
    def _send_from(self, ticket: OrderTicket, check: TicketCheck) -> None:
        self.flow.send(check, ticket, replacing=ticket.replacing)

    def _on_sent(self, order: Order | None, ticket: OrderTicket, ok: bool) -> None:
        self.bridge.flush_now()  # the user's own order: on screen without waiting for the next frame
        if order is not None and ok:
            self.events.follow(order, self.ticket.show_outcome)  # "rests in the book" follows the order
        if self.quick is not None and ticket is self.quick.ticket and order is not None and ok:
            self.quick.close()  # done; what happened stays on the dock's ticket and the status bar
            self.ticket.show_outcome(ticket.message.text(), ok=True)

    def price_picked(self, price: float) -> None:
        """A price clicked on the book or Ctrl+clicked on the chart goes to the ticket in use."""
        quick = self.quick
        target = quick.ticket if quick is not None and quick.isVisible() else self.ticket
        target.set_price(price)

    def amend(self, client_order_id: str) -> None:
        open_orders = self._open_orders()
        order = next((o for o in open_orders if o.client_order_id == client_order_id), None)
        if order is None:
            self.orders.say("That order is no longer open.", bad=True)
            return
        if order.symbol != self._session().symbol:
            self.orders.say(
                f"Open {order.symbol} on the chart to amend this order (its book is needed).", True
            )
            return
        self.ticket.set_replacing(order)
        self.focus_ticket()

    def order_dragged(self, client_order_id: str, price: float) -> None:
        """An order's line dropped at ``price`` on the chart: amend it there through the
        ticket, with the same checks and confirmation as typing the new price."""
        order = next((o for o in self._open_orders() if o.client_order_id == client_order_id), None)
        if order is None or order.symbol != self._session().symbol:
            self.say("That order is no longer open: nothing was amended.", bad=True)
            return
        self.ticket.set_replacing(order)
        self.ticket.move_to(price, stop=order.type.is_stop and not order.triggered)
        self.focus_ticket()
        if not self.ticket.try_send():
            self.say(
                "The order was not amended: the ticket says why (fix it there, or Stop replacing).", True
            )

    def cancel_all(self, *, confirm: bool) -> None:
        self.flow.cancel_all(None, self._report, confirm=confirm)

    def flatten(self, symbol: str | None = None, *, confirm: bool) -> None:
        """Sell the position of ``symbol`` (the one on screen by default) at market,
        reduce-only, whatever the chart shows. The order is checked as the ticket
        checks one, against a book: the chart's when it shows ``symbol``, else a
        snapshot fetched from the window's exchange in a task (a paper account's
        market is that exchange; a live account's pre-trade check wants a price)."""
        broker = self.broker
        session = self._session()
        symbol = symbol or session.symbol
        if broker is None:
            self.say(NO_BROKER, True)
            return
        amount = self._flatten_amount(symbol)
        if amount is None:
            return
        if symbol in self._flattening:
            self.say(f"{symbol} is being flattened already.", False)
            return
        book = self._book_of(symbol)()
        if book is not None and (len(book.bid_price) or len(book.ask_price)):
            self._send_flatten(symbol, amount, book, confirm)
            return
        self._flattening.add(symbol)
        self.flow.spawn(self._flatten_off_screen(broker, symbol, confirm), f"flatten {symbol}")

    def _flatten_amount(self, symbol: str) -> Decimal | None:
        """What a flatten of ``symbol`` sells (the free part of the position), or None, said why."""
        position = self._positions().get(symbol)
        held = position.amount if position is not None else ZERO
        if held <= 0:
            self.say(f"There is no {symbol} position to flatten.", False)
            return None
        free = self._balances().get(base_of(symbol))
        amount = min(held, free.free if free is not None else ZERO)
        if amount <= 0:
            self.say(f"The {fmt(held)} held is set aside by open sell orders: cancel them first.", True)
            return None
        return amount

    async def _flatten_off_screen(self, broker: Broker, symbol: str, confirm: bool) -> None:
        session = self._session()
        try:
            answer = await session.source.fetch_order_book(symbol, FLATTEN_BOOK_LEVELS)
        except TerminalError as exc:
            self.say(
                f"{symbol} was not flattened: its order book could not be fetched ({describe(exc)}).", True
            )
            return
        finally:
            self._flattening.discard(symbol)
        if self.broker is not broker or self._session() is not session:
            self.say(f"{symbol} was not flattened: the account or market changed meanwhile.", True)
            return
        book = OrderBook(symbol)
        book.replace(answer.get("bids") or [], answer.get("asks") or [], answer.get("timestamp"))
        amount = self._flatten_amount(symbol)  # again: it may have changed while the book came
        if amount is not None:
            self._send_flatten(symbol, amount, book, confirm)

    def _send_flatten(self, symbol: str, amount: Decimal, book: OrderBook, confirm: bool) -> None:
        market = self._session().markets.get(symbol)
        if market is None:
            self.say(f"{symbol} was not flattened: its market is not loaded yet.", True)
            return
        check = check_ticket(
            TicketInput(symbol, OrderSide.SELL, OrderType.MARKET, decimal_text(amount), AmountUnit.BASE,
                        reduce_only=True),
            market,
            book=book,
            balances={c: b.free for c, b in self._balances().items()},
            risk=self._account_risk(),
        )  # fmt: skip
        if check.intent is None or check.order is None:
            problem = next(iter(check.problems.values()), "the order could not be made")
            self.say(f"{symbol} was not flattened: {problem}", True)
            return
        # the dock's ticket carries the answer (and says "Sending…" meanwhile), as for a hotkey
        self.flow.send(check, self.ticket, confirm=confirm)

    def focus_ticket(self) -> None:
        dock = self.ticket.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()
        self.ticket.amount.setFocus()
        self.ticket.amount.selectAll()

    def open_quick_ticket(self) -> QuickTicket:
        quick = self.quick
        if quick is None:
            self.quick = quick = QuickTicket(self.link.parent, self.link.theme)
            quick.ticket.send_requested.connect(lambda check: self._send_from(quick.ticket, check))
            self._offer(quick.ticket)
            self._bind_tickets()
        quick.ticket.set_input(self.ticket.input())
        quick.ticket.clear_message()
        quick.pop_up()
        return quick

    def _report(self, text: str, bad: bool) -> None:
        self.orders.say(text, bad)
        self.say(text, bad)

    # -- looks and the end ---------------------------------------------------------------------------
    def apply_theme(self, theme: Theme) -> None:
        for widget in (self.ticket, self.orders, self.positions, self.fills, self.history, self.confirmation):
            widget.apply_theme(theme)
        if self.quick is not None:
            self.quick.apply_theme(theme)
        self.bridge.flush_now()

    async def shutdown(self) -> None:
        self._pnl_timer.stop()
        if self.quick is not None:
            self.quick.close()
        await self.flow.shutdown()
        self.bridge.attach(None)
        self.events.attach(None)


def _line_of(order: Order) -> OrderLine:
    """An open order as a line on the chart: at its limit price, or at a stop's trigger."""
    side = order.side.value.upper()
    amount = fmt(order.remaining)
    if order.type.is_stop and not order.triggered:
        assert order.stop_price is not None
        then = f" → {fmt(order.price)}" if order.price is not None else " → market"
        kind = "TRAIL" if order.type.is_trailing else "STOP"
        held = " (held by the terminal)" if order.held else ""
        label = f"{kind} {side} {amount} @ {fmt(order.stop_price)}{then}{held}"
        return OrderLine(
            float(order.stop_price), order.side is OrderSide.BUY, label, stop=True, key=order.client_order_id
        )
    price = order.price if order.price is not None else ZERO
    label = f"{side} {amount} @ {fmt(price)}"
    return OrderLine(float(price), order.side is OrderSide.BUY, label, key=order.client_order_id)
