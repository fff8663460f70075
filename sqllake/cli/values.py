"""How one Arrow value (as Python gives it back) is shown: as text, or as a JSON value.

Choices, made once here for every output format:

- NULL is ``None`` here; the text formats decide how to show it (see :mod:`.render`).
- Dates, times and timestamps are ISO 8601 (``2024-01-02 10:00:00+00:00`` in text,
  ``2024-01-02T10:00:00+00:00`` in JSON).
- Decimals keep every digit: plain notation in text, and JSON *strings* in JSON, since
  JSON numbers are read back as binary floats by most consumers.
- Non-finite floats are the JSON strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
  (JSON has no numbers for them).
- Bytes are hexadecimal in PostgreSQL's ``\\x`` form: ``\\x00ff``.
- Lists, structs and maps are JSON arrays and objects (map keys become text); in the
  text formats they are shown as that JSON.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from sqllake.result import python_values

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def hex_bytes(value: bytes) -> str:
    return "\\x" + value.hex()


def interval_text(value: Any) -> str:
    """An Arrow month-day-nano interval as DuckDB spells it: ``1 year 2 months 3 days 04:05:06``."""
    months = int(value.months)
    years = int(months / 12)  # truncate toward zero: -13 months is "-1 years -1 months"
    months -= years * 12
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((years, "year"), (months, "month"), (int(value.days), "day"))
        if n
    ]
    nanos = int(value.nanoseconds)
    if nanos or not parts:
        sign = "-" if nanos < 0 else ""
        micros = abs(nanos) // 1000
        seconds, micro = divmod(micros, 1_000_000)
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        parts.append(sign + clock + (f".{micro:06d}" if micro else ""))
    return " ".join(parts)


def _float_json(value: float) -> JsonValue:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _decimal_text(value: decimal.Decimal) -> str:
    return format(value, "f")  # never exponent notation (str(Decimal('0E-10')) is '0E-10')


def _list_json(value: list[Any]) -> JsonValue:
    return [to_json(item) for item in value]


def _dict_json(value: dict[Any, Any]) -> JsonValue:
    return {k if isinstance(k, str) else to_text(k, "null"): to_json(v) for k, v in value.items()}


# Keyed by the exact Python type Arrow's to_pylist gives (datetime is a date subclass and
# bool an int subclass, so exact types keep them apart).
_JSON: dict[type, Callable[[Any], JsonValue]] = {
    bool: lambda v: v,
    int: lambda v: v,
    str: lambda v: v,
    float: _float_json,
    decimal.Decimal: _decimal_text,
    datetime.date: lambda v: v.isoformat(),
    datetime.datetime: lambda v: v.isoformat(),
    datetime.time: lambda v: v.isoformat(),
    datetime.timedelta: str,
    bytes: hex_bytes,
    list: _list_json,
    dict: _dict_json,
    type(pa.MonthDayNano([0, 0, 0])): interval_text,
}


def to_json(value: Any) -> JsonValue:
    """The JSON value for ``value`` (see the module docstring for the choices)."""
    if value is None:
        return None
    convert = _JSON.get(type(value))
    return convert(value) if convert is not None else str(value)


def _nested_text(value: Any) -> str:
    return json.dumps(to_json(value), ensure_ascii=False)


_TEXT: dict[type, Callable[[Any], str]] = {
    str: lambda v: v,
    bool: lambda v: "true" if v else "false",
    float: repr,
    decimal.Decimal: _decimal_text,
    datetime.datetime: lambda v: v.isoformat(sep=" "),
    datetime.date: lambda v: v.isoformat(),
    datetime.time: lambda v: v.isoformat(),
    bytes: hex_bytes,
    list: _nested_text,
    dict: _nested_text,
    type(pa.MonthDayNano([0, 0, 0])): interval_text,
}


def to_text(value: Any, null: str) -> str:
    """``value`` as text, and ``null`` for NULL."""
    if value is None:
        return null
    convert = _TEXT.get(type(value))
    return convert(value) if convert is not None else str(value)


def rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """A batch's rows as tuples (by position: result column names may repeat)."""
    columns = [python_values(column, maps_as_pydicts="strict") for column in batch.columns]
    return list(zip(*columns, strict=True))
