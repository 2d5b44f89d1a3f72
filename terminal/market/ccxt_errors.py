"""Every ccxt exception mapped to the terminal's own, in one place.

ccxt raises ~40 exception classes; the terminal needs to know a few things
about each failure: what to tell the user, and whether retrying can help.
Both of ccxt's rate-limit classes (``DDoSProtection`` for HTTP 429/418, which
is *not* a subclass of ``RateLimitExceeded``, and ``RateLimitExceeded``) map
to one ``RateLimitedError``, so one back-off handles both.

ccxt's messages can carry request URLs, headers and bodies; those may hold
an API key, a secret, a password or a signature. ``redact`` masks them (with
``terminal.redaction``, the one masking path the logs use too) before any
text leaves this module; ``CcxtSource`` registers every credential it hands
to ccxt (``credentials_of``), so the texts are masked whoever shows them.
"""

from __future__ import annotations

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
from terminal.redaction import redact as mask

_MAX_TEXT = 300
#: the ccxt exchange attributes that hold credentials whenever they are set
_CREDENTIALS = ("apiKey", "secret", "password", "twofa", "privateKey", "token")
#: attributes that are credentials where the exchange requires them (a user id
#: some exchanges sign with or send as a header), and plain ids elsewhere
_CREDENTIALS_IF_REQUIRED = ("uid", "login", "accountId")


def redact(text: str) -> str:
    """``text`` as an error may carry it: secrets and authentication values
    masked (``terminal.redaction.redact``), then shortened."""
    text = mask(text)  # cut after masking: a cut could leave part of a secret unmasked
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def credentials_of(exchange: Any) -> list[str]:
    """The credentials a ccxt exchange instance holds (to register for masking)."""
    required = getattr(exchange, "requiredCredentials", None) or {}
    names = (*_CREDENTIALS, *(name for name in _CREDENTIALS_IF_REQUIRED if required.get(name)))
    values = (getattr(exchange, name, None) for name in names)
    return [value for value in values if isinstance(value, str) and value]


def translate(exc: BaseException, exchange_name: str) -> Exception:
    """The terminal error for a ccxt exception (anything else is returned as it is)."""
    import ccxt  # imported here: ccxt is loaded only when a real exchange is used

    if not isinstance(exc, ccxt.BaseError):
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))
    detail = redact(str(exc))
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
