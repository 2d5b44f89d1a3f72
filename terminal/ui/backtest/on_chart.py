"""A run's trades on the price chart: marks drawn only while the chart shows
the run's own market (exchange, symbol, timeframe), and the chart centred on
a trade picked in the table."""

from __future__ import annotations

from terminal.analysis.setup import IndicatorConfig
from terminal.backtest.trades import TradeTable
from terminal.marketdata.timeframes import timeframe_ms
from terminal.ui.backtest.chart_link import ChartLink
from terminal.ui.backtest.formats import utc_text
from terminal.ui.chart.trade_marks import TradeMarks

Market = tuple[str, str, str]  # exchange, symbol, timeframe
CENTRE_ROOM = 1.6  # a trade wider than the view is shown with this much room around it


class ChartTrades:
    """A run's trades and the indicators its strategy read, on the chart while it shows the run's market."""

    def __init__(self, link: ChartLink) -> None:
        self.link = link
        self.market: Market | None = None  # the market of the marks on the chart
        self.indicators: list[IndicatorConfig] = []

    @property
    def marks(self) -> TradeMarks:
        return self.link.chart.trade_marks

    def show(
        self, trades: TradeTable, market: Market, indicators: list[IndicatorConfig] | None = None
    ) -> None:
        """Mark ``trades`` (closed, then the open one) of a run on ``market``, with
        ``indicators`` (the strategy's, as the chart draws them)."""
        if indicators is not None:
            self.indicators = indicators
        self.marks.set_trades(
            trades["entry_ts"],
            trades["entry_price"],
            trades["exit_ts"],
            trades["exit_price"],
            trades["side"],
            trades["pnl"],
            timeframe_ms(market[2]),
        )
        self.market = market
        self.follow_chart()

    def follow_chart(self) -> None:
        """Marks show only over the market they belong to (the chart may show another now)."""
        here = self.market is not None and self.market == self.link.market()
        self.marks.setVisible(here)
        studies = self.link.chart.studies
        wanted = self.indicators if here else []
        if studies.run_configs() != wanted:
            studies.set_run_indicators(wanted)

    def clear(self) -> None:
        self.marks.clear()
        self.market = None
        self.indicators = []
        self.follow_chart()

    def centre_on(self, trades: TradeTable, index: int, market: Market) -> str:
        """Centre the chart on trade ``index``; what to tell the user ("" when all went well)."""
        if market != self.link.market():
            exchange, symbol, timeframe = self.link.market()
            return (
                f"The chart shows {exchange} {symbol} {timeframe}; this run is on {' '.join(market)}. "
                "Open that market and timeframe to see its trades."
            )
        if self.market != market:
            self.show(trades, market)
        t = trades[index]
        chart = self.link.chart
        slot = timeframe_ms(market[2]) / 1000.0
        start, end = t["entry_ts"] / 1000.0, t["exit_ts"] / 1000.0 + slot
        x0, x1 = chart.x_range()
        width = max(x1 - x0, (end - start) * CENTRE_ROOM)  # keep the zoom unless the trade is wider
        middle = (start + end) / 2
        chart.set_x_range(middle - width / 2, middle + width / 2)
        self.marks.select(index)
        series = self.link.series()
        if len(series) and t["entry_ts"] < series.ts[0]:
            return (
                f"The chart's candles start at {utc_text(int(series.ts[0]))} UTC, after this trade; "
                "older history loads as the chart reaches its oldest candle."
            )
        return ""
