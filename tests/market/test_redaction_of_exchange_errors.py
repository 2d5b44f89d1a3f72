"""No credential and no signature in the error a refused signed request
becomes (message, hint, the detail the "Test keys" tooltip shows), nor in the
log of it, whatever the exchange puts where.

Real ccxt classes make real signed requests through ``CcxtSource`` to servers
on 127.0.0.1: the loopback Binance and OKX (tests/loopback), which refuse an
unknown key in their protocol's words, and a small server that refuses every
request with HTTP 401 and echoes back everything it received (path and query,
headers, body; ``leak_scan.echoing_server``), as a debugging proxy or an
unhelpful exchange may. That is the worst an error text can hold: the API key
in HTX's query string, Luno's ``Authorization: Basic base64(key:secret)``,
Alpaca's secret header, Kraken's ``API-Sign``, OKX's passphrase and
``OK-ACCESS-SIGN``, Binance's ``signature``.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import ccxt
import pytest

from terminal.errors import AuthenticationFailedError, TerminalError
from terminal.market.ccxt_errors import credentials_of, translate
from terminal.market.ccxt_source import CcxtSource
from terminal.redaction import install_redactor
from tests.leak_scan import Secrets, echoing_server, error_texts, leaks_in_texts, recording_server
from tests.loopback.protocols import PROTOCOLS, Protocol

API_KEY = "RedactKey-7Gh2Jk4Lm6Np8Qr0St"
SECRET = base64.b64encode(b"RedactSecret-3Vw5Xy7Za9Bc1De").decode()  # Kraken takes base64 secrets
PASSWORD = "RedactPass-2Fg4Hj"
OTHER_KEY = "OtherAccountKey-5Tr8Ew2Qa4Zs6Xd"


class Credentials:
    api_key, secret, password = API_KEY, SECRET, PASSWORD


#: exchange id -> its first signed call, as ccxt's implicit API names it
SIGNED_CALLS = {
    "binance": "private_get_account",  # signature in the query, key in X-MBX-APIKEY
    "okx": "private_get_account_balance",  # OK-ACCESS-KEY/-SIGN/-PASSPHRASE headers
    "htx": "spot_private_get_v1_account_accounts",  # AccessKeyId and Signature in the query
    "luno": "private_get_balance",  # Authorization: Basic base64(key:secret)
    "alpaca": "trader_private_get_v2_account",  # APCA-API-KEY-ID and APCA-API-SECRET-KEY headers
    "kraken": "private_post_balance",  # API-Key and API-Sign headers, nonce in the body
}


def logged_at_debug() -> tuple[io.StringIO, Callable[[], None]]:
    """The log as the terminal's handlers write it (with their redactor), ccxt at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_redactor([handler])
    ccxt_log, root = logging.getLogger("ccxt"), logging.getLogger()
    levels = ccxt_log.level, root.level
    root.addHandler(handler)
    ccxt_log.setLevel(logging.DEBUG)
    root.setLevel(logging.DEBUG)

    def done() -> None:
        root.removeHandler(handler)
        ccxt_log.setLevel(levels[0])
        root.setLevel(levels[1])

    return stream, done


async def refused(source: CcxtSource, call: Callable[[], Awaitable[Any]]) -> tuple[str, Exception]:
    """The text of the ccxt error ``call`` raises, and the terminal's error for it."""
    try:
        await call()
    except ccxt.BaseError as exc:
        error = translate(exc, source.name)
        logging.getLogger("terminal.test").warning("refused: %s", exc)  # a careless log line, masked
        return str(exc), error
    finally:
        await source.close()
    raise AssertionError("the signed call was not refused")


@pytest.mark.parametrize("exchange_id", list(SIGNED_CALLS))
def test_a_signed_request_refused_by_an_echoing_server_leaves_no_secret_in_the_error_or_log(
    exchange_id: str,
) -> None:
    stream, done = logged_at_debug()

    async def scenario() -> tuple[str, Exception, set[str]]:
        async with echoing_server() as (url, signatures):
            source = CcxtSource(exchange_id, rest_url=url, credentials=Credentials())
            raw, error = await refused(source, getattr(source.exchange, SIGNED_CALLS[exchange_id]))
            return raw, error, signatures

    try:
        raw, error, signatures = asyncio.run(scenario())
    finally:
        done()
    secrets = Secrets(API_KEY, (SECRET,), PASSWORD, signatures)
    log = stream.getvalue()
    assert leaks_in_texts([raw], secrets), "ccxt's own text holds the credentials: the test means something"
    assert ", Request: " in log and "refused: " in log  # ccxt's request line and the careless one
    assert leaks_in_texts(error_texts(error), secrets) == []
    assert leaks_in_texts([log], secrets) == []
    assert isinstance(error, TerminalError) and "[redacted]" in error.detail  # masked, not dropped


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_a_key_the_loopback_exchange_does_not_know_is_refused_without_secrets(protocol: Protocol) -> None:
    stream, done = logged_at_debug()

    async def scenario() -> tuple[TerminalError, set[str]]:
        server = recording_server(protocol.server, seed=3, history_days=1)
        await server.start()
        protocol.add_key(server, OTHER_KEY, SECRET, PASSWORD)  # another account's key, not ours
        source = CcxtSource(
            protocol.exchange_id, **protocol.urls(server), options=protocol.options, credentials=Credentials()
        )
        try:
            with pytest.raises(AuthenticationFailedError) as caught:  # what "Test keys" asks for
                await source.fetch_balance()
        finally:
            await source.close()
            await server.stop()
        return caught.value, server.signatures

    try:
        error, signatures = asyncio.run(scenario())
    finally:
        done()
    secrets = Secrets(API_KEY, (SECRET,), PASSWORD, signatures)
    assert signatures, "the server received a signed request"
    assert "refused the API key" in error.user_message()
    assert leaks_in_texts(error_texts(error), secrets) == []
    assert leaks_in_texts([stream.getvalue()], secrets) == []


def test_htx_keys_sent_where_nothing_listens_leave_no_key_in_the_error() -> None:
    """The review's case: "Test keys" on an HTX account whose address is dead;
    ccxt's connection error names the signed URL, with the API key in it."""

    async def scenario() -> tuple[str, Exception]:
        source = CcxtSource("htx", rest_url="http://127.0.0.1:9", credentials=Credentials())
        return await refused(source, source.exchange.spot_private_get_v1_account_accounts)

    raw, error = asyncio.run(scenario())
    secrets = Secrets(API_KEY, (SECRET,), PASSWORD)
    assert f"AccessKeyId={API_KEY}" in raw
    assert "cannot be reached" in error.user_message() or "connection to HTX failed" in error.user_message()
    assert leaks_in_texts(error_texts(error), secrets) == []
    assert "127.0.0.1:9/v1/account/accounts?AccessKeyId=[redacted]" in error.detail  # where it tried, kept


def test_a_user_id_counts_as_a_credential_only_where_the_exchange_requires_one() -> None:
    # Coinmate signs with and sends the uid (ccxt requires it there); Kraken has no use for one.
    coinmate = ccxt.coinmate({"apiKey": API_KEY, "secret": SECRET, "uid": "CoinmateUid-48213"})
    kraken = ccxt.kraken({"apiKey": API_KEY, "secret": SECRET, "uid": "KrakenUid-77"})
    assert set(credentials_of(coinmate)) == {API_KEY, SECRET, "CoinmateUid-48213"}
    assert set(credentials_of(kraken)) == {API_KEY, SECRET}
