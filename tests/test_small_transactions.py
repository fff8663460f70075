"""Small transactions go to the insert buffer at commit: PEP 249's default mode (autocommit
off) and BEGIN ... COMMIT make no snapshot per commit when they only INSERT a few rows.
All the tables a transaction wrote get their rows in one database transaction, or none."""

from __future__ import annotations

import pytest

import sqllake
from sqllake.catalog import TableName
from tests.catalog_faults import LANDED, LOST, install
from tests.conftest import CatalogTarget, rows


def _snapshots(con: sqllake.Connection, name: str) -> int:
    return len(con.session.lakehouse.load(TableName(("default",), name)).metadata.snapshots)


def _buffered_batches(con: sqllake.Connection, name: str) -> int:
    assert con.session.buffer is not None
    return len(con.session.buffer.read(TableName(("default",), name)).batches)


@pytest.fixture
def setup(target: CatalogTarget) -> None:
    with target.connect(autocommit=True) as con:
        con.execute("CREATE TABLE a (x BIGINT)")
        con.execute("CREATE TABLE b (x BIGINT)")


def test_pep249_commits_of_small_inserts_make_no_snapshots(
    target: CatalogTarget, setup: None
) -> None:
    con = target.connect()
    for i in range(20):
        con.execute("INSERT INTO a VALUES (?)", (i,))
        con.commit()
    assert _snapshots(con, "a") == 0
    assert _buffered_batches(con, "a") == 20
    with target.connect(autocommit=True) as other:
        assert rows(other, "SELECT count(*), sum(x) FROM a") == [(20, sum(range(20)))]
        other.execute("FLUSH a")
    assert _snapshots(con, "a") == 1
    assert rows(con, "SELECT count(*), sum(x) FROM a") == [(20, sum(range(20)))]
    con.close()


def test_a_transaction_reads_its_own_held_rows_and_others_do_not(
    target: CatalogTarget, setup: None
) -> None:
    con = target.connect()
    con.execute("INSERT INTO a VALUES (1), (2)")
    con.execute("INSERT INTO a VALUES (3)")
    assert rows(con, "SELECT sum(x) FROM a") == [(6,)]
    with target.connect(autocommit=True) as other:
        assert rows(other, "SELECT count(*) FROM a") == [(0,)]
    con.commit()
    assert _buffered_batches(con, "a") == 1  # the transaction's rows as one batch
    with target.connect(autocommit=True) as other:
        assert rows(other, "SELECT sum(x) FROM a") == [(6,)]
    con.close()


def test_rollback_and_close_discard_held_rows(target: CatalogTarget, setup: None) -> None:
    con = target.connect()
    con.execute("INSERT INTO a VALUES (1)")
    con.rollback()
    assert rows(con, "SELECT count(*) FROM a") == [(0,)]
    con.execute("INSERT INTO a VALUES (2)")
    con.close()
    with target.connect(autocommit=True) as other:
        assert rows(other, "SELECT count(*) FROM a") == [(0,)]
        assert _buffered_batches(other, "a") == 0


def test_two_tables_get_their_rows_together(target: CatalogTarget, setup: None) -> None:
    con = target.connect(autocommit=True)
    con.execute("BEGIN")
    con.execute("INSERT INTO a VALUES (1)")
    con.execute("INSERT INTO b VALUES (2)")
    con.execute("COMMIT")
    assert rows(con, "SELECT (SELECT sum(x) FROM a), (SELECT sum(x) FROM b)") == [(1, 2)]
    assert (_snapshots(con, "a"), _snapshots(con, "b")) == (0, 0)
    con.close()


@pytest.mark.parametrize(("mode", "expected"), [(LANDED, (1, 2)), (LOST, (None, None))])
def test_a_lost_answer_leaves_both_tables_or_neither(
    target: CatalogTarget, setup: None, mode: str, expected: tuple[int | None, int | None]
) -> None:
    con = target.connect()
    faults = install(con)
    con.execute("INSERT INTO a VALUES (1)")
    con.execute("INSERT INTO b VALUES (2)")
    faults.arm(mode, on="UPDATE SQLLAKE_BUFFER_SEQ")
    if mode == LANDED:
        con.commit()
    else:
        with pytest.raises(sqllake.OperationalError, match="was not stored"):
            con.commit()
    assert faults.fired == 1
    assert rows(con, "SELECT (SELECT sum(x) FROM a), (SELECT sum(x) FROM b)") == [expected]
    con.close()


def test_an_autocommit_insert_whose_answer_was_lost_is_counted_once(
    target: CatalogTarget, setup: None
) -> None:
    con = target.connect(autocommit=True)
    faults = install(con)
    faults.arm(LANDED, on="UPDATE SQLLAKE_BUFFER_SEQ")
    assert con.execute("INSERT INTO a VALUES (7)").rowcount == 1
    assert rows(con, "SELECT count(*), sum(x) FROM a") == [(1, 7)]
    con.close()


def test_a_large_or_mixed_transaction_commits_snapshots(target: CatalogTarget, setup: None) -> None:
    con = target.connect()
    con.execute("INSERT INTO a VALUES (1)")  # held
    con.execute("INSERT INTO b SELECT * FROM range(20000)")  # over the limit: files
    con.commit()
    assert (_snapshots(con, "a"), _snapshots(con, "b")) == (1, 1)
    assert (_buffered_batches(con, "a"), _buffered_batches(con, "b")) == (0, 0)
    assert rows(con, "SELECT (SELECT sum(x) FROM a), (SELECT count(*) FROM b)") == [(1, 20000)]
    con.close()


def test_held_rows_count_toward_the_limit(target: CatalogTarget) -> None:
    con = sqllake.connect(str(target.warehouse), catalog=target.catalog, inline_rows=10)
    con.execute("CREATE TABLE a (x BIGINT)")
    con.commit()
    con.execute("INSERT INTO a SELECT * FROM range(6)")  # held
    con.execute("INSERT INTO a SELECT * FROM range(6)")  # 12 rows in all: files
    assert rows(con, "SELECT count(*) FROM a") == [(12,)]
    con.commit()
    assert (_snapshots(con, "a"), _buffered_batches(con, "a")) == (1, 0)
    assert rows(con, "SELECT count(*) FROM a") == [(12,)]
    con.close()


def test_rows_held_for_a_table_dropped_meanwhile_are_refused_with_the_others(
    target: CatalogTarget, setup: None
) -> None:
    con = target.connect()
    con.execute("INSERT INTO a VALUES (1)")
    con.execute("INSERT INTO b VALUES (2)")
    with target.connect(autocommit=True) as other:
        other.execute("DROP TABLE b")
    with pytest.raises(sqllake.ProgrammingError, match="b does not exist"):
        con.commit()
    assert rows(con, "SELECT count(*) FROM a") == [(0,)]
    assert _buffered_batches(con, "a") == 0
    con.close()
