"""Golden SQL files (``tests/sql/**/*.test``), each run on a SQLite and a PostgreSQL catalog.

The format is described in ``tests/golden.py`` and ``tests/sql/README.md``. Each file
gets a fresh warehouse folder. On PostgreSQL, one database is created for the whole
session (and dropped at its end); its tables are dropped before each file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import sqllake
from tests.golden import SQL_DIR, Runner, golden_files

PG_SERVER = os.environ.get("SQLLAKE_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
FILES = list(golden_files())
IDS = [str(path.relative_to(SQL_DIR)) for path in FILES]


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded SQLite catalog, else the URI of the emptied PostgreSQL one."""
    if request.param == "sqlite":
        return None
    database = request.getfixturevalue("pg_database")
    _empty_catalog(database)
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{database}"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_golden(path: Path, catalog: str | None, tmp_path: Path) -> None:
    warehouse = str(tmp_path / "lakehouse")
    runner = Runner(path, lambda: sqllake.connect(warehouse, catalog=catalog, autocommit=True))
    failures = runner.run()
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
