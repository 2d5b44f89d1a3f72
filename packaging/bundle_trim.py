"""What the one-folder bundle leaves out, applied to PyInstaller's lists (TOCs).

PyInstaller's hooks collect every Qt plugin of the modules the terminal
imports, Qt's translations, and every library those plugins link to. The
terminal needs a few of them; ``trim`` keeps those and drops the rest:

* Qt plugins: only the folders and files in ``KEEP_PLUGINS`` (the platforms
  it runs on, input methods, SVG icons, the xdg portal theme). Dropped, for
  example: the GTK 3 theme (it alone brings GTK, GDK, cairo and pango, ~20
  MB), eglfs/linuxfb/vnc platforms, printing, SQL drivers, network
  information, TLS, image formats other than SVG and ICO.
* Qt's translations: the terminal is in English and ships none.
* pip's RECORD files in the packages' metadata (the rest of it ships: entry
  points, versions, licences).
* On Linux, the libraries every desktop system has and that must match the
  system they run on (``SYSTEM_LIBRARIES``: the C++ runtime, GLib, D-Bus and
  systemd's client, fontconfig and FreeType, core X11 and xkbcommon), as
  AppImage's exclude list does: a bundled copy older than the system's breaks
  the GPU drivers, config files and daemons it meets. The .deb depends on them.
* On Linux, shared libraries that no remaining binary needs (checked by
  following each kept binary's DT_NEEDED entries, so a library that only a
  dropped plugin or system library used goes with it).

Each function takes and returns TOC entries ``(dest_name, src_name, typecode)``
and reports what it dropped, so the build log says it. Everything here is
plain Python (no PyInstaller import) so that tests can run it on made-up lists.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

Entry = tuple[str, str, str]

#: plugin folder -> the plugins kept in it (names without "lib", "q" prefix is kept,
#: no extension); a folder not listed is dropped whole
KEEP_PLUGINS: dict[str, set[str]] = {
    # xcb (X11 and XWayland), native Wayland, offscreen (tests, --self-test);
    # windows and cocoa for the other systems; direct2d is an optional Windows one
    "platforms": {"qxcb", "qwayland", "qoffscreen", "qwindows", "qcocoa"},
    "platformthemes": {"qxdgdesktopportal"},  # native file dialogs under Flatpak/portals
    "platforminputcontexts": {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"},
    "xcbglintegrations": {"qxcb-glx-integration", "qxcb-egl-integration"},
    "wayland-shell-integration": {"xdg-shell", "wl-shell-plugin"},
    "wayland-decoration-client": {"bradient", "adwaita"},
    "wayland-graphics-integration-client": {"qt-plugin-wayland-egl", "shm-emulation-server"},
    "iconengines": {"qsvgicon"},
    "imageformats": {"qsvg", "qico"},
    "styles": {"qmodernwindowsstyle", "qwindowsvistastyle", "qmacstyle"},
}

#: taken from the system on Linux (see the module's docstring); the xcb-util
#: libraries Qt's xcb plugin needs stay bundled: many systems lack libxcb-cursor
SYSTEM_LIBRARIES = re.compile(
    r"^(libstdc\+\+|libgcc_s|libglib-2\.0|libgobject-2\.0|libgio-2\.0|libgmodule-2\.0|libgthread-2\.0"
    r"|libdbus-1|libsystemd|libfontconfig|libfreetype|libexpat|libz|libpng16|libbrotli\w*"
    r"|libX11|libX11-xcb|libXau|libXdmcp|libxkbcommon|libxkbcommon-x11)\.so(\.\d+)*$"
)
_PLUGIN = re.compile(r"(^|/)plugins/(?P<folder>[^/]+)/(?P<file>[^/]+)$")
_TRANSLATION = re.compile(r"(^|/)translations/[^/]+\.qm$")  # PySide6/Qt/translations, PySide6/translations
_EXTENSION = re.compile(r"\.(cpython-[^/]*|abi3)\.(so|pyd)$|\.pyd$")
#: folders that hold only libraries other binaries link to (never loaded by name)
_DEPENDENCY_DIRS = re.compile(r"^[^/]+\.libs/|^PySide6/Qt/lib/|^shiboken6/lib")

Report = Callable[[str], None]


def plugin_name(file: str) -> str:
    """``libqxcb.so`` / ``qxcb.dll`` / ``libqxcb.dylib`` -> ``qxcb``."""
    stem = file.split(".")[0]
    return stem.removeprefix("lib")


def keep_plugin(dest: str) -> bool:
    """Whether ``dest`` is not a Qt plugin, or is one the terminal keeps."""
    found = _PLUGIN.search(dest.replace("\\", "/"))
    if found is None:
        return True
    kept = KEEP_PLUGINS.get(found["folder"])
    return kept is not None and plugin_name(found["file"]) in kept


def drop_plugins_and_translations(toc: Iterable[Entry], report: Report) -> list[Entry]:
    kept: list[Entry] = []
    plugins = translations = 0
    for entry in toc:
        dest = entry[0].replace("\\", "/")
        if _TRANSLATION.search(dest):
            translations += 1
        elif not keep_plugin(dest):
            plugins += 1
            report(f"trim: drop Qt plugin {dest}")
        else:
            kept.append(entry)
    report(f"trim: dropped {plugins} Qt plugins and {translations} translation files")
    return kept


def drop_install_records(toc: Iterable[Entry]) -> list[Entry]:
    """Without the metadata's RECORD files (pip's list of installed files, ~1 MB
    in all): nothing reads them at run time, and they list files not shipped."""
    return [e for e in toc if not re.search(r"\.dist-info[/\\]RECORD$", e[0])]


def drop_system_libraries(toc: Iterable[Entry], report: Report) -> list[Entry]:
    """Without the top-level libraries in ``SYSTEM_LIBRARIES`` (and links to them)."""
    kept: list[Entry] = []
    left = 0
    for entry in toc:
        name = entry[0].replace("\\", "/")
        if "/" not in name and SYSTEM_LIBRARIES.match(name):
            left += 1
            report(f"trim: leave to the system {name}")
        else:
            kept.append(entry)
    report(f"trim: left {left} libraries to the system")
    return kept


def is_root(dest: str) -> bool:
    """A binary loaded by name at run time (an extension module, a plugin, a
    library opened with ctypes), as opposed to one that is only linked to."""
    dest = dest.replace("\\", "/")
    if _EXTENSION.search(dest) or _PLUGIN.search(dest):
        return True
    if "/" not in dest:  # top level: Python's own library, or a dependency
        return dest.startswith("libpython")
    return not _DEPENDENCY_DIRS.search(dest)


def needed_elf(path: str) -> list[str]:
    """The DT_NEEDED names of an ELF file (``readelf``, from binutils)."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=False).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def drop_unneeded_libraries(
    binaries: Iterable[Entry], report: Report, needed: Callable[[str], list[str]] = needed_elf
) -> list[Entry]:
    """Keep the roots, and the libraries reachable from them through DT_NEEDED.

    A SYMLINK entry (PyInstaller links ``libQt6Core.so.6`` at the top level to
    ``PySide6/Qt/lib/``) is kept when its name is needed, and keeps its target."""
    entries = list(binaries)
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        by_name.setdefault(PurePosixPath(entry[0]).name, []).append(entry)
    targets = {
        e[0]: posixpath.normpath(posixpath.join(posixpath.dirname(e[0]), e[1]))
        for e in entries
        if e[2] == "SYMLINK"
    }
    by_dest = {e[0]: e for e in entries}
    reached: set[str] = set()
    todo = [e for e in entries if e[2] != "SYMLINK" and is_root(e[0])]
    while todo:
        entry = todo.pop()
        if entry[0] in reached:
            continue
        reached.add(entry[0])
        if entry[2] == "SYMLINK":
            target = by_dest.get(targets[entry[0]])
            if target is not None:
                todo.append(target)
            continue
        for name in needed(entry[1]):
            todo.extend(by_name.get(name, []))
    kept = [e for e in entries if e[0] in reached]
    dropped = [e[0] for e in entries if e[0] not in reached]
    for dest in sorted(dropped):
        report(f"trim: drop unneeded library {dest}")
    report(f"trim: dropped {len(dropped)} libraries no kept binary links to")
    return kept


def size_of(toc: Iterable[Entry]) -> int:
    return sum(Path(e[1]).stat().st_size for e in toc if e[2] != "SYMLINK" and Path(e[1]).is_file())
