"""The DuckDB SELECT of a planned scan, with what only the session can supply: which
files lack their identity partition columns (from the footers) and the positions of
deletion vectors (registered as a view). Queries, the change feed and row counts all
read so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.expressions import AlwaysTrue

from sqllake.read.deletion_vectors import positions_table
from sqllake.read.engine import Engine
from sqllake.read.scan import ScanPlan, keep_missing_identity, plan_scan
from sqllake.read.scan_sql import scan_sql

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from sqllake.catalog import TableName
    from sqllake.execute.context import Context


def scan_select(session: Context, scan: ScanPlan, row_ids: bool = False) -> str:
    return engine_scan_select(session.engine, scan, row_ids)


def count_committed(context: Context, name: TableName, table: Table) -> int:
    """The rows of ``table``'s current snapshot, counted by a scan (delete files applied)."""
    snapshot = table.current_snapshot()
    scan = plan_scan(table, name, snapshot, table.schema(), AlwaysTrue(), [])
    return int(context.engine.row(f"SELECT count(*) FROM ({scan_select(context, scan)})")[0])


def engine_scan_select(engine: Engine, scan: ScanPlan, row_ids: bool = False) -> str:
    """The scan's SELECT for ``engine`` (the one that will run it)."""
    needing = [f.path for f in scan.files if f.identity]
    if needing:
        # Keep identity fill-ins only for files that lack the column.
        scan = keep_missing_identity(scan, engine.field_ids(needing))
    vectors = None
    if scan.deletion_vectors:
        # One Puffin file holds the vectors of many data files, each its own entry.
        files = list(dict.fromkeys((d.path, d.sequence) for d in scan.deletion_vectors))
        vectors = engine.register(positions_table(files))
    return scan_sql(scan, vectors, row_ids)
