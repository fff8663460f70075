"""The value a literal of ``INSERT ... VALUES`` has in its column, when that is certain.

The engine types a VALUES list itself (``1.5`` is a DECIMAL(2,1), a column of several
rows takes its rows' common type) and then casts each column to the table's type. The
direct path (:mod:`sqllake.write.direct`) skips the engine only where the outcome of
that is beyond doubt; any other literal is :data:`UNSURE` and the statement takes the
engine's path. ``tests/test_buffer.py`` checks each accepted form against the engine.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
)
from sqlglot import exp

from sqllake.types import is_utc


@dataclass(frozen=True)
class Literal:
    """A literal of the statement, before it meets its column's type."""

    text: str  # as sqlglot normalised it ('1_000' is '1000'); 'true'/'false' for booleans
    kind: str  # number, string, boolean, or the type of a typed literal (DATE '...')
    negative: bool
    single_row: bool  # the only row of its VALUES list, so typed on its own


UNSURE = object()  # a literal whose value in the column's type is not certain

# Typed literals (TIMESTAMPTZ '...', also spelled CAST('...' AS TIMESTAMPTZ)) taken.
_TYPED = {
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "timestamp",
    exp.DataType.Type.TIMESTAMPNTZ: "timestamp",
    exp.DataType.Type.TIMESTAMPTZ: "timestamptz",
}


def literal(item: exp.Expr, single_row: bool) -> Literal | None:
    """The literal ``item`` is (a number possibly negated), or None."""
    negative = isinstance(item, exp.Neg)
    inner = item.this if negative else item
    if isinstance(inner, exp.Literal) and not (negative and inner.is_string):
        kind = "string" if inner.is_string else "number"
        return Literal(str(inner.this), kind, negative, single_row)
    if negative:
        return None
    if isinstance(inner, exp.Boolean):
        return Literal("true" if inner.this else "false", "boolean", False, single_row)
    if type(inner) is exp.Cast and isinstance(inner.this, exp.Literal) and inner.this.is_string:
        typed = _TYPED.get(inner.to.this)
        if typed is not None and not inner.to.expressions:
            return Literal(str(inner.this.this), typed, False, single_row)
    return None


_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")


def _number(value: Literal, digits: int) -> str | None:
    """The literal's text with its sign if it is a plain number of at most ``digits``."""
    text = value.text
    if value.kind != "number" or not _NUMBER.fullmatch(text):
        return None
    if len(text.replace(".", "")) > digits:
        return None
    return "-" + text if value.negative else text


# Integer and decimal literals up to 18 digits are INTEGER, BIGINT or DECIMAL(<=18, s)
# to the engine, and a VALUES column of several such rows stays exact (their common
# type fits DECIMAL(38)). Longer ones may become HUGEINT or DOUBLE first.
def _integer(value: Literal) -> Any:
    text = _number(value, 18)
    return int(text) if text is not None and "." not in text else UNSURE


def _decimal(value: Literal) -> Any:
    text = _number(value, 18)
    return Decimal(text) if text is not None else UNSURE


def _double(value: Literal) -> Any:
    # A decimal literal of up to 15 digits is cast by one exact division, rounded once,
    # as float() rounds its text; beside rows that widen the column's decimal type the
    # cast may round twice. Negating zero gives 0, not -0.0, in the engine: hence + 0.0.
    text = _number(value, 15) if value.single_row else None
    return float(text) + 0.0 if text is not None else UNSURE


def _string(value: Literal) -> Any:
    return value.text if value.kind == "string" else UNSURE


def _boolean(value: Literal) -> Any:
    return value.text == "true" if value.kind == "boolean" else UNSURE


# Dates and times in the one ISO form both the engine and Python read alike.
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"(?:[ T]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)?"
_OFFSET = r"(?:Z|[+-]\d{2}(?::\d{2})?)"
_DATE_TEXT = re.compile(_DATE)
_TIMESTAMP_TEXT = re.compile(_DATE + _TIME)
_TIMESTAMPTZ_TEXT = re.compile(_DATE + _TIME + _OFFSET + "?")


def _date(value: Literal) -> Any:
    if value.kind not in ("string", "date") or not _DATE_TEXT.fullmatch(value.text):
        return UNSURE
    try:
        return datetime.date.fromisoformat(value.text)
    except ValueError:
        return UNSURE  # no such day: the engine says so


def _timestamp(value: Literal) -> Any:
    if value.kind not in ("string", "timestamp") or not _TIMESTAMP_TEXT.fullmatch(value.text):
        return UNSURE
    try:
        return datetime.datetime.fromisoformat(value.text)
    except ValueError:
        return UNSURE


def _timestamptz(value: Literal, utc: bool = True) -> Any:
    # An offset in a TIMESTAMP literal is the engine's to interpret, not ours.
    pattern = _TIMESTAMP_TEXT if value.kind == "timestamp" else _TIMESTAMPTZ_TEXT
    if value.kind not in ("string", "timestamp", "timestamptz") or not pattern.fullmatch(
        value.text
    ):
        return UNSURE
    try:
        parsed = datetime.datetime.fromisoformat(value.text)
    except ValueError:
        return UNSURE
    if parsed.tzinfo is not None:
        return parsed
    # Text without an offset is a time in the session's time zone: outside UTC the
    # engine converts it (daylight saving gaps and folds as it reads them).
    return parsed.replace(tzinfo=datetime.UTC) if utc else UNSURE


# Column type -> the value a literal certainly has there, or UNSURE. Types missing here
# (FLOAT, TIME, UUID, BINARY...) take their literals through the engine's casts.
_CONVERSIONS: dict[type[IcebergType], Callable[[Literal], Any]] = {
    BooleanType: _boolean,
    IntegerType: _integer,
    LongType: _integer,
    DoubleType: _double,
    DecimalType: _decimal,
    StringType: _string,
    DateType: _date,
    TimestampType: _timestamp,
    TimestamptzType: _timestamptz,
}


def values_in(
    column: type[IcebergType], values: list[Any], time_zone: str = "UTC"
) -> list[Any] | None:
    """``values`` with their literals converted to ``column``'s type, or None when one
    is unsure, or when literals of different kinds or parameters share the column (the
    engine then types the column by rules of its own). ``time_zone`` is the session's."""
    kinds = {v.kind if isinstance(v, Literal) else None for v in values if v is not None}
    if not kinds - {None}:
        return values
    convert = _CONVERSIONS.get(column)
    if column is TimestamptzType and not is_utc(time_zone):
        convert = functools.partial(_timestamptz, utc=False)
    if convert is None or len(kinds) > 1:
        return None
    converted = [convert(v) if isinstance(v, Literal) else v for v in values]
    return None if any(v is UNSURE for v in converted) else converted
