"""The shortcut registry: every keyboard action, its default keys, and the
user's overrides from the config. Qt-free; ``terminal.ui.window.actions`` binds it.

Key sequences use Qt's portable text form ("Ctrl+K", "F11", "Shift+Left").
An override of "" unbinds an action; conflicts are reported, not guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.marketdata.timeframes import TIMEFRAMES


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    category: str
    default_keys: tuple[str, ...]


def _timeframe_actions() -> list[ActionSpec]:
    return [
        ActionSpec(f"timeframe.{tf}", f"Timeframe {tf}", "Chart", (str(i),))
        for i, tf in enumerate(TIMEFRAMES, start=1)
    ]


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("palette.open", "Symbol search / command palette", "General", ("Ctrl+K",)),
    ActionSpec("help.shortcuts", "Keyboard shortcuts", "General", ("F1", "Ctrl+/")),
    ActionSpec("preferences.open", "Preferences…", "General", ("Ctrl+,",)),
    ActionSpec("app.quit", "Quit", "General", ("Ctrl+Q",)),
    *_timeframe_actions(),
    ActionSpec("chart.zoom_in", "Zoom in", "Chart", ("+", "=")),
    ActionSpec("chart.zoom_out", "Zoom out", "Chart", ("-",)),
    ActionSpec("chart.pan_left", "Scroll back in time", "Chart", ("Left",)),
    ActionSpec("chart.pan_right", "Scroll forward in time", "Chart", ("Right",)),
    ActionSpec("chart.latest", "Jump to latest candle", "Chart", ("End",)),
    ActionSpec("chart.indicators", "Add indicator…", "Chart", ("/",)),
    ActionSpec("draw.hline", "Draw a horizontal line", "Chart", ("Alt+L",)),
    ActionSpec("draw.trend", "Draw a trend line", "Chart", ("Alt+D",)),
    ActionSpec("draw.ray", "Draw a ray", "Chart", ("Alt+R",)),
    ActionSpec("draw.rect", "Draw a rectangle", "Chart", ("Alt+E",)),
    ActionSpec("draw.fib", "Draw a Fibonacci retracement", "Chart", ("Alt+I",)),
    ActionSpec("draw.note", "Write a text note on the chart", "Chart", ("Alt+N",)),
    ActionSpec("alerts.add", "Add an alert at the crosshair's price…", "Alerts", ("Alt+A",)),
    ActionSpec("alerts.panel", "Alerts panel", "Alerts", ("Ctrl+Shift+A",)),
    ActionSpec("charts.1", "One chart", "View", ("Ctrl+Alt+1",)),
    ActionSpec("charts.2", "Two charts side by side", "View", ("Ctrl+Alt+2",)),
    ActionSpec("charts.4", "Four charts", "View", ("Ctrl+Alt+4",)),
    ActionSpec("market.open", "Open market…", "Market", ("Ctrl+O",)),
    ActionSpec("data.manager", "Market data: coverage, downloads, CSV", "Market", ("Ctrl+Shift+D",)),
    ActionSpec("backtest.open", "Backtest", "Market", ("Ctrl+B",)),
    ActionSpec("research.open", "Research: parameter sweeps", "Market", ("Ctrl+Shift+B",)),
    ActionSpec("market.new_simulated", "New simulated market…", "Market", ()),
    ActionSpec("window.new", "New window (another symbol or exchange)", "View", ("Ctrl+N",)),
    ActionSpec("symbol.next", "Next symbol in watchlist", "Market", ("Alt+Down",)),
    ActionSpec("symbol.previous", "Previous symbol in watchlist", "Market", ("Alt+Up",)),
    ActionSpec("layout.reset", "Reset layout", "View", ("Ctrl+Shift+R",)),
    ActionSpec("view.fullscreen", "Full screen", "View", ("F11",)),
    ActionSpec("view.theme", "Switch dark / light theme", "View", ("Ctrl+Shift+T",)),
    ActionSpec("trade.quick_ticket", "Quick order ticket (Enter sends, Esc closes)", "Trading", ("F9",)),
    ActionSpec("trade.focus_ticket", "Go to the order ticket", "Trading", ("F8",)),
    ActionSpec("trade.buy_market", "Buy at market, the ticket's amount", "Trading", ("Alt+B",)),
    ActionSpec("trade.sell_market", "Sell at market, the ticket's amount", "Trading", ("Alt+S",)),
    ActionSpec(
        "trade.buy_bid", "Buy limit at the best bid (join), the ticket's amount", "Trading", ("Alt+Shift+B",)
    ),
    ActionSpec(
        "trade.sell_ask",
        "Sell limit at the best ask (join), the ticket's amount",
        "Trading",
        ("Alt+Shift+S",),
    ),
    ActionSpec("trade.cancel_all", "Cancel all open orders", "Trading", ("Alt+X",)),
    ActionSpec(
        "trade.flatten", "Flatten: sell the position on screen at market", "Trading", ("Alt+Shift+F",)
    ),
)

#: Actions that send or cancel orders: they do nothing unless the config's
#: ``trading.hotkeys_enabled`` is on (off by default), and even then they go
#: through the order confirmation when ``trading.confirm_orders`` is on.
TRADING_HOTKEYS = frozenset(
    {
        "trade.buy_market",
        "trade.sell_market",
        "trade.buy_bid",
        "trade.sell_ask",
        "trade.cancel_all",
        "trade.flatten",
    }
)

ACTIONS_BY_ID = {a.id: a for a in ACTIONS}


def resolve_bindings(overrides: dict[str, str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Action id -> keys after applying ``overrides``, and plain-word problems
    (unknown action ids, one key bound to two actions)."""
    problems: list[str] = []
    bindings = {a.id: a.default_keys for a in ACTIONS}
    for action_id, text in overrides.items():
        if action_id not in bindings:
            problems.append(f"keybindings: no action called '{action_id}' (ignored).")
            continue
        bindings[action_id] = tuple(k.strip() for k in text.split(",") if k.strip())
    owner: dict[str, str] = {}
    for action_id, keys in bindings.items():
        for key in keys:
            other = owner.get(key.lower())
            if other is not None:
                problems.append(
                    f"keybindings: {key} is bound to both '{other}' and '{action_id}'; "
                    f"'{action_id}' loses it."
                )
                bindings[action_id] = tuple(k for k in bindings[action_id] if k != key)
            else:
                owner[key.lower()] = action_id
    return bindings, problems
