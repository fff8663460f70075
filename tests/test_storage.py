"""Data files: cut at the target size on disk, with Iceberg's field ids and metrics, the
table's codec and row groups, nothing left behind by a failed write; columns added later
read their initial default."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.types import (
    DateType,
    DecimalType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
)

import sqllake
from sqllake.catalog import TableName
from sqllake.read.engine import Engine
from sqllake.read.scan import DataFileRef, ScanPlan
from sqllake.read.scan_sql import scan_sql

TARGET = 2 * 1024 * 1024


def test_files_come_within_a_fifth_of_the_target_size(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE t (id BIGINT, label VARCHAR, x DOUBLE) "
        f"WITH ('write.target-file-size-bytes' = '{TARGET}', "
        "'write.parquet.compression-codec' = 'zstd')"
    )
    cur.execute("INSERT INTO t SELECT range, md5(range::VARCHAR), random() FROM range(1500000)")
    sizes = sorted(
        (p.stat().st_size for p in (tmp_path / "wh" / "default" / "t" / "data").glob("*.parquet")),
        reverse=True,
    )
    assert len(sizes) >= 5
    *full, _last = sizes  # the last file of a write holds what is left
    assert all(0.8 * TARGET <= size <= 1.2 * TARGET for size in full), sizes
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (1_500_000,)
    con.close()


def test_a_column_added_later_reads_its_initial_default_from_older_files(tmp_path: Path) -> None:
    """Iceberg v3 ``initial-default``: files written before the column existed hold no
    value for it, and every row of them reads as that default (not NULL)."""
    path = tmp_path / "old.parquet"
    old = pa.schema([pa.field("id", pa.int64(), metadata={b"PARQUET:field_id": b"1"})])
    pq.write_table(pa.table({"id": [1, 2]}, schema=old), path)
    schema = Schema(
        NestedField(1, "id", LongType()),
        NestedField(2, "added", IntegerType(), required=False, initial_default=7),
        NestedField(3, "plain", IntegerType(), required=False),
    )
    plan = ScanPlan(
        TableName(("default",), "t"),
        schema,
        (DataFileRef(str(path), str(path), 1, ""),),
        1,
        1,
    )
    engine = Engine()
    assert engine.relation(f"{scan_sql(plan)} ORDER BY id").fetchall() == [
        (1, 7, None),
        (2, 7, None),
    ]
    engine.close()


def _data_files(con: sqllake.Connection, table: str) -> list[DataFile]:
    loaded = con.session.lakehouse.load(TableName(("default",), table))
    return [task.file for task in loaded.scan().plan_files()]


def test_bulk_files_carry_field_ids_and_the_metrics_of_their_rows(tmp_path: Path) -> None:
    """Bulk loads are written by the engine: ids and metrics must still be Iceberg's."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE m (id BIGINT NOT NULL, amount DECIMAL(12, 2), day DATE, name VARCHAR, "
        "p STRUCT(x INT NOT NULL, label VARCHAR), tags VARCHAR[], attrs MAP(VARCHAR, INT))"
    )
    cur.execute(
        "INSERT INTO m SELECT range, CASE WHEN range % 4 = 0 THEN NULL "
        "ELSE (range / 100)::DECIMAL(12, 2) END, DATE '2026-01-01' + (range % 30)::INT, "
        "'n' || (range % 1000), {'x': range::INT, 'label': NULL}, ['a', 'b'], MAP {'k': 1} "
        "FROM range(20000)"
    )
    (file,) = _data_files(con, "m")
    con.close()
    schema = pq.read_schema(file.file_path.removeprefix("file://"))
    ids = {f.name: int(f.metadata[b"PARQUET:field_id"]) for f in schema}
    assert ids == {"id": 1, "amount": 2, "day": 3, "name": 4, "p": 5, "tags": 6, "attrs": 7}
    point, tags, attrs = (schema.field(n).type for n in ("p", "tags", "attrs"))
    assert [int(f.metadata[b"PARQUET:field_id"]) for f in point] == [8, 9]
    assert int(tags.value_field.metadata[b"PARQUET:field_id"]) == 10
    assert int(attrs.key_field.metadata[b"PARQUET:field_id"]) == 11
    assert int(attrs.item_field.metadata[b"PARQUET:field_id"]) == 12
    assert file.record_count == 20000
    assert file.null_value_counts[1] == 0 and file.null_value_counts[2] == 5000
    assert file.null_value_counts[9] == 20000
    assert file.value_counts[1] == 20000 and file.value_counts[2] == 20000
    bounds = {
        i: (from_bytes(t, file.lower_bounds[i]), from_bytes(t, file.upper_bounds[i]))
        for i, t in ((1, LongType()), (2, DecimalType(12, 2)), (3, DateType()))
    }
    assert bounds[1] == (0, 19999)
    assert bounds[2] == (Decimal("0.01"), Decimal("199.99"))
    assert bounds[3] == (20454, 20454 + 29)  # 2026-01-01 as days since 1970
    assert from_bytes(StringType(), file.lower_bounds[4]) == "n0"
    assert set(file.column_sizes) >= {1, 2, 3, 4, 8, 9, 10, 11, 12}


def test_bulk_files_follow_the_codec_and_row_group_properties(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE c (id BIGINT, label VARCHAR) WITH ("
        "'write.parquet.compression-codec' = 'snappy', 'write.parquet.row-group-limit' = '5000')"
    )
    cur.execute("INSERT INTO c SELECT range, md5(range::VARCHAR) FROM range(20000)")
    (file,) = _data_files(con, "c")
    con.close()
    footer = pq.read_metadata(file.file_path.removeprefix("file://"))
    groups = [footer.row_group(i) for i in range(footer.num_row_groups)]
    assert sum(g.num_rows for g in groups) == 20000
    assert all(g.num_rows <= 5000 for g in groups)
    assert {g.column(0).compression for g in groups} == {"SNAPPY"}


def test_a_small_insert_select_is_buffered_and_leaves_no_file(tmp_path: Path) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE s (id BIGINT NOT NULL, label VARCHAR)")
    cur.execute("INSERT INTO s SELECT range, 'x' FROM range(10)")
    assert cur.rowcount == 10
    assert not list((tmp_path / "wh" / "default" / "s" / "data").glob("*"))
    cur.execute("SELECT count(*), sum(id) FROM s")
    assert cur.fetchone() == (10, 45)
    con.close()


def test_a_failed_bulk_write_deletes_every_file_it_wrote(tmp_path: Path) -> None:
    """The NULL is in the last row, after several files were finished, and is located."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE f (id BIGINT, label VARCHAR NOT NULL) "
        "WITH ('write.target-file-size-bytes' = '262144')"
    )
    with pytest.raises(
        sqllake.IntegrityError,
        match=r"column label of table default\.f violates NOT NULL \(row 300000\)",
    ):
        cur.execute(
            "INSERT INTO f SELECT i, CASE WHEN i < 299999 THEN md5(i::VARCHAR) END "
            "FROM range(300000) AS r(i)"
        )
    assert not list((tmp_path / "wh" / "default" / "f" / "data").glob("*"))
    cur.execute("SELECT count(*) FROM f")
    assert cur.fetchone() == (0,)
    con.close()


def test_a_write_failing_on_a_writer_thread_deletes_every_file_and_commits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions are encoded on several threads; the tenth row group fails to write."""
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id BIGINT, k INT) PARTITIONED BY (k)")
    cur.execute("INSERT INTO p SELECT i, i % 3 FROM range(30000) AS r(i)")
    data = tmp_path / "wh" / "default" / "p" / "data"
    before = sorted(data.rglob("*.parquet"))
    original = pq.ParquetWriter.write_table
    calls: list[int] = []

    def failing(self: pq.ParquetWriter, table: pa.Table, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 10:
            raise OSError("No space left on device")
        original(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", failing)
    with pytest.raises(sqllake.OperationalError, match="No space left on device"):
        cur.execute("INSERT INTO p SELECT i, i % 40 FROM range(400000) AS r(i)")
    monkeypatch.undo()
    assert sorted(data.rglob("*.parquet")) == before
    cur.execute("SELECT count(*), count(DISTINCT k) FROM p")
    assert cur.fetchone() == (30000, 3)
    con.close()
