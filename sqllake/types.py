"""The one table of types: SQL (sqlglot) <-> Iceberg <-> DuckDB <-> Arrow.

Iceberg types are the source of truth for a table. SQL type names are read with
sqlglot (so ``INT``, ``INTEGER``, ``INT4`` and ``STRING``/``VARCHAR`` all land on one
type), DuckDB type strings are what the read path hands to DuckDB, and Arrow types come
from PyIceberg's own conversion so files match what other writers produce.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)
from sqlglot import exp
from sqlglot.expressions.datatypes import DType

from sqllake.errors import NotSupportedError

# SQL primitive types (as sqlglot's DuckDB dialect names them) -> Iceberg primitives.
_SQL_TO_ICEBERG: dict[DType, IcebergType] = {
    DType.BOOLEAN: BooleanType(),
    DType.TINYINT: IntegerType(),
    DType.SMALLINT: IntegerType(),
    DType.INT: IntegerType(),
    DType.UTINYINT: IntegerType(),
    DType.USMALLINT: IntegerType(),
    DType.BIGINT: LongType(),
    DType.UINT: LongType(),
    DType.FLOAT: FloatType(),
    DType.DOUBLE: DoubleType(),
    DType.DATE: DateType(),
    DType.TIME: TimeType(),
    DType.TIMESTAMP: TimestampType(),
    DType.TIMESTAMPNTZ: TimestampType(),
    DType.DATETIME: TimestampType(),
    DType.TIMESTAMPTZ: TimestamptzType(),
    DType.TEXT: StringType(),
    DType.VARCHAR: StringType(),
    DType.CHAR: StringType(),
    DType.NVARCHAR: StringType(),
    DType.NCHAR: StringType(),
    DType.UUID: UUIDType(),
    DType.VARBINARY: BinaryType(),
    DType.BINARY: BinaryType(),
    DType.BLOB: BinaryType(),
}

# Iceberg primitives -> DuckDB type names (also sqllake's own spelling in DESCRIBE).
_ICEBERG_TO_DUCKDB: dict[type[IcebergType], str] = {
    BooleanType: "BOOLEAN",
    IntegerType: "INTEGER",
    LongType: "BIGINT",
    FloatType: "FLOAT",
    DoubleType: "DOUBLE",
    DateType: "DATE",
    TimeType: "TIME",
    TimestampType: "TIMESTAMP",
    TimestamptzType: "TIMESTAMPTZ",
    StringType: "VARCHAR",
    UUIDType: "UUID",
    BinaryType: "BLOB",
    FixedType: "BLOB",
}

# sqlglot's names for DuckDB types that have no Iceberg type, as DuckDB users know them.
_DUCKDB_NAMES = {
    DType.INT128: "HUGEINT",
    DType.UINT128: "UHUGEINT",
    DType.UBIGINT: "UBIGINT",
}

_DECIMAL_DEFAULT = (18, 3)  # DuckDB's DECIMAL without arguments


def field_ids() -> Iterator[int]:
    """Provisional field ids; the catalog assigns the final ones when a table is created."""
    return itertools.count(1)


def _param_ints(dtype: exp.DataType) -> list[int]:
    values = []
    for param in dtype.expressions:
        inner = param.this if isinstance(param, exp.DataTypeParam) else param
        values.append(int(inner.name))
    return values


def iceberg_type(dtype: exp.DataType, ids: Iterator[int], where: str) -> IcebergType:
    """The Iceberg type of a SQL type; ``ids`` hands out (provisional) field ids."""
    kind = dtype.this
    if kind == DType.DECIMAL:
        precision, scale = (_param_ints(dtype) + list(_DECIMAL_DEFAULT))[:2]
        if len(_param_ints(dtype)) == 1:
            scale = 0
        if not 1 <= precision <= 38 or not 0 <= scale <= precision:
            raise NotSupportedError(f"{where}: DECIMAL({precision},{scale}) is out of range")
        return DecimalType(precision, scale)
    if kind in (DType.ARRAY, DType.LIST):
        element = iceberg_type(dtype.expressions[0], ids, where)
        return ListType(next(ids), element, element_required=False)
    if kind == DType.MAP:
        key_type, value_type = (iceberg_type(e, ids, where) for e in dtype.expressions[:2])
        return MapType(next(ids), key_type, next(ids), value_type, value_required=False)
    if kind == DType.STRUCT:
        return StructType(*(_struct_field(f, ids, where) for f in dtype.expressions))
    if kind in _SQL_TO_ICEBERG:
        return _SQL_TO_ICEBERG[kind]
    spelled = _DUCKDB_NAMES.get(kind, dtype.sql("duckdb"))
    raise NotSupportedError(
        f"{where}: type {spelled} has no Iceberg equivalent; use one of "
        "BOOLEAN, INT, BIGINT, REAL, DOUBLE, DECIMAL(p,s), DATE, TIME, TIMESTAMP, "
        "TIMESTAMPTZ, VARCHAR, UUID, BLOB, STRUCT, LIST, MAP"
    )


def _struct_field(field: exp.Expr, ids: Iterator[int], where: str) -> NestedField:
    if not isinstance(field, exp.ColumnDef) or not isinstance(field.args.get("kind"), exp.DataType):
        raise NotSupportedError(f"{where}: STRUCT fields need a name and a type")
    name = field.name
    field_type = iceberg_type(field.args["kind"], ids, f"{where}.{name}")
    return NestedField(next(ids), name, field_type, required=False)


def parse_sql_type(text: str) -> exp.DataType:
    """Parse a DuckDB type string (as DuckDB reports result types)."""
    return exp.DataType.build(text, dialect="duckdb")


def duckdb_type(itype: IcebergType) -> str:
    """The DuckDB type that reads an Iceberg type."""
    if isinstance(itype, DecimalType):
        return f"DECIMAL({itype.precision},{itype.scale})"
    if isinstance(itype, ListType):
        return f"{duckdb_type(itype.element_type)}[]"
    if isinstance(itype, MapType):
        return f"MAP({duckdb_type(itype.key_type)}, {duckdb_type(itype.value_type)})"
    if isinstance(itype, StructType):
        inner = ", ".join(
            f"{quote_ident(f.name)} {duckdb_type(f.field_type)}" for f in itype.fields
        )
        return f"STRUCT({inner})"
    return _ICEBERG_TO_DUCKDB[type(itype)]


_EPOCH = datetime.datetime(1970, 1, 1)


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# How Iceberg stores a partition value of each type -> SQL text DuckDB casts from.
_LITERAL_TEXT: dict[type[IcebergType], Callable[[Any], str]] = {
    DateType: lambda days: (_EPOCH + datetime.timedelta(days=days)).date().isoformat(),
    TimeType: lambda micros: (_EPOCH + datetime.timedelta(microseconds=micros)).time().isoformat(),
    TimestampType: lambda micros: (_EPOCH + datetime.timedelta(microseconds=micros)).isoformat(),
    TimestamptzType: lambda micros: (
        (_EPOCH + datetime.timedelta(microseconds=micros)).isoformat() + "+00:00"
    ),
    BinaryType: lambda raw: "\\x" + bytes(raw).hex(),
    UUIDType: lambda value: str(uuid.UUID(bytes=value) if isinstance(value, bytes) else value),
}


def sql_literal(value: Any, itype: IcebergType) -> str:
    """A DuckDB literal of an Iceberg value as manifests hold it (dates as days, ...)."""
    if value is None:
        return f"CAST(NULL AS {duckdb_type(itype)})"
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        text = value.isoformat()
    else:
        to_text = _LITERAL_TEXT.get(type(itype))
        text = to_text(value) if to_text else str(value)
    return f"CAST({_string(text)} AS {duckdb_type(itype)})"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of an Iceberg schema, field ids included (``PARQUET:field_id``)."""
    return schema_to_pyarrow(schema, include_field_ids=True)


def _uuid_strings_to_bytes(array: pa.Array) -> pa.Array:
    values = [None if v is None else uuid.UUID(v).bytes for v in array.to_pylist()]
    return pa.array(values, pa.binary(16))


def cast_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast a column DuckDB produced to the Arrow type of its Iceberg column."""
    if isinstance(target, pa.UuidType) and not isinstance(array.type, pa.UuidType):
        # DuckDB hands UUIDs to Arrow as strings; Iceberg stores 16 bytes.
        storage = _uuid_strings_to_bytes(array)
        return pa.ExtensionArray.from_storage(target, storage)
    return array.cast(target)
