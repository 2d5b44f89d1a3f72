"""Market data as the terminal holds it, with no I/O: candles (columnar OHLCV),
timeframes, resampling, the order book and the trade tape.

The bottom of the market layers: the store keeps these, the feed
(``terminal.market``) fills them from exchanges, and everything above reads
them. Imports only ``terminal.errors``.
"""
