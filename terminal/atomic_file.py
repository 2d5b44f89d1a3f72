"""Write a text file all at once or not at all.

``with atomic_text(path, CsvExportError) as f: f.write(...)`` writes into a
temporary file beside ``path`` and renames it over ``path`` only when the
block ends normally, so a reader never sees half a file and a failed export
(a full disk, a cancel) leaves the old file, or none, as it was. An
``OSError`` (missing folder, no permission, disk full) becomes the caller's
own ``TerminalError`` subclass with a plain message; any other exception
removes the temporary file and propagates unchanged.
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


class WriteErrorType(Protocol):
    """An error class that takes what a failed write knows (``CsvExportError`` does)."""

    def __call__(self, message: str, *, hint: str, detail: str, path: str) -> TerminalError: ...


@contextmanager
def atomic_text(path: str | os.PathLike[str], error: WriteErrorType) -> Iterator[TextIO]:
    """A UTF-8 text file (``newline=""``: what is written is what lands) that
    replaces ``path`` when the block completes; see the module docstring."""
    path = Path(path)
    # same folder: os.replace is atomic only within one file system
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise error(
            f"Cannot write {path.name}: {exc.strerror or exc}.",
            hint="Choose another folder, or free some disk space. No file was written.",
            path=str(path),
            detail=repr(exc),
        ) from exc
    except BaseException:
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
