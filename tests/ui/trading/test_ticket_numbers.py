"""An order is what the user typed: numbers written the way people write them
(``1,5``, ``١٫٥``, full-width digits, thousands separators) typed into the
real ticket of a real window, confirmed and sent to a real paper account on
the simulated market; an amount and a price typed for one symbol cleared
when the symbol changes; the price band said on the field as the user types
and in the confirmation, not only after Send.

The hypothesis test runs its examples in a worker thread and each example on
the window's event loop (``run_coroutine_threadsafe``): the widgets are only
ever touched on the GUI thread, and each example can wait for the broker's
answer as a user does.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from terminal.paths import AppPaths
from terminal.trading.money import floor_to_step, to_decimal
from terminal.trading.number_input import plain
from terminal.trading.orders import OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.trading.paper.settings import PaperSettings
from terminal.ui.trading.desk import TradingDesk
from tests.ui.harness import Launch, Terminal
from tests.ui.trading.trading_helpers import TICK, fill_in, trading, until_sent

D = Decimal
STEP = D("0.00001")  # BTC/USDT's amount step on the simulated exchange
#: enough for the largest amount typed below at any price: no order is refused for funds
RICH = PaperSettings(start_balances={"USDT": D(500_000_000)})

DIGITS = {"ascii": "0", "arabic-indic": "\u0660", "persian": "\u06f0", "full-width": "\uff10"}
DECIMAL_MARKS = [".", ",", "\u066b", "\uff0e", "\uff0c"]
GROUP_MARKS = [",", ".", " ", "\u00a0", "'", "_", "\u066c"]


def write(ascii_text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(ch)) if ch.isdigit() else ch for ch in ascii_text)


def type_into(qtbot: Any, field: QLineEdit, text: str) -> None:
    """Type ``text`` key by key. QTest's keyClicks knows ASCII only (it aborts on
    anything else), so other characters come as a keyboard layout sends them:
    a key press carrying the character's text."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(field, ch)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(
                field, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch)
            )


@st.composite
def typed_amounts(draw: st.DrawFn) -> tuple[str, str, Decimal | None]:
    """(the amount as typed, the decimal mark and digits a price is then typed with,
    the amount meant; None when the writing cannot be read for sure)."""
    whole = draw(st.integers(0, 999) | st.integers(1000, 1500))  # half of them long enough to group
    places = draw(st.integers(0 if whole else 3, 7))
    fraction = "".join(str(d) for d in draw(st.lists(st.integers(0, 9), min_size=places, max_size=places)))
    if not whole and fraction.startswith("000"):  # at least 0.001 BTC: over the market's 5 USDT minimum
        fraction = "001" + fraction[3:]
    value = D(f"{whole}.{fraction}" if fraction else str(whole))
    zero = DIGITS[draw(st.sampled_from(sorted(DIGITS)))]
    mark = draw(st.sampled_from(DECIMAL_MARKS))
    group = draw(st.none() | st.sampled_from(GROUP_MARKS))
    if group is None or whole < 1000 or (group == "." and not fraction):  # "1.500" is one and a half
        head, group = str(whole), None
    else:
        head = f"{whole:,}".replace(",", group)
    text = write(head + (mark + fraction if fraction else ""), zero)
    ambiguous = mark in (",", "\uff0c") and len(fraction) == 3 and 1 <= whole <= 999
    return text, mark + zero, None if group is not None or ambiguous else value


def shown(body: str, pattern: str) -> Decimal:
    found = re.search(pattern, body, re.MULTILINE)
    assert found is not None, f"{pattern!r} not in the confirmation:\n{body}"
    return D(found.group(1))


async def type_confirm_and_send(
    t: Terminal, broker: PaperBroker, desk: TradingDesk, qtbot: Any, case: tuple[str, str, Decimal | None]
) -> None:
    """Type ``case`` into the dock ticket as a limit buy 1% under the market (it rests),
    with the price written the same way; confirm what the confirmation shows; send."""
    text, style, meant = case
    ticket, confirmation = desk.ticket, desk.confirmation
    sent_before = len(broker.orders())
    price = floor_to_step(to_decimal(t.session.book.best_bid or 0) * D("0.99"), TICK)
    price_text = write(plain(price).replace(".", style[0]), style[1])  # its point has one digit after it
    fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "", "")
    type_into(qtbot, ticket.price, price_text)
    type_into(qtbot, ticket.amount, text)
    assert (ticket.amount.text(), ticket.price.text()) == (text, price_text)  # typed as drawn

    if meant is None:  # cannot be read for sure: said on the field, and nothing can send it
        assert "cannot tell" in ticket.errors.text("amount"), (text, ticket.errors.text("amount"))
        assert not ticket.send_button.isEnabled()
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        assert not confirmation.isVisible() and not ticket.sending
        assert len(broker.orders()) == sent_before
        return

    await t.until(ticket.send_button.isEnabled, f"Send to allow {text!r}: {ticket.errors.text('amount')}")
    qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
    await t.until(confirmation.isVisible, "the confirmation")
    body = confirmation.body.text()
    rounded = floor_to_step(meant, STEP)
    assert shown(body, r"^Buy ([0-9.]+) BTC limit") == rounded, (text, body)  # "1,5" said "Buy 15 BTC"
    confirmed = shown(body, r"^Amount: ([0-9.]+) BTC")
    assert confirmed == rounded, (text, body)
    confirmed_price = shown(body, r"^Limit price: ([0-9.]+) USDT")
    assert confirmed_price == price and shown(body, r"limit at ([0-9.]+) USDT") == price, (price_text, body)
    if rounded != meant:
        assert f"rounded down from {plain(meant)}" in body.replace(",", ""), body
    qtbot.keyClick(confirmation, Qt.Key.Key_Return)
    await until_sent(t, ticket)

    sent = broker.orders()[0]  # newest first
    assert len(broker.orders()) == sent_before + 1, ticket.message.text()
    assert (sent.amount, sent.price) == (confirmed, confirmed_price), (text, body, sent)
    await broker.cancel_all()  # the next example starts with the same funds


async def test_no_order_reaches_the_broker_with_another_value_than_the_one_confirmed(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths, paper=RICH) as (t, broker, desk):
        loop = asyncio.get_running_loop()

        # Shrinking would re-run examples past the UI test's deadline: a failure shows the example as drawn.
        @settings(max_examples=40, deadline=None, phases=(Phase.explicit, Phase.reuse, Phase.generate))
        @given(typed_amounts())
        @example(("1,5", ".0", D("1.5")))  # was read as 15
        @example(("0,5", ",0", D("0.5")))  # was read as 5
        @example(("1.500,25", ",0", None))
        @example(("1 500", ".0", None))
        @example(("1,500", ",0", None))
        @example(("١٫٥", "\u066b\u0660", D("1.5")))
        @example(("0.0123456", ".0", D("0.0123456")))  # rounded down to the step: the confirmation says so
        def typed_into_the_ticket(case: tuple[str, str, Decimal | None]) -> None:
            work = type_confirm_and_send(t, broker, desk, qtbot, case)
            asyncio.run_coroutine_threadsafe(work, loop).result(timeout=20)

        await asyncio.to_thread(typed_into_the_ticket)


async def test_a_symbol_change_clears_the_amount_and_price_typed_for_the_old_symbol_and_says_so(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):
        ticket = desk.ticket
        assert ticket.symbol == "BTC/USDT"
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.002", "60000")
        t.window.open_symbol("ETH/USDT")
        await t.until(lambda: ticket.bound and ticket.symbol == "ETH/USDT", "the ticket on ETH/USDT")

        assert ticket.amount.text() == "" and ticket.price.text() == ""  # not 0.002 ETH at 60000
        assert ticket.message.isVisible()
        assert ticket.message.text() == "Amount and price cleared: they were for BTC/USDT."
        assert not ticket.send_button.isEnabled()
        qtbot.keyClick(ticket.amount, Qt.Key.Key_Return)
        assert not desk.confirmation.isVisible() and not broker.orders()

        qtbot.keyClicks(ticket.amount, "0,5")  # typing again: the note has done its job
        assert not ticket.message.isVisible()
        assert ticket.errors.text("amount") == ""


async def test_a_limit_price_far_from_the_market_is_warned_on_the_field_and_in_the_confirmation(
    launch: Launch, app_paths: AppPaths, qtbot: Any
) -> None:
    async with trading(launch, app_paths) as (t, broker, desk):  # the 5% price band, confirmations on
        ticket, confirmation = desk.ticket, desk.confirmation
        far = floor_to_step(to_decimal(t.session.book.mid or 0) * D("1.36"), TICK)
        fill_in(qtbot, ticket, OrderSide.BUY, OrderType.LIMIT, "0.001", plain(far))

        warning = ticket.errors.text("price")  # as typed, before any Send
        assert "price band around the mid" in warning and "price_band_pct" in warning, warning
        off = shown(warning, r"is ([0-9.]+)% above the mid")
        assert D(35) < off < D(37), warning
        assert ticket.send_button.isEnabled()  # a warning: the broker, which knows the account, decides

        qtbot.mouseClick(ticket.send_button, Qt.MouseButton.LeftButton)
        await t.until(confirmation.isVisible, "the confirmation")
        body = confirmation.body.text()
        assert D(35) < shown(body, r"^Limit price ([0-9.]+)% above the mid") < D(37), body
        assert "would refuse this order" in body and "price_band_pct" in body, body
        qtbot.keyClick(confirmation, Qt.Key.Key_Return)
        await until_sent(t, ticket)
        assert "Blocked by the risk rule" in ticket.message.text() and not broker.orders()

        ticket.price.clear()  # back inside the band: the warning goes as the user types
        qtbot.keyClicks(ticket.price, plain(floor_to_step(to_decimal(t.session.book.best_bid or 0), TICK)))
        assert ticket.errors.text("price") == ""
