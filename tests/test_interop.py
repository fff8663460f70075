"""Tables sqllake writes are standard Iceberg: PyIceberg reads them back identically."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import CatalogTarget

ALL_TYPES = """
CREATE TABLE everything (
    id BIGINT NOT NULL COMMENT 'key',
    flag BOOLEAN, small INT, big BIGINT, r REAL, d DOUBLE, amount DECIMAL(12,3),
    day DATE, at_time TIME, ts TIMESTAMP, tstz TIMESTAMPTZ, name VARCHAR, s STRING,
    u UUID, raw BLOB,
    point STRUCT(x DOUBLE, label VARCHAR), tags VARCHAR[], attrs MAP(VARCHAR, INT)
)
"""

ROW = (
    1,
    True,
    7,
    2**40,
    1.5,
    2.25,
    Decimal("123.456"),
    datetime.date(2026, 3, 1),
    datetime.time(12, 30, 15, 123456),
    datetime.datetime(2026, 3, 1, 12, 30, 15, 654321),
    datetime.datetime(2026, 3, 1, 12, 30, tzinfo=datetime.UTC),
    "héllo",
    "s",
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\x01",
)


def _pyiceberg_catalog(target: CatalogTarget) -> SqlCatalog:
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    return SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")


def test_every_type_reads_back_through_pyiceberg(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute(ALL_TYPES)
    cur.execute(
        "INSERT INTO everything VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "{'x': 1.5, 'label': 'p'}, ['a', NULL], MAP {'k': 1})",
        ROW,
    )
    cur.execute("INSERT INTO everything (id) VALUES (2)")
    cur.execute("SELECT * FROM everything ORDER BY id")
    ours = cur.fetch_arrow_table()
    con.close()

    catalog = _pyiceberg_catalog(target)
    table = catalog.load_table(("default", "everything"))
    theirs = table.scan().to_arrow().sort_by("id")
    catalog.engine.dispose()

    assert theirs.column_names == ours.column_names
    assert theirs.num_rows == 2
    first = {name: theirs.column(name)[0].as_py() for name in theirs.column_names}
    assert first["id"] == 1 and first["flag"] is True and first["small"] == 7
    assert first["big"] == 2**40 and first["r"] == 1.5 and first["d"] == 2.25
    assert first["amount"] == Decimal("123.456")
    assert first["day"] == datetime.date(2026, 3, 1)
    assert first["at_time"] == datetime.time(12, 30, 15, 123456)
    assert first["ts"] == datetime.datetime(2026, 3, 1, 12, 30, 15, 654321)
    assert first["tstz"] == datetime.datetime(2026, 3, 1, 12, 30, tzinfo=datetime.UTC)
    assert first["name"] == "héllo" and first["s"] == "s"
    u = first["u"]
    assert (uuid.UUID(bytes=u) if isinstance(u, bytes) else uuid.UUID(str(u))) == ROW[13]
    assert first["raw"] == b"\x00\x01"
    assert first["point"] == {"x": 1.5, "label": "p"}
    assert first["tags"] == ["a", None]
    assert dict(first["attrs"]) == {"k": 1}
    second = {name: theirs.column(name)[1].as_py() for name in theirs.column_names}
    assert second["id"] == 2 and all(v is None for k, v in second.items() if k != "id")
    # The same values through sqllake's own read path.
    for name in ("id", "big", "amount", "day", "ts", "tstz", "name", "raw", "point", "tags"):
        assert ours.column(name).to_pylist() == theirs.column(name).to_pylist(), name


def test_files_carry_field_ids_and_metrics(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (3, 'c'), (1, NULL), (2, 'b')")
    con.close()
    catalog = _pyiceberg_catalog(target)
    table = catalog.load_table(("default", "t"))
    (task,) = table.scan().plan_files()
    file = task.file
    catalog.engine.dispose()
    assert file.record_count == 3
    assert file.value_counts == {1: 3, 2: 3}
    assert file.null_value_counts == {1: 0, 2: 1}
    assert file.lower_bounds[1] == (1).to_bytes(8, "little")
    assert file.upper_bounds[1] == (3).to_bytes(8, "little")
    schema = pq.read_schema(file.file_path.removeprefix("file://"))
    assert [f.metadata[b"PARQUET:field_id"] for f in schema] == [b"1", b"2"]


def test_pyiceberg_appends_are_read_by_sqllake(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    con.cursor().execute("CREATE TABLE t (id BIGINT, name VARCHAR)")
    catalog = _pyiceberg_catalog(target)
    table = catalog.load_table(("default", "t"))
    table.append(pa.table({"id": pa.array([10, 11], pa.int64()), "name": ["x", "y"]}))
    catalog.engine.dispose()
    cur = con.cursor()
    cur.execute("SELECT id, name FROM t ORDER BY id")
    assert cur.fetchall() == [(10, "x"), (11, "y")]
    con.close()


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("INSERT INTO t VALUES (1, 'ok'), (2, NULL)", sqllake.IntegrityError),
        (
            "INSERT INTO t SELECT range, 'x' || range FROM range(5000) UNION ALL SELECT 'abc', 'y'",
            sqllake.DataError,
        ),
    ],
)
def test_a_failed_insert_changes_nothing(
    target: CatalogTarget, statement: str, error: type[Exception]
) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id INT, name VARCHAR NOT NULL)")
    cur.execute("INSERT INTO t VALUES (0, 'first')")
    data = target.warehouse / "default" / "t" / "data"
    files_before = sorted(data.glob("*.parquet"))
    table_before = con.session.lakehouse.load(con.session.table_name(_name("t")))
    with pytest.raises(error):
        cur.execute(statement)
    table_after = con.session.lakehouse.load(con.session.table_name(_name("t")))
    assert table_after.current_snapshot() == table_before.current_snapshot()
    assert sorted(data.glob("*.parquet")) == files_before
    cur.execute("SELECT id, name FROM t")
    assert cur.fetchall() == [(0, "first")]
    con.close()


def _name(text: str):  # type: ignore[no-untyped-def]
    from sqllake.plan.nodes import Name

    return Name((text,), 0)
