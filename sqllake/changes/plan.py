"""The change feed: which rows each snapshot of a table inserted and deleted.

Built on the table's own snapshot log, so it sees the commits of every engine. For each
snapshot of the range (oldest first) the files it touched are found by comparing its
scan plan with its parent's:

- rows of the data files it added are inserted;
- rows of the data files it removed, and rows that the delete files it added stopped,
  are deleted;
- a copy-on-write rewrite removes files and adds files holding most of the same rows:
  the parent's rows of the touched files and the snapshot's rows of them are compared
  as multisets, so rows carried over unchanged cancel out and only real changes remain.

Snapshots whose operation is ``replace`` (compaction) change no row and are skipped.
With identifier fields, a key deleted once and inserted once by one snapshot becomes an
``update_preimage`` / ``update_postimage`` pair.

Only committed snapshots are changes: rows still in the insert buffer appear once a
flush commits them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pyiceberg.expressions import AlwaysTrue
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from sqllake.errors import OperationalError, ProgrammingError
from sqllake.names import TableName
from sqllake.read.scan import DataFileRef, DeleteFileRef, ScanPlan, plan_scan
from sqllake.read.timetravel import snapshot_as_of, snapshot_by_version
from sqllake.sql.text import quote_identifier, quote_string

# The columns the feed adds to the table's own, in order, with their DuckDB types.
CHANGE_COLUMNS = (
    ("_change_type", "VARCHAR"),
    ("_snapshot_id", "BIGINT"),
    ("_commit_timestamp", "TIMESTAMPTZ"),
    ("_change_ordinal", "INTEGER"),
)

# Rewrites of the same rows: they change no row.
_NO_CHANGE_OPERATIONS = {"replace"}
_APPEND = "append"


@dataclass(frozen=True)
class Bound:
    """One end of a range: a snapshot id, a tag or branch, or a moment."""

    snapshot_id: int | None = None
    ref: str | None = None
    moment: datetime.datetime | None = None


@dataclass(frozen=True)
class SnapshotChange:
    ordinal: int
    snapshot: Snapshot
    before: ScanPlan | None  # the parent's rows in the files this snapshot touched
    after: ScanPlan  # this snapshot's rows in the files it added or touched


def _pick(table: Table, name: TableName, bound: Bound) -> Snapshot:
    if bound.moment is not None:
        return snapshot_as_of(table, name, bound.moment)
    return snapshot_by_version(table, name, bound.snapshot_id or bound.ref)


def _ms(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _is_origin(snapshot: Snapshot) -> bool:
    """Whether a snapshot without a parent started the table, rather than losing its
    parent to expiry (PyIceberg clears the parent of a snapshot whose parent it expires):
    an origin's totals are what it added."""
    if snapshot.summary is None:
        return True
    # Summary answers None for absent keys (even to ``in``): read its plain properties.
    summary = snapshot.summary.additional_properties
    before = 0
    for total, added, removed in (
        ("total-records", "added-records", "deleted-records"),
        ("total-data-files", "added-data-files", "deleted-data-files"),
    ):
        if total not in summary:
            return True
        counts = {key: int(summary[key]) if key in summary else 0 for key in (added, removed)}
        before += int(summary[total]) - counts[added] + counts[removed]
    return before == 0


def _expired(name: TableName, oldest: Snapshot) -> OperationalError:
    return OperationalError(
        f"the changes of table {name} in this range cannot be told: the history before "
        f"snapshot {oldest.snapshot_id} has expired; start from snapshot "
        f"{oldest.snapshot_id} or later"
    )


def snapshot_range(
    table: Table, name: TableName, start: Bound | None, end: Bound | None
) -> list[Snapshot]:
    """The snapshots after ``start`` (exclusive) up to ``end`` (inclusive), oldest first.

    ``start`` None means from the table's first snapshot; ``end`` None, its current one.
    A range whose history has expired is refused: its changes cannot be told.
    """
    last = _pick(table, name, end) if end is not None else table.current_snapshot()
    if last is None:
        return []
    start_id = None
    if start is not None and start.moment is None:
        start_id = _pick(table, name, start).snapshot_id
    chain: list[Snapshot] = []
    current: Snapshot | None = last
    while current is not None:
        if current.snapshot_id == start_id:
            return chain[::-1]
        moment = start.moment if start is not None else None
        if moment is not None and current.timestamp_ms <= _ms(moment):
            return chain[::-1]
        chain.append(current)
        parent_id = current.parent_snapshot_id
        if parent_id is None:
            if not _is_origin(current):
                raise _expired(name, current)
            break
        current = table.metadata.snapshot_by_id(parent_id)
        if current is None:
            raise _expired(name, chain[-1])
    if start_id is not None:
        raise ProgrammingError(
            f"snapshot {start_id} of table {name} is not an ancestor of snapshot "
            f"{last.snapshot_id}: the range has no changes to tell"
        )
    return chain[::-1]


def _delete_paths(plan: ScanPlan) -> set[str]:
    return {
        d.path
        for group in (plan.position_deletes, plan.equality_deletes, plan.deletion_vectors)
        for d in group
    }


def _touched(
    parent: ScanPlan,
    new_deletes: Sequence[DeleteFileRef],
    kinds: dict[str, str],
    referenced: Callable[[list[str]], set[str]],
) -> set[str]:
    """The parent's data files (recorded paths) that new delete files may apply to."""
    positions = [d.path for d in new_deletes if kinds[d.path] == "position"]
    touched = referenced(positions) if positions else set()
    for delete in new_deletes:
        kind = kinds[delete.path]
        if kind == "vector":  # names its file inside the Puffin blob: take every file
            touched |= {f.recorded for f in parent.files}
        elif kind == "equality":
            touched |= {
                f.recorded
                for f in parent.files
                if f.sequence < delete.sequence
                and (delete.partition_key is None or delete.partition_key == f.partition_key)
            }
    return touched


def _delete_kinds(plan: ScanPlan) -> dict[str, str]:
    kinds = {d.path: "position" for d in plan.position_deletes}
    kinds.update({d.path: "equality" for d in plan.equality_deletes})
    kinds.update({d.path: "vector" for d in plan.deletion_vectors})
    return kinds


def _only(plan: ScanPlan, recorded: set[str]) -> ScanPlan:
    files: tuple[DataFileRef, ...] = tuple(f for f in plan.files if f.recorded in recorded)
    return replace(plan, files=files)


def plan_changes(
    table: Table,
    name: TableName,
    snapshots: list[Snapshot],
    schema: Schema,
    referenced: Callable[[list[str]], set[str]],
) -> list[SnapshotChange]:
    """What each snapshot changed, as two restricted scans: before and after.

    ``referenced`` gives the data files (recorded, normalized paths) that position
    delete files name, read from the delete files themselves.
    """

    full: dict[int, ScanPlan] = {}

    def plan(snapshot_id: int | None) -> ScanPlan | None:
        """Every file of a snapshot, planned once however many changes need it."""
        if snapshot_id is None:
            return None
        if snapshot_id not in full:
            snapshot = table.metadata.snapshot_by_id(snapshot_id)
            assert snapshot is not None  # snapshot_range checked the lineage
            full[snapshot_id] = plan_scan(table, name, snapshot, schema, AlwaysTrue(), [])
        return full[snapshot_id]

    changes = []
    for ordinal, snapshot in enumerate(snapshots):
        operation = snapshot.summary.operation.value if snapshot.summary else "overwrite"
        if operation in _NO_CHANGE_OPERATIONS:
            continue
        if operation == _APPEND:
            # An append only adds data files, and no delete file can apply to files newer
            # than itself: its rows are the rows of its files, read from its own manifests.
            added = plan_scan(table, name, snapshot, schema, AlwaysTrue(), [], added_only=True)
            changes.append(SnapshotChange(ordinal, snapshot, None, added))
            continue
        before, after = plan(snapshot.parent_snapshot_id), plan(snapshot.snapshot_id)
        assert after is not None
        now = {f.recorded for f in after.files}
        if before is None:
            changes.append(SnapshotChange(ordinal, snapshot, None, after))
            continue
        before_files = {f.recorded for f in before.files}
        kinds = _delete_kinds(after)
        known = _delete_paths(before)
        new_deletes = [
            d
            for group in (after.position_deletes, after.equality_deletes, after.deletion_vectors)
            for d in group
            if d.path not in known
        ]
        touched = _touched(before, new_deletes, kinds, referenced) & before_files
        removed = before_files - now
        added_files = now - before_files
        old = touched | removed
        changes.append(
            SnapshotChange(
                ordinal,
                snapshot,
                _only(before, old) if old else None,
                _only(after, added_files | (touched & now)),
            )
        )
    return changes


def _timestamp(snapshot: Snapshot) -> str:
    moment = datetime.datetime.fromtimestamp(snapshot.timestamp_ms / 1000, datetime.UTC)
    return f"TIMESTAMPTZ {quote_string(moment.isoformat())}"


def _tagged(select: str, kind: str, change: SnapshotChange) -> str:
    return (
        f"SELECT *, {quote_string(kind)} AS _change_type, {change.snapshot.snapshot_id}::BIGINT AS "
        f"_snapshot_id, {_timestamp(change.snapshot)} AS _commit_timestamp, "
        f"{change.ordinal}::INTEGER AS _change_ordinal FROM ({select})"
    )


def _paired(select: str, schema: Schema, keys: Sequence[str]) -> str:
    """Turn a key deleted once and inserted once into an update pair."""
    partition = ", ".join(quote_identifier(k) for k in keys)
    columns = ", ".join(quote_identifier(f.name) for f in schema.fields)
    counted = (
        f"SELECT *, count(*) FILTER (WHERE _change_type = 'delete') OVER __k AS __deletes, "
        f"count(*) FILTER (WHERE _change_type = 'insert') OVER __k AS __inserts "
        f"FROM ({select}) WINDOW __k AS (PARTITION BY {partition})"
    )
    return (
        f"SELECT {columns}, CASE WHEN __deletes = 1 AND __inserts = 1 THEN "
        "(CASE _change_type WHEN 'delete' THEN 'update_preimage' ELSE 'update_postimage' END) "
        "ELSE _change_type END AS _change_type, _snapshot_id, _commit_timestamp, "
        f"_change_ordinal FROM ({counted})"
    )


def change_sql(
    change: SnapshotChange, schema: Schema, keys: Sequence[str], render: Callable[[ScanPlan], str]
) -> str:
    """The DuckDB SELECT of one snapshot's changes: the table's columns, then the feed's."""
    after = render(change.after)
    if change.before is None:
        return _tagged(after, "insert", change)
    before = render(change.before)
    deleted = _tagged(f"({before}) EXCEPT ALL ({after})", "delete", change)
    inserted = _tagged(f"({after}) EXCEPT ALL ({before})", "insert", change)
    both = f"{deleted} UNION ALL {inserted}"
    return _paired(both, schema, keys) if keys else both


def empty_sql(schema: Schema, render: Callable[[ScanPlan], str], name: TableName) -> str:
    """A SELECT with the feed's columns and no rows."""
    plan = ScanPlan(table=name, schema=schema, files=(), total_files=0, snapshot_id=None)
    feed = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in CHANGE_COLUMNS)
    return f"SELECT *, {feed} FROM ({render(plan)}) LIMIT 0"
