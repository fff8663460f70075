"""PEP 249 conformance: module globals, connection, cursor, transactions, types."""

from __future__ import annotations

import datetime
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import sqllake
from sqllake.catalog import TableName
from tests.conftest import CatalogTarget


def test_module_globals() -> None:
    assert sqllake.apilevel == "2.0"
    assert sqllake.threadsafety == 1
    assert sqllake.paramstyle == "qmark"


def test_error_hierarchy() -> None:
    assert issubclass(sqllake.Warning, Exception)
    assert issubclass(sqllake.Error, Exception)
    for cls in (sqllake.InterfaceError, sqllake.DatabaseError):
        assert issubclass(cls, sqllake.Error)
    for cls in (
        sqllake.DataError,
        sqllake.OperationalError,
        sqllake.IntegrityError,
        sqllake.InternalError,
        sqllake.ProgrammingError,
        sqllake.NotSupportedError,
    ):
        assert issubclass(cls, sqllake.DatabaseError)


def test_connection_exposes_exception_classes(con: sqllake.Connection) -> None:
    assert con.ProgrammingError is sqllake.ProgrammingError
    assert con.Error is sqllake.Error
    assert con.Warning is sqllake.Warning


def test_type_objects_and_constructors() -> None:
    assert sqllake.NUMBER == "BIGINT" and sqllake.NUMBER == "DECIMAL(10,2)"
    assert sqllake.STRING == "VARCHAR" and sqllake.STRING != "BIGINT"
    assert sqllake.DATETIME == "TIMESTAMP WITH TIME ZONE" and sqllake.DATETIME == "DATE"
    assert sqllake.BINARY == "BLOB"
    assert sqllake.Date(2026, 1, 2) == datetime.date(2026, 1, 2)
    assert sqllake.Binary(b"x") == b"x"
    assert isinstance(sqllake.TimestampFromTicks(0), datetime.datetime)
    assert isinstance(sqllake.DateFromTicks(0), datetime.date)
    assert isinstance(sqllake.TimeFromTicks(0), datetime.time)


def test_autocommit_is_off_by_default(target: CatalogTarget) -> None:
    con = target.connect()
    assert con.autocommit is False
    con.close()


def test_commit_publishes_and_close_discards(target: CatalogTarget) -> None:
    con = target.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, name VARCHAR)")
    cur.execute("INSERT INTO t VALUES (?, ?)", (1, "a"))
    assert cur.rowcount == 1
    con.commit()
    cur.execute("INSERT INTO t VALUES (?, ?)", (2, "b"))
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (2,)  # the transaction reads its own writes
    con.close()  # without commit: discarded

    con = target.connect()
    cur = con.cursor()
    cur.execute("SELECT id, name FROM t")
    assert cur.fetchall() == [(1, "a")]
    con.close()


def test_rollback_discards_and_deletes_files(target: CatalogTarget) -> None:
    con = sqllake.connect(str(target.warehouse), catalog=target.catalog, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    data = target.warehouse / "default" / "t" / "data"
    cur.execute("INSERT INTO t SELECT range FROM range(10)")
    assert len(list(data.glob("*.parquet"))) == 1
    con.rollback()
    assert list(data.glob("*.parquet")) == []
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)
    con.close()


def test_one_snapshot_per_table_per_transaction(target: CatalogTarget) -> None:
    con = sqllake.connect(str(target.warehouse), catalog=target.catalog, inline_rows=0)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT)")
    for i in range(3):
        cur.execute("INSERT INTO t VALUES (?)", (i,))
    con.commit()
    table = con.session.lakehouse.load(TableName(("default",), "t"))
    assert len(table.metadata.snapshots) == 1
    con.close()


@pytest.mark.parametrize("inline_rows", [0, 10_000])
def test_executemany_is_one_write(target: CatalogTarget, inline_rows: int) -> None:
    """One snapshot, or, when its rows are few, one append to the insert buffer."""
    con = sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=inline_rows
    )
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, name VARCHAR)")
    cur.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(50)])
    assert cur.rowcount == 50
    name = TableName(("default",), "t")
    table = con.session.lakehouse.load(name)
    buffered = con.session.buffer.read(name).batches if con.session.buffer else ()
    assert (len(table.metadata.snapshots), len(buffered)) == (
        (1, 0) if inline_rows == 0 else (0, 1)
    )
    cur.execute("SELECT count(*), sum(id) FROM t")
    assert cur.fetchone() == (50, sum(range(50)))
    con.close()


def test_executemany_failure_commits_nothing(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT NOT NULL)")
    with pytest.raises(sqllake.IntegrityError):
        cur.executemany("INSERT INTO t VALUES (?)", [(1,), (None,)])
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)


def test_description_rowcount_and_fetch_variants(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT, amount DECIMAL(10,2), ts TIMESTAMPTZ)")
    assert cur.description is None
    cur.execute(
        "INSERT INTO t VALUES (1, 1.50, '2026-01-01 10:00:00+00'), (2, 2.25, NULL), (3, NULL, NULL)"
    )
    assert cur.rowcount == 3
    cur.execute("SELECT id, amount, ts FROM t ORDER BY id")
    assert [d[0] for d in cur.description] == ["id", "amount", "ts"]
    assert cur.description[0][1] == sqllake.NUMBER
    assert cur.description[2][1] == sqllake.DATETIME
    assert all(len(d) == 7 for d in cur.description)
    assert cur.rowcount == -1
    first = cur.fetchone()
    assert first == (1, Decimal("1.50"), datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC))
    cur.arraysize = 1
    assert len(cur.fetchmany()) == 1
    assert cur.fetchall() == [(3, None, None)]
    assert cur.fetchone() is None
    assert cur.fetchall() == []


def test_fetch_without_result_is_an_error(con: sqllake.Connection) -> None:
    cur = con.cursor()
    with pytest.raises(sqllake.Error):
        cur.fetchone()
    cur.execute("CREATE TABLE t (id BIGINT)")
    with pytest.raises(sqllake.Error):
        cur.fetchall()


def test_parameters_are_bound_not_pasted(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (name VARCHAR)")
    evil = "x'); DROP TABLE t; --"
    cur.execute("INSERT INTO t VALUES (?)", (evil,))
    cur.execute("SELECT name FROM t WHERE name = ?", (evil,))
    assert cur.fetchall() == [(evil,)]


def test_wrong_parameter_count_is_a_programming_error(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (a BIGINT, b BIGINT)")
    with pytest.raises(sqllake.ProgrammingError, match="2 parameters"):
        cur.execute("INSERT INTO t VALUES (?, ?)", (1,))


def test_closed_cursor_and_connection(target: CatalogTarget) -> None:
    con = target.connect()
    cur = con.cursor()
    cur.close()
    with pytest.raises(sqllake.InterfaceError):
        cur.execute("SELECT 1")
    con.close()
    con.close()  # closing twice is harmless
    with pytest.raises(sqllake.InterfaceError):
        con.cursor().execute("SELECT 1")


def test_a_closed_connection_refuses_every_use(target: CatalogTarget) -> None:
    """PEP 249: after close() every operation raises an Error (InterfaceError), as in
    sqlite3 and psycopg; close() itself stays harmless."""
    con = target.connect()
    opened = con.cursor()
    opened.execute("SELECT 1")
    con.close()
    assert con.closed
    uses = {
        "cursor": con.cursor,
        "execute": lambda: con.execute("SELECT 1"),
        "commit": con.commit,
        "rollback": con.rollback,
        "autocommit": lambda: con.autocommit,
        "cursor.execute": lambda: opened.execute("SELECT 1"),
        "cursor.fetchall": opened.fetchall,
        "cursor.executemany": lambda: opened.executemany("SELECT ?", [(1,)]),
    }
    for use, call in uses.items():
        with pytest.raises(sqllake.InterfaceError, match="connection is closed"):
            call()
            pytest.fail(f"{use} worked on a closed connection")
    con.close()
    opened.close()


@pytest.mark.parametrize(
    "parameters",
    [5, 1.5, "ab", b"ab", {"a": 1}, {1, 2}],
    ids=["int", "float", "str", "bytes", "dict", "set"],
)
def test_parameters_that_are_not_a_sequence_are_a_programming_error(
    tmp_path: Path, parameters: object
) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    cur = con.cursor()
    with pytest.raises(sqllake.ProgrammingError, match=f"not {type(parameters).__name__}"):
        cur.execute("SELECT ?", parameters)  # type: ignore[arg-type]
    with pytest.raises(sqllake.ProgrammingError, match="parameter set 2 must be a sequence"):
        cur.executemany("SELECT ?", [(1,), parameters])  # type: ignore[list-item]
    cur.execute("SELECT ?", [7])  # a list is a sequence
    assert cur.fetchall() == [(7,)]
    con.close()


@pytest.mark.parametrize("sets", [5, None, "ab", {"a": (1,)}], ids=["int", "none", "str", "dict"])
def test_executemany_needs_a_sequence_of_parameter_sets(tmp_path: Path, sets: object) -> None:
    con = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    con.execute("CREATE TABLE t (a BIGINT)")
    cur = con.cursor()
    with pytest.raises(sqllake.ProgrammingError, match="executemany needs a sequence"):
        cur.executemany("INSERT INTO t VALUES (?)", sets)  # type: ignore[arg-type]
    cur.executemany("INSERT INTO t VALUES (?)", ((i,) for i in range(3)))  # any iterable
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (3,)
    con.close()


def test_setinputsizes_and_setoutputsize_are_accepted(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.setinputsizes([None])
    cur.setoutputsize(10)
    cur.setoutputsize(10, 0)
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]


def test_arrow_fetches(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t AS SELECT range AS id FROM range(2500)")
    cur.execute("SELECT id FROM t ORDER BY id")
    table = cur.fetch_arrow_table()
    assert isinstance(table, pa.Table) and table.num_rows == 2500
    cur.execute("SELECT id FROM t ORDER BY id")
    reader = cur.fetch_record_batch(rows=1000)
    assert isinstance(reader, pa.RecordBatchReader)
    sizes = [batch.num_rows for batch in reader]
    assert sizes == [1000, 1000, 500]


def test_context_manager_commits(target: CatalogTarget) -> None:
    with target.connect() as con:
        con.cursor().execute("CREATE TABLE t AS SELECT 1 AS a")
    with target.connect() as con:
        assert con.cursor().execute("SELECT a FROM t").fetchall() == [(1,)]


def test_streaming_does_not_materialize_the_rest(tmp_path: Path) -> None:
    """Fetching 1,000 rows of a 100-million-row result stays small and fast."""
    script = f"""
from pathlib import Path
import sqllake
con = sqllake.connect({str(tmp_path / "wh")!r})
cur = con.cursor()
cur.execute("SELECT range AS a, range * 2 AS b FROM range(100000000)")
rows = cur.fetchmany(1000)
assert len(rows) == 1000 and rows[999] == (999, 1998)
# This process's own peak: ru_maxrss would carry over the forking pytest process's.
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) // 1024)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    peak_mb = int(out.stdout.strip())
    # 100M rows of two BIGINTs are 1.6 GB; a streaming cursor stays far below that.
    assert peak_mb < 600, f"peak RSS {peak_mb} MB"


def test_an_interrupt_while_a_write_is_planned_cancels_it(
    con: sqllake.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    con.execute("CREATE TABLE t (x BIGINT)")
    lakehouse = con.session.lakehouse
    load = lakehouse.load

    def load_then_cancel(name: TableName) -> object:
        con.interrupt()  # Ctrl-C while the statement has not reached DuckDB yet
        return load(name)

    monkeypatch.setattr(lakehouse, "load", load_then_cancel)
    with pytest.raises(sqllake.OperationalError, match="statement cancelled"):
        con.execute("INSERT INTO t SELECT * FROM range(100000)")
    monkeypatch.setattr(lakehouse, "load", load)
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]


def _raised(cur: sqllake.Cursor, sql: str, kind: type[sqllake.Error]) -> sqllake.Error:
    with pytest.raises(kind) as raised:
        cur.execute(sql)
        cur.fetchall()
    return raised.value


def test_errors_carry_what_they_are_about_beside_the_message(con: sqllake.Connection) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id BIGINT NOT NULL, n INTEGER, ts TIMESTAMP)")
    bad = _raised(cur, "INSERT INTO t VALUES (1, 2, NULL), (2, 'forty', NULL)", sqllake.DataError)
    assert (bad.diag.table_name, bad.diag.column_name) == ("default.t", "n")
    assert (bad.diag.row_number, bad.diag.value) == (2, "forty")
    null = _raised(
        cur, "INSERT INTO t VALUES (1, 2, NULL), (NULL, 3, NULL)", sqllake.IntegrityError
    )
    assert (null.diag.table_name, null.diag.column_name, null.diag.row_number) == (
        "default.t",
        "id",
        2,
    )
    outside = _raised(
        cur, "INSERT INTO t VALUES (1, 2, TIMESTAMP '10000-01-01')", sqllake.DataError
    )
    assert (outside.diag.column_name, outside.diag.row_number) == ("ts", 1)
    assert outside.diag.value is not None and outside.diag.value.startswith("10000-01-01")
    unknown = _raised(cur, "SELECT id, nope FROM t", sqllake.ProgrammingError)
    assert unknown.diag.column_name == "nope"
    assert unknown.diag.statement_position == len("SELECT id, ") + 1
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)  # nothing was written


def test_an_error_while_rows_stream_is_a_pep_249_error(con: sqllake.Connection) -> None:
    cur = con.cursor()
    # The division fails on a row far into the result, after execute returned.
    cur.execute("SELECT 10 // (x - 200000) FROM range(300000) AS r(x)")
    with pytest.raises(sqllake.DataError, match="Division by zero"):
        cur.fetchall()
