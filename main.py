"""Start the terminal: ``python main.py`` (see README for the one-command setup)."""

import sys

# PySide6 6.12 aborts on 3.11: refuse before importing it, even if started by another Python.
if sys.version_info < (3, 12):  # noqa: UP036
    sys.exit(f"The terminal needs Python 3.12 or newer; this is {sys.version.split()[0]}.")

if __name__ == "__main__":
    import multiprocessing

    # The strategies' process is started with "spawn": in the installed bundle it is
    # this executable again, which freeze_support() turns into that process. The
    # import below stays here so that a spawned process does not load the window's code.
    multiprocessing.freeze_support()
    from terminal.app import main

    sys.exit(main())
