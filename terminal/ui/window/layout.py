"""Where a window's docks go and how much room each gets; the saved layout.

The default arrangement is built from the window's size, not replayed from a
state saved at start-up, so that Reset layout fits the screen the window is
on. Its shape:

- the order book has the right column to itself, full height (the right area
  owns the bottom-right corner), so the panels below the chart never shorten
  it; its view keeps at least ``BOOK_LEVELS`` levels a side; the depth chart
  is a tab behind it (``BEHIND``);
- the left column (which owns the bottom-left corner) holds the watchlist and
  the trade tape (one above the other when the window is tall enough, tabbed
  when it is not) with the order ticket at its foot, kept at its own minimum;
- the panels below the chart (log, orders, positions, fills, market data,
  backtest) are one tab group: opening one takes room from the chart, which
  gives way first (down to ``CHART_MIN``), never from the book or the ticket.

Panels whose content is large (backtest, market data) sit in a scroll area,
so that they cannot widen the window beyond its screen. Every dock keeps a
minimum, so a small window (1024×640) draws nothing over anything else, and
a saved arrangement whose minimum does not fit the screen it reopens on is
dropped for the default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QScrollArea,
    QStatusBar,
    QToolBar,
    QWidget,
)

log = logging.getLogger(__name__)

LAYOUT_VERSION = 3  # bump when docks are added, renamed or rearranged: old saved states are then ignored
DEFAULT_SIZE = QSize(1280, 800)
BOOK_LEVELS = 10  # the order book always shows at least this many levels a side
CHART_MIN = QSize(240, 160)  # the chart gives way first, but not to nothing
TAPE_MIN_HEIGHT = 120  # the trade tape keeps a few rows (its own minimum is none)
WATCHLIST_HEIGHT = 170  # above the tape, when they stand one above the other
SIDE_SHARE = {"left": 0.17, "right": 0.14}  # of the window's width, from the columns' least up to SIDE_MOST
SIDE_MOST = 340

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
VERTICAL, HORIZONTAL = Qt.Orientation.Vertical, Qt.Orientation.Horizontal

#: the docks of the side columns, top to bottom; every other dock goes below the chart
SIDE_COLUMNS = {LEFT: ("watchlist", "trades", "ticket"), RIGHT: ("book",)}
#: docks that are a tab behind a side column's dock (the depth chart behind the ladder, which stays in
#: front). A saved arrangement that predates one keeps it there: Qt leaves a dock the state does not
#: know in the tab group ``arrange`` put it in.
BEHIND = {"depth": "book"}
#: the panels below the chart, in the order of their tabs (others after them)
BOTTOM_TABS = ("log", "orders", "positions", "fills", "history", "data", "backtest")
RAISED = "orders"


def make_dock(
    window: QMainWindow, title: str, widget: QWidget, *, scrolled: bool = False, keep: bool = False
) -> QDockWidget:
    """A movable, floatable, closable dock around ``widget`` (in a scroll area if
    ``scrolled``: its content may then be larger than the dock), named after its title
    (the name the saved layout knows it by). ``keep``: the scroll area keeps the room
    ``widget`` needs as it is now (the ticket's fields), and what grows later (its
    messages) scrolls instead of squashing it."""
    dock = QDockWidget(title, window)
    dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
    if scrolled:
        scroll = QScrollArea(dock)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if keep else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        scroll.setWidget(widget)
        if keep:
            least = widget.minimumSizeHint()
            bar = scroll.verticalScrollBar().sizeHint().width()
            scroll.setMinimumSize(least.width() + bar, least.height())
        widget = scroll
    dock.setWidget(widget)
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    return dock


class WindowLayout(QObject):
    """The docks of ``window`` (``docks()`` names them: "watchlist", "trades", "ticket",
    "book" and the ``BOTTOM_TABS``), arranged, saved to and restored from ``layout_file``."""

    def __init__(
        self, window: QMainWindow, layout_file: Path, docks: Callable[[], Mapping[str, QDockWidget]]
    ) -> None:
        super().__init__(window)
        self.window = window
        self.docks = docks
        self._file = QSettings(str(layout_file), QSettings.Format.IniFormat)
        window.setDockNestingEnabled(True)
        # The side columns run the full height: the panels below the chart sit between them.
        window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
        window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
        central = window.centralWidget()
        if central is not None:
            central.setMinimumSize(CHART_MIN)
        # A restored geometry is fitted to its screen once shown: only then does the window
        # know its frame (title bar, borders), which Qt's own fitting leaves out.
        self._fit_when_shown = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Show and self._fit_when_shown:
            self._fit_when_shown = False
            QTimer.singleShot(0, self.fit_to_screen)
        return False

    # -- the default arrangement ------------------------------------------------------
    def arrange(self, *, fit: bool = False) -> None:
        """Put every dock in its default place, shown and docked, sized for the window as it
        is (first brought within its screen if ``fit``: the old arrangement's minimum may not
        have allowed that)."""
        window, docks = self.window, dict(self.docks())
        for dock in docks.values():
            dock.setFloating(False)
        for name in SIDE_COLUMNS[LEFT]:
            if name in docks:
                window.addDockWidget(LEFT, docks[name], VERTICAL)
        for name in SIDE_COLUMNS[RIGHT]:
            if name in docks:
                window.addDockWidget(RIGHT, docks[name], VERTICAL)
        for name, front in BEHIND.items():
            if name in docks and front in docks:
                window.tabifyDockWidget(docks[front], docks[name])
        sides = {*SIDE_COLUMNS[LEFT], *SIDE_COLUMNS[RIGHT], *BEHIND}
        order = {name: i for i, name in enumerate(BOTTOM_TABS)}
        bottom = sorted((n for n in docks if n not in sides), key=lambda n: order.get(n, len(order)))
        for name in bottom:
            window.addDockWidget(BOTTOM, docks[name], HORIZONTAL)
        for name in bottom[1:]:
            window.tabifyDockWidget(docks[bottom[0]], docks[name])
        for dock in docks.values():
            dock.show()
        if "trades" in docks:
            docks["trades"].setMinimumHeight(TAPE_MIN_HEIGHT)
        if fit:
            self.fit_to_screen()
        tall = self._tall_enough(docks)
        if not tall and "watchlist" in docks and "trades" in docks:
            window.tabifyDockWidget(docks["watchlist"], docks["trades"])
            docks["watchlist"].raise_()
        if RAISED in docks:
            docks[RAISED].raise_()
        for front in BEHIND.values():
            if front in docks:
                docks[front].raise_()
        self._size(docks, tall)

    def _room(self) -> QSize:
        """The window's room for the chart and the docks: less its menus, toolbars and status bar."""
        window = self.window
        bars: list[QWidget | None] = [window.menuWidget(), window.findChild(QStatusBar)]
        bars += [
            bar
            for bar in window.findChildren(QToolBar)
            if window.toolBarArea(bar) in (Qt.ToolBarArea.TopToolBarArea, Qt.ToolBarArea.BottomToolBarArea)
        ]
        chrome = sum(bar.sizeHint().height() for bar in bars if bar is not None and not bar.isHidden())
        return QSize(window.width(), max(window.height() - chrome, 0))

    def _tall_enough(self, docks: Mapping[str, QDockWidget]) -> bool:
        """Whether the watchlist and the trade tape can stand one above the other over the ticket."""
        ticket = docks.get("ticket")
        ticket_height = ticket.minimumSizeHint().height() if ticket is not None else 0
        return self._room().height() >= ticket_height + WATCHLIST_HEIGHT + 2 * TAPE_MIN_HEIGHT

    def _size(self, docks: Mapping[str, QDockWidget], tall: bool) -> None:
        window, room = self.window, self._room()
        left = [docks[name] for name in SIDE_COLUMNS[LEFT] if name in docks]
        if left:
            least = max(d.minimumSizeHint().width() for d in left)
            wanted = max(least, int(room.width() * SIDE_SHARE["left"]))
            window.resizeDocks([left[0]], [min(wanted, SIDE_MOST)], HORIZONTAL)
        if "book" in docks:
            book = docks["book"]
            wanted = max(book.widget().sizeHint().width(), int(room.width() * SIDE_SHARE["right"]))
            window.resizeDocks([book], [min(wanted, SIDE_MOST)], HORIZONTAL)
        if "ticket" in docks:
            ticket = docks["ticket"]
            column = [ticket]
            heights = [ticket.sizeHint().height()]
            if tall and "watchlist" in docks and "trades" in docks:
                column[:0] = [docks["watchlist"], docks["trades"]]
                rest = room.height() - heights[0]
                watchlist = min(WATCHLIST_HEIGHT, rest // 3)
                heights[:0] = [watchlist, rest - watchlist]
            window.resizeDocks(column, heights, VERTICAL)
        bottom = self._bottom_dock(docks)
        if bottom is not None:
            window.resizeDocks([bottom], [self._bottom_height(room, tall=False)], VERTICAL)

    @staticmethod
    def _bottom_height(room: QSize, *, tall: bool) -> int:
        """How high the panels below the chart stand: a tall panel (backtest, market
        data) higher, up to half the room (the chart keeps the other half)."""
        if tall:
            return max(min(room.height() // 2, 420), 200)
        return max(min(room.height() * 28 // 100, 260), 140)

    def _bottom_dock(self, docks: Mapping[str, QDockWidget]) -> QDockWidget | None:
        """A dock of the group below the chart, as it is now (the user may have moved them)."""
        window = self.window
        for name in BOTTOM_TABS:
            dock = docks.get(name)
            if (
                dock is not None
                and window.dockWidgetArea(dock) == BOTTOM
                and not dock.isFloating()
                and not dock.isHidden()
            ):
                return dock
        return None

    # -- panels made on first use -----------------------------------------------------
    def add_bottom_panel(self, dock: QDockWidget, *, tall: bool) -> None:
        """Dock a panel made on first use in the tab group below the chart (a new group
        if there is none); a ``tall`` one (a form and results) gets more height, from the chart."""
        window = self.window
        group = self._bottom_dock({n: d for n, d in self.docks().items() if d is not dock})
        window.addDockWidget(BOTTOM, dock)
        if group is not None:
            window.tabifyDockWidget(group, dock)
        if tall:
            room = self._room()
            now = dock.height() if group is None else group.height()
            wanted = max(now, self._bottom_height(room, tall=True))
            window.resizeDocks([dock], [wanted], VERTICAL)

    @staticmethod
    def show_panel(dock: QDockWidget) -> None:
        """Show ``dock`` and bring it to the front of its tab group."""
        dock.show()
        dock.raise_()

    # -- the screen ---------------------------------------------------------------------
    def fit_to_screen(self) -> None:
        """Make the window no larger than the screen it is on, and move it onto it."""
        window = self.window
        if window.isMaximized() or window.isFullScreen():
            return
        layout = window.layout()
        if layout is not None:
            layout.activate()  # the window's minimum as its docks stand now, not as they stood
        available = window.screen().availableGeometry()
        frame = window.frameGeometry()
        extra = frame.size() - window.size()  # the window manager's frame and title bar
        most = available.size() - extra
        size = window.size().boundedTo(most).expandedTo(window.minimumSize())
        if size != window.size():
            window.resize(size)
        frame = window.frameGeometry()
        window.move(_inside(frame, available).topLeft() + (window.pos() - frame.topLeft()))

    def fits_screen(self) -> bool:
        """Whether the window's docks, at their minimum sizes, fit on its screen."""
        least = self.window.minimumSizeHint()
        available = self.window.screen().availableGeometry().size()
        return least.width() <= available.width() and least.height() <= available.height()

    # -- saved and restored -----------------------------------------------------------------
    def restore(self) -> None:
        """The window as it was last closed (size, place, docks), or the default; a saved
        arrangement that cannot fit this screen gives way to the default."""
        window = self.window
        geometry = self._file.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)  # Qt fits it to its screen, but for the frame
            self._fit_when_shown = True
        else:  # a new window: the window manager places it (and fits it to the screen)
            window.resize(DEFAULT_SIZE)
        self.arrange()
        state = self._file.value("state")
        if not isinstance(state, QByteArray) or state.isEmpty():
            return
        if not window.restoreState(state, LAYOUT_VERSION):
            log.info("Saved window layout is from another version; using the default layout.")
        elif not self.fits_screen():
            log.info("Saved window layout does not fit this screen; using the default layout.")
            self.arrange(fit=True)

    def save(self, extra: Mapping[str, int] | None = None) -> None:
        """Save the window's size, place and docks, and ``extra`` view choices (the
        book's levels) that belong with them."""
        self._file.setValue("geometry", self.window.saveGeometry())
        self._file.setValue("state", self.window.saveState(LAYOUT_VERSION))
        for key, value in (extra or {}).items():
            self._file.setValue(f"view/{key}", value)
        self._file.sync()

    def save_text(self, key: str, text: str) -> None:
        """A view's own state as text (a chart's indicators), kept at once."""
        self._file.setValue(f"view/{key}", text)
        self._file.sync()

    def saved_text(self, key: str) -> str | None:
        value = self._file.value(f"view/{key}")
        return value if isinstance(value, str) else None

    def saved_choice(self, key: str) -> int | None:
        """A view choice ``save`` kept (None: none, or not a whole number)."""
        value = self._file.value(f"view/{key}")
        try:
            return int(str(value)) if value is not None else None
        except ValueError:
            return None

    def reset(self) -> None:
        """The default arrangement, with the window brought within its screen first."""
        window = self.window
        if window.isFullScreen():
            window.showNormal()
        self.arrange(fit=True)


def _inside(rect: QRect, bounds: QRect) -> QRect:
    """``rect`` moved (not resized) as little as needed to lie within ``bounds``
    (its top-left corner inside, if it is larger)."""
    x = max(bounds.left(), min(rect.left(), bounds.right() + 1 - rect.width()))
    y = max(bounds.top(), min(rect.top(), bounds.bottom() + 1 - rect.height()))
    return QRect(x, y, rect.width(), rect.height())
