"""What the installers say about the application, in one place.

The spec imports this module; the shell scripts ask it for one value:

    .venv/bin/python packaging/metadata.py version      # 0.1.0
    .venv/bin/python packaging/metadata.py deb_version  # 0.1.0 (Debian's spelling of the version)

The version is the package's (``terminal.__version__``), read from the source
file without importing the package, so that this works before anything is
installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _package_value(name: str) -> str:
    text = (ROOT / "terminal" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(rf'^{name}\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"terminal/__init__.py has no {name}")
    return found.group(1)


VERSION = _package_value("__version__")
DISPLAY_NAME = _package_value("APP_NAME")  # "Terminal": window titles, the .app, the Start menu
APP_ID = "terminal"  # executable, Debian package, install folder, icon and .desktop names
BUNDLE_ID = "io.github.terminal.Terminal"  # macOS CFBundleIdentifier
DESCRIPTION = "A desktop trading terminal for crypto markets: live charts, order books, trades, backtests."
COPYRIGHT = "Copyright (c) the Terminal authors. MIT licence."
# the Debian control file requires a maintainer with an address; set the real one before publishing
MAINTAINER = "Terminal maintainers <maintainers@example.invalid>"


def deb_version(version: str = VERSION) -> str:
    """PEP 440 to Debian: a pre-release sorts before its release with ``~`` (1.0rc1 -> 1.0~rc1)."""
    return re.sub(r"(\d)(a|b|rc|\.dev)(\d+)", r"\1~\2\3", version)


def windows_version(version: str = VERSION) -> tuple[int, int, int, int]:
    """The four numbers a Windows VERSIONINFO resource holds."""
    release = re.match(r"[\d.]*\d", version)
    numbers = [int(n) for n in release.group(0).split(".")] if release else []
    major, minor, patch = [*numbers, 0, 0, 0][:3]
    return major, minor, patch, 0


VALUES = {
    "version": VERSION,
    "deb_version": deb_version(),
    "display_name": DISPLAY_NAME,
    "app_id": APP_ID,
    "bundle_id": BUNDLE_ID,
    "description": DESCRIPTION,
    "copyright": COPYRIGHT,
    "maintainer": MAINTAINER,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in VALUES:
        raise SystemExit(f"usage: metadata.py {{{','.join(VALUES)}}}")
    print(VALUES[sys.argv[1]])
