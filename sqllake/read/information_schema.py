"""``information_schema.schemata``, ``.tables`` and ``.columns`` over the lakehouse catalog.

BI tools and the shell's completion introspect through these standard views; each is
an Arrow table built from the catalog when a query names it. ``tables`` also carries
each table's statistics (rows, files, bytes, snapshots, last change), read from the
current snapshot's summary, so they are current after every commit by any engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.table import Table

from sqllake.catalog_open import CATALOG_NAME
from sqllake.names import TableName
from sqllake.result import ARROW_OF
from sqllake.types import duckdb_type

if TYPE_CHECKING:
    from sqllake.catalog import Lakehouse

# (table, loaded table, committed rows if the summary is exact) -> rows a read returns
RowCounter = Callable[[TableName, Table, int | None], int]


def _schemata(lakehouse: Lakehouse, count_rows: RowCounter) -> pa.Table:
    names = lakehouse.namespaces()
    return pa.table(
        {"catalog_name": [CATALOG_NAME] * len(names), "schema_name": names},
    )


# The statistics columns of ``tables`` (also SHOW TABLE EXTENDED's), as DuckDB types.
STATISTICS = {
    "row_count": "BIGINT",
    "data_files": "BIGINT",
    "delete_files": "BIGINT",
    "total_bytes": "BIGINT",
    "snapshot_count": "BIGINT",
    "last_modified": "TIMESTAMP WITH TIME ZONE",  # epoch milliseconds
    "last_operation": "VARCHAR",
    "schema_id": "INTEGER",
}


def table_statistics(
    lakehouse: Lakehouse, name: TableName, count_rows: RowCounter
) -> dict[str, Any]:
    """A table's statistics from its metadata; rows are exact (deleted rows excluded).

    The snapshot summary's ``total-records`` counts rows that delete files remove, so
    a table with delete files is counted by a scan (once per snapshot, see RowCounter).
    """
    table = lakehouse.load(name)
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None and snapshot.summary else None

    def total(key: str) -> int:
        return int(summary.get(key) or 0) if summary is not None else 0

    deletes = total("total-delete-files")
    return {
        "row_count": count_rows(name, table, total("total-records") if not deletes else None),
        "data_files": total("total-data-files"),
        "delete_files": deletes,
        "total_bytes": total("total-files-size"),
        "snapshot_count": len(table.metadata.snapshots),
        "last_modified": table.metadata.last_updated_ms,
        "last_operation": summary.operation.value if summary is not None else None,
        "schema_id": table.metadata.current_schema_id,
    }


def _tables(lakehouse: Lakehouse, count_rows: RowCounter) -> pa.Table:
    rows = [t for ns in lakehouse.namespaces() for t in lakehouse.tables(tuple(ns.split(".")))]
    stats = [table_statistics(lakehouse, t, count_rows) for t in rows]
    columns: dict[str, pa.Array] = {
        "table_catalog": pa.array([CATALOG_NAME] * len(rows), pa.string()),
        "table_schema": pa.array([".".join(t.namespace) for t in rows], pa.string()),
        "table_name": pa.array([t.name for t in rows], pa.string()),
        "table_type": pa.array(["BASE TABLE"] * len(rows), pa.string()),
    }
    for key, kind in STATISTICS.items():
        columns[key] = pa.array([s[key] for s in stats], ARROW_OF[kind])
    return pa.table(columns)


def _columns(lakehouse: Lakehouse, count_rows: RowCounter) -> pa.Table:
    columns: dict[str, list[object]] = {
        "table_catalog": [],
        "table_schema": [],
        "table_name": [],
        "column_name": [],
        "ordinal_position": [],
        "data_type": [],
        "is_nullable": [],
        "comment": [],
        "field_id": [],
    }
    for namespace in lakehouse.namespaces():
        for name in lakehouse.tables(tuple(namespace.split("."))):
            schema = lakehouse.load(name).schema()
            for position, field in enumerate(schema.fields, start=1):
                values = (
                    CATALOG_NAME,
                    namespace,
                    name.name,
                    field.name,
                    position,
                    duckdb_type(field.field_type),
                    "NO" if field.required else "YES",
                    field.doc,
                    field.field_id,
                )
                for key, value in zip(columns, values, strict=True):
                    columns[key].append(value)
    types = {"ordinal_position": pa.int32(), "field_id": pa.int32()}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})


VIEWS: dict[str, Callable[[Lakehouse, RowCounter], pa.Table]] = {
    "schemata": _schemata,
    "tables": _tables,
    "columns": _columns,
}
