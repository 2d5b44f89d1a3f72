"""What the backtest panel needs from its window: the market on the chart and
its candles, the market's precision and fees, and the chart itself (to centre
it on a trade and to draw a run's trades on it).

The panel depends on this small object, not on the window: the window builds
it (``MainWindow.chart_link``), a benchmark from any chart and session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from terminal.marketdata.candles import CandleSeries
from terminal.ui.chart.chart_widget import ChartWidget


@dataclass(frozen=True)
class ChartLink:
    chart: ChartWidget
    #: (exchange or "simulated", symbol, timeframe) the chart shows now
    market: Callable[[], tuple[str, str, str]]
    #: the chart's candles (owned by the session; read on the GUI thread only)
    series: Callable[[], CandleSeries]
    #: the ccxt market dict of (exchange, symbol) when the window knows it, else None
    market_info: Callable[[str, str], Mapping[str, Any] | None]
