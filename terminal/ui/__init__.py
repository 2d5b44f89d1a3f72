"""The Qt layer. pyqtgraph picks the first Qt binding it finds; pin it to
PySide6 before any module here imports pyqtgraph, so that a PyQt installed
beside it (finplot pulls in PyQt6) can never be picked instead."""

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
