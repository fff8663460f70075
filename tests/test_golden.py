"""Golden SQL files (``tests/sql/**/*.test``), each run once per catalog configuration,
as duckdb-iceberg runs its tests: a local warehouse with the SQLite catalog and with a
PostgreSQL one, an S3 warehouse with a SQLite catalog, and an Iceberg REST catalog over
S3 (both on SeaweedFS, see ``tests/seaweed.py``).

The format is described in ``tests/golden.py`` and ``tests/sql/README.md``. Each file
gets a fresh warehouse (folder or S3 prefix). On PostgreSQL, one database is created for
the whole session (and dropped at its end); its tables are dropped before each file. On
the REST catalog, every schema and table is dropped before each file, and the insert
buffer and subscriptions keep their state in a SQLite database (``state=``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pyiceberg.catalog import load_catalog

import sqllake
from tests.golden import SQL_DIR, Runner, golden_files
from tests.seaweed import Seaweed

PG_SERVER = os.environ.get("SQLLAKE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
FILES = list(golden_files())
IDS = [str(path.relative_to(SQL_DIR)) for path in FILES]

# Files that need what only a local warehouse with a SQL catalog has, by configuration,
# with the reason (each is also run on the configurations it suits).
NOT_ON: dict[str, dict[str, str]] = {
    "s3": {
        "read/path_map.test": "registers tables copied into local folders",
    },
    "rest": {
        "read/path_map.test": "path_map is kept in a SQL catalog's database",
        "changes/table_changes.test": "registers local corpus tables; the server takes "
        "only metadata in its table bucket",
        "partitions/create.test": "the server refuses two time transforms of one column "
        "(as Iceberg's Java library does)",
        "transactions.test": "commits several tables at once: a SQL catalog's transaction",
        "rowlevel/transactions.test": "commits several tables at once: a SQL catalog's transaction",
        "rowlevel/deletion_vectors.test": "the server's table bucket stores only Parquet "
        "and Avro files, not the Puffin files of deletion vectors",
    },
}

Connect = Callable[[], sqllake.Connection]


def _admin() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for the session's golden files; skips when no server answers."""
    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_SERVER}: {exc}".strip())
    name = f"sqllake_golden_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_catalog(database: str) -> None:
    """Drop every table of the catalog database (PyIceberg and sqllake recreate theirs)."""
    with psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True) as db:
        db.execute("DROP SCHEMA public CASCADE")
        db.execute("CREATE SCHEMA public")


def _empty_rest_catalog(properties: dict[str, str]) -> None:
    """Drop every table and schema of the REST catalog."""
    catalog = load_catalog("golden", **properties)
    for namespace in catalog.list_namespaces():
        for table in catalog.list_tables(namespace):
            catalog.drop_table(table)
        catalog.drop_namespace(namespace)


def _skip_unsuited(kind: str, path: Path) -> None:
    reason = NOT_ON.get(kind, {}).get(str(path.relative_to(SQL_DIR)))
    if reason is not None:
        pytest.skip(f"not on the {kind} configuration: {reason}")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("s3", marks=pytest.mark.s3),
        pytest.param("rest", marks=pytest.mark.s3),
    ]
)
def configuration(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Connect]:
    """How each file's connections are opened, per catalog configuration."""
    kind = str(request.param)
    warehouse = str(tmp_path / "lakehouse")
    if kind == "sqlite":
        return kind, lambda: sqllake.connect(warehouse, autocommit=True)
    if kind == "postgres":
        database = request.getfixturevalue("pg_database")
        _empty_catalog(database)
        uri = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{database}"
        return kind, lambda: sqllake.connect(warehouse, catalog=uri, autocommit=True)
    seaweed: Seaweed = request.getfixturevalue("seaweed")
    if kind == "s3":
        prefix, catalog = seaweed.new_prefix(), f"sqlite:///{tmp_path}/catalog.db"
        properties = seaweed.s3_properties
        return kind, lambda: sqllake.connect(
            prefix, catalog=catalog, autocommit=True, properties=properties
        )
    rest = seaweed.rest_properties
    _empty_rest_catalog(rest)
    state = f"sqlite:///{tmp_path}/state.db"
    return kind, lambda: sqllake.connect(
        catalog="golden", autocommit=True, properties=rest, state=state
    )


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_golden(path: Path, configuration: tuple[str, Connect]) -> None:
    kind, connect = configuration
    _skip_unsuited(kind, path)
    runner = Runner(path, connect, configuration=kind)
    failures = runner.run()
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
