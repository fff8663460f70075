"""Random schema evolution: sqllake's reads match a model of the table and PyIceberg's read.

Each example creates a table with a row-id column ``rid`` that is never dropped and a
struct column ``s``, then applies a random sequence of ADD COLUMN (INT or VARCHAR), DROP
COLUMN, RENAME COLUMN, ALTER COLUMN ... TYPE BIGINT and INSERT, on top-level columns
and on the fields of ``s`` alike (``s`` keeps at least one field). The model keeps the
columns and fields in order with their types and, per row, a value per column and
field (keyed by an identity that survives renames, so a dropped-then-re-added name
starts out NULL). Every INSERT commits a file, so files are written under many schemas;
after the sequence the table is read through sqllake and through PyIceberg.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pyiceberg.catalog.sql import SqlCatalog

import sqllake

NAMES = ("a", "b", "c", "d")


@dataclass
class Column:
    ident: int
    name: str
    type: str  # INT, BIGINT or VARCHAR


@dataclass
class Model:
    columns: list[Column] = field(default_factory=list)
    fields: list[Column] = field(default_factory=list)  # of struct column s
    rows: list[dict[int, Any]] = field(default_factory=list)  # column ident -> value
    idents: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def of(self, nested: bool) -> list[Column]:
        return self.fields if nested else self.columns

    def expected(self) -> list[tuple[Any, ...]]:
        return [
            (
                rid,
                {c.name: row.get(c.ident) for c in self.fields},
                *(row.get(c.ident) for c in self.columns),
            )
            for rid, row in enumerate(self.rows)
        ]


def _find(columns: list[Column], name: str) -> Column | None:
    return next((c for c in columns if c.name == name), None)


# Steps are drawn as data and interpreted against the model, so every step is legal.
# A value for each top-level column, then for each field of s.
_VALUES = st.lists(
    st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    min_size=2 * len(NAMES),
    max_size=2 * len(NAMES),
)
steps = st.lists(
    st.tuples(
        # Inserts and renames twice as often: files written between renames matter.
        st.sampled_from(["add", "drop", "rename", "rename", "promote", "insert", "insert"]),
        st.booleans(),  # on a field of s rather than a top-level column
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.sampled_from(["INT", "VARCHAR"]),
        _VALUES,
    ),
    min_size=2,
    max_size=16,
)

_NO_VALUES = [None] * (2 * len(NAMES))
_ONES = [1] * (2 * len(NAMES))


def _step(kind: str, nested: bool, name: str, other: str = "a") -> tuple[Any, ...]:
    return (kind, nested, name, other, "INT", _ONES if kind == "insert" else _NO_VALUES)


# Always tried: a nested rename, a drop and re-add under the same name and a promotion,
# each with rows written before and after.
_NESTED_HISTORY = [
    _step("insert", True, "a"),
    _step("add", True, "b"),
    _step("insert", True, "a"),
    _step("rename", True, "a", "c"),
    _step("drop", True, "b"),
    _step("insert", True, "a"),
    _step("add", True, "b"),
    _step("rename", True, "c", "a"),
    _step("promote", True, "a"),
    _step("insert", True, "a"),
]


def _literal(column: Column, value: int | None) -> tuple[str, Any]:
    if value is None:
        return "NULL", None
    if column.type == "VARCHAR":
        return f"'v{value}'", f"v{value}"
    return str(value), value


def _insert(cursor: sqllake.Cursor, model: Model, values: list[int | None]) -> None:
    rid = len(model.rows)
    top = [_literal(c, v) for c, v in zip(model.columns, values, strict=False)]
    nested = [_literal(c, v) for c, v in zip(model.fields, values[len(NAMES) :], strict=False)]
    struct = ", ".join(
        f"'{c.name}': {text}" for c, (text, _) in zip(model.fields, nested, strict=True)
    )
    sql = ", ".join([str(rid), f"{{{struct}}}", *(text for text, _ in top)])
    cursor.execute(f"INSERT INTO t VALUES ({sql})")
    row = {c.ident: value for c, (_, value) in zip(model.columns, top, strict=False)}
    row.update({c.ident: value for c, (_, value) in zip(model.fields, nested, strict=False)})
    model.rows.append(row)


def _apply(cursor: sqllake.Cursor, model: Model, step: tuple[Any, ...]) -> None:
    kind, nested, name, other, type_name, values = step
    columns = model.of(nested)
    prefix = "s." if nested else ""
    names = {c.name for c in columns}
    column = _find(columns, name)
    if kind == "add" and column is None:
        cursor.execute(f"ALTER TABLE t ADD COLUMN {prefix}{name} {type_name}")
        columns.append(Column(next(model.idents), name, type_name))
    elif kind == "drop" and column is not None and not (nested and len(columns) == 1):
        cursor.execute(f"ALTER TABLE t DROP COLUMN {prefix}{name}")
        columns.remove(column)
    elif kind == "rename" and column is not None and other not in names:
        cursor.execute(f"ALTER TABLE t RENAME COLUMN {prefix}{name} TO {other}")
        column.name = other
    elif kind == "promote" and column is not None and column.type == "INT":
        cursor.execute(f"ALTER TABLE t ALTER COLUMN {prefix}{name} TYPE BIGINT")
        column.type = "BIGINT"
    elif kind == "insert":
        _insert(cursor, model, values)


def _pyiceberg_rows(warehouse: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    catalog = SqlCatalog(
        "sqllake", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}"
    )
    try:
        table: pa.Table = catalog.load_table("default.t").scan().to_arrow()
    finally:
        catalog.engine.dispose()
    columns = (table.column(i).to_pylist() for i in range(table.num_columns))
    rows = sorted(zip(*columns, strict=True), key=lambda row: row[0])
    return table.column_names, [tuple(row) for row in rows]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@example(_NESTED_HISTORY)
@given(steps)
def test_random_evolution_reads_like_the_model_and_pyiceberg(
    sequence: list[tuple[Any, ...]],
) -> None:
    # Hypothesis runs this body many times: one fresh lakehouse per example.
    with tempfile.TemporaryDirectory() as folder:
        warehouse = f"{folder}/lakehouse"
        model = Model()
        model.fields.append(Column(next(model.idents), "a", "INT"))
        connection = sqllake.connect(warehouse, autocommit=True, inline_rows=0)
        try:
            cursor = connection.cursor()
            cursor.execute("CREATE TABLE t (rid INT NOT NULL, s STRUCT(a INT))")
            for step in sequence:
                _apply(cursor, model, step)
            cursor.execute("SELECT * FROM t ORDER BY rid")
            names = [d[0] for d in cursor.description or []]
            ours = [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()
        expected = model.expected()
        assert names == ["rid", "s", *(c.name for c in model.columns)]
        assert ours == expected
        their_names, theirs = _pyiceberg_rows(warehouse)
        assert their_names == names
        assert theirs == expected
