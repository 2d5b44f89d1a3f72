"""Tests marked ``packaging`` build the installers (minutes): pytest deselects
them unless asked, so a plain ``pytest`` stays quick. Ask with
``TERMINAL_BUILD_BUNDLE=1`` (``scripts/test`` sets it; see there) or with a
marker expression that names them (``-m packaging``). Deselected tests are
counted as deselected, never as passed."""

from __future__ import annotations

import os

import pytest

SWITCH = "TERMINAL_BUILD_BUNDLE"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SWITCH) == "1" or "packaging" in (config.getoption("markexpr") or ""):
        return
    builds = [item for item in items if item.get_closest_marker("packaging") is not None]
    if builds:
        config.hook.pytest_deselected(items=builds)
        items[:] = [item for item in items if item.get_closest_marker("packaging") is None]
