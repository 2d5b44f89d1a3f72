"""One market's price alerts, evaluated on each price in O(log n), whatever their number.

The feed brings thousands of prices a second, most of them moving nothing, so a price
costs a few comparisons:

- **Levels and lines** share one sorted list of levels: a move from the previous price
  finds every level it crossed by bisection. A line's level moves with time; it is
  placed again once a second (a trend line moves by a hair in a second), and a line that
  moved across a price standing still counts as a crossing then.
- **Moves** ("3 % within 15 minutes") keep running minima and maxima (monotonic queues,
  one entry a second: each second's lowest and highest go in when it is over) over the
  longest window; each alert's low and high come from them once a second, and in between
  a price is checked against the lowest "up" and the highest "down" threshold of all the
  market's move alerts, and only a new extreme or a threshold reached looks at the alerts
  one by one.

Both come down to one interval around the last price, the *calm* one: between the two
levels next to it and within the moves' thresholds. A price strictly inside it, in the
same second, crosses nothing and fires no move: it only becomes the last price, and when
it is a new low or high, it is noted once for all the move alerts (they take it when a
price that is not calm needs them, ``_catch_up``) and narrows the interval by the
smallest move that would fire from it. Most prices are calm (97 % in the alerts
benchmark) and cost a few comparisons; the interval is worked out again after any other.
``on_prices`` takes what the feed queued for one market in one call, the calm prices
without a call each, and a long run that is calm as a whole (its lowest and highest
are) in one check.

Qt-free; the engine (``engine.py``) fires what ``on_price`` and ``on_prices`` report.
"""

from __future__ import annotations

import bisect
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from terminal.alerts.rules import Alert, Direction, LineCross, Move, PriceCross
from terminal.alerts.words import number

INF = math.inf

#: (alert, the price that fired it, what happened, the price's time)
Hit = tuple[Alert, float, str, int]

#: ``on_prices`` checks a run of at least this many prices as a whole: min, max and the
#: other checks cost about what 10 to 15 calm prices do one by one (CPython 3.12). Runs that
#: long come when the loop fell behind, or from a symbol that trades in bursts.
BATCH_MIN = 16


@dataclass(slots=True)
class _Entry:
    """A level in the index: a price alert's, or a line's where it was placed last."""

    level: float
    alert: Alert
    direction: Direction
    line: LineCross | None = None
    # the side of the level the price was last strictly on: -1 below, 1 above, 0 not yet known.
    # A crossing is a change of side: a price that touches the level and turns back is none.
    side: int = 0


@dataclass(slots=True)
class _Line:
    alert: Alert
    line: LineCross
    entry: _Entry
    placed: bool = False  # the line reaches the time it was last placed at


def _side(price: float, level: float) -> int:
    return 1 if price > level else -1 if price < level else 0


@dataclass(slots=True)
class _Move:
    alert: Alert
    percent: float
    window_s: int
    up: bool
    down: bool
    rise: float  # 1 + percent: the up threshold is ``lo * rise``
    fall: float  # 1 - percent: the down threshold is ``hi * fall``
    since_s: int = 0  # a firing restarts the window
    lo: float = INF
    hi: float = -INF


@dataclass(slots=True)
class _Extremes:
    """Running minima (or maxima) of the prices of the last ``window_s`` seconds: times and
    values, each newer and each greater (smaller) than the one before, from ``head`` on."""

    lowest: bool
    times: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    head: int = 0

    def push(self, second: int, price: float) -> None:
        """A price at ``second``; at most one entry a second is kept (a query asks for whole
        seconds, and the first of a second's entries is its extreme)."""
        times, values, head = self.times, self.values, self.head
        if self.lowest:
            while len(values) > head and values[-1] >= price:
                values.pop()
                times.pop()
        else:
            while len(values) > head and values[-1] <= price:
                values.pop()
                times.pop()
        if len(values) > head and times[-1] == second:
            return  # this second's extreme is already there
        times.append(second)
        values.append(price)

    def forget_until(self, second: int) -> None:
        """Drop what is at or before ``second``."""
        self.head = bisect.bisect_right(self.times, second, lo=self.head)
        if self.head > 1024 and self.head * 2 > len(self.times):
            del self.times[: self.head], self.values[: self.head]
            self.head = 0

    def after(self, second: int) -> float | None:
        """The extreme of the prices after ``second``."""
        i = bisect.bisect_right(self.times, second, lo=self.head)
        return self.values[i] if i < len(self.values) else None

    def clear(self) -> None:
        self.times.clear()
        self.values.clear()
        self.head = 0


class MarketPrices:
    """The price, line and move alerts of one market, and the price they last saw."""

    __slots__ = (
        "_calm_hi",
        "_calm_lo",
        "_down_max",
        "_fall_max",
        "_fixed",
        "_fixed_levels",
        "_hi_min",
        "_lo_max",
        "_maxs",
        "_mins",
        "_rise_min",
        "_run_hi",
        "_run_lo",
        "_sec_hi",
        "_sec_lo",
        "_second_end",
        "_up_min",
        "entries",
        "levels",
        "lines",
        "moves",
        "price",
        "second",
        "ts",
        "window_s",
    )  # fmt: skip

    def __init__(self) -> None:
        self.price: float | None = None
        self.ts = 0
        self.second = -1
        self.levels: list[float] = []  # sorted
        self.entries: list[_Entry] = []  # in the order of ``levels``
        self._fixed: list[_Entry] = []  # the price alerts' entries (by level, from ``finish`` on)
        self._fixed_levels: list[float] = []  # their levels
        self.lines: list[_Line] = []
        self.moves: list[_Move] = []
        self.window_s = 0
        self._mins = _Extremes(lowest=True)
        self._maxs = _Extremes(lowest=False)
        # the moves' thresholds: a price between them (and within their lows and highs) moves nothing
        self._up_min = INF
        self._down_max = -INF
        self._lo_max = -INF
        self._hi_min = INF
        # a price strictly between these, at or after ``ts`` and before ``_second_end``, changes
        # nothing but the last price and the running extremes (empty: every price is looked at)
        self._calm_lo = INF
        self._calm_hi = -INF
        self._second_end = 0  # ms: the end of ``second``
        # the lowest and highest price of ``second``: they enter the running extremes when the
        # second is over (as each price would have: nothing asks for them before)
        self._sec_lo = INF
        self._sec_hi = -INF
        # the lowest and highest price since the move alerts' lows and highs were last brought
        # up to date: a new extreme goes here, not to each alert, and moves the calm interval's
        # ends by the smallest rise and the largest fall that fires an alert (``_catch_up``)
        self._run_lo = INF
        self._run_hi = -INF
        self._rise_min = INF  # the smallest 1 + percent of the "up" alerts (none: INF)
        self._fall_max = -INF  # the largest 1 - percent of the "down" alerts (none: -INF)

    # -- building ------------------------------------------------------------------------
    def add(self, alert: Alert) -> None:
        c = alert.condition
        if isinstance(c, PriceCross):
            self._fixed.append(_Entry(c.level, alert, c.direction))
        elif isinstance(c, LineCross):
            self.lines.append(_Line(alert, c, _Entry(c.p1, alert, c.direction, c)))
        elif isinstance(c, Move):
            up, down = c.direction is not Direction.DOWN, c.direction is not Direction.UP
            percent = c.percent / 100
            self.moves.append(_Move(alert, percent, c.minutes * 60, up, down, 1 + percent, 1 - percent))

    def finish(self, before: MarketPrices | None) -> None:
        """After ``add``: index what was added; ``before`` (the same market before an edit)
        gives the price and the recent path, so an edit does not lose them."""
        self._fixed.sort(key=operator.attrgetter("level"))  # (stable: equal levels in the order added)
        self._fixed_levels = [e.level for e in self._fixed]
        if before is not None:
            self.price, self.ts, self.second = before.price, before.ts, before.second
            self._second_end = before._second_end
            if before.moves:  # (without moves, no price entered the running extremes)
                self._sec_lo, self._sec_hi = before._sec_lo, before._sec_hi
            self._mins, self._maxs = before._mins, before._maxs
            moved = {m.alert.id: m for m in before.moves}
            for m in self.moves:  # an alert unchanged keeps where its window starts
                old = moved.get(m.alert.id)
                if old is not None and old.alert == m.alert:
                    m.since_s = old.since_s
            # and a level or line unchanged the side the price was last strictly on: taken
            # afresh from a price that stands on it, it would miss the crossing that follows
            sides = {e.alert.id: e for e in (*before._fixed, *(ln.entry for ln in before.lines))}
            for entry in (*self._fixed, *(ln.entry for ln in self.lines)):
                was = sides.get(entry.alert.id)
                if was is not None and was.alert == entry.alert:
                    entry.side = was.side
        self.window_s = max((m.window_s for m in self.moves), default=0)
        self._rise_min = min((m.rise for m in self.moves if m.up), default=INF)
        self._fall_max = max((m.fall for m in self.moves if m.down), default=-INF)
        if not self.moves:
            self._mins.clear()
            self._maxs.clear()
            self._sec_lo, self._sec_hi = INF, -INF
        if self.second >= 0:
            self._place_lines(self.second * 1000, fire=None)
            if self.moves and self._sec_lo <= self._sec_hi:  # this second so far counts too
                self._mins.push(self.second, self._sec_lo)
                self._maxs.push(self.second, self._sec_hi)
            self._measure_moves(self.second)
        else:
            self._reindex()
        if self.price is not None:
            self._take_sides(self.price)
        self._settle()

    def _reindex(self) -> None:
        """The levels in order: the price alerts' (sorted once) with the lines placed among
        them, each after the levels equal to its own (as a stable sort of the two would put
        them). Once a second per market: the lines move."""
        entries, levels = self._fixed.copy(), self._fixed_levels.copy()
        for ln in self.lines:
            if ln.placed:
                level = ln.entry.level
                i = bisect.bisect_right(levels, level)
                levels.insert(i, level)
                entries.insert(i, ln.entry)
        self.entries, self.levels = entries, levels

    def _take_sides(self, price: float) -> None:
        """Where ``price`` stands against every level not yet placed on a side (a reference)."""
        for entry in self.entries:
            if entry.side == 0:
                entry.side = _side(price, entry.level)

    # -- a price -----------------------------------------------------------------------
    def on_price(self, price: float, ts: int) -> list[Hit] | None:
        """``price`` at ``ts``: the alerts it fires (None: none). Garbage (not a positive
        finite number) and prices older than the last one are dropped."""
        if self._calm_lo < price < self._calm_hi and self.ts <= ts < self._second_end:
            # the common case, kept short: it runs thousands of times a second
            if (price < self._run_lo or price > self._run_hi) and price != self.price:
                self._note(price, price)
            self.price, self.ts = price, ts
            return None
        if not 0 < price < INF or ts < self.ts:
            return None
        second = ts // 1000
        if price == self.price and second == self.second:
            self.ts = ts  # the same price again (tickers repeat): nothing can have happened
            return None
        self._catch_up()
        # lines placed for this second first, against the price before this one (a line that
        # moved across it crossed it; a price that moves across a line is seen below)
        hits = self._new_second(second, ts) if second != self.second else None
        prev, self.price, self.ts = self.price, price, ts
        if price < self._sec_lo:
            self._sec_lo = price
        if price > self._sec_hi:
            self._sec_hi = price
        if prev is None:  # the first price after a start or a gap: a reference, not a crossing
            self._take_sides(price)
            self._settle()
            return hits
        levels = self.levels
        if price != prev and levels:
            low, high = (prev, price) if prev < price else (price, prev)
            lo, hi = bisect.bisect_left(levels, low), bisect.bisect_right(levels, high)
            if lo != hi:  # a level between the two prices, or on one (rare): has it changed side?
                hits = self._crossed(lo, hi, price, ts, hits)
        if self.moves and (
            price >= self._up_min or price <= self._down_max or price < self._lo_max or price > self._hi_min
        ):
            hits = self._moved(price, second, ts, hits)
        self._settle()
        return hits

    def on_prices(self, prices: Sequence[float], ts: Sequence[int]) -> list[Hit] | None:
        """Prices in the order they came, ``ts`` their times: the alerts they fire, exactly
        those ``on_price`` on each in turn fires, in the same order (None: none). A long run
        that is calm as a whole (valid, in order, in the second of the last price, its lowest
        and highest inside the calm interval) is taken in one step; any other price by price
        (a short run too: that check would cost more than its prices' own)."""
        n = len(prices)
        if (
            n >= BATCH_MIN
            and self._calm_lo < (low := min(prices))
            and (high := max(prices)) < self._calm_hi
            # each price calm against the run's extremes so far: surely so against its last
            and high < min(low, self._run_lo) * self._rise_min
            and low > max(high, self._run_hi) * self._fall_max
            and low != self.price != high  # (the same price again is no new extreme: ``_note``)
            and self.ts <= ts[0]
            and ts[-1] < self._second_end
            and not math.isnan(sum(prices))  # min and max may pass over a NaN
            and _ordered(ts)
        ):
            self.price, self.ts = prices[-1], ts[-1]
            self._note(low, high)
            return None
        hits: list[Hit] | None = None
        # the state the calm path reads, in locals (the usual run is a few calm prices: its
        # attribute reads were most of its cost), put back before anything else reads it
        calm_lo, calm_hi, end = self._calm_lo, self._calm_hi, self._second_end
        run_lo, run_hi, last, last_ts = self._run_lo, self._run_hi, self.price, self.ts
        for price, at in zip(prices, ts, strict=True):
            if calm_lo < price < calm_hi and last_ts <= at < end:
                # on_price's calm path, here to save a call on each calm price
                if (price < run_lo or price > run_hi) and price != last:
                    self._note(price, price)
                    calm_lo, calm_hi = self._calm_lo, self._calm_hi
                    run_lo, run_hi = self._run_lo, self._run_hi
                last, last_ts = price, at
                continue
            self.price, self.ts = last, last_ts
            found = self.on_price(price, at)
            if found is not None:
                hits = found if hits is None else hits + found
            calm_lo, calm_hi, end = self._calm_lo, self._calm_hi, self._second_end
            run_lo, run_hi, last, last_ts = self._run_lo, self._run_hi, self.price, self.ts
        self.price, self.ts = last, last_ts
        return hits

    def _note(self, low: float, high: float) -> None:
        """Calm prices from ``low`` to ``high``: the extremes of the second and of the run.
        Not the last price again: as before the run, that changes no move alert's low or
        high (one that stands where the last reference was taken has none yet)."""
        if low < self._run_lo:
            self._run_lo = low
            if low < self._sec_lo:
                self._sec_lo = low
            if low * self._rise_min < self._calm_hi:
                self._calm_hi = low * self._rise_min
        if high > self._run_hi:
            self._run_hi = high
            if high > self._sec_hi:
                self._sec_hi = high
            if high * self._fall_max > self._calm_lo:
                self._calm_lo = high * self._fall_max

    def _catch_up(self) -> None:
        """The move alerts' lows and highs take the run's extremes, before a price that is
        not calm is looked at with them."""
        low, high = self._run_lo, self._run_hi
        if low > high:
            return
        self._run_lo, self._run_hi = INF, -INF
        if not self.moves:
            return
        for m in self.moves:
            if low < m.lo:
                m.lo = low
            if high > m.hi:
                m.hi = high
        self._thresholds()

    def _settle(self) -> None:
        """The calm interval around the last price: between the levels next to it (none when
        it stands on one: a move either way may be a crossing) and within the moves'
        thresholds (the run's new extremes narrow it as they come: ``_note``)."""
        price = self.price
        if price is None:  # after a start or a gap the next price is looked at
            self._calm_lo, self._calm_hi = INF, -INF
            return
        levels = self.levels
        i = bisect.bisect_left(levels, price)
        if i < len(levels) and levels[i] == price:
            self._calm_lo, self._calm_hi = INF, -INF
            return
        lo = max(levels[i - 1], 0.0) if i else 0.0  # a price must be positive
        hi = levels[i] if i < len(levels) else INF
        if self.moves:  # (a new extreme moves them further: ``_note``)
            lo = max(lo, self._down_max)
            hi = min(hi, self._up_min)
        self._calm_lo, self._calm_hi = lo, hi

    def _crossed(self, lo: int, hi: int, price: float, ts: int, hits: list[Hit] | None) -> list[Hit] | None:
        """The levels ``lo:hi`` lie between the last price and ``price``: each that is now on
        the other side of it fires (a price that only reaches a level changes nothing)."""
        for entry in self.entries[lo:hi]:
            hits = self._to_side(entry, _side(price, entry.level), price, ts, hits)
        return hits

    @staticmethod
    def _to_side(entry: _Entry, side: int, price: float, ts: int, hits: list[Hit] | None) -> list[Hit] | None:
        before = entry.side
        if side == 0:
            return hits
        entry.side = side
        if before == 0 or before == side:
            return hits
        way = Direction.UP if side > 0 else Direction.DOWN
        if entry.direction is way or entry.direction is Direction.EITHER:
            hits = hits if hits is not None else []
            what = "the line" if entry.line is not None else ""
            word = "up" if side > 0 else "down"
            hits.append((entry.alert, price, _through(word, what, entry.level, price), ts))
        return hits

    def _new_second(self, second: int, ts: int) -> list[Hit] | None:
        if self.moves and self._sec_lo <= self._sec_hi:  # the second that ended, in the running extremes
            self._mins.push(self.second, self._sec_lo)
            self._maxs.push(self.second, self._sec_hi)
        self._sec_lo, self._sec_hi = INF, -INF
        self.second = second
        self._second_end = (second + 1) * 1000
        hits: list[Hit] = []
        if self.lines:
            self._place_lines(ts, fire=hits)
        if self.moves:
            self._measure_moves(second)
        return hits or None

    def _place_lines(self, ts: int, fire: list[Hit] | None) -> None:
        """Each line where it is at ``ts``; one that moved across the price standing still
        crossed it (``fire`` hears it)."""
        price = self.price
        for ln in self.lines:
            level = ln.line.level_at(ts)
            if level is None:  # before its start, or past a segment's end: out of the index
                ln.placed, ln.entry.side = False, 0
                continue
            ln.placed, ln.entry.level = True, level
            if price is not None:
                hits = self._to_side(ln.entry, _side(price, level), price, ts, None)
                if hits and fire is not None:
                    fire.extend(hits)
        self._reindex()

    def _measure_moves(self, second: int) -> None:
        """Each move alert's low and high over its window, from the running extremes."""
        self._mins.forget_until(second - self.window_s)
        self._maxs.forget_until(second - self.window_s)
        for m in self.moves:
            start = max(second - m.window_s, m.since_s)
            lo, hi = self._mins.after(start), self._maxs.after(start)
            m.lo = lo if lo is not None else INF
            m.hi = hi if hi is not None else -INF
        self._thresholds()

    def _thresholds(self) -> None:
        up_min, down_max, lo_max, hi_min = INF, -INF, -INF, INF
        for m in self.moves:  # a plain loop: this runs on each price that is not calm
            lo, hi = m.lo, m.hi
            if m.up and lo * m.rise < up_min:
                up_min = lo * m.rise
            if m.down and hi * m.fall > down_max:
                down_max = hi * m.fall
            # a price below the highest low (above the lowest high) is a new extreme of some alert
            if lo > lo_max:
                lo_max = lo
            if hi < hi_min:
                hi_min = hi
        self._up_min, self._down_max, self._lo_max, self._hi_min = up_min, down_max, lo_max, hi_min

    def _moved(self, price: float, second: int, ts: int, hits: list[Hit] | None) -> list[Hit] | None:
        for m in self.moves:
            if price < m.lo:
                m.lo = price
            if price > m.hi:
                m.hi = price
            up = m.up and price >= m.lo * m.rise
            down = m.down and price <= m.hi * m.fall
            if up or down:
                base = m.lo if up else m.hi
                minutes = m.window_s // 60
                change = (price / base - 1) * 100
                hits = hits if hits is not None else []
                hits.append((m.alert, price, f"{change:+.2f}% within {minutes} min, at {number(price)}", ts))
                m.since_s, m.lo, m.hi = second, price, price  # the next move is measured from here
        self._thresholds()
        return hits

    def gap(self) -> None:
        """The feed broke: the next price is a reference; the recent path is forgotten."""
        self.price = None
        for entry in self.entries:  # which side the price is on is taken afresh from the next one
            entry.side = 0
        self._mins.clear()
        self._maxs.clear()
        self._sec_lo, self._sec_hi = INF, -INF
        self._run_lo, self._run_hi = INF, -INF
        for m in self.moves:
            m.lo, m.hi = INF, -INF
        self._thresholds()
        self._settle()


def _ordered(ts: Sequence[int]) -> bool:
    """Each time at or after the one before (in C: no Python step per element)."""
    return all(map(operator.le, ts, ts[1:]))


def _through(word: str, what: str, level: float, price: float) -> str:
    where = f"{what} at {number(level)}" if what else number(level)
    return f"{word} through {where} at {number(price)}"
