"""Credentials never show: in errors, EXPLAIN, SHOW CREATE TABLE, metadata tables."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

import sqllake
from tests.conftest import PG_SERVER

SECRET = "hunter2"


def _everything(error: BaseException) -> str:
    """The message and the whole printed traceback, chained causes included."""
    return "".join(traceback.format_exception(error))


def test_a_wrong_port_in_a_postgres_uri_does_not_echo_the_password(tmp_path: Path) -> None:
    uri = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/x"
    with pytest.raises(sqllake.OperationalError, match="cannot open catalog") as failed:
        sqllake.connect(str(tmp_path), catalog=uri)
    assert SECRET not in _everything(failed.value)


def test_a_missing_database_does_not_echo_the_password(tmp_path: Path) -> None:
    server = PG_SERVER.replace("postgresql://postgres@", f"postgresql+psycopg://postgres:{SECRET}@")
    with pytest.raises(sqllake.OperationalError, match="cannot open catalog") as failed:
        sqllake.connect(str(tmp_path), catalog=f"{server}/sqllake_no_such_database")
    assert SECRET not in _everything(failed.value)


def test_a_uri_without_its_scheme_is_refused_without_echoing_the_password(
    tmp_path: Path,
) -> None:
    # PyIceberg would take it for a catalog name and echo it, upper-cased.
    with pytest.raises(sqllake.ProgrammingError, match="neither a SQLAlchemy URI") as failed:
        sqllake.connect(str(tmp_path), catalog=f"postgres:{SECRET}@127.0.0.1/x")
    assert "postgres:***@127.0.0.1/x" in failed.value.message
    assert SECRET not in _everything(failed.value).lower()


def test_a_url_duckdb_echoes_is_masked_in_the_error_and_its_cause(
    con: sqllake.Connection,
) -> None:
    with pytest.raises(sqllake.OperationalError, match="No files found") as failed:
        con.execute(f"SELECT * FROM read_csv('ftp://etl:{SECRET}@files.example/x.csv')")
    assert "ftp://etl:***@files.example/x.csv" in failed.value.message
    assert SECRET not in _everything(failed.value)
