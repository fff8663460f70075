"""TRUNCATE and INSERT OVERWRITE: concurrent writers, failures, buffered rows, and what
PyIceberg reads of the result (the SQL behaviour is in tests/sql/rowlevel/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import CatalogTarget


def _rows(con: sqllake.Connection, sql: str) -> list[tuple[object, ...]]:
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()


def _parquet(target: CatalogTarget, table: str) -> set[Path]:
    return set((target.warehouse / "default" / table / "data").rglob("*.parquet"))


def _snapshots(con: sqllake.Connection, table: str) -> int:
    return int(_rows(con, f'SELECT count(*) FROM "{table}$snapshots"')[0][0])


@pytest.fixture
def sales(target: CatalogTarget) -> Iterator[sqllake.Connection]:
    """A table with partitions 'a' and 'b' in files; an autocommit connection."""
    con = target.connect(autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE s (id INT, p VARCHAR) PARTITIONED BY (p)")
    cur.execute("INSERT INTO s VALUES (1, 'a'), (2, 'a'), (3, 'b')")
    yield con
    con.close()


def _overwrite_a_in_transaction(target: CatalogTarget) -> sqllake.Connection:
    writer = target.connect(inline_rows=0)  # PEP 249: a transaction until commit()
    writer.cursor().execute("INSERT OVERWRITE s PARTITION (p = 'a') VALUES (10)")
    return writer


def test_serializable_overwrite_fails_when_a_commit_added_to_its_partition(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    writer = _overwrite_a_in_transaction(target)
    sales.cursor().execute("INSERT INTO s VALUES (4, 'a')")
    before = _parquet(target, "s")
    with pytest.raises(sqllake.OperationalError, match=r"conflicts with a concurrent commit"):
        writer.commit()
    assert _rows(sales, "SELECT id FROM s ORDER BY id") == [(1,), (2,), (3,), (4,)]
    # The overwrite's own file is deleted; nothing else was touched.
    after = _parquet(target, "s")
    assert after < before and len(before - after) == 1
    writer.close()


def test_a_commit_to_another_partition_does_not_conflict(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    writer = _overwrite_a_in_transaction(target)
    sales.cursor().execute("INSERT INTO s VALUES (4, 'b')")
    writer.commit()
    assert _rows(sales, "SELECT id, p FROM s ORDER BY id") == [(3, "b"), (4, "b"), (10, "a")]
    writer.close()


def test_snapshot_isolation_replaces_what_a_concurrent_commit_added(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    sales.cursor().execute(
        "ALTER TABLE s SET TBLPROPERTIES ('write.delete.isolation-level' = 'snapshot')"
    )
    writer = _overwrite_a_in_transaction(target)
    sales.cursor().execute("INSERT INTO s VALUES (4, 'a'), (5, 'b')")
    writer.commit()
    assert _rows(sales, "SELECT id, p FROM s ORDER BY id") == [(3, "b"), (5, "b"), (10, "a")]
    writer.close()


def test_truncate_removes_what_a_concurrent_commit_added(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    writer = target.connect()
    assert writer.cursor().execute("TRUNCATE s").rowcount == 3
    sales.cursor().execute("INSERT INTO s VALUES (4, 'a')")
    writer.commit()
    assert _rows(sales, "SELECT count(*) FROM s") == [(0,)]
    assert _rows(sales, 'SELECT count(*) FROM "s$files"') == [(0,)]
    writer.close()


def test_a_concurrent_flush_of_rows_the_overwrite_moved_is_a_conflict(
    target: CatalogTarget,
) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE s (id INT, p VARCHAR) PARTITIONED BY (p)")
    cur.execute("INSERT INTO s VALUES (1, 'a'), (2, 'b')")  # buffered
    writer = target.connect()
    writer.cursor().execute("INSERT OVERWRITE s PARTITION (p = 'a') VALUES (10)")
    cur.execute("FLUSH s")  # row 2 lands in a file, and the overwrite rewrote it too
    with pytest.raises(sqllake.OperationalError, match=r"flushed buffered rows"):
        writer.commit()
    assert _rows(con, "SELECT id FROM s ORDER BY id") == [(1,), (2,)]
    writer.close()
    con.close()


def test_a_failed_overwrite_in_a_transaction_changes_nothing(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    con = target.connect(inline_rows=0)
    cur = con.cursor()
    cur.execute("INSERT OVERWRITE s PARTITION (p = 'b') VALUES (30)")
    files = _parquet(target, "s")
    with pytest.raises(sqllake.DataError):
        cur.execute("INSERT OVERWRITE s PARTITION (p = 'a') SELECT 'x' || range FROM range(3)")
    assert _parquet(target, "s") == files  # its files are gone, the earlier ones stay
    assert _rows(con, "SELECT id FROM s ORDER BY id") == [(1,), (2,), (30,)]
    con.commit()
    assert _rows(sales, "SELECT id FROM s ORDER BY id") == [(1,), (2,), (30,)]
    con.close()


def test_rollback_deletes_what_the_statements_wrote(
    target: CatalogTarget, sales: sqllake.Connection
) -> None:
    files = _parquet(target, "s")
    snapshots = _snapshots(sales, "s")
    con = target.connect(inline_rows=0)
    con.cursor().execute("INSERT OVERWRITE s SELECT id + 100, p FROM s")
    con.cursor().execute("TRUNCATE s")
    con.rollback()
    assert _parquet(target, "s") == files
    assert _snapshots(sales, "s") == snapshots
    assert _rows(con, "SELECT id FROM s ORDER BY id") == [(1,), (2,), (3,)]
    con.close()


def _pyiceberg(target: CatalogTarget) -> SqlCatalog:
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    return SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")


def test_pyiceberg_reads_the_result(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE TABLE e (id INT, ts TIMESTAMP, k VARCHAR) PARTITIONED BY (day(ts))")
    cur.execute(
        "INSERT INTO e SELECT range, TIMESTAMP '2026-01-01' + INTERVAL (range % 5) DAY, "
        "'k' || (range % 3) FROM range(20000)"
    )
    cur.execute("ALTER TABLE e REPLACE PARTITION FIELD day(ts) WITH k")
    cur.execute("INSERT INTO e VALUES (-1, '2026-02-01', 'k1')")  # buffered
    cur.execute("INSERT OVERWRITE e PARTITION (k = 'k1') VALUES (-2, '2026-03-01')")
    cur.execute("CREATE TABLE gone (id INT)")
    cur.execute("INSERT INTO gone SELECT range FROM range(20000)")
    cur.execute("TRUNCATE gone")
    ours = sorted(_rows(con, "SELECT id, ts, k FROM e"))
    con.close()
    catalog = _pyiceberg(target)
    theirs = catalog.load_table(("default", "e")).scan().to_arrow()
    empty = catalog.load_table(("default", "gone")).scan().to_arrow()
    catalog.engine.dispose()
    columns = [theirs.column(c).to_pylist() for c in ("id", "ts", "k")]
    assert sorted(zip(*columns, strict=True)) == ours
    assert len(ours) == 1 + sum(1 for i in range(20000) if i % 3 != 1)
    assert empty.num_rows == 0


def test_subscriptions_receive_the_deleted_and_inserted_rows(target: CatalogTarget) -> None:
    con = target.connect(autocommit=True, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE s (id INT, p VARCHAR) PARTITIONED BY (p)")
    sub = con.subscribe("feed", tables=["s"])
    cur.execute("INSERT INTO s VALUES (1, 'a'), (2, 'b')")
    cur.execute("INSERT OVERWRITE s PARTITION (p = 'a') VALUES (3)")
    cur.execute("TRUNCATE s")
    seen = []
    for event in sub.events(timeout=1):
        if event.kind == "snapshot":
            rows = event.rows()
            changes = sorted(
                zip(
                    rows.column("_change_type").to_pylist(),
                    rows.column("id").to_pylist(),
                    strict=True,
                )
            )
            seen.append((event.operation, changes))
        event.ack()
    assert seen == [
        ("append", [("insert", 1), ("insert", 2)]),
        ("overwrite", [("delete", 1), ("insert", 3)]),
        ("delete", [("delete", 2), ("delete", 3)]),
    ]
    con.close()
