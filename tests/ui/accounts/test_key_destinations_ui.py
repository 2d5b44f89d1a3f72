"""Keys go only where the user meant: "Test" in the accounts dialog and Trade →
Trade live ask before an account's keys go to a host that is not its
exchange's own, naming it; a "no" sends nothing; plain text to another
computer is refused before anything is asked or sent. A real window, the real
ccxt.pro.binance class against the loopback exchange (which records every
request it gets), the real (throwaway) keyring."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from terminal.credentials import ApiKey, CredentialStore
from terminal.paths import AppPaths
from tests.keyring_helpers import needs_keyring
from tests.loopback.binance import LoopbackBinance
from tests.ui.accounts.accounts_helpers import close_dialog, open_dialog, select
from tests.ui.harness import Launch
from tests.ui.key_question import answer, key_question, open_question
from tests.ui.live_account import ACCOUNT, loopback_account, on_paper

pytestmark = pytest.mark.keyring  # the throwaway keyring of scripts/with-keyring

API_KEY = "DestKey-6Yh3Nb8Ml1Kj4Hg7Fd0Sa2Qw5Er9Ty3Ui"
SECRET = "DestSecret-2Zx5Cv8Bn1Mq4Wz7Ex0Rc3Tv6Yb9Un"


def signed(requests: list[str]) -> list[str]:
    """The requests that carried the key: signed ones, and Binance's user-data stream (key header only)."""
    return [r for r in requests if "signature=" in r or "userDataStream" in r]


async def test_the_key_test_asks_naming_the_host_and_a_no_sends_nothing(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    needs_keyring()
    server = LoopbackBinance(seed=3, history_days=1)
    await server.start()
    server.add_key(API_KEY, SECRET, {"USDT": 1_000.0})
    host = f"127.0.0.1:{server.port}"
    app_paths.config_file.write_text(
        f'[[accounts]]\nname = "loop"\nexchange = "binance"\nrest_url = "http://{host}"\n'
        f'ws_url = "ws://{host}/stream"\n'
        'options = { fetchMarkets = { types = ["spot"] }, fetchCurrencies = false, fetchMargins = false }\n'
    )
    store = CredentialStore(f"terminal-uitest-dest-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(store.save, "loop", ApiKey(API_KEY, SECRET))
    try:
        async with launch() as t:
            t.window.credentials = store
            dialog = await open_dialog(t)
            select(dialog, "loop")
            await t.until(lambda: dialog.endpoints.endpoints and not dialog.busy, "the endpoints")
            summary = dialog.endpoints.summary.text()
            assert f"API keys would go to {host}, not Binance's own host" in summary  # said before any test

            qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
            box = await key_question(t, dialog)
            assert f"to {host}, which is not one of Binance's own hosts" in box.text()
            assert "account 'loop'" in box.text()
            assert any(b.text() == f"Send the keys to {host}" for b in box.buttons())
            answer(box, send=False)
            await t.until(lambda: "Not tested" in dialog.keys.status.text(), "the answer on screen")
            assert f"The keys were not sent to {host}." in dialog.keys.status.text()
            assert server.requests == []  # nothing at all reached the host
            assert dialog.keys.test_button.isEnabled()

            qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
            answer(await key_question(t, dialog), send=True)
            await t.until(lambda: "Keys work" in dialog.keys.status.text(), "the test to pass", timeout=20)
            assert signed(server.requests), "the key went to the host the user agreed to"
            await close_dialog(t, dialog)
    finally:
        await asyncio.to_thread(store.delete, "loop")
        await server.stop()


async def test_plain_text_to_another_computer_and_credentials_in_an_address_are_refused(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    needs_keyring()
    app_paths.config_file.write_text(
        '[[accounts]]\nname = "relay"\nexchange = "luno"\nrest_url = "http://relay.example:8080"\n'
    )  # an http relay for a keyless account's market data is taken; its keys never go there
    store = CredentialStore(f"terminal-uitest-dest-{uuid.uuid4().hex[:8]}")
    async with launch() as t:
        t.window.credentials = store
        dialog = await open_dialog(t)
        select(dialog, "relay")
        await t.until(lambda: dialog.endpoints.endpoints and not dialog.busy, "the endpoints")
        assert "Its API keys will not be sent" in dialog.endpoints.summary.text()

        qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
        await t.until(lambda: "test failed" in dialog.keys.status.text(), "the refusal")
        message = dialog.keys.status.text()
        assert "'http://relay.example:8080' is not encrypted" in message and "plain text" in message
        assert "Use https://" in message
        assert open_question(dialog) is None  # refused outright, not offered

        # Credentials inside an address: refused on the field, never repeated.
        before = app_paths.config_file.read_bytes()
        dialog.rest_url.setText("https://me:Pr0xyPassw0rd@relay.example:8443")
        assert not dialog.save_account()
        error = dialog.field_error("rest_url")
        assert "user name or password" in error and "https://***@relay.example:8443" in error
        assert "Pr0xyPassw0rd" not in error and "Pr0xyPassw0rd" not in dialog.account_status.text()
        assert app_paths.config_file.read_bytes() == before
        await close_dialog(t, dialog)


async def test_trade_live_asks_naming_the_host_a_no_stays_on_paper_and_the_notice_names_it(
    launch: Launch, app_paths: AppPaths, tmp_path: Path
) -> None:
    needs_keyring()
    market = loopback_account(app_paths, tmp_path)
    async with market as (server, session), launch(session=session, exchange=ACCOUNT) as t:
        window, brokers = await on_paper(t, session)
        host = f"127.0.0.1:{server.port}"
        window.live_action.trigger()
        box = await key_question(t, window)
        assert f"Trading live sends the API keys of account '{ACCOUNT}' to {host}" in box.text()
        answer(box, send=False)
        await t.until(lambda: "did not start" in window.notice.label.text(), "the answer on screen")
        assert f"The keys were not sent to {host}." in window.notice.label.text()
        assert window.trading.broker is not None and window.trading.broker.kind == "paper"
        assert not window.live_action.isChecked()
        assert signed(server.requests) == [], "a 'no' sends nothing with the key"

        window.live_action.trigger()
        answer(await key_question(t, window), send=True)
        await t.until(
            lambda: window.trading.broker is not None and window.trading.broker.kind == "live",
            "the live account",
            timeout=20,
        )
        notice = window.notice.label.text()
        assert f"({host}, not Binance's own host): orders from this window are real" in notice
        assert signed(server.requests)
        await brokers.close(window)


async def test_closing_the_window_while_it_asks_sends_nothing_and_does_not_wait_for_an_answer(
    launch: Launch, app_paths: AppPaths, tmp_path: Path
) -> None:
    needs_keyring()
    market = loopback_account(app_paths, tmp_path)
    async with market as (server, session), launch(session=session, exchange=ACCOUNT) as t:
        window, _brokers = await on_paper(t, session)
        window.live_action.trigger()
        await key_question(t, window)
        await t.shut()  # fails if the window's shutdown waits for the question
        assert signed(server.requests) == []
