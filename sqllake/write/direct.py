"""``INSERT ... VALUES (?, ?, ...)`` without the engine: parameters straight into Arrow.

The common small write (one row of bound parameters, as DB-API code and the
insert benchmark send) spends most of its time starting a query. When every value is
a parameter or NULL and every Python value has the column's own kind (an ``int`` for
BIGINT, a timezone-aware ``datetime`` for TIMESTAMPTZ...), the rows are built in Arrow
directly. Anything else, or any value Arrow would have to coerce or could overflow,
returns None and the statement takes the engine's path, whose CAST rules and error
messages then apply unchanged.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)
from sqlglot import exp

_FLOAT_MAX = 3.4028234663852886e38


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_date(v: Any) -> bool:
    return isinstance(v, datetime.date) and not isinstance(v, datetime.datetime)


# Column type -> whether a Python value is of that kind without any conversion.
_NATURAL: dict[type[IcebergType], Callable[[Any], bool]] = {
    BooleanType: lambda v: isinstance(v, bool),
    IntegerType: _is_int,
    LongType: _is_int,
    FloatType: lambda v: isinstance(v, float) and abs(v) <= _FLOAT_MAX,
    DoubleType: lambda v: isinstance(v, float),
    DecimalType: lambda v: isinstance(v, Decimal) and v.is_finite(),
    StringType: lambda v: isinstance(v, str),
    BinaryType: lambda v: isinstance(v, bytes),
    DateType: _is_date,
    TimeType: lambda v: isinstance(v, datetime.time) and v.tzinfo is None,
    TimestampType: lambda v: isinstance(v, datetime.datetime) and v.tzinfo is None,
    TimestamptzType: lambda v: isinstance(v, datetime.datetime) and v.tzinfo is not None,
    UUIDType: lambda v: isinstance(v, uuid.UUID),
}


def _column(values: list[Any], field: NestedField, arrow_type: pa.DataType) -> pa.Array | None:
    natural = _NATURAL.get(type(field.field_type))
    if natural is None or not all(v is None or natural(v) for v in values):
        return None
    if isinstance(arrow_type, pa.UuidType):
        storage = pa.array([None if v is None else v.bytes for v in values], pa.binary(16))
        return pa.ExtensionArray.from_storage(arrow_type, storage)
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None  # out of range or losing digits: the engine reports it properly


def direct_rows(
    source: exp.Expr,
    targets: list[NestedField],
    fields: list[NestedField],
    schema: pa.Schema,
    params: Sequence[Any],
) -> pa.RecordBatch | None:
    """The rows of a VALUES list of parameters as a batch in ``schema``, or None."""
    if not isinstance(source, exp.Values):
        return None
    rows: list[list[Any]] = []
    values = iter(params)
    for row in source.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != len(targets):
            return None
        if not all(isinstance(item, exp.Placeholder | exp.Null) for item in items):
            return None
        rows.append([None if isinstance(item, exp.Null) else next(values) for item in items])
    position = {field.field_id: i for i, field in enumerate(targets)}
    columns = []
    for field, arrow_field in zip(fields, schema, strict=True):
        i = position.get(field.field_id)
        if i is None:
            columns.append(pa.nulls(len(rows), arrow_field.type))
            continue
        column = _column([row[i] for row in rows], field, arrow_field.type)
        if column is None:
            return None
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)
