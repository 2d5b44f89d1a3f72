"""After a keyed session, no credential and no signature is in any file the
terminal wrote (config, logs, the history file and its WAL, journal exports),
nor in any error text a user could see.

Both loopback protocols (tests/loopback/protocols.py): the real ccxt.pro
classes sign real requests, the servers check them and keep every signature
they received (``leak_scan.recording_server``). Keys go through the real
keyring (scripts/with-keyring); the live account journals into the real
trading journal in a real history file; logging runs at DEBUG, ccxt's logger
too (it logs every request with its URL and headers). Wrong secrets produce
the error paths, logged the way the app logs failures.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from terminal.config import AccountSettings, ConfigStore
from terminal.credentials import ApiKey, CredentialStore
from terminal.errors import AuthenticationFailedError, InsufficientFundsError, describe
from terminal.logs import setup_logging
from terminal.market.accounts import check_keys
from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.store.candles import CandleStore
from terminal.trading.journal import TradingJournal
from terminal.trading.live.broker import LiveBroker, LiveSettings
from terminal.trading.live.send import ReconcileSettings
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from tests.keyring_helpers import needs_keyring
from tests.leak_scan import (
    Secrets,
    error_texts,
    leaks_in_files,
    leaks_in_texts,
    recording_server,
)
from tests.loopback.protocols import PROTOCOLS, Protocol

pytestmark = [pytest.mark.keyring, pytest.mark.slow]  # the throwaway keyring of scripts/with-keyring

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
WRONG_SECRET = "WrongSecret-not-the-real-one-0123456789abcdefghijklmnopqrstu"
PASSPHRASE = "LeakTestPassphrase-4Rf7Tg"
SYMBOL = "BTC/USDT"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
@pytest.mark.usefixtures("restore_logging")
def test_no_key_secret_password_or_signature_anywhere_after_a_keyed_session(
    protocol: Protocol, tmp_path: Path
) -> None:
    needs_keyring()
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    setup_logging(data_dir / "logs", "DEBUG")
    logging.getLogger("ccxt").setLevel(logging.DEBUG)
    password = PASSPHRASE if protocol.passphrase else None
    secrets = Secrets(API_KEY, (SECRET, WRONG_SECRET), password)
    seen_errors: list[str] = []
    wal_scan: list[str] = []
    journal_kinds: set[str] = set()

    def failed(exc: BaseException, what: str) -> None:
        seen_errors.extend(error_texts(exc))
        logging.getLogger("test").exception("%s failed: %s", what, describe(exc, detailed=True), exc_info=exc)

    async def scenario() -> None:
        server = recording_server(protocol.server, seed=2, history_days=1, pump_interval=0.05)
        await server.start()
        protocol.add_key(server, API_KEY, SECRET, PASSPHRASE)
        urls, options = protocol.urls(server), dict(protocol.options)
        store = CredentialStore(service=f"terminal-leak-test-{protocol.name}")
        accounts = {
            name: AccountSettings(name=name, exchange=protocol.exchange_id, options=options, **urls)
            for name in ("live", "live-wrong")
        }
        config = ConfigStore(config_dir / "config.toml")
        config.settings.accounts.extend(accounts.values())
        config.save()
        history = CandleStore(data_dir / "history.sqlite")
        journal = TradingJournal(history)
        settings = LiveSettings(timeout_ms=1_000, reconcile=ReconcileSettings(backoff=0.1, backoff_cap=0.3))
        try:
            await asyncio.to_thread(store.save, "live", ApiKey(API_KEY, SECRET, password))
            await asyncio.to_thread(store.save, "live-wrong", ApiKey(API_KEY, WRONG_SECRET, password))
            keys = await asyncio.to_thread(store.load, "live")
            assert keys is not None
            logging.getLogger("test").info("loaded %r, using %s for %s", keys, keys.secret, keys.api_key)

            # Market data on a keyed source, and the accounts dialog's key test, right and wrong.
            source = CcxtSource(protocol.exchange_id, **urls, options=options, credentials=keys)
            session = MarketSession(source, [SYMBOL], max_history=100)
            await session.start(SYMBOL, "1m")
            assert "Keys work" in await check_keys(accounts["live"], store)
            with pytest.raises(AuthenticationFailedError) as wrong_test:
                await check_keys(accounts["live-wrong"], store)
            failed(wrong_test.value, "key test")

            # A live account's life, journalled into the history file: an order,
            # a lost answer found again, a refusal, a clock correction.
            server.pause()
            broker = LiveBroker(accounts["live"], credentials=store, journal=journal, symbols=[SYMBOL],
                                settings=settings)  # fmt: skip
            await broker.start()

            def buy(level: int) -> OrderIntent:
                price = Decimal(str(server.book(SYMBOL)[0][level][0]))
                return OrderIntent(SYMBOL, OrderSide.BUY, OrderType.LIMIT, Decimal("0.001"), price=price)

            await broker.submit(buy(3))
            server.order_timeout(seconds=5.0)
            await broker.submit(buy(4))  # the answer is lost: reconciled by client order id
            server.skew_clock(2 * protocol.clock_window_ms)
            await broker.cancel_all()  # refused for its time stamp, corrected, retried
            server.skew_clock(0)
            protocol.add_key(server, API_KEY, SECRET, PASSPHRASE, {"USDT": 10.0})  # the account empties
            with pytest.raises(InsufficientFundsError) as refused:
                await broker.submit(buy(5))
            failed(refused.value, "order")
            await broker.close()

            wrong = LiveBroker(accounts["live-wrong"], credentials=store, journal=journal, settings=settings)
            with pytest.raises(AuthenticationFailedError) as caught:
                await wrong.start()
            failed(caught.value, "live start")
            await wrong.close()
            await session.close()

            # The audit trail: in the history file, and exported as the menu does.
            await journal.flush()
            journal_kinds.update(e.kind for e in journal.entries())
            (data_dir / "exports").mkdir()
            journal.export_csv(data_dir / "exports" / "journal.csv")
            journal.export_json(data_dir / "exports" / "journal.json")
            config.save()
            for handler in logging.getLogger().handlers:
                handler.flush()
            assert (data_dir / "history.sqlite-wal").exists()  # scanned while it holds the latest pages
            wal_scan.extend(leaks_in_files(tmp_path, secrets))
        finally:
            history.close()
            for name in accounts:
                await asyncio.to_thread(store.delete, name)
            await server.stop()
        secrets.signatures |= server.signatures

    asyncio.run(asyncio.wait_for(scenario(), 90))
    logging.shutdown()

    # Each place was written to, so that nothing found there means something.
    log_text = (data_dir / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert "key test failed" in log_text and "live start failed" in log_text and "order failed" in log_text
    assert "looking it up by its client order id" in log_text
    assert ", Request: " in log_text  # ccxt's own DEBUG lines: every signed request with its headers
    assert {"intent", "check", "request", "response", "cancel", "error"} <= journal_kinds
    assert (data_dir / "exports" / "journal.csv").stat().st_size > 0
    assert len(secrets.signatures) >= 5, "the server received signed requests"
    assert len(seen_errors) >= 12

    assert wal_scan == []
    assert leaks_in_files(tmp_path, secrets) == []
    assert leaks_in_texts(seen_errors, secrets) == []
