"""Custom endpoints and the ccxt error mapping, on the real ccxt classes (no network)."""

from __future__ import annotations

import ccxt
import ccxt.pro
import pytest

from terminal.errors import (
    AuthenticationFailedError,
    BookOutOfSyncError,
    ConfigError,
    ExchangeUnreachableError,
    MalformedResponseError,
    RateLimitedError,
    RequestTimedOutError,
    UnknownSymbolError,
    describe,
)
from terminal.market.ccxt_errors import redact, translate
from terminal.market.endpoints import api_urls, override_urls, rebase
from terminal.redaction import remember


def test_overrides_send_every_binance_api_url_to_the_given_hosts() -> None:
    exchange = ccxt.pro.binance()
    rewrites = override_urls(exchange.urls, "http://127.0.0.1:8765", "ws://127.0.0.1:8765/stream")

    assert exchange.urls["api"]["public"] == "http://127.0.0.1:8765/api/v3"
    # ccxt tells spot from contract streams by '/stream' in the URL: the prefix keeps it.
    assert exchange.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:8765/stream/ws"
    assert all("127.0.0.1:8765" in url for _, url in api_urls(exchange.urls))
    assert len(rewrites) == len(api_urls(exchange.urls)) > 20
    assert exchange.urls["www"].startswith("https://www.binance")  # links are not API URLs


def test_only_the_kind_given_is_rewritten() -> None:
    exchange = ccxt.pro.binance()
    override_urls(exchange.urls, None, "wss://mirror.example:443")
    assert exchange.urls["api"]["public"] == "https://api.binance.com/api/v3"
    assert exchange.urls["api"]["ws"]["spot"] == "wss://mirror.example:443/ws"


@pytest.mark.parametrize("bad", ["127.0.0.1:8765", "ftp://host", "http://", "http://h/p?x=1"])
def test_a_malformed_override_is_refused_in_plain_words(bad: str) -> None:
    with pytest.raises(ConfigError, match="must"):
        override_urls(ccxt.pro.binance().urls, bad, None)


def test_rebase_keeps_path_and_query() -> None:
    assert rebase("https://api.x.com/v1/a?b=1", "http://127.0.0.1:9/p/") == "http://127.0.0.1:9/p/v1/a?b=1"


@pytest.mark.parametrize(
    ("raised", "expected", "transient"),
    [
        (ccxt.DDoSProtection("429 Too Many Requests"), RateLimitedError, True),
        (ccxt.RateLimitExceeded("code -1003"), RateLimitedError, True),
        (ccxt.ChecksumError("gap"), BookOutOfSyncError, True),
        (ccxt.RequestTimeout("slow"), RequestTimedOutError, True),
        (ccxt.ExchangeNotAvailable("down"), ExchangeUnreachableError, True),
        (ccxt.NetworkError("reset"), ExchangeUnreachableError, True),
        (ccxt.BadResponse("garbage"), MalformedResponseError, True),
        (ccxt.AuthenticationError("bad key"), AuthenticationFailedError, False),
        (ccxt.InvalidNonce("-1021 timestamp"), AuthenticationFailedError, False),
        (ccxt.BadSymbol("no such"), UnknownSymbolError, False),
    ],
)
def test_ccxt_errors_map_to_one_terminal_error_each(
    raised: Exception, expected: type, transient: bool
) -> None:
    error = translate(raised, "Binance")
    assert type(error) is expected
    assert "Binance" in str(error)
    assert getattr(error, "transient", False) is transient


def test_both_rate_limit_classes_are_one_error_class() -> None:
    # DDoSProtection is not a RateLimitExceeded in ccxt; for us they are one back-off.
    assert not issubclass(ccxt.DDoSProtection, ccxt.RateLimitExceeded)
    kinds = {type(translate(e, "X")) for e in (ccxt.DDoSProtection("418"), ccxt.RateLimitExceeded("429"))}
    assert kinds == {RateLimitedError}


def test_signed_urls_and_known_secrets_never_reach_the_message() -> None:
    secret = "s3cr3t-VALUE-123"
    raised = ccxt.AuthenticationError(
        "binance GET http://127.0.0.1/api/v3/account?timestamp=1&recvWindow=5000&signature=abcdef0123 "
        f'401 {{"code":-2015,"msg":"Invalid API-key","apiKey":"KEY123", "echo": "{secret}"}}'
    )
    remember(secret)  # as CcxtSource does with the credentials it hands to ccxt
    error = translate(raised, "Binance")
    text = describe(error, detailed=True)  # what the log gets: the most there is
    for leaked in ("abcdef0123", "KEY123", secret):
        assert leaked not in text
    assert "signature=[redacted]" in text
    assert redact("x" * 1000).endswith("…") and len(redact("x" * 1000)) <= 300


def test_the_user_reads_plain_words_and_the_log_keeps_the_detail() -> None:
    error = translate(ccxt.NetworkError("Cannot connect to host 127.0.0.1:8777 ssl:default"), "Binance")
    assert describe(error) == "The connection to Binance failed. The terminal retries by itself."
    assert "Cannot connect to host" in describe(error, detailed=True)
