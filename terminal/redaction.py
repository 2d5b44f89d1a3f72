"""Masking secrets in every text that leaves the process: log records, error
texts the windows show (messages, hints, details in tooltips and dialogs),
and the trading journal. One function, ``redact``, serves them all; the log
filter, ``terminal.market.ccxt_errors`` and the journal call it.

Two kinds of masking, because some secrets are known and some are not:

- **Known values.** ``remember`` registers values (the credentials module
  does it for every key it stores or reads); ``remember_credentials`` adds
  the forms an exchange derives from them and puts on the wire (base64 of
  ``key:secret`` for HTTP Basic auth). Each is masked as it is, JSON-,
  repr- and percent-encoded.
- **Shapes.** A request's signature, a listen key or a session token is new
  with every request and known to nobody in advance, so it is masked by
  where it stands: every value of a parameter list (a URL's query string, a
  form body) that carries an authentication parameter (``signature``,
  ``sign``, ``AccessKeyId``, ``listenKey``, ``timestamp``, ``nonce``...) or a
  digest-like value, whatever the parameter's name; the value of a header or
  a JSON/dict field named with an authentication word (``X-MBX-APIKEY``,
  ``OK-ACCESS-SIGN``, ``Authorization``, ``APCA-API-SECRET-KEY``,
  ``KC-API-PASSPHRASE``, ``API-Sign``, ``"sign"``...); the user name and
  password inside a URL.

Masking is defence in depth: nothing should put a key in a text in the
first place.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values are not masked as known values: masking "abc" everywhere would
# shred the text, and a key that short is not what an exchange hands out.
MIN_REDACTED_LENGTH = 4


class _SecretRegistry:
    """The secrets this process has stored, read or handed to an exchange, in
    the forms they may take in a text.

    Held in memory only, for masking: the same values live in the exchange
    objects that use them for the whole session anyway.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str | None) -> None:
        forms: set[str] = set()
        for value in values:
            if value is None or len(value) < MIN_REDACTED_LENGTH:
                continue
            # As is, JSON-escaped, repr-escaped, and percent-encoded (query strings).
            escaped = (json.dumps(value)[1:-1], repr(value)[1:-1], urllib.parse.quote(value, safe=""))
            forms.update((value, *escaped))
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            ordered = sorted(self._values, key=len, reverse=True)  # longest first: no partial masks
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern is not None else text


_registry = _SecretRegistry()


# -- shapes ------------------------------------------------------------------------------------------
# A name is split into words ("X-MBX-APIKEY" → x, mbx, apikey; "AccessKeyId" →
# access, key, id), so that "sign" masks "OK-ACCESS-SIGN" but not "signal".
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: words that make a header, field or parameter name an authentication one
_AUTH_WORDS = frozenset(
    {
        "key", "apikey", "apisign", "sign", "signature", "sig", "secret", "pass", "password",
        "passphrase", "passwd", "auth", "authorization", "token", "cookie", "credential",
        "credentials", "hmac", "jwt", "twofa", "otp",
    }
)  # fmt: skip
#: names that only signed requests carry: their parameter list is masked whole
_SIGNED_WORDS = _AUTH_WORDS | {"timestamp", "nonce", "tonce", "recvwindow", "expires"}
# A parameter list: name=value pairs joined by "&" (a query string, a form body).
_PAIR = r"[A-Za-z_][\w.\-\[\]]*=[^&\s\"'<>#,;{}()\[\]\\]*"
_PARAMS = re.compile(rf"(?<![\w.\-\[\]%]){_PAIR}(?:&{_PAIR})*")
# A signature or token under a name nobody could list: long, digest-like.
_DIGEST = re.compile(r"(?=[^=]*[0-9])(?=[^=]*[A-Za-z])[A-Za-z0-9+/_%\-]{32,}={0,2}")
# 'Name': 'value' / "Name": "value" (dicts, JSON; also with escaped quotes, JSON inside JSON).
# The value is read in a lookahead, so that a field inside another's value is found too.
_FIELD = re.compile(
    r"""(?P<q>\\?["'])(?P<name>[\w.\-]{1,64})(?P=q)\s*:\s*"""
    r"""(?=(?P<vq>\\?["'])(?P<value>(?:(?!(?P=vq))(?:\\.|.))*)(?P=vq))"""
)
# Name: value, as in an HTTP header block (Authorization: Basic ...).
_HEADER_LINE = re.compile(r"(?<![\w\-])(?P<name>[A-Za-z][\w\-]{0,63}):[ \t]+(?P<value>[^\r\n,;\"'{}]+)")
# scheme://user:password@host
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][\w+.\-]*://)[^\s/@:\"']+:[^\s/@\"']*@")


def _words(name: str) -> set[str]:
    words = {w.lower() for w in _NAME_WORDS.findall(name)}
    words.add(re.sub(r"[\W_]", "", name).lower())  # "recvWindow" → "recvwindow"
    return words


def _is_auth_name(name: str) -> bool:
    """Whether a header, field or parameter called ``name`` carries a credential or a signature."""
    return not _words(name).isdisjoint(_AUTH_WORDS)


def _mask_params(match: re.Match[str]) -> str:
    pairs = [pair.partition("=") for pair in match.group(0).split("&")]
    signed = any(
        not _words(name).isdisjoint(_SIGNED_WORDS) or _DIGEST.fullmatch(value) for name, _, value in pairs
    )
    if not signed:
        return match.group(0)
    return "&".join(f"{name}={REDACTED}" if value else f"{name}=" for name, _, value in pairs)


def _mask_fields(text: str) -> str:
    parts, done = [], 0
    for match in _FIELD.finditer(text):
        if match.start() < done or not match["value"] or not _is_auth_name(match["name"]):
            continue
        start, end = match.span("value")
        parts += [text[done:start], REDACTED]
        done = end
    return "".join(parts) + text[done:]


def _mask_header_line(match: re.Match[str]) -> str:
    if not _is_auth_name(match["name"]):
        return match.group(0)
    return f"{match['name']}: {REDACTED}"


def _redact_shapes(text: str) -> str:
    """``text`` with signed parameter lists, authentication headers and fields,
    and credentials inside URLs masked (see the module docstring)."""
    text = _USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    text = _PARAMS.sub(_mask_params, text)
    text = _mask_fields(text)
    return _HEADER_LINE.sub(_mask_header_line, text)


def redact(text: str) -> str:
    """``text`` with every secret this process knows and every authentication
    value it can recognise replaced by ``[redacted]``."""
    return _redact_shapes(_registry.redact(text))


def remember(*values: str | None) -> None:
    """Mask these values in every text from now on."""
    _registry.add(*values)


def remember_credentials(*values: str | None) -> None:
    """Mask an exchange account's credentials (API key, secret, password, and
    whatever else the exchange takes) and the forms an exchange derives from
    them: base64 of ``a:b`` for every ordered pair, as HTTP Basic auth sends
    ``key:secret`` (Luno) or ``login:password`` (NDAX)."""
    known = [v for v in dict.fromkeys(values) if v]
    pairs = (f"{a}:{b}" for a, b in itertools.permutations(known, 2))
    remember(*known, *(base64.b64encode(p.encode()).decode() for p in pairs))


# -- the log filter ----------------------------------------------------------------------------------
class SecretRedactor(logging.Filter):
    """Masks secrets (``redact``) in a record's message, arguments, traceback and stack.

    Install it on *handlers* (``install_redactor``): a filter on a logger does
    not see records that propagate up from child loggers. It never drops a
    record, and rewrites one only when a secret is in it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format; logging would print the raw args: mask them
            message = f"{record.msg} {record.args!r}"
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            clean = redact(text)
            if clean != text:
                record.exc_info, record.exc_text = None, clean
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redactor(handlers: Iterable[logging.Handler] | None = None) -> SecretRedactor:
    """Add one shared ``SecretRedactor`` to ``handlers`` (default: the root logger's handlers)."""
    chosen = list(logging.getLogger().handlers if handlers is None else handlers)
    for handler in chosen:
        if not any(isinstance(f, SecretRedactor) for f in handler.filters):
            handler.addFilter(_redactor)
    return _redactor


_redactor = SecretRedactor()
