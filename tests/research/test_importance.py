"""Which parameters the objective depends on (``terminal.research.importance``)."""

from __future__ import annotations

import numpy as np

from terminal.research.importance import importance_text, importances
from terminal.research.space import IntParam, Space
from terminal.research.sweep import Trial, TrialState

SPACE = Space((IntParam("fast", 5, 54), IntParam("slow", 10, 109)))


def _trials(n: int = 400) -> list[Trial]:
    """The objective peaks at fast = 20 and ignores slow (but for a little noise)."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        fast, slow = int(rng.integers(5, 55)), int(rng.integers(10, 110))
        value = -abs(fast - 20) * 0.1 + float(rng.normal(0, 0.05))
        out.append(Trial(i, {"fast": fast, "slow": slow}, (value,), None, TrialState.DONE))
    return out


def test_the_parameter_that_moves_the_objective_is_the_important_one() -> None:
    found = importances(_trials(), SPACE)
    assert isinstance(found, list) and [name for name, _ in found] == ["fast", "slow"]
    assert found[0][1] > 0.8 and abs(sum(share for _, share in found) - 1.0) < 1e-9
    assert importance_text(found).startswith("Importance (PED-ANOVA): fast ")


def test_too_few_trials_or_one_parameter_are_said() -> None:
    assert "10 counted trials" in str(importances(_trials(5), SPACE))
    one = Space((IntParam("fast", 5, 54),))
    assert "two or more" in str(importances(_trials(), one))
    filtered = [Trial(t.number, t.params, t.values, None, TrialState.FILTERED) for t in _trials(50)]
    assert "there are 0" in str(importances(filtered, SPACE))
