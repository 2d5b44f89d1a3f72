"""Several windows at once: each its own market, one loop, one quit."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from terminal.config import SIMULATED, ConfigStore
from terminal.logs import LogBuffer
from terminal.market.session import MarketSession
from terminal.market.simulator import SimulatedExchange
from terminal.paths import AppPaths
from terminal.ui.theme import DARK, LIGHT
from terminal.ui.window.main_window import MainWindow
from terminal.ui.window.windows import WindowSet
from tests.conftest import wait_until
from tests.ui.harness import columns_with, price_pane, read_toml, rgb


async def test_a_second_window_shows_another_symbol_and_quit_closes_both(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer
) -> None:
    config = ConfigStore(app_paths.config_file)
    config.settings.simulator.history_days = 5
    sources: list[SimulatedExchange] = []

    def make_window(exchange: str, start_at: tuple[str, str] | None, primary: bool) -> MainWindow:
        source = SimulatedExchange(seed=7 + len(sources), history_days=5, pump_interval=0.02)
        sources.append(source)
        session = MarketSession(source, config.settings.watchlist)
        return MainWindow(session, config, app_paths, log_buffer, exchange=exchange, start_at=start_at,
                          primary=primary)  # fmt: skip

    windows = WindowSet(make_window)
    first = windows.open(SIMULATED)
    await wait_until(
        lambda: first.session.symbol == "BTC/USDT" and first.chart.candles.drawn > 0, "the first window"
    )

    first.actions_by_id["window.new"].trigger()  # Ctrl+N
    assert len(windows.windows) == 2
    second = windows.windows[1]
    assert not second.primary and second.pos() != first.pos()
    await wait_until(lambda: second.session.symbol == "BTC/USDT", "the second window on the same symbol")

    second.open_symbol("ETH/USDT")
    await wait_until(lambda: second.session.symbol == "ETH/USDT" and len(second.session.book.bid_price) > 0,
                     "the second window on ETH/USDT")  # fmt: skip
    # Each window its own market: the first still shows BTC, both keep moving.
    assert first.session.symbol == "BTC/USDT" and first.session is not second.session
    trades = (first.session.tape.total, second.session.tape.total)
    await wait_until(lambda: first.session.tape.total > trades[0] and second.session.tape.total > trades[1],
                     "both markets live")  # fmt: skip

    first.actions_by_id["app.quit"].trigger()  # Ctrl+Q closes every window
    await asyncio.wait_for(windows.wait_closed(), 10)
    assert windows.windows == []
    for source in sources:
        assert source._closed, "every window's market was shut down"
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]


async def test_a_theme_change_in_one_window_reaches_the_other_and_each_keeps_its_market(
    qt_loop: qasync.QEventLoop, app_paths: AppPaths, log_buffer: LogBuffer
) -> None:
    config = ConfigStore(app_paths.config_file)
    sources: list[SimulatedExchange] = []

    def make_window(exchange: str, start_at: tuple[str, str] | None, primary: bool) -> MainWindow:
        source = SimulatedExchange(seed=7, history_days=5, pump_interval=0.02)
        sources.append(source)
        session = MarketSession(source, config.settings.watchlist)
        return MainWindow(session, config, app_paths, log_buffer, exchange=exchange, start_at=start_at,
                          primary=primary)  # fmt: skip

    windows = WindowSet(make_window)
    first = windows.open(SIMULATED)
    await wait_until(lambda: first.chart.candles.drawn > 0, "the first window's candles")
    second = windows.open(SIMULATED, ("ETH/USDT", "5m"))
    await wait_until(lambda: second.chart.candles.drawn > 0 and second.session.symbol == "ETH/USDT",
                     "the second window's candles")  # fmt: skip
    assert (price_pane(second.chart) == rgb(DARK.background)).mean() > 0.5

    first.actions_by_id["view.theme"].trigger()  # Ctrl+Shift+T in the first window
    for window in (first, second):  # both follow: chart, ladder, tape, panels
        assert window.theme is LIGHT
        assert window.book_view.canvas.theme is LIGHT and window.watchlist_model.theme is LIGHT
        pane = price_pane(window.chart)
        assert (pane == rgb(LIGHT.background)).mean() > 0.5
        assert columns_with(pane, LIGHT.up) > 10 and columns_with(pane, LIGHT.down) > 10

    # New key bindings reach both windows too.
    config.change(keybindings={"chart.latest": "Ctrl+End"})
    for window in (first, second):
        assert [s.toString() for s in window.actions_by_id["chart.latest"].shortcuts()] == ["Ctrl+End"]

    first.open_symbol("SOL/USDT")
    await wait_until(lambda: first.session.symbol == "SOL/USDT", "the first window on SOL/USDT")
    second.close()  # the second window's market is its own: not what the next start opens
    await wait_until(lambda: len(windows.windows) == 1, "the second window closed")
    first.close()
    await asyncio.wait_for(windows.wait_closed(), 10)
    saved = read_toml(app_paths.config_file)
    assert saved["theme"] == "light"
    assert saved["market"]["symbol"] == "SOL/USDT" and saved["market"]["timeframe"] == "1m"
