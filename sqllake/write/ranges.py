"""Dates and timestamps a write can hold: finite, in the years 1 to 9999.

Iceberg stores dates as days and timestamps as micro- or nanoseconds, with no value for
DuckDB's ``infinity`` and ``-infinity``; and the column metrics and partition values of
a file are computed with Python's dates, which end at the years 1 and 9999. A write
checks every DATE, TIMESTAMP and TIMESTAMPTZ value (nested ones too) in the engine, so
a value outside is a DataError naming the column and row, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable

from pyiceberg.types import (
    DateType,
    IcebergType,
    ListType,
    MapType,
    StructType,
    TimestampNanoType,
    TimestampType,
    TimestamptzNanoType,
    TimestamptzType,
)

from sqllake.sql.text import quote_identifier

MARKER = "sqllake-out-of-range:"

# Temporal type -> the SQL test of a value outside what a write can hold.
_BOUNDS: dict[type[IcebergType], tuple[str, str]] = {
    DateType: ("DATE '0001-01-01'", "DATE '9999-12-31'"),
    TimestampType: ("TIMESTAMP '0001-01-01'", "TIMESTAMP '9999-12-31 23:59:59.999999'"),
    TimestamptzType: (
        "TIMESTAMPTZ '0001-01-01 00:00:00+00'",
        "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'",
    ),
}

# Nanosecond timestamps are finite from 1677 to 2262, within Python's years: only their
# infinities are refused (tested in microseconds, where the engine has isinf).
_MICROS: dict[type[IcebergType], str] = {
    TimestampNanoType: "TIMESTAMP",
    TimestamptzNanoType: "TIMESTAMPTZ",
}


def _primitive(value: str, itype: IcebergType) -> str | None:
    micros = _MICROS.get(type(itype))
    if micros is not None:
        return f"isinf(CAST({value} AS {micros}))"
    bounds = _BOUNDS.get(type(itype))
    if bounds is None:
        return None
    low, high = bounds
    return f"({value} < {low} OR {value} > {high})"


def _any_element(values: str, element: str) -> str:
    return f"coalesce(list_bool_or(list_transform({values}, lambda __e: {element})), false)"


def _struct(value: str, itype: IcebergType) -> str | None:
    assert isinstance(itype, StructType)
    tests = [
        found
        for field in itype.fields
        if (found := outside(f"{value}.{quote_identifier(field.name)}", field.field_type))
    ]
    return "(" + " OR ".join(f"coalesce({t}, false)" for t in tests) + ")" if tests else None


def _list(value: str, itype: IcebergType) -> str | None:
    assert isinstance(itype, ListType)
    element = outside("__e", itype.element_type)
    return _any_element(value, element) if element else None


def _map(value: str, itype: IcebergType) -> str | None:
    assert isinstance(itype, MapType)
    keys = outside("__e", itype.key_type)
    values = outside("__e", itype.value_type)
    tests = [
        _any_element(f"map_keys({value})", keys) if keys else None,
        _any_element(f"map_values({value})", values) if values else None,
    ]
    found = [t for t in tests if t]
    return "(" + " OR ".join(found) + ")" if found else None


_NESTED: dict[type[IcebergType], Callable[[str, IcebergType], str | None]] = {
    StructType: _struct,
    ListType: _list,
    MapType: _map,
}


def outside(value: str, itype: IcebergType) -> str | None:
    """SQL that is true when the value ``value`` of type ``itype`` holds a date or
    timestamp a write cannot hold; None for types that hold none."""
    nested = _NESTED.get(type(itype))
    if nested is not None:
        return nested(value, itype)
    return _primitive(value, itype)


def guarded(cast_sql: str, value: str, itype: IcebergType, field_id: int) -> str:
    """``cast_sql`` (a column's value) failing on a value outside, with a marker
    naming the column's field id."""
    test = outside(value, itype)
    if test is None:
        return cast_sql
    return f"CASE WHEN {test} THEN error('{MARKER}{field_id}') ELSE {cast_sql} END"


def message(value: object, column: str, table: str, row: int | None) -> str:
    """What the error says about a value outside."""
    where = f" (row {row})" if row is not None else ""
    text = str(value)
    infinite = "infinity" in text.lower()
    reason = (
        "Iceberg has no infinite dates or timestamps"
        if infinite
        else "sqllake writes dates and timestamps of the years 1 to 9999"
    )
    return f"value {text!r} in column {column} of table {table}{where} cannot be written: {reason}"
