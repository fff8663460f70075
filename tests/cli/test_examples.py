"""Docs are tests: every script in sql_examples/ runs, twice, with the same output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPO, CliRunner

EXAMPLES = sorted((REPO / "sql_examples").glob("*.sql"))


def test_there_are_examples() -> None:
    names = {path.name for path in EXAMPLES}
    assert {"quickstart.sql", "csv_import.sql"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_example_runs_from_the_repository_root(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, example: Path
) -> None:
    monkeypatch.chdir(REPO)  # the examples' relative paths are relative to the root
    first = cli(str(example.relative_to(REPO)))
    assert (first.code, first.err) == (0, "")
    assert "rows)" in first.out  # each example prints query results
    again = cli(str(example.relative_to(REPO)))
    assert (again.code, again.out, again.err) == (0, first.out, "")


def test_csv_import_loads_every_row(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert cli("sql_examples/csv_import.sql").code == 0
    run = cli("--format", "csv", "-c", "SELECT id, name, price FROM demo.products ORDER BY id")
    assert run.out == (
        'id,name,price\n1,keyboard,49.90\n2,mouse,19.50\n3,monitor,189.00\n4,"cable, usb-c",7.25\n'
    )
