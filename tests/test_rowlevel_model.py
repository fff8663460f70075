"""Random sequences of INSERT, DELETE, UPDATE and MERGE: sqllake changes the same rows,
and reports the same row counts, as a DuckDB in-memory table (the model).

Each example draws the table's layout (write mode, format version, partitioning,
insert buffer) and a script; statements run on both, some inside BEGIN ... COMMIT or
ROLLBACK, and FLUSH (which changes no row) on sqllake alone. After every statement the
whole table must be equal.
"""

from __future__ import annotations

import tempfile
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sqllake

_CONDITIONS = (
    "id % 3 = {k} % 3",
    "g = {k} % 5",
    "s IS NULL",
    "id < {k}",
    "g IN (SELECT g FROM t WHERE id = {k})",
    "s LIKE 'v{k}%' OR id = {k}",
)


def _insert(first: int, count: int, k: int) -> str:
    return (
        f"INSERT INTO t SELECT i, i % 5, CASE WHEN i % {k % 4 + 2} = 0 THEN NULL "
        f"ELSE 'v' || i END FROM range({first}, {first + count}) r(i)"
    )


def _statement(step: tuple[Any, ...], rows: int) -> tuple[str, bool]:
    """(sql, whether the model runs it too)."""
    kind, which, k = step
    condition = _CONDITIONS[which % len(_CONDITIONS)].format(k=k)
    if kind == "insert":
        return _insert(rows, k % 7 + 1, k), True
    if kind == "delete":
        return f"DELETE FROM t WHERE {condition}", True
    if kind == "update":
        return (
            "UPDATE t SET g = g + 1, s = CASE WHEN s IS NULL THEN 'n' ELSE s || 'u' END "
            f"WHERE {condition}",
            True,
        )
    if kind == "merge":
        low = k % 10
        return (
            f"MERGE INTO t USING (SELECT i AS id, i % 3 AS g, 'm' || i AS s "
            f"FROM range({low}, {low + which % 6 + 1}) r(i)) AS src ON t.id = src.id "
            "WHEN MATCHED AND src.id % 4 = 0 THEN DELETE "
            "WHEN MATCHED THEN UPDATE SET g = src.g, s = src.s "
            "WHEN NOT MATCHED THEN INSERT VALUES (src.id, src.g, src.s)",
            True,
        )
    return "FLUSH t", False


steps = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "update", "merge", "flush"]),
        st.integers(0, 20),
        st.integers(0, 20),
    ),
    min_size=1,
    max_size=6,
)
layouts = st.tuples(
    st.sampled_from(["copy-on-write", "merge-on-read"]),
    st.sampled_from(["2", "3"]),
    st.sampled_from(["", "PARTITIONED BY (g)", "PARTITIONED BY (bucket(2, id))"]),
    st.sampled_from(["0", "10000"]),  # insert buffer off / on
)
transactions = st.sampled_from([None, "COMMIT", "ROLLBACK"])


def _rows(run: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in run("SELECT * FROM t").fetchall())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts, steps, transactions, st.integers(0, 7))
def test_random_changes_match_duckdb(
    layout: tuple[str, str, str, str],
    drawn: list[tuple[Any, ...]],
    ending: str | None,
    split: int,
) -> None:
    mode, version, partitioning, inline = layout
    modes = ", ".join(f"'write.{s}.mode' = '{mode}'" for s in ("delete", "update", "merge"))
    create = (
        f"CREATE TABLE t (id INT, g INT, s VARCHAR) {partitioning} WITH "
        f"('format-version' = '{version}', 'write.inline.rows' = '{inline}', {modes})"
    )
    model = duckdb.connect(":memory:")
    model.execute("CREATE TABLE t (id INT, g INT, s VARCHAR)")
    with tempfile.TemporaryDirectory() as folder:
        connection = sqllake.connect(f"{folder}/lakehouse", autocommit=True)
        cursor = connection.cursor()
        try:
            cursor.execute(create)
            for sql in (_insert(0, 12, 1), _insert(12, 6, 2)):
                cursor.execute(sql)
                model.execute(sql)
            rows = 18
            for number, step in enumerate(drawn):
                if ending is not None and number == split % len(drawn):
                    cursor.execute("BEGIN")
                    model.execute("BEGIN")
                sql, both = _statement(step, rows)
                if step[0] == "flush" and ending is not None and number >= split % len(drawn):
                    continue  # FLUSH commits at once: not inside the transaction
                cursor.execute(sql)
                rows += 10
                if not both:
                    continue
                (count,) = model.execute(sql).fetchone() or (None,)
                if step[0] != "insert":
                    assert cursor.rowcount == count, sql
                assert _rows(cursor.execute) == _rows(model.execute), sql
            if ending is not None:
                cursor.execute(ending)
                model.execute(ending)
            assert _rows(cursor.execute) == _rows(model.execute), ending
        finally:
            connection.close()
            model.close()
