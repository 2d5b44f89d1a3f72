"""The live market's views beside the chart: order book, trade tape,
watchlist, the market picker, and the bridge that brings the session's
changes to them once per frame."""
