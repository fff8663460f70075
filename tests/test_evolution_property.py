"""Random schema evolution: sqllake's reads match a model of the table and PyIceberg's read.

Each example creates a table with a row-id column ``rid`` that is never dropped, then
applies a random sequence of ADD COLUMN (INT or VARCHAR), DROP COLUMN, RENAME COLUMN,
ALTER COLUMN ... TYPE BIGINT and INSERT. The model keeps the columns in order with
their types and, per row, a value per column (keyed by a column identity that survives
renames, so a dropped-then-re-added name starts out NULL). After the sequence the
table is flushed and read through sqllake and through PyIceberg.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
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
    rows: list[dict[int, Any]] = field(default_factory=list)  # column ident -> value
    idents: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def names(self) -> set[str]:
        return {c.name for c in self.columns}

    def find(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def expected(self) -> list[tuple[Any, ...]]:
        return [
            (rid, *(row.get(c.ident) for c in self.columns)) for rid, row in enumerate(self.rows)
        ]


# Steps are drawn as data and interpreted against the model, so every step is legal.
steps = st.lists(
    st.tuples(
        st.sampled_from(["add", "drop", "rename", "promote", "insert"]),
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        st.sampled_from(["INT", "VARCHAR"]),
        st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)), min_size=4, max_size=4),
    ),
    max_size=12,
)


def _literal(column: Column, value: int | None) -> tuple[str, Any]:
    if value is None:
        return "NULL", None
    if column.type == "VARCHAR":
        return f"'v{value}'", f"v{value}"
    return str(value), value


def _apply(cursor: sqllake.Cursor, model: Model, step: tuple[Any, ...]) -> None:
    kind, name, other, type_name, values = step
    if kind == "add" and name not in model.names():
        cursor.execute(f"ALTER TABLE t ADD COLUMN {name} {type_name}")
        model.columns.append(Column(next(model.idents), name, type_name))
    elif kind == "drop" and (column := model.find(name)) is not None:
        cursor.execute(f"ALTER TABLE t DROP COLUMN {name}")
        model.columns.remove(column)
    elif kind == "rename" and (column := model.find(name)) and other not in model.names():
        cursor.execute(f"ALTER TABLE t RENAME COLUMN {name} TO {other}")
        column.name = other
    elif kind == "promote" and (column := model.find(name)) and column.type == "INT":
        cursor.execute(f"ALTER TABLE t ALTER COLUMN {name} TYPE BIGINT")
        column.type = "BIGINT"
    elif kind == "insert":
        rid = len(model.rows)
        literals = [_literal(c, v) for c, v in zip(model.columns, values, strict=False)]
        sql = ", ".join([str(rid), *(text for text, _ in literals)])
        cursor.execute(f"INSERT INTO t VALUES ({sql})")
        model.rows.append(
            {c.ident: value for c, (_, value) in zip(model.columns, literals, strict=False)}
        )


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
@given(steps)
def test_random_evolution_reads_like_the_model_and_pyiceberg(
    sequence: list[tuple[Any, ...]],
) -> None:
    # Hypothesis runs this body many times: one fresh lakehouse per example.
    with tempfile.TemporaryDirectory() as folder:
        warehouse = f"{folder}/lakehouse"
        model = Model()
        connection = sqllake.connect(warehouse, autocommit=True)
        try:
            cursor = connection.cursor()
            cursor.execute("CREATE TABLE t (rid INT NOT NULL)")
            for step in sequence:
                _apply(cursor, model, step)
            cursor.execute("FLUSH t")
            cursor.execute("SELECT * FROM t ORDER BY rid")
            names = [d[0] for d in cursor.description or []]
            ours = [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()
        expected = model.expected()
        assert names == ["rid", *(c.name for c in model.columns)]
        assert ours == expected
        their_names, theirs = _pyiceberg_rows(warehouse)
        assert their_names == names
        assert theirs == expected
