"""What can go wrong in a backtest, in the terminal's one error hierarchy."""

from __future__ import annotations

from terminal.errors import TerminalError


class BacktestError(TerminalError):
    """A backtest could not run as asked."""


class BacktestCancelled(BacktestError):  # noqa: N818 (a cancellation is not a failure: no "Error")
    """The run was cancelled by its caller; no result exists."""

    def __init__(self, message: str = "The backtest was cancelled.") -> None:
        super().__init__(message)


class InvalidSignalsError(BacktestError):
    """A strategy returned signals the engine cannot use (length, values)."""


class StrategyLoadError(BacktestError):
    """A user strategy file could not be loaded.

    ``path`` and ``line`` (1-based, as an editor shows it; ``None`` when no
    line is at fault) say where to look."""

    def __init__(self, message: str, *, path: str, line: int | None = None, detail: str = "") -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}", detail=detail)
        self.path = path
        self.line = line
        self.reason = message


class StrategyFailedError(BacktestError):
    """A strategy raised while computing its signals. ``path`` and ``line`` point
    at the strategy's own code where it failed, when that is known."""

    def __init__(self, message: str, *, path: str = "", line: int | None = None, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.path = path
        self.line = line
