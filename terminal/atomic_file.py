"""Write a text file all at once or not at all.

``with atomic_text(path, CsvExportError) as f: f.write(...)`` writes into a
temporary file beside ``path`` and renames it over ``path`` only when the
block ends normally, so a reader never sees half a file and a failed export
(a full disk, a cancel) leaves the old file, or none, as it was. An
``OSError`` (missing folder, no permission, disk full) becomes the caller's
own ``TerminalError`` subclass with a plain message (or, with no error type,
propagates as it is); any other exception removes the temporary file and
propagates unchanged.

The temporary file is made exclusively (``O_EXCL``, a random name), so a
file or symlink planted beside ``path`` is never written through, and with
its final mode from the start (``terminal.private_files``): 0600 for a new
file, the old file's own mode when one is replaced (an export over a file
the user made 0640 stays 0640), or always 0600 with ``private=True`` (the
terminal's own files, such as the config).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TextIO

from terminal.errors import TerminalError
from terminal.private_files import PRIVATE_FILE, mode_of, open_private


class WriteErrorType(Protocol):
    """An error class that takes what a failed write knows (``CsvExportError`` does)."""

    def __call__(self, message: str, *, hint: str, detail: str, path: str) -> TerminalError: ...


def _final_mode(path: Path, private: bool) -> int:
    """0600, or the mode of the file ``path`` replaces (unless ``private``)."""
    if private:
        return PRIVATE_FILE
    try:
        return mode_of(path) & 0o777
    except OSError:  # nothing there yet (or nothing we may look at): a new file, private
        return PRIVATE_FILE


@contextmanager
def atomic_text(
    path: str | os.PathLike[str], error: WriteErrorType | None, *, private: bool = False
) -> Iterator[TextIO]:
    """A UTF-8 text file (``newline=""``: what is written is what lands) that
    replaces ``path`` when the block completes; see the module docstring."""
    path = Path(path)
    # same folder: os.replace is atomic only within one file system
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    made = False
    try:
        fd = open_private(tmp, _final_mode(path, private))
        made = True
        with open(fd, "w", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if made:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if error is None:
            raise
        raise error(
            f"Cannot write {path.name}: {exc.strerror or exc}.",
            hint="Choose another folder, or free some disk space. No file was written.",
            path=str(path),
            detail=repr(exc),
        ) from exc
    except BaseException:
        if made:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    if os.name == "posix":  # make the rename itself durable
        with contextlib.suppress(OSError):
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
