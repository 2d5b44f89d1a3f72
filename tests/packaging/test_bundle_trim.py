"""What the bundle leaves out (packaging/bundle_trim.py), on made-up PyInstaller lists."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "packaging" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


trim = load("bundle_trim")
metadata = load("metadata")
PLUGINS = "PySide6/Qt/plugins"


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        (f"{PLUGINS}/platforms/libqxcb.so", True),
        (f"{PLUGINS}/platforms/libqwayland.so", True),
        (f"{PLUGINS}/platforms/libqoffscreen.so", True),
        (f"{PLUGINS}/platforms/qwindows.dll", True),
        (f"{PLUGINS}/platforms/libqcocoa.dylib", True),
        (f"{PLUGINS}/platforms/libqeglfs.so", False),
        (f"{PLUGINS}/platforms/libqvnc.so", False),
        (f"{PLUGINS}/platformthemes/libqgtk3.so", False),
        (f"{PLUGINS}/imageformats/libqsvg.so", True),
        (f"{PLUGINS}/imageformats/libqjpeg.so", False),
        (f"{PLUGINS}/sqldrivers/libqsqlite.so", False),
        (f"{PLUGINS}/tls/libqopensslbackend.so", False),
        ("PySide6\\Qt6\\plugins\\platforms\\qwindows.dll", True),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),  # not a plugin
        ("numpy/_core/_multiarray_umath.cpython-312-x86_64-linux-gnu.so", True),
    ],
)
def test_only_the_listed_qt_plugins_are_kept(dest: str, kept: bool) -> None:
    assert trim.keep_plugin(dest) is kept


def test_translations_and_dropped_plugins_leave_the_lists() -> None:
    toc = [
        (f"{PLUGINS}/platforms/libqxcb.so", "/x/libqxcb.so", "BINARY"),
        (f"{PLUGINS}/platformthemes/libqgtk3.so", "/x/libqgtk3.so", "BINARY"),
        ("PySide6/Qt/translations/qtbase_de.qm", "/x/qtbase_de.qm", "DATA"),
        ("PySide6/translations/qtbase_fr.qm", "/x/qtbase_fr.qm", "DATA"),  # the Windows wheel's place
        ("resources/icons/terminal.svg", "/x/terminal.svg", "DATA"),
    ]
    kept = trim.drop_plugins_and_translations(toc, lambda _line: None)
    assert [e[0] for e in kept] == [f"{PLUGINS}/platforms/libqxcb.so", "resources/icons/terminal.svg"]


def test_a_library_only_a_dropped_plugin_needed_goes_too() -> None:
    toc = [
        ("libpython3.12.so.1.0", "/s/libpython3.12.so.1.0", "BINARY"),
        ("PySide6/QtGui.abi3.so", "/s/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        (f"{PLUGINS}/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("libX11.so.6", "/s/libX11.so.6", "BINARY"),
        ("libgtk-3.so.0", "/s/libgtk-3.so.0", "BINARY"),  # the GTK theme plugin's, which is gone
        ("llvmlite/binding/libllvmlite.so", "/s/libllvmlite.so", "BINARY"),  # opened with ctypes
        ("numpy.libs/libopenblas.so", "/s/libopenblas.so", "BINARY"),  # nobody links to it here
    ]
    links = {
        "/s/QtGui.abi3.so": ["libQt6Gui.so.6"],
        "/s/libqxcb.so": ["libQt6Gui.so.6", "libX11.so.6", "libc.so.6"],
    }
    kept = trim.drop_unneeded_libraries(toc, lambda _line: None, needed=lambda p: links.get(p, []))
    assert sorted(e[0] for e in kept) == sorted(
        [
            "libpython3.12.so.1.0",
            "PySide6/QtGui.abi3.so",
            "PySide6/Qt/lib/libQt6Gui.so.6",
            "libQt6Gui.so.6",
            f"{PLUGINS}/platforms/libqxcb.so",
            "libX11.so.6",
            "llvmlite/binding/libllvmlite.so",
        ]
    )


def test_install_records_are_dropped_and_the_rest_of_the_metadata_kept() -> None:
    toc = [
        ("keyring-25.7.0.dist-info/RECORD", "/m/RECORD", "DATA"),
        ("keyring-25.7.0.dist-info/entry_points.txt", "/m/entry_points.txt", "DATA"),
        ("keyring-25.7.0.dist-info/METADATA", "/m/METADATA", "DATA"),
    ]
    assert [e[0] for e in trim.drop_install_records(toc)] == [
        "keyring-25.7.0.dist-info/entry_points.txt",
        "keyring-25.7.0.dist-info/METADATA",
    ]


def test_versions_for_debian_and_windows() -> None:
    assert __import__("terminal").__version__ == metadata.VERSION
    assert metadata.deb_version("1.2.0") == "1.2.0"
    assert metadata.deb_version("1.2.0rc1") == "1.2.0~rc1"
    assert metadata.windows_version("1.2.3") == (1, 2, 3, 0)
    assert metadata.windows_version("2.0b1") == (2, 0, 0, 0)


def test_libraries_tied_to_the_system_are_left_to_it() -> None:
    toc = [
        ("libstdc++.so.6", "/s/libstdc++.so.6", "BINARY"),
        ("libfontconfig.so.1", "/s/libfontconfig.so.1", "BINARY"),
        ("libdbus-1.so.3", "/s/libdbus-1.so.3", "BINARY"),
        ("libxcb-cursor.so.0", "/s/libxcb-cursor.so.0", "BINARY"),  # often missing: stays bundled
        ("libssl.so.3", "/s/libssl.so.3", "BINARY"),  # Python's own: stays bundled
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
    ]
    kept = trim.drop_system_libraries(toc, lambda _line: None)
    assert [e[0] for e in kept] == ["libxcb-cursor.so.0", "libssl.so.3", "PySide6/Qt/lib/libQt6Core.so.6"]
