"""The candlestick chart: price pane with volume below, a time axis, a
crosshair with an OHLCV readout, and a price axis that follows the view.

Navigation: the mouse wheel zooms time around the cursor, dragging pans;
the price axis scales itself to the candles in view (TradingView-like).
The price is drawn as candles, a close line, an area or Heikin-Ashi candles
(``set_style``), on a linear or a log scale (``set_log_scale``); the readout
and the last-price line always say the real candles' prices.
Limits keep the view sensible: at least ``MIN_CANDLES`` and at most
``MAX_CANDLES`` candles across, never far past either end of the data.
"""

from __future__ import annotations

import datetime as dt
import math

import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from terminal.marketdata.candles import CandleSeries
from terminal.marketdata.heikin_ashi import HeikinAshi
from terminal.ui.chart.axis_specs import QuickAxis
from terminal.ui.chart.axis_tags import AxisTag
from terminal.ui.chart.compare import CompareLine
from terminal.ui.chart.grid import ChartGrid, TimeAxis
from terminal.ui.chart.items import PRICE_STYLES, CloseLineItem, SeriesItem, VolumeItem, price_item
from terminal.ui.chart.last_price import LastPriceLine
from terminal.ui.chart.order_lines import OrderLines
from terminal.ui.chart.price_scale import PriceAxis, PriceScale, attach
from terminal.ui.chart.ranges import held_range, held_top
from terminal.ui.chart.still import StillLayer, layer_of
from terminal.ui.chart.studies import ChartStudies
from terminal.ui.chart.trade_marks import TradeMarks
from terminal.ui.chart.visible import index_at, visible_slice, visible_volume_max
from terminal.ui.formatting import compact
from terminal.ui.theme import DARK, Theme

MIN_CANDLES = 15
MAX_CANDLES = 20_000
RIGHT_MARGIN_CANDLES = 8  # empty slots right of the live candle when following it
DAY_MS = 86_400_000
FOLLOW_SLACK = 3  # the view follows the live candle if its right edge is this close
OLDER_MARGIN = 0.25  # ask for older history when the view's left edge is this close (of its width)
PRICE_PAD = 0.06  # the price pane's range: the prices in view and this much of their span above and below
FLAT_LOG_PAD = 0.0005  # decades above and below a flat price on a log scale (about 0.1%)


class ChartWidget(QWidget):
    """Price + volume panes over one CandleSeries."""

    #: the view reached the oldest candle: older history is wanted (if there is any)
    wants_older = Signal()
    #: another series is shown (symbol, timeframe or history): marks of another market must go
    series_changed = Signal()
    #: Ctrl+click on the price pane: the price there (the order ticket takes it)
    price_clicked = Signal(float)
    #: the crosshair is over the candle that opened at this time (seconds); -1 when it left
    hovered = Signal(float)

    def __init__(
        self, theme: Theme = DARK, visible_candles: int = 300, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.series = CandleSeries(60_000)
        self.symbol = ""
        self.decimals = 2
        self.initial_candles = visible_candles
        self.time_zone = "local"
        self._hover_index = -1
        self._synced_index = -1  # the candle another chart's crosshair points at (show_time)
        self.compare: CompareLine | None = None  # another symbol, in percent (set_compare)
        self._adjusting = False
        self.history_start_reached = False  # set when the market has nothing older
        self._placing = False  # the view is being placed by code, not moved by the user
        self.chart_style = "candles"  # how the price is drawn (PRICE_STYLES): the window keeps it
        self.log_scale = False  # the price pane on a log scale: the window keeps it
        self.price_scale = PriceScale()  # the price pane's y, shared by every item drawn there
        self.heikin_ashi = HeikinAshi()  # the Heikin-Ashi candles, kept while that style is on

        self.readout = QLabel(self)
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setObjectName("chartReadout")
        # A narrow chart clips the readout rather than widening the window past its screen.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Shown over the chart while the feed is not live: the candles are what
        # we have, and the user must not mistake them for the market now.
        self.feed_note = QLabel(self)
        self.feed_note.setObjectName("chartFeedNote")
        self.feed_note.setWordWrap(True)
        self.feed_note.setMaximumWidth(480)
        self.feed_note.hide()
        self.glw = pg.GraphicsLayoutWidget(self)
        self.glw.ci.setContentsMargins(2, 2, 2, 2)
        self.glw.ci.setSpacing(0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.readout)
        layout.addWidget(self.glw, 1)

        self.price_axis = PriceAxis(orientation="right")
        self.time_axis = TimeAxis(orientation="bottom")
        self.price_plot = self.glw.addPlot(row=0, col=0, axisItems={"right": self.price_axis})
        self.volume_plot = self.glw.addPlot(
            row=1, col=0, axisItems={"bottom": self.time_axis, "right": QuickAxis(orientation="right")}
        )
        self.glw.ci.layout.setRowStretchFactor(0, 4)
        self.glw.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.price_plot, self.volume_plot):
            plot.hideAxis("left")
            plot.showAxis("right")
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setMouseEnabled(x=True, y=False)
            plot.getViewBox().enableAutoRange(enable=False)
        self.price_plot.hideAxis("bottom")
        # the hidden axes follow no range: each pan made their SI prefix and label's HTML anew
        for plot, hidden in (
            (self.price_plot, ("left", "top", "bottom")),
            (self.volume_plot, ("left", "top")),
        ):
            for name in hidden:
                plot.getAxis(name).unlinkFromView()
        self.volume_plot.setXLink(self.price_plot)
        # pyqtgraph hides values on right axes by default; a fixed width keeps
        # both panes' plot areas aligned as the price labels change length.
        self.price_axis.setStyle(showValues=True)
        self.price_axis.setWidth(78)
        self.volume_plot.getAxis("right").setWidth(78)
        self.volume_plot.getAxis("right").setStyle(showValues=False)
        attach(self.price_plot.getViewBox(), self.price_scale)
        self.price_axis.set_scale(self.price_scale)
        for axis in (self.price_axis, self.time_axis, self.volume_plot.getAxis("right")):
            # drawn from a picture of itself while its range stays (every tick but a few):
            # pyqtgraph replays each label's text at every paint otherwise
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            # no unit label is shown: working its SI prefix out cost every pan frame 3%
            axis.enableAutoSIPrefix(False)

        # Our own opaque grid: pyqtgraph's translucent one cost 16-28 ms a frame.
        self.grids = (ChartGrid(self.time_axis, self.price_axis), ChartGrid(self.time_axis, None))
        self.price_plot.addItem(self.grids[0], ignoreBounds=True)
        self.volume_plot.addItem(self.grids[1], ignoreBounds=True)
        self.candles: SeriesItem = price_item(self.chart_style, self.series)  # the price, in its style
        self.volumes = VolumeItem(self.series)
        self.price_plot.addItem(self.candles)
        self.volume_plot.addItem(self.volumes)
        # each plot's still picture: the grid, the candles and volume bars but the live one
        # (terminal.ui.chart.still); a tick repaints the live candle over a copy of it
        self.layers = tuple(
            layer_of(plot.getViewBox(), QColor(theme.background))
            for plot in (self.price_plot, self.volume_plot)
        )
        for layer, items in zip(
            self.layers, ((self.grids[0], self.candles), (self.grids[1], self.volumes)), strict=True
        ):
            for item in items:
                if not isinstance(item, SeriesItem) or item.still:
                    layer.add(item)
        # A backtest's trades (terminal.ui.backtest puts them here); empty until then.
        self.trade_marks = TradeMarks()
        self.price_plot.addItem(self.trade_marks, ignoreBounds=True)
        # The account's open orders (terminal.ui.trading puts them here); empty until then.
        self.order_lines = OrderLines()
        self.price_plot.addItem(self.order_lines, ignoreBounds=True)
        self.order_lines.format_price = lambda price: f"{price:,.{self.decimals}f}"

        self.last_line = LastPriceLine()
        self.vline = pg.InfiniteLine(angle=90, movable=False)
        self.hline = pg.InfiniteLine(angle=0, movable=False)
        self.vline_volume = pg.InfiniteLine(angle=90, movable=False)
        # another chart's crosshair time, in a window of several charts (show_time)
        self.sync_line = pg.InfiniteLine(angle=90, movable=False)
        self.price_plot.addItem(self.sync_line, ignoreBounds=True)
        self.sync_line.hide()
        self.price_plot.addItem(self.last_line, ignoreBounds=True)
        for line, plot in (
            (self.vline, self.price_plot),
            (self.hline, self.price_plot),
            (self.vline_volume, self.volume_plot),
        ):
            plot.addItem(line, ignoreBounds=True)
            line.hide()

        # indicators: lines over the candles, panes between the price and the volume
        self.studies = ChartStudies(
            self.glw, self.price_plot, self.volume_plot, lambda: self.series, lambda: self.decimals
        )

        self.studies.changed.connect(self._autoscale_y)  # a new line or pane is fitted at once

        # the crosshair's price and time, on the axes
        self.price_tag = AxisTag(self.price_axis)
        self.time_tag = AxisTag(self.time_axis)

        self.price_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range)
        self._mouse_proxy = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse)
        self.glw.scene().sigMouseClicked.connect(self._on_click)
        self.apply_theme(theme)

    def still_layers(self) -> list[StillLayer]:
        """Every plot's still picture: the price, the volume and each indicator pane's."""
        return [*self.layers, *(pane.layer for pane in self.studies.panes)]

    # -- data ----------------------------------------------------------------------
    def set_series(self, series: CandleSeries, symbol: str, decimals: int) -> None:
        """Show a new series (symbol, timeframe or history changed) at the latest candles."""
        self.series, self.symbol, self.decimals = series, symbol, decimals
        self.price_axis.decimals = decimals
        self._show_price()
        self.volumes.set_series(series)
        self.studies.recompute()
        if self.compare is not None:  # the comparison lined up with these candles
            self.compare.set_other(self.series, self.compare.other)
        self.history_start_reached = False
        self._synced_index = -1  # another series: another chart's moment is looked up again
        self.sync_line.hide()
        # The new limits may clamp the old view against the oldest candle for
        # a moment: that is not the user scrolling back.
        self._placing = True
        try:
            self._update_limits()
            self.show_latest(self.initial_candles)
        finally:
            self._placing = False
        self._update_last_line()
        self._update_readout(len(series) - 1)
        self.series_changed.emit()

    def live_update(self) -> None:
        """The newest candle changed or new ones opened: O(1) bounds, O(visible) rescale."""
        if not len(self.series):
            return
        slot = self._slot()
        x0, x1 = self.x_range()
        previous_right = self.candles.boundingRect().right()  # end of the newest slot drawn so far
        following = x1 >= previous_right - slot * (FOLLOW_SLACK + 1)  # the live candle is (nearly) in view
        if self.chart_style == "heikin_ashi":
            self.heikin_ashi.update(self.series)  # the bars from the last one on: O(1) a tick
        self.candles.live_update()
        self.volumes.live_update()
        self.studies.live_update()
        if self.compare is not None:
            self.compare.follow(self.series)
        opened = round((self.candles.boundingRect().right() - previous_right) / slot)
        if opened > 0:
            self._update_limits()
            if following:  # keep the newest candle where it was on screen
                self.set_x_range(x0 + opened * slot, x1 + opened * slot)
        if following:
            self._autoscale_y()
        self._update_last_line()
        if self._hover_index < 0 and self._synced_index >= 0:
            pass  # the readout shows the candle another chart's crosshair is at
        elif self._hover_index < 0 or self._hover_index >= len(self.series) - opened - 1:
            index = len(self.series) - 1 if self._hover_index < 0 else self._hover_index
            self._update_readout(index)

    def refresh(self) -> None:
        """Candles changed other than at the live end (a correction, a late
        candle, downloaded history): redraw with fresh bounds and leave the
        view where the user put it, unless it was following the newest candle,
        which it keeps following."""
        following = self._was_following()
        drawn = self.candles.boundingRect()
        # the view held the whole (short) history: with more of it now, the first view's width again
        whole = not drawn.isNull() and self.x_range()[0] <= drawn.left() + self._slot()
        self._show_price()
        self.volumes.set_series(self.series)
        self.studies.recompute()
        if self.compare is not None:  # the comparison lined up with these candles
            self.compare.set_other(self.series, self.compare.other)
        self._update_limits()
        self._autoscale_y()
        self._update_last_line()
        if following:
            self.show_latest(self.initial_candles if whole else None)

    def _was_following(self) -> bool:
        """Whether the view shows the newest candle drawn so far (before an update)."""
        drawn = self.candles.boundingRect()
        if not len(self.series) or drawn.isNull() or drawn.width() <= 0:
            return True
        return self.x_range()[1] >= drawn.right() - self._slot() * (FOLLOW_SLACK + 1)

    def crosshair_price(self) -> float | None:
        """The price the crosshair points at, or None when it is not over the candles."""
        if not self.hline.isVisible():
            return None
        return self.price_scale.to_price(float(self.hline.value()))

    def set_feed_note(self, text: str) -> None:
        """A note over the chart about the feed ("" hides it)."""
        if text == self.feed_note.text() and self.feed_note.isVisible() == bool(text):
            return
        self.feed_note.setText(text)
        self.feed_note.setVisible(bool(text))
        self.feed_note.adjustSize()
        self._place_feed_note()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_feed_note()

    def _place_feed_note(self) -> None:
        note = self.feed_note
        note.move(max(0, self.width() - note.width() - 96), self.readout.height() + 8)
        note.raise_()

    # -- style and scale ---------------------------------------------------------------
    def set_style(self, style: str) -> None:
        """Draw the price as "candles", a close "line", an "area" under it or "heikin_ashi"
        candles (``PRICE_STYLES``). The readout and the last-price line keep the real prices."""
        if style not in PRICE_STYLES:
            raise ValueError(f"unknown chart style {style!r}: one of {', '.join(PRICE_STYLES)}")
        if style == self.chart_style:
            return
        old, self.chart_style = self.candles, style
        self.candles = price_item(style, self.series)
        self.candles.on_painted = old.on_painted  # the window may still wait for the first candles
        self.price_plot.removeItem(old)
        self.layers[0].discard(old)
        self.price_plot.addItem(self.candles)
        if self.candles.still:
            self.layers[0].add(self.candles)
        self._color_price_item()
        self._show_price()
        self.readout.setToolTip(
            "Heikin-Ashi candles; the prices here are the real candle's" if style == "heikin_ashi" else ""
        )
        self._autoscale_y()
        self._update_readout(self._hover_index if self._hover_index >= 0 else len(self.series) - 1)

    def set_log_scale(self, on: bool) -> None:
        """Put the price pane on a log scale, or back on a linear one (the panes below stay linear)."""
        if on == self.log_scale:
            return
        self.log_scale = self.price_scale.log = on
        for item in self.price_plot.items:  # the items that keep bounds in the pane's coordinates
            rescale = getattr(item, "scale_changed", None)
            if callable(rescale):
                rescale()
        self.price_axis.set_scale(self.price_scale)
        self._hide_crosshair()  # its height is another price now
        self._autoscale_y()
        self._update_last_line()

    def _show_price(self) -> None:
        """Hand the price item its candles: the real ones, or their Heikin-Ashi candles
        computed afresh (O(n), and only while that style is on)."""
        if self.chart_style == "heikin_ashi":
            self.heikin_ashi.compute(self.series)
            self.candles.set_series(self.heikin_ashi.candles)
        else:
            self.candles.set_series(self.series)

    def _color_price_item(self) -> None:
        self.candles.set_colors(self.theme.color("up"), self.theme.color("down"))
        if isinstance(self.candles, CloseLineItem):
            self.candles.set_line_color(self.theme.color("accent"))

    # -- navigation ------------------------------------------------------------------
    def x_range(self) -> tuple[float, float]:
        (x0, x1), _ = self.price_plot.getViewBox().viewRange()
        return float(x0), float(x1)

    def set_x_range(self, x0: float, x1: float) -> None:
        self.price_plot.getViewBox().setXRange(x0, x1, padding=0)

    def visible_count(self) -> int:
        i0, i1 = self.visible_indices()
        return i1 - i0

    def visible_indices(self) -> tuple[int, int]:
        x0, x1 = self.x_range()
        return visible_slice(self.series.ts, x0, x1 - self._slot(), pad=0)

    def show_latest(self, candles: int | None = None) -> None:
        """Put the newest candle near the right edge, keeping the zoom (or ``candles``
        across). A history shorter than that (a daily chart of a young market) fills
        the view from its first candle instead of sitting among empty slots."""
        if not len(self.series):
            return
        slot = self._slot()
        x0, x1 = self.x_range()
        across = candles or max(MIN_CANDLES, round((x1 - x0) / slot))
        across = min(across, max(MIN_CANDLES, len(self.series) + RIGHT_MARGIN_CANDLES))
        width = across * slot
        right = self.series.ts[-1] / 1000.0 + slot * RIGHT_MARGIN_CANDLES
        self.set_x_range(right - width, right)

    def zoom(self, factor: float) -> None:
        """factor < 1 zooms in (fewer candles), anchored at the right edge when following."""
        x0, x1 = self.x_range()
        anchor = x1 if self._following() else (x0 + x1) / 2
        self.set_x_range(anchor - (anchor - x0) * factor, anchor + (x1 - anchor) * factor)

    def pan(self, candles: float) -> None:
        shift = candles * self._slot()
        x0, x1 = self.x_range()
        self.set_x_range(x0 + shift, x1 + shift)

    # -- theme -----------------------------------------------------------------------
    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.background)
        for layer in self.layers:
            layer.set_background(QColor(theme.background))
        self.volumes.set_colors(theme.color("up"), theme.color("down"))
        self._color_price_item()
        self.studies.apply_theme(theme)
        self.trade_marks.set_colors(
            theme.color("up"), theme.color("down"), theme.color("accent"), theme.color("text")
        )
        self.order_lines.set_colors(theme.color("up"), theme.color("down"))
        for plot in (self.price_plot, self.volume_plot):
            for name in ("right", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(theme.grid))
                axis.setTextPen(pg.mkPen(theme.muted))
        for grid in self.grids:
            grid.set_color(theme.color("grid"))
        pen = pg.mkPen(theme.crosshair, width=1, style=Qt.PenStyle.DashLine)
        for line in (self.vline, self.hline, self.vline_volume):
            line.setPen(pen)
        self.sync_line.setPen(pg.mkPen(theme.crosshair, width=1, style=Qt.PenStyle.DotLine))
        self.last_line.set_colors(QColor(theme.text))
        self._update_last_line()
        for tag in (self.price_tag, self.time_tag):
            tag.set_colors(pg.mkColor(theme.crosshair), pg.mkColor(theme.background))
        self.readout.setStyleSheet(f"background: {theme.background}; color: {theme.text}; padding: 3px 6px;")
        self.feed_note.setStyleSheet(
            f"background: {theme.down_fill}; color: {theme.text}; padding: 4px 8px; border-radius: 3px;"
        )
        self._update_readout(self._hover_index if self._hover_index >= 0 else len(self.series) - 1)

    # -- internals -------------------------------------------------------------------
    def _slot(self) -> float:
        return self.series.timeframe_ms / 1000.0

    def _following(self) -> bool:
        if not len(self.series):
            return True
        return self.x_range()[1] >= self.series.ts[-1] / 1000.0 - self._slot() * FOLLOW_SLACK

    def _update_limits(self) -> None:
        if not len(self.series):
            return
        slot = self._slot()
        first, last = self.series.ts[0] / 1000.0, self.series.ts[-1] / 1000.0
        span = (last - first) + slot * (RIGHT_MARGIN_CANDLES * 4)
        self.price_plot.getViewBox().setLimits(
            xMin=first - slot * 20,
            xMax=last + slot * RIGHT_MARGIN_CANDLES * 4,
            minXRange=slot * MIN_CANDLES,
            maxXRange=min(slot * MAX_CANDLES, span + slot * 20),
        )

    # -- a comparison ------------------------------------------------------------------
    def set_compare(self, symbol: str, series: CandleSeries | None) -> None:
        """Draw ``symbol``'s closes (``series``, at this chart's timeframe) from the left
        edge's close, the axis in percent; ``symbol`` "" ends the comparison."""
        if not symbol:
            if self.compare is not None:
                self.price_plot.removeItem(self.compare)
                self.compare = None
                self.price_axis.set_percent_base(None)
                self._autoscale_y()
                self._update_readout(len(self.series) - 1)
            return
        if self.compare is None or self.compare.symbol != symbol:
            if self.compare is not None:
                self.price_plot.removeItem(self.compare)
            self.compare = CompareLine(self.series, symbol)
            self.compare.setZValue(5.5)  # over the indicators' lines (5), which the still picture holds
            self.price_plot.addItem(self.compare, ignoreBounds=True)
        self.compare.set_other(self.series, series)
        self._rebase_compare()
        self._autoscale_y()

    def compare_updated(self, series: CandleSeries, reloaded: bool) -> None:
        """The compared symbol's candles changed (``reloaded``: all of them)."""
        if self.compare is None:
            return
        if reloaded:
            self.compare.set_other(self.series, series)
        else:
            self.compare.other = series
            self.compare.follow(self.series)
        self._rebase_compare()

    def _rebase_compare(self) -> None:
        if self.compare is None:
            return
        if len(self.compare.values) != len(self.series):
            self.compare.follow(self.series)
        base = self.compare.rebase(*self.visible_indices())
        self.price_axis.set_percent_base(base)

    def _on_x_range(self, *_: object) -> None:
        self._rebase_compare()
        self._autoscale_y()
        if len(self.series) and not self.history_start_reached and not self._placing:
            x0, x1 = self.x_range()
            if x0 <= self.series.ts[0] / 1000.0 + (x1 - x0) * OLDER_MARGIN:
                self.wants_older.emit()

    def _autoscale_y(self) -> None:
        """Fit price and volume axes to the candles in view: O(candles in view)."""
        if self._adjusting:
            return
        i0, i1 = self.visible_indices()
        prices = self.candles.price_range(i0, i1)  # what is drawn: candles, closes or Heikin-Ashi
        ys = None if prices is None else self.price_scale.span(*prices)
        if ys is None:
            return
        self._adjusting = True
        try:
            lo, hi = ys  # the pane's coordinates: log10 of the prices on a log scale
            overlays = self.studies.overlay_range()
            compared = self.compare.visible_range() if self.compare is not None else None
            if compared is not None:  # the comparison is what the user reads: all of it in view
                c_lo, c_hi = (self.price_scale.to_y(v) for v in compared)
                lo = lo if math.isnan(c_lo) else min(lo, c_lo)
                hi = hi if math.isnan(c_hi) else max(hi, c_hi)
            if overlays is not None:  # within reason: a line far off the candles does not squash them
                span = hi - lo or abs(hi) * 0.01
                o_lo, o_hi = (self.price_scale.to_y(v) for v in overlays)
                o_lo = -math.inf if math.isnan(o_lo) else o_lo  # <= 0 on a log scale: as low as allowed
                o_hi = hi if math.isnan(o_hi) else o_hi
                lo, hi = max(min(lo, o_lo), lo - span), min(max(hi, o_hi), hi + span)
            # held while the prices in view fit in it (terminal.ui.chart.ranges): a tick that
            # moves the live candle inside it moves no axis, grid or still picture
            price_box, volume_box = self.price_plot.getViewBox(), self.volume_plot.getViewBox()
            if hi > lo:
                (shown_lo, shown_hi) = price_box.viewRange()[1]
                y0, y1 = held_range((float(shown_lo), float(shown_hi)), lo, hi, PRICE_PAD)
            else:  # one price: a span around it
                pad = FLAT_LOG_PAD if self.log_scale else max(abs(hi) * 0.001, 1e-9)
                y0, y1 = lo - pad, hi + pad
            if (y0, y1) != tuple(price_box.viewRange()[1]):
                price_box.setYRange(y0, y1, padding=0)
            vmax = visible_volume_max(self.series, i0, i1) or 1.0
            top = held_top(float(volume_box.viewRange()[1][1]), vmax)
            if top != volume_box.viewRange()[1][1] or volume_box.viewRange()[1][0] != 0:
                volume_box.setYRange(0, top, padding=0)
            self.studies.autoscale_panes()
        finally:
            self._adjusting = False

    def _update_last_line(self) -> None:
        last = self.series.last()
        if last is None:
            self.last_line.hide()
            return
        self.last_line.show()
        color = self.theme.color("up" if last[4] >= last[1] else "down")
        # the price as it is, on either scale; the line at its place in the pane
        self.last_line.set_price(self.price_scale.to_y(last[4]), f"{last[4]:,.{self.decimals}f}", color)

    def _on_mouse(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        vb = self.price_plot.getViewBox()
        in_price = self.price_plot.sceneBoundingRect().contains(pos)
        in_volume = self.volume_plot.sceneBoundingRect().contains(pos)
        if not (in_price or in_volume or self.studies.in_pane(pos)) or not len(self.series):
            self._hide_crosshair()
            return
        point = vb.mapSceneToView(pos)
        index = self._index_at(point.x())
        snapped = self.series.ts[index] / 1000.0 + self._slot() / 2
        self.vline.setPos(snapped)
        self.vline_volume.setPos(snapped)
        self.vline.show()
        self.vline_volume.show()
        self.hline.setVisible(in_price)
        price = self.price_scale.to_price(point.y()) if in_price else None
        if price is not None:
            self.hline.setPos(point.y())
            base = self.price_axis.percent_base  # a comparison: the axis counts in percent
            self.price_tag.show_at(
                pos, f"{(price / base - 1) * 100:+.2f}%" if base else f"{price:,.{self.decimals}f}"
            )
        else:
            self.price_tag.hide()
        self.time_tag.show_at(vb.mapViewToScene(QPointF(snapped, point.y())), self.time_text(index))
        self._hover_index = index
        self.studies.crosshair(snapped, index)
        self._update_readout(index, price)
        self.hovered.emit(float(self.series.ts[index]) / 1000.0)

    def _on_click(self, event: MouseClickEvent) -> None:
        """Ctrl+click on the price pane picks a price (a plain click stays a pan's)."""
        pos = event.scenePos()
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return
        if not self.price_plot.sceneBoundingRect().contains(pos):
            return
        price = self.price_scale.to_price(float(self.price_plot.getViewBox().mapSceneToView(pos).y()))
        if math.isfinite(price) and price > 0:
            self.price_clicked.emit(price)

    def leaveEvent(self, event: object) -> None:
        self._hide_crosshair()
        super().leaveEvent(event)  # type: ignore[arg-type]

    def _hide_crosshair(self) -> None:
        for line in (self.vline, self.hline, self.vline_volume, self.price_tag, self.time_tag):
            line.hide()
        self.studies.hide_crosshair()
        if self._hover_index != -1:
            self._hover_index = -1
            self._update_readout(len(self.series) - 1)
            self.hovered.emit(-1.0)

    def show_time(self, t_s: float) -> None:
        """Another chart's crosshair is at ``t_s`` (seconds; < 0: nowhere): a line through
        this chart's candle of that moment, which its readout then shows."""
        if t_s < 0 or not len(self.series):
            self.sync_line.hide()
            self._synced_index = -1
            if self._hover_index < 0:
                self._update_readout(len(self.series) - 1)
            return
        index = self._index_at(t_s)
        self._synced_index = index
        self.sync_line.setPos(float(self.series.ts[index]) / 1000.0 + self._slot() / 2)
        self.sync_line.show()
        if self._hover_index < 0:
            self._update_readout(index)

    def time_text(self, index: int) -> str:
        """Candle ``index``'s open time as the time axis's tag says it (the date alone on
        daily and longer candles)."""
        ts = int(self.series.ts[index])
        when = dt.datetime.fromtimestamp(ts / 1000, dt.UTC if self.time_zone == "utc" else None)
        return f"{when:%a %Y-%m-%d}" if self.series.timeframe_ms >= DAY_MS else f"{when:%a %Y-%m-%d %H:%M}"

    def _index_at(self, x_s: float) -> int:
        return index_at(self.series.ts, x_s)

    def readout_text(self, index: int, cursor_price: float | None = None) -> str:
        """The OHLCV line for candle ``index`` (plain text, for tests and the label)."""
        s = self.series
        if not (0 <= index < len(s)):
            return self.symbol
        ts = int(s.ts[index])
        when = dt.datetime.fromtimestamp(ts / 1000, dt.UTC if self.time_zone == "utc" else None)
        d = self.decimals
        o, h, l, c, v = (float(col[index]) for col in (s.open, s.high, s.low, s.close, s.volume))
        change = (c - o) / o * 100 if o else 0.0
        parts = [
            f"{self.symbol}  {when:%Y-%m-%d %H:%M}" + ("  HA" if self.chart_style == "heikin_ashi" else ""),
            f"O {o:,.{d}f}",
            f"H {h:,.{d}f}",
            f"L {l:,.{d}f}",
            f"C {c:,.{d}f}",
            f"{change:+.2f}%",
            f"V {compact(v)}",
        ]
        compare = self.compare  # first after the candle: what a comparison is for
        other = compare.percent_at(index) if compare is not None else None
        if compare is not None and other is not None and compare.base_index >= 0:
            mine = (c / float(s.close[compare.base_index]) - 1.0) * 100.0
            parts.append(f"{self.symbol} {mine:+.2f}%  {compare.symbol} {other:+.2f}%")
        if cursor_price is not None:
            parts.append(f"@ {cursor_price:,.{d}f}")
        return "   ".join(parts)

    def _update_readout(self, index: int, cursor_price: float | None = None) -> None:
        text = self.readout_text(index, cursor_price)
        theme = self.theme
        s = self.series
        if 0 <= index < len(s):
            color = theme.up if s.close[index] >= s.open[index] else theme.down
            head, _, rest = text.partition("   ")
            gap = "&nbsp;" * 3
            text = f"<b>{head}</b>{gap}<span style='color:{color}'>{rest.replace('   ', gap)}</span>"
        self.readout.setText(text)
