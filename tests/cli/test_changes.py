"""``sqllake changes``: a table's change feed on the command line, once or following."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

import sqllake
from sqllake.catalog import TableName
from sqllake.cli.main import main
from tests.cli.conftest import REPO


def _lake(warehouse: Path) -> sqllake.Connection:
    return sqllake.connect(str(warehouse), autocommit=True, inline_rows=0)


def _changes(
    capsys: pytest.CaptureFixture[str], warehouse: Path, *args: str
) -> tuple[int, list[dict[str, object]], str]:
    code = main(["changes", *args, "--warehouse", str(warehouse), "--format", "jsonl"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def _snapshot_ids(warehouse: Path) -> list[int]:
    with _lake(warehouse) as con:
        table = con.session.lakehouse.load(TableName(("default",), "t"))
        return [s.snapshot_id for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)]


def test_prints_the_history_oldest_first(
    capsys: pytest.CaptureFixture[str], warehouse: Path
) -> None:
    with _lake(warehouse) as con:
        con.execute("CREATE TABLE t (id INT, name VARCHAR)")
        con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        con.execute("INSERT INTO t VALUES (3, 'c')")
    code, rows, err = _changes(capsys, warehouse, "t")
    assert (code, err) == (0, "")
    assert [(r["id"], r["_change_type"]) for r in rows] == [
        (1, "insert"),
        (2, "insert"),
        (3, "insert"),
    ]
    first, second = _snapshot_ids(warehouse)
    assert [r["_snapshot_id"] for r in rows] == [first, first, second]

    code, rows, _ = _changes(capsys, warehouse, "default.t", "--since", str(first))
    assert (code, [r["id"] for r in rows]) == (0, [3])
    code, rows, _ = _changes(capsys, warehouse, "t", "--since", "2000-01-01 00:00:00+00")
    assert (code, [r["id"] for r in rows]) == (0, [1, 2, 3])


def test_mistakes_are_reported_without_a_traceback(
    capsys: pytest.CaptureFixture[str], warehouse: Path
) -> None:
    with _lake(warehouse) as con:
        con.execute("CREATE TABLE t (id INT)")
    code, _, err = _changes(capsys, warehouse, "missing")
    assert (code, err) == (1, "sqllake: ProgrammingError: table default.missing does not exist\n")
    code, _, err = _changes(capsys, warehouse, "t", "--since", "soon")
    assert code == 1 and "neither a snapshot id nor a timestamp" in err
    with pytest.raises(SystemExit) as exited:
        main(["changes", "t", "--since", "1", "--subscription", "s", "--warehouse", str(warehouse)])
    assert exited.value.code == 2
    assert "exclude each other" in capsys.readouterr().err


def test_a_subscription_resumes_where_the_last_run_stopped(
    capsys: pytest.CaptureFixture[str], warehouse: Path
) -> None:
    with _lake(warehouse) as con:
        con.execute("CREATE TABLE t (id INT)")
        code, rows, _ = _changes(capsys, warehouse, "t", "--subscription", "etl")
        assert (code, rows) == (0, [])  # a new subscription starts now
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("ALTER TABLE t ADD COLUMN note VARCHAR")
        con.execute("INSERT INTO t VALUES (2, 'x')")
    code, rows, err = _changes(capsys, warehouse, "t", "--subscription", "etl")
    assert code == 0
    # each snapshot's rows come in the schema it was written with
    assert [(r["id"], r.get("note")) for r in rows] == [(1, None), (2, "x")]
    assert "note" not in rows[0]
    assert err == "-- default.t: schema\n"
    code, rows, _ = _changes(capsys, warehouse, "t", "--subscription", "etl")
    assert (code, rows) == (0, [])


class _Lines:
    """A child's output lines as they come, read on a thread so a test can time out."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self.queue: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self.queue.put(line)

    def get(self) -> str:
        return self.queue.get(timeout=60)

    def rest(self) -> list[str]:
        self._thread.join(timeout=30)
        return list(self.queue.queue)


def test_follow_prints_commits_as_they_land_until_ctrl_c(tmp_path: Path, warehouse: Path) -> None:
    with _lake(warehouse) as con:
        con.execute("CREATE TABLE t (id INT)")
        con.execute("INSERT INTO t VALUES (0)")  # before the follow: not printed
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    command = ["changes", "t", "--follow", "--format", "jsonl", "--interval", "0.1"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "sqllake", *command, "--warehouse", str(warehouse)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    out, err = _Lines(follower.stdout), _Lines(follower.stderr)
    try:
        assert err.get() == "-- following default.t; Ctrl-C to stop\n"
        with _lake(warehouse) as con:
            con.execute("INSERT INTO t VALUES (1)")
            con.execute("INSERT INTO t VALUES (2), (3)")
        assert [json.loads(out.get())["id"] for _ in range(3)] == [1, 2, 3]
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 130
    finally:
        follower.kill()
        follower.wait()
    assert (out.rest(), err.rest()) == ([], [])  # nothing more: no traceback
