"""Write a DELETE's, UPDATE's or MERGE's change set in the table's write mode, and
stage it in the transaction.

- Copy-on-write: each data file holding a changed row is rewritten without its
  changed rows, together with the new rows, streamed from the engine in the table's
  write order (sized and sorted like every write); the old files are removed.
- Merge-on-read: the new rows are written as new data files, and the changed rows'
  positions as delete files (``write/deletes.py``). Files this transaction wrote itself
  are always rewritten (nothing committed names them).

Whole files the statement drops are removed without being read. What failure leaves
behind: nothing is staged until every file is written; on failure the files written
so far are deleted.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from sqllake.catalog import TableName
from sqllake.compat.row_delta import live_vectors, referenced_file
from sqllake.errors import IntegrityError
from sqllake.execute.insert import write_order
from sqllake.execute.rowlevel_sql import WRITE, value_column
from sqllake.execute.scans import scan_select
from sqllake.read.deletion_vectors import read_vectors
from sqllake.read.locations import normalize, opened_path
from sqllake.read.scan import ScanPlan
from sqllake.read.scan_sql import ROW_FILE, ROW_POS
from sqllake.sql.text import quote_identifier, quote_string
from sqllake.storage import remove_files
from sqllake.write import bulk
from sqllake.write.deletes import PositionDeleteWriter, delete_file_groups, deletion_vector_file
from sqllake.write.rowlevel import MERGE_ON_READ, StagedRows
from sqllake.write.rows import not_null_error, write_rows

if TYPE_CHECKING:
    from sqllake.context import Context


@dataclass(frozen=True)
class Change:
    """A computed change set, ready to write."""

    name: TableName
    table: Table
    scan: ScanPlan  # the target as the change set read it
    changes: str  # the engine's temporary table of the change set
    mode: str
    dropped: list[DataFile]  # whole files removed from metadata


def _new_rows_sql(change: Change) -> str:
    fields = change.table.schema().fields
    columns = ", ".join(
        f"{value_column(i)} AS {quote_identifier(f.name)}" for i, f in enumerate(fields)
    )
    return f"SELECT {columns} FROM {change.changes} WHERE {WRITE}"


def _survivors_sql(session: Context, change: Change, paths: set[str]) -> str:
    """The rows of the files ``paths`` that the change set leaves alone."""
    scan = replace(change.scan, files=tuple(f for f in change.scan.files if f.recorded in paths))
    columns = ", ".join(f"__x.{quote_identifier(f.name)}" for f in change.table.schema().fields)
    return (
        f"SELECT {columns} FROM ({scan_select(session, scan, row_ids=True)}) AS __x "
        f"ANTI JOIN (SELECT {ROW_FILE}, {ROW_POS} FROM {change.changes} "
        f"WHERE {ROW_FILE} IS NOT NULL) AS __c "
        f"ON __x.{ROW_FILE} = __c.{ROW_FILE} AND __x.{ROW_POS} = __c.{ROW_POS}"
    )


def _write(session: Context, change: Change, sql: str) -> list[DataFile]:
    """The rows of ``sql`` (the table's columns, in its types) as new data files: by the
    engine's own Parquet writer where the table allows (``write/bulk.py``; a rewrite of
    a whole table then costs what loading it costs), else through Arrow.

    A NOT NULL violation names the column and table but no row: the writers count rows
    in the order written (survivors of a rewrite first), which no statement shows."""
    try:
        return _written_files(session, change, sql)
    except IntegrityError as exc:
        if exc.row is None or exc.column is None or exc.table is None:
            raise
        raise not_null_error(exc.column, exc.table, None) from None


def _written_files(session: Context, change: Change, sql: str) -> list[DataFile]:
    order = write_order(change.table)
    if bulk.eligible(change.table):

        def run(statement: str) -> list[tuple[Any, ...]]:
            return session.engine.relation(statement).fetchall()

        return bulk.copy_rows(run, change.table, str(change.name), sql, order).files
    with session.engine.stream(f"SELECT * FROM ({sql}){order}") as stream:
        return write_rows(change.table, str(change.name), stream.batches, session.engine.threads)


def _positions(session: Context, change: Change) -> dict[str, list[int]]:
    rows = session.engine.relation(
        f"SELECT {ROW_FILE}, list({ROW_POS} ORDER BY {ROW_POS}) FROM {change.changes} "
        f"WHERE {ROW_FILE} IS NOT NULL GROUP BY {ROW_FILE}"
    ).fetchall()
    return {str(path): [int(p) for p in positions] for path, positions in rows}


# Rows of a position delete file written at once: each write is a row group (12 MiB).
_DELETE_BATCH_ROWS = 1 << 20


def _position_deletes(
    session: Context, change: Change, marked: set[str], committed: dict[str, Any]
) -> list[DataFile]:
    """Format 2: the change's positions in the ``marked`` files as position delete
    files, one per partition. DuckDB numbers, groups and sorts the rows (spilling to
    disk as it needs) and streams them to the files: a statement may delete millions."""
    groups = delete_file_groups(marked, committed, change.table)
    ordered = [path for group in groups for path in group]
    firsts = list(itertools.accumulate((len(g) for g in groups), initial=0))
    mapping = ", ".join(f"({quote_string(path)}, {n})" for n, path in enumerate(ordered))
    writer = PositionDeleteWriter(change.table)
    current = -1
    try:
        with session.engine.stream(
            f"SELECT __m.__n, __c.{ROW_POS} AS pos FROM {change.changes} AS __c "
            f"JOIN (VALUES {mapping}) AS __m(__file, __n) ON __c.{ROW_FILE} = __m.__file "
            "ORDER BY 1, 2",
            batch_rows=_DELETE_BATCH_ROWS,
        ) as stream:
            for batch in stream.batches:
                numbers, positions = batch.column(0), batch.column(1)
                at = 0
                while at < len(batch):
                    group = bisect.bisect_right(firsts, numbers[at].as_py()) - 1
                    if group != current:
                        writer.start([committed[path] for path in groups[group]])
                        current = group
                    # The rows of this batch up to the group's end.
                    end = at + int(pc.sum(pc.less(numbers[at:], firsts[group + 1])).as_py() or 0)
                    which = pc.subtract(numbers[at:end], firsts[group])
                    writer.write(which, positions[at:end])
                    at = end
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return writer.written


def _vectors(
    change: Change, staged: StagedRows, deleted: dict[str, list[int]]
) -> tuple[list[DataFile], list[DataFile], list[DataFile]]:
    """Format 3: the data files' earlier vectors (committed and this transaction's) are
    merged into the new ones, which replace them. (new entries, committed entries
    replaced, this transaction's entries that stay)."""
    merged: dict[str, set[int]] = {path: set(p) for path, p in deleted.items()}
    replaced: list[DataFile] = []
    snapshot = change.table.metadata.snapshot_by_id(change.scan.snapshot_id or -1)
    listed = live_vectors(change.table.io, snapshot.manifest_list) if snapshot is not None else []
    for entry in listed:
        referenced = _referenced(entry)
        if referenced not in merged:
            continue
        for vector in read_vectors(opened_path(change.table.io, entry.file_path, str(change.name))):
            if vector.referenced == referenced:
                merged[referenced].update(vector.positions)
        replaced.append(entry)
    kept = []
    for entry in staged.deletes:
        referenced = _referenced(entry)
        if referenced in merged:
            for vector in read_vectors(entry.file_path):
                if vector.referenced == referenced:
                    merged[referenced].update(vector.positions)
        else:
            kept.append(entry)
    entries = {f.recorded: f.entry for f in change.scan.files if f.entry is not None}
    written = deletion_vector_file(change.table, {p: sorted(v) for p, v in merged.items()}, entries)
    return written, replaced, kept


def _referenced(entry: DataFile) -> str | None:
    found = referenced_file(entry)
    return normalize(found) if found else None


def _own_files(session: Context, change: Change) -> dict[str, DataFile]:
    return {normalize(f.file_path): f for f in session.transaction.files(change.name)}


def write_change(session: Context, change: Change, staged: StagedRows) -> None:
    """Write the change and stage it (see the module docs)."""
    affected = {
        str(row[0])
        for row in session.engine.relation(
            f"SELECT DISTINCT {ROW_FILE} FROM {change.changes} WHERE {ROW_FILE} IS NOT NULL"
        ).fetchall()
    }
    own = _own_files(session, change)
    committed = {f.recorded: f.entry for f in change.scan.files if f.entry is not None}
    rewrite = {p for p in affected if p in own}
    if change.mode != MERGE_ON_READ:
        rewrite = {p for p in affected if p in own or p in committed}
    written: list[DataFile] = []
    deletes: list[DataFile] = []
    replaced: list[DataFile] = []
    kept_deletes = staged.deletes
    marked = {p for p in affected if p in committed and p not in rewrite}
    try:
        if rewrite:
            sql = f"{_survivors_sql(session, change, rewrite)} UNION ALL {_new_rows_sql(change)}"
        else:
            sql = _new_rows_sql(change)
        written = _write(session, change, sql)
        if marked:
            if change.table.metadata.format_version >= 3:
                deleted = {p: v for p, v in _positions(session, change).items() if p in marked}
                deletes, replaced, kept_deletes = _vectors(change, staged, deleted)
            else:
                deletes = _position_deletes(session, change, marked, committed)
    except BaseException:
        remove_files(f.file_path for f in [*written, *deletes])
        raise
    _stage(session, change, staged, rewrite, own, committed, written, replaced)
    staged.changed.update(marked)
    staged.deletes = [*kept_deletes, *deletes]


def _stage(
    session: Context,
    change: Change,
    staged: StagedRows,
    rewrite: set[str],
    own: dict[str, DataFile],
    committed: dict[str, Any],
    written: list[DataFile],
    replaced: list[DataFile],
) -> None:
    transaction = session.transaction
    gone = [own[p] for p in rewrite if p in own]
    if gone:  # this transaction's own files, rewritten: never committed
        transaction.forget_files(change.name, gone)
    for path in rewrite:
        if path in committed:
            staged.removed[path] = committed[path]
    for file in change.dropped:
        staged.removed[normalize(file.file_path)] = file
    staged.changed.update(p for p in rewrite if p in committed)
    staged.changed.update(normalize(f.file_path) for f in change.dropped)
    staged.replaced.extend(replaced)
    if written:
        transaction.add(change.name, written)
