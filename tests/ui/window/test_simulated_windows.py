"""The app's windows on the simulated exchange: one market and one paper account
however many windows show it, and an honest P&L after a restart (the market
continues from the history file); a different seed starts a new market and asks
what becomes of the paper account."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import qasync
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from terminal.app import WindowFactory
from terminal.config import SIMULATED, ConfigStore
from terminal.logs import LogBuffer
from terminal.market.simulator import SimulatedExchange
from terminal.paths import AppPaths
from terminal.store.history_file import HistoryFile
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.window.main_window import MainWindow
from tests.conftest import wait_until

SYMBOL = "BTC/USDT"


def factory_on(app_paths: AppPaths, log_buffer: LogBuffer, seed: int | None) -> WindowFactory:
    config = ConfigStore(app_paths.config_file)
    config.settings.simulator.history_days = 3
    history = HistoryFile(app_paths.data_dir / "history.sqlite")
    factory = WindowFactory(config, app_paths, log_buffer, history, seed=seed)
    factory.settled.set()  # the accounts load at once
    return factory


async def open_window(factory: WindowFactory) -> MainWindow:
    window = factory.windows.open(SIMULATED)
    await wait_until(lambda: window.chart.candles.drawn > 0, "candles on the chart", timeout=20)
    await wait_until(lambda: isinstance(window.trading.broker, PaperBroker), "the paper account", timeout=20)
    await wait_until(lambda: len(window.session.book.ask_price) > 0, "the order book", timeout=20)
    return window


async def close_all(factory: WindowFactory) -> None:
    factory.close_all()
    await asyncio.wait_for(factory.windows.wait_closed(), 20)
    await factory.shutdown()


def last_price(window: MainWindow) -> float:
    return float(window.session.candles.close[-1])


async def test_two_windows_share_one_market_and_one_paper_account_and_a_restart_prices_it_honestly(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer
) -> None:
    factory = factory_on(app_paths, log_buffer, seed=None)
    first = await open_window(factory)
    first.actions_by_id["window.new"].trigger()  # Ctrl+N
    second = factory.windows.windows[1]
    await wait_until(lambda: second.chart.candles.drawn > 0 and second.trading.broker is not None, "window 2")
    for window in (first, second):
        assert isinstance(window.session.source, SimulatedExchange)
        assert window.session.source.market is factory.simulated
    assert first.trading.broker is second.trading.broker  # one paper account
    await wait_until(lambda: last_price(first) == last_price(second), "the same price in both windows")

    broker = first.trading.broker
    assert isinstance(broker, PaperBroker)
    await broker.submit(OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
    bought = broker.positions()[SYMBOL]
    seed, price_before = factory.simulated.seed, last_price(first)
    await close_all(factory)

    again = factory_on(app_paths, log_buffer, seed=None)  # the next start, same history file
    window = await open_window(again)
    assert again.simulated.seed == seed  # the same market goes on
    broker = window.trading.broker
    assert isinstance(broker, PaperBroker)
    assert broker.positions()[SYMBOL].amount == bought.amount
    assert abs(last_price(window) / price_before - 1) < 0.01  # where it stopped, not a new market
    await wait_until(lambda: SYMBOL in broker.unrealised_pnl(), "the position priced")
    notional = bought.amount * Decimal(str(price_before))
    assert abs(broker.unrealised_pnl()[SYMBOL]) < notional * Decimal("0.01")  # no fake profit
    await close_all(again)


async def test_another_seed_starts_a_new_market_and_asks_whether_to_reset_the_paper_account(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer
) -> None:
    factory = factory_on(app_paths, log_buffer, seed=5)
    window = await open_window(factory)
    broker = window.trading.broker
    assert isinstance(broker, PaperBroker)
    await broker.submit(OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
    await close_all(factory)

    again = factory_on(app_paths, log_buffer, seed=6)  # --seed 6: a new market on purpose
    window = await open_window(again)
    assert again.simulated.seed == 6

    def question() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "new-market-question"]
        shown = [b for b in boxes if isinstance(b, QMessageBox) and b.isVisible()]
        return shown[0] if shown else None

    await wait_until(lambda: question() is not None, "the question about the paper account")
    box = question()
    assert box is not None and "seed 6" in box.text() and "seed 5" in box.text()
    reset = box.findChild(QPushButton, "reset-paper")
    assert reset is not None
    reset.click()
    broker = window.trading.broker
    assert isinstance(broker, PaperBroker)
    await wait_until(lambda: SYMBOL not in broker.positions(), "the paper account reset")
    await close_all(again)


async def test_file_new_simulated_market_moves_every_window_to_it_and_resets_the_paper_account(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer, qtbot: QtBot
) -> None:
    factory = factory_on(app_paths, log_buffer, seed=5)
    window = await open_window(factory)
    broker = window.trading.broker
    assert isinstance(broker, PaperBroker)
    await broker.submit(OrderIntent(SYMBOL, OrderSide.BUY, OrderType.MARKET, Decimal("0.01")))
    old = factory.simulated

    dialog = window.ask_new_market()  # File -> New simulated market...
    assert dialog is not None
    dialog.seed.setText("1,5")
    dialog.accept()  # not a seed: said, and nothing starts
    assert "whole number" in dialog.error.text() and factory.simulated is old
    dialog.seed.setText("5")  # the kept market's own seed: a new market all the same
    dialog.reset.setChecked(True)
    dialog.accept()
    await wait_until(
        lambda: old.closed and window.session.source.market is factory.simulated, "the new market"
    )
    assert factory.simulated.seed == 5 and factory.simulated is not old
    await wait_until(lambda: window.chart.candles.drawn > 0, "the new market's candles")
    await wait_until(lambda: isinstance(window.trading.broker, PaperBroker), "the paper account again")
    broker = window.trading.broker
    assert isinstance(broker, PaperBroker)
    await wait_until(lambda: SYMBOL not in broker.positions(), "the paper account reset as chosen")
    await close_all(factory)
