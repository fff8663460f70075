"""Where the command line keeps its files: the XDG state folder (history, error log)."""

from __future__ import annotations

import os
from pathlib import Path


def state_dir() -> Path:
    """``$XDG_STATE_HOME/sqllake``, default ``~/.local/state/sqllake`` (created on demand)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folder = Path(base) / "sqllake"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def history_file() -> Path:
    return state_dir() / "history"


def log_file() -> Path:
    return state_dir() / "sqllake.log"
