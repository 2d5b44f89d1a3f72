"""A window's part in the alerts: its market fed to the app's ``AlertCenter``, the
alerts panel (made on first use, below the chart), the dialog, the toasts, and the
ways in: Alt+A at the crosshair's price, "Add alert on this line…" on a drawn line,
the Alerts menu and the palette.

The window also tells the center what only it sees: its account's orders filled,
cancelled or rejected and its positions' PnL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QDockWidget

from terminal.alerts.rules import Alert, Direction, Firing, LineCross, PriceCross
from terminal.alerts.words import describe
from terminal.ui.alerts.center import AlertCenter
from terminal.ui.alerts.dialog import AlertDialog
from terminal.ui.alerts.panel import AlertsPanel
from terminal.ui.alerts.toast import show_toast
from terminal.ui.window.alert_marks import AlertMarks
from terminal.ui.window.layout import make_dock
from terminal.ui.window.palette import PaletteEntry

if TYPE_CHECKING:
    from terminal.market.session import MarketSession
    from terminal.trading.orders import Order
    from terminal.ui.chart.drawings.model import Drawing
    from terminal.ui.window.chart_grid import ChartSlot
    from terminal.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

OUTCOMES = {"filled": "filled", "cancelled": "cancelled", "canceled": "cancelled", "rejected": "rejected"}


class WindowAlerts:
    def __init__(self, window: MainWindow, center: AlertCenter) -> None:
        self.window = window
        self.center = center
        self.panel: AlertsPanel | None = None
        self.dock: QDockWidget | None = None
        self.dialog: AlertDialog | None = None
        # each enabled price alert as a line on the charts of its symbol; a drag moves it
        self.marks = AlertMarks(window.chart_grid, center.alerts, lambda: window.exchange, self.level_moved)
        # the app's center outlives the window: these are undone by ``close``
        center.fired.connect(self._fired)
        center.changed.connect(self._refresh)
        center.changed.connect(self.marks.refresh)
        center.delivery_problem.connect(self._problem)
        center.notification_clicked.connect(self._clicked)
        window.chart_tools.set_alert_hook(self.alert_on_line)
        window.chart_tools.on_edited = self.lines_edited
        window.trading.events.on_outcome = self._order_outcome
        window.trading.on_pnl = self._pnl

    # -- the market shown -----------------------------------------------------------
    def bind(self, session: MarketSession, exchange: str) -> None:
        self.center.watch(self.window, session, exchange)

    async def release(self) -> None:
        """Before the window's session closes: its feed stops (its background watches use
        the session's connection)."""
        await self.center.release(self.window)

    def close(self) -> None:
        """The window is closing: the center calls it no more."""
        center = self.center
        for signal, slot in (
            (center.fired, self._fired), (center.changed, self._refresh),
            (center.changed, self.marks.refresh), (center.delivery_problem, self._problem),
            (center.notification_clicked, self._clicked),
        ):  # fmt: skip
            signal.disconnect(slot)

    def _problem(self, text: str) -> None:
        self.window.messages.post(text, True)

    def _order_outcome(self, order: Order, text: str) -> None:
        outcome = OUTCOMES.get(str(order.status.value).lower())
        if outcome is not None:
            self.center.engine.order(self.window.exchange, order.symbol, outcome, text, order.client_order_id)

    def _pnl(self, unrealised: Mapping[str, Decimal]) -> None:
        for symbol, value in unrealised.items():
            self.center.engine.pnl(self.window.exchange, symbol, float(value))

    # -- the panel ------------------------------------------------------------------
    def open_panel(self) -> AlertsPanel:
        if self.panel is None or self.dock is None:
            panel = self.panel = AlertsPanel(self.window.theme)
            panel.new_requested.connect(lambda: self.new_alert())
            panel.edit_requested.connect(self.edit)
            panel.delete_requested.connect(self.center.remove)
            panel.enabled_changed.connect(self.center.set_enabled)
            panel.muted_changed.connect(self._set_muted)
            panel.clear_history_requested.connect(self.center.clear_history)
            self.window.docks["alerts"] = self.dock = make_dock(self.window, "Alerts", panel, scrolled=True)
            self.window.dock_layout.add_bottom_panel(self.dock, tall=False)
            self._refresh()
            panel.set_history(list(self.center.history))
        self.window.dock_layout.show_panel(self.dock)
        return self.panel

    def _set_muted(self, muted: bool) -> None:
        self.center.set_muted(muted)
        self.window.config.change(alerts=self.window.settings.alerts.model_copy(update={"muted": muted}))

    def _refresh(self) -> None:
        if self.panel is not None:
            self.panel.set_alerts(
                self.center.alerts(), dict(self.center.engine.last_fired), self.center.problems()
            )
            self.panel.set_muted(self.center.muted)
            if not self.center.history:  # cleared (in this window or another)
                self.panel.set_history([])

    def _fired(self, firings: list[Firing]) -> None:
        """A loop turn's firings, in the order they fired: each in History and a toast of its
        own; the alerts' list once (their last firing)."""
        if self.panel is not None:
            for firing in firings:
                self.panel.add_firing(firing)
            self._refresh()
        duration_ms = self.window.settings.alerts.toast_seconds * 1000
        for firing in firings:
            text = firing.message if not self.center.muted else f"{firing.message}\n(muted: nothing sent)"
            show_toast(self.window, firing.title, text, duration_ms=duration_ms)

    def _clicked(self, firing: Firing, window: object) -> None:
        """Its desktop notification was clicked: this window comes forward, with the
        firing shown in the alerts panel's History."""
        if window is not self.window:
            return
        if self.window.isMinimized():
            self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.open_panel().show_firing(firing)

    # -- making and editing -----------------------------------------------------------
    def _symbols(self) -> list[str]:
        session = self.window.session
        listed = list(session.markets)
        first = [s for s in [session.symbol, *self.window.settings.watchlist] if s in session.markets]
        return list(dict.fromkeys([*first, *listed]))

    def _open_dialog(
        self, alert: Alert | None = None, *, symbol: str = "", price: float | None = None
    ) -> AlertDialog:
        # an alert keeps its market when edited from a window on another
        exchange = alert.exchange if alert is not None and alert.exchange else self.window.exchange
        symbols = self._symbols() if exchange == self.window.exchange else [alert.symbol if alert else symbol]
        dialog = AlertDialog(
            exchange, symbols, list(self.window.settings.alerts.webhooks), alert,
            symbol=symbol or self.window.session.symbol, price=price, theme=self.window.theme,
            parent=self.window,
        )  # fmt: skip
        self.dialog = dialog
        dialog.finished.connect(partial(self._dialog_done, dialog))
        dialog.open()
        return dialog

    def _dialog_done(self, dialog: AlertDialog, result: int) -> None:
        if result == QDialog.DialogCode.Accepted:
            alert = dialog.alert()
            if not alert.created_ms:  # a new one (an edit keeps when it was made)
                alert = alert.model_copy(update={"created_ms": self.window.session.source.milliseconds()})
            self.center.put(alert)
            self.window.messages.post(f"Alert set: {describe(alert)}", False)
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def new_alert(self, *, price: float | None = None) -> AlertDialog:
        return self._open_dialog(price=price)

    def add_at_crosshair(self) -> AlertDialog:
        """Alt+A: a price alert at the crosshair's price (the last price when the mouse is not
        over the chart)."""
        chart = self.window.chart_grid.active.chart
        price = chart.crosshair_price()
        if price is None and len(chart.series):
            price = float(chart.series.close[-1])
        return self._open_dialog(symbol=chart.symbol or self.window.session.symbol, price=price)

    def edit(self, alert_id: str) -> AlertDialog | None:
        alert = self.center.engine.alerts.get(alert_id)
        return None if alert is None else self._open_dialog(alert, symbol=alert.symbol)

    def alert_on_line(self, slot: ChartSlot, drawing: Drawing) -> AlertDialog:
        """ "Add alert on this line…": an alert at the line as it is now drawn."""
        line = line_of(drawing)
        symbol = slot.chart.symbol or self.window.session.symbol
        alert = Alert(exchange=self.window.exchange, symbol=symbol, condition=line)
        return self._open_dialog(alert, symbol=symbol)

    def level_moved(self, alert_id: str, price: float) -> None:
        """A price alert's line dropped at ``price``: the alert watches that level now."""
        alert = self.center.engine.alerts.get(alert_id)
        if alert is None or not isinstance(alert.condition, PriceCross) or not price > 0:
            return
        moved = alert.model_copy(update={"condition": alert.condition.model_copy(update={"level": price})})
        self.center.put(moved)
        self.window.messages.post(f"Alert moved: {describe(moved)}", False)

    def lines_edited(self, slot: ChartSlot, drawings: list[Drawing]) -> None:
        """A line with an alert moved: the alert follows it (where it is drawn now)."""
        by_id = {d.id: d for d in drawings}
        symbol = slot.chart.symbol
        for alert in self.center.alerts():
            c = alert.condition
            if not isinstance(c, LineCross) or alert.symbol != symbol or not c.drawing_id:
                continue
            if alert.exchange == self.window.exchange and c.drawing_id not in by_id:
                if alert.enabled:  # its line was deleted: an alert on a line no one sees is off
                    self.center.put(alert.model_copy(update={"enabled": False}))
                    self.window.messages.post(f"Alert turned off, its line deleted: {describe(alert)}", False)
                continue
            moved = line_of(by_id[c.drawing_id], c.direction)
            if (moved.t1_ms, moved.p1, moved.t2_ms, moved.p2) != (c.t1_ms, c.p1, c.t2_ms, c.p2):
                self.center.put(alert.model_copy(update={"condition": moved}))

    # -- the palette ----------------------------------------------------------------------
    def palette_entries(self) -> list[PaletteEntry]:
        entries = [PaletteEntry("Alerts: show the alerts panel", "", self.open_panel)]
        for alert in self.center.alerts():
            state = "on" if alert.enabled else "off"
            entries.append(
                PaletteEntry(f"Alert: {describe(alert)}", f"{state} · edit", partial(self.edit, alert.id))
            )
        return entries


def line_of(drawing: Drawing, direction: Direction = Direction.EITHER) -> LineCross:
    """The alert condition of a drawn line as it is drawn now (points in seconds on the chart)."""
    (t1, p1), *rest = drawing.points
    t2, p2 = rest[0] if rest else (t1, p1)
    return LineCross(
        drawing_id=drawing.id, shape=str(drawing.kind.value),  # type: ignore[arg-type]
        t1_ms=int(t1 * 1000), p1=p1, t2_ms=int(t2 * 1000), p2=p2, direction=direction,
    )  # fmt: skip
