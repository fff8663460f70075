"""The command line never prints or logs a credential: errors, source lines, the log file."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

import sqllake
from sqllake.cli.main import main
from sqllake.cli.repl import TimedFlush, make_prompt, prompt_text, repl
from sqllake.cli.shell import Shell
from sqllake.session import Session
from tests.cli.conftest import CliRunner

SECRET = "hunter2"


def test_a_url_in_an_error_and_its_source_line_is_masked(cli: CliRunner) -> None:
    run = cli("-c", f"SELECT 'ftp://etl:{SECRET}@files.example/x.csv' AS url, nope")
    assert run.code == 1
    assert SECRET not in run.err
    first, line, caret = run.err.splitlines()
    assert first.startswith("<command>:1:")
    assert line == "SELECT 'ftp://etl:***@files.example/x.csv' AS url, nope"
    assert caret == " " * line.index("nope") + "^"  # the caret still points at "nope"


def test_a_duckdb_error_echoing_a_url_is_masked(cli: CliRunner) -> None:
    run = cli("-c", f"SELECT * FROM read_csv('ftp://etl:{SECRET}@files.example/x.csv')")
    assert run.code == 1
    assert "OperationalError: No files found" in run.err
    assert "ftp://etl:***@files.example/x.csv" in run.err
    assert SECRET not in run.err


def test_an_internal_error_is_masked_on_screen_and_in_the_log(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, state_home: Path
) -> None:
    def broken(self: Session, text: str, params: object = ()) -> None:
        raise RuntimeError(f"lost postgresql://etl:{SECRET}@db/lake")

    monkeypatch.setattr(Session, "execute", broken)
    run = cli("-c", "SELECT 1")
    log = (state_home / "sqllake" / "sqllake.log").read_text()
    assert run.code == 1
    assert "RuntimeError: lost postgresql://etl:***@db/lake" in run.err
    assert "RuntimeError: lost postgresql://etl:***@db/lake" in log and "Traceback" in log
    assert SECRET not in run.err and SECRET not in log


def test_a_catalog_that_cannot_open_does_not_echo_its_password(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for catalog in [
        f"postgres:{SECRET}@127.0.0.1/x",  # the scheme forgotten
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/x",  # nothing listens
    ]:
        # The catalog opens with the first statement that needs it (SELECT 1 does not).
        assert main(["--warehouse", str(warehouse), "--catalog", catalog, "-c", "SELECT 1"]) == 0
        capsys.readouterr()
        code = main(["--warehouse", str(warehouse), "--catalog", catalog, "-c", "SHOW TABLES"])
        err = capsys.readouterr().err
        assert code == 1
        assert err.startswith("<command>:1:1: ")
        assert "Error: " in err
        assert SECRET not in err.lower()


def test_help_and_version_never_show_the_configured_catalog(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SQLLAKE_CATALOG", f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/x")
    for option in ["--help", "--version"]:
        with pytest.raises(SystemExit):
            main([option])
        assert SECRET not in capsys.readouterr().out


@pytest.mark.postgres
def test_the_banner_and_prompt_never_show_the_catalog(
    warehouse: Path, postgres_catalog: str
) -> None:
    # The server trusts local connections, so any password opens the catalog.
    catalog = postgres_catalog.replace("postgres@", f"postgres:{SECRET}@", 1)
    con = sqllake.connect(str(warehouse), catalog=catalog, autocommit=True)
    shell = Shell(con.session, show_status=True)
    out = io.StringIO()
    try:
        with create_pipe_input() as pipe:
            pipe.send_text("SELECT 42 AS answer;\r\x04")
            prompt = make_prompt(history=InMemoryHistory(), input=pipe, output=DummyOutput())
            assert repl(shell, out, prompt) == 0
        shown = out.getvalue() + prompt_text(shell)
    finally:
        con.close()
    assert "sqllake " in shown and "42" in shown
    assert SECRET not in shown


def test_a_failing_background_flush_is_logged_masked(
    tmp_path: Path,
    state_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)

    def failing() -> None:
        raise OSError(f"cannot reach s3://bucket?X-Amz-Signature={SECRET}")

    monkeypatch.setattr(con.session, "flush_due", failing)
    log = state_home / "sqllake" / "sqllake.log"
    with TimedFlush(Shell(con.session), every=0.05):
        deadline = time.monotonic() + 10
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    con.close()
    text = log.read_text()
    assert "X-Amz-Signature=***" in text and SECRET not in text
    assert capsys.readouterr().err == ""  # nothing on the shell's screen
