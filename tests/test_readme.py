"""The README is executable: its Python example runs; its Quick start is the two commands."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_quick_start_is_exactly_the_two_commands() -> None:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert block.strip().splitlines() == [
        "pip install . && sqllake sql_examples/quickstart.sql",
        "pip install -e '.[test]' && pytest -q",
    ]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest -q" in ci


def test_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PEP 249 example, then the subscription example on the table it made."""
    first, second = _blocks("python")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SQLLAKE_WAREHOUSE", raising=False)
    monkeypatch.delenv("SQLLAKE_CATALOG", raising=False)
    printed: list[tuple[object, ...]] = []
    for example in (first, textwrap.dedent(second)):
        namespace: dict[str, object] = {"print": lambda *args: printed.append(args)}
        exec(compile(example, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    assert (tmp_path / "lakehouse" / "catalog.db").exists()
    assert os.listdir(tmp_path / "lakehouse" / "default" / "events" / "data")
    assert printed[-1] == ("append", 1)
