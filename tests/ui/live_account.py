"""A window whose account trades live: the loopback Binance server with the
account's keys, the account in the config file, and its keys in the real
(throwaway) keyring of ``scripts/with-keyring``. Shared by the tests of live
trading from the window (tests/ui/trading) and of where keys may go
(tests/ui/accounts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from terminal.credentials import ApiKey, CredentialStore
from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.store import CandleStore
from terminal.ui.trading.paper_brokers import PaperBrokers
from terminal.ui.window.main_window import MainWindow
from tests.loopback.binance import LoopbackBinance
from tests.ui.harness import Terminal

SYMBOL = "BTC/USDT"
ACCOUNT = "loopback"
API_KEY = "WindowLiveKey-4Rt7Yu1Io3Pa5Sd8Fg0Hj2Kl6Zx9Cv1Bn3Mq5Wz"
SECRET = "WindowLiveSecret-9Lk7Jh5Gf3Ds1Ap0Oi8Uy6Tr4Ew2Qz1Xc3Vb5N"


@asynccontextmanager
async def loopback_account(
    app_paths: AppPaths, tmp_path: Path
) -> AsyncIterator[tuple[LoopbackBinance, MarketSession]]:
    """The server (knowing ``API_KEY``), the account ``ACCOUNT`` on it in the
    config file, and a market session on it for the window."""
    server = LoopbackBinance(seed=12, history_days=1, pump_interval=0.05)
    await server.start()
    server.add_key(API_KEY, SECRET, {"USDT": 50_000.0, "BTC": 1.0})
    port = server.port
    app_paths.config_file.write_text(
        f"""
[[accounts]]
name = "{ACCOUNT}"
exchange = "binance"
rest_url = "http://127.0.0.1:{port}"
ws_url = "ws://127.0.0.1:{port}/stream"
options = {{ fetchMarkets = {{ types = ["spot"] }}, fetchCurrencies = false, fetchMargins = false }}
"""
    )
    source = CcxtSource(
        "binance",
        rest_url=f"http://127.0.0.1:{port}",
        ws_url=f"ws://127.0.0.1:{port}/stream",
        options={"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False},
    )
    store = CandleStore(tmp_path / "history.sqlite")
    session = MarketSession(source, [SYMBOL], max_history=500, store=store, store_name=ACCOUNT)
    try:
        yield server, session
    finally:
        store.close()
        await server.stop()


def account_keyring(with_key: bool) -> CredentialStore:
    """The real keyring under a service name of the test's own, with the
    account's keys in it (``with_key``) or none."""
    store = CredentialStore(service=f"terminal-ui-live-{uuid.uuid4().hex[:8]}")
    if with_key:
        store.save(ACCOUNT, ApiKey(API_KEY, SECRET))
    return store


async def on_paper(
    t: Terminal, session: MarketSession, with_key: bool = True
) -> tuple[MainWindow, PaperBrokers]:
    """The window trading its paper account; the account's keys in the keyring (``with_key``)."""
    window = t.window
    window.credentials = await asyncio.to_thread(account_keyring, with_key)
    brokers = PaperBrokers(window.settings, lambda: session.store)
    brokers.manage(window)  # its shutdown closes the brokers (and waits for a live switch under way)
    await t.until(lambda: window.trading.broker is not None, "the paper account")
    return window, brokers
