"""Every ccxt exception mapped to the terminal's own, in one place.

ccxt raises ~40 exception classes; the terminal needs to know a few things
about each failure: what to tell the user, and whether retrying can help.
Both of ccxt's rate-limit classes (``DDoSProtection`` for HTTP 429/418, which
is *not* a subclass of ``RateLimitExceeded``, and ``RateLimitExceeded``) map
to one ``RateLimitedError``, so one back-off handles both.

ccxt's messages can carry request URLs and bodies; those may hold an API key
or a signature. ``redact`` removes them before any text leaves this module.
"""

from __future__ import annotations

import re
from typing import Any

from terminal.errors import (
    AuthenticationFailedError,
    BookOutOfSyncError,
    ExchangeClosedError,
    ExchangeError,
    ExchangeUnreachableError,
    InsufficientFundsError,
    MalformedResponseError,
    NotSupportedError,
    OrderRejectedError,
    RateLimitedError,
    RequestTimedOutError,
    TerminalError,
    UnknownSymbolError,
)

_SECRET_PARAMS = re.compile(
    r"(?i)\b(signature|apikey|api_key|secret|passphrase|password|x-mbx-apikey|key)=([^&\s\"',}]+)"
)
_SECRET_JSON = re.compile(
    r'(?i)("(?:signature|apikey|api_key|secret|passphrase|password)"\s*:\s*")([^"]*)(")'
)
_MAX_TEXT = 300


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with signatures, keys and the given secrets masked, shortened."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "•••")
    text = _SECRET_PARAMS.sub(r"\1=•••", text)
    text = _SECRET_JSON.sub(r"\1•••\3", text)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def translate(exc: BaseException, exchange_name: str, secrets: tuple[str, ...] = ()) -> Exception:
    """The terminal error for a ccxt exception (anything else is returned as it is)."""
    import ccxt  # imported here: ccxt is loaded only when a real exchange is used

    if not isinstance(exc, ccxt.BaseError):
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
    detail = redact(str(exc), secrets)
    where = exchange_name
    table: list[tuple[type[Any], type[TerminalError], str, str]] = [
        (ccxt.ExchangeClosedByUser, ExchangeClosedError, f"The {where} connection was closed.", ""),
        (
            ccxt.ChecksumError,
            BookOutOfSyncError,
            f"{where}'s order book stream skipped updates.",
            "It is rebuilt from a fresh snapshot.",
        ),
        (
            ccxt.DDoSProtection,
            RateLimitedError,
            f"{where} is limiting our requests.",
            "The terminal slows down and retries by itself.",
        ),
        (
            ccxt.RateLimitExceeded,
            RateLimitedError,
            f"{where} is limiting our requests.",
            "The terminal slows down and retries by itself.",
        ),
        (
            ccxt.RequestTimeout,
            RequestTimedOutError,
            f"{where} did not answer in time.",
            "The terminal retries by itself.",
        ),
        (
            ccxt.OnMaintenance,
            ExchangeUnreachableError,
            f"{where} is in maintenance.",
            "The terminal retries by itself.",
        ),
        (
            ccxt.InvalidNonce,
            AuthenticationFailedError,
            f"{where} refused the request's timestamp.",
            "Check that this computer's clock is set automatically.",
        ),
        (
            ccxt.ExchangeNotAvailable,
            ExchangeUnreachableError,
            f"{where} cannot be reached.",
            "The terminal retries by itself.",
        ),
        (
            ccxt.NetworkError,
            ExchangeUnreachableError,
            f"The connection to {where} failed.",
            "The terminal retries by itself.",
        ),
        (
            ccxt.BadResponse,
            MalformedResponseError,
            f"{where} answered with data the terminal cannot read.",
            "The terminal retries by itself.",
        ),
        (
            ccxt.AuthenticationError,
            AuthenticationFailedError,
            f"{where} refused the API key.",
            "Check the key, its secret and its permissions.",
        ),
        (ccxt.InsufficientFunds, InsufficientFundsError, f"{where}: not enough funds for this.", ""),
        (ccxt.InvalidOrder, OrderRejectedError, f"{where} refused the order.", ""),
        (ccxt.BadSymbol, UnknownSymbolError, f"{where} does not know this symbol.", ""),
        (ccxt.NotSupported, NotSupportedError, f"{where} does not support this.", ""),
    ]
    for ccxt_class, ours, message, hint in table:
        if isinstance(exc, ccxt_class):
            # A RateLimitedError's retry_after is set by the source, which saw the answer's headers.
            return ours(message, hint=hint, detail=f"{type(exc).__name__}: {detail}")
    return ExchangeError(f"{where} refused the request.", detail=f"{type(exc).__name__}: {detail}")

