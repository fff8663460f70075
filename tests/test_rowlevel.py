"""DELETE, UPDATE and MERGE beyond one session: concurrent writers (Iceberg's validation
rules and isolation levels), subscriptions, and other engines reading the result."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import REPO_ROOT, CatalogTarget, rows


def _run(con: sqllake.Connection, *statements: str) -> None:
    cur = con.cursor()
    for sql in statements:
        cur.execute(sql)


def _table(con: sqllake.Connection, properties: str = "") -> None:
    extra = f", {properties}" if properties else ""
    _run(
        con,
        f"CREATE TABLE t (id INT PRIMARY KEY, n INT) WITH ('write.inline.rows' = '0'{extra})",
        "INSERT INTO t VALUES (1, 0), (2, 0)",
        "INSERT INTO t VALUES (3, 0)",
    )


@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_a_change_to_files_another_writer_changed_is_a_conflict(
    target: CatalogTarget, mode: str
) -> None:
    first = target.connect(autocommit=False)
    second = target.connect(autocommit=True)
    _table(second, f"'write.update.mode' = '{mode}'")
    _run(first, "UPDATE t SET n = n + 1 WHERE id = 1")  # computed, not committed
    _run(second, "UPDATE t SET n = n + 10 WHERE id = 2")  # rewrites the same file
    with pytest.raises(sqllake.OperationalError, match="conflicts with a concurrent commit"):
        first.commit()
    assert rows(second, "SELECT id, n FROM t ORDER BY id") == [(1, 0), (2, 10), (3, 0)]
    first.close()
    second.close()


def test_changes_to_other_files_commit_on_the_new_snapshot(target: CatalogTarget) -> None:
    first = target.connect(autocommit=False)
    second = target.connect(autocommit=True)
    _table(second)
    _run(first, "UPDATE t SET n = n + 1 WHERE id = 3")  # only the second file
    _run(second, "UPDATE t SET n = n + 10 WHERE id = 1")  # only the first file
    first.commit()
    assert rows(second, "SELECT id, n FROM t ORDER BY id") == [(1, 10), (2, 0), (3, 1)]
    first.close()
    second.close()


@pytest.mark.parametrize(("isolation", "conflicts"), [("serializable", True), ("snapshot", False)])
def test_concurrent_appends_conflict_under_serializable_isolation(
    target: CatalogTarget, isolation: str, conflicts: bool
) -> None:
    first = target.connect(autocommit=False)
    second = target.connect(autocommit=True)
    _table(second, f"'write.delete.isolation-level' = '{isolation}'")
    _run(first, "DELETE FROM t WHERE id >= 3")
    _run(second, "INSERT INTO t VALUES (4, 0)")  # a row the DELETE would have matched
    if conflicts:
        with pytest.raises(sqllake.OperationalError, match="added rows the statement may match"):
            first.commit()
        expected = [(1,), (2,), (3,), (4,)]
    else:
        first.commit()
        expected = [(1,), (2,), (4,)]
    assert rows(second, "SELECT id FROM t ORDER BY id") == expected
    first.close()
    second.close()


_WORKER = textwrap.dedent(
    """
    import sys
    import sqllake

    con = sqllake.connect(sys.argv[1], catalog=sys.argv[2] or None, autocommit=True)
    cur = con.cursor()
    done = 0
    for _ in range(int(sys.argv[3])):
        try:
            cur.execute("UPDATE t SET n = n + 1 WHERE id = 1")
        except sqllake.OperationalError:
            continue
        assert cur.rowcount == 1
        done += 1
    con.close()
    print(done)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_two_processes_updating_one_row_lose_no_update(mode: str, tmp_path: Path) -> None:
    # One catalog (SQLite) only: the rules under test are sqllake's, not the catalog's.
    target = CatalogTarget("sqlite", tmp_path / "lakehouse", None)
    con = target.connect(autocommit=True)
    _table(con, f"'write.update.mode' = '{mode}'")
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), str(target.warehouse), target.catalog or "", "100"],
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            text=True,
        )
        for _ in range(2)
    ]
    succeeded = 0
    for worker in workers:
        out, _ = worker.communicate(timeout=600)
        assert worker.returncode == 0
        succeeded += int(out.strip().splitlines()[-1])
    assert succeeded > 0
    assert rows(con, "SELECT n FROM t WHERE id = 1") == [(succeeded,)]
    con.close()


def test_subscriptions_receive_row_level_changes(lake: sqllake.Connection) -> None:
    _table(lake, "'write.delete.mode' = 'merge-on-read'")
    subscription = lake.subscribe("feed", tables=["t"])
    _run(
        lake,
        "DELETE FROM t WHERE id = 2",
        "UPDATE t SET n = 5 WHERE id = 3",
        "MERGE INTO t USING (SELECT 4 AS id, 4 AS n) AS s ON t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT *",
    )
    deleted, updated, merged = subscription.poll()
    assert deleted.operation == "delete"
    assert deleted.rows().select(["id", "_change_type"]).to_pylist() == [
        {"id": 2, "_change_type": "delete"}
    ]
    changed = sorted(updated.rows().select(["id", "n", "_change_type"]).to_pylist(), key=str)
    assert changed == [
        {"id": 3, "n": 0, "_change_type": "update_preimage"},
        {"id": 3, "n": 5, "_change_type": "update_postimage"},
    ]
    assert merged.rows().select(["id", "_change_type"]).to_pylist() == [
        {"id": 4, "_change_type": "insert"}
    ]


@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_pyiceberg_reads_the_changed_table(target: CatalogTarget, mode: str) -> None:
    con = target.connect(autocommit=True)
    modes = ", ".join(f"'write.{s}.mode' = '{mode}'" for s in ("delete", "update", "merge"))
    _run(
        con,
        f"CREATE TABLE c (id INT, v VARCHAR, d DATE) PARTITIONED BY (bucket(3, id)) "
        f"WITH ('write.inline.rows' = '0', {modes})",
        "INSERT INTO c SELECT i, 'v' || i, DATE '2026-01-01' + i::INT FROM range(50) r(i)",
        "DELETE FROM c WHERE id % 7 = 0",
        "UPDATE c SET v = upper(v) WHERE id BETWEEN 10 AND 20",
        "MERGE INTO c USING (SELECT i AS id, 'm' AS v, NULL::DATE AS d FROM range(45, 55) r(i)) "
        "AS s ON c.id = s.id WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT *",
    )
    ours = sorted(rows(con, "SELECT id, v, d FROM c"))
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    catalog = SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")
    table = catalog.load_table(("default", "c"))
    theirs = sorted(tuple(r.values()) for r in table.scan().to_arrow().to_pylist())
    catalog.engine.dispose()
    assert theirs == ours
    # 8 multiples of 7 below 50 go; of 45..54, the 4 present go and the 6 absent come
    assert len(ours) == 50 - 8 - 4 + 6
    con.close()


def test_v3_deletion_vectors_read_back(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    _run(
        con,
        "CREATE TABLE v (id INT, v VARCHAR) WITH ('format-version' = '3', "
        "'write.delete.mode' = 'merge-on-read', 'write.inline.rows' = '0')",
        "INSERT INTO v SELECT i, 'v' || i FROM range(1000) r(i)",
        "DELETE FROM v WHERE id % 10 = 0",
        "DELETE FROM v WHERE id % 10 = 1",
    )
    assert rows(con, "SELECT count(*), sum(id) FROM v") == [
        (800, sum(i for i in range(1000) if i % 10 > 1))
    ]
    con.close()


def test_position_delete_files_stream_per_partition_and_abort_removes_them(
    lake: sqllake.Connection, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sqllake.catalog import TableName
    from sqllake.write.deletes import PositionDeleteWriter

    cur = lake.cursor()
    cur.execute("CREATE TABLE p (id INT, region VARCHAR) PARTITIONED BY (region)")
    cur.execute("INSERT INTO p VALUES (1, 'eu'), (2, 'eu'), (3, 'us')")
    table = lake.session.lakehouse.load(TableName(("default",), "p"))
    files = {f.partition[0]: f for f in (t.file for t in table.scan().plan_files())}
    writer = PositionDeleteWriter(table)
    writer.start([files["eu"]])
    writer.write(pa.array([0, 0], pa.int32()), pa.array([0, 1], pa.int64()))
    writer.write(pa.array([0], pa.int32()), pa.array([5], pa.int64()))  # a second batch
    writer.start([files["us"]])
    writer.write(pa.array([0], pa.int32()), pa.array([0], pa.int64()))
    writer.finish()
    eu, us = writer.written
    assert (eu.record_count, us.record_count) == (3, 1)
    read = pq.read_table(eu.file_path.removeprefix("file://"))
    assert read.column("file_path").to_pylist() == [files["eu"].file_path] * 3
    assert read.schema.field("file_path").type == pa.string()  # no dictionary for readers
    assert read.column("pos").to_pylist() == [0, 1, 5]

    writer.start([files["eu"]])  # a third file, part-written when the statement fails
    writer.write(pa.array([0], pa.int32()), pa.array([1], pa.int64()))
    writer.abort()
    assert writer.written == []
    for done in (eu, us):
        assert not Path(done.file_path.removeprefix("file://")).exists()
    assert not list(Path(table.location().removeprefix("file://")).rglob("*-deletes.parquet"))


@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_a_not_null_violation_names_no_row_of_the_writers_order(
    lake: sqllake.Connection, mode: str
) -> None:
    cur = lake.cursor()
    cur.execute(f"CREATE TABLE nn (id INT NOT NULL, v INT) WITH ('write.update.mode' = '{mode}')")
    cur.execute("INSERT INTO nn VALUES (1, 1), (2, 2), (3, 3)")
    with pytest.raises(sqllake.IntegrityError) as raised:
        cur.execute("UPDATE nn SET id = NULL WHERE id = 2")
    assert (raised.value.table, raised.value.column, raised.value.row) == ("default.nn", "id", None)
    assert "(row" not in str(raised.value)
    assert rows(lake, "SELECT * FROM nn ORDER BY id") == [(1, 1), (2, 2), (3, 3)]
