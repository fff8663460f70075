"""What a statement gives back: columns, a stream of Arrow batches, a row count, a status."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One result column: its name and its type as DuckDB names it (``BIGINT``, ``VARCHAR``)."""

    name: str
    type_name: str


@dataclass(frozen=True)
class Result:
    """The outcome of one statement.

    ``reader`` streams the rows of a statement that returns rows (None otherwise);
    ``rowcount`` is the number of rows written, or -1 when unknown (queries, DDL);
    ``status`` is a short tag for shells, such as ``INSERT 3`` or ``CREATE TABLE``.
    """

    columns: tuple[Column, ...]
    reader: pa.RecordBatchReader | None
    rowcount: int
    status: str

    @classmethod
    def status_only(cls, status: str, rowcount: int = -1) -> Result:
        return cls((), None, rowcount, status)

    @classmethod
    def rows(
        cls, status: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> Result:
        """A small result computed in Python (SHOW, DESCRIBE); every column is VARCHAR-like."""
        cols = tuple(Column(name, type_name) for name, type_name in columns)
        arrays = {
            c.name: pa.array([row[i] for row in rows], ARROW_OF[c.type_name])
            for i, c in enumerate(cols)
        }
        table = pa.table(arrays) if cols else pa.table({})
        return cls(
            cols, pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), -1, status
        )


# Arrow types for the few column types Python-computed results use.
ARROW_OF = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("ms", tz="UTC"),  # from epoch milliseconds
}


_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
# DuckDB's infinite dates and timestamps, as Arrow holds them.
_INFINITE_DAYS = 2**31 - 1
_INFINITE_TICKS = 2**63 - 1
_FIRST_DAY = datetime.date.min.toordinal() - _EPOCH_ORDINAL
_LAST_DAY = datetime.date.max.toordinal() - _EPOCH_ORDINAL
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def python_values(column: pa.Array, maps_as_pydicts: str | None = None) -> list[Any]:
    """A result column's values as Python objects.

    Python's dates end at the years 1 and 9999 and its times at microseconds; DuckDB's
    do not. As DuckDB's own client gives them, infinite dates and timestamps are the
    latest or earliest Python has, other dates beyond Python's years are their text,
    and nanoseconds are cut to microseconds.
    """
    try:
        values: list[Any] = column.to_pylist(maps_as_pydicts=maps_as_pydicts)
        return values
    except (OverflowError, ValueError):
        return _values(column, maps_as_pydicts)


def _values(column: pa.Array, maps: str | None) -> list[Any]:
    kind = column.type
    if isinstance(column, pa.ChunkedArray):
        return [v for chunk in column.chunks for v in _values(chunk, maps)]
    if pa.types.is_date32(kind):
        return [None if d is None else _date(d) for d in column.cast(pa.int32()).to_pylist()]
    if pa.types.is_timestamp(kind):
        ticks = column.cast(pa.int64()).to_pylist()
        return [None if t is None else _timestamp(t, kind) for t in ticks]
    valid = column.is_valid().to_pylist()
    if pa.types.is_struct(kind):
        fields = [_values(column.field(i), maps) for i in range(kind.num_fields)]
        names = [kind.field(i).name for i in range(kind.num_fields)]
        return (
            [
                dict(zip(names, row, strict=True)) if ok else None
                for ok, row in zip(valid, zip(*fields, strict=True), strict=True)
            ]
            if fields
            else [{} if ok else None for ok in valid]
        )
    if pa.types.is_map(kind):
        keys, items = _values(column.keys, maps), _values(column.items, maps)
        pairs = _nested(column, valid, list(zip(keys, items, strict=True)))
        return [p if p is None or maps is None else dict(p) for p in pairs]
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _nested(column, valid, _values(column.values, maps))
    plain: list[Any] = column.to_pylist(maps_as_pydicts=maps)
    return plain


def _nested(column: pa.Array, valid: list[bool], inner: list[Any]) -> list[Any]:
    offsets = column.offsets.to_pylist()
    return [inner[offsets[i] : offsets[i + 1]] if ok else None for i, ok in enumerate(valid)]


def _civil(days: int) -> str:
    """A day number (days since 1970-01-01) as DuckDB spells dates Python cannot hold."""
    # Proleptic Gregorian calendar from a day count (March-based years).
    shifted = days + 719468
    era = shifted // 146097
    day_of_era = shifted - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = year_of_era + era * 400 + (month <= 2)
    if year <= 0:
        return f"{1 - year:04d}-{month:02d}-{day:02d} (BC)"
    return f"{year:04d}-{month:02d}-{day:02d}"


def _date(days: int) -> datetime.date | str:
    if days == _INFINITE_DAYS:
        return datetime.date.max
    if days == -_INFINITE_DAYS:
        return datetime.date.min
    if _FIRST_DAY <= days <= _LAST_DAY:
        return datetime.date.fromordinal(days + _EPOCH_ORDINAL)
    return _civil(days)


def _timestamp(ticks: int, kind: pa.TimestampType) -> datetime.datetime | str:
    later = ticks == _INFINITE_TICKS
    if later or ticks == -_INFINITE_TICKS:
        moment = datetime.datetime.max if later else datetime.datetime.min
        return moment.replace(tzinfo=datetime.UTC) if kind.tz else moment
    per_second = _TICKS_PER_SECOND[kind.unit]
    micros = ticks * 1_000_000 // per_second
    days, rest = divmod(micros, 86_400_000_000)
    if not _FIRST_DAY <= days <= _LAST_DAY:
        seconds = rest // 1_000_000
        clock = datetime.time(seconds // 3600, seconds // 60 % 60, seconds % 60, rest % 1_000_000)
        return f"{_civil(days)} {clock.isoformat()}"
    value: datetime.datetime = pa.scalar(micros, pa.timestamp("us", kind.tz)).as_py()
    return value
