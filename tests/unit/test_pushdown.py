import pytest
from pyiceberg import expressions as ie
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType
from sqlglot import exp

from sqllake.read.pushdown import row_filter
from sqllake.sql import parse

SCHEMA = Schema(NestedField(1, "id", LongType()), NestedField(2, "name", StringType()))


def resolve(column: exp.Column) -> str | None:
    return {"id": "id", "name": "name"}.get(column.name.lower())


def where(sql: str) -> exp.Expr:
    return parse(f"SELECT * FROM t WHERE {sql}").args["where"].this


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("id = 5", ie.EqualTo("id", 5)),
        ("5 < id", ie.GreaterThan("id", 5)),
        ("id >= 5 AND name = 'x'", ie.And(ie.GreaterThanOrEqual("id", 5), ie.EqualTo("name", "x"))),
        ("id BETWEEN 1 AND 3", ie.And(ie.GreaterThanOrEqual("id", 1), ie.LessThanOrEqual("id", 3))),
        ("id IN (1, 2)", ie.In("id", [1, 2])),
        ("name IS NULL", ie.IsNull("name")),
        ("name IS NOT NULL", ie.NotNull("name")),
        ("id = 1 OR id = 2", ie.Or(ie.EqualTo("id", 1), ie.EqualTo("id", 2))),
    ],
)
def test_translates_prunable_predicates(sql: str, expected: ie.BooleanExpression) -> None:
    assert row_filter(where(sql), SCHEMA, resolve) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "lower(name) = 'x'",
        "id + 1 = 3",
        "id = 1 OR lower(name) = 'x'",
        "id IN (SELECT 1)",
        "other = 1",
    ],
)
def test_anything_not_understood_prunes_nothing(sql: str) -> None:
    assert row_filter(where(sql), SCHEMA, resolve) == ie.AlwaysTrue()


def test_a_conjunct_not_understood_keeps_the_others() -> None:
    assert row_filter(where("id = 1 AND lower(name) = 'x'"), SCHEMA, resolve) == ie.EqualTo("id", 1)
