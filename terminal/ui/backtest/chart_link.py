"""What the backtest panel needs from its window: the market on the chart and
its candles, the market's precision and fees, and the chart itself (to centre
it on a trade and to draw a run's trades on it).

The panel depends on this small object, not on the window: it is built from
one (``of_window``) or, in a benchmark, from any chart and session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.chart_widget import ChartWidget

if TYPE_CHECKING:
    from terminal.ui.window.main_window import MainWindow


@dataclass(frozen=True)
class ChartLink:
    chart: ChartWidget
    #: (exchange or "simulated", symbol, timeframe) the chart shows now
    market: Callable[[], tuple[str, str, str]]
    #: the chart's candles (owned by the session; read on the GUI thread only)
    series: Callable[[], CandleSeries]
    #: the ccxt market dict of (exchange, symbol) when the window knows it, else None
    market_info: Callable[[str, str], Mapping[str, Any] | None]

    @classmethod
    def of_window(cls, window: MainWindow) -> ChartLink:
        def market_info(exchange: str, symbol: str) -> Mapping[str, Any] | None:
            if exchange != window.exchange:
                return None
            return window.session.markets.get(symbol)

        return cls(
            chart=window.chart,
            market=lambda: (window.exchange, window.session.symbol, window.session.timeframe),
            series=lambda: window.session.candles,
            market_info=market_info,
        )
