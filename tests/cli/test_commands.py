"""Dot commands in scripts: the registry, each command, and errors located like SQL's."""

from __future__ import annotations

from pathlib import Path

from sqllake.cli.commands import COMMANDS, Call
from tests.cli.conftest import CliRunner

SETUP = "CREATE SCHEMA s; CREATE TABLE s.t (id BIGINT NOT NULL, name VARCHAR);\n"


def test_help_lists_every_command_with_its_help(cli: CliRunner) -> None:
    run = cli(stdin=".help\n")
    assert run.code == 0
    for name, command in COMMANDS.items():
        assert f".{command.usage}" in run.out and command.help in run.out, name
    assert {"help", "tables", "schema", "mode", "read", "quit"} <= set(COMMANDS)


def test_tables_and_schema(cli: CliRunner) -> None:
    run = cli("--format", "csv", stdin=SETUP + ".tables s\n.schema s.t\n")
    assert (run.code, run.err) == (0, "")
    assert run.out.startswith('name\nt\nCREATE TABLE "s"."t" (\n  "id" BIGINT NOT NULL,\n')
    assert run.out.endswith(");\n")


def test_schema_without_a_table_shows_every_table_of_the_schema(cli: CliRunner) -> None:
    run = cli(stdin=SETUP + "USE s;\nCREATE TABLE u (x INT);\n.schema\n")
    assert run.code == 0, run.err
    assert run.out.count("CREATE TABLE") == 2
    assert '"s"."t"' in run.out and '"s"."u"' in run.out


def test_mode_switches_the_format(cli: CliRunner) -> None:
    run = cli(stdin="SELECT 1 AS a;\n.mode jsonl\nSELECT 2 AS a;\n.mode\n")
    assert run.out == " a\n---\n 1\n(1 row)\n\n" + '{"a": 2}\n' + "jsonl\n"


def test_bad_arguments_point_at_the_argument(cli: CliRunner) -> None:
    run = cli(stdin="SELECT 1;\n  .mode xml\n")
    assert run.code == 1
    assert run.err.splitlines() == [
        "<stdin>:2:9: ProgrammingError: unknown format 'xml'; one of: "
        "table, csv, json, jsonl, markdown",
        "  .mode xml",
        "        ^",
    ]
    missing = cli(stdin=".schema nothere\n")
    assert missing.err.startswith("<stdin>:1:9: ProgrammingError: table default.nothere")


def test_unknown_command_is_a_located_error(cli: CliRunner) -> None:
    run = cli(stdin="SELECT 1;\n.frobnicate now\n")
    assert run.code == 1
    assert run.err.splitlines() == [
        "<stdin>:2:1: ProgrammingError: unknown command .frobnicate (.help lists them)",
        ".frobnicate now",
        "^",
    ]


def test_read_runs_a_script_and_reports_errors_in_it(cli: CliRunner, tmp_path: Path) -> None:
    inner = tmp_path / "inner.sql"
    inner.write_text("SELECT 'inner' AS w;\n\nSELECT * FROM gone;\n")
    run = cli("--format", "csv", stdin=f"SELECT 'outer' AS w;\n.read '{inner}'\nSELECT 3 AS z;\n")
    assert run.code == 1
    assert run.out == "w\nouter\nw\ninner\n"  # the outer script stops after .read failed
    assert run.err.startswith(f"{inner}:3:15: ProgrammingError: table default.gone does not exist")
    assert run.err.count("Error") == 1  # reported once, where it happened


def test_read_of_a_missing_file(cli: CliRunner, tmp_path: Path) -> None:
    run = cli(stdin=f".read {tmp_path / 'nope.sql'}\n")
    assert run.code == 1
    assert run.err.startswith(f"<stdin>:1:7: OperationalError: cannot read {tmp_path}")


def test_read_of_itself_stops(cli: CliRunner, tmp_path: Path) -> None:
    script = tmp_path / "loop.sql"
    script.write_text(f".read {script}\n")
    run = cli(str(script))
    assert run.code == 1
    assert "ProgrammingError: .read nested more than 16 deep" in run.err


def test_quit_stops_the_script(cli: CliRunner) -> None:
    run = cli("--format", "csv", stdin="SELECT 1 AS a;\n.quit\nSELECT 2 AS b;\n")
    assert (run.code, run.out) == (0, "a\n1\n")


def test_call_parsing() -> None:
    call = Call.parse('.read "my file.sql";')
    assert (call.name, call.args, call.offsets) == ("read", ("my file.sql",), (6,))
    assert call.at(5) == 0 and call.arg(1) is None
