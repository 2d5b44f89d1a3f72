"""Settings every test needs, whoever runs pytest and however.

Qt tests draw offscreen: a plain ``pytest`` on a machine without a display
(CI, a container, an ssh session) would otherwise abort in Qt's platform
plugin before the first test. ``scripts/test`` sets the same.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
