"""The one masking path (``terminal.redaction.redact``) on the shapes
authentication takes in a text, whatever the exchange calls its parameters
and headers, and what it leaves alone. The texts are as ccxt, aiohttp and
exchanges print them; tests/market/test_redaction_of_exchange_errors.py
has them made by the real ccxt classes."""

from __future__ import annotations

import base64
import io
import logging

import pytest

from terminal.redaction import REDACTED, install_redactor, redact, remember_credentials


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        # signed query strings: every value goes, whatever the signature's name
        ("GET http://h/api/v3/account?timestamp=1&recvWindow=5000&signature=9ae8bd", ["9ae8bd", "5000"]),
        ("GET http://h/v1/account?AccessKeyId=ak-1&SignatureMethod=HmacSHA256&Signature=ab%2Bc%3D", ["ak-1"]),
        ("PUT http://h/api/v3/userDataStream?listenKey=pqJ7xLk 400", ["pqJ7xLk"]),
        ("GET http://h/x?nonce=17&hash=deadbeef", ["deadbeef"]),  # "hash": signed by its nonce
        ("GET http://h/x?q=1&h=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo", ["Zm9vYmFyYmF6"]),  # a digest
        # header dicts and JSON fields named for authentication
        ("{'X-MBX-APIKEY': 'mbxkey', 'Content-Type': 'json'}", ["mbxkey"]),
        ('{"OK-ACCESS-SIGN": "c2ln", "OK-ACCESS-PASSPHRASE": "pp-1"}', ["c2ln", "pp-1"]),
        ('{"APCA-API-KEY-ID": "id-1", "APCA-API-SECRET-KEY": "sk-1"}', ["id-1", "sk-1"]),
        ('{"KC-API-KEY": "kc-1", "KC-API-SIGN": "kcs", "API-Sign": "krs"}', ["kc-1", "kcs", "krs"]),
        ('{"op":"login","args":[{"apiKey":"a-1","passphrase":"p-1","sign":"s-1"}]}', ["a-1", "p-1", "s-1"]),
        ('"detail":"{\\"sign\\":\\"s-2\\"}"', ["s-2"]),  # JSON inside JSON, as the journal stores it
        # header lines, and credentials in a URL
        ("POST /x HTTP/1.1\nAuthorization: Basic dXNlcjpwYXNz\nHost: h", ["dXNlcjpwYXNz"]),
        ("proxy http://alice:hunter22@10.0.0.1:3128 refused", ["alice", "hunter22"]),
    ],
)
def test_authentication_values_are_masked_whatever_they_are_called(text: str, hidden: list[str]) -> None:
    clean = redact(text)
    assert [value for value in hidden if value in clean] == [], clean
    assert REDACTED in clean


@pytest.mark.parametrize(
    "text",
    [
        "GET http://h/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=500",  # a public request
        '{"signal": "buy", "clientOrderId": "t-abc", "status": "NEW"}',  # "signal" is not "sign"
        "Invalid API-key, IP, or permissions for action.",
        "12:30:01 listening on http://127.0.0.1:9/api",
    ],
)
def test_what_is_not_authentication_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_basic_auth_of_a_key_and_secret_is_masked_once_the_credentials_are_known() -> None:
    key, secret = "BasicKey-5k2h7Gq", "BasicSecret-9Lm3Np"
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    text = f"echo: Basic {basic} ({key})"  # not under a header name: only knowing it masks it
    assert basic in redact(text)
    remember_credentials(key, secret)
    assert basic not in redact(text) and key not in redact(text)


def test_the_log_masks_signatures_although_nobody_registered_them() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_redactor([handler])
    log = logging.getLogger("test.redaction.shapes")
    log.propagate = False
    log.addHandler(handler)
    try:
        url = "http://h/x?timestamp=1&signature=ff00aa"
        log.warning("%s %s, Request: %s %s", "GET", url, {"API-Sign": "z"}, None)  # as ccxt logs it
    finally:
        log.removeHandler(handler)
    assert "ff00aa" not in stream.getvalue() and "'z'" not in stream.getvalue()
    assert "signature=[redacted]" in stream.getvalue()
