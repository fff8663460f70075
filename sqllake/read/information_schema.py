"""``information_schema.schemata``, ``.tables`` and ``.columns`` over the lakehouse catalog.

BI tools and the shell's completion introspect through these standard views; each is
an Arrow table built from the catalog when a query names it.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from sqllake.catalog import CATALOG_NAME, Lakehouse
from sqllake.types import duckdb_type


def _schemata(lakehouse: Lakehouse) -> pa.Table:
    names = lakehouse.namespaces()
    return pa.table(
        {"catalog_name": [CATALOG_NAME] * len(names), "schema_name": names},
    )


def _tables(lakehouse: Lakehouse) -> pa.Table:
    rows = [t for ns in lakehouse.namespaces() for t in lakehouse.tables(tuple(ns.split(".")))]
    return pa.table(
        {
            "table_catalog": [CATALOG_NAME] * len(rows),
            "table_schema": [".".join(t.namespace) for t in rows],
            "table_name": [t.name for t in rows],
            "table_type": ["BASE TABLE"] * len(rows),
        }
    )


def _columns(lakehouse: Lakehouse) -> pa.Table:
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


VIEWS: dict[str, Callable[[Lakehouse], pa.Table]] = {
    "schemata": _schemata,
    "tables": _tables,
    "columns": _columns,
}
