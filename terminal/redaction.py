"""Masking secrets in log output: the filter that keeps keys out of the log
file and the log panel, whatever code logs them (defence in depth: nothing
should log a key in the first place).

``remember`` registers values (the credentials module does it for every key
it stores or reads); ``SecretRedactor`` masks them wherever they appear.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values are not masked in logs: masking "abc" everywhere would shred
# the log, and a key that short is not what an exchange hands out.
MIN_REDACTED_LENGTH = 4


class _SecretRegistry:
    """The secrets this process has stored or read, in the forms they may take in a log line.

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

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern is not None else text


_registry = _SecretRegistry()


def redact(text: str) -> str:
    """``text`` with every secret this process has stored or read replaced by ``[redacted]``."""
    return _registry.redact(text)


class SecretRedactor(logging.Filter):
    """Masks known secrets in a record's message, arguments, traceback and stack.

    Install it on *handlers* (``install_redactor``): a filter on a logger does
    not see records that propagate up from child loggers. It never drops a
    record, and rewrites one only when a secret is in it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _registry.active:
            return True
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


def remember(*values: str | None) -> None:
    """Mask these values in every log record from now on."""
    _registry.add(*values)
