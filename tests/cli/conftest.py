"""Fixtures for the command line: a warehouse per test and a private XDG state folder."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sqllake.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    """What one command-line run gave back."""

    code: int
    out: str
    err: str


CliRunner = Callable[..., Run]


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """History and the error log go to the test's folder, never to the real home."""
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    monkeypatch.delenv("SQLLAKE_WAREHOUSE", raising=False)
    monkeypatch.delenv("SQLLAKE_CATALOG", raising=False)
    return home


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, warehouse: Path
) -> CliRunner:
    """Run ``main`` in-process on the test's warehouse; ``stdin`` is piped text."""

    def run(*args: str, stdin: str | None = None) -> Run:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--warehouse", str(warehouse), *args])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run
