"""Accounts and keys: accounts in the config file, their endpoints made by the
real ccxt classes (offline), and their keys in the real OS keyring.

Nothing reaches the internet: the accounts point at 127.0.0.1:9, where
nothing listens, so the Test button's request is refused at once. The tests
that store keys need the throwaway Secret Service of ``scripts/with-keyring``
(``scripts/test`` runs pytest inside it) and fail, saying so, without it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from terminal.credentials import ApiKey, CredentialStore
from terminal.logs import setup_logging
from terminal.paths import AppPaths
from tests.ui.accounts.accounts_helpers import close_dialog, open_dialog, select
from tests.ui.harness import Launch, read_toml
from tests.ui.key_question import send_keys_there

pytestmark = pytest.mark.keyring  # the throwaway keyring of scripts/with-keyring

DEAD_REST = "http://127.0.0.1:9"  # the discard port: nothing listens, a connection is refused at once
DEAD_WS = "ws://127.0.0.1:9/stream"
API_KEY = "uiTestKey7Fh2kLq9Zx0PwN4sVb8Rt1Ym6Jc3Gd5"
SECRET = "uiTestSecret9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0ZxCv"

ACCOUNTS_TOML = f"""
[[accounts]]
name = "loop"
exchange = "binance"
rest_url = "{DEAD_REST}"
ws_url = "{DEAD_WS}"

[[accounts]]
name = "okx-sub"
exchange = "okx"
sandbox = true
"""

RUN_IT_RIGHT = (
    "This test needs the throwaway Secret Service that scripts/with-keyring starts: run `scripts/test`, "
    "or `scripts/with-keyring .venv/bin/python -m pytest tests/ui/accounts/test_accounts_dialog.py`."
)


# -- accounts and endpoints -----------------------------------------------------------------------
async def test_a_new_account_on_loopback_rewrites_every_endpoint_and_is_written_to_the_config(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    async with launch() as t:
        dialog = await open_dialog(t)
        assert dialog.account_names() == []
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
        qtbot.keyClicks(dialog.name, "loop")
        qtbot.keyClicks(dialog.exchange.lineEdit(), "binance")
        assert dialog.exchange_id() == "binance"
        assert dialog.sandbox.isEnabled()  # ccxt has a Binance testnet
        qtbot.keyClicks(dialog.rest_url, DEAD_REST)
        qtbot.keyClicks(dialog.ws_url, DEAD_WS)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

        assert dialog.account_names() == ["loop"]
        assert (
            "saved" in dialog.account_status.text()
            and str(app_paths.config_file) in dialog.account_status.text()
        )
        await t.until(
            lambda: dialog.endpoints.endpoints and not dialog.busy, "the endpoints of the new account"
        )

        rows = dialog.endpoints.rows()
        assert len(rows) > 20  # spot, margin, futures, options, websockets: every one of them
        assert all(rewritten for _, _, rewritten in rows)
        assert all(url.startswith((f"{DEAD_REST}/", f"{DEAD_WS}/")) for _, url, _ in rows), rows
        urls = dict((where, url) for where, url, _ in rows)
        assert urls["api.public"] == f"{DEAD_REST}/api/v3"
        assert urls["api.ws.spot"] == f"{DEAD_WS}/ws"
        assert "binance.com" in dialog.endpoints.table.item(0, 2).text()  # what it replaces is shown
        assert dialog.endpoints.table.item(0, 1).font().bold()  # and highlighted
        assert "rewritten" in dialog.endpoints.summary.text()

        saved = read_toml(app_paths.config_file)["accounts"]
        assert saved == [{"name": "loop", "exchange": "binance", "sandbox": False, "rest_url": DEAD_REST,
                          "ws_url": DEAD_WS, "options": {}}]  # fmt: skip
        assert t.settings.account("loop") is not None
        await close_dialog(t, dialog)


async def test_an_account_without_overrides_lists_the_exchanges_own_addresses(
    launch: Launch, app_paths: AppPaths
) -> None:
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        dialog = await open_dialog(t)
        select(dialog, "okx-sub")
        await t.until(lambda: dialog.endpoints.endpoints and not dialog.busy, "okx's endpoints")
        rows = dialog.endpoints.rows()
        assert rows and not any(rewritten for _, _, rewritten in rows)
        assert all("okx.com" in url for _, url, _ in rows)
        assert not dialog.endpoints.table.item(0, 1).font().bold()
        await close_dialog(t, dialog)


async def test_fields_that_do_not_validate_are_marked_and_nothing_is_written(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    async with launch() as t:
        before = app_paths.config_file.read_bytes()
        dialog = await open_dialog(t)
        dialog.new_account()
        qtbot.keyClicks(dialog.name, "my account")
        qtbot.keyClicks(dialog.exchange.lineEdit(), "nosuchexchange")
        qtbot.keyClicks(dialog.rest_url, "ftp://127.0.0.1:9")
        qtbot.keyClicks(dialog.ws_url, "http://127.0.0.1:9")
        assert not dialog.save_account()

        assert "letters, digits" in dialog.field_error("name")
        assert "no exchange called 'nosuchexchange'" in dialog.field_error("exchange")
        assert "must look like http://host:port" in dialog.field_error("rest_url")
        assert "must look like ws://host:port" in dialog.field_error("ws_url")
        assert "Not saved" in dialog.account_status.text()
        assert dialog.account_names() == []
        assert app_paths.config_file.read_bytes() == before

        # Fixed, it saves; a second account of the same name is refused on the name field.
        dialog.name.setText("mine")
        dialog.exchange.setEditText("kraken")
        dialog.rest_url.clear()
        dialog.ws_url.clear()
        assert dialog.save_account()
        assert dialog.field_error("name") == dialog.field_error("rest_url") == ""
        dialog.new_account()
        dialog.name.setText("mine")
        dialog.exchange.setEditText("kraken")
        assert not dialog.save_account()
        assert "already an account called 'mine'" in dialog.field_error("name")
        assert [a["name"] for a in read_toml(app_paths.config_file)["accounts"]] == ["mine"]
        await close_dialog(t, dialog)


async def test_sandbox_and_password_are_offered_only_where_ccxt_has_them(
    launch: Launch, app_paths: AppPaths
) -> None:
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        dialog = await open_dialog(t)
        select(dialog, "okx-sub")
        assert dialog.sandbox.isEnabled() and dialog.sandbox.isChecked()
        assert dialog.keys.password_shown()  # OKX keys come with a passphrase
        select(dialog, "loop")
        assert dialog.sandbox.isEnabled() and not dialog.sandbox.isChecked()
        assert not dialog.keys.password_shown()  # Binance keys do not

        dialog.new_account()
        dialog.exchange.setEditText("kraken")  # ccxt has no Kraken testnet
        assert not dialog.sandbox.isEnabled()
        assert "no sandbox" in dialog.sandbox.toolTip()
        await close_dialog(t, dialog)


async def test_a_broken_config_file_is_not_overwritten_and_the_dialog_says_why(
    launch: Launch, app_paths: AppPaths
) -> None:
    app_paths.config_file.write_text('theme = "purple"\n', encoding="utf-8")
    original = app_paths.config_file.read_bytes()
    async with launch() as t:
        dialog = await open_dialog(t)
        dialog.name.setText("mine")
        dialog.exchange.setEditText("kraken")
        assert dialog.save_account()
        status = dialog.account_status.text()
        assert "For this session only" in status
        assert "theme" in status and str(app_paths.config_file) in status  # what is wrong, and where
        assert t.settings.account("mine") is not None  # usable until the terminal closes
        await close_dialog(t, dialog)
    assert app_paths.config_file.read_bytes() == original


async def test_removing_an_account_asks_first_then_drops_it_from_the_config(
    launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        dialog = await open_dialog(t)
        select(dialog, "okx-sub")
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        box = dialog.confirm_box
        assert box is not None and box.isVisible() and "okx-sub" in box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()
        assert dialog.account_names() == ["loop", "okx-sub"]

        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        box = dialog.confirm_box
        assert box is not None
        remove = next(b for b in box.buttons() if b.text() == "Remove")
        remove.click()
        assert dialog.account_names() == ["loop"]
        assert [a["name"] for a in read_toml(app_paths.config_file)["accounts"]] == ["loop"]
        await t.until(lambda: not dialog.busy, "its keys to be looked for and removed")
        await close_dialog(t, dialog)


# -- keys ------------------------------------------------------------------------------------------
@pytest.fixture
def other_backend() -> Iterator[None]:
    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


@pytest.mark.usefixtures("other_backend")
async def test_without_a_usable_keyring_the_dialog_says_what_to_install(
    launch: Launch, app_paths: AppPaths
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        dialog = await open_dialog(t)
        assert dialog.keys.keyring_ok is False
        text = dialog.keys.keyring_label.text()
        assert "No usable keyring" in text and "install" in text.lower()
        assert "never in a file" in text  # no plaintext fallback, and the user is told so
        for button in (dialog.keys.save_button, dialog.keys.remove_button, dialog.keys.test_button):
            assert not button.isEnabled()
        await close_dialog(t, dialog)


@pytest.fixture
def keyring_store() -> Iterator[CredentialStore]:
    """The real Secret Service of scripts/with-keyring, under a service name of this test's own."""
    if not os.environ.get("WITH_KEYRING_PASSWORD") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail(RUN_IT_RIGHT, pytrace=False)
    store = CredentialStore(f"terminal-uitest-{uuid.uuid4().hex[:8]}")
    store.check()
    yield store
    for account in ("loop", "okx-sub"):
        store.delete(account)


@pytest.fixture
def log_file(tmp_path: Path, restore_logging: None) -> Path:
    """The terminal's own log file setup (with its secret redactor), at DEBUG, put back afterwards."""
    setup_logging(tmp_path / "logs", "DEBUG")
    return tmp_path / "logs" / "terminal.log"


async def test_keys_go_to_the_keyring_only_and_a_dead_endpoint_is_reported_in_plain_words(
    launch: Launch, app_paths: AppPaths, keyring_store: CredentialStore, log_file: Path, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        t.window.credentials = keyring_store
        dialog = await open_dialog(t)
        assert dialog.keys.keyring_ok, dialog.keys.keyring_label.text()
        assert "Secret Service (GNOME Keyring)" in dialog.keys.keyring_label.text()
        select(dialog, "loop")
        dialog.tabs.setCurrentIndex(2)
        await t.until(lambda: "No keys stored" in dialog.keys.status.text(), "the dialog to look for keys")
        assert dialog.keys.secret.echoMode() == dialog.keys.secret.EchoMode.Password

        qtbot.keyClicks(dialog.keys.api_key, API_KEY)
        qtbot.keyClicks(dialog.keys.secret, SECRET)
        qtbot.mouseClick(dialog.keys.save_button, Qt.MouseButton.LeftButton)
        await t.until(lambda: "saved in the keyring" in dialog.keys.status.text(), "the keys to be saved")
        assert dialog.keys.api_key.text() == dialog.keys.secret.text() == ""  # nothing left in the fields
        assert not dialog.keys.secret.isUndoAvailable()
        assert keyring_store.load("loop") == ApiKey(API_KEY, SECRET)

        # Test: keys read from the keyring, a signed request to a port where nothing listens.
        qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
        assert not dialog.keys.test_button.isEnabled()  # one test at a time
        await send_keys_there(t, dialog)  # 127.0.0.1:9 is not Binance's own host
        await t.until(lambda: "test failed" in dialog.keys.status.text(), "the test to fail", timeout=20)
        message = dialog.keys.status.text()
        assert "Binance cannot be reached" in message or "connection to Binance failed" in message
        assert "ExchangeNotAvailable" not in message  # plain words on screen…
        assert "127.0.0.1:9" in dialog.keys.status.toolTip()  # …the library's own, where it tried, aside
        assert "Check the account's addresses" in message
        assert "Traceback" not in message and API_KEY not in message and SECRET not in message
        assert dialog.keys.test_button.isEnabled()

        qtbot.mouseClick(dialog.keys.remove_button, Qt.MouseButton.LeftButton)
        await t.until(lambda: "removed from the keyring" in dialog.keys.status.text(), "the keys to go")
        assert keyring_store.load("loop") is None
        await close_dialog(t, dialog)

    for handler in logging.getLogger().handlers:
        handler.flush()
    config_text = app_paths.config_file.read_text(encoding="utf-8")
    log_text = log_file.read_text(encoding="utf-8")
    assert "Keys of account loop saved to the keyring" in log_text  # the log is really this one
    for text in (config_text, log_text):
        assert SECRET not in text and API_KEY not in text


async def test_test_without_stored_keys_says_so(
    launch: Launch, app_paths: AppPaths, keyring_store: CredentialStore, qtbot: QtBot
) -> None:
    app_paths.config_file.write_text(ACCOUNTS_TOML, encoding="utf-8")
    async with launch() as t:
        t.window.credentials = keyring_store
        dialog = await open_dialog(t)
        select(dialog, "okx-sub")
        qtbot.mouseClick(dialog.keys.save_button, Qt.MouseButton.LeftButton)
        assert "The API key is empty" in dialog.keys.status.text()  # nothing half-filled is stored
        qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
        await t.until(lambda: "test failed" in dialog.keys.status.text(), "the test to answer")
        assert "No keys are stored for account 'okx-sub'" in dialog.keys.status.text()
        await close_dialog(t, dialog)
