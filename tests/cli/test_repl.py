"""The REPL: the plain step function, and the prompt fed through a pipe."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

import sqllake
from sqllake.cli.repl import make_prompt, prompt_text, repl, run_input
from sqllake.cli.shell import Shell


@pytest.fixture
def shell(warehouse: Path) -> Iterator[Shell]:
    connection = sqllake.connect(str(warehouse), autocommit=True)
    try:
        yield Shell(connection.session, show_status=True)
    finally:
        connection.close()


def test_run_input_prints_rows_and_statuses(shell: Shell) -> None:
    out = io.StringIO()
    text = "CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1), (2);\nSELECT count(*) AS n FROM t;"
    assert run_input(shell, text, out) is True
    assert out.getvalue() == "CREATE TABLE\nINSERT 2\n n\n---\n 2\n(1 row)\n\n"


def test_an_error_prints_a_caret_and_the_session_goes_on(shell: Shell) -> None:
    out = io.StringIO()
    assert run_input(shell, "SELECT 1 AS a;\nSELECT * FROM nope;\nSELECT 3 AS c;", out) is True
    assert out.getvalue().splitlines()[-3:] == [
        "<input>:2:15: ProgrammingError: table default.nope does not exist",
        "SELECT * FROM nope;",
        "              ^",
    ]
    assert " c\n" not in out.getvalue()  # the rest of that input is skipped, like a script
    after = io.StringIO()
    assert run_input(shell, "SELECT 4 AS d;", after) is True
    assert after.getvalue().startswith(" d\n")
    assert shell.failed


def test_prompt_shows_the_schema_and_an_open_transaction(shell: Shell) -> None:
    assert prompt_text(shell) == "sqllake:default> "
    run_input(shell, "CREATE SCHEMA demo; USE demo; CREATE TABLE t (x INT); BEGIN;", io.StringIO())
    assert prompt_text(shell) == "sqllake:demo*> "
    run_input(shell, "ROLLBACK;", io.StringIO())
    assert prompt_text(shell) == "sqllake:demo> "


def test_quit_ends_the_session(shell: Shell) -> None:
    out = io.StringIO()
    assert run_input(shell, ".help", out) is True
    assert ".quit" in out.getvalue()
    assert run_input(shell, ".quit", io.StringIO()) is False


def _repl_with_keys(shell: Shell, keys: str) -> str:
    """Type ``keys`` at the prompt (then the input ends) and return what the REPL printed."""
    out = io.StringIO()
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        prompt = make_prompt(history=InMemoryHistory(), input=pipe, output=DummyOutput())
        assert repl(shell, out, prompt) == 0
    return out.getvalue()


def test_a_multi_line_statement_runs_once_it_is_complete(shell: Shell) -> None:
    # Enter on an unfinished statement starts a new line; Enter after ';' runs it.
    printed = _repl_with_keys(shell, "SELECT\r  41 + 1\r  AS answer;\r\x04")
    assert printed.endswith(" answer\n--------\n     42\n(1 row)\n\n")
    assert printed.count("(1 row)") == 1


def test_ctrl_c_clears_the_line_and_ctrl_d_exits(shell: Shell) -> None:
    printed = _repl_with_keys(shell, "SELECT 'lost'\x03SELECT 'kept' AS k;\r\x04SELECT 'never';\r")
    assert "lost" not in printed and "never" not in printed
    assert " k\n------\n kept\n(1 row)\n" in printed


def test_history_lives_in_the_xdg_state_folder(state_home: Path) -> None:
    history = make_prompt(input=None, output=DummyOutput()).history
    assert isinstance(history, FileHistory)
    assert history.filename == str(state_home / "sqllake" / "history")


def test_the_repl_in_a_real_terminal(warehouse: Path, state_home: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sqllake", "--warehouse", str(warehouse)],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 120),
    )
    try:
        child.expect("sqllake:default>")
        child.send("CREATE SCHEMA s;\rUSE s;\r")
        child.expect("sqllake:s>")
        child.send("SELECT\r 6 * 7\r AS answer;\r")
        child.expect(r"42\s+\(1 row\)")
        child.send("BEGIN;\r")
        child.expect(r"sqllake:s\*>")
        child.send("SELEC 1;\r")
        child.expect("<input>:1:7: ProgrammingError: syntax error")
        child.expect(r"sqllake:s\*>")  # the session survives the error
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "+SELEC 1;" in (state_home / "sqllake" / "history").read_text()
