"""The risk settings as the risk checks take them (the paper account's own
settings are read in ``terminal.trading.paper.settings``).

``terminal.config`` holds what the user writes (0 meaning "off", per-account
sections); the trading layer reads those here, so that the configuration
imports nothing above it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from terminal.config import RiskSettings, TradingSettings
from terminal.trading.risk import RiskLimits, SymbolRiskLimits


def limits_of(risk: RiskSettings) -> RiskLimits:
    """The rules as the risk checks take them (0 becomes "no limit")."""

    def on(value: Decimal) -> Decimal | None:
        return value if value > 0 else None

    return RiskLimits(
        max_order_notional=on(risk.max_order_notional),
        max_position_notional=on(risk.max_position_notional),
        max_position_base=on(risk.max_position_base),
        price_band_pct=on(risk.price_band_pct),
        max_open_orders=risk.max_open_orders or None,
        daily_loss_limit=on(risk.daily_loss_limit),
        symbols={s: SymbolRiskLimits(**o.model_dump()) for s, o in risk.symbols.items()},
    )


def risk_limits(trading: TradingSettings, account: str, kind: Literal["paper", "live"]) -> RiskLimits:
    """The risk rules of a paper account (all share ``paper.risk``) or of the
    live account ``account`` (its own, else the defaults)."""
    if kind == "paper":
        return limits_of(trading.paper.risk)
    live = trading.live.get(account)
    return limits_of(live.risk if live is not None else RiskSettings())
