"""Price alerts on the charts: a dashed line in the alerts' colour at each enabled price
alert's level, on every chart of the window that shows its symbol, labelled with the
level and the way it must cross ("ALERT ↑ 65,000.0"). Dragging a line moves the
alert's level, as dragging an order's line amends the order (the same item,
``OrderLines``, draws both). A level out of view stays pinned to the pane's edge, so no
alert is ever out of sight. Lines drawn by the user carry their own alerts and are not
repeated here."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QColor

from terminal.alerts.rules import Alert, Direction, PriceCross
from terminal.ui.chart.order_lines import OrderLine, OrderLines
from terminal.ui.window.chart_grid import ChartGrid, ChartSlot

COLOR = "#f5a623"  # the alerts' amber: apart from the book's green and red
ARROWS = {Direction.UP: "↑ ", Direction.DOWN: "↓ ", Direction.EITHER: ""}


class AlertMarks:
    def __init__(
        self,
        grid: ChartGrid,
        alerts: Callable[[], list[Alert]],
        exchange: Callable[[], str],
        moved: Callable[[str, float], None],
    ) -> None:
        self._grid = grid
        self._alerts = alerts
        self._exchange = exchange
        self._moved = moved
        self.items: dict[int, tuple[ChartSlot, OrderLines]] = {}  # id(slot) → (slot, its lines)
        grid.slot_made.connect(self.attach)
        grid.slot_closing.connect(self.detach)
        for slot in grid.slots:
            self.attach(slot)

    def attach(self, slot: ChartSlot) -> None:
        chart = slot.chart
        lines = OrderLines()
        lines.setZValue(7)  # under the orders' lines: an order is the thing to act on
        lines.set_colors(QColor(COLOR), QColor(COLOR))
        lines.format_price = lambda price: f"{price:,.{chart.decimals}f}"
        lines.on_moved = self._moved
        chart.price_plot.addItem(lines, ignoreBounds=True)
        self.items[id(slot)] = (slot, lines)
        chart.series_changed.connect(lambda slot=slot: self.show(slot))
        self.show(slot)

    def detach(self, slot: ChartSlot) -> None:
        held = self.items.pop(id(slot), None)
        if held is not None:
            slot.chart.price_plot.removeItem(held[1])

    def refresh(self) -> None:
        for slot, _lines in list(self.items.values()):
            self.show(slot)

    def show(self, slot: ChartSlot) -> None:
        held = self.items.get(id(slot))
        if held is None:
            return
        symbol, exchange = slot.chart.symbol, self._exchange()
        marks = []
        for alert in self._alerts():
            c = alert.condition
            if (
                isinstance(c, PriceCross)
                and alert.enabled
                and (alert.exchange, alert.symbol) == (exchange, symbol)
            ):
                text = f"ALERT {ARROWS[c.direction]}{c.level:,.{slot.chart.decimals}f}"
                marks.append(OrderLine(c.level, True, text, stop=True, key=alert.id))
        held[1].set_lines(marks)

    def lines_of(self, slot: ChartSlot) -> OrderLines:
        return self.items[id(slot)][1]
