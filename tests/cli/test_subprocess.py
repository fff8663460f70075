"""Real processes: `python -m sqllake` with files and pipes, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import REPO
from tests.cli.test_main import SYNTAX_ERROR_ON_LINE_3


def _sqllake(
    warehouse: Path, state: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    env.pop("SQLLAKE_CATALOG", None)
    return subprocess.run(
        [sys.executable, "-m", "sqllake", "--warehouse", str(warehouse), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_script_with_a_syntax_error_exits_1_with_a_caret(
    tmp_path: Path, warehouse: Path, state_home: Path
) -> None:
    script = tmp_path / "bad.sql"
    script.write_text(SYNTAX_ERROR_ON_LINE_3)
    done = _sqllake(warehouse, state_home, str(script))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"{script}:3:29: ProgrammingError: syntax error")
    assert lines[1:] == ["SELECT id FROM t WHERE id = = 1;", " " * 28 + "^"]
    assert done.stdout == ""


def test_piped_stdin_runs_as_a_script(warehouse: Path, state_home: Path) -> None:
    sql = "CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1), (2);\nSELECT sum(x) AS s FROM t;\n"
    done = _sqllake(warehouse, state_home, "--format", "csv", stdin=sql)
    assert (done.returncode, done.stdout, done.stderr) == (0, "s\n3\n", "")


def test_version_of_the_console_entry(warehouse: Path, state_home: Path) -> None:
    done = _sqllake(warehouse, state_home, "--version")
    assert (done.returncode, done.stdout) == (0, "sqllake 0.1.0\n")


def test_a_closed_pipe_ends_the_run_quietly(warehouse: Path, state_home: Path) -> None:
    # As in `sqllake -c ... | head -1`: the reader leaves after the first line.
    env = {**os.environ, "XDG_STATE_HOME": str(state_home)}
    args = ["-c", "SELECT i FROM range(200000) t(i)", "--format", "csv"]
    with subprocess.Popen(
        [sys.executable, "-m", "sqllake", "--warehouse", str(warehouse), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == "i\n"
        process.stdout.close()
        assert process.wait(timeout=120) == 141
        assert process.stderr.read() == ""


def _sqllake_bytes(
    warehouse: Path, state: Path, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "XDG_STATE_HOME": str(state)}
    env.pop("SQLLAKE_CATALOG", None)
    return subprocess.run(
        [sys.executable, "-m", "sqllake", "--warehouse", str(warehouse), *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


# "café" in Latin-1 on line 2: 0xe9 is not followed by UTF-8 continuation bytes.
LATIN_1 = b"CREATE TABLE t (x INT);\nSELECT 'caf\xe9' AS w;\n"


def test_a_script_that_is_not_utf8_is_a_located_error_and_runs_nothing(
    tmp_path: Path, warehouse: Path, state_home: Path
) -> None:
    script = tmp_path / "latin1.sql"
    script.write_bytes(LATIN_1)
    done = _sqllake_bytes(warehouse, state_home, str(script))
    assert done.returncode == 1
    assert done.stdout == b""
    lines = done.stderr.decode("utf-8").splitlines()
    assert lines == [
        f"{script}:2:12: DataError: not UTF-8 text at byte 0xe9 (invalid continuation byte); "
        "scripts must be UTF-8",
        "SELECT 'caf\ufffd' AS w;",
        " " * 11 + "^",
    ]
    # Nothing ran: the first statement did not create its table.
    check = _sqllake(warehouse, state_home, "--format", "csv", "-c", "SHOW TABLES")
    assert (check.returncode, check.stdout) == (0, "name\n")


def test_stdin_that_is_not_utf8_is_a_located_error(warehouse: Path, state_home: Path) -> None:
    done = _sqllake_bytes(warehouse, state_home, stdin=b"SELECT 1;\n\nSELECT '\xff';\n")
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode("utf-8").startswith(
        "<stdin>:3:9: DataError: not UTF-8 text at byte 0xff (invalid start byte)"
    )
    assert b"Traceback" not in done.stderr


def test_a_missing_script_or_a_folder_is_a_one_line_error(
    tmp_path: Path, warehouse: Path, state_home: Path
) -> None:
    for name, reason in [("missing.sql", "No such file or directory"), ("", "Is a directory")]:
        path = tmp_path / name
        done = _sqllake(warehouse, state_home, str(path))
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == f"sqllake: cannot read {path}: {reason}\n"


def test_a_command_that_is_not_utf8_is_a_located_error(warehouse: Path, state_home: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(state_home), "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        [sys.executable, "-m", "sqllake", "--warehouse", str(warehouse), "-c", b"SELECT '\xff'"],
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.decode("utf-8").startswith(
        "<command>:1:9: DataError: not UTF-8 text at byte 0xff (invalid start byte)"
    )
