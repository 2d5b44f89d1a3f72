"""Preferences (Ctrl+,): the settings a user changes from the app (theme, watchlist,
trading switches, risk limits, the simulator's seed), and the watchlist edited where
it is shown (its context menu, the palette). Every change goes through
``ConfigStore.change``: validated as the config is, written atomically, and
announced to every window."""
