"""Commits whose answer is lost: the catalog database commits (or not), then the
connection fails. Nothing a commit that may have landed wrote is ever deleted; the
outcome is found by reading the table pointer again. Run on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

import sqllake
from sqllake.catalog import TableName
from tests.catalog_faults import LANDED, LOST, install
from tests.conftest import CatalogTarget, rows


def _snapshots(con: sqllake.Connection, table: str) -> int:
    return rows(con, f'SELECT count(*) FROM "{table}$snapshots"')[0][0]


def _referenced_files_exist(con: sqllake.Connection, table: str) -> None:
    loaded = con.session.lakehouse.load(TableName(("default",), table))
    for task in loaded.scan().plan_files():
        assert Path(task.file.file_path.removeprefix("file://")).is_file()


def _data_files(target: CatalogTarget, table: str) -> set[str]:
    folder = target.warehouse / "default" / table / "data"
    return {p.name for p in folder.rglob("*.parquet")} if folder.is_dir() else set()


@pytest.fixture
def bulk(target: CatalogTarget) -> sqllake.Connection:
    connection = sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=0
    )
    connection.execute("CREATE TABLE t (i BIGINT)")
    connection.execute("CREATE TABLE u (i BIGINT)")
    yield connection
    connection.close()


def test_insert_whose_commit_landed_before_the_connection_dropped(
    bulk: sqllake.Connection, target: CatalogTarget
) -> None:
    faults = install(bulk)
    faults.arm(LANDED)
    assert bulk.execute("INSERT INTO t SELECT * FROM range(1000)").rowcount == 1000
    assert faults.fired == 1
    assert rows(bulk, "SELECT count(*), sum(i) FROM t") == [(1000, 499500)]
    _referenced_files_exist(bulk, "t")
    with target.connect() as other:
        assert rows(other, "SELECT count(*) FROM t") == [(1000,)]


def test_insert_whose_commit_did_not_land_is_an_error_and_keeps_its_files(
    bulk: sqllake.Connection, target: CatalogTarget
) -> None:
    faults = install(bulk)
    faults.arm(LOST)
    with pytest.raises(sqllake.OperationalError, match="did not land"):
        bulk.execute("INSERT INTO t SELECT * FROM range(1000)")
    assert rows(bulk, "SELECT count(*) FROM t") == [(0,)]
    assert _snapshots(bulk, "t") == 0
    assert _data_files(target, "t")  # kept: the catalog never confirmed the answer
    assert bulk.execute("INSERT INTO t SELECT * FROM range(10)").rowcount == 10
    assert rows(bulk, "SELECT count(*) FROM t") == [(10,)]


def test_insert_whose_outcome_cannot_be_found_deletes_nothing(
    bulk: sqllake.Connection, target: CatalogTarget
) -> None:
    faults = install(bulk)
    faults.arm(LANDED, refuse_after=1)
    with pytest.raises(sqllake.OperationalError, match="could not be asked"):
        bulk.execute("INSERT INTO t SELECT * FROM range(1000)")
    # The database is back: the commit had landed, and every file it names is there.
    assert rows(bulk, "SELECT count(*) FROM t") == [(1000,)]
    _referenced_files_exist(bulk, "t")


def test_two_tables_whose_commit_landed(bulk: sqllake.Connection) -> None:
    faults = install(bulk)
    bulk.execute("BEGIN")
    bulk.execute("INSERT INTO t SELECT * FROM range(5)")
    bulk.execute("INSERT INTO u SELECT * FROM range(7)")
    faults.arm(LANDED)
    bulk.execute("COMMIT")
    assert faults.fired == 1
    assert rows(bulk, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)") == [(5, 7)]
    _referenced_files_exist(bulk, "t")
    _referenced_files_exist(bulk, "u")


def test_two_tables_whose_commit_did_not_land(bulk: sqllake.Connection) -> None:
    faults = install(bulk)
    bulk.execute("BEGIN")
    bulk.execute("INSERT INTO t SELECT * FROM range(5)")
    bulk.execute("INSERT INTO u SELECT * FROM range(7)")
    faults.arm(LOST)
    with pytest.raises(sqllake.OperationalError, match="did not land"):
        bulk.execute("COMMIT")
    assert not bulk.session.in_transaction
    assert rows(bulk, "SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)") == [(0, 0)]
    assert (_snapshots(bulk, "t"), _snapshots(bulk, "u")) == (0, 0)


def test_pep249_commit_whose_answer_was_lost(target: CatalogTarget) -> None:
    with target.connect() as setup:
        setup.execute("CREATE TABLE t (i BIGINT)")
        setup.commit()
    con = target.connect()
    faults = install(con)
    con.execute("INSERT INTO t VALUES (1), (2)")
    faults.arm(LANDED)
    con.commit()
    assert rows(con, "SELECT count(*) FROM t") == [(2,)]
    con.close()


@pytest.fixture
def buffered(target: CatalogTarget) -> sqllake.Connection:
    connection = target.connect(autocommit=True)
    connection.execute("CREATE TABLE t (i BIGINT)")
    connection.execute("INSERT INTO t VALUES (1), (2), (3)")
    yield connection
    connection.close()


def test_flush_whose_commit_landed(buffered: sqllake.Connection, target: CatalogTarget) -> None:
    faults = install(buffered)
    faults.arm(LANDED)
    assert buffered.execute("FLUSH t").rowcount == 3
    assert faults.fired == 1
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(3, 6)]
    assert _snapshots(buffered, "t") == 1
    assert buffered.execute("FLUSH t").rowcount == 0
    _referenced_files_exist(buffered, "t")
    with target.connect() as other:
        assert rows(other, "SELECT count(*) FROM t") == [(3,)]


def test_flush_whose_commit_did_not_land_keeps_the_rows_buffered(
    buffered: sqllake.Connection,
) -> None:
    faults = install(buffered)
    faults.arm(LOST)
    with pytest.raises(sqllake.OperationalError, match="did not land"):
        buffered.execute("FLUSH t")
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(3, 6)]
    assert _snapshots(buffered, "t") == 0
    assert buffered.execute("FLUSH t").rowcount == 3
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(3, 6)]
    assert _snapshots(buffered, "t") == 1


def test_flush_whose_outcome_cannot_be_found_counts_each_row_once(
    buffered: sqllake.Connection, target: CatalogTarget
) -> None:
    faults = install(buffered)
    faults.arm(LANDED, refuse_after=1)
    with pytest.raises(sqllake.OperationalError, match="could not be asked"):
        buffered.execute("FLUSH t")
    # It landed: the rows are in the snapshot, still in the buffer, and read once.
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(3, 6)]
    with target.connect() as other:
        assert rows(other, "SELECT count(*) FROM t") == [(3,)]
    assert buffered.execute("FLUSH t").rowcount == 0
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(3, 6)]
    assert _snapshots(buffered, "t") == 1
    _referenced_files_exist(buffered, "t")


def test_a_flush_failing_after_an_insert_does_not_fail_the_insert(
    buffered: sqllake.Connection,
) -> None:
    buffered.session.write = type(buffered.session.write)(flush_rows=4)
    faults = install(buffered)
    faults.arm(LOST)
    # The INSERT's rows are durably buffered before the flush it triggers fails.
    assert buffered.execute("INSERT INTO t VALUES (4), (5)").rowcount == 2
    assert faults.fired == 1
    assert rows(buffered, "SELECT count(*), sum(i) FROM t") == [(5, 15)]
