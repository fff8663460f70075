"""Branches and tags, and moving the ``main`` branch (rollback, set current snapshot).

Each change is one metadata commit, retried on conflict and checked again on the fresh
metadata (a branch created meanwhile by another writer is then "already exists"). No
data or metadata file is deleted here: a snapshot that no ref reaches any more goes
when snapshots are expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRef, SnapshotRefType
from pyiceberg.table.snapshots import ancestors_of, latest_ancestor_before_timestamp
from pyiceberg.table.update.snapshot import ManageSnapshots

from sqllake.catalog import Lakehouse, TableName
from sqllake.errors import ProgrammingError
from sqllake.write.commit import commit_with_retry

BRANCH = SnapshotRefType.BRANCH
TAG = SnapshotRefType.TAG


@dataclass(frozen=True)
class Retention:
    """A ref's retention: how long the ref lives, and (branches) which snapshots it keeps."""

    max_ref_age_ms: int | None = None
    min_snapshots_to_keep: int | None = None
    max_snapshot_age_ms: int | None = None

    @classmethod
    def of(cls, ref: SnapshotRef) -> Retention:
        return cls(ref.max_ref_age_ms, ref.min_snapshots_to_keep, ref.max_snapshot_age_ms)

    def over(self, old: Retention) -> Retention:
        """These settings, each one not given taken from ``old``."""
        return Retention(
            self.max_ref_age_ms if self.max_ref_age_ms is not None else old.max_ref_age_ms,
            self.min_snapshots_to_keep
            if self.min_snapshots_to_keep is not None
            else old.min_snapshots_to_keep,
            self.max_snapshot_age_ms
            if self.max_snapshot_age_ms is not None
            else old.max_snapshot_age_ms,
        )


@dataclass(frozen=True)
class RefChange:
    """CREATE [OR REPLACE] / REPLACE / DROP of one branch or tag."""

    kind: SnapshotRefType
    name: str
    create: bool  # CREATE (or CREATE OR REPLACE)
    replace: bool  # REPLACE (or CREATE OR REPLACE)
    drop: bool = False
    if_exists: bool = False  # DROP ... IF EXISTS
    if_not_exists: bool = False  # CREATE ... IF NOT EXISTS
    snapshot_id: int | None = None  # AS OF VERSION; None: the current snapshot
    retention: Retention = Retention()


def _label(change: RefChange, table: TableName) -> str:
    return f"{change.kind.value} {change.name} of table {table}"


def _set_ref(
    transaction: Transaction, kind: SnapshotRefType, name: str, snapshot_id: int, keep: Retention
) -> None:
    manage = ManageSnapshots(transaction)
    if kind == BRANCH:
        manage.create_branch(
            snapshot_id,
            name,
            max_ref_age_ms=keep.max_ref_age_ms,
            max_snapshot_age_ms=keep.max_snapshot_age_ms,
            min_snapshots_to_keep=keep.min_snapshots_to_keep,
        )
    else:
        manage.create_tag(snapshot_id, name, max_ref_age_ms=keep.max_ref_age_ms)
    manage.commit()


def _target(metadata: TableMetadata, change: RefChange, table: TableName) -> int:
    if change.snapshot_id is None:
        current = metadata.current_snapshot()
        if current is None:
            raise ProgrammingError(f"table {table} has no snapshot to put {change.name} at")
        return current.snapshot_id
    if metadata.snapshot_by_id(change.snapshot_id) is None:
        raise ProgrammingError(f"table {table} has no snapshot {change.snapshot_id}")
    return change.snapshot_id


def _apply(transaction: Transaction, change: RefChange, table: TableName) -> None:
    metadata = transaction.table_metadata
    existing = metadata.refs.get(change.name)
    if existing is not None and existing.snapshot_ref_type != change.kind:
        other = existing.snapshot_ref_type.value
        raise ProgrammingError(f"{change.name} of table {table} is a {other}, not a {change.kind}")
    if change.drop:
        if existing is None:
            if change.if_exists:
                return
            raise ProgrammingError(f"{_label(change, table)} does not exist")
        if change.name == MAIN_BRANCH:
            raise ProgrammingError(f"the main branch of table {table} cannot be dropped")
        manage = ManageSnapshots(transaction)
        (manage.remove_branch if change.kind == BRANCH else manage.remove_tag)(change.name)
        manage.commit()
        return
    if existing is not None and not change.replace:
        if change.if_not_exists:
            return
        raise ProgrammingError(f"{_label(change, table)} already exists")
    if existing is None and not change.create:
        raise ProgrammingError(f"{_label(change, table)} does not exist")
    keep = change.retention
    if existing is not None:
        keep = keep.over(Retention.of(existing))
    _set_ref(transaction, change.kind, change.name, _target(metadata, change, table), keep)


def change_ref(lakehouse: Lakehouse, table: TableName, change: RefChange) -> None:
    """Create, replace or drop a branch or tag as ``change`` says: one commit."""

    def apply(transaction: Transaction) -> None:
        _apply(transaction, change, table)

    commit_with_retry(lakehouse, [(table, apply)])


def move_main(
    lakehouse: Lakehouse,
    table: TableName,
    snapshot_id: int | None = None,
    ref: str | None = None,
    before_ms: int | None = None,
    ancestor: bool = False,
) -> tuple[int | None, int]:
    """Point ``main`` at a snapshot: by id (``ancestor``: one the current snapshot
    descends from, as a rollback needs), at a branch's or tag's snapshot, or at the
    newest ancestor older than ``before_ms``. The previous and new current snapshot ids."""
    moved: list[tuple[int | None, int]] = []

    def apply(transaction: Transaction) -> None:
        metadata = transaction.table_metadata
        current = metadata.current_snapshot()
        previous = current.snapshot_id if current is not None else None
        target = _main_target(metadata, table, snapshot_id, ref, before_ms)
        if ancestor and target not in {s.snapshot_id for s in ancestors_of(current, metadata)}:
            raise ProgrammingError(
                f"snapshot {target} is not an ancestor of the current snapshot of table "
                f"{table}; set_current_snapshot moves to any snapshot"
            )
        moved[:] = [(previous, target)]
        main = metadata.refs.get(MAIN_BRANCH)
        keep = Retention.of(main) if main is not None else Retention()
        _set_ref(transaction, BRANCH, MAIN_BRANCH, target, keep)

    commit_with_retry(lakehouse, [(table, apply)])
    return moved[0]


def _main_target(
    metadata: TableMetadata,
    table: TableName,
    snapshot_id: int | None,
    ref: str | None,
    before_ms: int | None,
) -> int:
    if ref is not None:
        found = metadata.refs.get(ref)
        if found is None:
            raise ProgrammingError(f"table {table} has no branch or tag named {ref!r}")
        return found.snapshot_id
    if before_ms is not None:
        older = latest_ancestor_before_timestamp(metadata, before_ms)
        if older is None:
            raise ProgrammingError(f"table {table} has no snapshot older than that moment")
        return older.snapshot_id
    if snapshot_id is None or metadata.snapshot_by_id(snapshot_id) is None:
        raise ProgrammingError(f"table {table} has no snapshot {snapshot_id}")
    return snapshot_id
