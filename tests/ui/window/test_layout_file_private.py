"""The window layout file, which Qt's QSettings writes, is private too: the
terminal makes it 0600 before QSettings first writes it, and QSettings keeps
the mode of a file it rewrites (real QSettings, 0022 umask)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from terminal.paths import resolve_paths

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's (Windows: profile ACLs)")


@pytest.mark.usefixtures("qapp")
def test_the_layout_file_stays_private_when_qsettings_writes_it(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        paths = resolve_paths(tmp_path / "config", tmp_path / "data")
        paths.ensure()
        layout = QSettings(str(paths.layout_file), QSettings.Format.IniFormat)
        layout.setValue("geometry", b"\x01\x02")
        layout.sync()
        assert layout.status() == QSettings.Status.NoError
    finally:
        os.umask(old)
    assert stat.S_IMODE(paths.layout_file.stat().st_mode) == 0o600
    assert QSettings(str(paths.layout_file), QSettings.Format.IniFormat).value("geometry") == b"\x01\x02"
