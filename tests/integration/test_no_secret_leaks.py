"""After a session with keys, no secret is in the logs, the config, the
trading journal or any other file the terminal wrote, nor in any error text
a user could see.

Keys go through the real keyring (this test runs inside scripts/with-keyring),
the real ccxt.pro.binance class signs real requests to the loopback server,
a wrong secret produces the error path, and logging runs at DEBUG, its most
talkative.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from decimal import Decimal
from pathlib import Path

import pytest

from terminal.config import AccountSettings, ConfigStore
from terminal.credentials import ApiKey, CredentialStore
from terminal.errors import AuthenticationFailedError, OrderInvalidError, describe
from terminal.logs import setup_logging
from terminal.market.ccxt_source import CcxtSource
from terminal.market.session import MarketSession
from terminal.store.candles import CandleStore
from terminal.trading import AmountUnit, OrderIntent, OrderSide, OrderType
from terminal.trading.journal import TradingJournal
from terminal.trading.paper_broker import PaperBroker
from tests.loopback.binance import LoopbackBinance

pytestmark = pytest.mark.keyring  # the throwaway keyring of scripts/with-keyring

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
WRONG_SECRET = "WrongSecret-not-the-real-one-0123456789abcdefghijklmnopqrstu"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


def needs_keyring() -> None:
    if not os.environ.get("WITH_KEYRING_PASSWORD"):
        pytest.fail(
            "run this test through scripts/test or scripts/with-keyring (it needs the throwaway keyring)"
        )


def test_no_secret_in_logs_config_or_errors_after_a_keyed_session(tmp_path: Path) -> None:
    needs_keyring()
    config_dir, data_dir = tmp_path / "config", tmp_path / "data"
    setup_logging(data_dir / "logs", "DEBUG")
    logging.getLogger("ccxt").setLevel(logging.DEBUG)
    seen_errors: list[str] = []
    journal_kinds: list[str] = []
    journal_text: list[str] = []

    async def scenario() -> None:
        server = LoopbackBinance(seed=2, history_days=1, pump_interval=0.05)
        server.add_key(API_KEY, SECRET)
        await server.start()
        rest, ws = f"http://127.0.0.1:{server.port}", f"ws://127.0.0.1:{server.port}/stream"
        store = CredentialStore(service="terminal-leak-test")
        try:
            config = ConfigStore(config_dir / "config.toml")
            config.settings.accounts.append(
                AccountSettings(
                    name="loopback", exchange="binance", rest_url=rest, ws_url=ws, options=SPOT_ONLY
                )
            )
            config.save()
            await asyncio.to_thread(store.save, "loopback", ApiKey(API_KEY, SECRET))
            keys = await asyncio.to_thread(store.load, "loopback")
            assert keys is not None

            # A session with the keyed source: market data and a signed call.
            source = CcxtSource("binance", rest_url=rest, ws_url=ws, options=SPOT_ONLY, credentials=keys)
            session = MarketSession(source, ["BTC/USDT"], max_history=100)
            await session.start("BTC/USDT", "1m")
            balance = await source.fetch_balance()
            assert balance["free"], "the signed call worked"
            logging.getLogger("test").info("loaded %r, using %s for %s", keys, keys.secret, keys.api_key)

            # Paper trading on the keyed session, journalled into the history file.
            history = CandleStore(data_dir / "history.sqlite")
            broker = PaperBroker(session, account="loopback", store=history)
            await broker.start()
            for _ in range(200):
                if len(session.book.ask_price):
                    break
                await asyncio.sleep(0.05)
            spend = OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.MARKET, Decimal(100), AmountUnit.QUOTE)
            assert (await broker.submit(spend)).filled > 0
            with pytest.raises(OrderInvalidError):  # a refusal is journalled too
                await broker.submit(OrderIntent("BTC/USDT", OrderSide.SELL, OrderType.MARKET, Decimal(50)))
            await broker.close()
            journal_kinds.extend(e.kind for e in TradingJournal(history).entries())
            journal_text.append(json.dumps([e.to_dict() for e in TradingJournal(history).entries()]))
            history.close()
            await asyncio.sleep(1.0)
            await session.close()

            # The error path: a wrong secret, logged the way the app logs failures.
            wrong = CcxtSource("binance", rest_url=rest, ws_url=ws, options=SPOT_ONLY,
                               credentials=ApiKey(API_KEY, WRONG_SECRET))  # fmt: skip
            await wrong.load_markets()
            with pytest.raises(AuthenticationFailedError) as caught:
                await wrong.fetch_balance()
            seen_errors.extend([str(caught.value), describe(caught.value), repr(caught.value)])
            logging.getLogger("test").exception("balance failed: %s", caught.value, exc_info=caught.value)
            await wrong.close()
            config.save()
        finally:
            await asyncio.to_thread(store.delete, "loopback")
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    logging.shutdown()

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "terminal.log" for p in written) and any(p.name == "config.toml" for p in written)
    log_text = (data_dir / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert (
        "balance failed" in log_text
    )  # the error path was logged, so its absence of secrets means something
    for path in written:
        content = path.read_bytes()
        for secret in (SECRET, WRONG_SECRET):
            assert secret.encode() not in content, f"a secret was written to {path}"
    for text in seen_errors:
        assert SECRET not in text and WRONG_SECRET not in text
    # the journal holds the orders (so its lack of keys means something), and no key
    assert {"intent", "check", "request", "response", "fill"} <= set(journal_kinds)
    assert any(p.name == "history.sqlite" for p in written)
    for text in journal_text:
        assert API_KEY not in text and SECRET not in text and WRONG_SECRET not in text


class _JsonLinesJournal:
    """A journal sink that writes every record to a file, as the audit trail would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(
        self,
        kind: str,
        account: str,
        payload: dict[str, object],
        client_order_id: str | None = None,
        symbol: str | None = None,
    ) -> None:
        line = {
            "kind": kind,
            "account": account,
            "payload": payload,
            "cid": client_order_id,
            "symbol": symbol,
        }
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")


def test_no_key_in_logs_journal_or_errors_of_a_live_account(tmp_path: Path) -> None:
    """The live broker's whole life, logged at DEBUG with a journal written to
    disk: orders, a lost answer and its reconciliation, a refusal, a clock
    correction, and an account whose secret is wrong. Neither the secret nor
    the API key shows up anywhere."""
    needs_keyring()
    from terminal.errors import InsufficientFundsError
    from terminal.trading.live_broker import LiveBroker, LiveSettings
    from terminal.trading.live_send import ReconcileSettings
    from terminal.trading.orders import OrderIntent, OrderSide, OrderType

    data_dir = tmp_path / "data"
    setup_logging(data_dir / "logs", "DEBUG")
    logging.getLogger("ccxt").setLevel(logging.DEBUG)
    journal = _JsonLinesJournal(tmp_path / "journal.jsonl")
    seen_errors: list[str] = []

    async def scenario() -> None:
        server = LoopbackBinance(seed=2, history_days=1, pump_interval=0.05)
        server.add_key(API_KEY, SECRET)
        await server.start()
        rest, ws = f"http://127.0.0.1:{server.port}", f"ws://127.0.0.1:{server.port}/stream"
        store = CredentialStore(service="terminal-live-leak-test")
        accounts = {
            name: AccountSettings(name=name, exchange="binance", rest_url=rest, ws_url=ws, options=SPOT_ONLY)
            for name in ("live", "live-wrong")
        }
        settings = LiveSettings(timeout_ms=1_000, reconcile=ReconcileSettings(backoff=0.1, backoff_cap=0.3))
        try:
            await asyncio.to_thread(store.save, "live", ApiKey(API_KEY, SECRET))
            await asyncio.to_thread(store.save, "live-wrong", ApiKey(API_KEY, WRONG_SECRET))
            broker = LiveBroker(
                accounts["live"], credentials=store, journal=journal, symbols=["BTC/USDT"], settings=settings
            )
            await broker.start()
            server.pause()

            def buy(level: int) -> OrderIntent:
                price = Decimal(str(server.book("BTC/USDT")[0][level][0]))
                return OrderIntent("BTC/USDT", OrderSide.BUY, OrderType.LIMIT, Decimal("0.001"), price=price)

            await broker.submit(buy(3))
            server.order_timeout(seconds=5.0)
            await broker.submit(buy(4))  # the answer is lost: reconciled by client order id
            server.reject_orders(-2010, "Account has insufficient balance for requested action.")
            with pytest.raises(InsufficientFundsError) as refused:
                await broker.submit(buy(5))
            seen_errors.extend(
                [str(refused.value), describe(refused.value, detailed=True), repr(refused.value)]
            )
            server.skew_clock(20_000)
            await broker.cancel_all()  # refused for its time stamp, corrected, retried
            await broker.close()

            wrong = LiveBroker(accounts["live-wrong"], credentials=store, journal=journal, settings=settings)
            with pytest.raises(AuthenticationFailedError) as caught:
                await wrong.start()
            seen_errors.extend([str(caught.value), describe(caught.value, detailed=True), repr(caught.value)])
            logging.getLogger("test").exception("live start failed: %s", caught.value, exc_info=caught.value)
            await wrong.close()
        finally:
            for name in accounts:
                await asyncio.to_thread(store.delete, name)
            await server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
    logging.shutdown()

    log_text = (data_dir / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert "live start failed" in log_text and "looking it up by its client order id" in log_text
    journal_text = journal.path.read_text(encoding="utf-8")
    assert '"reconcile"' in journal_text and '"kind": "error"' in journal_text
    for path in [p for p in tmp_path.rglob("*") if p.is_file()]:
        content = path.read_bytes()
        for secret in (SECRET, WRONG_SECRET, API_KEY):
            assert secret.encode() not in content, f"a key was written to {path}"
    for text in seen_errors:
        for secret in (SECRET, WRONG_SECRET, API_KEY):
            assert secret not in text
