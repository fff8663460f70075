"""Tables in object storage with a SQL catalog, against a real S3 server (SeaweedFS).

Settings reach every reader and writer from one place: the catalog's properties
(``connect(properties=...)``), PyIceberg's ``PYICEBERG_CATALOG__SQLLAKE__*`` variables,
or the AWS variables.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.fs as pafs
import pytest

import sqllake
from tests.conftest import CatalogTarget, rows
from tests.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed


@pytest.fixture
def s3(seaweed: Seaweed, tmp_path: Path) -> CatalogTarget:
    """A warehouse of its own in the S3 bucket, with a SQLite catalog beside the test."""
    catalog = f"sqlite:///{tmp_path}/catalog.db"
    return CatalogTarget("s3", seaweed.new_prefix(), catalog, seaweed.s3_properties)  # type: ignore[arg-type]


@pytest.fixture
def s3_con(s3: CatalogTarget) -> Iterator[sqllake.Connection]:
    connection = s3.connect(autocommit=True)
    yield connection
    connection.close()


def _keys(seaweed: Seaweed, prefix: str) -> list[pafs.FileInfo]:
    fs = seaweed.filesystem()
    selector = pafs.FileSelector(prefix.removeprefix("s3://"), recursive=True, allow_not_found=True)
    return fs.get_file_info(selector)


def test_the_sql_surface_works_on_s3(s3_con: sqllake.Connection, s3: CatalogTarget) -> None:
    con = s3_con
    con.execute("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")  # buffered
    assert rows(con, "SELECT * FROM t ORDER BY id") == [(1, "a"), (2, "b")]
    con.execute("FLUSH t")
    first = rows(con, 'SELECT snapshot_id FROM "t$snapshots"')[-1][0]
    con.execute("INSERT INTO t SELECT range + 10, 'bulk' FROM range(20000)")  # bulk path
    assert rows(con, "SELECT count(*), min(id), max(id) FROM t") == [(20002, 1, 20009)]
    con.execute("ALTER TABLE t RENAME COLUMN name TO label")
    con.execute("ALTER TABLE t ADD COLUMN score DOUBLE")
    con.execute("INSERT INTO t VALUES (3, 'c', 1.5)")
    con.execute("FLUSH t")
    assert rows(con, "SELECT id, label, score FROM t WHERE id <= 3 ORDER BY id") == [
        (1, "a", None),
        (2, "b", None),
        (3, "c", 1.5),
    ]
    assert rows(con, f"SELECT count(*) FROM t FOR VERSION AS OF {first}") == [(2,)]
    changes = rows(con, "SELECT count(*) FROM table_changes('t', NULL, NULL)")
    assert changes == [(20003,)]
    assert rows(con, 'SELECT count(*) FROM "t$files"') == [(3,)]
    location = rows(con, 'SELECT file_path FROM "t$files" LIMIT 1')[0][0]
    assert location.startswith(f"{s3.warehouse}/default/t/data/")


def test_partitioned_writes_and_pruned_reads_on_s3(s3_con: sqllake.Connection) -> None:
    con = s3_con
    con.execute("CREATE TABLE e (id BIGINT, day DATE) PARTITIONED BY (month(day))")
    con.execute(
        "INSERT INTO e SELECT range, DATE '2025-01-01' + (range % 90)::INT FROM range(9000)"
    )
    con.execute("FLUSH e")
    assert rows(con, "SELECT count(*) FROM e WHERE day < DATE '2025-02-01'") == [(3100,)]
    plan = "\n".join(r[0] for r in rows(con, "EXPLAIN SELECT * FROM e WHERE day < '2025-02-01'"))
    assert "1 of 3 data files" in plan


def test_writes_leave_no_directory_objects_and_purge_removes_the_files(
    s3_con: sqllake.Connection, s3: CatalogTarget, seaweed: Seaweed
) -> None:
    con = s3_con
    con.execute("CREATE TABLE d (id BIGINT, day DATE) PARTITIONED BY (day)")
    con.execute("INSERT INTO d VALUES (1, DATE '2025-01-01'), (2, DATE '2025-01-02')")
    con.execute("FLUSH d")
    keys = _keys(seaweed, str(s3.warehouse))
    files = [k.path for k in keys if k.type == pafs.FileType.File]
    assert not [path for path in files if path.endswith("/")]
    assert sum(".parquet" in path for path in files) == 2
    con.execute("DROP TABLE d PURGE")
    left = [
        k.path for k in _keys(seaweed, f"{s3.warehouse}/default/d") if k.type == pafs.FileType.File
    ]
    assert left == []


def test_a_failed_write_leaves_no_object_behind(
    s3_con: sqllake.Connection, s3: CatalogTarget, seaweed: Seaweed
) -> None:
    con = s3_con
    con.execute("CREATE TABLE n (id BIGINT NOT NULL)")
    with pytest.raises(sqllake.IntegrityError, match="NULL value in column id"):
        con.execute(
            "INSERT INTO n SELECT CASE WHEN range = 15000 THEN NULL ELSE range END "
            "FROM range(20000)"
        )
    data = [
        k for k in _keys(seaweed, f"{s3.warehouse}/default/n/data") if k.type == pafs.FileType.File
    ]
    assert data == []
    assert rows(con, "SELECT count(*) FROM n") == [(0,)]


def test_the_aws_variables_configure_a_uri_catalog(
    seaweed: Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_REGION", raising=False)
    warehouse = seaweed.new_prefix()
    catalog = f"sqlite:///{tmp_path}/catalog.db"
    with sqllake.connect(warehouse, catalog=catalog, autocommit=True, inline_rows=0) as con:
        con.execute("CREATE TABLE t (id INT)")
        con.execute("INSERT INTO t VALUES (7)")
        assert rows(con, "SELECT * FROM t") == [(7,)]


def test_pyiceberg_variables_configure_a_uri_catalog(
    seaweed: Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in seaweed.s3_properties.items():
        variable = "PYICEBERG_CATALOG__SQLLAKE__" + name.upper().replace(".", "__").replace(
            "-", "_"
        )
        monkeypatch.setenv(variable, value)
    for variable in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(variable, raising=False)
    catalog = f"sqlite:///{tmp_path}/catalog.db"
    with sqllake.connect(seaweed.new_prefix(), catalog=catalog, autocommit=True) as con:
        con.execute("CREATE TABLE t (id INT)")
        con.execute("INSERT INTO t VALUES (8)")
        con.execute("FLUSH t")
        assert rows(con, "SELECT * FROM t") == [(8,)]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"s3.endpoint": "http://127.0.0.1:9"}, "http://127.0.0.1:9"),
        ({"s3.secret-access-key": "wrong-secret-value"}, "ACCESS_DENIED"),
    ],
    ids=["endpoint", "secret"],
)
def test_a_wrong_endpoint_or_key_fails_fast_naming_the_store(
    seaweed: Seaweed, tmp_path: Path, change: dict[str, str], named: str
) -> None:
    properties = {**seaweed.s3_properties, **change}
    started = time.monotonic()
    # The catalog and its store open with the first statement that needs them.
    con = sqllake.connect(
        seaweed.new_prefix(), catalog=f"sqlite:///{tmp_path}/c.db", properties=properties
    )
    with pytest.raises(sqllake.OperationalError) as raised:
        con.execute("SHOW TABLES")
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "bucket 'lake'" in message and named in message
    assert SECRET_KEY not in message and "wrong-secret-value" not in message


def test_a_missing_bucket_is_named(seaweed: Seaweed, tmp_path: Path) -> None:
    con = sqllake.connect(
        "s3://no-such-bucket/wh",
        catalog=f"sqlite:///{tmp_path}/c.db",
        properties=seaweed.s3_properties,
    )
    with pytest.raises(sqllake.OperationalError, match="bucket 'no-such-bucket' at http"):
        con.execute("SHOW TABLES")


def test_duckdb_threads_reading_one_file_get_their_own_bytes(s3_con: sqllake.Connection) -> None:
    """DuckDB reads the row groups of one file on several threads through one handle;
    each must read at its own position."""
    con = s3_con
    con.execute(
        "CREATE TABLE g (id BIGINT, pad VARCHAR) WITH ('write.parquet.row-group-limit' = '4096')"
    )
    con.execute("INSERT INTO g SELECT range, repeat('x', 50) || range FROM range(400000)")
    expected = [(sum(range(0, 400000, 7)), len(range(0, 400000, 7)))]
    for _ in range(5):
        assert rows(con, "SELECT sum(id), count(pad) FROM g WHERE id % 7 = 0") == expected
