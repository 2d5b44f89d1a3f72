"""Undo and redo of what the user did to the drawings: add, move, delete, edit.

Every step changes one drawing and keeps it as it was and as it became
(``None`` where it did not exist), with its place among the drawings, so that
undoing a delete puts the drawing back where it was in the drawing order.
Drawings are immutable, so a step is two references: no copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.ui.chart.drawings.model import Drawing

DEPTH = 200  # steps kept; older ones cannot be undone


@dataclass(frozen=True)
class Step:
    before: Drawing | None  # None: the step added the drawing
    after: Drawing | None  # None: the step deleted it
    index: int  # its place in the drawing order (where a deleted one goes back)

    @property
    def id(self) -> str:
        drawing = self.after or self.before
        assert drawing is not None, "a step changes a drawing"
        return drawing.id

    def reversed(self) -> Step:
        return Step(self.after, self.before, self.index)


class UndoStack:
    def __init__(self, depth: int = DEPTH) -> None:
        self.depth = depth
        self._done: list[Step] = []
        self._undone: list[Step] = []

    def push(self, step: Step) -> None:
        """A new step: what was undone before it can no longer be redone."""
        self._done.append(step)
        del self._done[: -self.depth]
        self._undone.clear()

    def undo(self) -> Step | None:
        """The step that takes the last one back (to apply), or None when there is none."""
        if not self._done:
            return None
        step = self._done.pop()
        self._undone.append(step)
        return step.reversed()

    def redo(self) -> Step | None:
        if not self._undone:
            return None
        step = self._undone.pop()
        self._done.append(step)
        return step

    def clear(self) -> None:
        self._done.clear()
        self._undone.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)
