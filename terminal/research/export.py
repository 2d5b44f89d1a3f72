"""A sweep's trials as a CSV file: one row per trial, in the order they ran,
with the varied parameters, each objective, every light metric, and what
became of the trial. Numbers are written as Python writes them (full
precision, a point for decimals, NaN as empty), for a spreadsheet or pandas."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from terminal.atomic_file import atomic_text
from terminal.backtest.report import ReportExportError
from terminal.research.objectives import LightMetrics, Objective
from terminal.research.sweep import Trial

METRIC_NAMES = tuple(LightMetrics.__dataclass_fields__)


def _cell(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value


def write_trials_csv(
    path: Path, trials: Sequence[Trial], names: Sequence[str], objectives: Sequence[Objective]
) -> int:
    """Write ``trials`` to ``path`` whole or not at all; the number of rows written."""
    header = ["trial", *names, *(o.value for o in objectives), *METRIC_NAMES, "state", "reason", "same_as"]
    with atomic_text(path, ReportExportError) as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for t in trials:
            metrics = t.metrics.as_dict() if t.metrics is not None else {}
            writer.writerow([
                t.number + 1,
                *(_cell(t.params.get(n, "")) for n in names),
                *(_cell(t.values[i]) if i < len(t.values) else "" for i in range(len(objectives))),
                *(_cell(metrics.get(m, "")) for m in METRIC_NAMES),
                t.state.value,
                t.reason,
                "" if t.repeat_of is None else t.repeat_of + 1,
            ])  # fmt: skip
    return len(trials)
