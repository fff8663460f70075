"""The ``read_parquet`` text that reads data files under a table's columns by field id.

Plain Python over plain columns: the scan SQL of planned scans (``read/scan_sql.py``) and
the light read path (``read/light.py``) both build their reads here, so a table reads
the same whichever path planned it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqllake.sql.text import quote_identifier, quote_string, string_list


@dataclass(frozen=True)
class ReadColumn:
    """A table column as ``read_parquet``'s ``schema`` map reads it from a file."""

    field_id: int
    name: str  # the name the read gives the column
    type_sql: str  # DuckDB's type
    default: str | None = None  # the initial default, as text DuckDB casts from


def schema_map(columns: Sequence[ReadColumn]) -> str:
    """``read_parquet``'s map from field id to column name, type and default: renamed
    columns keep their data, columns added later read as their default (or NULL)."""
    entries = [
        f"{c.field_id}: {{name: {quote_string(c.name)}, type: {quote_string(c.type_sql)}, "
        f"default_value: {'NULL::VARCHAR' if c.default is None else quote_string(c.default)}}}"
        for c in columns
    ]
    return "MAP {" + ", ".join(entries) + "}"


def read_parquet(paths: Sequence[str], schema: str, positions: bool = False) -> str:
    """The files' rows under ``schema`` (a :func:`schema_map`); with ``positions``, each
    row's file name and row number too."""
    extra = ", filename = true, file_row_number = true" if positions else ""
    return (
        f"read_parquet({string_list(paths)}, schema = {schema}, hive_partitioning = false{extra})"
    )


def empty_select(columns: Sequence[tuple[str, str]]) -> str:
    """No rows, under the columns' names and DuckDB types: a table without files."""
    typed = ", ".join(
        f"CAST(NULL AS {type_sql}) AS {quote_identifier(name)}" for name, type_sql in columns
    )
    return f"SELECT {typed} LIMIT 0"
