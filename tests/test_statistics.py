"""Table statistics after every kind of commit, by sqllake and by other writers.

``information_schema.tables`` (and ``SHOW TABLE EXTENDED``) must agree with a full
count of the table and with its file list after appends, buffered rows, copy-on-write
deletes and overwrites by PyIceberg, and position and equality delete files.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.table import Table

import sqllake
from sqllake.catalog import TableName
from tests.conftest import rows
from tests.iceberg_writes import commit_deletes, equality_delete_file, position_delete_file


def _table(con: sqllake.Connection) -> Table:
    return con.session.lakehouse.load(TableName(("default",), "t"))


def _check(con: sqllake.Connection) -> None:
    """The statistics against the table itself."""
    (stats,) = rows(
        con,
        "SELECT row_count, data_files, delete_files, total_bytes, snapshot_count, "
        "last_operation, schema_id FROM information_schema.tables WHERE table_name = 't'",
    )
    (count,) = rows(con, "SELECT count(*) FROM t")[0]
    files = rows(con, 'SELECT content, count(*), sum(file_size_in_bytes) FROM "t$files" GROUP BY 1')
    by_content = {content: (n, size) for content, n, size in files}
    data, data_bytes = by_content.get(0, (0, 0))
    deletes = sum(n for content, (n, _) in by_content.items() if content != 0)
    delete_bytes = sum(size for content, (_, size) in by_content.items() if content != 0)
    table = _table(con)
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None else None
    operation = summary.operation.value if summary is not None else None
    assert stats == (
        count,
        data,
        deletes,
        data_bytes + delete_bytes,
        len(table.metadata.snapshots),
        operation,
        table.metadata.current_schema_id,
    )
    extended = rows(con, "SHOW TABLE EXTENDED LIKE 't'")[0]
    assert extended[1:6] == stats[:5]


def test_statistics_follow_every_kind_of_commit(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR)")
    _check(con)
    cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")  # buffered: counted, no file yet
    _check(con)
    cur.execute("FLUSH t")
    _check(con)
    _table(con).append(pa.table({"id": pa.array([3, 4], pa.int32()), "name": ["c", "d"]}))
    _check(con)
    _table(con).delete("id = 1")  # copy-on-write: the first file is rewritten
    _check(con)
    _table(con).delete("id IN (3, 4)")  # the PyIceberg file goes whole
    _check(con)
    cur.execute("INSERT INTO t SELECT i, 'n' FROM range(5, 10) r(i)")
    cur.execute("FLUSH t")
    table = _table(con)
    path = next(t.file.file_path for t in table.scan().plan_files() if t.file.record_count == 5)
    commit_deletes(table, [position_delete_file(table, [(path, 0), (path, 1)])])
    _check(con)
    table = _table(con)
    commit_deletes(table, [equality_delete_file(table, ["id"], [(9,)])])
    _check(con)
    (count,) = rows(con, "SELECT count(*) FROM t")[0]
    assert count == 3  # 2, 7, 8
    # Rows in the buffer beside delete files: the snapshot is counted by a scan, and the
    # buffered row is added once.
    cur.execute("INSERT INTO t VALUES (11, 'y')")
    table = _table(con)
    commit_deletes(table, [equality_delete_file(table, ["id"], [(2,)])])
    _check(con)
    (count,) = rows(con, "SELECT count(*) FROM t")[0]
    assert count == 3  # 7, 8 and the buffered 11
    cur.execute("FLUSH t")
    new = pa.table({"id": pa.array([10], pa.int32()), "name": ["z"]})
    _table(con).overwrite(new)
    _check(con)
    cur.execute("ALTER TABLE t ADD COLUMN extra INT")
    _check(con)
