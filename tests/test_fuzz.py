"""Property-based fuzzing: statements from the grammar's examples, mutated token by token,
random statements built from the grammar, and random parameter values of many types.

Whatever the input: the outcome is success or a ``sqllake.Error`` that is not an
``InternalError`` (a foreign exception or a traceback is a bug), and a failing statement
changes nothing (no table pointer moves, no table or schema appears or disappears, no
buffered row appears). Examples are derived from a fixed seed so a run is repeatable.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sqllake
from sqllake.catalog import TableName
from sqllake.sql import split
from tests.test_grammar import EXAMPLES

FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SETUP = [
    "CREATE SCHEMA IF NOT EXISTS sales",
    "CREATE TABLE events (id BIGINT NOT NULL, ts TIMESTAMPTZ, kind VARCHAR, amount DECIMAL(10, 2),"
    " tags VARCHAR[], point STRUCT(x DOUBLE, y DOUBLE)) PARTITIONED BY (day(ts))",
    "CREATE TABLE sales.orders (id INT, customer VARCHAR, total DOUBLE, day DATE)"
    " PARTITIONED BY (bucket(4, id))",
    "CREATE TABLE t (a INT, b VARCHAR)",
    "INSERT INTO events VALUES (1, '2026-01-01 10:00:00+00', 'click', 1.5, ['a'],"
    " {'x': 1, 'y': 2})",
    "INSERT INTO sales.orders VALUES (1, 'ann', 10.0, '2026-01-01'), (2, 'bob', 5.5, NULL)",
    "INSERT INTO t VALUES (1, 'x'), (2, NULL)",
    "FLUSH events",
    "FLUSH t",
]

# Statements of the grammar's examples, and their tokens (words, quoted text, numbers,
# punctuation), the material mutations are made of.
STATEMENTS = sorted(
    {s.text for _, _, code in EXAMPLES for s in split(code) if not s.is_dot_command}
)
_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|\w+|\S""")
TOKENS = sorted({t for text in STATEMENTS for t in _TOKEN.findall(text)})


def _lakehouse(tmp_path: Path) -> sqllake.Connection:
    con = sqllake.connect(str(tmp_path / "lakehouse"), autocommit=True)
    for statement in SETUP:
        con.execute(statement)
    return con


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqllake.Connection]:
    connection = _lakehouse(tmp_path_factory.mktemp("fuzz"))
    yield connection
    connection.close()


def _state(con: sqllake.Connection) -> dict[str, Any]:
    """What a failing statement must not change: schemas, tables, their pointers and
    buffered rows."""
    session = con.session
    lakehouse = session.lakehouse
    state: dict[str, Any] = {}
    for namespace in lakehouse.namespaces():
        for name in lakehouse.tables(tuple(namespace.split("."))):
            table = lakehouse.load(name)
            buffered = session.buffer.read(name).batches if session.buffer else ()
            state[str(name)] = (table.metadata_location, len(buffered))
        state[f"schema {namespace}"] = True
    return state


def _run(con: sqllake.Connection, sql: str, params: Any = ()) -> None:
    """Run one statement; any failure must be a clean, non-internal sqllake error that
    changed nothing."""
    if con.session.in_transaction:
        con.rollback()
    before = _state(con)
    try:
        cur = con.cursor()
        cur.execute(sql, params)
        if cur.description is not None:
            cur.fetchall()
    except sqllake.InternalError as exc:
        pytest.fail(f"InternalError for {sql!r} {params!r}: {exc}")
    except sqllake.Error as exc:
        assert "Traceback" not in str(exc)
        if con.session.in_transaction:
            con.rollback()
        after = _state(con)
        assert after == before, f"{sql!r} failed ({exc}) but changed {_diff(before, after)}"
    except Exception as exc:  # noqa: BLE001 - the point of the test
        pytest.fail(f"foreign exception {type(exc).__name__} for {sql!r} {params!r}: {exc}")


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    keys = set(before) | set(after)
    return {k: (before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)}


def _mutate(tokens: list[str], data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["drop", "duplicate", "swap", "replace", "truncate"]))
    if not tokens:
        return ""
    i = data.draw(st.integers(0, len(tokens) - 1))
    if kind == "drop":
        del tokens[i]
    elif kind == "duplicate":
        tokens.insert(i, tokens[i])
    elif kind == "swap" and i + 1 < len(tokens):
        tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    elif kind == "replace":
        tokens[i] = data.draw(
            st.sampled_from(TOKENS) | st.sampled_from(["NULL", "''", "-1", "1e400", "?", ";"])
        )
    elif kind == "truncate":
        del tokens[i:]
    return " ".join(tokens)


@FUZZ
@given(data=st.data())
def test_mutated_grammar_examples_fail_cleanly(
    con: sqllake.Connection, data: st.DataObject
) -> None:
    statement = data.draw(st.sampled_from(STATEMENTS))
    tokens = _TOKEN.findall(statement)
    for _ in range(data.draw(st.integers(1, 3))):
        statement = _mutate(tokens, data)
        tokens = _TOKEN.findall(statement)
    _run(con, statement)


_NAMES = st.sampled_from(["t", "events", "sales.orders", "missing", '"T"', "default.t"])
_COLUMNS = st.sampled_from(["a", "b", "id", "ts", "kind", "amount", "point.x", "nope", "tags"])
_TYPES = st.sampled_from(
    ["INT", "BIGINT", "DOUBLE", "VARCHAR", "DATE", "TIMESTAMPTZ", "DECIMAL(5, 1)",
     "BOOLEAN", "UUID", "BLOB", "INT[]", "STRUCT(z INT)", "MAP(VARCHAR, INT)", "TIME",
     "HUGEINT", "UTINYINT", "INTERVAL", "BIT", "FLOAT", "NOTATYPE"]
)  # fmt: skip
_VALUES = st.sampled_from(
    ["1", "NULL", "'x'", "-2147483649", "1e300", "'2026-01-01'", "TRUE", "[1, 2]",
     "{'x': 1}", "'infinity'::DATE", "1.25", "'nan'::DOUBLE", "?", "uuid()", "now()"]
)  # fmt: skip
_TRANSFORMS = st.sampled_from(
    ["a", "day(ts)", "bucket(3, a)", "truncate(2, b)", "year(a)", "bucket(0, a)", "hour(b)",
     "nope", "truncate(-1, b)", "void(a)", "months(ts)"]
)  # fmt: skip


@st.composite
def _grammar_statement(draw: st.DrawFn) -> str:
    """A statement of the lakehouse grammar with random names, types and values."""
    name, column = draw(_NAMES), draw(_COLUMNS)
    kind, value, other = draw(_TYPES), draw(_VALUES), draw(_COLUMNS)
    forms = [
        f"CREATE TABLE IF NOT EXISTS f (a {kind}, b {draw(_TYPES)})"
        f" PARTITIONED BY ({draw(_TRANSFORMS)})",
        f"CREATE TABLE f2 AS SELECT {value} AS a",
        f"INSERT INTO {name} VALUES ({value}, {draw(_VALUES)})",
        f"INSERT INTO {name} ({column}) SELECT {value}",
        f"INSERT INTO {name} SELECT * FROM {draw(_NAMES)}",
        f"ALTER TABLE {name} ADD COLUMN {column} {kind}",
        f"ALTER TABLE {name} DROP COLUMN {column}",
        f"ALTER TABLE {name} RENAME COLUMN {column} TO {other}",
        f"ALTER TABLE {name} ALTER COLUMN {column} TYPE {kind}",
        f"ALTER TABLE {name} ALTER COLUMN {column} DROP NOT NULL",
        f"ALTER TABLE {name} ADD PARTITION FIELD {draw(_TRANSFORMS)}",
        f"ALTER TABLE {name} DROP PARTITION FIELD {draw(_TRANSFORMS)}",
        f"ALTER TABLE {name} SET TBLPROPERTIES ('{column}' = {value})",
        f"ALTER TABLE {name} UNSET TBLPROPERTIES ('{column}')",
        f"ALTER TABLE {name} WRITE ORDERED BY ({column})",
        f"ALTER TABLE {name} SET IDENTIFIER FIELDS {column}",
        f"ALTER TABLE {name} RENAME TO {draw(_NAMES)}",
        f"SELECT {column} FROM {name} FOR VERSION AS OF {value}",
        f"SELECT {column} FROM {name} FOR TIMESTAMP AS OF {value}",
        f"SELECT * FROM table_changes('{name}', {value}, {draw(_VALUES)})",
        f'SELECT * FROM "{name}$snapshots"',
        f"EXPLAIN SELECT {column} FROM {name} WHERE {column} = {value}",
        f"DESCRIBE {name}",
        f"SHOW CREATE TABLE {name}",
        f"FLUSH {name}",
        f"CALL system.flush({value})",
        f"CALL system.register_table('{name}', {value})",
        f"DROP TABLE IF EXISTS f{draw(st.sampled_from(['', '2']))}",
        f"CREATE SCHEMA {draw(st.sampled_from(['s1', 'sales', 'x.y']))}",
        f"DROP SCHEMA IF EXISTS {draw(st.sampled_from(['s1', 'x']))}",
        f"USE {draw(st.sampled_from(['default', 'sales', 'nope']))}",
    ]
    return draw(st.sampled_from(forms))


@FUZZ
@given(statement=_grammar_statement())
def test_random_grammar_statements_fail_cleanly(con: sqllake.Connection, statement: str) -> None:
    _run(con, statement, [1] * statement.count("?"))
    con.execute("USE default")


_PARAMETER = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.decimals(allow_nan=True, allow_infinity=True, places=None),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.sampled_from(["x", "y", "q"]), st.floats(-5, 5), max_size=3),
)


@FUZZ
@given(params=st.lists(_PARAMETER, min_size=0, max_size=7))
def test_random_parameters_fail_cleanly(con: sqllake.Connection, params: list[Any]) -> None:
    placeholders = ", ".join("?" * 6)
    _run(con, f"INSERT INTO events VALUES ({placeholders})", params)
    _run(con, "SELECT * FROM t WHERE a = ? AND b = ?", params[:2])


def test_parameter_values_of_every_kind_are_clean(con: sqllake.Connection) -> None:
    odd = [math.inf, -math.inf, math.nan, decimal.Decimal("NaN"), 2**64, b"\xff", uuid.uuid4()]
    for value in odd:
        _run(con, "INSERT INTO t VALUES (?, 'v')", [value])
        _run(con, "INSERT INTO t VALUES (1, ?)", [value])
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] >= 2


def test_state_sees_every_kind_of_change(tmp_path: Path) -> None:
    """The fingerprint the properties compare notices each kind of change."""
    con = _lakehouse(tmp_path)
    for statement in [
        "INSERT INTO t VALUES (3, 'z')",
        "FLUSH t",
        "ALTER TABLE t ADD COLUMN c INT",
        "CREATE TABLE t2 (a INT)",
        "CREATE SCHEMA s2",
        "DROP TABLE t2",
    ]:
        before = _state(con)
        con.execute(statement)
        assert _state(con) != before, statement
    assert TableName(("default",), "t") in con.session.lakehouse.tables(("default",))
    con.close()
