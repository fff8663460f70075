"""Nested fields renamed, dropped and re-added: files are read by field id where names
would mislead, with the fewest reads, and only tables whose history needs it pay for it.

The SQL behaviour itself is in ``sql/alter/nested_*.test``; here are what golden files
cannot reach: snapshot ids for time travel, delete files, the shape of the scan SQL,
files without field ids (read through the table's name mapping, or refused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table

import sqllake
from sqllake.catalog import TableName
from sqllake.read import scan as scan_module
from sqllake.read.scan import ScanPlan, plan_scan
from sqllake.read.scan_sql import scan_sql
from tests.conftest import rows
from tests.iceberg_writes import commit_deletes, position_delete_file

NAME = TableName(("default",), "t")


def _table(con: sqllake.Connection) -> Table:
    return con.session.lakehouse.load(NAME)


def _plan(con: sqllake.Connection) -> ScanPlan:
    table = _table(con)
    return plan_scan(table, NAME, table.current_snapshot(), table.schema(), AlwaysTrue(), [])


def _run(con: sqllake.Connection, *statements: str) -> None:
    cursor = con.cursor()
    for sql in statements:
        cursor.execute(sql)


def _described(con: sqllake.Connection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = con.cursor()
    cursor.execute(sql)
    return [d[0] for d in cursor.description or []], cursor.fetchall()


def test_time_travel_reads_the_names_of_its_snapshot(lake: sqllake.Connection) -> None:
    _run(
        lake,
        "CREATE TABLE t (id INT, s STRUCT(f INT, h VARCHAR))",
        "INSERT INTO t VALUES (1, {'f': 1, 'h': 'a'})",
    )
    first = _table(lake).metadata.current_snapshot_id
    _run(
        lake,
        "ALTER TABLE t RENAME COLUMN s.f TO g",
        "ALTER TABLE t DROP COLUMN s.h",
        "ALTER TABLE t ADD COLUMN s.h INT",
        "INSERT INTO t VALUES (2, {'g': 2, 'h': 20})",
    )
    second = _table(lake).metadata.current_snapshot_id
    _run(lake, "ALTER TABLE t RENAME COLUMN s.g TO f2", "INSERT INTO t VALUES (3, {'f2': 3})")

    old = _described(lake, f"SELECT s, s.f FROM t FOR VERSION AS OF {first} ORDER BY id")
    assert old == (["s", "f"], [({"f": 1, "h": "a"}, 1)])
    middle = _described(lake, f"SELECT * FROM t FOR VERSION AS OF {second} ORDER BY id")
    assert middle == (["id", "s"], [(1, {"g": 1, "h": None}), (2, {"g": 2, "h": 20})])
    now = _described(lake, "SELECT * FROM t ORDER BY id")
    assert now == (
        ["id", "s"],
        [(1, {"f2": 1, "h": None}), (2, {"f2": 2, "h": 20}), (3, {"f2": 3, "h": None})],
    )


def test_position_deletes_apply_to_files_read_by_field_id(lake: sqllake.Connection) -> None:
    _run(
        lake,
        "CREATE TABLE t (id INT, s STRUCT(f INT, h INT)[])",
        "INSERT INTO t VALUES (1, [{'f': 1, 'h': 10}]), (2, [{'f': 2, 'h': 20}])",
        "INSERT INTO t VALUES (3, [{'f': 3, 'h': 30}])",
        "ALTER TABLE t RENAME COLUMN s.element.f TO g",
        "INSERT INTO t VALUES (4, [{'g': 4, 'h': 40}]), (5, NULL)",
    )
    table = _table(lake)
    # the first row of every file: ids 1, 3 and 4
    deletes = [(task.file.file_path, 0) for task in table.scan().plan_files()]
    table = commit_deletes(table, [position_delete_file(table, deletes)])

    assert rows(lake, "SELECT id, s FROM t ORDER BY id") == [
        (2, [{"g": 2, "h": 20}]),
        (5, None),
    ]
    theirs = table.scan().to_arrow().sort_by("id").to_pylist()
    assert [row["s"] for row in theirs] == [[{"g": 2, "h": 20}], []]  # PyIceberg: [] for NULL


def test_files_of_one_layout_share_one_read(lake: sqllake.Connection) -> None:
    _run(lake, "CREATE TABLE t (id INT, s STRUCT(f INT, h INT))")
    _run(lake, *(f"INSERT INTO t VALUES ({i}, {{'f': {i}, 'h': 0}})" for i in range(6)))
    _run(lake, "ALTER TABLE t RENAME COLUMN s.f TO g")
    _run(lake, *(f"INSERT INTO t VALUES ({i}, {{'g': {i}, 'h': 0}})" for i in range(6, 9)))

    plan = _plan(lake)
    assert len(plan.files) == 9
    assert sum(f.layout is not None for f in plan.files) == 6  # the others read by name
    assert len({f.layout for f in plan.files}) == 2
    assert scan_sql(plan).count("read_parquet(") == 2

    _run(lake, "ALTER TABLE t RENAME COLUMN s.h TO k", "INSERT INTO t VALUES (9, {'g': 9})")
    plan = _plan(lake)
    assert len({f.layout for f in plan.files if f.layout is not None}) == 2
    assert scan_sql(plan).count("read_parquet(") == 3
    assert rows(lake, "SELECT sum(s.g), count(s.k) FROM t") == [(45, 9)]


def test_tables_whose_nested_names_never_misled_read_no_footer(
    lake: sqllake.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("footers read for a table that does not need them")

    monkeypatch.setattr(scan_module, "special_layouts", refuse)
    _run(
        lake,
        "CREATE TABLE t (id INT, s STRUCT(f INT, h INT), l STRUCT(a INT)[])",
        "INSERT INTO t VALUES (1, {'f': 1, 'h': 2}, [{'a': 3}])",
        # Added, dropped, promoted, and top-level renames: names inside never mislead.
        "ALTER TABLE t ADD COLUMN s.k INT",
        "ALTER TABLE t DROP COLUMN s.h",
        "ALTER TABLE t ALTER COLUMN l.element.a TYPE BIGINT",
        "ALTER TABLE t RENAME COLUMN s TO s2",
        "INSERT INTO t VALUES (2, {'f': 4, 'k': 5}, [{'a': 6}])",
    )
    sql = scan_sql(_plan(lake))
    assert sql.count("read_parquet(") == 1 and "struct_pack" not in sql
    assert rows(lake, "SELECT * FROM t ORDER BY id") == [
        (1, {"f": 1, "k": None}, [{"a": 3}]),
        (2, {"f": 4, "k": 5}, [{"a": 6}]),
    ]


def _add_file_without_ids(con: sqllake.Connection, folder: Path) -> Table:
    """A file another writer left without field ids, added in place (PyIceberg's
    add_files, which needs that, also gives the table a name mapping)."""
    path = folder / "no-ids.parquet"
    struct = pa.struct([("g", pa.int32()), ("h", pa.int32())])
    pq.write_table(
        pa.table({"id": pa.array([1], pa.int32()), "s": pa.array([{"g": 1, "h": 2}], struct)}),
        path,
    )
    table = _table(con)
    table.add_files([str(path)])
    return table.refresh()


def test_files_without_field_ids_read_through_the_name_mapping(
    lake: sqllake.Connection, tmp_path: Path
) -> None:
    _run(
        lake,
        "CREATE TABLE t (id INT, s STRUCT(g INT, h INT))",
        "INSERT INTO t VALUES (0, {'g': 0, 'h': 0})",
    )
    _add_file_without_ids(lake, tmp_path)
    assert rows(lake, "SELECT * FROM t ORDER BY id") == [
        (0, {"g": 0, "h": 0}),
        (1, {"g": 1, "h": 2}),
    ]
    # Renames keep the old names in the mapping; a re-added name maps to the new field.
    _run(
        lake,
        "ALTER TABLE t RENAME COLUMN s.g TO x",
        "ALTER TABLE t RENAME COLUMN id TO rid",
        "ALTER TABLE t DROP COLUMN s.h",
        "ALTER TABLE t ADD COLUMN s.h BIGINT",
        "ALTER TABLE t ADD COLUMN z INT",
        "INSERT INTO t VALUES (2, {'x': 5, 'h': 6}, 7)",
    )
    ours = rows(lake, "SELECT * FROM t ORDER BY rid")
    assert ours == [
        (0, {"x": 0, "h": None}, None),
        (1, {"x": 1, "h": 2}, None),
        (2, {"x": 5, "h": 6}, 7),
    ]
    theirs = _table(lake).scan().to_arrow().sort_by("rid").to_pylist()
    assert [tuple(row.values()) for row in theirs] == ours
    assert rows(lake, "SELECT rid, s.x FROM t WHERE s.x = 1") == [(1, 1)]


def test_files_without_field_ids_or_name_mapping_are_refused(
    lake: sqllake.Connection, tmp_path: Path
) -> None:
    _run(lake, "CREATE TABLE t (id INT, s STRUCT(g INT, h INT))")
    table = _add_file_without_ids(lake, tmp_path)
    with table.transaction() as transaction:
        transaction.remove_properties("schema.name-mapping.default")
    _run(lake, "ALTER TABLE t RENAME COLUMN s.g TO x")

    with pytest.raises(sqllake.NotSupportedError, match="lacks Iceberg field ids"):
        rows(lake, "SELECT * FROM t")
