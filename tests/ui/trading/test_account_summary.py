"""The account summary line: equity valued at the market's mids, what is free,
the day's P&L and the P&L since the start, worked out from a real paper
account (through the few broker methods the summary reads) and a market of
books and tickers the test sets, so that every figure can be checked exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pytestqt.qtbot import QtBot

from terminal.marketdata.orderbook import OrderBook
from terminal.trading.paper.account import PaperAccount
from terminal.trading.risk import AccountState
from terminal.ui.theme import DARK
from terminal.ui.trading.account_summary import AccountFigures, AccountSummary
from terminal.ui.trading.market_numbers import MarketNumbers
from terminal.ui.trading.positions_panel import PositionsPanel
from tests.trading.trading_fixtures import BUY, MARKET, T0, D, account, book, ticket

BTC = {
    "symbol": "BTC/USDT",
    "base": "BTC",
    "quote": "USDT",
    "spot": True,
    "active": True,
    "maker": 0.001,
    "taker": 0.001,
    "precision": {"price": 1.0, "amount": 0.01},
    "limits": {"amount": {"min": 0.01}, "price": {"min": 1.0}, "cost": {}},
}
ETH = dict(BTC, symbol="ETH/USDT", base="ETH")


class Screen:
    """The window's market as the summary reads it: the symbol on the chart, its book, the tickers."""

    def __init__(self, symbol: str, the_book: OrderBook, tickers: dict[str, dict[str, Any]]) -> None:
        self.symbol, self.book, self.tickers = symbol, the_book, tickers


class AccountAsBroker:
    """A real paper account behind the broker methods the summary reads
    (``PaperBroker`` passes them through the same way; it needs a live session)."""

    def __init__(self, acct: PaperAccount, kind: str = "paper", now: int = T0 + 10) -> None:
        self.acct, self.kind, self.account, self.now = acct, kind, "test", now
        if kind == "paper":
            self.start_balances = lambda: dict(acct.settings.start_balances)

    def risk_state(self) -> AccountState:
        return self.acct.risk_state(self.now)

    def figures(self, summary: AccountSummary) -> AccountFigures:
        acct = self.acct
        positions = acct.positions()
        return summary.figures(self, positions, acct.unrealised_pnl(), acct.balances())  # type: ignore[arg-type]


def two_positions() -> PaperAccount:
    """10,000 USDT, then 1 BTC bought at 100 and 2 ETH at 50 (taker fee 0.1%: 0.1 each)."""
    acct = account({"USDT": "10000"}, taker="0.001")
    acct.place(ticket(acct, BTC, book([(99, 5)], [(100, 5)]), BUY, MARKET, "1"), book([], [(100, 5)]), T0)
    eth_book = book([], [(50, 5)], symbol="ETH/USDT")  # no bids: no mid, so no mark yet
    acct.place(ticket(acct, ETH, eth_book, BUY, MARKET, "2"), eth_book, T0 + 1)
    return acct


def test_equity_free_day_and_since_start_of_a_paper_account() -> None:
    acct = two_positions()
    # BTC on the chart, its mid 110; ETH from its ticker, mid 60
    screen = Screen("BTC/USDT", book([(109, 1)], [(111, 1)]), {"ETH/USDT": {"bid": 59, "ask": 61}})
    acct.mark("BTC/USDT", D(110))
    acct.mark("ETH/USDT", D(60))
    figures = AccountAsBroker(acct).figures(AccountSummary(lambda: screen))

    usdt = D(10000) - D("100.1") - D("100.1")
    assert figures.currency == "USDT"
    assert figures.equity == usdt + 110 + 2 * 60  # 10,029.80
    assert figures.free == usdt
    assert figures.day_pnl == D("29.8")  # 10 + 20 of price, less 0.2 of fees
    assert figures.since_start == D("29.8") / D(10000) * 100  # against the 10,000 USDT it started with
    assert figures.start == "paper" and figures.start_note == "10,000 USDT"
    assert figures.unpriced == ()


def test_a_currency_without_a_price_is_left_out_and_named() -> None:
    acct = two_positions()
    acct.mark("BTC/USDT", D(110))
    screen = Screen("SOL/USDT", book([(9, 1)], [(11, 1)]), {})  # ETH: no ticker, no mark seen
    figures = AccountAsBroker(acct).figures(AccountSummary(lambda: screen))
    assert figures.unpriced == ("ETH",)
    # BTC valued at the account's own mark, through its position: unrealised = amount * mark - cost
    assert figures.equity == D(10000) - D("200.2") + 110
    assert figures.since_start is None  # the start is all USDT, but today's ETH has no value to compare


def test_a_live_account_counts_from_when_the_terminal_first_valued_it() -> None:
    acct = two_positions()
    screen = Screen("BTC/USDT", book([(99, 1)], [(101, 1)]), {"ETH/USDT": {"last": 50}})
    live = AccountAsBroker(acct, kind="live")
    summary = AccountSummary(lambda: screen)
    first = live.figures(summary)
    assert first.start == "watching" and first.since_start == 0
    screen.book = book([(119, 1)], [(121, 1)])  # BTC up from 100 to 120
    later = live.figures(summary)
    assert later.equity - first.equity == 20
    assert later.since_start == D(20) / first.equity * 100


def test_the_summary_line_shows_the_figures_with_their_meaning(qtbot: QtBot) -> None:
    panel = PositionsPanel(DARK)
    qtbot.addWidget(panel)
    figures = AccountFigures(
        currency="USDT",
        equity=D("10029.804"),
        free=D("9799.8"),
        day_pnl=D("-3.456"),
        since_start=D("0.298"),
        start="paper",
        start_note="10,000 USDT",
    )
    panel.set_summary(figures)
    line = panel.summary
    shown = [label.text() for label in (line.equity, line.free, line.day, line.since)]
    assert shown == ["Equity 10,029.80 USDT", "Free 9,799.80 USDT", "Day −3.46", "Since start +0.30%"]
    assert "10,000 USDT" in line.since.toolTip() and "start balances" in line.since.toolTip()
    assert "00:00 UTC" in line.day.toolTip()
    assert DARK.down in line.day.styleSheet() and DARK.up in line.since.styleSheet()

    panel.set_summary(_live(figures))
    assert "started watching" in line.since.toolTip() and "12:34" in line.since.toolTip()


def _live(figures: AccountFigures) -> AccountFigures:
    values: Mapping[str, Any] = {**figures.__dict__, "start": "watching", "start_note": "12:34"}
    return AccountFigures(**values)


def test_money_is_never_shown_raw() -> None:
    numbers = MarketNumbers({"BTC/USDT": BTC})
    assert numbers.balance("USDT", Decimal("9265.000735")) == "9,265.00"  # the issue's own example
    assert numbers.balance("BTC", Decimal("0.123456789")) == "0.12"  # to BTC's step (0.01 here)
    assert numbers.price("BTC/USDT", Decimal("73363.95000000001")) == "73,364"  # no float noise
