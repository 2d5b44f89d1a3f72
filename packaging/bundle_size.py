"""Where a one-folder bundle's bytes go, by part:

    .venv/bin/python packaging/bundle_size.py [dist/terminal]

Counts regular files (a symbolic link counts as nothing: PyInstaller links
Qt's libraries into the top folder). MB = 10^6 bytes. packaging/README.md
quotes its output.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

#: (part, pattern on the path inside the bundle), first match wins
PARTS = [
    ("Qt and PySide6", r"^_internal/(PySide6|shiboken6|libQt6|libicu)"),
    ("the executable, with all Python bytecode", r"^[^/]+$"),
    ("numpy and its OpenBLAS", r"^_internal/numpy"),
    ("pandas' compiled parts", r"^_internal/pandas"),
    ("cryptography", r"^_internal/cryptography"),
    ("TA-Lib (the chart's indicators) and its C library", r"^_internal/(talib/|ta_lib\.libs/|libta-lib)"),
    (
        "Python (libpython, stdlib extensions, OpenSSL, SQLite, compression)",
        r"^_internal/(python3|libpython|base_library|libssl|libcrypto\.|libsqlite|libffi|liblzma|libbz2|libz\.|libreadline|libtinfo|libncurses|libmpdec|libexpat|libuuid)",
    ),
    ("package metadata and licences", r"\.dist-info/"),
    ("the backtest kernels, compiled ahead of time", r"^_internal/terminal/backtest/_kernels_aot\."),
    ("the terminal's own files (migrations, icons)", r"^_internal/(terminal|resources)/"),
    ("everything else", r""),
]


def breakdown(bundle: Path) -> Counter[str]:
    sizes: Counter[str] = Counter()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(bundle).as_posix()
        part = next(part for part, pattern in PARTS if re.search(pattern, name))
        sizes[part] += path.stat().st_size
    return sizes


def main() -> None:
    bundle = Path(sys.argv[1] if len(sys.argv) > 1 else "dist/terminal")
    sizes = breakdown(bundle)
    print(f"| part of {bundle} | MB |\n| --- | --- |")
    for part, _pattern in PARTS:
        print(f"| {part} | {sizes[part] / 1e6:.1f} |")
    print(f"| **total** | **{sum(sizes.values()) / 1e6:.1f}** |")


if __name__ == "__main__":
    main()
