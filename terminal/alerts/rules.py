"""What an alert watches for, when it may fire, and where it is delivered.

An ``Alert`` is data: validated by pydantic when the user saves it or the history file
gives it back, kept as JSON. Each kind of condition is a model of its own (a tagged
union on ``kind``), so a wrong value is refused with a message that names the field:

- ``PriceCross``  the price crosses a level (up, down or either way)
- ``LineCross``   the price crosses a drawn line (two points; a horizontal line has
  one price), e.g. from the line's context menu on the chart
- ``Move``        the price moved by a percentage within N minutes
- ``IndicatorCondition``  "RSI 14 > 70", "EMA 9 crosses above EMA 21",
  "close outside BB 20 2" (``conditions.py`` parses and evaluates it)
- ``VolumeSpike`` a bar's volume reaches N times the average of the bars before it
- ``OrderEvent``  one of the user's orders filled, cancelled or rejected
- ``PnlBeyond``   a position's unrealised PnL beyond a threshold
- ``FeedDown``    a market's feed stale or down for N seconds
- ``JobDone``     a research job or a history download finished

Qt-free and I/O-free: evaluation is ``engine.py``'s, delivery ``delivery/``'s.
"""

from __future__ import annotations

import math
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from terminal.marketdata.timeframes import timeframe_ms


class Trigger(StrEnum):
    ONCE = "once"  # fires once, then is disabled
    EVERY = "every"  # fires at every crossing (each time the condition becomes true)
    ONCE_PER_BAR = "once per bar"  # at most once in each bar of the alert's timeframe


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    EITHER = "either"


class _Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def needs_symbol(self) -> bool:
        return True


def _positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number, not {value:g}")
    return value


class PriceCross(_Condition):
    kind: Literal["price"] = "price"
    level: float
    direction: Direction = Direction.EITHER

    @field_validator("level")
    @classmethod
    def _level(cls, v: float) -> float:
        return _positive(v, "The price level")


class LineCross(_Condition):
    """A drawn line: through (t1, p1) and (t2, p2), over [t1, t2] for a segment, from t1 on
    for a ray; a horizontal line has p1 == p2 and holds at every time."""

    kind: Literal["line"] = "line"
    drawing_id: str = ""
    shape: Literal["hline", "trend", "ray"] = "trend"
    t1_ms: int = 0
    p1: float
    t2_ms: int = 0
    p2: float = 0.0
    direction: Direction = Direction.EITHER

    @model_validator(mode="after")
    def _points(self) -> LineCross:
        _positive(self.p1, "The line's price")
        if self.shape != "hline":
            _positive(self.p2, "The line's second price")
            if self.t2_ms == self.t1_ms:
                raise ValueError("A trend line needs two points at different times")
        return self

    def level_at(self, t_ms: int) -> float | None:
        """The line's price at ``t_ms``, or None where the line does not reach."""
        if self.shape == "hline":
            return self.p1
        lo, hi = sorted((self.t1_ms, self.t2_ms))
        if t_ms < lo or (self.shape == "trend" and t_ms > hi):
            return None
        return self.p1 + (self.p2 - self.p1) * (t_ms - self.t1_ms) / (self.t2_ms - self.t1_ms)


class Move(_Condition):
    kind: Literal["move"] = "move"
    percent: float
    minutes: int = Field(default=5, ge=1, le=1440)
    direction: Direction = Direction.EITHER

    @field_validator("percent")
    @classmethod
    def _percent(cls, v: float) -> float:
        return _positive(v, "The move in percent")


class IndicatorCondition(_Condition):
    kind: Literal["indicator"] = "indicator"
    expression: str  # "RSI 14 > 70"; checked by conditions.parse_expression when the alert is saved
    timeframe: str = "1m"

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str) -> str:
        timeframe_ms(v)  # raises with the known timeframes
        return v


class VolumeSpike(_Condition):
    kind: Literal["volume"] = "volume"
    factor: float = Field(default=3.0, gt=1.0, le=1000.0)
    bars: int = Field(default=20, ge=2, le=1000)
    timeframe: str = "1m"

    @field_validator("timeframe")
    @classmethod
    def _timeframe(cls, v: str) -> str:
        timeframe_ms(v)
        return v


OrderOutcome = Literal["filled", "cancelled", "rejected"]


class OrderEvent(_Condition):
    kind: Literal["order"] = "order"
    outcomes: tuple[OrderOutcome, ...] = ("filled", "cancelled", "rejected")

    @property
    def needs_symbol(self) -> bool:
        return False  # any symbol when the alert names none


class PnlBeyond(_Condition):
    """Unrealised PnL of the symbol's position in its quote currency: at or above ``above``
    (a profit to take) or at or below ``below`` (a loss to cut); either may be unset."""

    kind: Literal["pnl"] = "pnl"
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one(self) -> PnlBeyond:
        if self.above is None and self.below is None:
            raise ValueError("Give a PnL to rise above, a PnL to fall below, or both")
        if self.above is not None and self.below is not None and self.below >= self.above:
            raise ValueError("The PnL to fall below must be under the PnL to rise above")
        return self


class FeedDown(_Condition):
    kind: Literal["feed"] = "feed"
    seconds: int = Field(default=30, ge=1, le=86_400)

    @property
    def needs_symbol(self) -> bool:
        return False


class JobDone(_Condition):
    kind: Literal["job"] = "job"
    jobs: tuple[Literal["research", "download"], ...] = ("research", "download")

    @property
    def needs_symbol(self) -> bool:
        return False


Condition = Annotated[
    PriceCross
    | LineCross
    | Move
    | IndicatorCondition
    | VolumeSpike
    | OrderEvent
    | PnlBeyond
    | FeedDown
    | JobDone,
    Field(discriminator="kind"),
]


class Sound(BaseModel):
    """The sound that goes with the desktop notification: none, the system's alert sound, or a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["none", "default", "file"] = "default"
    path: str = ""


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    desktop: bool = True  # the operating system's notification
    sound: Sound = Sound()
    webhooks: tuple[str, ...] = ()  # the names of webhooks set up in Preferences (URLs in the keyring)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(default_factory=new_id)
    exchange: str = ""  # the market's name ("simulated", an account id); "" for any
    symbol: str = ""
    condition: Condition
    trigger: Trigger = Trigger.ONCE
    timeframe: str = "1m"  # the bar of ONCE_PER_BAR
    expires_ms: int | None = None  # epoch ms; None: never
    enabled: bool = True
    note: str = Field(default="", max_length=500)
    delivery: Delivery = Delivery()
    created_ms: int = 0

    @model_validator(mode="after")
    def _symbol(self) -> Alert:
        if self.condition.needs_symbol and not (self.symbol and self.exchange):
            raise ValueError("This alert needs a symbol and its market")
        timeframe_ms(self.timeframe)
        return self

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and now_ms >= self.expires_ms

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Alert:
        return cls.model_validate_json(text)


class Firing(BaseModel):
    """One time an alert fired: when, on what value, and what it said."""

    model_config = ConfigDict(frozen=True)
    alert_id: str
    fired_ms: int
    title: str
    message: str
    value: float | None = None
    symbol: str = ""
    exchange: str = ""


CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
