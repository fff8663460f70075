"""A transaction that writes several tables commits them all or none (SQL catalogs)."""

from __future__ import annotations

import pytest

import sqllake
from sqllake.catalog import TableName
from tests.conftest import CatalogTarget, rows


def _snapshots(con: sqllake.Connection, name: str) -> int:
    return len(con.session.lakehouse.load(TableName(("default",), name)).metadata.snapshots)


def _files(target: CatalogTarget) -> sqllake.Connection:
    """A connection whose INSERTs write Parquet files (no insert buffer)."""
    return sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=0
    )


def _begin_with_two_tables(cur: sqllake.Cursor) -> None:
    cur.execute("CREATE TABLE a (x INT)")
    cur.execute("CREATE TABLE b (x INT)")
    cur.execute("BEGIN")


def test_several_tables_commit_together(target: CatalogTarget) -> None:
    con = _files(target)
    cur = con.cursor()
    _begin_with_two_tables(cur)
    cur.execute("INSERT INTO a VALUES (1), (2)")
    cur.execute("INSERT INTO b VALUES (3)")
    cur.execute("INSERT INTO a VALUES (4)")
    cur.execute("COMMIT")
    assert rows(con, "SELECT (SELECT sum(x) FROM a), (SELECT sum(x) FROM b)") == [(7, 3)]
    assert (_snapshots(con, "a"), _snapshots(con, "b")) == (1, 1)
    con.close()


def test_when_one_table_cannot_commit_none_does(target: CatalogTarget) -> None:
    con = _files(target)
    cur = con.cursor()
    _begin_with_two_tables(cur)
    cur.execute("INSERT INTO a VALUES (1)")
    cur.execute("INSERT INTO b VALUES (2)")
    other = target.connect(autocommit=True)
    other.cursor().execute("DROP TABLE b")  # b is gone by the time the transaction commits
    other.close()
    with pytest.raises(sqllake.Error):
        cur.execute("COMMIT")
    assert rows(con, "SELECT count(*) FROM a") == [(0,)]
    assert _snapshots(con, "a") == 0
    data = target.warehouse / "default" / "a" / "data"
    assert not list(data.glob("*.parquet"))  # the transaction's files were deleted
    con.close()


def test_a_conflicting_commit_of_one_table_is_retried_for_all(target: CatalogTarget) -> None:
    con = _files(target)
    cur = con.cursor()
    _begin_with_two_tables(cur)
    cur.execute("INSERT INTO a VALUES (1)")
    cur.execute("INSERT INTO b VALUES (2)")
    other = sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=0
    )
    other.cursor().execute("INSERT INTO a VALUES (10)")  # moves a's pointer meanwhile
    other.close()
    cur.execute("COMMIT")
    assert rows(con, "SELECT (SELECT sum(x) FROM a), (SELECT sum(x) FROM b)") == [(11, 2)]
    con.close()
