"""The shell's state, and the one place errors are printed with their location."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sqllake.cli.render import RenderOptions
from sqllake.dbapi import Connection
from sqllake.errors import Location


def state_dir() -> Path:
    """Where history and logs live (XDG state folder)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    path = Path(base) / "sqllake"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_path() -> Path:
    return state_dir() / "sqllake.log"


@dataclass
class ShellState:
    """What the shell's settings and dot commands change."""

    connection: Connection
    mode: str = "table"
    timer: bool = False
    max_rows: int = 1000
    out: TextIO = field(default_factory=lambda: sys.stdout)
    terminal: TextIO = field(default_factory=lambda: sys.stdout)  # where .output returns
    err: TextIO = field(default_factory=lambda: sys.stderr)
    quit: bool = False
    interactive: bool = False

    @property
    def options(self) -> RenderOptions:
        return RenderOptions(max_rows=self.max_rows)


def report(state: ShellState, source: str, text: str, offset: int, kind: str, message: str) -> None:
    """Print ``SOURCE:LINE:COL: Kind: message``, the source line and a caret."""
    where = Location.of(text, offset)
    line = text.splitlines()[where.line - 1] if text.splitlines() else ""
    state.err.write(f"{source}:{where.line}:{where.col}: {kind}: {message}\n")
    state.err.write(f"  {line}\n  {' ' * (where.col - 1)}^\n")
    state.err.flush()
