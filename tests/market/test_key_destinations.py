"""Where an account's keys may go: plain text only to this computer, no
credentials inside an address, and the exchange's own hosts told from any
other, on the real ccxt classes (offline: nothing here opens a connection)."""

from __future__ import annotations

import asyncio
import logging

import ccxt.async_support
import ccxt.pro
import pytest
from pydantic import ValidationError

from terminal.addresses import check_base, mask_userinfo
from terminal.config import AccountSettings, parse_settings
from terminal.credentials import ApiKey
from terminal.errors import ConfigError
from terminal.market.ccxt_source import CcxtSource
from terminal.market.key_destinations import account_key_destinations, is_loopback, key_destinations

KEY = ApiKey("unitKey4Tg7Hj2Kl9Qw1Er5Ty8Ui3Op6As0Df", "unitSecret8Zx3Cv6Bn9Mq2Wz5Ex1Rc4Tv7Yb0")
PASSWORD = "hunter2-proxy-pass"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),  # all of 127.0.0.0/8
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("127.0.0.1.example.com", False),  # a name that starts like one is not one
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("192.168.1.2", False),
        ("proxy.example", False),
    ],
)
def test_loopback_is_this_computer_by_address_or_name_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# -- plain text ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rest", "ws"),
    [("http://proxy.example:8080", None), (None, "ws://proxy.example:8080/stream"),
     ("http://192.168.1.20", None), ("http://127.0.0.1.example.com", None)],
)  # fmt: skip
def test_keys_never_travel_in_plain_text_to_another_computer(rest: str | None, ws: str | None) -> None:
    with pytest.raises(ConfigError) as raised:
        key_destinations(ccxt.pro.binance(), rest, ws)
    text = raised.value.user_message()
    assert "plain text" in text and ("Use https://" in text or "Use wss://" in text)
    assert "127.0.0.1, ::1, localhost" in text  # where plain text is taken


@pytest.mark.parametrize(
    ("rest", "ws", "named"),
    [
        ("http://127.0.0.1:8765", "ws://127.0.0.1:8765/stream", ("127.0.0.1:8765",)),
        ("http://localhost:9", None, ("localhost:9",)),
        (None, "ws://[::1]:9/stream", ("[::1]:9",)),
    ],
)
def test_plain_text_to_this_computer_is_taken_but_it_is_still_not_the_exchange(
    rest: str | None, ws: str | None, named: tuple[str, ...]
) -> None:
    destinations = key_destinations(ccxt.pro.binance(), rest, ws)
    assert destinations.foreign == named
    assert destinations.summary() == f"{named[0]}, not Binance's own host"


def test_a_keyed_source_refuses_plain_text_but_a_market_data_source_may_use_it() -> None:
    async def scenario() -> None:
        with pytest.raises(ConfigError, match="plain text"):
            CcxtSource("binance", rest_url="http://mirror.example:8080", credentials=KEY)
        with pytest.raises(ConfigError, match="plain text"):
            CcxtSource("okx", ws_url="ws://mirror.example:8080", credentials=KEY)
        public = CcxtSource("binance", rest_url="http://mirror.example:8080")  # no keys to give away
        await public.close()

    asyncio.run(scenario())


# -- the exchange's own hosts ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exchange", "rest", "ws"),
    [
        ("binance", None, None),
        ("binance", "https://api.binance.com", "wss://stream.binance.com:9443"),
        ("binance", "https://testnet.binance.vision", None),  # its sandbox is its own too
        ("okx", "https://www.okx.com", "wss://ws.okx.com:8443"),
        ("luno", "https://api.luno.com", "wss://ws.luno.com"),
    ],
)
def test_the_exchanges_own_hosts_are_not_foreign(exchange: str, rest: str | None, ws: str | None) -> None:
    cls = getattr(ccxt.pro, exchange, None) or getattr(ccxt.async_support, exchange)
    destinations = key_destinations(cls(), rest, ws)
    assert destinations.foreign == ()
    assert destinations.summary() == f"{cls().name}'s own addresses"


@pytest.mark.parametrize(
    ("exchange", "rest", "ws", "foreign", "said"),
    [
        ("binance", "https://proxy.example:8443/binance", None, ("proxy.example:8443",),
         "proxy.example:8443, not Binance's own host"),
        ("okx", "https://www.okx.com.example", "wss://ws.okx.com", ("www.okx.com.example",),
         "www.okx.com.example, not OKX's own host"),
        ("luno", "https://relay.example", "wss://relay2.example", ("relay.example", "relay2.example"),
         "relay.example and relay2.example, not Luno's own hosts"),
        ("binance", "https://api.luno.com", None, ("api.luno.com",),  # another exchange's host is foreign
         "api.luno.com, not Binance's own host"),
    ],
)  # fmt: skip
def test_a_host_that_is_not_the_exchanges_own_is_named(
    exchange: str, rest: str, ws: str | None, foreign: tuple[str, ...], said: str
) -> None:
    cls = getattr(ccxt.pro, exchange, None) or getattr(ccxt.async_support, exchange)
    destinations = key_destinations(cls(), rest, ws)
    assert destinations.foreign == foreign
    assert destinations.summary() == said


def test_an_accounts_destinations_come_from_its_exchange_class() -> None:
    own = AccountSettings(name="main", exchange="okx", sandbox=True)
    assert account_key_destinations(own).foreign == ()
    proxied = AccountSettings(name="p", exchange="binance", rest_url="https://proxy.example")
    assert account_key_destinations(proxied).foreign == ("proxy.example",)
    plain = AccountSettings(name="q", exchange="luno", rest_url="http://relay.example")
    with pytest.raises(ConfigError, match="plain text"):
        account_key_destinations(plain)


def test_a_keyed_source_says_at_warning_where_its_keys_go_when_that_is_not_the_exchange(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        for rest in ("https://relay.example:8443", "https://api.binance.com"):
            source = CcxtSource("binance", rest_url=rest, credentials=KEY)
            await source.close()
        keyless = CcxtSource("binance", rest_url="https://other.example")
        await keyless.close()

    with caplog.at_level(logging.INFO, logger="terminal.market"):
        asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Binance: API keys go to relay.example:8443, not Binance's own host"]


def test_a_sandbox_source_counts_the_live_hosts_as_the_exchanges_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        source = CcxtSource("binance", sandbox=True, rest_url="https://api.binance.com", credentials=KEY)
        await source.close()

    with caplog.at_level(logging.WARNING, logger="terminal.market"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- credentials inside an address -----------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [f"https://user:{PASSWORD}@proxy.example:8443", f"https://{PASSWORD}@proxy.example",
     f"http://user:{PASSWORD}@127.0.0.1:9", f"https://user:{PASSWORD}/x@proxy.example"],
)  # fmt: skip
def test_an_address_with_credentials_is_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_base(url, ("http", "https"), "REST")
    text = f"{raised.value.user_message()} {raised.value.detail}"
    assert "user name or password" in text
    assert PASSWORD not in text
    assert "***@" in text  # the address is shown, masked


def test_an_account_with_credentials_in_an_address_does_not_validate_nor_leak_them() -> None:
    with pytest.raises(ValidationError) as raised:
        AccountSettings(name="p", exchange="binance", ws_url=f"wss://me:{PASSWORD}@relay.example")
    message = raised.value.errors()[0]["msg"]
    assert "user name or password" in message and "Remove the part before '@'" in message
    assert PASSWORD not in message

    toml = (
        f'[[accounts]]\nname = "p"\nexchange = "binance"\nrest_url = "https://me:{PASSWORD}@relay.example"\n'
    )
    with pytest.raises(ConfigError) as config:
        parse_settings(toml, "config.toml")
    assert "accounts.0.rest_url" in str(config.value) and PASSWORD not in str(config.value)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://user:pw@host:1/p", "https://***@host:1/p"),
        ("wss://pw@host", "wss://***@host"),
        ("http://user:p/w@host/x", "http://***@host/x"),  # a '/' in the password
        ("https://host/p?a=b@c", "https://host/p?a=b@c"),  # an '@' in the query is not a user
        ("https://host:8443/p", "https://host:8443/p"),
    ],
)
def test_userinfo_is_masked_wherever_an_address_is_shown(url: str, masked: str) -> None:
    assert mask_userinfo(url) == masked
