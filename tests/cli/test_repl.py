"""The REPL: the plain step function, and the prompt fed through a pipe."""

from __future__ import annotations

import _thread
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pexpect
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

import sqllake
from sqllake.cli.repl import (
    SqlCompleter,
    TimedFlush,
    changes_names,
    make_prompt,
    name_cache,
    prompt_text,
    repl,
    run_input,
)
from sqllake.cli.shell import Shell
from sqllake.cli.worker import run_cancellable


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


def test_row_level_statements_print_the_rows_they_changed(shell: Shell) -> None:
    out = io.StringIO()
    text = (
        "CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1), (2), (3);\n"
        "DELETE FROM t WHERE x > 2;\nUPDATE t SET x = x * 10;\n"
        "MERGE INTO t USING (SELECT 10 AS x UNION ALL SELECT 4) s ON t.x = s.x "
        "WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT *;"
    )
    assert run_input(shell, text, out) is True
    assert out.getvalue() == "CREATE TABLE\nINSERT 3\nDELETE 1\nUPDATE 2\nMERGE 2\n"


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


def _spawn_shell(warehouse: Path, state_home: Path) -> pexpect.spawn:
    """``python -m sqllake`` in a real pseudo-terminal of 24 x 120."""
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    return pexpect.spawn(
        sys.executable,
        ["-m", "sqllake", "--warehouse", str(warehouse)],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 120),
    )


def test_the_repl_in_a_real_terminal(warehouse: Path, state_home: Path) -> None:
    child = _spawn_shell(warehouse, state_home)
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


def test_the_completer_offers_tables_and_columns(shell: Shell) -> None:
    setup = "CREATE TABLE events (id INT, kind VARCHAR);"
    run_input(shell, setup, io.StringIO())
    cache = name_cache(shell)
    cache.wait(30)
    completer = SqlCompleter(shell, cache)
    text = "SELECT e.k FROM events e"
    document = Document(text, cursor_position=len("SELECT e.k"))
    found = list(completer.get_completions(document, CompleteEvent(completion_requested=True)))
    assert [(c.text, c.start_position) for c in found] == [("kind", -1)]
    table = Document("SELECT * FROM ev")
    assert [c.text for c in completer.get_completions(table, CompleteEvent())] == ["events"]


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


def test_ctrl_c_cancels_the_statement_and_the_session_goes_on(shell: Shell) -> None:
    run_input(shell, "CREATE TABLE t (x BIGINT);", io.StringIO())
    out = io.StringIO()
    _interrupt_after(0.5)
    slow = "INSERT INTO t SELECT a.range FROM range(100000) a, range(100000) b;"
    assert run_input(shell, slow, out) is True
    assert "<input>:1:1: OperationalError: " in out.getvalue()
    after = io.StringIO()
    run_input(shell, "SELECT count(*) AS n FROM t;", after)
    assert after.getvalue().startswith(" n\n---\n 0\n")  # the cancelled write left nothing


def test_a_cancelled_write_says_statement_cancelled(shell: Shell) -> None:
    run_input(shell, "CREATE TABLE t (x BIGINT);", io.StringIO())
    out = io.StringIO()
    _interrupt_after(0.5)
    run_input(shell, "INSERT INTO t SELECT a.range FROM range(100000) a, range(100000) b;", out)
    assert "OperationalError: statement cancelled" in out.getvalue()


def _slow(stream: TextIO) -> None:
    time.sleep(1.3)
    stream.write("done\n")


def test_slow_statements_show_progress_then_erase_it(shell: Shell) -> None:
    err = io.StringIO()
    out = io.StringIO()
    run_cancellable(shell, _slow, out, err)
    assert out.getvalue() == "done\n"
    assert "[running 1 s; Ctrl-C cancels]" in err.getvalue()
    assert err.getvalue().endswith("\r\x1b[K")
    quiet = io.StringIO()
    run_cancellable(shell, lambda stream: None, io.StringIO(), quiet)
    assert quiet.getvalue() == ""


def test_ddl_refreshes_names() -> None:
    assert changes_names("CREATE TABLE t (x INT);") and changes_names("select 1; use s;")
    assert changes_names("SET schema = 's';") and changes_names("RESET schema;")
    assert not changes_names("SELECT 1; INSERT INTO t VALUES (1);")


def test_completion_and_cancel_in_a_real_terminal(warehouse: Path, state_home: Path) -> None:
    child = _spawn_shell(warehouse, state_home)
    try:
        child.expect("sqllake:default>")
        child.send("CREATE TABLE visits (visitor_id BIGINT, page VARCHAR);\r")
        child.expect("CREATE TABLE")
        child.send("INSERT INTO visits VALUES (1, 'home'), (2, 'about');\r")
        child.expect("INSERT 2")
        child.expect("sqllake:default>")
        time.sleep(1)  # the background refresh after CREATE reads the new names
        # A multi-line query; Tab completes the table, then a column of it.
        child.send("SELECT count(*) AS n\r  FROM visi")
        child.send("\t")
        child.expect("visits")
        child.send("\r WHERE visitor_")
        child.send("\t")
        child.expect("visitor_id")
        child.send(" > 1;\r")
        child.expect(r"\s+1\s+\(1 row\)")
        child.expect(r"Time: \d+\.\d+ s")
        child.expect("sqllake:default>")
        child.send("SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b;\r")
        child.expect(r"\[running \d+ s")  # progress after about a second
        child.sendintr()
        child.expect("OperationalError: statement cancelled")
        child.expect("sqllake:default>")
        child.send("SELECT 'still here' AS s;\r")
        child.expect("still here")
        child.expect("sqllake:default>")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_the_shell_flushes_due_buffered_rows_while_it_waits(tmp_path: Path) -> None:
    """A long-lived shell moves buffered rows to Parquet once they are due, unprompted."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, flush_interval=0.2)
    con.cursor().execute("CREATE TABLE t (x INT)")
    con.cursor().execute("INSERT INTO t VALUES (1)")
    data = tmp_path / "wh" / "default" / "t" / "data"
    assert not list(data.glob("*.parquet"))
    with TimedFlush(Shell(con.session), every=0.1):
        deadline = time.monotonic() + 10
        while not list(data.glob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert len(list(data.glob("*.parquet"))) == 1
    con.close()
