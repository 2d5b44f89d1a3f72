"""Every own fill, partial fill, cancel and rejection is said once, in words a trader
reads at a glance, with a sound only when the user asked for one; the ticket that
sent a resting order follows it ("rests in the book" becomes "Filled")."""

from __future__ import annotations

from terminal.trading.orders import Order
from terminal.trading.paper.account import PaperAccount
from terminal.ui.trading.order_events import OrderEvents
from tests.trading.trading_fixtures import BUY, LIMIT, MARKET, SELL, T0, account, book, ticket, trade

MKT = {
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "spot": True,
    "active": True,
    "maker": 0.001,
    "taker": 0.002,
    "precision": {"price": 1.0, "amount": 0.01},
    "limits": {"amount": {"min": 0.01}, "price": {"min": 1.0}, "cost": {}},
}
BOOK = book([(99, 1), (98, 1)], [(100, 1), (101, 1)])


class Heard:
    def __init__(self, acct: PaperAccount, sound: bool = False) -> None:
        self.said: list[tuple[str, bool]] = []
        self.beeps = 0
        self.ticket: list[tuple[str, bool]] = []
        self.events = OrderEvents(lambda text, bad: self.said.append((text, bad)), lambda: sound, self.beep)
        self.events.attach(acct)  # type: ignore[arg-type] # an account publishes what a broker does

    def beep(self) -> None:
        self.beeps += 1

    def follow(self, order: Order) -> None:
        self.events.follow(order, lambda text, ok: self.ticket.append((text, ok)))


def resting_buy(acct: PaperAccount, amount: str = "1", price: str = "99") -> Order:
    return acct.place(ticket(acct, MKT, BOOK, BUY, LIMIT, amount, price=price), BOOK, T0)


def test_a_resting_limit_filled_by_the_market_is_said_once_and_the_ticket_follows_it() -> None:
    acct = account()
    heard = Heard(acct)
    order = resting_buy(acct)
    heard.follow(order)
    assert heard.said == []  # placing it is the ticket's to say
    acct.on_trades("BTC/USDT", [trade(99, 0.4, T0 + 1)], BOOK)
    assert heard.said == [
        ("Partly filled: bought 0.4 BTC at 99 USDT, fee 0.0396 USDT; 0.6 of 1 BTC still open "
         "(BTC/USDT, buy limit).", False)
    ]  # fmt: skip
    acct.on_trades("BTC/USDT", [trade(98, 5, T0 + 2)], BOOK)
    assert heard.said[1] == (
        "Filled: bought 0.6 BTC at 99 USDT, fee 0.0594 USDT (BTC/USDT, buy limit).",
        False,
    )
    assert len(heard.said) == 2
    assert heard.ticket[-1][0].startswith("Bought 1 BTC at 99 USDT") and heard.ticket[-1][1]
    assert heard.beeps == 0  # no sound unless asked for


def test_cancel_and_rejection_are_said_and_a_fill_beeps_when_asked() -> None:
    acct = account()
    heard = Heard(acct, sound=True)
    order = resting_buy(acct)
    acct.cancel(order.client_order_id, T0 + 5)
    assert heard.said == [("Cancelled: Buy 1 BTC limit at 99 USDT: Cancelled.", False)]
    post_only = ticket(acct, MKT, BOOK, BUY, LIMIT, "1", price="99", post_only=True)
    acct.place(post_only, book([(98, 1)], [(99, 1)]), T0 + 6)  # the ask came down to it meanwhile
    text, bad = heard.said[-1]
    assert bad and text.startswith("Rejected: Buy 1 BTC limit at 99 USDT: ") and "Post-only" in text
    acct.place(ticket(acct, MKT, BOOK, BUY, MARKET, "0.5"), BOOK, T0 + 7)
    assert heard.said[-1][0].startswith("Filled: bought 0.5 BTC at 100 USDT")
    assert heard.beeps == 1  # the fill, not the cancel or the rejection
    acct.place(ticket(acct, MKT, BOOK, SELL, MARKET, "0.5"), BOOK, T0 + 8)
    assert heard.said[-1][0].startswith("Filled: sold 0.5 BTC at 99 USDT")
