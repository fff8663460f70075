"""Reads of tables with delete files that other engines wrote (Iceberg v2 merge-on-read).

Tables are created and filled through sqllake; delete files are committed by hand
(``tests.iceberg_writes``), since neither sqllake nor PyIceberg writes them. Every
read is checked row for row; PyIceberg's own reader cross-checks position deletes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.io.pyarrow import parquet_file_to_data_file, schema_to_pyarrow
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.typedef import Record

import sqllake
from sqllake.catalog import TableName
from tests.conftest import rows
from tests.iceberg_writes import (
    commit_deletes,
    deletion_vector_file,
    deletion_vector_puffin,
    equality_delete_file,
    position_delete_file,
)


def _table(con: sqllake.Connection, name: str = "t") -> Table:
    return con.session.lakehouse.load(TableName(("default",), name))


def _create(con: sqllake.Connection, batches: Sequence[str], name: str = "t") -> Table:
    """Table ``name`` (id INT, name VARCHAR) with one INSERT (one data file) per batch."""
    cur = con.cursor()
    cur.execute(f"CREATE TABLE {name} (id INT, name VARCHAR)")
    for values in batches:
        cur.execute(f"INSERT INTO {name} VALUES {values}")
    return _table(con, name)


def _files_by_ids(table: Table) -> dict[tuple[int, ...], DataFile]:
    """The table's data files keyed by the ids they hold, in file (row position) order."""
    out = {}
    for task in table.scan().plan_files():
        with table.io.new_input(task.file.file_path).open() as stream:
            ids = pq.read_table(stream, columns=["id"]).column("id").to_pylist()
        out[tuple(ids)] = task.file
    return out


def _ids(n: int, m: int) -> str:
    return ", ".join(f"({i}, 'n{i}')" for i in range(n, m + 1))


def test_position_deletes_remove_exactly_the_namedrows(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 5), _ids(6, 10), _ids(11, 15)])
    files = _files_by_ids(table)
    assert sorted(files) == [(1, 2, 3, 4, 5), (6, 7, 8, 9, 10), (11, 12, 13, 14, 15)]
    middle = files[(6, 7, 8, 9, 10)].file_path
    # first, middle and last row of the middle file
    table = commit_deletes(
        table, [position_delete_file(table, [(middle, 0), (middle, 2), (middle, 4)])]
    )

    kept = [i for i in range(1, 16) if i not in (6, 8, 10)]
    assert rows(lake, "SELECT id, name FROM t ORDER BY id") == [(i, f"n{i}") for i in kept]
    assert rows(lake, "SELECT count(*), sum(id) FROM t") == [(12, sum(kept))]
    assert rows(lake, "SELECT count(*) FROM t WHERE id BETWEEN 6 AND 10") == [(2,)]
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == kept


def test_position_delete_does_not_touch_same_positions_of_other_files(
    lake: sqllake.Connection,
) -> None:
    table = _create(lake, [_ids(1, 3), _ids(4, 6)])
    first = _files_by_ids(table)[(1, 2, 3)].file_path
    table = commit_deletes(table, [position_delete_file(table, [(first, 1)])])
    assert rows(lake, "SELECT id FROM t ORDER BY id") == [(1,), (3,), (4,), (5,), (6,)]


def test_equality_delete_applies_only_to_older_files(lake: sqllake.Connection) -> None:
    table = _create(lake, ["(1, 'a'), (2, 'b')", "(1, 'c'), (3, 'd')"])
    table = commit_deletes(table, [equality_delete_file(table, ["id"], [(1,)])])
    assert rows(lake, "SELECT id, name FROM t ORDER BY id") == [(2, "b"), (3, "d")]

    # Inserted after the delete: a higher sequence number, so the delete does not apply.
    lake.cursor().execute("INSERT INTO t VALUES (1, 'after')")
    assert rows(lake, "SELECT id, name FROM t ORDER BY id, name") == [
        (1, "after"),
        (2, "b"),
        (3, "d"),
    ]
    assert rows(lake, "SELECT count(*) FROM t WHERE id = 1") == [(1,)]


def test_equality_delete_null_key_matches_null(lake: sqllake.Connection) -> None:
    table = _create(lake, ["(1, 'a'), (2, NULL), (NULL, 'c'), (NULL, NULL), (3, 'a')"])
    table = commit_deletes(table, [equality_delete_file(table, ["id"], [(None,)])])
    assert rows(lake, "SELECT id, name FROM t ORDER BY id") == [(1, "a"), (2, None), (3, "a")]


def test_equality_delete_on_two_columns_needs_a_full_match(lake: sqllake.Connection) -> None:
    table = _create(
        lake, ["(1, 'a'), (1, 'b'), (2, NULL), (2, 'x'), (3, 'a'), (NULL, 'a'), (NULL, NULL)"]
    )
    keys = [(1, "a"), (2, None), (3, "zz"), (None, "a"), (4, "a")]
    table = commit_deletes(table, [equality_delete_file(table, ["id", "name"], keys)])
    assert rows(lake, "SELECT id, name FROM t ORDER BY id, name") == [
        (1, "b"),
        (2, "x"),
        (3, "a"),
        (None, None),
    ]


def test_dangling_position_delete_after_compaction(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 3), _ids(4, 6)])
    old = _files_by_ids(table)[(1, 2, 3)]
    table = commit_deletes(table, [position_delete_file(table, [(old.file_path, 1)])])
    before_compaction = table.metadata.current_snapshot_id

    # Compaction: replace the old file with one holding its live rows (1, 3). The delete
    # file stays, naming a file the snapshot no longer has; its position 1 is now id 3.
    path = table.location_provider().new_data_location("compacted.parquet")
    live = rows(lake, "SELECT id, name FROM t WHERE id <= 3 ORDER BY id")
    arrow = pa.Table.from_pylist(
        [{"id": i, "name": n} for i, n in live], schema=schema_to_pyarrow(table.schema())
    )
    with table.io.new_output(path).create() as out:
        pq.write_table(arrow, out)
    with table.transaction() as tx, tx.update_snapshot().overwrite() as overwrite:
        overwrite.delete_data_file(old)
        overwrite.append_data_file(parquet_file_to_data_file(table.io, table.metadata, path))

    expected = [(1,), (3,), (4,), (5,), (6,)]
    assert rows(lake, "SELECT id FROM t ORDER BY id") == expected
    assert rows(lake, f"SELECT id FROM t FOR VERSION AS OF {before_compaction} ORDER BY id") == (
        expected
    )
    assert sorted(_table(lake).scan().to_arrow().column("id").to_pylist()) == [1, 3, 4, 5, 6]


def test_position_delete_naming_a_missing_file_deletes_nothing(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 3), _ids(4, 6)])
    missing = table.location_provider().new_data_location("never-written.parquet")
    table = commit_deletes(table, [position_delete_file(table, [(missing, 0), (missing, 1)])])
    assert rows(lake, "SELECT id FROM t ORDER BY id") == [(i,) for i in range(1, 7)]


def test_time_travel_before_and_after_deletes(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 4)])
    no_deletes = table.metadata.current_snapshot_id
    only_file = next(iter(_files_by_ids(table).values())).file_path
    table = commit_deletes(table, [position_delete_file(table, [(only_file, 0)])])
    position_deleted = table.metadata.current_snapshot_id
    table = commit_deletes(table, [equality_delete_file(table, ["name"], [("n4",)])])

    def at(snapshot: int | None) -> list[tuple[Any, ...]]:
        version = f" FOR VERSION AS OF {snapshot}" if snapshot is not None else ""
        return rows(lake, f"SELECT id FROM t{version} ORDER BY id")

    assert at(no_deletes) == [(1,), (2,), (3,), (4,)]
    assert at(position_deleted) == [(2,), (3,), (4,)]
    assert at(None) == [(2,), (3,)]


def test_explain_and_pruning_with_deletes(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 5), _ids(6, 10), _ids(11, 15)])
    middle = _files_by_ids(table)[(6, 7, 8, 9, 10)].file_path
    table = commit_deletes(table, [position_delete_file(table, [(middle, 1)])])
    table = commit_deletes(table, [equality_delete_file(table, ["id"], [(12,), (8,)])])

    pruned = rows(lake, "EXPLAIN SELECT id FROM t WHERE id >= 6 AND id <= 9")[0][0]
    assert pruned.startswith("scan default.t: 1 of 3 data files"), pruned
    assert rows(lake, "SELECT id FROM t WHERE id >= 6 AND id <= 9 ORDER BY id") == [(6,), (9,)]

    whole = rows(lake, "EXPLAIN SELECT id FROM t")[0][0]
    assert whole.startswith("scan default.t: 3 of 3 data files"), whole
    assert "2 delete files" in whole, whole
    assert rows(lake, "SELECT id FROM t WHERE id > 10 ORDER BY id") == [
        (11,),
        (13,),
        (14,),
        (15,),
    ]
    assert rows(lake, "SELECT count(*) FROM t") == [(12,)]


def test_deletion_vectors_delete_their_positions(lake: sqllake.Connection) -> None:
    """v3 deletion vectors (Puffin blobs), in one file for two data files."""
    table = _create(lake, [_ids(1, 5), _ids(6, 10), _ids(11, 12)])
    files = _files_by_ids(table)
    first, second = files[(1, 2, 3, 4, 5)].file_path, files[(6, 7, 8, 9, 10)].file_path
    before = table.current_snapshot().snapshot_id
    table = commit_deletes(table, [deletion_vector_puffin(table, {first: [0, 4], second: [2]})])
    assert rows(lake, "SELECT id FROM t ORDER BY id") == [
        (i,) for i in (2, 3, 4, 6, 7, 9, 10, 11, 12)
    ]
    assert rows(lake, "SELECT count(*) FROM t WHERE id BETWEEN 1 AND 8") == [(5,)]
    assert rows(lake, f"SELECT count(*) FROM t FOR VERSION AS OF {before}") == [(12,)]
    cur = lake.cursor()
    cur.execute("EXPLAIN SELECT * FROM t")
    assert "1 delete files" in cur.fetchone()[0]
    # Rows written after the vector are not touched by it.
    lake.cursor().execute("INSERT INTO t VALUES (13, 'n13')")
    assert rows(lake, "SELECT count(*) FROM t") == [(10,)]


def test_a_missing_deletion_vector_file_is_an_error_not_rows(lake: sqllake.Connection) -> None:
    table = _create(lake, [_ids(1, 3)])
    commit_deletes(table, [deletion_vector_file(table)])  # an entry whose file is absent
    with pytest.raises(sqllake.OperationalError):
        lake.cursor().execute("SELECT * FROM t")


def test_equality_delete_follows_renamed_column(lake: sqllake.Connection) -> None:
    """Delete files are matched by field id, so a later rename keeps them applying."""
    table = _create(lake, ["(1, 'a'), (2, 'b'), (3, 'a')"])
    commit_deletes(table, [equality_delete_file(table, ["name"], [("a",)])])
    lake.cursor().execute("ALTER TABLE t RENAME COLUMN name TO label")
    assert rows(lake, "SELECT id, label FROM t ORDER BY id") == [(2, "b")]


def _partitioned(con: sqllake.Connection) -> Table:
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id INT, part INT) PARTITIONED BY (part)")
    cur.execute("INSERT INTO p VALUES (1, 1), (2, 1), (1, 2), (2, 2)")
    return _table(con, "p")


def test_partitioned_equality_delete_stays_in_its_partition(lake: sqllake.Connection) -> None:
    table = _partitioned(lake)
    delete = equality_delete_file(table, ["id"], [(1,)], partition=Record(1))
    commit_deletes(table, [delete])
    assert rows(lake, "SELECT id, part FROM p ORDER BY part, id") == [(2, 1), (1, 2), (2, 2)]


def test_equality_delete_on_identity_column_missing_from_the_file(
    lake: sqllake.Connection,
) -> None:
    """Writers may leave identity partition columns out of data files (the manifest has
    the value); equality deletes must compare that value, not the absent column."""
    table = _partitioned(lake)
    # A data file of partition part=3 holding only the id column, as such writers do.
    path = table.location_provider().new_data_location("no-part-column.parquet")
    ids_only = pa.Table.from_pylist(
        [{"id": 5}, {"id": 6}], schema=schema_to_pyarrow(table.schema().select("id"))
    )
    with table.io.new_output(path).create() as out:
        pq.write_table(ids_only, out)
    data = DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=Record(3),
        record_count=2,
        file_size_in_bytes=len(table.io.new_input(path)),
        spec_id=table.spec().spec_id,
    )
    with table.transaction() as tx, tx.update_snapshot().fast_append() as append:
        append.append_data_file(data)
    assert rows(lake, "SELECT id, part FROM p WHERE part = 3 ORDER BY id") == [(5, 3), (6, 3)]

    # An unpartitioned (global) equality delete would need a second spec; a delete in
    # partition 3 keyed on the partition column itself and on (id, part) is enough.
    table = _table(lake, "p")
    table = commit_deletes(
        table, [equality_delete_file(table, ["id", "part"], [(5, 3)], partition=Record(3))]
    )
    assert rows(lake, "SELECT id, part FROM p ORDER BY part, id") == [
        (1, 1),
        (2, 1),
        (1, 2),
        (2, 2),
        (6, 3),
    ]
    table = commit_deletes(
        table, [equality_delete_file(table, ["part"], [(3,)], partition=Record(3))]
    )
    assert rows(lake, "SELECT id, part FROM p ORDER BY part, id") == [
        (1, 1),
        (2, 1),
        (1, 2),
        (2, 2),
    ]
