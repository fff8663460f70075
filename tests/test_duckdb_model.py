"""Random DuckDB scripts: sqllake answers every query as plain DuckDB tables do.

Each example runs one random sequence of statements, in DuckDB's own spellings, on a
sqllake lakehouse and on an in-memory DuckDB database (the model): column DDL with
defaults (ADD, DROP, RENAME, promotions, SET / DROP DEFAULT, IF [NOT] EXISTS), INSERTs
of every shape (column lists, DEFAULT, INSERT ... SELECT), transactions that commit or
abort, and TimeZone settings, with queries between them. Statements that change only
the lakehouse's layout (partitioning, sort order, FLUSH of the insert buffer, file
properties) run on sqllake alone: they must not change any answer. Every query's rows
must be equal.

DDL runs outside transactions (in sqllake it takes effect at once, in DuckDB it is
transactional), and only legal statements are drawn: the script is interpreted against
a model of the columns, as a DuckDB user's script would be written.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import Any

import duckdb
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import sqllake

NAMES = ("a", "b", "c")
TYPES = ("INT", "VARCHAR")
ZONES = ("UTC", "America/New_York", "Asia/Kolkata")


@dataclass
class Column:
    name: str
    type: str  # INT, BIGINT or VARCHAR
    default: bool = False


@dataclass
class Script:
    """The columns the table has now (after id and ts), and what the script ran."""

    columns: list[Column] = field(default_factory=list)
    rows: int = 0
    statements: list[tuple[str, bool]] = field(default_factory=list)  # (sql, both engines)

    def find(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


def _value(column: Column, number: int) -> str:
    if column.type == "VARCHAR":
        return f"'v{number}'"
    return str(number)


def _insert(script: Script, shape: str, number: int) -> str:
    """One INSERT of the given shape; ``id`` numbers the rows."""
    rid = script.rows
    stamp = f"'2024-03-{number % 28 + 1:02d} {number % 24:02d}:30:00'"
    if shape == "select":
        script.rows += 3
        values = ", ".join(_value(c, number) for c in script.columns)
        tail = f", {values}" if values else ""
        return f"INSERT INTO t SELECT {rid} + range, {stamp}::TIMESTAMPTZ{tail} FROM range(3)"
    script.rows += 1
    if shape == "listed" and script.columns:
        some = script.columns[: 1 + number % len(script.columns)]
        names = ", ".join(c.name for c in some)
        values = ", ".join(_value(c, number) for c in some)
        return f"INSERT INTO t (id, {names}) VALUES ({rid}, {values})"
    items = [
        "DEFAULT" if shape == "defaults" and c.default else _value(c, number)
        for c in script.columns
    ]
    return f"INSERT INTO t VALUES ({', '.join([str(rid), stamp, *items])})"


def _ddl(script: Script, kind: str, name: str, other: str, type_name: str, number: int) -> str:
    column = script.find(name)
    if kind == "add":
        exists = " IF NOT EXISTS" if column is not None else ""
        if column is not None:
            return f"ALTER TABLE t ADD COLUMN{exists} {name} {type_name}"
        default = number % 2 == 0
        script.columns.append(Column(name, type_name, default))
        given_default = f" DEFAULT {_value(script.columns[-1], number)}" if default else ""
        return f"ALTER TABLE t ADD COLUMN {name} {type_name}{given_default}"
    if kind == "drop":
        if column is None:
            return f"ALTER TABLE t DROP COLUMN IF EXISTS {name}"
        script.columns.remove(column)
        return f"ALTER TABLE t DROP COLUMN {name}"
    if kind == "rename" and column is not None and script.find(other) is None:
        column.name = other
        return f"ALTER TABLE t RENAME COLUMN {name} TO {other}"
    if kind == "promote" and column is not None and column.type == "INT":
        column.type = "BIGINT"
        return f"ALTER TABLE t ALTER COLUMN {name} TYPE BIGINT"
    if kind == "default" and column is not None:
        if column.default and number % 2:
            column.default = False
            return f"ALTER TABLE t ALTER COLUMN {name} DROP DEFAULT"
        column.default = True
        return f"ALTER TABLE t ALTER COLUMN {name} SET DEFAULT {_value(column, number)}"
    return ""


# Statements sqllake runs alone: the lakehouse's layout, which must not change answers.
_LAYOUT = (
    "FLUSH t",
    "ALTER TABLE t SET PARTITIONED BY (day(ts))",
    "ALTER TABLE t SET PARTITIONED BY (bucket(4, id))",
    "ALTER TABLE t RESET PARTITIONED BY",
    "ALTER TABLE t SET SORTED BY (id DESC)",
    "ALTER TABLE t RESET SORTED BY",
    "ALTER TABLE t SET TBLPROPERTIES ('write.inline.rows' = '0')",
    "ALTER TABLE t SET TBLPROPERTIES ('write.inline.rows' = '10000')",
)

QUERIES = (
    "SELECT * FROM t ORDER BY id",
    "SELECT count(*), count(DISTINCT ts) FROM t",
    "SELECT id FROM t WHERE ts >= '2024-03-10 12:00:00' ORDER BY id",
    "SELECT id, CAST(ts AS VARCHAR) FROM t WHERE id % 3 = 0 ORDER BY id",
    "SELECT current_setting('TimeZone')",
)


def _step(script: Script, step: tuple[Any, ...], in_transaction: bool) -> list[tuple[str, bool]]:
    kind, name, other, type_name, number = step
    if kind in ("select", "values", "listed", "defaults"):
        return [(_insert(script, kind, number), True)]
    if kind == "layout":
        return [] if in_transaction else [(_LAYOUT[number % len(_LAYOUT)], False)]
    if kind == "flush":
        return [] if in_transaction else [("FLUSH t", False)]
    if kind == "zone":
        return [(f"SET TimeZone = '{ZONES[number % len(ZONES)]}'", True)]
    if kind == "query":
        return [(QUERIES[number % len(QUERIES)], True)]
    if in_transaction:
        return []
    sql = _ddl(script, kind, name, other, type_name, number)
    return [(sql, True)] if sql else []


steps = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "values",
                "select",
                "listed",
                "defaults",
                "add",
                "add",
                "drop",
                "rename",
                "promote",
                "default",
                "layout",
                "layout",
                "zone",
                "query",
                "query",
                "begin",
            ]
        ),  # fmt: skip
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.sampled_from(TYPES),
        st.integers(0, 1000),
    ),
    min_size=3,
    max_size=24,
)


def _script(drawn: list[tuple[Any, ...]]) -> list[tuple[str, bool]]:
    """The statements of a drawn script: transactions group the steps after "begin"
    (up to the next "begin", which ends one with COMMIT or ABORT by its number)."""
    script = Script(columns=[Column("a", "INT", default=True)])
    statements: list[tuple[str, bool]] = []
    open_by: int | None = None
    for step in drawn:
        if step[0] == "begin":
            if open_by is None:
                statements.append(("BEGIN TRANSACTION", True))
                open_by = step[4]
            else:
                # Ids stay unique after an ABORT: their numbering simply goes on.
                statements.append(("COMMIT" if open_by % 3 else "ABORT", True))
                open_by = None
            continue
        statements.extend(_step(script, step, open_by is not None))
    if open_by is not None:
        statements.append(("COMMIT", True))
    return statements


def _normal(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(int(v) if type(v).__name__ == "Decimal" else v for v in row) for row in rows]


_CREATE = "CREATE TABLE t (id INT, ts TIMESTAMPTZ, a INT DEFAULT 7)"

# Always tried: defaults through evolution, the buffer and a time zone change.
_HISTORY: list[tuple[Any, ...]] = [
    ("values", "a", "a", "INT", 1),
    ("add", "b", "a", "VARCHAR", 2),
    ("zone", "a", "a", "INT", 1),
    ("listed", "a", "a", "INT", 3),
    ("layout", "a", "a", "INT", 1),
    ("default", "b", "a", "INT", 4),
    ("defaults", "a", "a", "INT", 5),
    ("begin", "a", "a", "INT", 3),
    ("select", "a", "a", "INT", 6),
    ("begin", "a", "a", "INT", 0),
    ("rename", "a", "c", "INT", 7),
    ("promote", "c", "a", "INT", 8),
    ("query", "a", "a", "INT", 0),
    ("query", "a", "a", "INT", 2),
]


# A file of rows whose times east of UTC fall on the other side of a bound given in
# the session's zone: pruning must read the bound in that zone too.
_EAST = [
    ("zone", "a", "a", "INT", 2),
    ("values", "a", "a", "INT", 37),  # 13:30 in Kolkata, 08:00 in UTC
    ("flush", "a", "a", "INT", 0),
    ("query", "a", "a", "INT", 2),  # ts >= 12:00 (Kolkata)
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(_HISTORY)
@example(_EAST)
@given(steps)
def test_random_scripts_answer_as_duckdb_does(drawn: list[tuple[Any, ...]]) -> None:
    statements = [(_CREATE, True), *_script(drawn), (QUERIES[0], True)]
    model = duckdb.connect(":memory:")
    model.execute("SET TimeZone = 'UTC'")
    with tempfile.TemporaryDirectory() as folder:
        connection = sqllake.connect(f"{folder}/lakehouse", autocommit=True)
        cursor = connection.cursor()
        try:
            for sql, both in statements:
                cursor.execute(sql)
                if not both:
                    continue
                expected = model.execute(sql).fetchall() if sql.startswith("SELECT") else None
                if not sql.startswith("SELECT"):
                    model.execute(sql)
                    continue
                ours = _normal([tuple(row) for row in cursor.fetchall()])
                assert ours == _normal(expected or []), sql
        finally:
            connection.close()
            model.close()
