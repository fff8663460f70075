"""Scan planning: which files of a table a query reads, and the SQL that reads them.

Files come from the snapshot's manifests, pruned by partition values and column
min/max against the query's row filter. Parquet columns are mapped to table columns
by Iceberg field id, never by name, so renamed columns keep their data and added
columns read as NULL from older files.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import Table

from sqllake.catalog import TableName, local_path
from sqllake.errors import NotSupportedError
from sqllake.types import duckdb_type, quote_ident

# Snapshot summary totals that mean the table has rows deleted by delete files.
_DELETE_TOTALS = ("total-delete-files", "total-position-deletes", "total-equality-deletes")


@dataclass(frozen=True)
class ScanPlan:
    table: TableName
    schema: Schema
    files: tuple[str, ...]
    total_files: int
    snapshot_id: int | None


def _refuse_deletes(table: Table, name: TableName) -> None:
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot is not None else None
    if summary is None:
        return
    for key in _DELETE_TOTALS:
        if int(summary.get(key) or 0) > 0:
            raise NotSupportedError(
                f"table {name} has delete files (row-level deletes), which sqllake cannot read yet"
            )


def plan_scan(
    table: Table,
    name: TableName,
    row_filter: BooleanExpression,
    pending: list[DataFile],
) -> ScanPlan:
    """Plan the files of ``table``'s current snapshot matching ``row_filter``.

    ``pending`` are files this transaction wrote and has not committed: they are read
    too (read-your-writes), unpruned.
    """
    _refuse_deletes(table, name)
    snapshot = table.current_snapshot()
    files: list[str] = []
    total = 0
    if snapshot is not None:
        scan = table.scan(row_filter=row_filter)
        for task in scan.plan_files():
            if task.delete_files:
                raise NotSupportedError(
                    f"table {name} has delete files (row-level deletes), which sqllake "
                    "cannot read yet"
                )
            files.append(task.file.file_path)
        total_text = snapshot.summary.get("total-data-files") if snapshot.summary else None
        if total_text is not None:
            total = int(total_text)
        elif isinstance(row_filter, AlwaysTrue):
            total = len(files)
        else:
            total = sum(1 for _ in table.scan().plan_files())
    files.extend(file.file_path for file in pending)
    return ScanPlan(
        table=name,
        schema=table.schema(),
        files=tuple(files),
        total_files=total + len(pending),
        snapshot_id=snapshot.snapshot_id if snapshot else None,
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scan_sql(plan: ScanPlan) -> str:
    """A DuckDB SELECT returning the table's columns from the planned files."""
    fields = plan.schema.fields
    if not plan.files:
        columns = ", ".join(
            f"CAST(NULL AS {duckdb_type(f.field_type)}) AS {quote_ident(f.name)}" for f in fields
        )
        return f"SELECT {columns} LIMIT 0"
    mapping = ", ".join(
        f"{f.field_id}: {{name: {_sql_string(f.name)}, type: "
        f"{_sql_string(duckdb_type(f.field_type))}, default_value: NULL}}"
        for f in fields
    )
    files = ", ".join(_sql_string(local_path(path)) for path in plan.files)
    return (
        f"SELECT * FROM read_parquet([{files}], schema = MAP {{{mapping}}}, "
        "hive_partitioning = false)"
    )
