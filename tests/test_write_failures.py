"""Failed and refused writes: the connection stays usable, nothing is committed, and no
file is left behind.

The write failures come while the source query is still streaming rows out of the
engine (several files of a large ``INSERT ... SELECT`` are written first), from
sqllake's own Parquet writer and from DuckDB itself; the engine must be free for the
next statement. A CREATE TABLE of a table that exists writes no metadata file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import sqllake
from sqllake.write import bulk
from sqllake.write.parquet import RollingParquetWriter, WrittenFile
from tests.conftest import CatalogTarget

ROWS = 300_000
# Small files, so a write of ROWS rows finishes several before it ends.
SMALL_FILES = "WITH ('write.target-file-size-bytes' = '200000')"
# Hashes compress poorly: each file holds ~25,000 rows, the source has 30 batches.
SOURCE = f"SELECT (hash(i) >> 1)::BIGINT AS h, 0 AS k FROM range({ROWS}) AS r(i)"
# DuckDB fails on row 200,000, after files were written from the rows before it.
FAILING_SOURCE = (
    "SELECT CASE WHEN i = 200000 THEN 'x' ELSE i::VARCHAR END::BIGINT AS h, 0 AS k "
    f"FROM range({ROWS}) AS r(i)"
)
STREAMED = f"CREATE TABLE t (h BIGINT, k INT) PARTITIONED BY (k) {SMALL_FILES}"
BULK = f"CREATE TABLE t (h BIGINT, k INT) {SMALL_FILES}"


class WriterFault(OSError):
    """The fault injected into a writer."""


@pytest.fixture
def con(tmp_path: Path) -> Iterator[sqllake.Connection]:
    connection = sqllake.connect(str(tmp_path / "wh"), autocommit=True)
    yield connection
    connection.close()


@pytest.fixture
def failing_second_file(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """sqllake's Arrow writer fails to open its second file, once (the first is finished)."""
    opened: list[int] = []
    original = RollingParquetWriter._open

    def open_file(self: RollingParquetWriter) -> None:
        opened.append(1)
        if len(opened) == 2:
            raise WriterFault("No space left on device")
        original(self)

    monkeypatch.setattr(RollingParquetWriter, "_open", open_file)
    return opened


@pytest.fixture
def failing_second_footer(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The bulk writer fails, once, on the second file DuckDB reports (reading its footer)."""
    seen: list[int] = []
    original = bulk._written

    def written(target: object, row: tuple[object, ...]) -> WrittenFile:
        seen.append(1)
        if len(seen) == 2:
            raise WriterFault("Input/output error")
        return original(target, row)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk, "_written", written)
    return seen


def _data_files(tmp_path: Path, table: str) -> list[Path]:
    return sorted((tmp_path / "wh" / "default" / table).rglob("*.parquet"))


def _assert_usable_and_untouched(con: sqllake.Connection, tmp_path: Path) -> None:
    """The next statements on the same connection run; ``t`` has no snapshot, no file."""
    cur = con.cursor()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)
    cur.execute('SELECT count(*) FROM "t$snapshots"')
    assert cur.fetchone() == (0,)
    assert _data_files(tmp_path, "t") == []
    cur.execute("INSERT INTO t SELECT 1, 0")
    cur.execute("SELECT h FROM t")
    assert cur.fetchall() == [(1,)]


@pytest.mark.usefixtures("failing_second_file")
def test_a_streamed_insert_failing_in_the_writer_leaves_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    cur = con.cursor()
    cur.execute(STREAMED)
    with pytest.raises(sqllake.OperationalError, match="No space left on device"):
        cur.execute(f"INSERT INTO t {SOURCE}")
    _assert_usable_and_untouched(con, tmp_path)


def test_a_streamed_insert_failing_in_duckdb_leaves_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    cur = con.cursor()
    cur.execute(STREAMED)
    with pytest.raises(sqllake.DataError, match="'x'"):
        cur.execute(f"INSERT INTO t {FAILING_SOURCE}")
    _assert_usable_and_untouched(con, tmp_path)


@pytest.mark.usefixtures("failing_second_footer")
def test_a_bulk_insert_failing_after_its_first_file_leaves_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    cur = con.cursor()
    cur.execute(BULK)
    with pytest.raises(sqllake.OperationalError, match="Input/output error"):
        cur.execute(f"INSERT INTO t {SOURCE}")
    _assert_usable_and_untouched(con, tmp_path)


def test_a_bulk_insert_failing_in_duckdb_leaves_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    cur = con.cursor()
    cur.execute(BULK)
    with pytest.raises(sqllake.DataError, match="'x'"):
        cur.execute(f"INSERT INTO t {FAILING_SOURCE}")
    _assert_usable_and_untouched(con, tmp_path)


def _assert_no_table(con: sqllake.Connection, tmp_path: Path) -> None:
    """The failed CTAS left no table and no file; the connection runs the next statement."""
    cur = con.cursor()
    cur.execute("SHOW TABLES")
    assert cur.fetchall() == []
    assert _data_files(tmp_path, "c") == []
    cur.execute("SELECT 42")
    assert cur.fetchall() == [(42,)]


@pytest.mark.parametrize("partitioned", [True, False], ids=["streamed", "bulk"])
def test_a_ctas_failing_in_duckdb_leaves_no_table_and_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path, partitioned: bool
) -> None:
    partitioning = "PARTITIONED BY (k) " if partitioned else ""
    with pytest.raises(sqllake.DataError, match="'x'"):
        con.execute(f"CREATE TABLE c {partitioning}{SMALL_FILES} AS {FAILING_SOURCE}")
    _assert_no_table(con, tmp_path)


@pytest.mark.usefixtures("failing_second_file")
def test_a_streamed_ctas_failing_in_the_writer_leaves_no_table_and_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    with pytest.raises(sqllake.OperationalError, match="No space left on device"):
        con.execute(f"CREATE TABLE c PARTITIONED BY (k) {SMALL_FILES} AS {SOURCE}")
    _assert_no_table(con, tmp_path)


@pytest.mark.usefixtures("failing_second_footer")
def test_a_bulk_ctas_failing_after_its_first_file_leaves_no_table_and_the_connection_usable(
    con: sqllake.Connection, tmp_path: Path
) -> None:
    with pytest.raises(sqllake.OperationalError, match="Input/output error"):
        con.execute(f"CREATE TABLE c {SMALL_FILES} AS {SOURCE}")
    _assert_no_table(con, tmp_path)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE t (id INT)",
        "CREATE TABLE T (id BIGINT, other VARCHAR)",
        "CREATE TABLE t AS SELECT 1 AS id",
        "CREATE TABLE IF NOT EXISTS t (id INT)",
        "CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS id",
    ],
)
def test_create_table_of_an_existing_table_writes_nothing(
    target: CatalogTarget, statement: str
) -> None:
    with contextlib.closing(target.connect(autocommit=True)) as con:
        con.execute("CREATE TABLE t (id INT)")
        con.execute("INSERT INTO t VALUES (7)")
        table = target.warehouse / "default" / "t"
        before = sorted(table.rglob("*"))
        try:
            con.execute(statement)
        except sqllake.ProgrammingError as error:
            assert "IF NOT EXISTS" not in statement
            assert error.message == "table default.t already exists"
            assert error.location is not None and error.location.col == 14
        assert sorted(table.rglob("*")) == before
        assert con.execute("SELECT * FROM t").fetchall() == [(7,)]
