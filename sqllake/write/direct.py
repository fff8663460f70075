"""``INSERT ... VALUES`` of parameters and plain literals without the engine.

The common small write (one row, as DB-API code and the insert benchmark send) spends
most of its time starting a query. When every value is a parameter, NULL or a literal,
every Python value has the column's own kind (an ``int`` for BIGINT, a timezone-aware
``datetime`` for TIMESTAMPTZ...) and every literal has one certain value in its column's
type (see :data:`_LITERALS`), the rows are built in Arrow directly. Anything else, or any
value Arrow would have to coerce or could overflow, returns None and the statement takes
the engine's path, whose CAST rules and error messages then apply unchanged.
"""

from __future__ import annotations

import datetime
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
from pyiceberg.schema import Schema
from pyiceberg.table import Table
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

from sqllake.types import arrow_schema
from sqllake.write.literals import UNSURE, literal, values_in
from sqllake.write.rows import conform, not_null_error

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


def _value(item: exp.Expr, params: Any, single_row: bool) -> Any:
    """A VALUES item as a parameter's Python value, None, a Literal, or UNSURE."""
    if isinstance(item, exp.Placeholder):
        return next(params)
    if isinstance(item, exp.Null):
        return None
    found = literal(item, single_row)
    return UNSURE if found is None else found


def _column(
    values: list[Any], field: NestedField, arrow_type: pa.DataType, time_zone: str
) -> pa.Array | None:
    kind = type(field.field_type)
    converted = values_in(kind, values, time_zone)
    natural = _NATURAL.get(kind)
    if converted is None or natural is None or not all(v is None or natural(v) for v in converted):
        return None
    if isinstance(arrow_type, pa.UuidType):
        storage = pa.array([None if v is None else v.bytes for v in converted], pa.binary(16))
        return pa.ExtensionArray.from_storage(arrow_type, storage)
    try:
        return pa.array(converted, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None  # out of range or losing digits: the engine reports it properly


# Arrow schemas by Iceberg schema object: a loaded table keeps its schema object until
# its metadata changes, and converting it costs as much as the rest of a one-row write.
# Entries hold their schema, so an id is not reused while it is a key here.
_ARROW_SCHEMAS: OrderedDict[int, tuple[Schema, pa.Schema]] = OrderedDict()
_ARROW_SCHEMAS_KEPT = 64


def _arrow_schema(schema: Schema) -> pa.Schema:
    found = _ARROW_SCHEMAS.get(id(schema))
    if found is not None and found[0] is schema:
        _ARROW_SCHEMAS.move_to_end(id(schema))
        return found[1]
    converted = arrow_schema(schema)
    _ARROW_SCHEMAS[id(schema)] = (schema, converted)
    if len(_ARROW_SCHEMAS) > _ARROW_SCHEMAS_KEPT:
        _ARROW_SCHEMAS.popitem(last=False)
    return converted


def direct_rows(
    source: exp.Expr,
    table: Table,
    table_name: str,
    targets: list[NestedField],
    params: Sequence[Any],
    time_zone: str = "UTC",
) -> pa.RecordBatch | None:
    """The rows of a VALUES list of parameters, NULLs and literals as a batch in the
    table's Arrow schema, NOT NULL checked; or None for the engine's path. Text without
    an offset for a TIMESTAMPTZ column is a time in ``time_zone`` (the session's).

    Raises :class:`IntegrityError` for a NULL in a NOT NULL column, as the writers do.
    """
    if not isinstance(source, exp.Values):
        return None
    if len(source.expressions) > 1 and not table.sort_order().is_unsorted:
        return None  # the engine's path sorts a statement's rows by the write order
    rows: list[list[Any]] = []
    values = iter(params)
    single_row = len(source.expressions) == 1
    for row in source.expressions:
        items = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(items) != len(targets):
            return None
        rows.append([_value(item, values, single_row) for item in items])
        if any(v is UNSURE for v in rows[-1]):
            return None
    schema = table.schema()
    arrow = _arrow_schema(schema)
    position = {field.field_id: i for i, field in enumerate(targets)}
    columns = []
    for field, arrow_field in zip(schema.fields, arrow, strict=True):
        i = position.get(field.field_id)
        if i is None:
            if field.write_default is not None:
                return None  # the engine's path writes the column's default
            columns.append(pa.nulls(len(rows), arrow_field.type))
            continue
        column = _column([row[i] for row in rows], field, arrow_field.type, time_zone)
        if column is None:
            return None
        columns.append(column)
    batch = pa.RecordBatch.from_arrays(columns, schema=arrow)
    if any(pa.types.is_nested(f.type) for f in arrow):
        return conform(batch, arrow, table_name, 1)  # NOT NULL inside structs, placeholders
    for column, arrow_field in zip(columns, arrow, strict=True):
        if not arrow_field.nullable and column.null_count:
            first = column.is_valid().to_pylist().index(False) + 1
            raise not_null_error(arrow_field.name, table_name, first)
    return batch
