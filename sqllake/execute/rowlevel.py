"""DELETE, UPDATE and MERGE INTO: find the rows that change, then write the change.

1. The table's buffered rows are flushed first (one snapshot, as ``FLUSH`` makes: no
   row changes) and this transaction's held INSERT rows written as its files, so every
   row the statement may change is in a file with a position; earlier row-level changes
   of the transaction are checked against, and moved onto, the table's newest snapshot.
2. A DELETE whose WHERE translates exactly to Iceberg's expressions drops the data files
   whose column metrics prove every row matches, from metadata alone.
3. The change set (``rowlevel_sql``) is computed once into a temporary table: each
   changed target row's file and position, and each new row. A target row matched
   twice is a cardinality violation: the statement fails and changes nothing.
4. The change is written in the table's mode (``rowlevel_write``) and staged in the
   transaction, which commits it as one snapshot (``write/rowlevel.py``).

A failure before the end stages nothing and deletes every file the statement wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import Table

from sqllake.catalog import TableName, refuse_relocated_write
from sqllake.compat.row_delta import every_row_matches
from sqllake.context import Pin
from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.execute.query import prepare
from sqllake.execute.rowlevel_sql import change_set_sql
from sqllake.execute.rowlevel_write import Change, write_change
from sqllake.execute.scans import scan_select
from sqllake.plan import nodes
from sqllake.read.pushdown import exact_filter, row_filter
from sqllake.read.scan import ScanPlan, plan_scan
from sqllake.read.scan_sql import ROW_FILE, ROW_POS
from sqllake.result import Result
from sqllake.sql import parse
from sqllake.types import unwritable
from sqllake.write.buffer import flushed_sequence
from sqllake.write.rowlevel import (
    MERGE_ON_READ,
    StagedRows,
    isolation_level,
    validate,
    write_mode,
)

if TYPE_CHECKING:
    from sqllake.context import Context


def _refuse(session: Context, name: TableName, table: Table, mode: str, statement: str) -> None:
    refuse_relocated_write(table, name)
    blocking = unwritable(table.schema())
    if blocking is not None:
        raise NotSupportedError(f"table {name} has {blocking}, which sqllake cannot write yet")
    if mode == MERGE_ON_READ and table.metadata.format_version < 2:
        raise NotSupportedError(
            f"table {name} is an Iceberg format-version 1 table, which has no delete files: "
            f"set 'write.{statement}.mode' to 'copy-on-write' or upgrade it "
            "('format-version' = '2')"
        )
    transaction = session.transaction
    others = [t for t in transaction.tables_written() if t != name]
    if others and not session.lakehouse.is_sql_catalog:
        raise NotSupportedError(
            f"this transaction already wrote {others[0]}: writing a second table in one "
            "transaction needs a SQL catalog, which commits all tables atomically"
        )
    if transaction.replacement_of(name) is not None:
        raise NotSupportedError(
            f"{statement.upper()} of table {name} after TRUNCATE or INSERT OVERWRITE of it "
            "in the same transaction is not supported: commit first"
        )


def _settle(session: Context, name: TableName) -> Table:
    """The table with every row the statement may change in a file (see step 1)."""
    if session.buffer is not None:
        table = session.lakehouse.load(name)
        if session.buffer.stats(name, flushed_sequence(table.metadata)).rows:
            session.buffer.flush(name, session.lakehouse)
    session.transaction.write_held(session.lakehouse, name)
    table = session.lakehouse.load(name)
    staged = session.transaction.staged_rows(name)
    head = table.current_snapshot()
    head_id = head.snapshot_id if head is not None else None
    if staged is not None and staged.base != head_id:
        validate(name, table.io, table.metadata, staged)
        staged.base = head_id
    return table


def _pruning(plan: nodes.ChangeRows, table: Table, session: Context) -> BooleanExpression:
    """The filter that may prune the target's files: the WHERE of a DELETE or UPDATE,
    and a MERGE's ON when target rows it does not match are left alone."""
    if plan.condition is None:
        return AlwaysTrue()
    if any(c.match == "not_matched_by_source" for c in plan.clauses):
        return AlwaysTrue()
    return row_filter(
        plan.condition, table.schema(), _resolver(plan, table), session.engine.time_zone
    )


def _resolver(plan: nodes.ChangeRows, table: Table):  # type: ignore[no-untyped-def]
    names = {field.name.lower(): field.name for field in table.schema().fields}
    alias = plan.alias.lower()
    unqualified_is_mine = not plan.sources

    def resolve(column: Any) -> str | None:
        qualifier = column.table.lower()
        if (qualifier and qualifier != alias) or (not qualifier and not unqualified_is_mine):
            return None
        return names.get(column.name.lower())

    return resolve


def _whole_files(
    session: Context, plan: nodes.ChangeRows, table: Table, scan: ScanPlan
) -> tuple[ScanPlan, list[Any], int]:
    """Files a DELETE removes whole, read from metadata only (their column metrics
    prove every row matches); the scan without them, the files, their live rows."""
    if plan.statement != "delete" or plan.sources:
        return scan, [], 0
    if plan.condition is None:
        condition: BooleanExpression | None = AlwaysTrue()
    else:
        condition = exact_filter(
            plan.condition, table.schema(), _resolver(plan, table), session.engine.time_zone
        )
    if condition is None:
        return scan, [], 0
    whole = []
    for ref in scan.files:
        if ref.entry is None:
            continue
        if isinstance(condition, AlwaysTrue) or every_row_matches(
            table.schema(), condition, ref.entry
        ):
            whole.append(ref)
    if not whole:
        return scan, [], 0
    paths = {ref.recorded for ref in whole}
    rest = replace(scan, files=tuple(f for f in scan.files if f.recorded not in paths))
    if scan.has_deletes:  # rows other deletes removed already: count what is left
        only = replace(scan, files=tuple(whole))
        rows = int(session.engine.row(f"SELECT count(*) FROM ({scan_select(session, only)})")[0])
    else:
        rows = sum(ref.entry.record_count for ref in whole if ref.entry is not None)
    return rest, [ref.entry for ref in whole if ref.entry is not None], rows


def _cardinality(session: Context, changes: str, plan: nodes.ChangeRows, name: TableName) -> None:
    twice = session.engine.row(
        f"SELECT {ROW_FILE}, {ROW_POS} FROM {changes} WHERE {ROW_FILE} IS NOT NULL "
        f"GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
    )
    if twice:
        raise ProgrammingError(
            f"{plan.statement.upper()} matched one row of {name} with more than one source "
            "row (cardinality violation): a target row may be changed once; nothing was changed",
            offset=0,
        )


def change_rows(session: Context, plan: nodes.ChangeRows, params: Sequence[Any]) -> Result:
    if plan.parameters != len(params):
        raise ProgrammingError(
            f"the statement has {plan.parameters} parameters (?) "
            f"but {len(params)} values were given",
            offset=0,
        )
    name = session.table_name(plan.target)
    table = session.load(name, plan.target.offset)
    mode = write_mode(table.properties, plan.statement)
    _refuse(session, name, table, mode, plan.statement)
    table = _settle(session, name)
    transaction = session.transaction
    head = table.current_snapshot()
    staged = transaction.staged_rows(name) or StagedRows(head.snapshot_id if head else None)
    pruning = _pruning(plan, table, session)
    scan = plan_scan(
        table,
        name,
        head,
        table.schema(),
        pruning,
        transaction.files(name),
        removed=staged.removed_paths,
        deletes=staged.deletes,
    )
    scan, dropped, dropped_rows = _whole_files(session, plan, table, scan)
    target_view = session.engine.view(scan_select(session, scan, row_ids=True))
    fields = list(table.schema().fields)
    sql = change_set_sql(plan, fields, str(name), target_view)
    prepared = prepare(session, nodes.Query(parse(sql), sql, 0))
    changes = session.engine.materialize(prepared.sql, params)
    if plan.sources:  # without a source each target row appears once
        _cardinality(session, changes, plan, name)
    count = int(session.engine.row(f"SELECT count(*) FROM {changes}")[0]) + dropped_rows
    if not count and not dropped:  # nothing changes: no snapshot
        return Result.status_only(f"{plan.statement.upper()} 0", rowcount=0)
    change = Change(name, table, scan, changes, mode, dropped)
    write_change(session, change, staged)
    staged.note(plan.statement.upper(), isolation_level(table.properties, plan.statement), pruning)
    transaction.stage_rows(name, staged)
    if session.isolated:  # later reads in the transaction see the snapshot changed
        transaction.repin(name, Pin(staged.base, ()))
    return Result.status_only(f"{plan.statement.upper()} {count}", rowcount=count)
