"""Where the terminal keeps its files.

The user's config and data folders come from platformdirs; both can be moved
with ``TERMINAL_CONFIG_DIR`` / ``TERMINAL_DATA_DIR`` (tests and portable
installs use this) or the ``--config-dir`` / ``--data-dir`` arguments.

Both folders, and the ones the terminal makes inside them, are private to the
user (0700 on POSIX, ``terminal.private_files``): the config names the
accounts, the data folder holds the journal of every order and the log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from terminal.private_files import PRIVATE_FILE, create_private_file, make_private_dir, narrow

APP_DIR_NAME = "terminal"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def layout_file(self) -> Path:
        """Window layout and geometry (QSettings, INI format)."""
        return self.config_dir / "layout.ini"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def ensure(self) -> list[str]:
        """Make the folders (0700), or narrow them and the config file if an
        older version or the user left them readable by others. Returns what
        was narrowed, in words: this runs before logging is set up, so the
        caller logs it (at INFO) once it is.

        The window layout file is made here, empty and 0600, when it is
        missing: QSettings creates files with the umask's rights but keeps
        the rights of a file it rewrites."""
        changed = [make_private_dir(folder) for folder in (self.config_dir, self.data_dir, self.log_dir)]
        changed.append(narrow(self.config_file, PRIVATE_FILE))
        changed.append(create_private_file(self.layout_file))
        return [line for line in changed if line]


def resolve_paths(config_dir: str | Path | None = None, data_dir: str | Path | None = None) -> AppPaths:
    """Arguments win over environment variables, which win over the platform defaults."""
    cfg = config_dir or os.environ.get("TERMINAL_CONFIG_DIR") or platformdirs.user_config_dir(APP_DIR_NAME)
    data = data_dir or os.environ.get("TERMINAL_DATA_DIR") or platformdirs.user_data_dir(APP_DIR_NAME)
    return AppPaths(Path(cfg).expanduser(), Path(data).expanduser())
