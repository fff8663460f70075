"""Iceberg format 3 tables: row lineage as the spec assigns it, and other readers.

The golden files (tests/sql/v3) cover what SQL sees; here the files themselves are
read: the metadata's row lineage fields, the manifest lists' ``first_row_id``, and
PyIceberg reading the tables sqllake wrote (defaults and nanosecond timestamps exact).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.manifest import ManifestContent
from pyiceberg.schema import Schema
from pyiceberg.table import StaticTable
from pyiceberg.types import GeometryType, LongType, NestedField, UnknownType

import sqllake
from sqllake.compat import iceberg_v3
from sqllake.types import duckdb_type


def _metadata(warehouse: Path, table: str) -> dict[str, Any]:
    files = sorted((warehouse / "default" / table / "metadata").glob("*.metadata.json"))
    loaded: dict[str, Any] = json.loads(files[-1].read_text())
    return loaded


def _static(warehouse: Path, table: str) -> StaticTable:
    files = sorted((warehouse / "default" / table / "metadata").glob("*.metadata.json"))
    return StaticTable.from_metadata(str(files[-1]))


def _lineage(warehouse: Path, table: str) -> list[list[tuple[int | None, int, int]]]:
    """Per snapshot: each data manifest's (first_row_id, added rows, existing rows)."""
    static = _static(warehouse, table)
    return [
        [
            (m[len(m._data) - 1], m.added_rows_count, m.existing_rows_count)
            for m in iceberg_v3.manifests(static.io, snapshot.manifest_list)
            if m.content == ManifestContent.DATA
        ]
        for snapshot in static.metadata.snapshots
    ]


def test_row_ids_are_assigned_by_snapshot_and_manifest(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    con = sqllake.connect(str(warehouse), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT) WITH ('format-version' = '3')")
    cur.execute("INSERT INTO t VALUES (1), (2)")
    cur.execute("INSERT INTO t SELECT * FROM range(5)")
    con.close()
    metadata = _metadata(warehouse, "t")
    assert metadata["format-version"] == 3
    assert metadata["next-row-id"] == 7
    snapshots = [(s["first-row-id"], s["added-rows"]) for s in metadata["snapshots"]]
    assert snapshots == [(0, 2), (2, 5)]
    # The newest manifest comes first; each keeps the ids it was given.
    assert _lineage(warehouse, "t") == [[(0, 2, 0)], [(2, 5, 0), (0, 2, 0)]]
    # New data files carry no first_row_id: their rows inherit it from the manifest.
    static = _static(warehouse, "t")
    files = [task.file for task in static.scan().plan_files()]
    assert len(files) == 2


def test_an_upgraded_table_gives_its_older_rows_ids_in_its_first_v3_snapshot(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "wh"
    con = sqllake.connect(str(warehouse), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT)")
    cur.execute("INSERT INTO t SELECT * FROM range(4)")
    cur.execute("ALTER TABLE t SET TBLPROPERTIES ('format-version' = '3')")
    assert _metadata(warehouse, "t")["next-row-id"] == 0
    cur.execute("INSERT INTO t VALUES (10)")
    con.close()
    metadata = _metadata(warehouse, "t")
    assert metadata["next-row-id"] == 5
    assert "first-row-id" not in metadata["snapshots"][0]
    assert (metadata["snapshots"][1]["first-row-id"], metadata["snapshots"][1]["added-rows"]) == (
        0,
        5,
    )
    assert _lineage(warehouse, "t")[-1] == [(0, 1, 0), (1, 4, 0)]


def test_concurrent_writers_never_share_row_ids(tmp_path: Path) -> None:
    warehouse = str(tmp_path / "wh")
    first = sqllake.connect(warehouse, autocommit=False, inline_rows=0)
    second = sqllake.connect(warehouse, autocommit=False, inline_rows=0)
    first.execute("CREATE TABLE t (id INT) WITH ('format-version' = '3')")
    first.commit()
    first.execute("INSERT INTO t SELECT * FROM range(3)")
    second.execute("INSERT INTO t SELECT * FROM range(4)")
    first.commit()
    second.commit()  # retried on the first one's metadata
    first.close()
    second.close()
    metadata = _metadata(tmp_path / "wh", "t")
    assert metadata["next-row-id"] == 7
    ranges = sorted((s["first-row-id"], s["added-rows"]) for s in metadata["snapshots"])
    assert ranges in ([(0, 3), (3, 4)], [(0, 4), (4, 3)])


def test_pyiceberg_reads_defaults_and_nanoseconds_exactly(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh"
    con = sqllake.connect(str(warehouse), autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE t (id INT, ts TIMESTAMP_NS, tz TIMESTAMPTZ_NS, status VARCHAR DEFAULT 'new')"
    )
    cur.execute(
        "INSERT INTO t VALUES (1, '2024-01-01 10:00:00.123456789', "
        "'2024-01-01 10:00:00.000000001+00', 'x')"
    )
    cur.execute("INSERT INTO t (id, ts) VALUES (2, '1970-01-01 00:00:00.000000007')")
    cur.execute(
        "ALTER TABLE t ADD COLUMN score INT DEFAULT 7, ADD COLUMN day DATE DEFAULT '2024-02-29'"
    )
    cur.execute("INSERT INTO t (id, score) VALUES (3, 9)")
    con.close()
    static = _static(warehouse, "t")
    fields = {f.name: f for f in static.schema().fields}
    assert fields["status"].write_default == "new" and fields["status"].initial_default is None
    assert fields["score"].initial_default == 7 and fields["score"].write_default == 7
    assert fields["day"].initial_default == datetime.date(2024, 2, 29)
    rows = static.scan().to_arrow().sort_by("id")
    assert rows.column("ts").cast("int64").to_pylist() == [1704103200123456789, 7, None]
    assert rows.column("tz").cast("int64").to_pylist() == [1704103200000000001, None, None]
    assert str(rows.schema.field("tz").type) == "timestamp[ns, tz=UTC]"
    plain = rows.drop_columns(["ts", "tz"]).to_pylist()
    assert plain == [
        {"id": 1, "status": "x", "score": 7, "day": datetime.date(2024, 2, 29)},
        {"id": 2, "status": "new", "score": 7, "day": datetime.date(2024, 2, 29)},
        {"id": 3, "status": "new", "score": 9, "day": datetime.date(2024, 2, 29)},
    ]


def test_buffered_rows_read_the_initial_default_of_a_later_column(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT) WITH ('format-version' = '3')")
    cur.execute("INSERT INTO t VALUES (1)")  # buffered, not yet a file
    cur.execute("ALTER TABLE t ADD COLUMN x INT DEFAULT 5")
    cur.execute("SELECT id, x FROM t")
    assert cur.fetchall() == [(1, 5)]
    cur.execute("FLUSH t")
    cur.execute("SELECT id, x FROM t")
    assert cur.fetchall() == [(1, 5)]
    con.close()


def test_format_3_types_of_other_engines_read_or_are_refused(tmp_path: Path) -> None:
    """``unknown`` columns read as NULL (writes are refused); geometry is refused."""
    warehouse = tmp_path / "wh"
    con = sqllake.connect(str(warehouse), autocommit=True)
    con.execute("SHOW TABLES")  # the warehouse and its catalog are made on first use
    catalog = SqlCatalog(
        "sqllake", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}"
    )
    v3 = {"format-version": "3"}
    catalog.create_table(
        "default.u",
        Schema(NestedField(1, "id", LongType()), NestedField(2, "x", UnknownType())),
        properties=v3,
    )
    catalog.engine.dispose()
    cur = con.cursor()
    cur.execute("DESCRIBE u")
    assert [row[:2] for row in cur.fetchall()] == [("id", "BIGINT"), ("x", '"NULL"')]
    cur.execute("SELECT count(*), count(x) FROM u")
    assert cur.fetchone() == (0, 0)
    with pytest.raises(sqllake.NotSupportedError, match="column x of type unknown"):
        cur.execute("INSERT INTO u (id) VALUES (1)")
    con.close()
    with pytest.raises(sqllake.NotSupportedError, match="geometry"):
        duckdb_type(GeometryType())
