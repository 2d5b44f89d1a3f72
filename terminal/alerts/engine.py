"""Alerts evaluated on live data: which fire, exactly once per crossing, never on bad data.

The engine is fed by whoever holds the data (``feed.py`` for the market sessions, the
window for orders, positions and jobs) and calls ``on_fire`` for each alert that fires.
It keeps no clock of its own beyond ``clock`` (for expiry, "once per bar" and feeds
that stay down), so tests drive it exactly.

Cost: the feed may bring thousands of prices a second. A price is looked up by its
market in one dict; the levels of that market's price alerts are kept sorted, so a move
from the previous price finds the levels it crossed by bisection, whatever their number,
and a price that stays between the same two levels and within the moves' thresholds
costs two comparisons (``prices.py``). The feed hands over a market's queued prices at
once (``prices``): one look-up, and one check for all of them when none moved anything.
Lines, moves and indicator conditions are few per market and checked each in turn.

Bad data never fires: a price that is not a positive finite number is dropped; after a
``gap`` (a reconnect, a resync, a stale feed) the next price only sets the reference,
so a jump across a level while the feed was down does not read as a crossing; candles
whose live bar is older than two bars are stale and not evaluated.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from terminal.alerts.expressions import ExpressionError, SeriesIndicators, Watch, parse
from terminal.alerts.prices import MarketPrices
from terminal.alerts.rules import (
    Alert,
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
from terminal.alerts.words import condition_text, number, reading
from terminal.marketdata.candles import CandleSeries
from terminal.marketdata.timeframes import timeframe_ms

log = logging.getLogger(__name__)

Market = tuple[str, str]  # (exchange, symbol)
SeriesKey = tuple[str, str, str]  # (exchange, symbol, timeframe)
STALE_BARS = 2  # a live bar this many bars behind the clock is stale


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _MarketState:
    """One market's price alerts (``prices.py``) and its positions' PnL states."""

    prices: MarketPrices = field(default_factory=MarketPrices)
    pnl_state: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Condition:
    alert: Alert
    watch: Watch
    state: bool | None = None
    # after a break in the candles: the next evaluation only takes the state, it fires nothing
    rebase: bool = False


@dataclass
class _SeriesState:
    indicators: SeriesIndicators = field(default_factory=SeriesIndicators)
    conditions: list[_Condition] = field(default_factory=list)
    volumes: list[Alert] = field(default_factory=list)
    volume_bar: dict[str, int] = field(default_factory=dict)  # the bar a spike alert last fired in
    kept: dict[str, _Condition] = field(default_factory=dict)  # the conditions before a re-index


@dataclass(frozen=True)
class Needs:
    """What the engine needs watched on one exchange: prices of these symbols, candles of
    these (symbol, timeframe) series."""

    prices: frozenset[str] = frozenset()
    series: frozenset[tuple[str, str]] = frozenset()


class AlertEngine:
    def __init__(
        self,
        on_fire: Callable[[Alert, Firing], None],
        on_change: Callable[[Alert], None] = lambda alert: None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._on_fire = on_fire
        self._on_change = on_change  # an alert the engine changed itself (a ONCE that fired, one expired)
        self.clock = clock
        self.alerts: dict[str, Alert] = {}
        self.last_fired: dict[str, int] = {}  # alert id -> ms (the engine's clock)
        self._fired_bar: dict[str, int] = {}  # alert id -> the bar a once-per-bar alert fired in
        self.problems: dict[str, str] = {}  # alert id -> why it cannot be evaluated
        self._markets: dict[Market, _MarketState] = {}
        self._prices: dict[str, dict[str, MarketPrices]] = {}  # exchange -> symbol -> its price alerts
        self._series: dict[SeriesKey, _SeriesState] = {}
        self._others: list[Alert] = []  # orders, PnL, feeds, jobs
        self._down_since: dict[str, int] = {}  # exchange -> ms the feed went down
        self._feed_fired: set[str] = set()  # FeedDown alerts fired for the current outage
        self._stale = False  # alerts turned off by the engine are still in the indexes
        self._orders_heard: dict[tuple[str, str], None] = {}  # (order id, outcome), oldest first
        # alert id -> (the alert, its notification's text): the same for every firing of it
        self._texts: dict[str, tuple[Alert, str]] = {}

    # -- the alerts ----------------------------------------------------------------
    def load(self, alerts: Iterable[Alert], last_fired: Mapping[str, int] = {}) -> None:
        self.alerts = {a.id: a for a in alerts}
        self.last_fired = dict(last_fired)
        # a once-per-bar alert that fired in the bar still forming (before a restart, say)
        # waits for the next bar
        self._fired_bar = {
            a.id: last_fired[a.id] // timeframe_ms(a.timeframe)
            for a in self.alerts.values()
            if a.trigger is Trigger.ONCE_PER_BAR and a.id in last_fired
        }
        self._texts = {}
        self._reindex()

    def put(self, alert: Alert) -> None:
        """Add ``alert`` or replace the one with its id (an edit starts its watch afresh)."""
        self.alerts[alert.id] = alert
        self._reindex()

    def remove(self, alert_id: str) -> None:
        self.alerts.pop(alert_id, None)
        self.last_fired.pop(alert_id, None)
        self._texts.pop(alert_id, None)
        self._reindex()

    def needs(self) -> dict[str, Needs]:
        """Per exchange, the prices and candle series the enabled alerts watch."""
        prices: dict[str, set[str]] = {}
        series: dict[str, set[tuple[str, str]]] = {}
        for exchange, symbol in self._markets:
            prices.setdefault(exchange, set()).add(symbol)
        for exchange, symbol, tf in self._series:
            series.setdefault(exchange, set()).add((symbol, tf))
        return {
            ex: Needs(frozenset(prices.get(ex, ())), frozenset(series.get(ex, ())))
            for ex in prices.keys() | series.keys()
        }

    def _reindex(self) -> None:
        old_markets, old_series = self._markets, self._series
        self._markets, self._series, self._others = {}, {}, []
        self.problems = {}
        self._stale = False
        for alert in self.alerts.values():
            if alert.enabled:
                self._index(alert, old_markets, old_series)
        self._prices = {}
        for key, state in self._markets.items():
            before = old_markets.get(key)
            state.prices.finish(before.prices if before is not None else None)
            if before is not None:
                state.pnl_state = before.pnl_state
            self._prices.setdefault(key[0], {})[key[1]] = state.prices

    def _market(self, alert: Alert) -> _MarketState:
        key = (alert.exchange, alert.symbol)
        state = self._markets.get(key)
        if state is None:
            state = self._markets[key] = _MarketState()
        return state

    def _index(
        self, alert: Alert, old_markets: dict[Market, _MarketState], old_series: dict[SeriesKey, _SeriesState]
    ) -> None:
        c = alert.condition
        if isinstance(c, LineCross) and c.shape == "trend" and max(c.t1_ms, c.t2_ms) < self.clock():
            self.problems[alert.id] = "its line ends in the past: make it a ray to watch where it goes on"
        if isinstance(c, PriceCross | LineCross | Move):
            self._market(alert).prices.add(alert)
        elif isinstance(c, IndicatorCondition | VolumeSpike):
            key = (alert.exchange, alert.symbol, c.timeframe)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = old_series.get(key) or _SeriesState()
                kept = {cond.alert.id: cond for cond in series.conditions}
                series.conditions, series.volumes = [], []
                series.kept = kept
            if isinstance(c, VolumeSpike):
                series.volumes.append(alert)
                return
            try:
                watch = Watch(parse(c.expression), series.indicators)
            except ExpressionError as exc:  # an indicator of the user's that has not loaded (yet)
                self.problems[alert.id] = str(exc)
                return
            before = series.kept.get(alert.id)
            condition = _Condition(alert, watch)
            if before is not None and before.alert == alert:  # unchanged by the edit: where it was
                condition.state, condition.rebase = before.state, before.rebase
            series.conditions.append(condition)
        elif isinstance(c, PnlBeyond):
            self._market(alert)
            self._others.append(alert)
        else:
            self._others.append(alert)

    # -- firing --------------------------------------------------------------------
    def _fire(self, alert: Alert, value: float | None, what: str, at_ms: int | None = None) -> bool:
        now = self.clock()
        current = self.alerts.get(alert.id)
        if current is None or not current.enabled:
            return False
        if current.expired(now):
            self._replace(current.model_copy(update={"enabled": False}))
            return False
        if current.trigger is Trigger.ONCE_PER_BAR:
            # the bar on the market's own clock (``at_ms``: the price's or candle's time)
            bar = (at_ms or now) // timeframe_ms(current.timeframe)
            if self._fired_bar.get(current.id) == bar:
                return False
            self._fired_bar[current.id] = bar
        self.last_fired[current.id] = now
        title = f"{current.symbol or current.exchange or 'Alert'}: {what}"
        known = self._texts.get(current.id)
        if known is not None and known[0] is current:
            message = known[1]
        else:  # (an edit makes a new Alert: its text is made afresh)
            message = condition_text(current) + (f"\n{current.note}" if current.note else "")
            self._texts[current.id] = (current, message)
        firing = Firing(
            alert_id=current.id, fired_ms=now, title=title, message=message, value=value,
            symbol=current.symbol, exchange=current.exchange,
        )  # fmt: skip
        if current.trigger is Trigger.ONCE:
            self._replace(current.model_copy(update={"enabled": False}))
        self._on_fire(current, firing)
        return True

    def _replace(self, alert: Alert) -> None:
        """The engine changed ``alert`` itself (a once-only one fired, one expired): it is
        skipped from now on (``_fire`` reads the current alert) and the indexes are rebuilt
        at the next ``tick``, not on the price that fired it."""
        self.alerts[alert.id] = alert
        self._stale = True
        self._on_change(alert)

    # -- prices --------------------------------------------------------------------
    def price(self, exchange: str, symbol: str, price: float, ts_ms: int) -> None:
        """A trade or ticker price of a market. Cheap when no alert watches it, and a few
        comparisons when one does (``prices.py``)."""
        state = self._markets.get((exchange, symbol))
        if state is None:
            return
        hits = state.prices.on_price(price, ts_ms)
        if hits is not None:
            for alert, value, what, at in hits:
                self._fire(alert, value, what, at)

    def prices(self, exchange: str, symbol: str, prices: Sequence[float], ts_ms: Sequence[int]) -> None:
        """Prices of one market in the order they came (``ts_ms`` their times): the same
        firings, in the same order, as ``price`` on each in turn; a run that moved nothing
        (the usual) costs about what one price does (``MarketPrices.on_prices``)."""
        self.price_runs(exchange, {symbol: (prices, ts_ms)})

    def price_runs(self, exchange: str, runs: Mapping[str, tuple[Sequence[float], Sequence[int]]]) -> None:
        """Per symbol of ``exchange``, its prices and their times in the order they came: as
        ``prices`` on each symbol in turn, in one call (the alerts feed's flush, ~25 a second
        over every watched symbol)."""
        markets, fire = self._prices.get(exchange), self._fire
        if markets is None:
            return
        for symbol, (prices, ts_ms) in runs.items():
            market = markets.get(symbol)
            if market is None:
                continue
            hits = market.on_prices(prices, ts_ms)
            if hits is not None:
                for alert, value, what, at in hits:
                    fire(alert, value, what, at)

    def gap(self, exchange: str, symbol: str, *, prices: bool = True, candles: bool = True) -> None:
        """The market's feed broke (a failed watch, a reconnect): the next price is a new
        reference, not a move from the last one (``prices``); the candle conditions take
        their state from the next candles without firing (``candles``)."""
        state = self._markets.get((exchange, symbol))
        if state is not None and prices:
            state.prices.gap()
        if not candles:
            return
        for (ex, sym, _tf), series in self._series.items():
            if ex == exchange and sym == symbol:
                for cond in series.conditions:
                    cond.rebase = True

    # -- candles -------------------------------------------------------------------
    def candles(
        self, exchange: str, symbol: str, timeframe: str, series: CandleSeries, now_ms: int | None = None
    ) -> None:
        """The candles of a watched series changed (the live bar, a new bar, a reload);
        ``now_ms`` is the exchange's clock (the engine's by default)."""
        state = self._series.get((exchange, symbol, timeframe))
        if state is None or len(series) < 2:
            return
        bar_ms = series.timeframe_ms
        last_ts = int(series.ts[-1])
        if last_ts + STALE_BARS * bar_ms <= (self.clock() if now_ms is None else now_ms):
            return  # a stale series: not live, not evaluated
        if state.conditions:
            state.indicators.update(series)
        n = len(series)
        for cond in list(state.conditions):
            holds, value = cond.watch.holds(series, n - 1)
            if holds is None:
                continue
            before = cond.state
            if cond.rebase:  # the first evaluation after a break: where it stands, nothing fired
                cond.state, cond.rebase = holds, False
                continue
            if before is None:
                before = self._first_state(cond, series, n, last_ts)
            cond.state = holds
            if before is None:
                continue
            crossing = cond.watch.expression.op == "crosses"
            if (crossing and holds != before) or (not crossing and holds and not before):
                self._fire(cond.alert, value, f"{cond.watch.expression} ({reading(value)})", last_ts)
        for alert in list(state.volumes):
            self._volume(state, alert, series, last_ts)

    def _first_state(self, cond: _Condition, series: CandleSeries, n: int, bar_ms: int) -> bool | None:
        """Where a condition starts: a comparison never evaluated counts as not holding (it
        fires at once if it holds); a crossing, or one that fired before, starts from the
        previous bar (so a restart does not fire again what already fired), and one that
        fired in this very bar starts where it is now (an edit does not fire it again)."""
        fired = self.last_fired.get(cond.alert.id)
        if fired is not None and fired >= bar_ms:
            return cond.watch.holds(series, n - 1)[0]
        if cond.watch.expression.crossing or fired is not None:
            return cond.watch.holds(series, n - 2)[0]
        return False

    def _volume(self, state: _SeriesState, alert: Alert, series: CandleSeries, last_ts: int) -> None:
        c = alert.condition
        assert isinstance(c, VolumeSpike)
        n = len(series)
        if n < c.bars + 1 or state.volume_bar.get(alert.id) == last_ts:
            return
        # the mean as ndarray.mean computes it (the same pairwise sum, divided by the count),
        # without its Python wrapper: a third of the time, on every candle of the series
        average = float(np.add.reduce(series.volume[n - 1 - c.bars : n - 1])) / c.bars
        volume = float(series.volume[-1])
        if average > 0 and math.isfinite(volume) and volume >= c.factor * average:
            state.volume_bar[alert.id] = last_ts  # one spike per bar
            self._fire(
                alert,
                volume,
                f"volume {number(volume)}, {volume / average:.1f}× the last {c.bars} bars",
                last_ts,
            )

    # -- orders, positions, feeds, jobs ----------------------------------------------
    def order(self, exchange: str, symbol: str, outcome: str, text: str, order_id: str = "") -> None:
        """An own order ended ``outcome``; told once per window that shows the account, so an
        order's outcome is heard once (``order_id``)."""
        if order_id:
            if (order_id, outcome) in self._orders_heard:
                return
            self._orders_heard[(order_id, outcome)] = None
            while len(self._orders_heard) > 1000:
                del self._orders_heard[next(iter(self._orders_heard))]
        for alert in list(self._others):
            c = alert.condition
            if (
                isinstance(c, OrderEvent)
                and outcome in c.outcomes
                and alert.exchange in ("", exchange)
                and alert.symbol in ("", symbol)
            ):
                self._fire(alert, None, text)

    def pnl(self, exchange: str, symbol: str, value: float) -> None:
        """The unrealised PnL of the position in ``symbol`` (quote currency)."""
        state = self._markets.get((exchange, symbol))
        if state is None or not math.isfinite(value):
            return
        for alert in list(self._others):
            c = alert.condition
            if not isinstance(c, PnlBeyond) or (alert.exchange, alert.symbol) != (exchange, symbol):
                continue
            beyond = (c.above is not None and value >= c.above) or (c.below is not None and value <= c.below)
            was = state.pnl_state.get(alert.id, False)
            state.pnl_state[alert.id] = beyond
            if beyond and not was:
                self._fire(alert, value, f"position PnL {number(value)}")

    def feed(self, exchange: str, live: bool) -> None:
        """The exchange's feed is live, or not (stale, reconnecting, failed)."""
        if live:
            self._down_since.pop(exchange, None)
            self._feed_fired = {
                a
                for a in self._feed_fired
                if self.alerts.get(a, None) is None or self.alerts[a].exchange not in ("", exchange)
            }
        else:
            self._down_since.setdefault(exchange, self.clock())

    def job(self, kind: str, text: str) -> None:
        for alert in list(self._others):
            c = alert.condition
            if isinstance(c, JobDone) and kind in c.jobs:
                self._fire(alert, None, text)

    def tick(self) -> None:
        """Once a second or so: expiry, feeds down for long enough, and the indexes rebuilt
        without the alerts that turned themselves off."""
        if self._stale:
            self._reindex()
        now = self.clock()
        for alert in list(self.alerts.values()):
            if alert.enabled and alert.expired(now):
                self._replace(alert.model_copy(update={"enabled": False}))
        for alert in list(self._others):
            c = alert.condition
            if not isinstance(c, FeedDown) or alert.id in self._feed_fired:
                continue
            downs = [t for ex, t in self._down_since.items() if alert.exchange in ("", ex)]
            if downs and now - min(downs) >= c.seconds * 1000:
                self._feed_fired.add(alert.id)
                self._fire(alert, (now - min(downs)) / 1000, f"feed down for {(now - min(downs)) // 1000} s")
