"""TRUNCATE and INSERT OVERWRITE: rows replaced by dropping whole files from metadata.

Both decide, on the snapshot the statement reads, which files go (see
``write/overwrite.py``), and stage that in the transaction; the commit is one snapshot
per table (``delete`` for a TRUNCATE, ``overwrite`` when rows are added), atomic with
the transaction's other tables. Rows in the insert buffer are replaced too: the
snapshot records the buffer's mark, which hides every buffered row the statement saw,
and those of them outside the replaced partitions are written again as files.

INSERT OVERWRITE writes its rows like any INSERT (sized, sorted files; never the insert
buffer), then replaces, in Spark's terms:

- ``static`` mode (the default, as in Spark): the partitions a ``PARTITION (c = v)``
  clause names, or without one the whole table;
- ``dynamic`` mode (``SET partition_overwrite_mode = 'dynamic'``): the partitions the
  query wrote rows into;
- an unpartitioned table: the whole table, in either mode.

Files of an older partition spec cannot tell which of their rows lie in a partition of
the current one: they are read, and their rows outside the replaced partitions written
again. A failed statement leaves the transaction as it was and deletes what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.partitioning import partition_record_value
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import NestedField

from sqllake.catalog import TableName, refuse_relocated_write
from sqllake.context import Pin
from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.execute.constants import evaluate
from sqllake.execute.insert import insert as plain_insert
from sqllake.execute.insert import insert_rows, write_order
from sqllake.execute.query import prepare
from sqllake.execute.scans import scan_select
from sqllake.plan import nodes
from sqllake.properties import table_property
from sqllake.read.locations import normalize
from sqllake.read.scan import plan_scan
from sqllake.result import Result
from sqllake.sql import parse
from sqllake.sql.dialect import DIALECT
from sqllake.sql.text import quote_identifier
from sqllake.types import duckdb_type
from sqllake.write.buffer import align, flushed_sequence
from sqllake.write.compact import live_files
from sqllake.write.ordering import sort_rows
from sqllake.write.overwrite import (
    ISOLATION_PROPERTY,
    SERIALIZABLE,
    Replacement,
    Scope,
    partition_key,
)
from sqllake.write.partitioning import split
from sqllake.write.rows import write_rows
from sqllake.write.settings import DYNAMIC

if TYPE_CHECKING:
    from sqllake.context import Context


@dataclass(frozen=True)
class _Seen:
    """What the statement reads of its table: a snapshot and the buffered rows on top."""

    table: Table
    snapshot: Snapshot | None
    buffered: tuple[pa.RecordBatch, ...]
    mark: int  # the highest buffer sequence number among them (or the flushed mark)
    start_mark: int  # the flushed mark of the snapshot


def _flushed_at(table: Table, snapshot_id: int | None) -> int:
    return flushed_sequence(table.metadata, snapshot_id) if snapshot_id is not None else 0


def _seen(session: Context, name: TableName, offset: int) -> _Seen:
    """The table as the statement sees it; in a transaction, as it first read it (and
    pinned so from now on). Buffered rows are read before the metadata (see
    ``write/buffer.py``)."""
    pin = session.transaction.pin_of(name) if session.isolated else None
    if pin is not None:
        table = session.load(name, offset)
        found = table.metadata.snapshot_by_id(pin.snapshot_id) if pin.snapshot_id else None
        start = _flushed_at(table, pin.snapshot_id)
        return _Seen(table, found, pin.buffered, max(pin.buffer_mark, start), start)
    rows = session.buffer.read(name) if session.buffer is not None else None
    table = session.load(name, offset)
    snapshot = table.current_snapshot()
    start = _flushed_at(table, snapshot.snapshot_id if snapshot else None)
    batches = [(seq, batch) for seq, batch in rows.batches if seq > start] if rows else []
    mark = max([start, *(seq for seq, _ in batches)])
    seen = _Seen(table, snapshot, tuple(b for _, b in batches), mark, start)
    if session.isolated:
        snapshot_id = snapshot.snapshot_id if snapshot is not None else None
        session.transaction.pin(name, Pin(snapshot_id, seen.buffered, mark))
    return seen


def _refuse(session: Context, name: TableName, table: Table, statement: str) -> None:
    refuse_relocated_write(table, name)
    others = [t for t in session.transaction.tables_written() if t != name]
    if others and not session.lakehouse.is_sql_catalog:
        raise NotSupportedError(
            f"this transaction already wrote {others[0]}: writing a second table in one "
            "transaction needs a SQL catalog, which commits all tables atomically"
        )
    if session.transaction.staged_rows(name) is not None:
        raise NotSupportedError(
            f"{statement} of table {name} after DELETE, UPDATE or MERGE of it in the same "
            "transaction is not supported: commit first"
        )


def _serializable(table: Table) -> bool:
    return table_property(table.properties, ISOLATION_PROPERTY, SERIALIZABLE) == SERIALIZABLE


def _live(session: Context, name: TableName, seen: _Seen) -> list[DataFile]:
    """The committed files the statement sees: the snapshot's, less those the
    transaction already removed."""
    previous = session.transaction.replacement_of(name)
    gone = previous.removed_paths if previous is not None else frozenset()
    files = live_files(seen.table.io, seen.snapshot) if seen.snapshot is not None else []
    return [f for f in files if f.file_path not in gone]


def _row_count(session: Context, name: TableName, seen: _Seen) -> int:
    """The rows a read of the table sees now: from the snapshot summary when it is
    exact (no delete files), else counted."""
    found = seen.snapshot.summary if seen.snapshot is not None else None
    summary: dict[str, str] = found.additional_properties if found is not None else {}
    deletes = int(summary.get("total-delete-files", "0"))
    if seen.snapshot is None or (
        session.transaction.replacement_of(name) is None
        and "total-records" in summary
        and not deletes
    ):
        committed = int(summary.get("total-records", "0"))
        pending = sum(f.record_count for f in session.transaction.files(name))
        held = sum(b.num_rows for b in session.transaction.held_rows(name))
        return int(committed + pending + held + sum(b.num_rows for b in seen.buffered))
    sql = f"SELECT count(*) FROM {'.'.join(quote_identifier(p) for p in name.identifier)}"
    query = nodes.Query(parse(sql), sql, 0)
    return int(session.engine.row(prepare(session, query).sql)[0])


def _stage(
    session: Context,
    name: TableName,
    replacement: Replacement,
    files: list[DataFile],
) -> None:
    """Record the removal; later reads in the transaction see the snapshot less what went,
    plus the transaction's files (buffered rows are now in those or gone)."""
    previous = session.transaction.replacement_of(name)
    mark = max(replacement.buffer_mark, previous.buffer_mark if previous else 0)
    pin = Pin(replacement.start_id, (), mark) if session.isolated else None
    session.transaction.replace_rows(name, replacement, files, pin)


def truncate(session: Context, plan: nodes.Truncate, params: Sequence[Any]) -> Result:
    name = session.table_name(plan.name)
    seen = _seen(session, name, plan.name.offset)
    _refuse(session, name, seen.table, "TRUNCATE")
    count = _row_count(session, name, seen)
    replacement = Replacement(
        start_id=seen.snapshot.snapshot_id if seen.snapshot else None,
        start_mark=seen.start_mark,
        scopes=(Scope(seen.table.metadata.default_spec_id, None),),
        removed=tuple(_live(session, name, seen)),
        buffer_mark=seen.mark,
        kept_buffer=False,
        truncate=True,
        serializable=_serializable(seen.table),
    )
    _stage(session, name, replacement, [])
    return Result.status_only(f"TRUNCATE {count}", rowcount=count)


@dataclass(frozen=True)
class _Static:
    """A PARTITION clause's column with a value: its field, SQL and partition value."""

    field_id: int
    sql: str
    position: int  # of its identity field in the current spec
    value: object  # as the partition tuple holds it


def _partition_columns(
    session: Context, table: Table, name: TableName, clause: tuple[nodes.PartitionValue, ...]
) -> list[_Static]:
    schema, spec = table.schema(), table.spec()
    by_name = {f.name.lower(): f for f in schema.fields}
    statics: list[_Static] = []
    seen: set[str] = set()
    for item in clause:
        field = by_name.get(item.column.lower())
        if field is None:
            raise ProgrammingError(f"table {name} has no column {item.column}", offset=item.offset)
        if field.name in seen:
            raise ProgrammingError(
                f"partition column {field.name} is listed twice", offset=item.offset
            )
        seen.add(field.name)
        positions = [
            i
            for i, p in enumerate(spec.fields)
            if p.source_id == field.field_id
            and (item.value is None or isinstance(p.transform, IdentityTransform))
        ]
        if not positions:
            kind = "an identity partition column" if item.value is not None else "partitioned"
            raise ProgrammingError(
                f"column {field.name} of table {name} is not {kind}: PARTITION (...) names "
                "the table's partition columns",
                offset=item.offset,
            )
        if item.value is None:
            continue  # dynamic: the query gives it
        sql = item.value.sql(dialect=DIALECT)
        (value,) = evaluate(session, f"SELECT CAST(({sql}) AS {duckdb_type(field.field_type)})")
        record = partition_record_value(spec.fields[positions[0]], value, schema)
        statics.append(_Static(field.field_id, sql, positions[0], record))
    return statics


def _targets(
    table: Table, name: TableName, plan: nodes.Insert, statics: list[_Static]
) -> list[NestedField]:
    fixed = {s.field_id for s in statics}
    if plan.columns is None:
        return [f for f in table.schema().fields if f.field_id not in fixed]
    by_name = {f.name.lower(): f for f in table.schema().fields}
    targets = []
    for column, offset in plan.columns:
        found = by_name.get(column.lower())
        if found is None:
            raise ProgrammingError(f"table {name} has no column {column}", offset=offset)
        if found.field_id in fixed:
            raise ProgrammingError(
                f"column {found.name} has a value in PARTITION (...) and cannot be listed too",
                offset=offset,
            )
        if found in targets:
            raise ProgrammingError(f"column {column} is listed twice", offset=offset)
        targets.append(found)
    return targets


def _scope(
    session: Context, table: Table, statics: list[_Static], added: list[DataFile]
) -> Scope | None:
    """The partitions the statement replaces (None: none)."""
    spec_id = table.metadata.default_spec_id
    if not table.spec().fields:
        return Scope(spec_id, None)  # unpartitioned: the whole table, in either mode
    if session.overwrite_mode == DYNAMIC:
        keys = frozenset(partition_key(f) for f in added)
        positions = tuple(range(len(table.spec().fields)))
        return Scope(spec_id, positions, keys) if keys else None
    if not statics:
        return Scope(spec_id, None)  # static without PARTITION values: the whole table
    ordered = sorted(statics, key=lambda s: s.position)
    return Scope(
        spec_id, tuple(s.position for s in ordered), frozenset({tuple(s.value for s in ordered)})
    )


def _outside(
    batches: Iterator[pa.RecordBatch], table: Table, scope: Scope
) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches`` (the table's columns) that the scope does not replace."""
    spec, schema = table.spec(), table.schema()
    for batch in batches:
        for part in split(batch, spec, schema):
            record = part.partition
            if not scope.covers_key(tuple(record[i] for i in range(len(record)))):
                yield part.batch


def _kept_rows(
    session: Context,
    name: TableName,
    seen: _Seen,
    scope: Scope,
    files: tuple[list[DataFile], list[DataFile]],
    buffered: list[pa.RecordBatch],
) -> Iterator[pa.RecordBatch]:
    """Rows of the files that must be read (committed ones with their deletes applied,
    and the transaction's own) and of the buffer, that stay."""
    table = seen.table
    committed, own = files
    if committed or own:
        scan = plan_scan(table, name, seen.snapshot, table.schema(), AlwaysTrue(), own)
        paths = {normalize(f.file_path) for f in [*committed, *own]}
        scan = replace(scan, files=tuple(f for f in scan.files if f.recorded in paths))
        select = f"SELECT * FROM ({scan_select(session, scan)}) AS __rows{write_order(table)}"
        with session.engine.stream(select) as stream:
            yield from _outside(stream.batches, table, scope)
    if buffered:
        rows = sort_rows(table, pa.Table.from_batches([align(b, table) for b in buffered]))
        yield from _outside(iter(rows.to_batches()), table, scope)


def _replace(
    session: Context, name: TableName, seen: _Seen, scope: Scope, before: list[DataFile]
) -> None:
    """Stage the removal of the scope's rows as the statement saw them: committed files,
    the transaction's files written before this statement, its held and buffered rows."""
    removed, partial = [], []
    for file in _live(session, name, seen):
        covered = scope.covers(file) if file.content == DataFileContent.DATA else scope.whole
        if covered is not False:
            removed.append(file)
        if covered is None:
            partial.append(file)
    # The transaction's own files were written with the spec current then: the table's
    # spec changes only by DDL, which takes effect at once.
    spec_id = seen.table.metadata.default_spec_id
    dropped = [f for f in before if scope.covers(f, spec_id) is not False]
    own_partial = [f for f in dropped if scope.covers(f, spec_id) is None]
    held = session.transaction.held_rows(name)
    buffered = [*seen.buffered, *held] if not scope.whole else []
    kept: list[DataFile] = []
    if partial or own_partial or buffered:
        rows = _kept_rows(session, name, seen, scope, (partial, own_partial), buffered)
        kept = write_rows(seen.table, str(name), rows, session.engine.threads)
    gone = {f.file_path for f in dropped}
    pending = [f for f in session.transaction.files(name) if f.file_path not in gone]
    replacement = Replacement(
        start_id=seen.snapshot.snapshot_id if seen.snapshot else None,
        start_mark=seen.start_mark,
        scopes=(scope,),
        removed=tuple(removed),
        buffer_mark=seen.mark,
        kept_buffer=bool(seen.buffered) and not scope.whole,
        truncate=False,
        serializable=_serializable(seen.table),
    )
    _stage(session, name, replacement, pending + kept)


def insert(session: Context, plan: nodes.Insert, params: Sequence[Any]) -> Result:
    """Every INSERT: the plain ones append (``execute/insert.py``)."""
    if plan.overwrite or plan.partition:
        return insert_overwrite(session, plan, params)
    return plain_insert(session, plan, params)


def insert_overwrite(session: Context, plan: nodes.Insert, params: Sequence[Any]) -> Result:
    """INSERT OVERWRITE, and INSERT INTO with a PARTITION clause (static values only
    fill columns: nothing is replaced)."""
    name = session.table_name(plan.name)
    seen = _seen(session, name, plan.name.offset) if plan.overwrite else None
    table = seen.table if seen is not None else session.load(name, plan.name.offset)
    if plan.overwrite:
        _refuse(session, name, table, "INSERT OVERWRITE")
    statics = _partition_columns(session, table, name, plan.partition)
    targets = _targets(table, name, plan, statics)
    assert plan.source is not None
    before = list(session.transaction.files(name))
    constants = {s.field_id: s.sql for s in statics}
    try:
        count = insert_rows(
            session,
            name,
            table,
            targets,
            plan.source,
            params,
            inline=not plan.overwrite,
            constants=constants,
        )
        if seen is not None:
            known = {f.file_path for f in before}
            added = [f for f in session.transaction.files(name) if f.file_path not in known]
            scope = _scope(session, table, statics, added)
            if scope is not None:
                _replace(session, name, seen, scope, before)
    except BaseException:
        # The statement fails as a whole: its files leave the transaction.
        known = {f.file_path for f in before}
        written = [f for f in session.transaction.files(name) if f.file_path not in known]
        session.transaction.forget_files(name, written)
        raise
    return Result.status_only(f"INSERT {count}", rowcount=count)
