"""Folders and files that only their owner may open.

What the terminal keeps is the user's business: the config, the history file
(every order, fill and raw exchange answer of the journal), the log, exports.
On POSIX each folder the terminal makes is 0700 and each file it writes 0600.
The mode is set when the file is made (``os.open`` with the mode, then
``fchmod``), never left to the umask, so a usual 0022 umask still gives 0600.

A folder or file of ours found with wider rights (made by an older version,
or by hand) is narrowed to its owner's bits; the functions here return what
they changed, in words, for the caller to log once logging is set up. A file
the user chose (an export over one of theirs) keeps its mode: that is
``atomic_file``'s business, not this module's.

Windows has no such modes: the data and config folders sit in the user's
profile, whose ACLs already keep other users out, and nothing here changes
anything there. macOS is POSIX and gets the same modes as Linux.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

_log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: where modes mean what they say (not Windows)
POSIX = os.name == "posix"


def mode_of(path: str | os.PathLike[str]) -> int:
    """The permission bits of ``path`` (following a symlink)."""
    return stat.S_IMODE(os.stat(path).st_mode)


def narrow(path: str | os.PathLike[str], private: int) -> str | None:
    """Take away the rights of group and others that ``private`` does not give
    (the owner's own bits stay: a file the user made read-only stays so).
    Returns what was changed, or None when nothing was (not POSIX, no such
    file, already private). A file we may not change is warned about, not
    raised: the terminal works on, and the user is told why the file stays
    as it is (before logging is set up, on stderr)."""
    if not POSIX:
        return None
    try:
        mode = mode_of(path)
    except FileNotFoundError:
        return None
    wanted = mode & ~(0o077 & ~private)
    if wanted == mode:
        return None
    try:
        os.chmod(path, wanted)
    except OSError as exc:
        _log.warning("%s is open to other users (%04o) and could not be made private: %s", path, mode, exc)
        return None
    return f"Made {path} private to its owner: its mode was {mode:04o}, now {wanted:04o}"


def make_private_dir(path: str | os.PathLike[str]) -> str | None:
    """Create the folder ``path`` 0700 (its missing parents get the usual
    rights: they are shared places such as ``~/.local/share``), or narrow it
    if it is there already; returns what was narrowed, if anything."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        if not path.is_dir():
            raise
        return narrow(path, PRIVATE_DIR)
    if POSIX:  # mkdir's mode passes through the umask; an odd one could take the owner's bits
        os.chmod(path, PRIVATE_DIR)
    return None


def create_private_file(path: str | os.PathLike[str]) -> str | None:
    """Make ``path`` an empty 0600 file if nothing is there, so that whoever
    opens it next (SQLite, a log handler, QSettings) writes into a private
    file; an existing file is narrowed instead. Returns what was narrowed."""
    try:
        fd = open_private(path)
    except FileExistsError:
        return narrow(path, PRIVATE_FILE)
    os.close(fd)
    return None


def open_private(path: str | os.PathLike[str], mode: int = PRIVATE_FILE) -> int:
    """A new file at ``path``, opened for writing with exactly ``mode``
    (``O_EXCL``: never an existing file, never through a symlink planted
    there). Returns the descriptor; the caller owns it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    if POSIX:  # os.open's mode passes through the umask
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            raise
    return fd


def log_narrowed(log: logging.Logger, changes: Iterable[str | None]) -> None:
    """Say at INFO each thing that was narrowed (None: nothing was)."""
    for change in changes:
        if change:
            log.info("%s", change)
