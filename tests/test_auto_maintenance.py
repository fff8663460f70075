"""Automatic maintenance: flushes compact the small files they make and expire old
snapshots, within a time budget, as the table's properties say; the shell's timer and
``sqllake maintain`` do the same."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import sqllake
from sqllake import maintenance
from sqllake.catalog import TableName
from sqllake.cli.main import main
from sqllake.cli.repl import TimedFlush
from sqllake.cli.shell import Shell
from tests.conftest import CatalogTarget, rows


def _cycles(con: sqllake.Connection, count: int, first: int = 0, regions: int = 2) -> None:
    cur = con.cursor()
    for i in range(first, first + count):
        cur.execute("INSERT INTO t VALUES (?, ?)", (i, f"r{i % regions}"))
        cur.execute("FLUSH t")


def _create(con: sqllake.Connection, properties: str = "") -> None:
    with_clause = f" WITH ({properties})" if properties else ""
    con.cursor().execute(
        f"CREATE TABLE t (id BIGINT, region VARCHAR) PARTITIONED BY (region){with_clause}"
    )


def _live_files(con: sqllake.Connection) -> int:
    return int(rows(con, 'SELECT count(*) FROM "t$files"')[0][0])


def _operations(con: sqllake.Connection) -> dict[str, int]:
    found = rows(con, 'SELECT operation, count(*) FROM "t$snapshots" GROUP BY operation')
    return {operation: int(count) for operation, count in found}


def test_flushes_keep_the_number_of_small_files_bounded(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(con)
    _cycles(con, 45)
    # Each partition is compacted once it holds 10 small files: never more than that.
    assert _live_files(con) <= 2 * 9 + 2
    assert _operations(con)["replace"] >= 4
    assert rows(con, "SELECT count(*), count(DISTINCT id) FROM t") == [(45, 45)]
    con.close()


def test_automatic_maintenance_can_be_turned_off(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(con, "'write.maintenance.auto' = 'false'")
    _cycles(con, 25)
    assert _live_files(con) == 25
    assert "replace" not in _operations(con)
    con.cursor().execute("ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.auto' = 'true')")
    _cycles(con, 1, first=100)
    assert _live_files(con) < 25
    con.close()


def test_the_thresholds_are_table_properties(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(con, "'write.maintenance.small-files' = '3'")
    _cycles(con, 2, regions=1)
    assert _live_files(con) == 2
    _cycles(con, 1, first=2, regions=1)
    assert _live_files(con) == 1
    # Files at or above the small-file size are left alone.
    con.cursor().execute(
        "ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.small-file-bytes' = '1')"
    )
    _cycles(con, 5, first=10, regions=1)
    assert _live_files(con) == 6
    con.close()


def test_flushes_expire_snapshots_past_the_table_history_settings(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(
        con,
        "'history.expire.max-snapshot-age-ms' = '1', 'history.expire.min-snapshots-to-keep' = '3', "
        "'write.maintenance.auto' = 'false'",
    )
    _cycles(con, 6)
    con.cursor().execute("ALTER TABLE t CREATE TAG keep_me")
    _cycles(con, 2, first=6)
    assert rows(con, 'SELECT count(*) FROM "t$snapshots"') == [(8,)]
    con.cursor().execute("ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.auto' = 'true')")
    time.sleep(0.01)
    _cycles(con, 1, first=8)
    # The newest 3 of main, and the tagged snapshot.
    assert rows(con, 'SELECT count(*) FROM "t$snapshots"') == [(4,)]
    assert rows(con, "SELECT count(*) FROM t FOR VERSION AS OF 'keep_me'") == [(6,)]
    assert rows(con, "SELECT count(*) FROM t") == [(9,)]
    con.close()


def test_the_time_budget_leaves_work_for_later(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = target.connect(autocommit=True)
    _create(con, "'write.maintenance.budget-ms' = '0', 'write.maintenance.small-files' = '2'")
    _cycles(con, 4)
    assert _live_files(con) == 4  # no time for anything inside the flushes
    # The shell's timer comes back to the tables a session flushed.
    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 0.0)
    con.cursor().execute(
        "ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.budget-ms' = '60000')"
    )
    maintenance.maintain_recent(con.session)
    assert _live_files(con) == 2
    con.close()


def test_one_run_rewrites_at_most_the_rewrite_bytes(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(
        con,
        "'write.maintenance.auto' = 'false', 'write.maintenance.small-files' = '2', "
        "'write.maintenance.rewrite-bytes' = '1'",
    )
    _cycles(con, 5)  # three files in r0, two in r1
    done = maintenance.maintain(con.session, TableName(("default",), "t"))
    # The most crowded partition first; one group a run when a group exceeds the limit.
    assert (done.compacted.rewritten_files, done.compacted.added_files) == (3, 1)
    assert _live_files(con) == 3
    con.close()


def test_the_shell_timer_maintains_the_tables_it_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True, flush_interval=0.2)
    _create(con, "'write.maintenance.small-files' = '2', 'write.maintenance.budget-ms' = '0'")
    _cycles(con, 3, regions=1)
    assert _live_files(con) == 3
    con.cursor().execute("ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.budget-ms' = '5000')")
    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 0.0)
    with TimedFlush(Shell(con.session), every=0.1):
        deadline = time.monotonic() + 10
        while _live_files(con) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert _live_files(con) == 1
    con.close()


def test_maintain_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = tmp_path / "wh"
    con = sqllake.connect(str(warehouse), autocommit=True)
    _create(con, "'write.maintenance.auto' = 'false', 'write.maintenance.small-files' = '2'")
    _cycles(con, 4)
    cur = con.cursor()
    cur.execute("CREATE TABLE other (x INT)")
    cur.execute("INSERT INTO other VALUES (1)")
    con.close()
    stray = warehouse / "default" / "other" / "data" / "stray.parquet"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"x")
    old = time.time() - 4 * 24 * 3600
    os.utime(stray, (old, old))
    # Every table with automatic maintenance on: t is off.
    assert main(["maintain", "--warehouse", str(warehouse)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["default.other: removed 1 orphan files"]
    assert not stray.exists()
    # A named table is maintained whatever its setting.
    assert main(["maintain", "t", "--warehouse", str(warehouse), "--no-orphans"]) == 0
    assert capsys.readouterr().out == "default.t: compacted 4 files into 2\n"
    assert main(["maintain", "default.nope", "--warehouse", str(warehouse)]) == 1
    assert "table default.nope does not exist" in capsys.readouterr().err
    # A table whose settings are wrong is reported; the others are still maintained.
    with sqllake.connect(str(warehouse), autocommit=True) as con:
        con.cursor().execute(
            "ALTER TABLE t SET TBLPROPERTIES ('write.maintenance.small-files' = 'lots')"
        )
    assert main(["maintain", "t", "other", "--warehouse", str(warehouse), "--no-orphans"]) == 1
    captured = capsys.readouterr()
    assert "default.other: nothing to do" in captured.out
    assert "default.t: ProgrammingError: table property write.maintenance.small-files" in (
        captured.err
    )
    with sqllake.connect(str(warehouse), autocommit=True) as con:
        assert rows(con, "SELECT count(*) FROM t") == [(4,)]


def test_a_bad_maintenance_property_never_fails_a_flush(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _create(con, "'write.maintenance.small-files' = 'lots'")
    _cycles(con, 3)
    assert rows(con, "SELECT count(*) FROM t") == [(3,)]
    con.close()


def test_flushes_look_for_small_files_only_when_a_partition_could_have_enough(
    target: CatalogTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = target.connect(autocommit=True)
    _create(con)
    real = maintenance.compaction_check
    checks: list[int] = []

    def counted(table: object, policy: maintenance.Policy) -> maintenance.CompactionCheck:
        found = real(table, policy)  # type: ignore[arg-type]
        checks.append(found.crowd)
        return found

    monkeypatch.setattr(maintenance, "compaction_check", counted)
    _cycles(con, 10, regions=1)
    # The first flush looks (one small file); the next eight cannot make ten; the tenth
    # looks again and compacts.
    assert checks == [1, 10]
    assert _live_files(con) == 1
    con.close()
