"""The terminal's one exception hierarchy.

Every error a user can meet is a ``TerminalError``: its ``str()`` is a plain
sentence that says what went wrong and, where there is one, what to do. No
exception text may carry a secret (see ``terminal.credentials`` in later work).
"""

from __future__ import annotations


class TerminalError(Exception):
    """Base of every error the terminal raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    def user_message(self) -> str:
        """The message shown to the user: what happened, then what to do."""
        text = str(self)
        return f"{text} {self.hint}".strip() if self.hint else text


class ConfigError(TerminalError):
    """The configuration file cannot be read or does not validate."""


class MarketError(TerminalError):
    """A market-data problem: unknown symbol, unsupported timeframe, bad data."""


class UnknownSymbolError(MarketError):
    """The exchange does not list the requested symbol."""


class UnsupportedTimeframeError(MarketError):
    """The timeframe is not one the terminal or the exchange understands."""


class FeedError(TerminalError):
    """A live feed failed (connection lost, exchange down, malformed data)."""


class ExchangeClosedError(FeedError):
    """A call reached an exchange connection that was closed on purpose."""


def describe(exc: BaseException) -> str:
    """Plain words for any exception: the user message of our own errors,
    the class and text of anything else (an exchange library's errors)."""
    if isinstance(exc, TerminalError):
        return exc.user_message()
    return f"{type(exc).__name__}: {exc}"
