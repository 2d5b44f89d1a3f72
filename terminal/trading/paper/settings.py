"""The paper account's settings: what a new or reset account starts with, its
fees and the currency of its daily PnL, and how they are read from the
configuration (``terminal.config``'s ``[trading.paper]`` section)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from terminal.config import PaperTradingSettings
from terminal.trading.fees import FeeRates


class PaperSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start_balances: dict[str, Decimal] = Field(
        default_factory=lambda: {"USDT": Decimal(10_000)}, description="what a new or reset account holds"
    )
    maker_fee: Decimal = Field(default=Decimal("0.001"), ge=Decimal("-0.01"), le=Decimal("0.1"))
    taker_fee: Decimal = Field(default=Decimal("0.001"), ge=0, le=Decimal("0.1"))
    pnl_currency: str = Field(default="USDT", description="the currency daily PnL is counted in")

    @field_validator("start_balances")
    @classmethod
    def _not_negative(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in value.items():
            if not amount.is_finite() or amount < 0:
                raise ValueError(f"the start balance of {currency} must be zero or more")
        return value

    @property
    def fees(self) -> FeeRates:
        return FeeRates(self.maker_fee, self.taker_fee)


def paper_settings(paper: PaperTradingSettings) -> PaperSettings:
    """The settings the configuration's paper section gives (its risk rules go to
    ``terminal.trading.settings``)."""
    return PaperSettings.model_validate(paper.model_dump(exclude={"risk"}))
