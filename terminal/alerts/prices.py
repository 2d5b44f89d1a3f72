"""One market's price alerts, evaluated on each price in O(log n), whatever their number.

The feed brings thousands of prices a second, most of them moving nothing, so a price
costs a few comparisons:

- **Levels and lines** share one sorted list of levels: a move from the previous price
  finds every level it crossed by bisection. A line's level moves with time; it is
  placed again once a second (a trend line moves by a hair in a second), and a line that
  moved across a price standing still counts as a crossing then.
- **Moves** ("3 % within 15 minutes") keep running minima and maxima (monotonic queues)
  over the longest window; each alert's low and high come from them once a second, and
  in between a price is checked against the lowest "up" and the highest "down" threshold
  of all the market's move alerts, and only a new extreme or a threshold reached looks
  at the alerts one by one.

Qt-free; the engine (``engine.py``) fires what ``on_price`` reports.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from terminal.alerts.rules import Alert, Direction, LineCross, Move, PriceCross
from terminal.alerts.words import number

INF = math.inf

#: (alert, the price that fired it, what happened, the price's time)
Hit = tuple[Alert, float, str, int]


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
        "_down_max",
        "_fixed",
        "_hi_min",
        "_lo_max",
        "_maxs",
        "_mins",
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
        self._fixed: list[_Entry] = []  # the price alerts' entries
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

    # -- building ------------------------------------------------------------------------
    def add(self, alert: Alert) -> None:
        c = alert.condition
        if isinstance(c, PriceCross):
            self._fixed.append(_Entry(c.level, alert, c.direction))
        elif isinstance(c, LineCross):
            self.lines.append(_Line(alert, c, _Entry(c.p1, alert, c.direction, c)))
        elif isinstance(c, Move):
            up, down = c.direction is not Direction.DOWN, c.direction is not Direction.UP
            self.moves.append(_Move(alert, c.percent / 100, c.minutes * 60, up, down))

    def finish(self, before: MarketPrices | None) -> None:
        """After ``add``: index what was added; ``before`` (the same market before an edit)
        gives the price and the recent path, so an edit does not lose them."""
        if before is not None:
            self.price, self.ts, self.second = before.price, before.ts, before.second
            self._mins, self._maxs = before._mins, before._maxs
            moved = {m.alert.id: m for m in before.moves}
            for m in self.moves:  # an alert unchanged keeps where its window starts
                old = moved.get(m.alert.id)
                if old is not None and old.alert == m.alert:
                    m.since_s = old.since_s
        self.window_s = max((m.window_s for m in self.moves), default=0)
        if not self.moves:
            self._mins.clear()
            self._maxs.clear()
        if self.second >= 0:
            self._place_lines(self.second * 1000, fire=None)
            self._measure_moves(self.second)
        else:
            self._reindex()
        if self.price is not None:
            self._take_sides(self.price)

    def _reindex(self) -> None:
        entries = list(self._fixed) + [ln.entry for ln in self.lines if ln.placed]
        entries.sort(key=lambda e: e.level)
        self.entries = entries
        self.levels = [e.level for e in entries]

    def _take_sides(self, price: float) -> None:
        """Where ``price`` stands against every level not yet placed on a side (a reference)."""
        for entry in self.entries:
            if entry.side == 0:
                entry.side = _side(price, entry.level)

    # -- a price -----------------------------------------------------------------------
    def on_price(self, price: float, ts: int) -> list[Hit] | None:
        """``price`` at ``ts``: the alerts it fires (None: none). Garbage (not a positive
        finite number) and prices older than the last one are dropped."""
        if not 0 < price < INF or ts < self.ts:
            return None
        second = ts // 1000
        if price == self.price and second == self.second:
            self.ts = ts  # the same price again (tickers repeat): nothing can have happened
            return None
        # lines placed for this second first, against the price before this one (a line that
        # moved across it crossed it; a price that moves across a line is seen below)
        hits = self._new_second(second, ts) if second != self.second else None
        prev, self.price, self.ts = self.price, price, ts
        if self.moves:
            mins, maxs = self._mins.values, self._maxs.values
            # most prices change neither queue's tail (inlined: this runs thousands of times a second)
            # and a second's later prices that are no new extreme are never asked for
            if len(mins) <= self._mins.head or mins[-1] >= price:
                self._mins.push(second, price)
            elif self._mins.times[-1] != second:
                self._mins.times.append(second)
                mins.append(price)
            if len(maxs) <= self._maxs.head or maxs[-1] <= price:
                self._maxs.push(second, price)
            elif self._maxs.times[-1] != second:
                self._maxs.times.append(second)
                maxs.append(price)
        if prev is None:  # the first price after a start or a gap: a reference, not a crossing
            self._take_sides(price)
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
        return hits

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
        self.second = second
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
        moves = self.moves
        self._up_min = min((m.lo * (1 + m.percent) for m in moves if m.up), default=INF)
        self._down_max = max((m.hi * (1 - m.percent) for m in moves if m.down), default=-INF)
        # a price below the highest low (above the lowest high) is a new extreme of some alert
        self._lo_max = max((m.lo for m in moves), default=-INF)
        self._hi_min = min((m.hi for m in moves), default=INF)

    def _moved(self, price: float, second: int, ts: int, hits: list[Hit] | None) -> list[Hit] | None:
        for m in self.moves:
            m.lo = min(m.lo, price)
            m.hi = max(m.hi, price)
            up = m.up and price >= m.lo * (1 + m.percent)
            down = m.down and price <= m.hi * (1 - m.percent)
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
        for m in self.moves:
            m.lo, m.hi = INF, -INF
        self._thresholds()


def _through(word: str, what: str, level: float, price: float) -> str:
    where = f"{what} at {number(level)}" if what else number(level)
    return f"{word} through {where} at {number(price)}"
