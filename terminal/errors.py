"""The terminal's one exception hierarchy.

Every error a user can meet is a ``TerminalError``: its ``str()`` is a plain
sentence that says what went wrong and, where there is one, what to do. No
exception text may carry a secret (see ``terminal.credentials`` in later work).
"""

from __future__ import annotations

from typing import Any


class TerminalError(Exception):
    """Base of every error the terminal raises on purpose."""

    hint: str = ""
    #: technical detail for the log (e.g. the exchange library's own words),
    #: kept out of what the user reads on screen
    detail: str = ""

    def __init__(self, message: str, *, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint
        if detail:
            self.detail = detail

    def user_message(self) -> str:
        """The message shown to the user: what happened, then what to do."""
        text = str(self)
        return f"{text} {self.hint}".strip() if self.hint else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole across a process boundary (a strategy's worker process sends its
        # errors back): subclasses take keyword-only arguments that pickle's
        # default, ``cls(*args)``, would drop or refuse.
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(cls: type[TerminalError], args: tuple[Any, ...], state: dict[str, Any]) -> TerminalError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


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


# -- what an exchange can answer (ccxt's exceptions map onto these, in one
# place: terminal.market.ccxt_errors) ------------------------------------------
class ExchangeError(TerminalError):
    """The exchange answered, but not with what was asked for."""

    #: retrying can help (network, rate limit, maintenance), unlike a refusal
    transient: bool = False


class ExchangeUnreachableError(ExchangeError):
    """No answer: network down, exchange down or in maintenance."""

    transient = True


class RequestTimedOutError(ExchangeUnreachableError):
    """The exchange did not answer in time."""


class RateLimitedError(ExchangeError):
    """Too many requests: the exchange asked us to slow down (HTTP 429/418 or its own code)."""

    transient = True

    def __init__(
        self, message: str, *, hint: str = "", detail: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.retry_after = retry_after


class BookOutOfSyncError(ExchangeError):
    """The order book stream skipped updates; the book is rebuilt from a fresh snapshot."""

    transient = True


class MalformedResponseError(ExchangeError):
    """The exchange answered with something that is not valid data."""

    transient = True


class SubscriptionRefusedError(ExchangeError):
    """The exchange refused one stream (a delisted symbol, an unknown channel):
    that stream stops with this message; the rest of the feed goes on."""


class AuthenticationFailedError(ExchangeError):
    """The API key was refused (wrong key or secret, missing permission, clock skew)."""


class InsufficientFundsError(ExchangeError):
    """The account does not hold enough for the order."""


class OrderRejectedError(ExchangeError):
    """The exchange refused the order (size, price, type or state)."""


class NotSupportedError(ExchangeError):
    """The exchange (or ccxt for it) does not offer this."""


def describe(exc: BaseException, detailed: bool = False) -> str:
    """Plain words for any exception: the user message of our own errors
    (with their technical detail when ``detailed``, for logs), the class and
    text of anything else."""
    if isinstance(exc, TerminalError):
        text = exc.user_message()
        return f"{text} [{exc.detail}]" if detailed and exc.detail else text
    return f"{type(exc).__name__}: {exc}"


# -- the local market-history database (terminal.store) ------------------------
class StoreError(TerminalError):
    """The local market-history database cannot do what was asked."""


class DatabaseDamagedError(StoreError):
    """The history file is not a database, or SQLite finds it corrupt.

    The terminal never deletes the file: the way out is to open it read-only
    (to export what is still readable) or to move it aside
    (``terminal.store.move_aside``) and start with a fresh one."""

    def __init__(self, message: str, *, path: str = "", hint: str = "", detail: str = "") -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path


class DatabaseLockedError(StoreError):
    """Another program (or another terminal) holds the database's write lock
    and did not release it within the wait."""


class DatabaseTooNewError(StoreError):
    """The database was made by a newer terminal whose schema this one does not know."""


# -- CSV import and export of candles (terminal.store.csv_io) ---------------------
class CsvError(TerminalError):
    """A candle CSV file cannot be imported or exported."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        detail: str = "",
        path: str = "",
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.path = path
        #: 1-based line number as a text editor shows it, when one line is at fault
        self.line = line
        #: the candle field ("ts", "open", ...) at fault, when there is one
        self.column = column


class CsvImportError(CsvError):
    """The file is unreadable, empty or malformed; nothing of it was imported."""


class CsvExportError(CsvError):
    """The export file could not be written; no partial file is left behind."""


# -- trading: order tickets, risk checks, accounts (terminal.trading) ------------
class TradingError(TerminalError):
    """An order cannot be placed, changed or cancelled as asked."""


class OrderInvalidError(TradingError):
    """An order breaks the market's precision or limits, or the account cannot
    cover it. ``field`` names the ticket field to change ("amount", "price",
    ...); ``problems`` holds every problem found when there were several."""

    def __init__(
        self, field: str, message: str, *, hint: str = "", detail: str = "", problems: tuple[object, ...] = ()
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.field = field
        self.problems = problems


class RiskCheckFailedError(TradingError):
    """A risk rule of the account blocks the order before it leaves the
    terminal. ``rule`` names the rule ("max_order_notional", ...); ``blocks``
    holds every block when several rules fired."""

    def __init__(
        self, rule: str, message: str, *, hint: str = "", detail: str = "", blocks: tuple[object, ...] = ()
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.rule = rule
        self.blocks = blocks


class OrderNotFoundError(TradingError):
    """No open order has this client order id (unknown, or already closed)."""


class ClockSkewError(AuthenticationFailedError):
    """The exchange refused a signed request's timestamp: this computer's clock
    is off by more than the exchange allows (ccxt's ``InvalidNonce``)."""


class OrderStatusUnknownError(TradingError):
    """An order was sent, the answer was lost, and asking the exchange by its
    client order id did not tell whether it exists: it may be live. The live
    broker shows it as unknown and never sends it again by itself."""

    def __init__(self, message: str, *, client_order_id: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.client_order_id = client_order_id
