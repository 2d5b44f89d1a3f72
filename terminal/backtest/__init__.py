"""Backtesting: a pure function of (candles, strategy, parameters, settings) -> result.

Qt-free. Import what you need from the submodules; this package imports
nothing on purpose, so that ``import terminal.backtest`` does not pull in
numba (which the kernels need) before the caller had the chance to choose
numba's cache folder (``terminal.backtest.warmup.configure_cache``).

* ``runner.run_backtest``: the entry point a worker thread or process calls;
* ``settings``: costs, sizing, stops and the run settings (pydantic);
* ``strategy``: the strategy API; ``strategies``: the built-ins and their registry;
* ``user_strategies``: strategies from the user's ``.py`` files;
* ``result`` / ``metrics``: what a run returns.

Semantics (fill rules) and every metric's definition: docs/backtesting.md.
"""
