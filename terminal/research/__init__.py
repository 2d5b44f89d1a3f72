"""The research lab: parameter sweeps, walk-forward, Monte Carlo and the odds
that a result is overfit, over the backtest engine (docs/research.md).

Qt-free, above ``terminal.backtest`` and below ``terminal.ui``. Like the
backtest package it imports nothing itself: import the submodules.
"""
