"""The DuckDB SELECT of a planned scan on the session's engine, and row counts by it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyiceberg.expressions import AlwaysTrue

from sqllake.read.scan import ScanPlan, plan_scan
from sqllake.read.scan_sql import engine_scan_select

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from sqllake.catalog import TableName
    from sqllake.context import Context


def scan_select(session: Context, scan: ScanPlan, row_ids: bool = False) -> str:
    return engine_scan_select(session.engine, scan, row_ids)


def count_committed(context: Context, name: TableName, table: Table) -> int:
    """The rows of ``table``'s current snapshot, counted by a scan (delete files applied)."""
    snapshot = table.current_snapshot()
    scan = plan_scan(table, name, snapshot, table.schema(), AlwaysTrue(), [])
    return int(context.engine.row(f"SELECT count(*) FROM ({scan_select(context, scan)})")[0])
