"""Credentials never show: in errors, EXPLAIN, SHOW CREATE TABLE, metadata tables."""

from __future__ import annotations

import traceback
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import PG_SERVER, CatalogTarget, rows

SECRET = "hunter2"


def _everything(error: BaseException) -> str:
    """The message and the whole printed traceback, chained causes included."""
    return "".join(traceback.format_exception(error))


def _first_use(tmp_path: Path, catalog: str) -> None:
    """Connect and run a statement that needs the catalog (which opens on first use)."""
    con = sqllake.connect(str(tmp_path), catalog=catalog)
    try:
        con.cursor().execute("SHOW TABLES")
    finally:
        con.close()


def test_a_wrong_port_in_a_postgres_uri_does_not_echo_the_password(tmp_path: Path) -> None:
    uri = f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/x"
    with pytest.raises(sqllake.OperationalError, match="cannot open catalog") as failed:
        _first_use(tmp_path, uri)
    assert SECRET not in _everything(failed.value)


def test_a_missing_database_does_not_echo_the_password(tmp_path: Path) -> None:
    server = PG_SERVER.replace("postgresql://postgres@", f"postgresql+psycopg://postgres:{SECRET}@")
    with pytest.raises(sqllake.OperationalError, match="cannot open catalog") as failed:
        _first_use(tmp_path, f"{server}/sqllake_no_such_database")
    assert SECRET not in _everything(failed.value)


def test_a_uri_without_its_scheme_is_refused_without_echoing_the_password(
    tmp_path: Path,
) -> None:
    # PyIceberg would take it for a catalog name and echo it, upper-cased.
    with pytest.raises(sqllake.ProgrammingError, match="neither a SQLAlchemy URI") as failed:
        _first_use(tmp_path, f"postgres:{SECRET}@127.0.0.1/x")
    assert "postgres:***@127.0.0.1/x" in failed.value.message
    assert SECRET not in _everything(failed.value).lower()


def test_a_url_duckdb_echoes_is_masked_in_the_error_and_its_cause(
    con: sqllake.Connection,
) -> None:
    with pytest.raises(sqllake.OperationalError, match="No files found") as failed:
        con.execute(f"SELECT * FROM read_csv('ftp://etl:{SECRET}@files.example/x.csv')")
    assert "ftp://etl:***@files.example/x.csv" in failed.value.message
    assert SECRET not in _everything(failed.value)


def test_explain_masks_credentials_and_keeps_its_boxes(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text("a\nb\n")
    with sqllake.connect(str(tmp_path / "lake"), autocommit=True) as con:
        lines = [
            line
            for (line,) in rows(
                con, f"EXPLAIN SELECT * FROM read_csv('{csv}') WHERE a = 'https://u:{SECRET}@h/x'"
            )
        ]
    text = "\n".join(lines)
    assert "'https://u:***@h/x'" in text and SECRET not in text
    box = [line for line in lines if line.startswith(("│", "╭", "╰"))]
    assert len({len(line) for line in box}) == 1


def _pyiceberg(target: CatalogTarget) -> SqlCatalog:
    """The lakehouse's catalog as another engine sees it."""
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    return SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")


def _table_with_secrets(con: sqllake.Connection, target: CatalogTarget) -> None:
    """A table another engine gave a credential as a property and in a snapshot summary."""
    con.execute("CREATE TABLE t (id INT)")
    catalog = _pyiceberg(target)
    try:
        table = catalog.load_table(("default", "t"))
        with table.transaction() as tx:
            tx.set_properties({"s3.secret-access-key": SECRET, "owner": "ops"})
        table.append(
            pa.table({"id": pa.array([1], pa.int32())}),
            snapshot_properties={"adls.sas-token": SECRET, "job": "nightly"},
        )
    finally:
        catalog.engine.dispose()


def test_show_create_table_masks_credential_properties(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    _table_with_secrets(con, target)
    (statement,) = rows(con, "SHOW CREATE TABLE t")[0]
    assert "'s3.secret-access-key' = '***'" in statement
    assert "'owner' = 'ops'" in statement
    assert SECRET not in statement
    # Re-running the output does not store the mask as a credential: it is refused.
    with pytest.raises(sqllake.NotSupportedError, match="is a credential"):
        con.execute(statement.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))


def test_snapshot_summaries_mask_credentials(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    _table_with_secrets(con, target)
    (summary,) = [s for (s,) in rows(con, 'SELECT summary FROM "t$snapshots"')]
    assert ("adls.sas-token", "***") in summary and ("job", "nightly") in summary


def test_describe_and_statistics_do_not_show_properties(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    _table_with_secrets(con, target)
    for sql in [
        "DESCRIBE t",
        "SHOW TABLE EXTENDED",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM information_schema.columns",
        "SELECT * FROM information_schema.schemata",
        'SELECT * FROM "t$history"',
    ]:
        assert SECRET not in repr(rows(con, sql)), sql


def test_subscription_events_mask_credentials_in_summaries(
    con: sqllake.Connection, target: CatalogTarget
) -> None:
    _table_with_secrets(con, target)
    subscription = con.subscribe("audit", tables=["t"], since="earliest")
    snapshots = [e for e in subscription.poll() if e.kind == "snapshot"]
    assert snapshots
    for event in snapshots:
        assert SECRET not in repr(event.summary)
    assert any(event.summary.get("adls.sas-token") == "***" for event in snapshots)
