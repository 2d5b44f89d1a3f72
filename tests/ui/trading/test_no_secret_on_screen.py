"""No credential and no signature on screen or on disk after a keyed session
in a real window: the accounts dialog's key test (a wrong secret, then the
right one), live trading that fails to start and then trades, a refused
order, the journal exported from the Trade menu; logging at DEBUG, ccxt's
logger too.

Both loopback protocols (tests/loopback/protocols.py), the real ccxt.pro
classes, the real (throwaway) keyring of scripts/with-keyring. Every widget's
texts are read at each step (tooltips, labels, fields, message boxes, window
titles, table cells and their tooltips), and every file under the test's
folders at the end (config, history file and its WAL, log, export). The
question the terminal asks before keys go to a host that is not the
exchange's own (the loopback server is not) is answered yes when it shows.

And the review's case: the "Test keys" tooltip of an exchange that puts the
secret itself on the wire (Luno's Basic auth, Alpaca's secret header) or signs
in headers (Kraken), when the server echoes what it received into its refusal.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from terminal.config import AccountSettings, ConfigStore
from terminal.credentials import CredentialStore
from terminal.errors import TerminalError
from terminal.logs import LogBuffer, setup_logging
from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.paths import AppPaths
from terminal.store import CandleStore
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.ui.accounts.dialog import AccountsDialog
from terminal.ui.trading.paper_brokers import PaperBrokers
from tests.keyring_helpers import needs_keyring
from tests.leak_scan import (
    Secrets,
    echoing_server,
    error_texts,
    leaks_in_files,
    leaks_in_texts,
    recording_server,
)
from tests.loopback.protocols import PROTOCOLS, Protocol
from tests.ui.harness import Launch, Terminal

pytestmark = [pytest.mark.keyring, pytest.mark.slow]

SYMBOL = "BTC/USDT"
ACCOUNT = "loop"
API_KEY = "ScreenLeakKey-6Tg9Yh2Uj5Ik8Ol1Pz4Xc7Vb"
SECRET = "ScreenLeakSecret-3Rf6Tg9Yh2Uj5Ik8Ol1Pq"
WRONG_SECRET = "ScreenLeakWrong-8Ik5Uj2Yh9Tg6Rf3Ed0Ws"
PASSPHRASE = "ScreenLeakPass-4Ed7Rf"
ECHO_SECRET = base64.b64encode(b"ScreenEchoSecret-5Tg8Yh1Uj4Ik").decode()  # Kraken's secrets are base64
MAX_ROWS = 500  # table rows read per view (the book and the tape are long and hold no text of ours)


# -- the screen ------------------------------------------------------------------------------------
def _view_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    texts = []
    root = QModelIndex()
    for row in range(min(model.rowCount(root), MAX_ROWS)):
        for column in range(1 if isinstance(model, QAbstractListModel) else model.columnCount(root)):
            index = model.index(row, column)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(index, role)
                if value is not None:
                    texts.append(str(value))
    return texts


def _widget_texts(widget: QWidget) -> list[str]:
    texts = [widget.toolTip(), widget.windowTitle(), widget.statusTip(), widget.whatsThis()]
    if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
        texts.append(widget.text())
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        texts.append(widget.toPlainText())
    if isinstance(widget, QMessageBox):
        texts += [widget.text(), widget.informativeText(), widget.detailedText()]
    if isinstance(widget, QAbstractItemView):
        texts += _view_texts(widget)
    return [text for text in texts if text]


def screen_texts() -> list[str]:
    """Every text any widget of the application shows now, tooltips included."""
    return [text for widget in QApplication.allWidgets() for text in _widget_texts(widget)]


def answer_key_questions() -> None:
    """Say yes to the question before keys go to another host, wherever it is on screen."""
    for box in [w for w in QApplication.allWidgets() if isinstance(w, QMessageBox) and w.isVisible()]:
        if "127.0.0.1" not in box.text():
            continue
        roles = (QMessageBox.ButtonRole.AcceptRole, QMessageBox.ButtonRole.YesRole)
        send = [b for b in box.buttons() if box.buttonRole(b) in roles]
        if send:
            send[0].click()


async def until(t: Terminal, shown: set[str], condition: Callable[[], object], what: str) -> None:
    """``t.until`` that answers the key question when it comes and reads the screen meanwhile."""

    def check() -> object:
        shown.update(screen_texts())
        answer_key_questions()
        return condition()

    await t.until(check, what, timeout=20)
    shown.update(screen_texts())


# -- the accounts dialog ---------------------------------------------------------------------------
async def key_test_in_the_dialog(
    t: Terminal, qtbot: QtBot, secret: str, password: str | None, shown: set[str], expect: str
) -> None:
    """Save ``secret`` (with the key and ``password``) for the account, press Test, wait for ``expect``."""
    dialog: AccountsDialog = t.window.open_accounts()
    ready = lambda: dialog.catalogue and dialog.keys.keyring_ok and not dialog.busy  # noqa: E731
    await until(t, shown, ready, "the dialog")
    dialog.account_list.setCurrentRow(dialog.account_names().index(ACCOUNT))
    dialog.tabs.setCurrentIndex(2)
    looked = lambda: not dialog.busy and "keys" in dialog.keys.status.text().lower()  # noqa: E731
    await until(t, shown, looked, "the dialog to look for keys")
    qtbot.keyClicks(dialog.keys.api_key, API_KEY)
    qtbot.keyClicks(dialog.keys.secret, secret)
    if password is not None:
        qtbot.keyClicks(dialog.keys.password, password)
    qtbot.mouseClick(dialog.keys.save_button, Qt.MouseButton.LeftButton)
    # Not read while the fields hold what was typed (the user's own input): read once they are cleared.
    await t.until(lambda: "saved in the keyring" in dialog.keys.status.text(), "the keys saved")
    assert dialog.keys.api_key.text() == dialog.keys.secret.text() == ""
    qtbot.mouseClick(dialog.keys.test_button, Qt.MouseButton.LeftButton)
    await until(t, shown, lambda: expect in dialog.keys.status.text(), f"'{expect}' after the test")
    shown.update((dialog.keys.status.text(), dialog.keys.status.toolTip()))
    dialog.reject()
    await dialog.shutdown()


# -- the test --------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
async def test_no_key_secret_password_or_signature_on_screen_or_on_disk(
    protocol: Protocol,
    launch: Launch,
    app_paths: AppPaths,
    tmp_path: Path,
    qtbot: QtBot,
    log_buffer: LogBuffer,
    restore_logging: None,
) -> None:
    needs_keyring()
    setup_logging(app_paths.data_dir / "logs", "DEBUG", buffer=log_buffer)  # the panel's, as the app does
    logging.getLogger("ccxt").setLevel(logging.DEBUG)
    server = recording_server(protocol.server, seed=12, history_days=1, pump_interval=0.05)
    await server.start()
    protocol.add_key(server, API_KEY, SECRET, PASSPHRASE, {"USDT": 50_000.0, "BTC": 1.0})
    urls, options = protocol.urls(server), dict(protocol.options)
    config = ConfigStore(app_paths.config_file)
    config.settings.accounts.append(
        AccountSettings(name=ACCOUNT, exchange=protocol.exchange_id, options=options, **urls)
    )
    config.save()
    store = CandleStore(app_paths.data_dir / "history.sqlite")
    session = MarketSession(
        CcxtSource(protocol.exchange_id, **urls, options=options), [SYMBOL], max_history=300, store=store,
        store_name=ACCOUNT,
    )  # fmt: skip
    keyring = CredentialStore(service=f"terminal-ui-leak-{uuid.uuid4().hex[:8]}")
    shown: set[str] = set()
    errors: list[str] = []
    files_while_open: list[str] = []
    password = PASSPHRASE if protocol.passphrase else None
    secrets = Secrets(API_KEY, (SECRET, WRONG_SECRET), password)
    try:
        async with launch(session=session, exchange=ACCOUNT) as t:
            window = t.window
            window.credentials = keyring
            brokers = PaperBrokers(window.settings, lambda: session.store)
            brokers.manage(window)
            await until(t, shown, lambda: window.trading.broker is not None, "the paper account")

            # A wrong secret: the key test fails, and so does live trading.
            await key_test_in_the_dialog(t, qtbot, WRONG_SECRET, password, shown, "test failed")
            window.live_action.trigger()
            await until(t, shown, lambda: "did not start" in window.notice.label.text(), "live refused")

            # The right one: the key test passes, live trading starts, orders go in.
            await key_test_in_the_dialog(t, qtbot, SECRET, password, shown, "Keys work")
            window.live_action.trigger()

            def trading(kind: str) -> bool:
                return window.trading.broker is not None and window.trading.broker.kind == kind

            await until(t, shown, lambda: trading("live"), "the live account")
            broker = window.trading.broker
            assert broker is not None
            price = Decimal(str(round(session.book.mid * 0.97, 1)))  # below the market: it rests

            def buy(amount: str) -> OrderIntent:
                return OrderIntent(SYMBOL, OrderSide.BUY, OrderType.LIMIT, Decimal(amount), price=price)

            await broker.submit(buy("0.01"))
            await until(t, shown, lambda: window.trading.orders.model.row_total() >= 1, "the order shown")
            protocol.add_key(server, API_KEY, SECRET, PASSPHRASE, {"USDT": 1.0})  # the account empties
            with pytest.raises(TerminalError) as refused:  # by the exchange, or by the broker's own check
                await broker.submit(buy("1"))
            errors += error_texts(refused.value)

            # The audit trail, exported as a user does.
            window.findChild(QAction, "trade.menu.journal").trigger()
            dialog = window.findChild(QFileDialog)
            assert dialog is not None
            export = app_paths.data_dir / "journal.csv"
            dialog.selectFile(str(export))
            dialog.accept()
            exported = lambda: "trading journal entries" in window.notice.label.text()  # noqa: E731
            await until(t, shown, exported, "the export")

            window.live_action.trigger()  # back to paper
            await until(t, shown, lambda: trading("paper"), "the paper account again")
            await brokers.close(window)
            for handler in logging.getLogger().handlers:
                handler.flush()
            files_while_open += leaks_in_files(tmp_path, secrets)  # the WAL is there now
            assert (app_paths.data_dir / "history.sqlite-wal").exists()
    finally:
        store.close()
        await asyncio.to_thread(keyring.delete, ACCOUNT)
        await server.stop()
    for handler in logging.getLogger().handlers:
        handler.flush()
    secrets.signatures |= server.signatures

    # Each step happened, so that finding nothing means something.
    assert len(secrets.signatures) >= 4, "the server received signed requests"
    assert any("test failed" in text for text in shown) and any("Keys work" in text for text in shown)
    assert any("did not start" in text for text in shown)
    assert any("127.0.0.1" in text for text in shown)  # the host, named on screen
    assert "kind" in export.read_text(encoding="utf-8")
    log_text = (app_paths.data_dir / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert ", Request: " in log_text  # ccxt's DEBUG lines, every signed request with its headers

    assert leaks_in_texts(shown, secrets) == []
    assert leaks_in_texts(errors, secrets) == []
    assert files_while_open == []
    assert leaks_in_files(tmp_path, secrets) == []


@pytest.mark.parametrize("exchange_id", ["luno", "alpaca", "kraken"])
async def test_the_key_test_tooltip_holds_no_credential_when_the_server_echoes_them(
    exchange_id: str, launch: Launch, app_paths: AppPaths, qtbot: QtBot
) -> None:
    needs_keyring()
    keyring = CredentialStore(service=f"terminal-ui-echo-{uuid.uuid4().hex[:8]}")
    shown: set[str] = set()
    async with echoing_server(public={}) as (url, signatures):
        config = ConfigStore(app_paths.config_file)
        config.settings.accounts.append(AccountSettings(name=ACCOUNT, exchange=exchange_id, rest_url=url))
        config.save()
        try:
            async with launch() as t:
                t.window.credentials = keyring
                await key_test_in_the_dialog(t, qtbot, ECHO_SECRET, None, shown, "test failed")
        finally:
            await asyncio.to_thread(keyring.delete, ACCOUNT)
    secrets = Secrets(API_KEY, (ECHO_SECRET,), None, signatures)
    tooltip = [text for text in shown if "unauthorized" in text]
    assert tooltip, "the refusal, with what the server echoed, is in the status tooltip"
    assert leaks_in_texts(shown, secrets) == []
    assert "[redacted]" in tooltip[0]  # masked where it stood, the rest of the detail kept
