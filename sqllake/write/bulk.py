"""Bulk writes through the engine's own parallel Parquet writer (``COPY ... TO``).

An unpartitioned table on local storage is written by DuckDB directly: it converts,
compresses and writes row groups on every core, and its files come out smaller than
PyArrow's. The Iceberg side stays ours: field ids are set per column, NOT NULL is
checked in the query (a violation stops the COPY, and a second query finds the row to
name), files are cut at the table's target size, and the metrics of each file are read
from its footer as for any other file.

Failure semantics: every file of one statement is named ``<prefix>-<uuid>.parquet``
in the table's data folder, with a prefix no other statement uses. If the COPY fails
or is cancelled, every file with that prefix is deleted before the error is raised;
on success the files are returned as DataFiles and nothing is committed here.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.typedef import Record
from pyiceberg.types import FixedType, IcebergType, ListType, MapType, NestedField, StructType

from sqllake.errors import IntegrityError
from sqllake.read.locations import local_path
from sqllake.sql.text import quote_identifier, quote_string
from sqllake.write.commit import data_file
from sqllake.write.parquet import WriterOptions, WrittenFile
from sqllake.write.rows import not_null_message, writer_options

# Iceberg codec names DuckDB's writer takes as they are.
_CODECS = frozenset({"uncompressed", "snappy", "gzip", "zstd", "brotli", "lz4", "lz4_raw"})
# An error the guard raises inside the query: the index of the NOT NULL path it broke.
_MARKER = "sqllake-not-null-violation:"
_MARKED = re.compile(re.escape(_MARKER) + r"(\d+)")
# DuckDB adds rows to a row group a vector (up to 2,048 rows) at a time and closes it
# once it holds at least ROW_GROUP_SIZE rows: asking for the limit less a vector keeps
# every group within the limit. Limits below a vector go through the Arrow writer.
_VECTOR_ROWS = 2048
# A row group is at most this share of the target size in memory, and compressed it
# is smaller still: a file that reaches the target overshoots it by less than that.
_ROW_GROUP_SHARE = 8

# Runs a statement (with the INSERT's parameters) and returns its rows.
Run = Callable[[str], list[tuple[Any, ...]]]


# The fields inside a nested type, each under the name DuckDB's FIELD_IDS gives it.
_INNER: dict[type[IcebergType], Callable[[Any], list[tuple[str, NestedField]]]] = {
    StructType: lambda t: [(f.name, f) for f in t.fields],
    ListType: lambda t: [("element", t.element_field)],
    MapType: lambda t: [("key", t.key_field), ("value", t.value_field)],
}


def _inner(itype: IcebergType) -> list[tuple[str, NestedField]]:
    fields = _INNER.get(type(itype))
    return fields(itype) if fields is not None else []


def _has_fixed(itype: IcebergType) -> bool:
    """DuckDB has no fixed-length binary: it would write FIXED(n) columns as BLOB."""
    return isinstance(itype, FixedType) or any(_has_fixed(f.field_type) for _, f in _inner(itype))


def eligible(table: Table) -> bool:
    """Whether DuckDB can write ``table``'s files: unpartitioned, local, known types.

    Partitioned tables need Iceberg's transforms to route rows, and object storage
    needs credentials DuckDB does not have; these, FIXED columns and row groups
    limited below a vector go through the Arrow writer.
    """
    location = table.location()
    options = writer_options(table.properties)
    return (
        not table.spec().fields
        and (location.startswith("file:") or "://" not in location)
        and options.compression.lower() in _CODECS
        and options.row_group_rows >= _VECTOR_ROWS
        and not any(_has_fixed(f.field_type) for f in table.schema().fields)
    )


def _field_ids(fields: Sequence[NestedField]) -> str:
    """DuckDB's FIELD_IDS value: every column's Iceberg id, nested ones included."""
    return "{" + ", ".join(f"{quote_identifier(f.name)}: {_ids_of(f)}" for f in fields) + "}"


def _ids_of(field: NestedField) -> str:
    inner = [f"{quote_identifier(name)}: {_ids_of(f)}" for name, f in _inner(field.field_type)]
    if not inner:
        return str(field.field_id)
    return "{" + ", ".join([f"__duckdb_field_id: {field.field_id}", *inner]) + "}"


@dataclass(frozen=True)
class NotNullPath:
    """A NOT NULL column or struct field, and the SQL test of a row that breaks it."""

    path: str  # as errors name it: ``p.x``
    violated: str  # true where the value is NULL and every enclosing struct is set


def not_null_paths(schema: Schema, alias: str) -> list[NotNullPath]:
    """Every NOT NULL path of ``schema``, columns first, as ``alias``'s columns."""
    found: list[NotNullPath] = []

    def visit(fields: Sequence[NestedField], path: str, sql: str, present: list[str]) -> None:
        for field in fields:
            name, ref = f"{path}{field.name}", f"{sql}.{quote_identifier(field.name)}"
            if field.required:
                found.append(NotNullPath(name, " AND ".join([*present, f"{ref} IS NULL"])))
            if isinstance(field.field_type, StructType):
                visit(field.field_type.fields, f"{name}.", ref, [*present, f"{ref} IS NOT NULL"])

    visit(schema.fields, "", alias, [])
    return found


def guarded(select_sql: str, paths: Sequence[NotNullPath]) -> str:
    """``select_sql`` failing on the first row that breaks a NOT NULL path."""
    if not paths:
        return f"SELECT * FROM ({select_sql}) AS __w"
    cases = " ".join(f"WHEN {p.violated} THEN error('{_MARKER}{i}')" for i, p in enumerate(paths))
    return f"SELECT * FROM ({select_sql}) AS __w WHERE CASE {cases} ELSE TRUE END"


def _first_null(
    run: Run, select_sql: str, order: str, paths: Sequence[NotNullPath]
) -> tuple[int, int] | None:
    """The first NOT NULL violation in write order: (index of the path, 1-based row)."""
    cases = " ".join(f"WHEN {p.violated} THEN {i}" for i, p in enumerate(paths))
    probe = (
        f"SELECT __broken, __row FROM (SELECT row_number() OVER ({order}) AS __row, "
        f"CASE {cases} END AS __broken FROM ({select_sql}) AS __w) "
        "WHERE __broken IS NOT NULL ORDER BY __row LIMIT 1"
    )
    try:
        found = run(probe)
    except Exception:  # another error stops the probe first: no row to point at
        return None
    return (int(found[0][0]), int(found[0][1])) if found else None


def _not_null_error(
    run: Run, select_sql: str, order: str, paths: Sequence[NotNullPath], marked: int, table: str
) -> IntegrityError:
    """The error naming the path, and the row if a probe finds it, of a violation."""
    found = _first_null(run, select_sql, order, paths)
    index, row = found if found is not None else (marked, None)
    return IntegrityError(not_null_message(paths[index].path, table, row))


@dataclass(frozen=True)
class _Target:
    folder: str  # a local path
    location: str  # the folder as the table records its files
    prefix: str  # every file of this statement starts with it

    def pattern(self) -> str:
        return os.path.join(glob.escape(self.folder), f"{self.prefix}-*.parquet")

    def remove(self) -> None:
        for path in glob.glob(self.pattern()):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def _copy_sql(select_sql: str, schema: Schema, target: _Target, options: WriterOptions) -> str:
    group_bytes = max(min(options.row_group_bytes, options.target_file_size // _ROW_GROUP_SHARE), 1)
    return (
        f"COPY ({select_sql}) TO {quote_string(target.folder)} (FORMAT parquet, "
        f"COMPRESSION {options.compression.lower()}, "
        f"FIELD_IDS {_field_ids(schema.fields)}, "
        f"FILE_SIZE_BYTES {options.target_file_size}, "
        f"ROW_GROUP_SIZE {options.row_group_rows - _VECTOR_ROWS + 1}, "
        f"ROW_GROUP_SIZE_BYTES {group_bytes}, "
        f"FILENAME_PATTERN '{target.prefix}-{{uuid}}', APPEND, RETURN_STATS)"
    )


@dataclass(frozen=True)
class BulkResult:
    files: list[DataFile]
    rows: int


def copy_rows(run: Run, table: Table, table_name: str, select_sql: str, order: str) -> BulkResult:
    """Write every row of ``select_sql`` (columns in table order and types) as new files.

    ``order`` is the ORDER BY clause of the write (or empty): rows are written, and
    counted in errors, in that order.
    """
    schema = table.schema()
    location = f"{table.location().rstrip('/')}/data"
    target = _Target(local_path(location), location, uuid.uuid4().hex)
    paths = not_null_paths(schema, "__w")
    statement = _copy_sql(
        guarded(select_sql, paths) + order, schema, target, writer_options(table.properties)
    )
    try:
        try:
            written = run(statement)
        except Exception as exc:
            marked = _MARKED.search(str(exc))
            if marked is None:
                raise
            index = int(marked.group(1))
            raise _not_null_error(
                run, select_sql, order.strip(), paths, index, table_name
            ) from None
        files = [_written(target, reported) for reported in written if int(reported[1]) > 0]
        for reported in written:
            if int(reported[1]) == 0:  # a COPY of no rows may still leave an empty file
                os.remove(reported[0])
        data = [data_file(table, file, Record()) for file in files]
    except BaseException:
        target.remove()
        raise
    return BulkResult(data, sum(f.record_count for f in files))


def read_back(files: Sequence[DataFile]) -> str:
    """A query of the rows of ``files``, in the order they were written."""
    listed = ", ".join(quote_string(local_path(f.file_path)) for f in files)
    return f"SELECT * FROM read_parquet([{listed}])"


def _written(target: _Target, row: tuple[Any, ...]) -> WrittenFile:
    """A file COPY reported (path, rows, bytes, ...), with the footer its metrics come from."""
    path, count, size = str(row[0]), int(row[1]), int(row[2])
    name = os.path.basename(path)
    return WrittenFile(f"{target.location}/{name}", size, pq.read_metadata(path), count)
