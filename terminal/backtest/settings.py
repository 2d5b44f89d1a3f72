"""What a user sets for a run besides the strategy: costs, sizing, stops, direction.

Pydantic models, frozen and picklable: a UI builds its form from them, a
parameter sweep sends them to worker processes, a saved run stores
``model_dump()``. The meaning of every field in the fill rules is written
in docs/backtesting.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Direction(StrEnum):
    LONG = "long"  # long only: a short signal closes a long and stays flat
    SHORT = "short"  # short only: a long signal closes a short and stays flat
    BOTH = "both"  # stop-and-reverse: an opposite signal closes and opens the other way


class SizingMode(StrEnum):
    FRACTION = "fraction"  # spend this fraction of equity, the entry fee included
    QUOTE = "quote"  # buy or sell this much quote currency's worth (capped by equity)
    RISK = "risk"  # lose this fraction of equity if the stop-loss is hit


class Costs(_Frozen):
    """Trading costs. Fees are rates per side (0.001 = 0.1%); negative is a rebate."""

    taker_fee: float = Field(
        default=0.001, ge=-0.01, le=0.1, description="fee rate of market orders: entries, signal exits, stops"
    )
    maker_fee: float = Field(
        default=0.001, ge=-0.01, le=0.1, description="fee rate of take-profit limit orders"
    )
    slippage_bps: float = Field(
        default=0.0, ge=0.0, le=1000.0, description="basis points against the trader on every market fill"
    )


class Sizing(_Frozen):
    """How big an entry is. Amounts are rounded down to ``amount_step``."""

    mode: SizingMode = SizingMode.FRACTION
    fraction: float = Field(default=1.0, gt=0.0, le=1.0, description="share of equity per entry (FRACTION)")
    quote_amount: float = Field(default=1000.0, gt=0.0, description="quote currency per entry (QUOTE)")
    risk_fraction: float = Field(
        default=0.01, gt=0.0, le=1.0, description="share of equity lost if the stop-loss is hit (RISK)"
    )
    amount_step: float = Field(
        default=0.0, ge=0.0, description="the market's amount step; 1 trades whole units, 0 does not round"
    )


class Stops(_Frozen):
    """Stop-loss and take-profit distances from the entry price: a percentage
    of it, or a multiple of the ATR at the signal bar (not both for one kind)."""

    stop_loss_pct: float | None = Field(
        default=None, gt=0.0, lt=100.0, description="stop-loss, % below/above entry"
    )
    take_profit_pct: float | None = Field(
        default=None, gt=0.0, le=10_000.0, description="take-profit, % from entry"
    )
    stop_loss_atr: float | None = Field(
        default=None, gt=0.0, le=100.0, description="stop-loss, ATR multiples"
    )
    take_profit_atr: float | None = Field(
        default=None, gt=0.0, le=1000.0, description="take-profit, ATR multiples"
    )
    atr_period: int = Field(default=14, ge=1, le=1000, description="bars of the ATR that ATR distances use")

    @model_validator(mode="after")
    def _one_distance_per_kind(self) -> Self:
        if self.stop_loss_pct is not None and self.stop_loss_atr is not None:
            raise ValueError("set the stop-loss as a percentage or as ATR multiples, not both")
        if self.take_profit_pct is not None and self.take_profit_atr is not None:
            raise ValueError("set the take-profit as a percentage or as ATR multiples, not both")
        return self

    @property
    def has_stop_loss(self) -> bool:
        return self.stop_loss_pct is not None or self.stop_loss_atr is not None

    @property
    def uses_atr(self) -> bool:
        return self.stop_loss_atr is not None or self.take_profit_atr is not None


class BacktestSettings(_Frozen):
    """Everything about a run except the candles and the strategy."""

    initial_cash: float = Field(default=10_000.0, gt=0.0, description="starting equity in quote currency")
    costs: Costs = Field(default_factory=Costs)
    sizing: Sizing = Field(default_factory=Sizing)
    stops: Stops = Field(default_factory=Stops)
    direction: Direction = Direction.BOTH
    close_at_end: bool = Field(
        default=True, description="close a trade still open at the last bar's close (else report it as open)"
    )

    @model_validator(mode="after")
    def _risk_sizing_needs_a_stop(self) -> Self:
        if self.sizing.mode is SizingMode.RISK and not self.stops.has_stop_loss:
            raise ValueError("risk sizing needs a stop-loss (a percentage or ATR multiples)")
        return self
