"""The Qt layer. pyqtgraph and qasync each pick the first Qt binding they
find; both are pinned to PySide6 before anything imports them, so that a
PyQt installed beside it (finplot pulls in PyQt6) can never be picked."""

import os


def pin_qt_binding() -> None:
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    os.environ.setdefault("QT_API", "pyside6")


pin_qt_binding()  # every module below terminal.ui is imported after this
