"""Pruning: the files a query reads are exactly the ones PyIceberg's planner keeps for the
same predicate, under every transform and across a partition-spec change, and pruning
never drops a file holding a matching row."""

from __future__ import annotations

import re

import pytest
from pyiceberg import expressions as ie
from pyiceberg.table import ManifestGroupPlanner

import sqllake
from sqllake.catalog import TableName
from sqllake.read import manifests

T = TableName(("default",), "ev")

CASES = [
    ("ts >= '2026-01-20'", ie.GreaterThanOrEqual("ts", "2026-01-20T00:00:00+00:00")),
    ("ts > '2026-01-21 06:00:00'", ie.GreaterThan("ts", "2026-01-21T06:00:00+00:00")),
    ("ts < '2026-01-03 12:00:00'", ie.LessThan("ts", "2026-01-03T12:00:00+00:00")),
    ("id = 17", ie.EqualTo("id", 17)),
    ("id IN (3, 40, 41)", ie.In("id", [3, 40, 41])),
    ("kind = 'k2'", ie.EqualTo("kind", "k2")),
    ("kind IS NULL", ie.IsNull("kind")),
    (
        "id BETWEEN 10 AND 12 OR kind = 'k0'",
        ie.Or(
            ie.And(ie.GreaterThanOrEqual("id", 10), ie.LessThanOrEqual("id", 12)),
            ie.EqualTo("kind", "k0"),
        ),
    ),
]


@pytest.fixture
def partitioned(lake: sqllake.Connection) -> sqllake.Connection:
    cur = lake.cursor()
    cur.execute(
        "CREATE TABLE ev (id BIGINT, ts TIMESTAMPTZ, kind VARCHAR) "
        "PARTITIONED BY (day(ts), bucket(4, id))"
    )
    insert = (
        "INSERT INTO ev SELECT range, "
        "TIMESTAMPTZ '2026-01-01 00:00:00+00' + INTERVAL (range * 5) HOUR, "
        "CASE WHEN range % 7 = 0 THEN NULL ELSE 'k' || (range % 3) END FROM range({start}, {end})"
    )
    cur.execute(insert.format(start=0, end=100))
    cur.execute("ALTER TABLE ev REPLACE PARTITION FIELD ts_day WITH hour(ts)")
    cur.execute("ALTER TABLE ev ADD PARTITION FIELD kind")
    cur.execute(insert.format(start=100, end=130))
    return lake


@pytest.mark.parametrize(("where", "predicate"), CASES, ids=[c[0] for c in CASES])
def test_files_match_pyiceberg_and_rows_match_an_unpruned_read(
    partitioned: sqllake.Connection, where: str, predicate: ie.BooleanExpression
) -> None:
    cur = partitioned.cursor()
    cur.execute(f"EXPLAIN SELECT * FROM ev WHERE {where}")
    scanned, total = map(int, re.search(r"(\d+) of (\d+) data files", cur.fetchone()[0]).groups())
    table = partitioned.session.lakehouse.load(T)
    theirs = {task.file.file_path for task in table.scan(row_filter=predicate).plan_files()}
    assert scanned == len(theirs) < total
    cur.execute(f"SELECT id FROM ev WHERE {where} ORDER BY id")
    pruned = cur.fetchall()
    # The same filter applied after reading every file (no pruning possible through a CTE).
    everything = "WITH everything AS MATERIALIZED (SELECT * FROM ev)"
    cur.execute(f"{everything} SELECT id FROM everything WHERE {where} ORDER BY id")
    assert pruned == cur.fetchall() and pruned


UNPARTITIONED_FILTERS = [
    ie.AlwaysTrue(),
    ie.AlwaysFalse(),
    ie.EqualTo("id", 17),
    ie.Not(ie.EqualTo("id", 17)),
    ie.In("id", [3, 250]),
    ie.NotIn("id", [3, 250]),
    ie.IsNull("kind"),
    ie.NotNull("kind"),
    ie.StartsWith("kind", "k1"),
    ie.Or(ie.LessThan("id", 5), ie.EqualTo("kind", "k2")),
]


@pytest.mark.parametrize("predicate", UNPARTITIONED_FILTERS, ids=str)
def test_files_of_an_unpartitioned_spec_are_kept_as_pyiceberg_keeps_them(
    lake: sqllake.Connection, predicate: ie.BooleanExpression
) -> None:
    """Manifests and files written before a table was partitioned skip the evaluators."""
    cur = lake.cursor()
    cur.execute("CREATE TABLE un (id BIGINT, kind VARCHAR)")
    for start in (0, 100, 200):
        cur.execute(
            f"INSERT INTO un SELECT range, CASE WHEN range % 7 = 0 THEN NULL "
            f"ELSE 'k' || (range % 3) END FROM range({start}, {start + 100})"
        )
    cur.execute("ALTER TABLE un ADD PARTITION FIELD kind")
    cur.execute("INSERT INTO un VALUES (300, 'k1'), (301, NULL)")
    table = lake.session.lakehouse.load(TableName(("default",), "un"))
    snapshot = table.current_snapshot()
    assert snapshot is not None
    planner = ManifestGroupPlanner(table.metadata, table.io, predicate)
    built: list[int] = []
    build = planner._build_manifest_evaluator
    planner._build_manifest_evaluator = lambda spec_id: built.append(spec_id) or build(spec_id)  # type: ignore[method-assign]
    listed = manifests.manifests(table.io, snapshot)
    groups = manifests.matching_entries(planner, table.io, listed)
    ours = {entry.data_file.file_path for group in groups for entry in group}
    theirs = {task.file.file_path for task in table.scan(row_filter=predicate).plan_files()}
    assert ours == theirs
    unpartitioned = table.metadata.specs()[0]
    assert unpartitioned.is_unpartitioned() and 0 not in built
