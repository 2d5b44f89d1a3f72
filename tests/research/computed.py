"""Which trials a sweep computed: every point handed to the evaluator that ran the
trials (serial, the fast path or the pool), whichever ``run_sweep`` chose. What the
trial cache served or a repeat reused is not handed to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from terminal.research import sweep


def count_computed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The list that collects, in order, the points every later sweep computes."""
    computed: list[dict[str, Any]] = []
    choose = sweep._evaluator

    def counting(*args: Any, **kwargs: Any) -> Any:
        evaluator, session = choose(*args, **kwargs)
        run = evaluator.run

        def counted(points: Sequence[Mapping[str, Any]], cancel: Any, *more: Any) -> Any:
            computed.extend(dict(p) for p in points)
            return run(points, cancel, *more)

        evaluator.run = counted  # type: ignore[method-assign]
        return evaluator, session

    monkeypatch.setattr(sweep, "_evaluator", counting)
    return computed
