"""Regenerates docs/images/alerts.png: the simulated market with a horizontal line that
has an alert on it, the Alerts panel below the chart listing a price, a line, an RSI
(on a symbol on no chart), a % move and an order alert, with the history of those that
fired, and the toasts they raised in the window.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python scripts/screenshot_alerts.py [OUT.png]
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

# first: it puts the checkout on the path and pins pyqtgraph's Qt binding
from paper_window import ROOT, shots, until
from PySide6.QtCore import QSize

from terminal.alerts.rules import (
    Alert,
    Delivery,
    Direction,
    IndicatorCondition,
    LineCross,
    Move,
    OrderEvent,
    PriceCross,
    Trigger,
)
from terminal.trading.orders import OrderIntent, OrderSide, OrderType
from terminal.trading.paper.broker import PaperBroker
from terminal.ui.chart.drawings.model import Drawing, Kind, new_id
from terminal.ui.window.main_window import MainWindow

QUIET = Delivery(desktop=False)  # Xvfb has no notification service: the toasts and the panel show it


async def scene(window: MainWindow, broker: PaperBroker, out: Path) -> None:
    chart, center = window.chart, window.alert_center
    window.settled.set()
    await until(lambda: center.loaded.is_set())
    window.set_timeframe("5m")
    await until(lambda: chart.series.timeframe_ms == 300_000 and len(chart.series) > 300)
    chart.show_latest(120)
    await until(lambda: window.chart_tools.of(window.chart_grid.slots[0]).keeper.loaded)
    s = chart.series
    last = float(s.close[-1])
    symbol, exchange = window.session.symbol, window.exchange
    line = Drawing(
        new_id(), Kind.HLINE, ((float(s.ts[-60]) / 1000.0, round(last * 1.004, 1)),), color="#f5a623"
    )
    window.drawings.add(line)
    line_alert = LineCross(drawing_id=line.id, shape="hline", p1=line.points[0][1], direction=Direction.UP)
    near = PriceCross(level=round(last, 1))  # the market crosses it within seconds
    for alert in (
        Alert(exchange=exchange, symbol=symbol, condition=line_alert, note="breakout", delivery=QUIET),
        Alert(
            exchange=exchange,
            symbol=symbol,
            condition=near,
            trigger=Trigger.ONCE_PER_BAR,
            timeframe="5m",
            delivery=QUIET,
        ),
        Alert(
            exchange=exchange,
            symbol="SOL/USDT",
            delivery=QUIET,
            condition=IndicatorCondition(expression="RSI 14 > 1", timeframe="15m"),
        ),
        Alert(exchange=exchange, symbol="ETH/USDT", condition=Move(percent=3, minutes=15), delivery=QUIET),
        Alert(
            exchange=exchange,
            condition=OrderEvent(outcomes=("filled",)),
            trigger=Trigger.EVERY,
            delivery=QUIET,
        ),
    ):
        center.put(alert)
    window.alerts.open_panel()
    await broker.submit(OrderIntent(symbol, OrderSide.BUY, OrderType.MARKET, Decimal("0.05")))
    await until(lambda: len(center.history) >= 3, 60)
    await asyncio.sleep(1.0)
    window.grab().save(str(out))
    print(f"wrote {out}: {[f.title for f in center.history]}")


if __name__ == "__main__":
    named = [a for a in sys.argv[1:] if not a.startswith("--")]
    target = Path(named[0]) if named else ROOT / "docs" / "images" / "alerts.png"
    shots(scene, target, QSize(1440, 900), history=True)
