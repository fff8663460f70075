"""A query's lakehouse tables: each reference pointed at a pruned scan of its table.

:mod:`sqllake.execute.query` imports this module when a statement names a table; it
brings the catalog and PyIceberg with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot
from sqlglot import exp

from sqllake.catalog import TableName
from sqllake.context import Pin
from sqllake.errors import ProgrammingError, located
from sqllake.execute.changes import feed_calls, point_at_feed
from sqllake.execute.constants import evaluate, moment, refuse_non_constant
from sqllake.execute.scans import scan_select
from sqllake.plan import nodes
from sqllake.read.information_schema import VIEWS
from sqllake.read.locations import normalize as normalize_path
from sqllake.read.metadata_tables import metadata_table, split_name
from sqllake.read.pushdown import row_filter
from sqllake.read.query import (
    TableReference,
    is_information_view,
    point_at_view,
    pruning_scope,
)
from sqllake.read.scan import ScanPlan, plan_scan
from sqllake.read.timetravel import schema_of, snapshot_as_of, snapshot_by_version
from sqllake.sql.dialect import DIALECT
from sqllake.sql.text import quote_identifier
from sqllake.write.buffer import BufferedRows, align, flushed_sequence

if TYPE_CHECKING:
    from pyiceberg.schema import Schema

    from sqllake.context import Context


def _resolver(ref: TableReference, schema: Schema, unqualified_is_mine: bool):  # type: ignore[no-untyped-def]
    names = {field.name.lower(): field.name for field in schema.fields}
    qualifiers = {ref.alias.lower(), ref.parts[-1].lower()}

    def resolve(column: exp.Column) -> str | None:
        qualifier = column.table.lower()
        if (qualifier and qualifier not in qualifiers) or (
            not qualifier and not unqualified_is_mine
        ):
            return None
        return names.get(column.name.lower())

    return resolve


def _as_of(session: Context, table: Table, name: TableName, ref: TableReference) -> Snapshot:
    """The snapshot a FOR VERSION / TIMESTAMP AS OF clause names (its value may be any
    constant expression, evaluated by the engine)."""
    assert ref.as_of is not None
    value = ref.as_of.args["expression"]
    refuse_non_constant(
        value,
        "the value of AS OF must be a constant (a snapshot id, tag, branch or timestamp)",
        ref.offset,
    )
    expression = value.sql(dialect=DIALECT)
    timestamp = str(ref.as_of.this).upper() == "TIMESTAMP"
    with located(ref.offset):
        constant = (
            moment(session, expression)
            if timestamp
            else evaluate(session, f"SELECT {expression}")[0]
        )
        if constant is None:
            raise ProgrammingError(f"AS OF NULL names no snapshot of table {name}")
        if timestamp:
            return snapshot_as_of(table, name, constant)
        return snapshot_by_version(table, name, constant)


def _scan(session: Context, ref: TableReference, name: TableName, table: Table) -> ScanPlan:
    if ref.as_of is not None:
        snapshot = _as_of(session, table, name, ref)
        schema = schema_of(table, snapshot)
        # A pinned read sees that snapshot only: no pruning by the current schema's
        # names, no uncommitted files of this transaction.
        return plan_scan(table, name, snapshot, schema, AlwaysTrue(), [])
    current = table.current_snapshot()
    pinned = session.transaction.pin_of(name) if session.isolated else None
    if pinned is not None:
        # A transaction keeps reading the snapshot it first read (snapshot isolation).
        found = table.metadata.snapshot_by_id(pinned.snapshot_id) if pinned.snapshot_id else None
        current = found
    schema = table.schema()
    where, unqualified_is_mine = pruning_scope(ref)
    resolve = _resolver(ref, schema, unqualified_is_mine)
    predicate = row_filter(where, schema, resolve, session.engine.time_zone)
    pending = session.transaction.files(name)
    staged = session.transaction.staged_rows(name)
    if staged is None:
        scan = plan_scan(table, name, current, schema, predicate, pending)
    else:  # what this transaction's DELETE, UPDATE and MERGE statements changed
        scan = plan_scan(
            table,
            name,
            current,
            schema,
            predicate,
            pending,
            removed=staged.removed_paths,
            deletes=staged.deletes,
        )
    replaced = session.transaction.replacement_of(name)
    if replaced is None:
        return scan
    # A TRUNCATE or INSERT OVERWRITE earlier in the transaction dropped these files.
    gone = {normalize_path(path) for path in replaced.removed_paths}
    return replace(scan, files=tuple(f for f in scan.files if f.recorded not in gone))


def _with_buffer(
    session: Context, table: Table, buffered: BufferedRows | None, scan: ScanPlan
) -> tuple[str, ScanPlan]:
    """The scan's SQL, plus the table's buffered rows that no snapshot holds yet."""
    sql = scan_select(session, scan)
    if buffered is None:
        return sql, scan
    flushed = flushed_sequence(table.metadata, scan.snapshot_id)
    rows = buffered.after(flushed)
    if session.isolated:
        mark = max([flushed, *(seq for seq, _ in buffered.batches)])
        pin = Pin(scan.snapshot_id, tuple(rows), mark)
        rows = list(session.transaction.pin(scan.table, pin).buffered)
        rows += session.transaction.held_rows(scan.table)  # this transaction's own INSERTs
    if not rows:
        return sql, scan
    arrow = pa.Table.from_batches([align(batch, table) for batch in rows])
    view = session.engine.register(arrow)
    union = f"SELECT * FROM ({sql}) UNION ALL SELECT * FROM {quote_identifier(view)}"
    return union, replace(scan, buffered_rows=arrow.num_rows)


def point_at_tables(
    session: Context, tree: exp.Expr, references: list[TableReference]
) -> tuple[ScanPlan, ...]:
    """Point every table reference of ``tree`` (the statement's own copy) at its scan,
    a metadata table or an ``information_schema`` view; the scans planned."""
    scans = []
    for call in list(feed_calls(tree)):
        point_at_feed(session, call)
    for ref in references:
        if is_information_view(ref.parts):
            view = VIEWS[ref.parts[1]](session.lakehouse, session.row_count)
            point_at_view(ref, session.engine.register(view))
            continue
        base, kind = split_name(ref.parts[-1])
        name = session.table_name(nodes.Name((*ref.parts[:-1], base), ref.offset))
        # Buffered rows are read before the metadata: a flush committed in between is
        # then seen in the metadata, and its rows are skipped from the buffer.
        current = kind is None and ref.as_of is None and session.buffer is not None
        buffered = session.buffer.read(name) if current and session.buffer else None
        table = session.load(name, ref.offset)
        if kind is not None:
            with located(ref.offset):
                view = session.engine.register(metadata_table(table, kind))
            point_at_view(ref, view)
            continue
        with located(ref.offset):
            sql, scan = _with_buffer(session, table, buffered, _scan(session, ref, name, table))
            point_at_view(ref, session.engine.view(sql))
        scans.append(scan)
    return tuple(scans)
