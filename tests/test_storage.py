"""Files are cut at the target size on disk; columns added later read their initial default."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.schema import Schema
from pyiceberg.types import IntegerType, LongType, NestedField

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
