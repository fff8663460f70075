"""The command line run in-process: sources, exit status, located errors, dot commands."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import sqllake
from sqllake.cli.main import main, parser
from sqllake.cli.shell import Shell
from sqllake.session import Session
from tests.cli.conftest import CliRunner

SYNTAX_ERROR_ON_LINE_3 = """\
CREATE TABLE t (id BIGINT);
INSERT INTO t VALUES (1);
SELECT id FROM t WHERE id = = 1;
SELECT 'not reached' AS after;
"""


def test_command_prints_a_table(cli: CliRunner) -> None:
    run = cli("-c", "SELECT 42 AS answer")
    assert (run.code, run.err) == (0, "")
    assert run.out == " answer\n--------\n     42\n(1 row)\n\n"


def test_commands_run_in_order_and_share_the_session(cli: CliRunner) -> None:
    run = cli("-c", "CREATE TABLE t (x INT)", "-c", "INSERT INTO t VALUES (7)", "-c",
              "SELECT x FROM t", "--format", "csv")  # fmt: skip
    assert (run.code, run.out, run.err) == (0, "x\n7\n", "")


def test_syntax_error_is_located_in_the_script(cli: CliRunner, tmp_path: Path) -> None:
    script = tmp_path / "bad.sql"
    script.write_text(SYNTAX_ERROR_ON_LINE_3)
    run = cli(str(script))
    assert run.code == 1
    assert run.err.startswith(f"{script}:3:29: ProgrammingError: ")
    assert run.err.splitlines()[1:] == ["SELECT id FROM t WHERE id = = 1;", " " * 28 + "^"]
    assert "not reached" not in run.out
    assert "Traceback" not in run.err


def test_first_error_stops_the_run_and_later_files(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1 AS one;\nSELEC 2;\nSELECT 3 AS three;\n")
    (tmp_path / "b.sql").write_text("SELECT 4 AS four;\n")
    run = cli("--format", "csv", str(tmp_path / "a.sql"), str(tmp_path / "b.sql"))
    assert (run.code, run.out) == (1, "one\n1\n")
    assert re.match(rf"{re.escape(str(tmp_path / 'a.sql'))}:2:\d+: ProgrammingError: ", run.err)


def test_continue_on_error_runs_everything_and_still_fails(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("SELECT 1 AS one;\nSELEC 2;\nSELECT * FROM nowhere;\n")
    (tmp_path / "b.sql").write_text("SELECT 4 AS four;\n")
    files = [str(tmp_path / "a.sql"), str(tmp_path / "b.sql")]
    run = cli("--continue-on-error", "--format", "csv", *files)
    assert (run.code, run.out) == (1, "one\n1\nfour\n4\n")
    reports = [line for line in run.err.splitlines() if ": ProgrammingError: " in line]
    assert [r.split(":")[1] for r in reports] == ["2", "3"]
    assert "table default.nowhere does not exist" in reports[1]


def test_stdin_is_read_when_piped(cli: CliRunner) -> None:
    run = cli("--format", "jsonl", stdin="SELECT 1 AS a;\nSELECT 2 AS b;\n")
    assert (run.code, run.out, run.err) == (0, '{"a": 1}\n{"b": 2}\n', "")


def test_dash_reads_stdin_and_names_it_in_errors(cli: CliRunner) -> None:
    run = cli("-", stdin="SELECT 1;\n\n  SELECT * FROM missing;\n")
    assert run.code == 1
    assert run.err.splitlines() == [
        "<stdin>:3:17: ProgrammingError: table default.missing does not exist",
        "  SELECT * FROM missing;",
        "                ^",
    ]


def test_command_errors_are_named_command(cli: CliRunner) -> None:
    run = cli("-c", "SELECT 1;\nSELECT nope FROM (SELECT 1 AS x)")
    assert run.code == 1
    assert run.err.startswith("<command>:2:8: ProgrammingError: ")


def test_unreadable_file_fails_before_connecting(cli: CliRunner, tmp_path: Path) -> None:
    run = cli(str(tmp_path / "missing.sql"))
    assert run.code == 1
    assert (
        run.err == f"sqllake: cannot read {tmp_path / 'missing.sql'}: No such file or directory\n"
    )


def test_statements_commit_at_once_and_open_transactions_are_discarded(
    cli: CliRunner,
) -> None:
    assert cli("-c", "CREATE TABLE t (x INT); INSERT INTO t VALUES (1)").code == 0
    assert cli("-c", "BEGIN; INSERT INTO t VALUES (2)").code == 0  # no COMMIT: discarded
    assert cli("-c", "BEGIN; INSERT INTO t VALUES (3); COMMIT").code == 0
    run = cli("--format", "csv", "-c", "SELECT x FROM t ORDER BY x")
    assert run.out == "x\n1\n3\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"sqllake {sqllake.__version__}\n" == "sqllake 0.1.0\n"


def test_help_mentions_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    options = [s for action in parser()._actions for s in action.option_strings]
    assert {"-c", "--warehouse", "--catalog", "--format", "--continue-on-error", "--version"} < set(
        options
    )
    for option in options:
        assert option in text
    for word in ["FILE", "SQLLAKE_WAREHOUSE", "SQLLAKE_CATALOG", "table,csv,json,jsonl,markdown"]:
        assert word in text


def test_bad_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--format", "xml", "-c", "SELECT 1"])
    assert exit_.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_unexpected_exception_is_logged_not_shown(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, state_home: Path
) -> None:
    def broken(self: Session, text: str, params: object = ()) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Session, "execute", broken)
    run = cli("-c", "SELECT 1")
    log = state_home / "sqllake" / "sqllake.log"
    assert run.code == 1
    assert run.err.startswith("<command>:1:1: InternalError: RuntimeError: boom (a bug in sqllake;")
    assert str(log) in run.err
    assert "Traceback" not in run.err
    assert "RuntimeError: boom" in log.read_text() and "Traceback" in log.read_text()


def test_errors_while_rows_stream_are_translated(cli: CliRunner) -> None:
    # DuckDB reports this failure while the reader pulls batches, after execute() returned.
    sql = (
        "SELECT CAST(CASE WHEN i = 20000 THEN 'x' ELSE '1' END AS INT) AS v FROM range(20010) t(i)"
    )
    run = cli("--format", "jsonl", "-c", sql)
    assert run.code == 1
    assert run.err.startswith("<command>:1:1: DataError: Could not convert string 'x' to INT32")


def test_a_terminal_on_stdin_opens_the_repl(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    opened: list[Shell] = []

    def fake_repl(shell: Shell, out: object) -> int:
        opened.append(shell)
        return 0

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("sqllake.cli.repl.repl", fake_repl)
    assert cli().code == 0
    assert len(opened) == 1 and opened[0].show_status  # the REPL prints statuses
