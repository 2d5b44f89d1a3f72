"""Where the terminal keeps its files.

The user's config and data folders come from platformdirs; both can be moved
with ``TERMINAL_CONFIG_DIR`` / ``TERMINAL_DATA_DIR`` (tests and portable
installs use this) or the ``--config-dir`` / ``--data-dir`` arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

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

    def ensure(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)


def resolve_paths(config_dir: str | Path | None = None, data_dir: str | Path | None = None) -> AppPaths:
    """Arguments win over environment variables, which win over the platform defaults."""
    cfg = config_dir or os.environ.get("TERMINAL_CONFIG_DIR") or platformdirs.user_config_dir(APP_DIR_NAME)
    data = data_dir or os.environ.get("TERMINAL_DATA_DIR") or platformdirs.user_data_dir(APP_DIR_NAME)
    return AppPaths(Path(cfg).expanduser(), Path(data).expanduser())
