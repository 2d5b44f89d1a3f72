"""Building a longer timeframe from stored candles of a shorter one.

    written = build_timeframe(store, "binance", "BTC/USDT", "1m", "1h")

The new candles are the usual aggregate (first open, highest high, lowest
low, last close, summed volume) over UTC-aligned buckets, as exchanges make
them. Two rules decide which buckets are built:

- only buckets whose period has ended by the last stored finer candle: the
  hour in which that candle lies is left out until its last minute is
  stored, so a half-built candle never sits in the store as if it were
  closed;
- a bucket with holes (minutes nobody traded, or not downloaded) is built
  from the candles it has, which is what exchanges do for quiet periods.

Stretches the exchange confirmed empty for the shorter timeframe carry over
to the periods of the longer one they wholly cover. The result is validated
like anything else entering the store, and written
window by window, each window its own transaction: a build that stops half
way leaves whole, correct candles behind. Blocks: call it from a worker
thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from terminal.errors import UnsupportedTimeframeError
from terminal.marketdata.resample import resample
from terminal.marketdata.timeframes import timeframe_ms
from terminal.store.candles import CandleStore, SeriesKey
from terminal.store.gaps import Range
from terminal.store.sync_records import SyncRecords
from terminal.store.validation import validate

log = logging.getLogger(__name__)

#: finer candles read per window (~48 MB of columns at most)
WINDOW_CANDLES = 1_000_000

Progress = Callable[[float], None]


def check_timeframes(from_tf: str, to_tf: str) -> None:
    """Raise ``UnsupportedTimeframeError`` unless ``to_tf`` is a whole multiple
    of ``from_tf``, and longer."""
    fine, coarse = timeframe_ms(from_tf), timeframe_ms(to_tf)
    if coarse <= fine or coarse % fine:
        raise UnsupportedTimeframeError(
            f"{to_tf} candles cannot be built from {from_tf} candles.",
            hint="Choose a longer timeframe that is a whole multiple of the shorter one (1h from 1m or 15m).",
        )


def build_timeframe(
    store: CandleStore,
    exchange: str,
    symbol: str,
    from_tf: str,
    to_tf: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    progress: Progress | None = None,
) -> int:
    """Write the ``to_tf`` candles with open times in [start_ms, end_ms) (all
    when None) made from the stored ``from_tf`` ones; returns how many were
    written. ``progress`` gets the fraction done after each window; an
    exception it raises (a cancel) stops the build there."""
    check_timeframes(from_tf, to_tf)
    fine, coarse = timeframe_ms(from_tf), timeframe_ms(to_tf)
    stored = store.coverage(exchange, symbol, from_tf)
    if not stored:
        return 0
    # The last bucket that has ended: its last finer candle is at or before the last stored one.
    ended = (stored[0].last_ts + fine) // coarse * coarse
    lo = stored[0].first_ts // coarse * coarse
    if start_ms is not None:
        lo = max(lo, -(-start_ms // coarse) * coarse)
    hi = ended if end_ms is None else min(ended, -(-end_ms // coarse) * coarse)
    if hi <= lo:
        return 0
    window = max(1, WINDOW_CANDLES * fine // coarse) * coarse
    written = rejected = 0
    for a in range(lo, hi, window):
        b = min(a + window, hi)
        candles = resample(store.read(exchange, symbol, from_tf, a, b), coarse)
        checked = validate(candles, to_tf)
        if checked.rejected_count:
            rejected += checked.rejected_count
            log.warning("%s %s %s from %s: %s", exchange, symbol, to_tf, from_tf, checked.summary())
        written += store.write(exchange, symbol, to_tf, checked.good)
        if progress is not None:
            progress((b - lo) / (hi - lo))
    if written:
        _carry_no_trade(
            store, SeriesKey(exchange, symbol, from_tf), SeriesKey(exchange, symbol, to_tf), lo, hi
        )
    log.info(
        "%s %s: built %d %s candles from %s (%d rejected)",
        exchange,
        symbol,
        written,
        to_tf,
        from_tf,
        rejected,
    )
    return written


def _carry_no_trade(store: CandleStore, fine: SeriesKey, coarse: SeriesKey, lo: int, hi: int) -> None:
    """A period lying wholly inside a stretch the exchange confirmed empty for
    the finer timeframe had no trading either: remember it for the longer
    one, so that its gap is not counted as missing (nor fetched)."""
    step = timeframe_ms(coarse.timeframe)
    records = SyncRecords(store)
    whole: list[Range] = []
    for start, end in records.no_trade(fine):
        a, b = max(lo, -(-start // step) * step), min(hi, end // step * step)
        if b > a:
            whole.append((a, b))
    records.remember_no_trade(coarse, whole)
