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
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.conversions import to_json
from pyiceberg.expressions.literals import literal
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema, index_by_id
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    GeographyType,
    GeometryType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    PrimitiveType,
    StringType,
    StructType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
    TimeType,
    UnknownType,
    UUIDType,
)
from sqlglot import exp
from sqlglot.expressions.datatypes import DType

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.sql.text import cast_literal, quote_identifier, quote_string

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
    # Lossless widenings: the value is kept exactly, the Iceberg type is wider.
    DType.UINT128: DecimalType(38, 0),  # beyond 38 digits a value is a DataError
    DType.INT128: DecimalType(38, 0),
    DType.UBIGINT: DecimalType(20, 0),
    DType.BIGNUM: DecimalType(38, 0),
    DType.TIMESTAMP_S: TimestampType(),
    DType.TIMESTAMP_MS: TimestampType(),
    DType.ENUM: StringType(),  # the labels, as text
    DType.JSON: StringType(),
    # Format version 3.
    DType.TIMESTAMP_NS: TimestampNanoType(),
}

# DuckDB type names sqlglot does not know (it keeps them as user-defined names).
_NAMED_TYPES: dict[str, IcebergType] = {
    "TIMESTAMPTZ_NS": TimestamptzNanoType(),
    "TIMESTAMP_TZ_NS": TimestamptzNanoType(),
    "VARINT": DecimalType(38, 0),
}

# DuckDB types with no Iceberg type: why, in the error that refuses them.
_NO_ICEBERG_TYPE: dict[DType, str] = {
    DType.INTERVAL: "Iceberg has no interval type (store its parts, or its text)",
    DType.TIMETZ: "Iceberg times have no time zone",
    DType.TIME_NS: "Iceberg times hold microseconds",
    DType.BIT: "Iceberg has no bit strings (store them as BLOB or VARCHAR)",
    DType.UNION: "Iceberg has no union type",
    DType.VARIANT: "Iceberg's format 3 variant type cannot be written through PyIceberg 0.12",
    DType.GEOMETRY: "sqllake cannot write Iceberg's format 3 geometry values yet",
    DType.GEOGRAPHY: "sqllake cannot write Iceberg's format 3 geography values yet",
    DType.NULL: "a column of NULLs has no type; cast it (NULL::VARCHAR)",
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
    TimestampNanoType: "TIMESTAMP_NS",
    TimestamptzNanoType: "TIMESTAMPTZ_NS",
    UnknownType: '"NULL"',  # format 3: a column that is always NULL
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
        if not dtype.expressions:
            raise NotSupportedError(f"{where}: a STRUCT without fields cannot be stored in Parquet")
        return StructType(*(_struct_field(f, ids, where) for f in dtype.expressions))
    if kind in _SQL_TO_ICEBERG:
        return _SQL_TO_ICEBERG[kind]
    if kind == DType.USERDEFINED:
        return _named_type(dtype, ids, where)
    spelled = _DUCKDB_NAMES.get(kind, dtype.sql("duckdb"))
    reason = _NO_ICEBERG_TYPE.get(kind)
    raise NotSupportedError(
        f"{where}: type {spelled} has no Iceberg equivalent"
        + (f": {reason}" if reason else "; see the table of types in the README")
    )


def _named_type(dtype: exp.DataType, ids: Iterator[int], where: str) -> IcebergType:
    """A type sqlglot keeps as a name (``TIMESTAMPTZ_NS``, also as ``TIMESTAMPTZ_NS[]``)."""
    name = str(dtype.args.get("kind") or "").upper()
    if name.endswith("]"):  # a list of a named type: its element type before [] or [N]
        element = parse_sql_type(name[: name.rindex("[")])
        return ListType(next(ids), iceberg_type(element, ids, where), element_required=False)
    found = _NAMED_TYPES.get(name)
    if found is None:
        reason = _NO_ICEBERG_TYPE[DType.NULL] if name.strip('"') == "NULL" else ""
        raise NotSupportedError(
            f"{where}: type {name} has no Iceberg equivalent" + (f": {reason}" if reason else "")
        )
    return found


def _struct_field(field: exp.Expr, ids: Iterator[int], where: str) -> NestedField:
    if not isinstance(field, exp.ColumnDef) or not isinstance(field.args.get("kind"), exp.DataType):
        raise NotSupportedError(f"{where}: STRUCT fields need a name and a type")
    name = field.name
    field_type = iceberg_type(field.args["kind"], ids, f"{where}.{name}")
    required = any(
        isinstance(c.args.get("kind"), exp.NotNullColumnConstraint) for c in field.constraints
    )
    return NestedField(next(ids), name, field_type, required=required)


# Types whose defaults PyIceberg 0.12 cannot store or write back correctly (it keeps a
# UUID as bytes its JSON writer spells wrongly, has no JSON form for nanosecond
# timestamps or geometries), and nested types, whose defaults Iceberg restricts.
_NO_DEFAULTS = (
    UUIDType,
    TimestampNanoType,
    TimestamptzNanoType,
    UnknownType,
    GeometryType,
    GeographyType,
    StructType,
    ListType,
    MapType,
)


def default_value(value: Any, itype: IcebergType, where: str) -> Any:
    """A column default, as the engine evaluated it in the column's type, in the form
    Iceberg metadata holds it (days for a date, microseconds for a timestamp...)."""
    if isinstance(itype, _NO_DEFAULTS):
        raise NotSupportedError(
            f"{where}: a DEFAULT for a {duckdb_type(itype)} column is not supported "
            "(PyIceberg cannot store one)"
        )
    if value is None:
        return None
    if isinstance(itype, DecimalType) and isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-itype.scale))
    assert isinstance(itype, PrimitiveType)
    converted = literal(value).to(itype).value
    to_json(itype, converted)  # a value its JSON form cannot hold raises here
    return converted


def default_text(value: Any, itype: IcebergType) -> str:
    """A default as Iceberg holds it, as the text DuckDB casts to the column's type."""
    assert isinstance(itype, PrimitiveType)
    found = to_json(itype, value)
    if isinstance(itype, BinaryType | FixedType):
        return "".join(f"\\x{byte:02X}" for byte in bytes.fromhex(str(found)))
    if isinstance(found, bool):
        return str(found).lower()
    return str(found)


def default_sql(value: Any, itype: IcebergType) -> str:
    """A default as a SQL expression of the column's type (NULL for none)."""
    if value is None:
        return f"CAST(NULL AS {duckdb_type(itype)})"
    return cast_literal(default_text(value, itype), duckdb_type(itype))


# Types whose literals read as their JSON text (a number, TRUE): the rest are cast text.
_PLAIN_LITERALS = (BooleanType, IntegerType, LongType, DoubleType, DecimalType)


def default_literal(value: Any, itype: IcebergType) -> str:
    """A default as SQL to show (SHOW CREATE TABLE, PRAGMA table_info): ``42``, ``'new'``,
    ``DATE '2024-01-01'``; it reads back as the same value in the column's type."""
    text = default_text(value, itype)
    if isinstance(itype, _PLAIN_LITERALS) and text not in ("nan", "inf", "-inf"):
        return text.upper() if isinstance(itype, BooleanType) else text
    if isinstance(itype, StringType):
        return quote_string(text)
    return f"{duckdb_type(itype)} {quote_string(text)}"


def default_array(value: Any, itype: IcebergType, kind: pa.DataType, count: int) -> pa.Array:
    """``count`` copies of a default (or NULLs) as an Arrow array of ``kind``."""
    if value is None:
        return pa.nulls(count, kind)
    return pa.array([value] * count, kind)


def v3_feature(schema: Schema) -> str | None:
    """What in ``schema`` only Iceberg format version 3 can carry (a column default, a
    nanosecond timestamp...), said for an error message; None if nothing."""
    for field_id, field in index_by_id(schema).items():
        name = schema.find_column_name(field_id) or field.name
        if field.initial_default is not None or field.write_default is not None:
            return f"the DEFAULT of column {name}"
        if field.field_type.minimum_format_version() >= 3:
            return f"column {name} of type {duckdb_type(field.field_type)}"
    return None


def _nested(fields: Iterable[NestedField]) -> Iterator[NestedField]:
    """Every field of ``fields`` and of their nested types, depth first."""
    for field in fields:
        yield field
        kind = field.field_type
        if isinstance(kind, StructType):
            yield from _nested(kind.fields)
        elif isinstance(kind, ListType):
            yield from _nested((kind.element_field,))
        elif isinstance(kind, MapType):
            yield from _nested((kind.key_field, kind.value_field))


def unwritable(schema: Schema) -> str | None:
    """A column of a type sqllake reads but cannot write (format 3's ``unknown``, which
    Iceberg keeps out of data files), said for an error message; None if none. Asked on
    every INSERT: walks the fields instead of building PyIceberg's index of them."""
    for field in _nested(schema.fields):
        if isinstance(field.field_type, UnknownType):
            return f"column {schema.find_column_name(field.field_id) or field.name} of type unknown"
    return None


def check_identifier_field(field: NestedField, name: str) -> None:
    """Iceberg's rules for identifier fields (PRIMARY KEY columns)."""
    if not field.required:
        raise ProgrammingError(f"identifier field {name} must be NOT NULL")
    if not isinstance(field.field_type, PrimitiveType) or isinstance(
        field.field_type, FloatType | DoubleType
    ):
        raise ProgrammingError(
            f"identifier field {name} cannot be of type {duckdb_type(field.field_type)}: "
            "Iceberg keys are primitive types other than REAL and DOUBLE"
        )


def parse_sql_type(text: str) -> exp.DataType:
    """Parse a DuckDB type string (as DuckDB reports result types); names sqlglot does
    not know (``TIMESTAMPTZ_NS``) are kept as user-defined types."""
    return exp.DataType.build(text, dialect="duckdb", udt=True)


def duckdb_type(itype: IcebergType, *, declared: bool = False) -> str:
    """The DuckDB type that reads an Iceberg type. ``declared``: as CREATE TABLE declares
    it, with NOT NULL on required struct fields (DuckDB types carry no nullability)."""
    if isinstance(itype, DecimalType):
        return f"DECIMAL({itype.precision},{itype.scale})"
    if isinstance(itype, ListType):
        return f"{duckdb_type(itype.element_type, declared=declared)}[]"
    if isinstance(itype, MapType):
        key = duckdb_type(itype.key_type, declared=declared)
        return f"MAP({key}, {duckdb_type(itype.value_type, declared=declared)})"
    if isinstance(itype, StructType):
        inner = ", ".join(
            f"{quote_identifier(f.name)} {duckdb_type(f.field_type, declared=declared)}"
            + (" NOT NULL" if declared and f.required else "")
            for f in itype.fields
        )
        return f"STRUCT({inner})"
    found = _ICEBERG_TO_DUCKDB.get(type(itype))
    if found is None:
        raise NotSupportedError(
            f"Iceberg type {itype} (written by another engine) cannot be read by sqllake yet"
        )
    return found


_EPOCH = datetime.datetime(1970, 1, 1)


def _nanos_text(nanos: int) -> str:
    seconds, rest = divmod(nanos, 1_000_000_000)
    moment = _EPOCH + datetime.timedelta(seconds=seconds)
    return f"{moment.isoformat(sep=' ')}.{rest:09d}"


# How Iceberg stores a partition value of each type -> SQL text DuckDB casts from.
_LITERAL_TEXT: dict[type[IcebergType], Callable[[Any], str]] = {
    DateType: lambda days: (_EPOCH + datetime.timedelta(days=days)).date().isoformat(),
    TimeType: lambda micros: (_EPOCH + datetime.timedelta(microseconds=micros)).time().isoformat(),
    TimestampType: lambda micros: (_EPOCH + datetime.timedelta(microseconds=micros)).isoformat(),
    TimestamptzType: lambda micros: (
        (_EPOCH + datetime.timedelta(microseconds=micros)).isoformat() + "+00:00"
    ),
    TimestampNanoType: lambda nanos: _nanos_text(nanos),
    TimestamptzNanoType: lambda nanos: _nanos_text(nanos) + "+00:00",
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
    return cast_literal(text, duckdb_type(itype))


# Time zone names that are UTC itself (the session's TimeZone is one unless SET).
_UTC_NAMES = frozenset({"utc", "etc/utc", "gmt", "etc/gmt", "uct", "etc/uct", "zulu", "z"})


def is_utc(time_zone: str) -> bool:
    """Whether a time zone name is UTC: text without an offset is then a UTC time."""
    return time_zone.lower() in _UTC_NAMES


def arrow_schema(schema: Schema) -> pa.Schema:
    """The Arrow schema of an Iceberg schema, field ids included (``PARQUET:field_id``)."""
    return schema_to_pyarrow(schema, include_field_ids=True)


def _uuid_strings_to_bytes(array: pa.Array) -> pa.Array:
    values = [None if v is None else uuid.UUID(v).bytes for v in array.to_pylist()]
    return pa.array(values, pa.binary(16))


def _relaxed(kind: pa.DataType) -> pa.DataType:
    """``kind`` with every nested field nullable (same memory layout)."""
    if isinstance(kind, pa.StructType):
        return pa.struct([f.with_type(_relaxed(f.type)).with_nullable(True) for f in kind])
    if isinstance(kind, pa.LargeListType | pa.ListType) and not isinstance(kind, pa.MapType):
        element = kind.value_field
        relaxed = element.with_type(_relaxed(element.type)).with_nullable(True)
        return pa.large_list(relaxed) if isinstance(kind, pa.LargeListType) else pa.list_(relaxed)
    return kind


def cast_array(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast a column DuckDB produced to the Arrow type of its Iceberg column.

    Arrow refuses a cast into a NOT NULL struct field when a NULL struct holds a NULL
    there, which is legal; the cast goes to the same type with nullable fields and the
    result is viewed as the target (NOT NULL is checked by the writer, where it applies).
    """
    if isinstance(target, pa.UuidType) and not isinstance(array.type, pa.UuidType):
        # DuckDB hands UUIDs to Arrow as strings; Iceberg stores 16 bytes.
        storage = _uuid_strings_to_bytes(array)
        return pa.ExtensionArray.from_storage(target, storage)
    relaxed = _relaxed(target)
    if relaxed == target:
        return array.cast(target)
    return array.cast(relaxed)


def _zero(kind: pa.DataType) -> pa.Scalar:
    """A placeholder value of a primitive type, for fields inside NULL structs."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pa.scalar("", kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.scalar(b"", kind)
    if pa.types.is_fixed_size_binary(kind):
        return pa.scalar(b"\0" * kind.byte_width, kind)
    if pa.types.is_boolean(kind):
        return pa.scalar(False, kind)
    return pa.scalar(0, pa.int64()).cast(kind)  # numbers, decimals, dates and times


def tighten(array: pa.Array, target: pa.DataType) -> pa.Array:
    """An array cast with :func:`cast_array` in the target's exact type.

    NOT NULL fields of a struct that is itself NULL get a placeholder value (Parquet
    and Arrow reject NULLs there, and no reader looks at them); call this after the
    NOT NULL checks.
    """
    if array.type == target or not isinstance(target, pa.StructType):
        return array
    present = pc.is_valid(array)
    children = []
    for i, field in enumerate(target):
        child = tighten(array.field(i), field.type)
        if not field.nullable and child.null_count:
            if isinstance(field.type, pa.StructType | pa.ListType | pa.LargeListType | pa.MapType):
                raise NotSupportedError(f"a NOT NULL nested {field.type} inside a NULL struct")
            child = pc.if_else(present, child, _zero(field.type))
        children.append(child)
    return pa.StructArray.from_arrays(children, fields=list(target), mask=pc.invert(present))
