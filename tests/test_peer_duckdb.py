"""Tables sqllake changed read identically in DuckDB 1.5.5's iceberg extension (see
``tests/peer_duckdb.py`` for how that DuckDB runs beside sqllake's own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyiceberg.catalog.sql import SqlCatalog

import sqllake
from tests.conftest import CatalogTarget
from tests.peer_duckdb import iceberg_scan, peer_python

SETUP = [
    "CREATE TABLE u (id INT, amount DECIMAL(10,2), day DATE, note VARCHAR)",
    "INSERT INTO u SELECT range, range / 100, DATE '2026-01-01' + CAST(range % 40 AS INT), "
    "'n' || range FROM range(30000)",
    "CREATE TABLE p (id INT, ts TIMESTAMP, region VARCHAR) PARTITIONED BY (region, day(ts))",
    "INSERT INTO p SELECT range, TIMESTAMP '2026-01-01' + INTERVAL (range % 7) DAY, "
    "'r' || (range % 4) FROM range(30000)",
]

# name -> statements that change the tables after SETUP
CASES = {
    "truncate": ["TRUNCATE u", "TRUNCATE TABLE p"],
    "truncate then insert": ["TRUNCATE u", "INSERT INTO u VALUES (1, 2.5, '2026-05-01', 'x')"],
    "overwrite unpartitioned": [
        "INSERT OVERWRITE u SELECT id, amount * 2, day, note FROM u WHERE id % 3 = 0"
    ],
    "overwrite static partition": [
        "INSERT OVERWRITE p PARTITION (region = 'r1') SELECT id + 100000, ts FROM p "
        "WHERE region = 'r2' AND id < 500"
    ],
    "overwrite dynamic": [
        "SET partition_overwrite_mode = 'dynamic'",
        "INSERT OVERWRITE p VALUES (-1, '2026-01-03 10:00', 'r0'), (-2, '2026-01-04', 'r3')",
    ],
    "overwrite after partition evolution": [
        "ALTER TABLE p REPLACE PARTITION FIELD day(ts) WITH month(ts)",
        "INSERT OVERWRITE p PARTITION (region = 'r2') VALUES (-5, '2026-02-01')",
    ],
    "overwrite in a transaction with buffered rows": [
        "INSERT INTO p VALUES (-7, '2026-01-01', 'r0'), (-8, '2026-01-01', 'r1')",
        "BEGIN",
        "INSERT OVERWRITE p PARTITION (region = 'r0') VALUES (-9, '2026-01-02')",
        "TRUNCATE u",
        "INSERT INTO u VALUES (7, 1, '2026-01-01', 'only')",
        "COMMIT",
    ],
}


def _row_level(mode: str) -> list[str]:
    modes = ", ".join(f"'write.{w}.mode' = '{mode}'" for w in ("delete", "update", "merge"))
    return [f"ALTER TABLE {t} SET TBLPROPERTIES ({modes})" for t in ("u", "p")] + [
        "DELETE FROM u WHERE id % 7 = 0",
        "UPDATE u SET note = note || '!', amount = amount + 1 WHERE id % 11 = 0",
        "DELETE FROM p WHERE region = 'r1' AND id % 5 = 0",
        "UPDATE p SET ts = ts + INTERVAL 1 HOUR WHERE id % 13 = 0",
        "MERGE INTO u USING (SELECT range * 3 AS id FROM range(20000)) AS s ON u.id = s.id "
        "WHEN MATCHED AND s.id % 2 = 0 THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET note = 'merged' "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, 0, DATE '2026-03-01', 'new')",
    ]


for _mode in ("copy-on-write", "merge-on-read"):
    CASES[f"delete, update and merge, {_mode}"] = _row_level(_mode)


@pytest.fixture(autouse=True)
def _peer() -> None:
    peer_python()


@pytest.fixture
def lake(target: CatalogTarget) -> Iterator[sqllake.Connection]:
    con = target.connect(autocommit=True)
    for statement in SETUP:
        con.cursor().execute(statement)
    yield con
    con.close()


def _metadata(target: CatalogTarget, table: str) -> str:
    uri = target.catalog or f"sqlite:///{target.warehouse}/catalog.db"
    catalog = SqlCatalog("sqllake", uri=uri, warehouse=f"file://{target.warehouse}")
    try:
        return str(catalog.load_table(("default", table)).metadata_location)
    finally:
        catalog.engine.dispose()


@pytest.mark.parametrize("case", list(CASES))
def test_duckdb_reads_what_sqllake_reads(
    target: CatalogTarget, lake: sqllake.Connection, case: str
) -> None:
    cur = lake.cursor()
    for statement in CASES[case]:
        cur.execute(statement)
    for table in ("u", "p"):
        cur.execute(f"FLUSH {table}")  # other engines read committed files only
        cur.execute(f"SELECT * FROM {table}")
        ours = cur.fetch_arrow_table()
        theirs = iceberg_scan(_metadata(target, table))
        assert theirs.column_names == ours.column_names
        assert sorted(theirs.to_pylist(), key=repr) == sorted(ours.to_pylist(), key=repr), table
