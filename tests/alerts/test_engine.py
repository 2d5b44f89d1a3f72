"""The alerts engine on prices, lines, moves, candles, orders, PnL, feeds and jobs.

Driven with an exact clock: what fires, how often, and what never fires (bad data,
a gap in the feed, a stale series).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from terminal.alerts.engine import AlertEngine
from terminal.alerts.expressions import ExpressionError, parse
from terminal.alerts.rules import (
    Alert,
    Direction,
    FeedDown,
    Firing,
    IndicatorCondition,
    JobDone,
    LineCross,
    Move,
    OrderEvent,
    PnlBeyond,
    PriceCross,
    Trigger,
    VolumeSpike,
)
from terminal.analysis.catalogue import spec_for
from terminal.marketdata.candles import CandleSeries

MIN = 60_000
EX, SYM = "simulated", "BTC/USDT"


class Clock:
    def __init__(self, t: int = 1_700_000_000_000) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fired() -> list[Firing]:
    return []


@pytest.fixture
def engine(clock: Clock, fired: list[Firing]) -> AlertEngine:
    return AlertEngine(lambda alert, firing: fired.append(firing), clock=clock)


def price_alert(level: float, **kw: object) -> Alert:
    direction = kw.pop("direction", Direction.EITHER)
    return Alert(exchange=EX, symbol=SYM, condition=PriceCross(level=level, direction=direction), **kw)  # type: ignore[arg-type]


def feed(engine: AlertEngine, clock: Clock, *prices: float) -> None:
    for p in prices:
        clock.t += 100
        engine.price(EX, SYM, p, clock.t)


def test_a_price_alert_fires_once_per_crossing_and_every_time_when_asked(engine, clock, fired):
    every = price_alert(100.0, trigger=Trigger.EVERY)
    engine.load([every])
    feed(engine, clock, 99, 99.5, 100.5, 101, 100.2)  # up through 100 once
    assert len(fired) == 1 and fired[0].value == 100.5
    assert "up through 100 at 100.5" in fired[0].title
    feed(engine, clock, 99.9, 99, 101)  # down through, then up through again
    assert [f.value for f in fired] == [100.5, 99.9, 101]


def test_once_disables_the_alert_and_up_only_ignores_a_fall(engine, clock, fired):
    changed: list[Alert] = []
    engine._on_change = changed.append
    once = price_alert(100.0, direction=Direction.UP)
    engine.load([once])
    feed(engine, clock, 101, 99)  # the first price only sets the reference; the fall is not "up"
    assert fired == []
    feed(engine, clock, 100, 102, 98, 103)  # reaching 100 is no crossing: passing it is
    assert len(fired) == 1 and fired[0].value == 102
    assert engine.alerts[once.id].enabled is False and changed[-1].id == once.id


def test_a_price_that_touches_a_level_and_turns_back_crosses_nothing(engine, clock, fired):
    engine.load([price_alert(100.0, trigger=Trigger.EVERY)])
    feed(engine, clock, 100.5, 100.0, 100.5, 100.0, 100.4, 100.0)  # support holds at 100
    assert fired == []
    feed(engine, clock, 99.5, 100.0, 99.8, 100.2)  # through it, then back through it
    assert [f.title.split(":")[1].split(" through")[0].strip() for f in fired] == ["down", "up"]


def test_a_jump_crosses_every_level_between_and_each_fires_once(engine, clock, fired):
    alerts = [price_alert(float(level)) for level in range(101, 111)]
    engine.load([*alerts, price_alert(200.0), price_alert(50.0)])
    feed(engine, clock, 100, 110.5)
    assert sorted(f.value for f in fired) == [110.5] * 10
    assert {f.alert_id for f in fired} == {a.id for a in alerts}


def test_bad_prices_never_fire_and_never_move_the_reference(engine, clock, fired):
    engine.load([price_alert(100.0, trigger=Trigger.EVERY)])
    feed(engine, clock, 99, math.nan, 0.0, -5.0, math.inf)
    engine.price(EX, SYM, 150.0, clock.t - 10_000)  # older than what was seen
    assert fired == []
    feed(engine, clock, 99.5)
    assert fired == []  # still below: the garbage did not become the reference


def test_a_gap_in_the_feed_re_bases_instead_of_firing(engine, clock, fired):
    engine.load([price_alert(100.0, trigger=Trigger.EVERY)])
    feed(engine, clock, 95)
    engine.gap(EX, SYM)  # reconnect: the price moved meanwhile
    feed(engine, clock, 105, 105)  # the first price after the gap is a reference, not a crossing
    assert fired == []
    feed(engine, clock, 99)  # a real crossing after it
    assert len(fired) == 1


def test_a_trend_line_is_crossed_where_it_is_at_that_moment(engine, clock, fired):
    t0 = clock.t
    line = LineCross(shape="ray", t1_ms=t0, p1=100.0, t2_ms=t0 + 10_000, p2=110.0)  # rises 1 a second
    engine.load([Alert(exchange=EX, symbol=SYM, condition=line, trigger=Trigger.EVERY)])
    clock.t = t0 + 5_000
    engine.price(EX, SYM, 104.0, clock.t)  # line at 105: below
    clock.t = t0 + 6_000
    engine.price(EX, SYM, 105.5, clock.t)  # line at 106: still below, though above 105
    assert fired == []
    clock.t = t0 + 7_000
    engine.price(EX, SYM, 107.5, clock.t)  # line at 107: crossed up
    assert len(fired) == 1 and "the line at 107" in fired[0].title


def test_a_move_fires_when_the_price_moved_enough_within_the_window(engine, clock, fired):
    engine.load([Alert(exchange=EX, symbol=SYM, condition=Move(percent=2, minutes=1), trigger=Trigger.EVERY)])
    for p in (100, 100.5, 101, 101.9):
        clock.t += 10_000
        engine.price(EX, SYM, p, clock.t)
    assert fired == []
    clock.t += 10_000
    engine.price(EX, SYM, 102.1, clock.t)
    assert len(fired) == 1 and "+2.10%" in fired[0].title
    clock.t += 10_000
    engine.price(EX, SYM, 102.2, clock.t)  # the window restarts at the firing
    assert len(fired) == 1
    clock.t += 120_000  # the old low leaves the window: a slow rise is no move
    for p in (103, 103.5, 104):
        clock.t += 30_000
        engine.price(EX, SYM, p, clock.t)
    assert len(fired) == 1


def series_of(closes: list[float], clock: Clock, volumes: list[float] | None = None) -> CandleSeries:
    s = CandleSeries(MIN)
    start = clock.t - clock.t % MIN - (len(closes) - 1) * MIN
    for i, c in enumerate(closes):
        v = volumes[i] if volumes else 10.0
        s.upsert(start + i * MIN, c, c + 0.5, c - 0.5, c, v)
    return s


def test_an_rsi_alert_fires_when_rsi_rises_above_70_and_not_again_while_it_stays(engine, clock, fired):
    engine.load([Alert(exchange=EX, symbol=SYM, condition=IndicatorCondition(expression="RSI 14 > 70"),
                       trigger=Trigger.EVERY)])  # fmt: skip
    closes = [100 + math.sin(i / 3) for i in range(60)]
    series = series_of(closes, clock)
    engine.candles(EX, SYM, "1m", series)
    assert fired == []  # oscillating: RSI near 50
    t = int(series.ts[-1])
    for k in range(1, 12):  # a steady rise, one bar a minute
        clock.t = t + k * MIN + 1
        series.upsert(t + k * MIN, 101 + k, 101.5 + k, 100.5 + k, 101 + k, 10)
        engine.candles(EX, SYM, "1m", series)
    rsi = spec_for("RSI").compute(series.snapshot(), {"period": 14})[0]
    assert rsi[-1] > 70
    assert len(fired) == 1  # once when it rose above, not on every bar it stayed there
    assert fired[0].value is not None and fired[0].value > 70


def test_an_ema_crossing_and_a_band_break_fire_and_a_stale_series_never_does(engine, clock, fired):
    cross = Alert(
        exchange=EX, symbol=SYM, condition=IndicatorCondition(expression="EMA 3 crosses above EMA 10")
    )
    band = Alert(exchange=EX, symbol=SYM, condition=IndicatorCondition(expression="close outside BB 20 2"))
    engine.load([cross, band])
    closes = [100.0 - i * 0.1 for i in range(40)]
    series = series_of(closes, clock)
    engine.candles(EX, SYM, "1m", series)
    assert fired == []
    stale = series_of([*closes[:-1], 130.0], clock)
    engine.candles(EX, SYM, "1m", stale, now_ms=clock.t + 5 * MIN)  # the live bar is 5 bars old
    assert fired == []
    engine.candles(EX, SYM, "1m", stale)  # the same jump, live
    assert {f.alert_id for f in fired} == {cross.id, band.id}


def test_a_volume_spike_fires_once_in_its_bar(engine, clock, fired):
    engine.load(
        [Alert(exchange=EX, symbol=SYM, condition=VolumeSpike(factor=3, bars=10), trigger=Trigger.EVERY)]
    )
    vols = [10.0] * 30
    series = series_of([100.0] * 30, clock, vols)
    engine.candles(EX, SYM, "1m", series)
    assert fired == []
    last = int(series.ts[-1])
    series.upsert(last, 100, 100.5, 99.5, 100, 31)
    engine.candles(EX, SYM, "1m", series)
    series.upsert(last, 100, 100.5, 99.5, 100, 60)
    engine.candles(EX, SYM, "1m", series)
    assert len(fired) == 1 and fired[0].value == 31


def test_once_per_bar_and_expiry(engine, clock, fired):
    per_bar = price_alert(100.0, trigger=Trigger.ONCE_PER_BAR)
    expiring = price_alert(90.0, trigger=Trigger.EVERY, expires_ms=clock.t + 1_000)
    engine.load([per_bar, expiring])
    clock.t -= clock.t % MIN  # the start of a bar
    feed(engine, clock, 99, 101, 99, 101)
    assert [f.alert_id for f in fired] == [per_bar.id]
    clock.t += MIN
    feed(engine, clock, 99, 101)
    assert [f.alert_id for f in fired] == [per_bar.id, per_bar.id]
    feed(engine, clock, 89)  # the 90 alert has expired by now
    engine.tick()
    assert expiring.id not in {f.alert_id for f in fired}
    assert engine.alerts[expiring.id].enabled is False


def test_a_once_per_bar_alert_that_fired_before_a_restart_waits_for_the_next_bar(clock, fired):
    per_bar = price_alert(100.0, trigger=Trigger.ONCE_PER_BAR)
    clock.t -= clock.t % MIN  # the start of a bar
    before = AlertEngine(lambda alert, firing: fired.append(firing), clock=clock)
    before.load([per_bar])
    feed(before, clock, 99, 101)
    assert len(fired) == 1

    # the terminal restarts within the same bar: the alert and when it fired come back
    after = AlertEngine(lambda alert, firing: fired.append(firing), clock=clock)
    after.load([per_bar], dict(before.last_fired))
    feed(after, clock, 99, 101, 99, 101)
    assert len(fired) == 1, "fired again in the bar it had fired in"
    clock.t += MIN
    feed(after, clock, 99, 101)
    assert len(fired) == 2


def test_orders_pnl_feeds_and_jobs(engine, clock, fired):
    order = Alert(exchange=EX, condition=OrderEvent(outcomes=("filled",)), trigger=Trigger.EVERY)
    pnl = Alert(exchange=EX, symbol=SYM, condition=PnlBeyond(below=-50), trigger=Trigger.EVERY)
    down = Alert(exchange=EX, condition=FeedDown(seconds=30), trigger=Trigger.EVERY)
    job = Alert(condition=JobDone(jobs=("download",)))
    engine.load([order, pnl, down, job])
    engine.order(EX, SYM, "cancelled", "order 1 cancelled")
    engine.order(EX, SYM, "filled", "bought 0.1 BTC at 100")
    engine.pnl(EX, SYM, -20)
    engine.pnl(EX, SYM, -60)
    engine.pnl(EX, SYM, -70)  # still beyond: no second firing
    engine.feed(EX, False)
    clock.t += 29_000
    engine.tick()
    clock.t += 2_000
    engine.tick()
    engine.tick()
    engine.job("research", "a sweep finished")
    engine.job("download", "BTC/USDT 1m downloaded")
    assert [f.alert_id for f in fired] == [order.id, pnl.id, down.id, job.id]
    engine.feed(EX, True)
    engine.feed(EX, False)
    clock.t += 31_000
    engine.tick()
    assert [f.alert_id for f in fired][-1] == down.id and len(fired) == 5  # a new outage fires again


def test_an_edit_keeps_the_price_reference(engine, clock, fired):
    alert = price_alert(100.0, trigger=Trigger.EVERY)
    engine.load([alert])
    feed(engine, clock, 99)
    engine.put(alert.model_copy(update={"note": "breakout"}))
    feed(engine, clock, 101)
    assert len(fired) == 1 and "breakout" in fired[0].message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSI 14 70", "Write a condition like"),
        ("FOO 3 > 2", "no indicator called 'FOO'"),
        ("RSI 0 > 70", "Period must be between 1 and 5000, not 0"),
        ("close outside RSI 14", "inside and outside need a band"),
        ("MACD 12 26 9 sigma > 0", "MACD has no line 'sigma'"),
        ("1 > 2", "not two numbers"),
    ],
)
def test_a_wrong_condition_says_what_is_wrong(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse(text)


def test_conditions_read_as_written():
    assert str(parse("ema 9 crosses above EMA 21")) == "EMA 9 crosses above EMA 21"
    assert str(parse("MACD 12 26 9 signal below 0")) == "MACD 12 26 9 signal < 0"
    assert str(parse("price outside bb 20 2.5")) == "price outside BB 20 2.5"


def test_an_alert_refuses_wrong_values_with_words():
    with pytest.raises(ValidationError, match="The price level must be a positive number"):
        Alert(exchange=EX, symbol=SYM, condition=PriceCross(level=0))
    with pytest.raises(ValidationError, match="needs a symbol"):
        Alert(exchange=EX, condition=PriceCross(level=1))
    alert = Alert(
        exchange=EX, symbol=SYM, condition=IndicatorCondition(expression="RSI 14 > 70", timeframe="5m")
    )
    assert Alert.from_json(alert.to_json()) == alert


def test_many_alerts_on_many_symbols_cost_little_per_price(engine, clock, fired):
    rng = np.random.default_rng(1)
    alerts = [
        Alert(exchange=EX, symbol=f"S{i % 20}/USDT", condition=PriceCross(level=float(rng.uniform(90, 110))))
        for i in range(1000)
    ]
    engine.load(alerts)
    for _ in range(2000):
        clock.t += 1
        engine.price(EX, f"S{int(rng.integers(20))}/USDT", float(rng.uniform(99.9, 100.1)), clock.t)
    # every alert whose level the walk crossed fired exactly once (ONCE), none twice
    ids = [f.alert_id for f in fired]
    assert len(ids) == len(set(ids)) and ids


def test_a_rising_line_that_moves_through_a_still_price_crosses_it_once(engine, clock, fired):
    t0 = clock.t - clock.t % 1000
    line = LineCross(shape="ray", t1_ms=t0, p1=99.0, t2_ms=t0 + 10_000, p2=101.0)  # 0.2 a second
    engine.load([Alert(exchange=EX, symbol=SYM, condition=line, trigger=Trigger.EVERY)])
    for k in range(12):  # the price stands at 100.3; the line rises through it at t0 + 6.5 s
        engine.price(EX, SYM, 100.3, t0 + k * 1000 + 1)
    assert len(fired) == 1 and "down through the line" in fired[0].title
    # a price that jumps across the line as the line moves the other way: one crossing, not two
    engine.price(EX, SYM, 101.9, t0 + 12_000 + 1)  # line at 101.4: up through it
    assert len(fired) == 2 and "up through the line" in fired[1].title


def test_an_edit_elsewhere_or_a_break_in_the_candles_does_not_fire_an_indicator_alert_again(
    engine, clock, fired
):
    condition = IndicatorCondition(expression="EMA 3 crosses above EMA 10")
    cross = Alert(exchange=EX, symbol=SYM, condition=condition, trigger=Trigger.EVERY)
    engine.load([cross])
    closes = [100.0 - i * 0.1 for i in range(40)]
    series = series_of([*closes[:-1], 130.0], clock)
    engine.candles(EX, SYM, "1m", series)
    assert len(fired) == 1
    engine.put(price_alert(500.0))  # another alert added: every index is rebuilt
    engine.candles(EX, SYM, "1m", series)
    engine.gap(EX, SYM)  # the candles' stream broke and came back
    engine.candles(EX, SYM, "1m", series)
    engine.candles(EX, SYM, "1m", series)
    assert len(fired) == 1


def test_an_order_heard_from_two_windows_fires_once(engine, clock, fired):
    engine.load([Alert(exchange=EX, condition=OrderEvent(outcomes=("filled",)), trigger=Trigger.EVERY)])
    for _window in range(2):
        engine.order(EX, SYM, "filled", "bought 0.1 BTC", order_id="c-1")
    engine.order(EX, SYM, "filled", "bought 0.2 BTC", order_id="c-2")
    assert [f.title for f in fired] == ["simulated: bought 0.1 BTC", "simulated: bought 0.2 BTC"]


def test_a_spike_that_is_a_new_low_for_one_move_alert_only_is_seen(engine, clock, fired):
    t0 = clock.t - clock.t % 1000
    short = Alert(exchange=EX, symbol=SYM, condition=Move(percent=2, minutes=1, direction=Direction.UP),
                  trigger=Trigger.EVERY)  # fmt: skip
    long = Alert(exchange=EX, symbol=SYM, condition=Move(percent=50, minutes=10), trigger=Trigger.EVERY)
    engine.load([short, long])
    engine.price(EX, SYM, 90.0, t0)  # the long window's low
    engine.price(EX, SYM, 100.0, t0 + 120_000)  # two minutes on: the short window's low is 100
    engine.price(EX, SYM, 100.0, t0 + 121_000)
    engine.price(EX, SYM, 99.0, t0 + 121_300)  # a new low for the short window only
    engine.price(EX, SYM, 101.2, t0 + 121_600)  # +2.2 % from it, within the same second
    assert [f.alert_id for f in fired] == [short.id]
