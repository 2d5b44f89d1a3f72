"""The built-in simulated exchange (the default market)."""

from terminal.market.simulator.exchange import SimulatedExchange

__all__ = ["SimulatedExchange"]
