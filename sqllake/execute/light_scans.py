"""Queries of small plain tables, planned without PyIceberg or SQLAlchemy.

A process that runs one query (``sqllake -c "SELECT count(*) FROM t"``) would spend
most of its life importing the catalog's libraries (SQLAlchemy, PyIceberg and pydantic
cost several times DuckDB's own start). Until a session opens its catalog, a query
whose every table is small and plain is planned here instead: the table's pointer,
buffered rows and path map are looked up on the SQLite catalog database with the
standard library's driver, in one read transaction; the metadata file is parsed as
JSON, the manifests decoded by :mod:`sqllake.read.avro_file`, and the files read by
field id with the very ``read_parquet`` text a planned scan uses
(:mod:`sqllake.read.parquet_read`).

Plain means that nothing the full path (:mod:`sqllake.execute.lakehouse_scans`) would
do differs from reading every listed file by field id: the session reads the newest
snapshot (autocommit, no transaction), nothing is buffered, no path map is kept, the
table is where its metadata says, its files are local Parquet files that exist, it has
no delete files, no identity partition values to fill in, no name mapping, and its
columns are primitives without initial defaults. Small means at most
:data:`MAX_FILES` data files: without manifest pruning DuckDB opens every file, which
costs nothing for a few. Anything else, including every error, declines (the full path
plans the query and reports what is wrong), so this path changes speed, never answers.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlglot import exp

from sqllake.names import TableName
from sqllake.read.avro_file import MALFORMED, Reader, plain_reader, records
from sqllake.read.parquet_read import ReadColumn, empty_select, read_parquet, schema_map
from sqllake.read.paths import SCHEME_AND_AUTHORITY, normalize, table_root
from sqllake.read.query import TableReference, feed_calls, is_information_view, point_at_view

if TYPE_CHECKING:
    from sqllake.catalog_open import CatalogSettings
    from sqllake.context import Context

# The most data files a table read here may have.
MAX_FILES = 32

CATALOG_NAME = "sqllake"  # as catalog_open names the SQL catalog (a test pins the two)

# Iceberg's primitive type names -> DuckDB's, as sqllake.types.duckdb_type reads them
# (a test checks the two agree).
PRIMITIVE_TYPES = {
    "boolean": "BOOLEAN",
    "int": "INTEGER",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "timestamp_ns": "TIMESTAMP_NS",
    "timestamptz_ns": "TIMESTAMPTZ_NS",
    "unknown": '"NULL"',
    "string": "VARCHAR",
    "uuid": "UUID",
    "binary": "BLOB",
}
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_FIXED = re.compile(r"fixed\[\s*\d+\s*\]")

# Snapshot summary totals that say the table has delete files.
_DELETE_TOTALS = ("total-delete-files", "total-position-deletes", "total-equality-deletes")
_NAME_MAPPING = "schema.name-mapping.default"
_DATA = 0  # content of a data manifest and of a data file
_DELETED = 2  # status of a manifest entry that removes its file

# What the lookup reads, in one transaction of the catalog database.
_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
_KEY = "catalog_name = ? AND table_namespace = ? AND table_name = ?"
_POINTER = f"SELECT metadata_location FROM iceberg_tables WHERE {_KEY}"
_BUFFERED = f"SELECT 1 FROM sqllake_buffer WHERE {_KEY} LIMIT 1"
_MAPPED = f"SELECT 1 FROM sqllake_path_map WHERE {_KEY} LIMIT 1"


class _Decline(Exception):
    """The query is not for this path."""


@dataclass(frozen=True)
class _Lookup:
    pointer: str
    buffered: bool
    mapped: bool


def point_at_tables(context: Context, tree: exp.Expr, references: Sequence[TableReference]) -> bool:
    """Point every table reference of ``tree`` at a read of its files, if every one is
    small and plain and the catalog is not open yet; False (``tree`` untouched) if not."""
    settings = context.unopened_catalog
    if settings is None or context.isolated or context.transaction.tables_written():
        return False
    if not references or next(feed_calls(tree), None) is not None:
        return False
    try:
        database = _sqlite_database(settings)
        names = [_name(ref, context.schema) for ref in references]
        found = _look_up(database, names)
        selects = [_select(found[name]) for name in names]
    except (_Decline, OSError, sqlite3.Error, StopIteration, AttributeError, *MALFORMED):
        return False
    for ref, select in zip(references, selects, strict=True):
        point_at_view(ref, context.engine.view(select))
    return True


def _sqlite_database(settings: CatalogSettings) -> str:
    """The file of the catalog's SQLite database: the embedded default, or a plain
    ``sqlite:///`` URI."""
    if settings.catalog is None:
        if "://" in settings.warehouse:
            raise _Decline
        path = os.path.join(settings.warehouse, "catalog.db")
    elif settings.catalog.startswith("sqlite:///") and "?" not in settings.catalog:
        path = settings.catalog.removeprefix("sqlite:///")
    else:
        raise _Decline
    if not os.path.isfile(path):
        raise _Decline
    return path


def _name(ref: TableReference, schema: tuple[str, ...]) -> TableName:
    parts = ref.parts
    if ref.as_of is not None or is_information_view(parts) or "$" in parts[-1]:
        raise _Decline  # time travel, metadata tables and views read the full way
    if any(part != part.lower() for part in parts):
        raise _Decline  # a quoted name may match another case (Session.table_name)
    return TableName(tuple(parts[:-1]) if len(parts) > 1 else schema, parts[-1])


def _look_up(database: str, names: list[TableName]) -> dict[TableName, _Lookup]:
    uri = f"file:{quote(os.path.abspath(database))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        connection.execute("BEGIN")  # one snapshot of every table's rows
        tables = {row[0] for row in connection.execute(_TABLES)}
        found = {}
        for name in names:
            key = (CATALOG_NAME, ".".join(name.namespace), name.name)
            if "iceberg_tables" not in tables:
                raise _Decline
            pointer = connection.execute(_POINTER, key).fetchone()
            if pointer is None:
                raise _Decline  # no such table: the full path says so
            buffered = "sqllake_buffer" in tables and connection.execute(_BUFFERED, key).fetchone()
            mapped = "sqllake_path_map" in tables and connection.execute(_MAPPED, key).fetchone()
            found[name] = _Lookup(str(pointer[0]), bool(buffered), bool(mapped))
        return found
    finally:
        connection.close()


def _local(location: str) -> str:
    """A local absolute path for ``location``; anything else declines."""
    path = location.removeprefix("file://")
    if SCHEME_AND_AUTHORITY.match(path) or not path.startswith("/"):
        raise _Decline
    return path


def _read(location: str) -> bytes:
    with open(_local(location), "rb") as file:
        data = file.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _select(found: _Lookup) -> str:
    if found.buffered or found.mapped:
        raise _Decline
    metadata = json.loads(_read(found.pointer))
    if metadata.get("format-version") not in (1, 2, 3) or _NAME_MAPPING in metadata.get(
        "properties", {}
    ):
        raise _Decline
    if normalize(metadata["location"]) != normalize(table_root(found.pointer)):
        raise _Decline  # a moved table: its paths are mapped on the full path
    columns = _columns(metadata)
    if any(
        field.get("transform") == "identity"
        for spec in metadata.get("partition-specs", ())
        for field in spec["fields"]
    ):
        raise _Decline  # files may lack an identity partition column
    paths = _data_files(metadata)
    if not paths:
        return empty_select([(c.name, c.type_sql) for c in columns])
    return f"SELECT * FROM {read_parquet(paths, schema_map(columns))}"


def _columns(metadata: dict[str, Any]) -> list[ReadColumn]:
    current = metadata.get("current-schema-id")
    schemas = metadata.get("schemas") or [metadata["schema"]]
    schema = next(s for s in schemas if s.get("schema-id", current) == current)
    columns = []
    for field in schema["fields"]:
        if field.get("initial-default") is not None:
            raise _Decline  # its text for older files is the full path's to write
        columns.append(
            ReadColumn(int(field["id"]), str(field["name"]), _duckdb_type(field["type"]))
        )
    return columns


def _duckdb_type(iceberg: Any) -> str:
    if not isinstance(iceberg, str):
        raise _Decline  # a struct, list or map
    if iceberg in PRIMITIVE_TYPES:
        return PRIMITIVE_TYPES[iceberg]
    if (decimal := _DECIMAL.fullmatch(iceberg)) is not None:
        return f"DECIMAL({decimal.group(1)},{decimal.group(2)})"
    if _FIXED.fullmatch(iceberg):
        return "BLOB"
    raise _Decline


def _data_files(metadata: dict[str, Any]) -> list[str]:
    current = metadata.get("current-snapshot-id")
    if current is None or current == -1:
        return []
    snapshot = next(s for s in metadata.get("snapshots", ()) if s["snapshot-id"] == current)
    summary = snapshot.get("summary", {})
    if any(int(summary.get(total, 0)) for total in _DELETE_TOTALS):
        raise _Decline
    if int(summary.get("total-data-files", 0)) > MAX_FILES or "manifest-list" not in snapshot:
        raise _Decline
    paths: list[str] = []
    for manifest in records(_read(snapshot["manifest-list"]), _reader):
        if manifest.get("content", _DATA) != _DATA:
            raise _Decline
        for entry in records(_read(manifest["manifest_path"]), _reader):
            file = entry["data_file"]
            if entry["status"] == _DELETED:
                continue
            if file.get("content", _DATA) != _DATA or file["file_format"].upper() != "PARQUET":
                raise _Decline
            path = _local(file["file_path"])
            if not os.path.isfile(path):
                raise _Decline  # the full path looks for it or names it
            paths.append(path)
            if len(paths) > MAX_FILES:
                raise _Decline
    return paths


def _reader(schema_text: str) -> Reader:
    return plain_reader(json.loads(schema_text))
