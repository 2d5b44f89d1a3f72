"""Start the terminal: ``python main.py`` (see README for the one-command setup)."""

import sys

# PySide6 6.12 aborts on 3.11: refuse before importing it, even if started by another Python.
if sys.version_info < (3, 12):  # noqa: UP036
    sys.exit(f"The terminal needs Python 3.12 or newer; this is {sys.version.split()[0]}.")

from terminal.app import main

if __name__ == "__main__":
    sys.exit(main())
