"""A market's queued prices, evaluated together, fire exactly what they would one at a time.

The feed hands the engine each symbol's queued prices in one call (``AlertEngine.prices``)
and most prices take a shortcut (the calm interval of ``prices.py``). Neither may change
what the user sees: on any walk across any levels, lines and moves, through bad, late
and repeated prices, gaps, edits and once-only alerts, the same alerts fire with the same
values and texts, in the same order per symbol, as price by price with no shortcut; and
the price alerts fire as a plain reference says (a crossing is a change of side).
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.alerts.engine import AlertEngine
from terminal.alerts.feed import AlertFeed
from terminal.alerts.prices import BATCH_MIN, MarketPrices
from terminal.alerts.rules import Alert, Direction, Firing, LineCross, Move, PriceCross, Trigger
from terminal.market.session import MarketSession
from tests.alerts.market_path import market
from tests.conftest import ManualClock, run, wait_until

EX = "simulated"
SYMBOLS = ("BTC/USDT", "ETH/USDT")
T0 = 1_700_000_000_000
TICK = 0.25  # the levels' grid
FINE = 0.05  # the prices' grid: prices land on levels now and then
BAD = (math.nan, math.inf, 0.0, -1.0)
SHAPES: tuple[Literal["trend", "ray", "hline"], ...] = ("trend", "ray", "hline")


# -- scenarios ------------------------------------------------------------------------------
@st.composite
def alerts_on(draw: st.DrawFn, symbol: str) -> list[Alert]:
    """Price levels, lines and moves on ``symbol``, around 100."""
    trigger = st.sampled_from([Trigger.EVERY, Trigger.EVERY, Trigger.ONCE, Trigger.ONCE_PER_BAR])
    direction = st.sampled_from(list(Direction))
    grid = st.integers(380, 420).map(lambda k: k * TICK)
    out: list[Alert] = []
    for level in draw(st.lists(grid, max_size=8)):
        condition = PriceCross(level=level, direction=draw(direction))
        out.append(Alert(exchange=EX, symbol=symbol, condition=condition, trigger=draw(trigger)))
    for _ in range(draw(st.integers(0, 2))):
        shape = draw(st.sampled_from(SHAPES))
        p1, p2 = draw(grid), draw(grid)
        t1 = T0 - draw(st.integers(0, 60_000))
        t2 = T0 + draw(st.integers(1_000, 120_000))
        line = (
            LineCross(shape="hline", p1=p1, direction=draw(direction))
            if shape == "hline"
            else LineCross(shape=shape, t1_ms=t1, p1=p1, t2_ms=t2, p2=p2, direction=draw(direction))
        )
        out.append(Alert(exchange=EX, symbol=symbol, condition=line, trigger=draw(trigger)))
    for _ in range(draw(st.integers(0, 3))):
        move = Move(
            percent=draw(st.sampled_from([0.25, 0.5, 1.0, 3.0])),
            minutes=draw(st.sampled_from([1, 2])),
            direction=draw(direction),
        )
        out.append(Alert(exchange=EX, symbol=symbol, condition=move, trigger=draw(trigger)))
    return out


@dataclass(frozen=True)
class Price:
    symbol: str
    price: float
    ts: int


@dataclass(frozen=True)
class Break:
    """The feed's queue is evaluated here; ``gap``: then the symbol's stream broke;
    ``tick``: then the engine's once-a-second tick ran; ``edit``: then that alert was saved."""

    gap: str = ""
    tick: bool = False
    edit: Alert | None = None


Event = Price | Break
# what a scenario is made of, this often: runs of prices, evaluations of the queue, the rest
KINDS = ("walk",) * 8 + ("band",) * 6 + ("flush",) * 5 + ("gap", "tick", "edit", "bad", "late")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Alert], list[Event]]:
    alerts = [*draw(alerts_on(SYMBOLS[0])), *draw(alerts_on(SYMBOLS[1]))]
    # quiet walks (most prices calm, long calm runs) and wild ones, on a grid finer than the
    # levels'; steps in ms mostly within a second, as at thousands of prices a second, now
    # and then into a new second or minute
    step = draw(st.sampled_from([1, 3, 20]))
    gaps_ms = draw(st.sampled_from([(0, 1, 3, 10, 40), (0, 5, 50, 300, 999, 1_000, 61_000)]))
    ticks = dict.fromkeys(SYMBOLS, 2_000)  # 100 in FINE
    t = T0
    events: list[Event] = [*(Price(s, 100.0, t) for s in SYMBOLS), Break()]  # the references
    for kind in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=40)):
        symbol = SYMBOLS[draw(st.integers(0, 1))]
        if kind == "gap":
            events.append(Break(gap=symbol))
        elif kind == "tick":
            events.append(Break(tick=True))
        elif kind == "edit" and alerts:
            alert = draw(st.sampled_from(alerts))
            events.append(Break(edit=alert.model_copy(update={"note": "edited"})))
        elif kind == "flush":
            events.append(Break())
        elif kind == "bad":
            t += draw(st.sampled_from(gaps_ms))
            events.append(Price(symbol, draw(st.sampled_from(BAD)), t))
        elif kind == "late":
            events.append(Price(symbol, ticks[symbol] * FINE, t - draw(st.integers(1, 3_000))))
        elif kind == "band":  # back and forth around where it is: mostly calm, taken at once
            for move in draw(st.lists(st.integers(-1, 1), min_size=BATCH_MIN, max_size=BATCH_MIN + 8)):
                t += draw(st.sampled_from(gaps_ms[:3]))
                events.append(Price(symbol, (ticks[symbol] + move) * FINE, t))
        else:  # a walk
            for move in draw(st.lists(st.integers(-step, step), min_size=1, max_size=12)):
                t += draw(st.sampled_from(gaps_ms))
                ticks[symbol] = max(1, ticks[symbol] + move)
                events.append(Price(symbol, ticks[symbol] * FINE, t))
    return alerts, events


def long_scenario(seed: int) -> tuple[list[Alert], list[Event]]:
    """Minutes of market, drawn from ``seed``: what the short scenarios above rarely reach
    (move windows that roll on, lines that move through where the price hovers, long
    calm runs across second boundaries, late prices inside runs). The feed's queue is
    evaluated now and then, at a rate drawn too: runs of one price to runs of dozens."""
    rng = random.Random(seed)
    directions, shapes = list(Direction), SHAPES
    triggers = [Trigger.EVERY] * 4 + [Trigger.ONCE, Trigger.ONCE_PER_BAR]
    alerts: list[Alert] = []
    span = rng.choice([30_000, 150_000, 400_000])
    for symbol in SYMBOLS:
        for _ in range(rng.randrange(0, 10)):
            level = round(100 * (1 + rng.uniform(-0.01, 0.01)), 2)
            condition = PriceCross(level=level, direction=rng.choice(directions))
            alerts.append(
                Alert(exchange=EX, symbol=symbol, condition=condition, trigger=rng.choice(triggers))
            )
        for _ in range(rng.randrange(0, 4)):
            shape = rng.choice(shapes)
            p1, p2 = (round(100 * (1 + rng.uniform(-0.008, 0.008)), 2) for _ in range(2))
            line = (
                LineCross(shape="hline", p1=p1, direction=rng.choice(directions))
                if shape == "hline"
                else LineCross(
                    shape=shape, t1_ms=T0, p1=p1, t2_ms=T0 + span, p2=p2, direction=rng.choice(directions)
                )
            )
            alerts.append(Alert(exchange=EX, symbol=symbol, condition=line, trigger=rng.choice(triggers)))
        for _ in range(rng.randrange(0, 5)):
            move = Move(percent=rng.choice([0.05, 0.1, 0.2, 0.5]), minutes=rng.choice([1, 2]),
                        direction=rng.choice(directions))  # fmt: skip
            alerts.append(Alert(exchange=EX, symbol=symbol, condition=move, trigger=rng.choice(triggers)))
    n = rng.randrange(300, 2_000)
    mean_dt = span / n
    sigma = rng.choice([5e-5, 2e-4, 1e-3])
    flush_every = rng.choice([0.02, 0.1, 0.5, 1.0])
    price = dict.fromkeys(SYMBOLS, 100.0)
    t = T0
    events: list[Event] = []
    for _ in range(n):
        symbol = rng.choice(SYMBOLS)
        r = rng.random()
        t += int(rng.expovariate(1 / mean_dt)) if rng.random() > 0.01 else rng.randrange(5_000, 70_000)
        if r < 0.003:
            events.append(Break(gap=symbol))
        elif r < 0.008:
            events.append(Break(tick=True))
        elif r < 0.011 and alerts:
            events.append(Break(edit=rng.choice(alerts).model_copy(update={"note": "edited"})))
        elif r < 0.02:
            events.append(Price(symbol, rng.choice(BAD), t))
        elif r < 0.03:
            events.append(Price(symbol, round(price[symbol], 2), t - rng.randrange(1, 3_000)))
        else:
            if r < 0.7:  # a walk; otherwise back and forth around where it is
                price[symbol] *= math.exp(rng.gauss(0, sigma))
            events.append(Price(symbol, round(price[symbol] * (1 + rng.gauss(0, sigma / 4)), 2), t))
        if rng.random() < flush_every:
            events.append(Break())
    return alerts, events


# -- three ways through a scenario ----------------------------------------------------------
Seen = tuple[str, str, float | None, str, str]  # symbol, alert id, value, title, message


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> int:
        return self.t


def one_by_one(alerts: list[Alert], events: list[Event]) -> list[Seen]:
    """Each price to ``engine.price`` as it comes."""
    fired: list[Seen] = []
    clock = Clock()
    engine = AlertEngine(lambda alert, f: fired.append(_seen(f)), clock=clock)
    engine.load(alerts)
    for event in events:
        if isinstance(event, Price):
            clock.t = max(clock.t, event.ts)
            engine.price(EX, event.symbol, event.price, event.ts)
        else:
            _break(engine, event)
    return fired


def batched(alerts: list[Alert], events: list[Event]) -> list[Seen]:
    """As the feed does: each symbol's prices queued, then handed over at once."""
    fired: list[Seen] = []
    clock = Clock()
    engine = AlertEngine(lambda alert, f: fired.append(_seen(f)), clock=clock)
    engine.load(alerts)
    queued: dict[str, tuple[list[float], list[int]]] = {}
    for event in [*events, Break()]:
        if isinstance(event, Price):
            clock.t = max(clock.t, event.ts)
            prices, times = queued.setdefault(event.symbol, ([], []))
            prices.append(event.price)
            times.append(event.ts)
            continue
        engine.price_runs(EX, queued)
        queued.clear()
        _break(engine, event)
    return fired


@contextmanager
def no_shortcut() -> Iterator[None]:
    """Every price taken the long way: the calm interval always empty."""

    def empty(prices: MarketPrices) -> None:
        prices._calm_lo, prices._calm_hi = math.inf, -math.inf

    with mock.patch.object(MarketPrices, "_settle", empty):
        yield


def _break(engine: AlertEngine, event: Break) -> None:
    if event.gap:
        engine.gap(EX, event.gap)
    if event.tick:
        engine.tick()
    if event.edit is not None:
        engine.put(event.edit)


def _seen(f: Firing) -> Seen:
    # fired_ms is the engine's clock when the queue is evaluated: later for queued prices
    return (f.symbol, f.alert_id, f.value, f.title, f.message)


def per_symbol(fired: list[Seen], symbol: str) -> list[Seen]:
    return [f for f in fired if f[0] == symbol]


def crossings(alerts: list[Alert], events: list[Event]) -> list[tuple[str, float]]:
    """The reference for the levels of price alerts that fire every time: a crossing is a
    change of the side the price was last strictly on; the first good price after a start
    or a gap is a reference; bad and late prices are dropped; an edit starts the edited
    alert afresh from where the price stands."""
    fired: list[tuple[str, float]] = []
    watched = [a for a in alerts if isinstance(a.condition, PriceCross) and a.trigger is Trigger.EVERY]
    current = {a.id: a for a in watched}
    last: dict[str, float | None] = dict.fromkeys(SYMBOLS)
    last_ts = dict.fromkeys(SYMBOLS, 0)
    side: dict[str, int] = {}
    for event in events:
        if isinstance(event, Break):
            if event.gap:
                last[event.gap] = None
            edit = event.edit
            if edit is not None and edit.id in current and edit != current[edit.id]:
                current[edit.id] = edit
                where = last[edit.symbol]
                if where is not None and isinstance(edit.condition, PriceCross):
                    side[edit.id] = (where > edit.condition.level) - (where < edit.condition.level)
            continue
        p = event.price
        if not 0 < p < math.inf or event.ts < last_ts[event.symbol]:
            continue
        last_ts[event.symbol] = event.ts
        mine = sorted(
            (a for a in watched if a.symbol == event.symbol),
            key=lambda a: a.condition.level,  # type: ignore[union-attr]
        )
        for alert in mine:
            c = alert.condition
            assert isinstance(c, PriceCross)
            now = (p > c.level) - (p < c.level)
            before = side.get(alert.id, 0)
            if last[event.symbol] is None:  # a reference
                side[alert.id] = now
                continue
            if now == 0:
                continue
            side[alert.id] = now
            way = Direction.UP if now > 0 else Direction.DOWN
            if before == -now and c.direction in (way, Direction.EITHER):
                fired.append((alert.id, p))
        last[event.symbol] = p
    return fired


def check(alerts: list[Alert], events: list[Event]) -> None:
    one = one_by_one(alerts, events)
    queued = batched(alerts, events)
    with no_shortcut():
        long_way = one_by_one(alerts, events)
    assert one == long_way  # all of it, in the same order
    for symbol in SYMBOLS:
        assert per_symbol(queued, symbol) == per_symbol(one, symbol)
    every = {a.id for a in alerts if isinstance(a.condition, PriceCross) and a.trigger is Trigger.EVERY}
    assert [(f[1], f[2]) for f in one if f[1] in every] == crossings(alerts, events)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_queued_prices_fire_what_they_would_one_by_one_and_the_shortcut_changes_nothing(
    scenario: tuple[list[Alert], list[Event]],
) -> None:
    check(*scenario)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_over_minutes_of_market_too(seed: int) -> None:
    check(*long_scenario(seed))


# -- the cases a user would name ------------------------------------------------------------
def engine_with(*alerts: Alert) -> tuple[AlertEngine, list[Firing]]:
    fired: list[Firing] = []
    engine = AlertEngine(lambda alert, firing: fired.append(firing), clock=lambda: T0)
    engine.load(alerts)
    return engine, fired


def level(value: float, symbol: str = SYMBOLS[0], **kw: object) -> Alert:
    return Alert(exchange=EX, symbol=symbol, condition=PriceCross(level=value), trigger=Trigger.EVERY, **kw)  # type: ignore[arg-type]


def times(n: int, start: int = T0 + 100, step: int = 3) -> list[int]:
    return [start + k * step for k in range(n)]


def rising(start: float, end: float, n: int = BATCH_MIN + 2) -> list[float]:
    """A run long enough to be taken as a whole."""
    return [round(start + (end - start) * k / (n - 1), 6) for k in range(n)]


def test_a_long_queued_run_that_nears_a_level_fires_nothing_and_the_next_price_through_it_fires() -> None:
    engine, fired = engine_with(level(101.0))
    engine.price(EX, SYMBOLS[0], 100.0, T0)
    run_ = rising(100.1, 100.95)
    engine.prices(EX, SYMBOLS[0], run_, times(len(run_)))
    assert fired == []
    engine.prices(EX, SYMBOLS[0], [101.0, 100.98], times(2, T0 + 200))  # touches it, turns back
    assert fired == []
    engine.prices(EX, SYMBOLS[0], [101.2], [T0 + 300])
    assert [f.value for f in fired] == [101.2]
    assert "up through 101 at 101.2" in fired[0].title


def test_a_level_added_after_a_queued_run_starts_from_the_run_s_last_price() -> None:
    engine, fired = engine_with(level(102.0))
    engine.price(EX, SYMBOLS[0], 100.0, T0)
    run_ = rising(100.1, 100.9)
    engine.prices(EX, SYMBOLS[0], run_, times(len(run_)))
    engine.put(level(100.6))  # the price stands above it now
    engine.prices(EX, SYMBOLS[0], [100.4], [T0 + 200])
    assert [f.value for f in fired] == [100.4]
    assert "down through 100.6" in fired[0].title


def test_a_queued_run_through_a_level_and_back_fires_both_ways_in_order() -> None:
    engine, fired = engine_with(level(101.0))
    run_ = [100.0, 100.5, 101.5, 101.7, 100.4, 100.2]
    engine.prices(EX, SYMBOLS[0], run_, times(len(run_)))
    assert [f.value for f in fired] == [101.5, 100.4]
    assert [f.title.split(": ")[1].split(" ")[0] for f in fired] == ["up", "down"]


def test_a_jump_in_a_queued_run_crosses_every_level_between_once() -> None:
    levels = [level(100.0 + k) for k in range(1, 8)]
    engine, fired = engine_with(*levels)
    run_ = [100.2, 100.3, 100.25, 107.5, 107.6, 107.55]
    engine.prices(EX, SYMBOLS[0], run_, times(len(run_)))
    assert sorted(f.alert_id for f in fired) == sorted(a.id for a in levels)
    assert {f.value for f in fired} == {107.5}


def test_bad_and_late_prices_in_a_queued_run_are_dropped_and_never_become_the_reference() -> None:
    engine, fired = engine_with(level(100.0))
    engine.price(EX, SYMBOLS[0], 99.0, T0 + 100)
    run_ = [99.2, math.nan, 150.0, 0.0, -3.0, math.inf, 99.5]
    ts = [T0 + 101, T0 + 102, T0 + 50, T0 + 103, T0 + 104, T0 + 105, T0 + 106]  # 150 is older
    engine.prices(EX, SYMBOLS[0], run_, ts)
    assert fired == []
    engine.prices(EX, SYMBOLS[0], [99.8, 100.4], [T0 + 107, T0 + 108])
    assert [f.value for f in fired] == [100.4]


def test_a_long_queued_run_ending_in_garbage_or_a_late_price_keeps_the_good_price_before_it() -> None:
    upper = level(101.0)
    engine, fired = engine_with(upper, level(100.0))
    engine.price(EX, SYMBOLS[0], 100.2, T0 + 100)
    # long enough to be taken as a whole, but for a NaN at its end (min and max pass over a
    # NaN there): the NaN is dropped and 100.6 stays the price the alerts stand against
    run_ = [*rising(100.3, 100.6), math.nan]
    engine.prices(EX, SYMBOLS[0], run_, times(len(run_), T0 + 200))
    engine.put(upper.model_copy(update={"note": "edited"}))  # starts afresh where the price is
    engine.prices(EX, SYMBOLS[0], [101.3], [T0 + 300])
    assert [f.value for f in fired] == [101.3]
    # a late print at the end of a long run (older than the price before it) is dropped, and
    # so is a price older than the last good one, though it seems to cross 101
    run_ = [*rising(101.2, 101.5), 101.4]
    ts = [*times(len(run_) - 1, T0 + 400, step=10), T0 + 350]
    engine.prices(EX, SYMBOLS[0], run_, ts)
    engine.prices(EX, SYMBOLS[0], [100.8], [T0 + 360])
    assert [f.value for f in fired] == [101.3]
    engine.prices(EX, SYMBOLS[0], [100.8], [T0 + 600])
    assert [f.value for f in fired] == [101.3, 100.8]


def test_a_move_is_seen_within_a_queued_run() -> None:
    up = Alert(exchange=EX, symbol=SYMBOLS[0], condition=Move(percent=1, minutes=1, direction=Direction.UP),
               trigger=Trigger.EVERY)  # fmt: skip
    engine, fired = engine_with(up)
    engine.price(EX, SYMBOLS[0], 100.0, T0)
    calm = [100.1, 100.2, 100.1, 100.3, 100.2] * 4
    engine.prices(EX, SYMBOLS[0], calm, times(len(calm), T0 + 1_000))
    assert fired == []
    engine.prices(EX, SYMBOLS[0], [99.8, 99.9, 100.5, 100.81, 100.7], times(5, T0 + 1_100))
    assert [f.value for f in fired] == [100.81]  # +1.01 % from the low of 99.8
    assert "+1.01% within 1 min" in fired[0].title


# -- the feed ------------------------------------------------------------------------------
def test_the_feed_hands_each_symbol_its_prices_in_order_and_a_gap_after_what_came_before_it() -> None:
    a, b = SYMBOLS
    on_a, on_b = level(100.0, a), level(50.0, b)

    async def scenario() -> None:
        session = MarketSession(market(ManualClock()), [a])
        fired: list[Firing] = []
        engine = AlertEngine(lambda alert, firing: fired.append(firing), clock=lambda: T0)
        engine.load([on_a, on_b])
        at_gap: list[int] = []
        gap = engine.gap

        def gap_seen(exchange: str, symbol: str, **kinds: bool) -> None:
            at_gap.append(len(fired))
            gap(exchange, symbol, **kinds)

        engine.gap = gap_seen  # type: ignore[method-assign]
        feed = AlertFeed(engine, session, EX)
        hook = session.on_price
        assert hook is not None and session.on_gap is not None
        try:
            # what the session's watches hand over, interleaved as it comes
            for symbol, price, ts in [(a, 99.0, 1), (b, 51.0, 2), (a, 101.0, 3), (b, 49.0, 4)]:
                hook(symbol, price, T0 + ts)
            session.on_gap(a, "trades")  # a's stream broke: the next price of a is a reference
            for symbol, price, ts in [(a, 99.0, 5), (a, 99.5, 6), (b, 51.0, 7), (a, 100.5, 8)]:
                hook(symbol, price, T0 + ts)
            await wait_until(lambda: len(fired) == 4, "the queued prices to fire")
            await asyncio.sleep(0)
        finally:
            await feed.close()
            await session.close()
        assert at_gap[0] == 2  # both crossings before the break were evaluated before it
        assert [(f.symbol, f.value) for f in fired if f.symbol == a] == [(a, 101.0), (a, 100.5)]
        assert [(f.symbol, f.value) for f in fired if f.symbol == b] == [(b, 49.0), (b, 51.0)]

    run(scenario)


def test_a_price_exactly_on_a_queued_level_is_a_touch_not_a_crossing() -> None:
    engine, fired = engine_with(level(100.0))
    touches: Sequence[float] = [99.5, 100.0, 99.7, 100.0, 99.9, 100.0, 99.6]
    engine.prices(EX, SYMBOLS[0], touches, times(len(touches)))
    assert fired == []
