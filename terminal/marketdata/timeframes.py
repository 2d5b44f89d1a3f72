"""Timeframes the terminal offers, in ccxt's notation, and their lengths."""

from __future__ import annotations

from collections.abc import Collection

from terminal.errors import UnsupportedTimeframeError

MINUTE_MS = 60_000

#: The chart's timeframes, in order, with their length in milliseconds.
TIMEFRAMES: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise UnsupportedTimeframeError(
            f"Unknown timeframe '{timeframe}'.", hint=f"Use one of {', '.join(TIMEFRAMES)}."
        ) from None


def floor_time(ts_ms: int, timeframe: str) -> int:
    """Open time of the candle that contains ``ts_ms`` (UTC-aligned, as exchanges do)."""
    step = timeframe_ms(timeframe)
    return ts_ms - ts_ms % step


def source_timeframe(timeframe: str, available: Collection[str]) -> str:
    """The timeframe to fetch so that ``timeframe`` can be built: itself if the
    exchange offers it, else the longest offered one that divides it evenly."""
    if timeframe in available:
        return timeframe
    target = timeframe_ms(timeframe)
    usable = [tf for tf in TIMEFRAMES if tf in available and target % TIMEFRAMES[tf] == 0]
    if not usable:
        raise UnsupportedTimeframeError(
            f"The exchange offers no timeframe from which {timeframe} candles can be built."
        )
    return max(usable, key=TIMEFRAMES.__getitem__)
