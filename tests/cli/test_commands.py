"""Dot commands in scripts: the registry, each command, and errors located like SQL's."""

from __future__ import annotations

import re
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
    assert {"timer", "output", "snapshots", "maxrows"} <= set(COMMANDS)


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
        "table, csv, json, jsonl, markdown, line",
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


def test_read_of_a_folder(cli: CliRunner, tmp_path: Path) -> None:
    run = cli(stdin=f".read {tmp_path}\n")
    assert run.code == 1
    assert run.err.startswith(
        f"<stdin>:1:7: OperationalError: cannot read {tmp_path}: Is a directory\n"
    )


def test_read_of_a_script_that_is_not_utf8_points_into_it(cli: CliRunner, tmp_path: Path) -> None:
    inner = tmp_path / "latin1.sql"
    inner.write_bytes(b"SELECT 1 AS a;\n-- d\xe9j\xe0 vu\n")
    run = cli("--format", "csv", stdin=f"SELECT 0 AS z;\n.read {inner}\nSELECT 2 AS b;\n")
    assert run.code == 1
    assert run.out == "z\n0\n"  # nothing of the script ran, nor what follows .read
    assert run.err.splitlines() == [
        f"{inner}:2:5: DataError: not UTF-8 text at byte 0xe9 (invalid continuation byte); "
        "scripts must be UTF-8",
        "-- d\ufffdj\ufffd vu",
        "    ^",
    ]


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


def test_timer_prints_each_statements_time(cli: CliRunner) -> None:
    run = cli(
        "--format", "csv", stdin=".timer\n.timer on\nSELECT 1 AS a;\n.timer off\nSELECT 2 AS b;\n"
    )
    assert run.code == 0, run.err
    assert re.fullmatch(r"off\na\n1\nTime: \d+\.\d{3} s\nb\n2\n", run.out), run.out
    bad = cli(stdin=".timer maybe\n")
    assert bad.err.startswith("<stdin>:1:8: ProgrammingError: .timer takes on or off")


def test_output_sends_results_to_a_file_and_back(cli: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    script = f".output {target}\nSELECT 1 AS a;\n.output\nSELECT 2 AS b;\n"
    run = cli("--format", "csv", stdin=script)
    assert (run.code, run.out) == (0, "b\n2\n"), run.err
    assert target.read_text() == "a\n1\n"
    missing = cli(stdin=f".output {tmp_path / 'no' / 'such.txt'}\n")
    assert missing.err.startswith("<stdin>:1:9: OperationalError: cannot write")


def test_snapshots_lists_a_tables_snapshots(cli: CliRunner) -> None:
    # Large enough to skip the insert buffer: each INSERT commits a snapshot.
    insert = "INSERT INTO s.t SELECT i, 'x' FROM range(20000) r(i);\n"
    script = SETUP + insert * 2
    run = cli("--format", "csv", stdin=script + ".snapshots s.t\n")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "committed_at,snapshot_id,parent_id,operation"
    assert len(lines) == 3 and all(line.endswith(",append") for line in lines[1:])
    assert lines[2].split(",")[2] == lines[1].split(",")[1]  # the parent is the first one
    missing = cli(stdin=".snapshots nope\n")
    assert missing.err.startswith("<stdin>:1:12: ProgrammingError: table default.nope")


def test_maxrows_shows_the_first_rows_and_counts_the_rest(cli: CliRunner) -> None:
    query = "SELECT i FROM range(25000) t(i) ORDER BY i;\n"
    run = cli(stdin=".maxrows 2\n.maxrows\n" + query)
    assert run.code == 0, run.err
    assert run.out == "2\n i\n---\n 0\n 1\n(2 rows)\n\n... 24998 more rows (.maxrows 2)\n"
    csv = cli("--format", "csv", stdin=".maxrows 2\nSELECT i FROM range(5) t(i);\n")
    assert csv.out.count("\n") == 6  # formats for programs are never cut
    bad = cli(stdin=".maxrows lots\n")
    assert "ProgrammingError: .maxrows takes a number" in bad.err


def test_mode_line(cli: CliRunner) -> None:
    run = cli(
        stdin=".mode line\nSELECT 1 AS id, 'x' AS name UNION ALL SELECT 2, NULL ORDER BY id;\n"
    )
    assert run.out == "  id = 1\nname = x\n\n  id = 2\nname = NULL\n"


def test_tables_takes_a_glob_pattern(cli: CliRunner) -> None:
    setup = (
        "CREATE SCHEMA s; CREATE TABLE s.events (a INT); "
        "CREATE TABLE evts (a INT); CREATE TABLE other (a INT);"
    )
    run = cli("--format", "csv", "-c", setup, "-c", ".tables ev*")
    assert run.code == 0, run.err
    assert run.out.splitlines() == ["name", "default.evts", "s.events"]


def test_tables_plus_adds_each_tables_statistics(cli: CliRunner) -> None:
    setup = (
        "CREATE SCHEMA s; CREATE TABLE s.events (a INT); INSERT INTO s.events VALUES (1), (2);"
        "FLUSH s.events; CREATE TABLE s.empty (a INT);"
    )
    run = cli("--format", "csv", "-c", setup, "-c", ".tables+ s", "-c", ".tables+ s.ev*")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    header = (
        "name,row_count,data_files,delete_files,total_bytes,snapshot_count,last_modified,"
        "last_operation,schema_id"
    )
    assert lines[0] == header and lines[3] == header
    assert lines[1].startswith("empty,0,0,0,0,0,") and lines[1].endswith(",,0")
    assert lines[2].startswith("events,2,1,0,") and lines[2].endswith(",append,0")
    assert lines[4].startswith("s.events,2,1,0,")
