"""Queries of small plain tables read without opening the catalog (execute/light_scans.py).

Each table shape is queried twice: by a new autocommit connection, whose first query may
take the light path, and by one whose catalog was opened first (the full path). The
answers must be the same; which path the first took is seen on its session (the light
path leaves the catalog unopened).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
    UnknownType,
    UUIDType,
)

import sqllake
from sqllake import catalog_open
from sqllake.execute import light_scans
from sqllake.types import duckdb_type

QUERIES = (
    "SELECT count(*) FROM t",
    "SELECT * FROM t ORDER BY ALL",
    "SELECT t.* FROM t AS x JOIN t ON x.id = t.id ORDER BY ALL",
)


def _connect(warehouse: Path, **options: Any) -> sqllake.Connection:
    return sqllake.connect(str(warehouse), autocommit=True, **options)


def _answers(warehouse: Path, light: bool) -> list[list[tuple[Any, ...]]]:
    """Each query's rows, on a new connection; ``light``: whether it must take the light
    path (True) or must not (False)."""
    answers = []
    for sql in QUERIES:
        con = _connect(warehouse)
        try:
            answers.append(con.cursor().execute(sql).fetchall())
            unopened = con._session.unopened_catalog is not None  # type: ignore[union-attr]
            assert unopened is light, sql
        finally:
            con.close()
    return answers


def _full_answers(warehouse: Path) -> list[list[tuple[Any, ...]]]:
    con = _connect(warehouse)
    try:
        con.cursor().execute("SELECT count(*) FROM information_schema.tables").fetchall()
        assert con._session.unopened_catalog is None  # type: ignore[union-attr]
        return [con.cursor().execute(sql).fetchall() for sql in QUERIES]
    finally:
        con.close()


def _make(warehouse: Path, *statements: str) -> None:
    con = _connect(warehouse, inline_rows=0)
    try:
        for sql in statements:
            con.cursor().execute(sql)
    finally:
        con.close()


LIGHT: dict[str, tuple[str, ...]] = {
    "plain": (
        "CREATE TABLE t (id BIGINT, name VARCHAR)",
        "INSERT INTO t VALUES (1, 'a'), (2, NULL)",
        "INSERT INTO t VALUES (3, 'c')",
    ),
    "no snapshot": ("CREATE TABLE t (id BIGINT, name VARCHAR)",),
    "every type": (
        "CREATE TABLE t (id INTEGER, b BOOLEAN, f REAL, d DOUBLE, n DECIMAL(12, 3), "
        "day DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, u UUID, bin BLOB)",
        "INSERT INTO t VALUES (1, true, 1.5, 2.5, 12.345, DATE '2025-01-02', TIME '10:11:12', "
        "TIMESTAMP '2025-01-02 03:04:05', TIMESTAMPTZ '2025-01-02 03:04:05+00', "
        "'6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'xy'::BLOB), "
        "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    ),
    "evolved": (
        "CREATE TABLE t (id INTEGER, name VARCHAR)",
        "INSERT INTO t VALUES (1, 'a')",
        "ALTER TABLE t RENAME COLUMN name TO label",
        "ALTER TABLE t ADD COLUMN extra VARCHAR",
        "ALTER TABLE t ALTER COLUMN id TYPE BIGINT",
        "INSERT INTO t VALUES (2, 'b', 'x')",
    ),
    "rows deleted by rewriting files": (
        "CREATE TABLE t (id BIGINT, name VARCHAR) "
        "TBLPROPERTIES ('write.delete.mode' = 'copy-on-write')",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        "INSERT INTO t VALUES (3, 'c')",
        "DELETE FROM t WHERE id = 3",
        "DELETE FROM t WHERE id = 1",
    ),
    "partitioned by day": (
        "CREATE TABLE t (id BIGINT, ts TIMESTAMP) PARTITIONED BY (day(ts))",
        "INSERT INTO t VALUES (1, TIMESTAMP '2025-01-01 10:00'), (2, TIMESTAMP '2025-01-02 10:00')",
    ),
}

FULL: dict[str, tuple[str, ...]] = {
    "delete files": (
        "CREATE TABLE t (id BIGINT, name VARCHAR) "
        "TBLPROPERTIES ('write.delete.mode' = 'merge-on-read')",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "DELETE FROM t WHERE id = 2",
    ),
    "identity partitions": (
        "CREATE TABLE t (id BIGINT, region VARCHAR) PARTITIONED BY (region)",
        "INSERT INTO t VALUES (1, 'eu'), (2, 'us')",
    ),
    "nested column": (
        "CREATE TABLE t (id BIGINT, tags VARCHAR[])",
        "INSERT INTO t VALUES (1, ['a', 'b']), (2, NULL)",
    ),
    "initial default": (
        "CREATE TABLE t (id BIGINT) TBLPROPERTIES ('format-version' = '3')",
        "INSERT INTO t VALUES (1)",
        "ALTER TABLE t ADD COLUMN n INTEGER DEFAULT 7",
        "INSERT INTO t VALUES (2, 3)",
    ),
    "more files than the limit": (
        "CREATE TABLE t (id BIGINT)",
        *(f"INSERT INTO t VALUES ({i})" for i in range(light_scans.MAX_FILES + 1)),
    ),
}


@pytest.mark.parametrize("shape", sorted(LIGHT))
def test_small_plain_tables_read_the_same_without_the_catalog(tmp_path: Path, shape: str) -> None:
    _make(tmp_path, *LIGHT[shape])
    assert _answers(tmp_path, light=True) == _full_answers(tmp_path)


@pytest.mark.parametrize("shape", sorted(FULL))
def test_other_tables_take_the_full_path(tmp_path: Path, shape: str) -> None:
    _make(tmp_path, *FULL[shape])
    assert _answers(tmp_path, light=False) == _full_answers(tmp_path)


def test_buffered_rows_are_read_by_the_full_path(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT, name VARCHAR)", "INSERT INTO t VALUES (1, 'a')")
    writer = _connect(tmp_path)  # its small INSERT stays in the insert buffer while open
    try:
        writer.cursor().execute("INSERT INTO t VALUES (2, 'b')")
        reader = _connect(tmp_path)
        assert reader.cursor().execute("SELECT count(*) FROM t").fetchall() == [(2,)]
        assert reader._session.unopened_catalog is None  # type: ignore[union-attr]
        reader.close()
    finally:
        writer.close()
    assert _answers(tmp_path, light=True) == _full_answers(tmp_path)  # flushed at close


def _first_query_opens_catalog(warehouse: Path, sql: str, **options: Any) -> bool:
    con = sqllake.connect(str(warehouse), **options)
    try:
        con.cursor().execute(sql).fetchall()
        return con._session.unopened_catalog is None  # type: ignore[union-attr]
    finally:
        con.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM t FOR VERSION AS OF 1",
        "SELECT count(*) FROM t$snapshots",
        "SELECT count(*) FROM information_schema.tables",
        'SELECT count(*) FROM "T"',
    ],
)
def test_time_travel_metadata_tables_views_and_quoted_names_take_the_full_path(
    tmp_path: Path, sql: str
) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT)", "INSERT INTO t VALUES (1)")
    sql = sql.replace("AS OF 1", f"AS OF {_snapshot_id(tmp_path)}")
    assert _first_query_opens_catalog(tmp_path, sql, autocommit=True)


def _snapshot_id(warehouse: Path) -> int:
    con = _connect(warehouse)
    try:
        return int(con.cursor().execute("SELECT snapshot_id FROM t$snapshots").fetchall()[0][0])
    finally:
        con.close()


def test_a_transaction_reads_by_the_full_path(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT)", "INSERT INTO t VALUES (1)")
    assert _first_query_opens_catalog(tmp_path, "SELECT count(*) FROM t")  # PEP 249 default


def test_a_missing_table_is_reported_as_before(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT)")
    con = _connect(tmp_path)
    try:
        with pytest.raises(sqllake.ProgrammingError, match="missing does not exist") as raised:
            con.cursor().execute("SELECT * FROM missing")
        assert "line 1, column 15" in str(raised.value)
    finally:
        con.close()


def test_a_moved_table_reads_by_the_full_path(tmp_path: Path) -> None:
    _make(tmp_path / "a", "CREATE TABLE t (id BIGINT)", "INSERT INTO t VALUES (1), (2)")
    table = next((tmp_path / "a" / "default").iterdir())
    shutil.copytree(table, tmp_path / "moved")
    metadata = sorted((tmp_path / "moved" / "metadata").glob("*.metadata.json"))[-1]
    _make(tmp_path / "b", f"CALL system.register_table('t', '{metadata}')")
    shutil.rmtree(tmp_path / "a")
    assert _answers(tmp_path / "b", light=False)[0] == [(2,)]


def test_a_missing_data_file_is_reported_by_the_full_path(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT)", "INSERT INTO t VALUES (1)")
    for file in tmp_path.glob("default/*/data/**/*.parquet"):
        file.unlink()
    con = _connect(tmp_path)
    try:
        with pytest.raises(sqllake.Error, match="parquet"):
            con.cursor().execute("SELECT count(*) FROM t").fetchall()
        assert con._session.unopened_catalog is None  # type: ignore[union-attr]
    finally:
        con.close()


@pytest.mark.parametrize(
    "iceberg",
    [
        BooleanType(),
        IntegerType(),
        LongType(),
        FloatType(),
        DoubleType(),
        DateType(),
        TimeType(),
        TimestampType(),
        TimestamptzType(),
        TimestampNanoType(),
        TimestamptzNanoType(),
        UnknownType(),
        StringType(),
        UUIDType(),
        BinaryType(),
        FixedType(16),
        DecimalType(38, 9),
    ],
)
def test_type_names_read_as_the_full_path_reads_them(iceberg: Any) -> None:
    assert light_scans._duckdb_type(iceberg.model_dump()) == duckdb_type(iceberg)


def test_the_catalog_name_is_the_one_catalogs_open_with() -> None:
    assert light_scans.CATALOG_NAME == catalog_open.CATALOG_NAME


def test_a_join_with_a_table_the_light_path_declines_reads_both_fully(tmp_path: Path) -> None:
    _make(tmp_path, "CREATE TABLE t (id BIGINT, tags VARCHAR[])", "INSERT INTO t VALUES (1, ['a'])")
    _make(tmp_path, "CREATE TABLE u (id BIGINT)", "INSERT INTO u VALUES (1)")
    sql = "SELECT count(*) FROM u JOIN t USING (id)"
    assert _first_query_opens_catalog(tmp_path, sql, autocommit=True)
