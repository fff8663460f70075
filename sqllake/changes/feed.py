"""The change feed of a table as a query: typed calls, no SQL text to parse back.

:func:`feed_sql` is the DuckDB SELECT of a table's changes between two bounds; the
``table_changes(...)`` function of queries evaluates its arguments and calls it
(``execute/changes.py``). :func:`snapshot_changes` runs the feed of one snapshot, for
subscriptions and the ``sqllake changes`` command.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqllake.changes.plan import Bound, change_sql, empty_sql, plan_changes, snapshot_range
from sqllake.names import TableName
from sqllake.read.locations import SQL_NORMALIZE
from sqllake.read.scan_sql import engine_scan_select
from sqllake.read.timetravel import schema_of
from sqllake.result import Column, Result
from sqllake.sql.text import string_list

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from sqllake.context import Context


def _referenced(context: Context) -> Callable[[list[str]], set[str]]:
    """The data files some delete files name (read from the delete files themselves)."""

    def referenced(delete_files: list[str]) -> set[str]:
        (paths,) = context.engine.row(
            f"SELECT list(DISTINCT {SQL_NORMALIZE.format('file_path')}) "
            f"FROM read_parquet({string_list(delete_files)})"
        )
        return set(paths or [])

    return referenced


def feed_sql(
    context: Context, name: TableName, table: Table, start: Bound | None, end: Bound | None
) -> str:
    """The DuckDB SELECT of ``name``'s changes after ``start`` through ``end`` (None: from
    the first snapshot, through the current one)."""
    snapshots = snapshot_range(table, name, start, end)
    last = snapshots[-1] if snapshots else table.current_snapshot()
    schema = schema_of(table, last)
    render = functools.partial(engine_scan_select, context.engine)
    changes = plan_changes(table, name, snapshots, schema, _referenced(context))
    keys = [schema.find_field(i).name for i in schema.identifier_field_ids]
    selects = [change_sql(c, schema, keys, render) for c in changes]
    if not selects:
        return empty_sql(schema, render, name)
    return " UNION ALL ".join(f"({s})" for s in selects)


def snapshot_changes(
    context: Context, name: TableName, parent: int | None, snapshot: int
) -> Result:
    """The rows one snapshot of ``name`` inserted and deleted, streaming (``parent`` is
    the snapshot before it, None for the table's first)."""
    table = context.load(name)
    start = Bound(snapshot_id=parent) if parent is not None else None
    sql = feed_sql(context, name, table, start, Bound(snapshot_id=snapshot))
    stream = context.engine.stream(sql)
    columns = stream.columns
    return Result(
        tuple(Column(n, t) for n, t in zip(columns.names, columns.types, strict=True)),
        stream.batches,
        -1,
        "SELECT",
    )
