"""``table_changes``: the change feed over commits of sqllake and of other writers.

Deletes and rewrites are committed by PyIceberg (copy-on-write) or by hand with delete
files (``tests.iceberg_writes``), since sqllake itself only appends. Every feed is also
checked against the table's contents: per snapshot, inserted minus deleted rows is the
change of the row count.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.io.pyarrow import parquet_file_to_data_file
from pyiceberg.table import Table

import sqllake
from sqllake.catalog import TableName
from tests.conftest import CORPUS, rows
from tests.iceberg_writes import (
    _write_parquet,
    commit_deletes,
    deletion_vector_puffin,
    equality_delete_file,
    position_delete_file,
)

Change = tuple[Any, ...]


def _table(con: sqllake.Connection, name: str = "t") -> Table:
    return con.session.lakehouse.load(TableName(("default",), name))


def _snapshots(con: sqllake.Connection, name: str = "t") -> list[int]:
    return [r[0] for r in rows(con, f'SELECT snapshot_id FROM "{name}$snapshots" ORDER BY 1')]


def _lineage(table: Table) -> list[int]:
    """Snapshot ids of the current lineage, oldest first."""
    out = []
    snapshot = table.current_snapshot()
    while snapshot is not None:
        out.append(snapshot.snapshot_id)
        parent = snapshot.parent_snapshot_id
        snapshot = table.metadata.snapshot_by_id(parent) if parent is not None else None
    return out[::-1]


def _changes(con: sqllake.Connection, arguments: str = "'t'") -> list[Change]:
    """(ordinal, change type, id, name) of every change, in a stable order."""
    return rows(
        con,
        f"SELECT _change_ordinal, _change_type, id, name FROM table_changes({arguments}) "
        "ORDER BY _change_ordinal, id, _change_type",
    )


def _create(con: sqllake.Connection, *inserts: str, key: bool = False) -> Table:
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE t (id INT NOT NULL, name VARCHAR{', PRIMARY KEY (id)' if key else ''})"
    )
    for values in inserts:
        cur.execute(f"INSERT INTO t VALUES {values}")
    return _table(con)


def test_appends_are_inserts_with_their_snapshot(lake: sqllake.Connection) -> None:
    _create(lake, "(1, 'a'), (2, 'b')", "(3, 'c')")
    first, second = _lineage(_table(lake))
    assert _changes(lake) == [(0, "insert", 1, "a"), (0, "insert", 2, "b"), (1, "insert", 3, "c")]
    found = rows(
        lake,
        "SELECT DISTINCT c._snapshot_id, c._commit_timestamp = s.committed_at "
        "FROM table_changes('default.t') c JOIN \"t$snapshots\" s "
        "ON c._snapshot_id = s.snapshot_id ORDER BY c._change_ordinal",
    )
    assert found == [(first, True), (second, True)]
    # start is exclusive, end inclusive
    assert _changes(lake, f"'t', {first}") == [(0, "insert", 3, "c")]
    assert _changes(lake, f"'t', NULL, {first}") == [(0, "insert", 1, "a"), (0, "insert", 2, "b")]
    assert _changes(lake, f"'t', {first}, {first}") == []
    assert _changes(lake, f"'t', '{second}'") == []


def test_bounds_may_be_moments(lake: sqllake.Connection) -> None:
    _create(lake, "(1, 'a')", "(2, 'b')")
    table = _table(lake)
    first = table.metadata.snapshot_by_id(_lineage(table)[0])
    assert first is not None
    moment = datetime.datetime.fromtimestamp(first.timestamp_ms / 1000, datetime.UTC)
    text = moment.isoformat()
    assert _changes(lake, f"'t', TIMESTAMPTZ '{text}'") == [(0, "insert", 2, "b")]
    assert _changes(lake, f"'t', '{text}'") == [(0, "insert", 2, "b")]
    assert _changes(lake, f"'t', NULL, TIMESTAMPTZ '{text}'") == [(0, "insert", 1, "a")]
    assert _changes(lake, "'t', now() - INTERVAL 1 DAY") == [
        (0, "insert", 1, "a"),
        (1, "insert", 2, "b"),
    ]
    assert _changes(lake, "'t', now()") == []


def test_copy_on_write_delete_reports_only_the_deleted_rows(lake: sqllake.Connection) -> None:
    table = _create(lake, "(1, 'a'), (2, 'b'), (3, 'c')", "(4, 'd')")
    table.delete("id = 2")  # rewrites the first file without row 2
    table.delete("id = 4")  # drops the second file whole
    assert _changes(lake) == [
        (0, "insert", 1, "a"),
        (0, "insert", 2, "b"),
        (0, "insert", 3, "c"),
        (1, "insert", 4, "d"),
        (2, "delete", 2, "b"),
        (3, "delete", 4, "d"),
    ]


def test_overwrite_reports_what_changed_and_not_what_was_carried_over(
    lake: sqllake.Connection,
) -> None:
    table = _create(lake, "(1, 'a'), (2, 'b'), (3, 'c')")
    new = pa.table({"id": pa.array([1, 2, 5], pa.int32()), "name": ["a", "B", "e"]})
    table.overwrite(new.cast(table.schema().as_arrow()))
    # PyIceberg commits an overwrite as two snapshots: a delete of every file, an append.
    start = _lineage(_table(lake))[0]
    assert _changes(lake, f"'t', {start}") == [
        (0, "delete", 1, "a"),
        (0, "delete", 2, "b"),
        (0, "delete", 3, "c"),
        (1, "insert", 1, "a"),
        (1, "insert", 2, "B"),
        (1, "insert", 5, "e"),
    ]


def _rewrite(table: Table, replacement: pa.Table) -> Table:
    """One overwrite snapshot replacing the table's only data file by ``replacement``,
    as a copy-on-write MERGE of Spark commits it."""
    (task,) = table.scan().plan_files()
    path, _ = _write_parquet(table, replacement.cast(table.schema().as_arrow()), "rewrite")
    new_file = parquet_file_to_data_file(table.io, table.metadata, path)
    with table.transaction() as transaction, transaction.update_snapshot().overwrite() as change:
        change.delete_data_file(task.file)
        change.append_data_file(new_file)
    return table.refresh()


def test_identifier_fields_pair_a_key_deleted_and_inserted_as_an_update(
    lake: sqllake.Connection,
) -> None:
    table = _create(lake, "(1, 'a'), (2, 'b'), (3, 'c')", key=True)
    table = _rewrite(table, pa.table({"id": [1, 2, 4], "name": ["a", "B", "d"]}))
    changed = _changes(lake, f"'t', {_lineage(table)[0]}")
    assert changed == [
        (0, "update_postimage", 2, "B"),
        (0, "update_preimage", 2, "b"),
        (0, "delete", 3, "c"),
        (0, "insert", 4, "d"),
    ]


def test_without_identifier_fields_an_update_is_a_delete_and_an_insert(
    lake: sqllake.Connection,
) -> None:
    table = _create(lake, "(1, 'a'), (2, 'b')")
    table = _rewrite(table, pa.table({"id": [1, 2], "name": ["a", "B"]}))
    assert _changes(lake, f"'t', {_lineage(table)[0]}") == [
        (0, "delete", 2, "b"),
        (0, "insert", 2, "B"),
    ]


def test_delete_files_report_the_rows_they_delete(lake: sqllake.Connection) -> None:
    table = _create(lake, "(1, 'a'), (2, 'b'), (3, 'c')", "(4, 'd'), (5, 'e')")
    files = {task.file.record_count: task.file.file_path for task in table.scan().plan_files()}
    table = commit_deletes(table, [position_delete_file(table, [(files[3], 1)])])
    table = commit_deletes(table, [equality_delete_file(table, ["id"], [(5,), (1,)])])
    table = commit_deletes(table, [deletion_vector_puffin(table, {files[3]: [2]})])
    start = _lineage(table)[1]
    assert _changes(lake, f"'t', {start}") == [
        (0, "delete", 2, "b"),
        (1, "delete", 1, "a"),
        (1, "delete", 5, "e"),
        (2, "delete", 3, "c"),
    ]
    assert rows(lake, "SELECT id FROM t ORDER BY id") == [(4,)]


def test_columns_follow_the_schema_of_the_end_snapshot(lake: sqllake.Connection) -> None:
    _create(lake, "(1, 'a')")
    cur = lake.cursor()
    cur.execute("ALTER TABLE t RENAME COLUMN name TO label")
    cur.execute("ALTER TABLE t ADD COLUMN n INT")
    cur.execute("INSERT INTO t VALUES (2, 'b', 20)")
    cur.execute("SELECT * FROM table_changes('t') ORDER BY id")
    assert [d[0] for d in cur.description] == [
        "id",
        "label",
        "n",
        "_change_type",
        "_snapshot_id",
        "_commit_timestamp",
        "_change_ordinal",
    ]
    assert [r[:4] for r in cur.fetchall()] == [(1, "a", None, "insert"), (2, "b", 20, "insert")]


def test_buffered_rows_are_changes_once_flushed(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT NOT NULL, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (1, 'a')")
    assert _changes(con) == []
    cur.execute("FLUSH t")
    assert _changes(con) == [(0, "insert", 1, "a")]


def test_a_range_across_an_expired_snapshot_is_refused(lake: sqllake.Connection) -> None:
    table = _create(lake, "(1, 'a')", "(2, 'b')", "(3, 'c')")
    first, second, third = _lineage(table)
    table.maintenance.expire_snapshots().by_id(first).commit()
    with pytest.raises(
        sqllake.OperationalError, match=f"history before snapshot {second} has expired"
    ):
        _changes(lake)
    assert _changes(lake, f"'t', {second}") == [(0, "insert", 3, "c")]
    with pytest.raises(sqllake.ProgrammingError, match=f"no snapshot {first}"):
        _changes(lake, f"'t', {first}")
    assert third == _lineage(_table(lake))[-1]


def _register(con: sqllake.Connection, name: str) -> Table:
    entry = next(
        e for e in json.loads((CORPUS / "expected.json").read_text()) if e["table"] == name
    )
    metadata = CORPUS / name / entry["metadata_file"]
    con.cursor().execute("CALL system.register_table(?, ?)", (name, str(metadata)))
    return _table(con, name)


def _count_at(con: sqllake.Connection, name: str, snapshot: int) -> int:
    return int(rows(con, f"SELECT count(*) FROM {name} FOR VERSION AS OF {snapshot}")[0][0])


@pytest.mark.parametrize(
    "name",
    [
        "spec1_pyspark",
        "spec2_pyspark",
        "lineitem_iceberg",
        "eq_deletes_partitioned",
        "hive_partitioned_table",
        "partition_bucket",
        "partition_year",
    ],
)
def test_corpus_feeds_add_up_to_each_snapshot(lake: sqllake.Connection, name: str) -> None:
    """Other engines' tables: each snapshot's inserts minus deletes is its row-count change."""
    table = _register(lake, name)
    lineage = _lineage(table)
    net = Counter(
        dict(
            rows(
                lake,
                f"SELECT _snapshot_id, sum(CASE WHEN _change_type LIKE '%delete%' "
                f"OR _change_type = 'update_preimage' THEN -1 ELSE 1 END) "
                f"FROM table_changes('{name}') GROUP BY 1",
            )
        )
    )
    previous = 0
    for snapshot in lineage:
        count = _count_at(lake, name, snapshot)
        assert net[snapshot] == count - previous, snapshot
        previous = count


def test_corpus_delete_files_report_deleted_rows(lake: sqllake.Connection) -> None:
    """spec2_pyspark's DELETE snapshot (position delete files) deletes rows only."""
    table = _register(lake, "spec2_pyspark")
    lineage = _lineage(table)
    for parent, snapshot in zip(lineage, lineage[1:], strict=False):
        found = table.metadata.snapshot_by_id(snapshot)
        assert found is not None and found.summary is not None
        if found.summary.operation.value != "delete":
            continue
        kinds = rows(
            lake,
            f"SELECT DISTINCT _change_type FROM table_changes('spec2_pyspark', {parent}, "
            f"{snapshot})",
        )
        deleted = _count_at(lake, "spec2_pyspark", parent) - _count_at(
            lake, "spec2_pyspark", snapshot
        )
        assert kinds == ([("delete",)] if deleted else [])


def test_a_snapshot_whose_metadata_is_missing_is_a_clear_error(lake: sqllake.Connection) -> None:
    _register(lake, "eq_deletes")
    with pytest.raises(sqllake.OperationalError, match="7342794868382145167"):
        _changes(lake, "'eq_deletes'")


@pytest.mark.parametrize(
    "name", ["spec1_pyspark", "spec2_pyspark", "lineitem_iceberg", "eq_deletes_partitioned"]
)
def test_corpus_feeds_replay_to_the_table(lake: sqllake.Connection, name: str) -> None:
    """Replaying the whole feed (inserts minus deletes, as multisets) gives the table's rows."""
    _register(lake, name)
    feed = "_change_type, _snapshot_id, _commit_timestamp, _change_ordinal"
    added = "('insert', 'update_postimage')"
    replayed = (
        f"(SELECT * EXCLUDE ({feed}) FROM table_changes('{name}') WHERE _change_type IN {added}"
        f" EXCEPT ALL SELECT * EXCLUDE ({feed}) FROM table_changes('{name}')"
        f" WHERE _change_type NOT IN {added})"
    )
    missing = rows(lake, f"SELECT count(*) FROM (SELECT * FROM {name} EXCEPT ALL {replayed})")
    extra = rows(lake, f"SELECT count(*) FROM ({replayed} EXCEPT ALL SELECT * FROM {name})")
    assert (missing, extra) == ([(0,)], [(0,)])
