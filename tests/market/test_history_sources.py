"""Where the data manager downloads from: the accounts, through the open
window's own source when one is on that account, else through a source of
its own that is closed afterwards. Real ccxt binance against the loopback
server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from terminal.config import SIMULATED, AccountSettings, Settings
from terminal.errors import ConfigError
from terminal.market.ccxt_source import CcxtSource
from terminal.market.history_sources import HistorySources
from terminal.market.session import MarketSession
from tests.loopback.binance import LoopbackBinance

SYMBOL = "BTC/USDT"
SPOT_ONLY = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


def account(server: LoopbackBinance, name: str = "loopback") -> AccountSettings:
    return AccountSettings(
        name=name,
        exchange="binance",
        rest_url=f"http://127.0.0.1:{server.port}",
        ws_url=f"ws://127.0.0.1:{server.port}/stream",
        options=SPOT_ONLY,
    )


def market_loads(server: LoopbackBinance) -> int:
    return sum(1 for r in server.requests if "/api/v3/exchangeInfo" in r)


def on_server(scenario: Callable[[LoopbackBinance], Awaitable[None]]) -> None:
    async def run() -> None:
        async with LoopbackBinance(seed=3, history_days=1) as server:
            await scenario(server)

    asyncio.run(asyncio.wait_for(run(), 60))


def test_names_are_the_accounts_and_never_the_simulator() -> None:
    settings = Settings(
        accounts=[
            AccountSettings(name="main", exchange="binance"),
            AccountSettings(name="test", exchange="kraken", sandbox=True),
        ]
    )
    sources = HistorySources(settings, list)
    assert sources.names() == ["main", "test"]
    settings.accounts.append(AccountSettings(name="later", exchange="okx"))
    assert sources.names() == ["main", "test", "later"], "accounts added meanwhile are offered at once"
    assert SIMULATED not in HistorySources(Settings(), list).names()


def test_an_account_no_window_shows_gets_its_own_source_closed_afterwards() -> None:
    async def scenario(server: LoopbackBinance) -> None:
        sources = HistorySources(Settings(accounts=[account(server)]), list)
        async with sources.source("loopback") as source:
            assert SYMBOL in source.markets, "markets are loaded before it is handed out"
            rows = await source.fetch_ohlcv(SYMBOL, "1m", limit=5)
            assert len(rows) == 5
        assert isinstance(source, CcxtSource)
        assert source.exchange.session is None, "the source made for the block is closed after it"

    on_server(scenario)


def test_the_open_window_s_source_is_shared_and_left_running() -> None:
    async def scenario(server: LoopbackBinance) -> None:
        acct = account(server)
        own = CcxtSource("binance", rest_url=acct.rest_url, ws_url=acct.ws_url, options=dict(acct.options))
        session = MarketSession(own, [SYMBOL], store_name="loopback")
        other = MarketSession(
            CcxtSource("binance", rest_url=acct.rest_url, ws_url=acct.ws_url, options=dict(acct.options)),
            [SYMBOL],
            store_name="elsewhere",
        )
        sources = HistorySources(Settings(accounts=[acct]), lambda: [other, session])
        try:
            async with sources.source("loopback") as source:
                assert source is own
                assert SYMBOL in source.markets
            async with sources.source("loopback") as again:
                assert again is own
            assert market_loads(server) == 1, "the window's markets are loaded once and reused"
            rows = await own.fetch_ohlcv(SYMBOL, "1m", limit=3)
            assert len(rows) == 3, "the window's source still works after the block"
        finally:
            await session.close()
            await other.close()

    on_server(scenario)


def test_symbols_are_loaded_once_per_account() -> None:
    async def scenario(server: LoopbackBinance) -> None:
        sources = HistorySources(Settings(accounts=[account(server)]), list)
        symbols = await sources.symbols("loopback")
        assert SYMBOL in symbols and symbols == sorted(symbols)
        assert await sources.symbols("loopback") == symbols
        assert market_loads(server) == 1

    on_server(scenario)


def test_an_unknown_account_is_refused_in_plain_words() -> None:
    async def scenario() -> None:
        sources = HistorySources(Settings(), list)
        with pytest.raises(ConfigError, match="no account called 'gone'"):
            async with sources.source("gone"):
                pass
        with pytest.raises(ConfigError):
            async with sources.source(SIMULATED):
                pass

    asyncio.run(scenario())
