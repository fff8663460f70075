"""PARTITIONED BY items -> (transform, source column): Spark and Trino spellings.

``day(ts)``/``days(ts)``, ``bucket(16, id)`` and Trino's ``bucket(id, 16)``,
``truncate(4, s)`` and ``truncate(s, 4)``, a bare column for identity.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    YearTransform,
)
from sqlglot import exp
from sqlglot.errors import ParseError

from sqllake.errors import ProgrammingError, located
from sqllake.plan import nodes
from sqllake.sql.syntax import offset_of

_TEMPORAL: dict[str, Callable[[], Transform]] = {  # type: ignore[type-arg]
    "year": YearTransform,
    "years": YearTransform,
    "month": MonthTransform,
    "months": MonthTransform,
    "day": DayTransform,
    "days": DayTransform,
    "date": DayTransform,
    "hour": HourTransform,
    "hours": HourTransform,
}


def _column_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Column | exp.Identifier):
        return node.name
    raise ProgrammingError("a partition transform takes a column", offset=offset_of(node))


def _width(node: exp.Expr | None) -> int:
    if isinstance(node, exp.Literal) and not node.is_string and int(node.name) > 0:
        return int(node.name)
    if isinstance(node, exp.Literal) and not node.is_string:
        # located at the transform by the caller
        raise ProgrammingError("a bucket count or truncate width must be positive")
    raise ProgrammingError(
        "a bucket count or truncate width must be a number",
        offset=offset_of(node) if node is not None else None,
    )


def _column_and_width(arguments: list[exp.Expr | None]) -> tuple[str, int]:
    """Spark writes ``bucket(16, id)``, Trino ``bucket(id, 16)``: the number is the width."""
    numbers = [a for a in arguments if isinstance(a, exp.Literal) and not a.is_string]
    columns = [a for a in arguments if a is not None and a not in numbers]
    if len(numbers) != 1 or len(columns) != 1:
        raise ProgrammingError("expected a column and a number")
    return _column_name(columns[0]), _width(numbers[0])


def partition_item(node: exp.Expr) -> nodes.PartitionItem:
    """One partition transform expression (also used by ALTER TABLE ... PARTITION FIELD)."""
    return _item(node)


def _item(node: exp.Expr) -> nodes.PartitionItem:
    with located(offset_of(node)):
        return _transform_item(node)


def _transform_item(node: exp.Expr) -> nodes.PartitionItem:
    offset = offset_of(node)
    if isinstance(node, exp.Column | exp.Identifier):
        return nodes.PartitionItem(node.name, IdentityTransform(), offset)
    if isinstance(node, exp.PartitionedByBucket):
        width = _width(node.expression)
        return nodes.PartitionItem(_column_name(node.this), BucketTransform(width), offset)
    if isinstance(node, exp.PartitionByTruncate):
        width = _width(node.expression)
        return nodes.PartitionItem(_column_name(node.this), TruncateTransform(width), offset)
    if isinstance(node, exp.Trunc):
        column, width = _column_and_width([node.this, node.args.get("decimals")])
        return nodes.PartitionItem(column, TruncateTransform(width), offset)
    name = node.name.lower() if isinstance(node, exp.Anonymous) else type(node).__name__.lower()
    arguments = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
    if name in _TEMPORAL and len(arguments) == 1:
        return nodes.PartitionItem(_column_name(arguments[0]), _TEMPORAL[name](), offset)
    if name in ("bucket", "truncate") and len(arguments) == 2:
        column, width = _column_and_width(arguments)
        transform: Transform = (  # type: ignore[type-arg]
            BucketTransform(width) if name == "bucket" else TruncateTransform(width)
        )
        return nodes.PartitionItem(column, transform, offset)
    raise ProgrammingError(
        f"unknown partition transform {node.sql('duckdb')}; use a column, year(c), month(c), "
        "day(c), hour(c), bucket(N, c) or truncate(W, c)",
        offset=offset,
    )


def partition_items(expressions: list[exp.Expr]) -> tuple[nodes.PartitionItem, ...]:
    return tuple(_item(e) for e in expressions)


def trino_partitioning(value: exp.Expr) -> tuple[nodes.PartitionItem, ...]:
    """``partitioning = ARRAY['day(ts)', 'bucket(id, 16)']`` (Trino's table property)."""
    if not isinstance(value, exp.Array):
        raise ProgrammingError("partitioning must be an ARRAY of strings", offset=offset_of(value))
    items = []
    for element in value.expressions:
        # Positions inside the string are not the statement's: point at the element.
        try:
            item = _item(sqlglot.parse_one(element.name, dialect="duckdb"))
        except (ProgrammingError, ParseError) as exc:
            message = exc.message if isinstance(exc, ProgrammingError) else "syntax error"
            raise ProgrammingError(message, offset=offset_of(element)) from None
        items.append(nodes.PartitionItem(item.source, item.transform, offset_of(element)))
    return tuple(items)
