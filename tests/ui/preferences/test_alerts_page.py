"""Preferences ▸ Alerts: mute and the toast's seconds applied like every other setting;
webhooks set up by the user, each one's name in config.toml and its address (which
holds the service's token) in the real OS keyring only, tested against a loopback
HTTP server, removed from both.

The webhook tests use the throwaway Secret Service of ``scripts/with-keyring``
(``scripts/test`` runs pytest inside it) under a keyring service of their own.
The dialog is the real one, offscreen, on the qasync loop (tests/ui/conftest.py).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QTreeWidget
from pytestqt.qtbot import QtBot
from shiboken6 import isValid

from terminal.alerts.delivery.webhooks import WebhookVault
from terminal.config import ConfigStore
from terminal.credentials import CredentialStore
from terminal.ui.preferences.alerts_page import AlertsPage
from terminal.ui.preferences.dialog import PreferencesDialog
from terminal.ui.preferences.webhook_dialog import AddWebhookDialog
from terminal.ui.theme import DARK
from tests.alerts.http_sink import HttpSink, Reply
from tests.conftest import wait_until
from tests.keyring_helpers import unlock
from tests.ui.harness import read_toml

LEFT = Qt.MouseButton.LeftButton
#: a Telegram bot's address: the token is in its path
TOKEN = "7731942517:AAHk3xQ9pV2mLr8sTzW4yB6nD0cF5gJ1eUo"
TELEGRAM = f"https://api.telegram.org/bot{TOKEN}/sendMessage?chat_id=-1001234567890"
HOOK_TOKEN = "T0KEN-relay-9f8e7d6c5b4a39281706"
NAMES = ("telegram", "Telegram", "desk-chat", "relay", "other")
RUN_IT_RIGHT = (
    "This test needs the throwaway Secret Service that scripts/with-keyring starts: run `scripts/test`, or "
    "`scripts/with-keyring .venv/bin/python -m pytest tests/ui/preferences/test_alerts_page.py`."
)


# -- fixtures and steps ----------------------------------------------------------------------------
@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "config.toml"


def make_config(path: Path, webhooks: list[str] | None = None) -> ConfigStore:
    path.parent.mkdir(parents=True, exist_ok=True)
    if webhooks is not None:
        path.write_text(f"[alerts]\nwebhooks = {webhooks!r}\n".replace("'", '"'), encoding="utf-8")
    return ConfigStore(path)


@pytest.fixture
def keyring_store() -> Iterator[CredentialStore]:
    """The real Secret Service of scripts/with-keyring, under a service name of this test's own."""
    if not os.environ.get("WITH_KEYRING_PASSWORD") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.fail(RUN_IT_RIGHT, pytrace=False)
    store = CredentialStore(f"terminal-uitest-{uuid.uuid4().hex[:8]}")
    store.check()
    yield store
    vault = WebhookVault(store)
    for name in NAMES:
        vault.delete(name)


def open_preferences(config: ConfigStore, store: CredentialStore | None = None) -> PreferencesDialog:
    """Preferences as the window makes it (with its keyring store), on its Alerts tab: the webhooks'
    addresses are read from ``store`` then (on the running loop)."""
    keyring = None if store is None else (lambda: store)
    dialog = PreferencesDialog(config, {}, "simulated", DARK, credentials=keyring)
    dialog.show()
    if store is None:
        return dialog  # a test of the settings alone: no keyring, no loop
    dialog.tabs.setCurrentWidget(dialog.alerts)
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "Alerts"
    return dialog


async def close(dialog: PreferencesDialog) -> None:
    dialog.reject()
    await dialog.alerts.shutdown()
    dialog.deleteLater()


def rows(page: AlertsPage) -> dict[str, str]:
    """The webhook list as it reads: name → the address column."""
    tree = page.webhook_list
    items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
    return {item.text(0): item.text(1) for item in items if item is not None and item.text(0)}


async def read(page: AlertsPage) -> dict[str, str]:
    await wait_until(lambda: not page.busy and "reading" not in str(rows(page)), "the addresses to be read")
    return rows(page)


def select(page: AlertsPage, name: str) -> None:
    page.select(name)
    assert page.selected() == name


def screen_texts(dialog: PreferencesDialog) -> list[str]:
    """Every text the dialog (and the dialogs it opened) shows or tips, but what is typed in a field."""
    texts: list[str] = []
    for label in dialog.findChildren(QLabel):
        texts += [label.text(), label.toolTip()]
    for tree in dialog.findChildren(QTreeWidget):
        for index in range(tree.topLevelItemCount()):
            item = tree.topLevelItem(index)
            assert item is not None
            texts += [item.text(c) for c in range(tree.columnCount())]
            texts += [item.toolTip(c) for c in range(tree.columnCount())]
    return texts


async def open_add(page: AlertsPage, qtbot: QtBot) -> AddWebhookDialog:
    qtbot.mouseClick(page.add_button, LEFT)
    add = page.add_dialog
    assert add is not None and add.isVisible()
    return add


# The test's own keyring calls are made on the loop's thread, on purpose: through asyncio.to_thread,
# qasync's executor would log the address (an argument, a result) at DEBUG, and the tests look for it
# in the log to show that the page never lets it get there.
def store_address(store: CredentialStore, name: str, url: str) -> None:
    WebhookVault(store).save(name, url)


def stored_address(store: CredentialStore, name: str) -> str | None:
    return WebhookVault(store).url(name)


# -- mute and the toast ----------------------------------------------------------------------------
def test_mute_and_the_toast_seconds_are_saved_by_apply_and_kept_by_cancel(
    qtbot: QtBot, config_file: Path
) -> None:
    config = make_config(config_file, ["relay"])
    dialog = open_preferences(config)  # the fields only: the webhooks' addresses are not read
    qtbot.addWidget(dialog)
    page = dialog.alerts
    assert not page.mute.isChecked() and page.toast_seconds.value() == 6

    qtbot.mouseClick(page.mute, LEFT)
    page.toast_seconds.setValue(15)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Apply).click()
    saved = read_toml(config_file)["alerts"]
    assert saved == {"muted": True, "webhooks": ["relay"], "toast_seconds": 15}  # the names untouched
    assert config.settings.alerts.muted is True and "Saved." in dialog.message.text()

    qtbot.mouseClick(page.mute, LEFT)  # unticked, then Cancel: nothing written
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert not dialog.isVisible()
    assert read_toml(config_file)["alerts"]["muted"] is True


def test_a_mute_from_the_alerts_panel_shows_in_an_open_dialog(qtbot: QtBot, config_file: Path) -> None:
    config = make_config(config_file)
    dialog = open_preferences(config)
    qtbot.addWidget(dialog)
    # What the alerts panel's Mute button does (ui/window/window_alerts.py).
    config.change(alerts=config.settings.alerts.model_copy(update={"muted": True}))
    assert dialog.alerts.mute.isChecked()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()  # nothing changed here: no undo
    assert read_toml(config_file)["alerts"]["muted"] is True


# -- webhooks --------------------------------------------------------------------------------------
@pytest.mark.keyring
async def test_an_added_webhook_has_its_name_in_the_config_and_its_address_in_the_keyring_only(
    qt_loop: qasync.QEventLoop,
    qtbot: QtBot,
    config_file: Path,
    keyring_store: CredentialStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = make_config(config_file)
    dialog = open_preferences(config, keyring_store)
    page = dialog.alerts
    assert rows(page) == {} and not page.test_button.isEnabled() and not page.remove_button.isEnabled()

    add = await open_add(page, qtbot)
    assert add.url.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(add.name, "telegram")
    qtbot.keyClicks(add.url, f"  {TELEGRAM} ")  # a paste with spaces around it
    qtbot.mouseClick(add.show_url, LEFT)
    assert add.url.echoMode() == QLineEdit.EchoMode.Normal  # the user may look at what was pasted
    qtbot.mouseClick(add.show_url, LEFT)
    assert add.url.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(add.ok_button, LEFT)
    await wait_until(lambda: not isValid(add), "the add dialog to close and go, with what was typed")
    assert page.add_dialog is None

    assert "Webhook 'telegram' added" in page.status.text()
    assert rows(page) == {"telegram": "https://api.telegram.org/…"}
    assert page.selected() == "telegram" and page.test_button.isEnabled()
    assert read_toml(config_file)["alerts"]["webhooks"] == ["telegram"]
    assert stored_address(keyring_store, "telegram") == TELEGRAM
    config_text = config_file.read_text(encoding="utf-8")
    assert TOKEN not in config_text and "sendMessage" not in config_text and "chat_id" not in config_text
    for text in [*screen_texts(dialog), caplog.text]:
        assert TOKEN not in text and "1001234567890" not in text
    assert "Webhook 'telegram' added" in caplog.text  # the log is really the one looked at

    # Cancel keeps it (it was written at once); a new dialog reads the address from the keyring.
    await close(dialog)
    assert read_toml(config_file)["alerts"]["webhooks"] == ["telegram"]
    again = open_preferences(config, keyring_store)
    assert await read(again.alerts) == {"telegram": "https://api.telegram.org/…"}
    assert all(TOKEN not in text for text in screen_texts(again))
    await close(again)
    assert TOKEN not in caplog.text  # nor when it was read back (its result is only the shown form)


@pytest.mark.keyring
async def test_a_wrong_address_or_name_is_said_on_its_field_and_nothing_is_saved(
    qt_loop: qasync.QEventLoop, qtbot: QtBot, config_file: Path, keyring_store: CredentialStore
) -> None:
    config = make_config(config_file, ["Telegram"])  # set up by hand: no address in the keyring
    before = config_file.read_bytes()
    dialog = open_preferences(config, keyring_store)
    page = dialog.alerts
    assert await read(page) == {"Telegram": "not in the keyring"}

    add = await open_add(page, qtbot)
    qtbot.keyClicks(add.name, "desk chat")
    plain_http = f"http://chat.example.com/hooks/{HOOK_TOKEN}"
    qtbot.keyClicks(add.url, plain_http)
    qtbot.mouseClick(add.ok_button, LEFT)
    assert add.isVisible() and not add.saving  # refused at once: nothing was handed to the keyring
    assert "must start with https://" in add.errors.text("url")
    assert "letters, digits, dashes or underscores" in add.errors.text("name")

    add.name.setText("telegram")  # differs from "Telegram" in case only
    add.url.setText("https://chat.example.com/hooks/ bad")
    qtbot.mouseClick(add.ok_button, LEFT)
    assert "set up already" in add.errors.text("name")
    assert "space" in add.errors.text("url")
    for text in screen_texts(dialog):
        assert HOOK_TOKEN not in text and "chat.example.com" not in text

    qtbot.keyClick(add, Qt.Key.Key_Escape)
    await wait_until(lambda: page.add_dialog is None, "the add dialog to close")
    assert config_file.read_bytes() == before
    for name in ("desk chat", "telegram"):
        assert keyring_store.load_secret(f"webhook:{name}") is None
    await close(dialog)


@pytest.mark.keyring
async def test_test_posts_through_the_sender_and_says_sent_or_why_not(
    qt_loop: qasync.QEventLoop, qtbot: QtBot, config_file: Path, keyring_store: CredentialStore
) -> None:
    with HttpSink([Reply(200), Reply(404, body=b'{"error":"no such hook"}')]) as sink:
        store_address(keyring_store, "relay", sink.url(f"/hooks/{HOOK_TOKEN}"))
        config = make_config(config_file, ["relay"])
        dialog = open_preferences(config, keyring_store)
        page = dialog.alerts
        assert await read(page) == {"relay": f"http://127.0.0.1:{sink.port}/…"}
        select(page, "relay")

        qtbot.mouseClick(page.test_button, LEFT)
        assert not page.test_button.isEnabled() and not page.remove_button.isEnabled()  # one at a time
        await wait_until(
            lambda: "Sent" in page.status.text(), "the test to be sent", explain=page.status.text
        )
        assert page.status.text() == "Sent: webhook 'relay' took the test message."
        (request,) = sink.received
        assert request.method == "POST" and request.target == f"/hooks/{HOOK_TOKEN}"
        assert request.headers["content-type"].startswith("application/json")
        body = request.json()
        assert body["text"] == body["content"] == "Test from the trading terminal: webhook 'relay' works."
        assert body["alert"] == "test"
        await wait_until(page.test_button.isEnabled, "the buttons back")

        qtbot.mouseClick(page.test_button, LEFT)  # now the service answers 404: a revoked address
        await wait_until(lambda: "refused" in page.status.text(), "the refusal", explain=page.status.text)
        said = page.status.text()
        assert "Webhook 'relay' refused the alert: it answered HTTP 404 (Not Found)" in said
        assert (
            "Check its address" in said and HOOK_TOKEN not in said and DARK.down in page.status.styleSheet()
        )
        assert len(sink.received) == 2  # one attempt: the test does not retry
        await close(dialog)


@pytest.mark.keyring
async def test_remove_asks_then_deletes_the_keyring_entry_and_the_name(
    qt_loop: qasync.QEventLoop, qtbot: QtBot, config_file: Path, keyring_store: CredentialStore
) -> None:
    store_address(keyring_store, "relay", f"https://hooks.example.net/services/{HOOK_TOKEN}")
    store_address(keyring_store, "other", TELEGRAM)
    config = make_config(config_file, ["relay", "other"])
    dialog = open_preferences(config, keyring_store)
    page = dialog.alerts
    await read(page)
    select(page, "relay")

    qtbot.mouseClick(page.remove_button, LEFT)
    box = page.confirm_box
    assert box is not None and box.isVisible() and "relay" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert rows(page).keys() == {"relay", "other"}

    qtbot.mouseClick(page.remove_button, LEFT)
    box = page.confirm_box
    assert box is not None
    next(b for b in box.buttons() if b.text() == "Remove").click()
    await wait_until(lambda: "removed" in page.status.text(), "the removal", explain=page.status.text)
    assert page.status.text() == "Webhook 'relay' removed, with its address in the keyring."
    assert rows(page) == {"other": "https://api.telegram.org/…"}
    assert read_toml(config_file)["alerts"]["webhooks"] == ["other"]
    assert stored_address(keyring_store, "relay") is None
    assert stored_address(keyring_store, "other") == TELEGRAM  # the other one untouched
    await close(dialog)


@pytest.fixture
def locked_keyring(keyring_store: CredentialStore) -> Iterator[None]:
    """The throwaway keyring locked for the test, unlocked again afterwards (before its entries go)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    collection.lock()
    yield
    unlock(collection)
    connection.close()


@pytest.mark.keyring
async def test_a_locked_keyring_is_said_in_the_list_and_nothing_is_added(
    qt_loop: qasync.QEventLoop, qtbot: QtBot, config_file: Path, keyring_store: CredentialStore,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    store_address(keyring_store, "relay", f"https://hooks.example.net/services/{HOOK_TOKEN}")
    config = make_config(config_file, ["relay"])
    request.getfixturevalue("locked_keyring")
    dialog = open_preferences(config, keyring_store)
    page = dialog.alerts
    shown = (await read(page))["relay"]
    assert shown.startswith("keyring locked: The keyring (")
    assert "Unlock it" in page.status.text()  # the whole message, with what to do

    add = await open_add(page, qtbot)  # the keyring refuses the address: the dialog says so and stays
    add.name.setText("desk-chat")
    add.url.setText(f"https://chat.example.com/hooks/{HOOK_TOKEN}")
    qtbot.mouseClick(add.ok_button, LEFT)
    await wait_until(lambda: not add.saving, "the keyring to answer")
    assert add.isVisible() and "locked" in add.status.text()
    assert add.url.text().endswith(HOOK_TOKEN)  # kept, to try again once it is unlocked
    assert read_toml(config_file)["alerts"]["webhooks"] == ["relay"]
    add.reject()
    await close(dialog)
