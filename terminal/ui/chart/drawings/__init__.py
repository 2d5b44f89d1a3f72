"""Drawings on the chart: horizontal lines, trend lines, rays, rectangles,
Fibonacci retracements and text notes, kept per exchange and symbol (docs/drawings.md).

``DrawingLayer`` puts them on a ``ChartWidget`` and handles the mouse, keys,
undo and the context menu; ``DrawingKeeper`` loads and saves a market's
drawings in the history file.
"""
