"""An Iceberg REST catalog over S3 (SeaweedFS): the SQL surface, the catalog's own
warehouse, its errors, and interop with PyIceberg on the same server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

import sqllake
from sqllake.cli.main import main
from tests.conftest import rows
from tests.seaweed import SECRET_KEY, TABLE_BUCKET, Seaweed

NAME = "seaweed"


@pytest.fixture
def schema() -> str:
    """A schema of the test's own: the REST catalog is shared by the whole session."""
    return f"s_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def rest(seaweed: Seaweed, schema: str) -> Iterator[sqllake.Connection]:
    connection = sqllake.connect(catalog=NAME, properties=seaweed.rest_properties, autocommit=True)
    connection.execute(f"CREATE SCHEMA {schema}")
    connection.execute(f"USE {schema}")
    yield connection
    connection.close()


@pytest.fixture
def pyiceberg(seaweed: Seaweed) -> Catalog:
    return load_catalog("peer", **seaweed.rest_properties)


def test_the_sql_surface_works_through_a_rest_catalog(rest: sqllake.Connection) -> None:
    con = rest
    con.execute("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    first = rows(con, 'SELECT snapshot_id FROM "t$snapshots"')[-1][0]
    con.execute("INSERT INTO t SELECT range + 10, 'bulk' FROM range(20000)")
    con.execute("ALTER TABLE t RENAME COLUMN name TO label")
    con.execute("ALTER TABLE t ADD COLUMN score DOUBLE")
    con.execute("INSERT INTO t VALUES (3, 'c', 1.5)")
    assert rows(con, "SELECT id, label, score FROM t WHERE id <= 3 ORDER BY id") == [
        (1, "a", None),
        (2, "b", None),
        (3, "c", 1.5),
    ]
    assert rows(con, f"SELECT count(*) FROM t FOR VERSION AS OF {first}") == [(2,)]
    assert rows(con, "SELECT count(*) FROM table_changes('t', NULL, NULL)") == [(20003,)]
    assert rows(con, "SHOW TABLES") == [("t",)]
    con.execute("ALTER TABLE t RENAME TO u")
    assert rows(con, "SELECT count(*) FROM u") == [(20003,)]
    con.execute("DROP TABLE u")
    assert rows(con, "SHOW TABLES") == []


def test_the_catalogs_own_warehouse_is_kept(seaweed: Seaweed, schema: str, tmp_path: Path) -> None:
    """A local --warehouse does not override the catalog's warehouse: the server places
    the table in its table bucket."""
    with sqllake.connect(
        str(tmp_path / "elsewhere"), catalog=NAME, properties=seaweed.rest_properties
    ) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.t (id INT)")
        con.execute(f"INSERT INTO {schema}.t VALUES (1)")
        con.commit()
        path = rows(con, f'SELECT file_path FROM {schema}."t$files"')[0][0]
    assert path.startswith(f"s3://{TABLE_BUCKET}/{schema}/t/")
    assert not (tmp_path / "elsewhere").exists()


def test_pyiceberg_reads_what_sqllake_wrote(
    rest: sqllake.Connection, pyiceberg: Catalog, schema: str
) -> None:
    rest.execute("CREATE TABLE w (id BIGINT, kind VARCHAR) PARTITIONED BY (kind)")
    rest.execute("INSERT INTO w VALUES (1, 'x'), (2, 'y'), (3, 'x')")
    rest.execute("INSERT INTO w SELECT range + 100, 'z' FROM range(20000)")
    read = pyiceberg.load_table((schema, "w")).scan(row_filter="id < 100").to_arrow()
    assert sorted(zip(read["id"].to_pylist(), read["kind"].to_pylist(), strict=True)) == [
        (1, "x"),
        (2, "y"),
        (3, "x"),
    ]
    assert pyiceberg.load_table((schema, "w")).scan().count() == 20003


def test_sqllake_reads_and_appends_to_what_pyiceberg_created(
    rest: sqllake.Connection, pyiceberg: Catalog, schema: str
) -> None:
    table = pyiceberg.create_table(
        (schema, "p"),
        Schema(
            NestedField(1, "id", LongType(), required=False),
            NestedField(2, "name", StringType(), required=False),
        ),
    )
    table.append(pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["a", "b"]}))
    assert rows(rest, "SELECT * FROM p ORDER BY id") == [(1, "a"), (2, "b")]
    rest.execute("INSERT INTO p VALUES (3, 'c')")
    back = pyiceberg.load_table((schema, "p")).scan().to_arrow().sort_by("id")
    assert back["name"].to_pylist() == ["a", "b", "c"]


def test_a_commit_race_is_settled_by_the_servers_optimistic_commit(
    seaweed: Seaweed, rest: sqllake.Connection, pyiceberg: Catalog, schema: str
) -> None:
    """Another writer commits between sqllake's load and its commit: the server refuses
    the stale commit and sqllake retries it on the new metadata."""
    rest.execute("CREATE TABLE r (id BIGINT)")
    other = sqllake.connect(catalog=NAME, properties=seaweed.rest_properties)
    try:
        other.execute(f"INSERT INTO {schema}.r VALUES (1)")  # loaded, not yet committed
        pyiceberg.load_table((schema, "r")).append(pa.table({"id": pa.array([2], pa.int64())}))
        other.commit()
    finally:
        other.close()
    assert rows(rest, "SELECT id FROM r ORDER BY id") == [(1,), (2,)]
    assert len(rows(rest, 'SELECT * FROM "r$snapshots"')) == 2


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"credential": "sqllake-test-key:not-the-secret"}, sqllake.OperationalError, "credential"),
        ({"credential": None}, sqllake.OperationalError, "did not accept the credentials"),
        ({"warehouse": "s3://no-such-table-bucket"}, sqllake.OperationalError, "no-such-table"),
        ({"uri": "http://127.0.0.1:9"}, sqllake.OperationalError, "127.0.0.1"),
    ],
    ids=["wrong-secret", "no-credential", "unknown-warehouse", "unreachable"],
)
def test_catalog_refusals_are_pep_249_errors_that_say_what_to_fix(
    seaweed: Seaweed, change: dict[str, str | None], error: type[Exception], says: str
) -> None:
    properties = {k: v for k, v in {**seaweed.rest_properties, **change}.items() if v is not None}
    # The catalog opens with the first statement that needs it.
    con = sqllake.connect(catalog=NAME, properties=properties)
    try:
        with pytest.raises(error, match=says) as raised:
            con.cursor().execute("SHOW TABLES")
    finally:
        con.close()
    assert SECRET_KEY not in str(raised.value)
    assert "not-the-secret" not in str(raised.value)


def test_a_request_the_catalog_refuses_is_a_programming_error(rest: sqllake.Connection) -> None:
    with pytest.raises(sqllake.ProgrammingError, match="the catalog refused the request"):
        rest.execute('CREATE TABLE "Bad Name!" (id INT)')


def test_the_command_line_takes_catalog_properties_and_shows_no_secret(
    seaweed: Seaweed, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    options = [f"--property={k}={v}" for k, v in seaweed.rest_properties.items()]
    script = f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.c (id INT); "
    script += f"INSERT INTO {schema}.c VALUES (5); SELECT * FROM {schema}.c;"
    assert main(["--catalog", NAME, *options, "--format", "csv", "-c", script]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "5"
    bad = [o for o in options if "s3.secret" not in o]
    bad.append("--property=s3.secret-access-key=nope-123")
    assert main(["--catalog", NAME, *bad, "-c", f"INSERT INTO {schema}.c VALUES (6)"]) == 1
    captured = capsys.readouterr()
    assert "nope-123" not in captured.err + captured.out
    assert SECRET_KEY not in captured.err + captured.out


def test_without_a_state_database_every_write_commits(rest: sqllake.Connection) -> None:
    rest.execute("CREATE TABLE b (id INT)")
    rest.execute("INSERT INTO b VALUES (1)")
    rest.execute("INSERT INTO b VALUES (2)")
    assert len(rows(rest, 'SELECT * FROM "b$snapshots"')) == 2
    with pytest.raises(sqllake.NotSupportedError, match="state="):
        rest.subscribe("etl", tables=["b"])


def test_a_state_database_buffers_small_writes_and_keeps_subscriptions(
    seaweed: Seaweed, schema: str, tmp_path: Path
) -> None:
    state = f"sqlite:///{tmp_path}/state.db"
    properties = seaweed.rest_properties
    with sqllake.connect(catalog=NAME, properties=properties, state=state, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"USE {schema}")
        con.execute("CREATE TABLE b (id INT)")
        subscription = con.subscribe("etl", tables=["b"], since="earliest")
        con.execute("INSERT INTO b VALUES (1)")
        con.execute("INSERT INTO b VALUES (2)")
        assert rows(con, "SELECT id FROM b ORDER BY id") == [(1,), (2,)]
        assert rows(con, 'SELECT * FROM "b$snapshots"') == []  # buffered, durable
        con.execute("FLUSH b")
        snapshots = [e for e in subscription.poll() if e.kind == "snapshot"]
        assert [e.rows().num_rows for e in snapshots] == [2]
        snapshots[0].ack()
    # Another process sees the acknowledged cursor.
    with sqllake.connect(catalog=NAME, properties=properties, state=state, autocommit=True) as con:
        again = con.subscribe("etl", tables=[f"{schema}.b"])
        assert [e for e in again.poll() if e.kind == "snapshot"] == []
