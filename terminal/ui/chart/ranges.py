"""Ranges that hold: an axis that moves only when what it shows leaves it.

A live candle's values move a little at each tick. An axis fitted to them exactly would
move too, and with it its labels, the grid and every item's place on screen, and the
plot's still picture (``still.py``) would be made again at every tick. A held range
stays while it holds the values and is not much looser than they need.
"""

from __future__ import annotations

HELD_SLACK = 0.02  # a range held while it is at most this much (of the span) looser than needed
VOLUME_HEADROOM = 0.1  # above the highest volume bar in view
GROWING_HEADROOM = 0.3  # above a bar that outgrew the top: a live bar grows through its candle
VOLUME_SLACK = 0.3  # the volume's top held while at most this much (of the bar) higher than needed


def held_range(held: tuple[float, float] | None, lo: float, hi: float, margin: float) -> tuple[float, float]:
    """A range for values from ``lo`` to ``hi``: ``held`` while it holds them and is not much
    looser than they need, else [lo, hi] widened by ``margin`` of its span on each side."""
    span = hi - lo
    loose = span * (1.0 + 2.0 * margin + HELD_SLACK) + 1e-12 * max(abs(lo), abs(hi))
    if held is not None and held[0] <= lo and hi <= held[1] and held[1] - held[0] <= loose:
        return held
    extra = span * margin
    return (lo - extra, hi + extra)


def held_top(held: float | None, highest: float) -> float:
    """The volume pane's top for bars up to ``highest`` (its bottom is 0): ``held`` while the
    bars fit under it and it is not much higher than they need."""
    if held is not None and highest <= held <= highest * (1.0 + VOLUME_HEADROOM + VOLUME_SLACK):
        return held
    if held is not None and 0 < held < highest:  # outgrown: most likely by the live bar, still growing
        return highest * (1.0 + GROWING_HEADROOM)
    return highest * (1.0 + VOLUME_HEADROOM)
