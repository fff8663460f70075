"""Expiring snapshots: which snapshots and refs go, the commit, then the files they alone
needed.

Which snapshots are kept follows Iceberg's rules (its Java library's, which Spark's
``expire_snapshots`` runs):

- a branch or tag older than its ``max-ref-age-ms`` (default: never) goes, except
  ``main``; every other ref's snapshot stays;
- on every branch the newest ancestors stay while fewer than its
  ``min-snapshots-to-keep`` are kept or while they are newer than its
  ``max-snapshot-age-ms`` (each ref's own setting, else the request's ``retain_last``
  and ``older_than``, else the table properties ``history.expire.*``);
- a snapshot on no branch or tag stays while it is newer than ``older_than``;
- snapshots named in ``snapshot_ids`` go (naming a ref's snapshot is an error).

Failure semantics: nothing is deleted before the commit is confirmed. A commit whose
answer is lost raises :class:`~sqllake.errors.UnconfirmedCommitError` and deletes
nothing. After the commit, the files that the expired snapshots needed and no kept
snapshot needs are deleted, under the table's folder only; a failure part-way leaves
unreferenced files, which ``remove_orphan_files`` finds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFileContent
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRef, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.table.update.snapshot import ExpireSnapshots, ManageSnapshots

from sqllake.catalog import Lakehouse, TableName
from sqllake.errors import ProgrammingError
from sqllake.write.commit import commit_with_retry
from sqllake.write.reachable import FileSet, delete_under, snapshot_files, statistics_files

MAX_SNAPSHOT_AGE = "history.expire.max-snapshot-age-ms"
MIN_SNAPSHOTS_TO_KEEP = "history.expire.min-snapshots-to-keep"
MAX_REF_AGE = "history.expire.max-ref-age-ms"
DEFAULT_MAX_SNAPSHOT_AGE_MS = 5 * 24 * 3600 * 1000  # Iceberg's default: 5 days
DEFAULT_MIN_SNAPSHOTS_TO_KEEP = 1
NEVER = 2**63 - 1


@dataclass(frozen=True)
class ExpiryRequest:
    """What to expire, as of ``now_ms``; None takes the table's properties."""

    now_ms: int
    older_than_ms: int | None = None
    retain_last: int | None = None
    snapshot_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExpiryPlan:
    snapshot_ids: frozenset[int]
    refs: tuple[str, ...]  # branches and tags that expired

    @property
    def empty(self) -> bool:
        return not self.snapshot_ids and not self.refs


@dataclass(frozen=True)
class Expired:
    """What an expiry did, in the counts Spark's procedure reports."""

    snapshots: int = 0
    data_files: int = 0
    position_delete_files: int = 0
    equality_delete_files: int = 0
    manifests: int = 0
    manifest_lists: int = 0
    statistics_files: int = 0


def _int_property(metadata: TableMetadata, key: str, default: int) -> int:
    value = metadata.properties.get(key)
    try:
        return int(value) if value is not None else default
    except ValueError:
        raise ProgrammingError(f"table property {key} is not a whole number: {value!r}") from None


def _lineage(head: int, by_id: Mapping[int, Snapshot]) -> Iterator[Snapshot]:
    """``head`` and its ancestors, newest first, looked up by id (PyIceberg's
    ``ancestors_of`` scans the snapshot list for each one: quadratic in the history, and
    automatic expiry plans after every flush)."""
    snapshot = by_id.get(head)
    while snapshot is not None:
        yield snapshot
        parent = snapshot.parent_snapshot_id
        snapshot = by_id.get(parent) if parent is not None else None


def _branch_keeps(
    by_id: Mapping[int, Snapshot], ref: SnapshotRef, now_ms: int, older_than: int, min_keep: int
) -> set[int]:
    if ref.max_snapshot_age_ms is not None:
        older_than = now_ms - ref.max_snapshot_age_ms
    if ref.min_snapshots_to_keep is not None:
        min_keep = ref.min_snapshots_to_keep
    kept: set[int] = set()
    for ancestor in _lineage(ref.snapshot_id, by_id):
        if len(kept) < min_keep or ancestor.timestamp_ms >= older_than:
            kept.add(ancestor.snapshot_id)
        else:
            break
    return kept


def _retained_refs(
    metadata: TableMetadata, by_id: Mapping[int, Snapshot], now_ms: int
) -> dict[str, SnapshotRef]:
    default_age = _int_property(metadata, MAX_REF_AGE, NEVER)
    kept = {}
    for name, ref in metadata.refs.items():
        snapshot = by_id.get(ref.snapshot_id)
        if name == MAIN_BRANCH:
            kept[name] = ref
        elif snapshot is not None:
            max_age = ref.max_ref_age_ms if ref.max_ref_age_ms is not None else default_age
            if now_ms - snapshot.timestamp_ms <= max_age:
                kept[name] = ref
    return kept


def may_expire(metadata: TableMetadata, now_ms: int) -> bool:
    """Whether an expiry by the table's own settings could remove anything at all: one
    look at each snapshot's time, where a plan walks every branch (automatic maintenance
    asks after every flush, and most of the time nothing is old enough)."""
    refs = metadata.refs
    if MAX_REF_AGE in metadata.properties or any(
        ref.max_ref_age_ms is not None for name, ref in refs.items() if name != MAIN_BRANCH
    ):
        return True
    ages = [_int_property(metadata, MAX_SNAPSHOT_AGE, DEFAULT_MAX_SNAPSHOT_AGE_MS)]
    ages += [r.max_snapshot_age_ms for r in refs.values() if r.max_snapshot_age_ms is not None]
    older_than = now_ms - min(ages)
    return any(snapshot.timestamp_ms < older_than for snapshot in metadata.snapshots)


def plan_expiry(metadata: TableMetadata, request: ExpiryRequest) -> ExpiryPlan:
    """The snapshots and refs an expiry removes (see the module documentation)."""
    now = request.now_ms
    older_than = request.older_than_ms
    if older_than is None:
        older_than = now - _int_property(metadata, MAX_SNAPSHOT_AGE, DEFAULT_MAX_SNAPSHOT_AGE_MS)
    min_keep = request.retain_last
    if min_keep is None:
        min_keep = _int_property(metadata, MIN_SNAPSHOTS_TO_KEEP, DEFAULT_MIN_SNAPSHOTS_TO_KEEP)
    by_id = {snapshot.snapshot_id: snapshot for snapshot in metadata.snapshots}
    refs = _retained_refs(metadata, by_id, now)
    heads: dict[int, list[str]] = {}
    for name, ref in refs.items():
        heads.setdefault(ref.snapshot_id, []).append(name)
    known = set(by_id)
    for snapshot_id in request.snapshot_ids:
        if snapshot_id not in known:
            raise ProgrammingError(f"snapshot {snapshot_id} does not exist")
        if snapshot_id in heads:
            names = sorted(heads[snapshot_id])
            verb = "points" if len(names) == 1 else "point"
            raise ProgrammingError(
                f"snapshot {snapshot_id} cannot expire: {', '.join(names)} {verb} at it"
            )
    keep = set(heads)
    on_branches: set[int] = set()
    for ref in refs.values():
        if ref.snapshot_ref_type == SnapshotRefType.BRANCH:
            keep |= _branch_keeps(by_id, ref, now, older_than, min_keep)
            on_branches |= {s.snapshot_id for s in _lineage(ref.snapshot_id, by_id)}
    keep |= {
        s.snapshot_id
        for s in metadata.snapshots
        if s.snapshot_id not in on_branches and s.timestamp_ms >= older_than
    }
    keep -= set(request.snapshot_ids)
    expired = frozenset(known - keep)
    gone_refs = tuple(sorted(name for name in metadata.refs if name not in refs))
    return ExpiryPlan(expired, gone_refs)


def _remove(transaction: Transaction, plan: ExpiryPlan) -> None:
    refs = ManageSnapshots(transaction)
    for name in plan.refs:
        if transaction.table_metadata.refs[name].snapshot_ref_type == SnapshotRefType.TAG:
            refs.remove_tag(name)
        else:
            refs.remove_branch(name)
    refs.commit()
    if plan.snapshot_ids:
        ExpireSnapshots(transaction).by_ids(sorted(plan.snapshot_ids)).commit()


def _unneeded(
    io: FileIO, metadata: TableMetadata, expired: list[Snapshot], kept: list[Snapshot]
) -> FileSet:
    """The files of ``expired`` snapshots that no ``kept`` snapshot needs."""
    gone = snapshot_files(io, expired)
    needed = snapshot_files(io, kept).paths()
    gone.statistics = statistics_files(metadata, (s.snapshot_id for s in expired))
    return FileSet(
        {k: v for k, v in gone.manifest_lists.items() if k not in needed},
        {k: v for k, v in gone.manifests.items() if k not in needed},
        {k: v for k, v in gone.content.items() if k not in needed},
        {k: v for k, v in gone.statistics.items() if k not in needed},
    )


def _counted(io: FileIO, root: str, files: FileSet, snapshots: int) -> Expired:
    by_kind: dict[DataFileContent, list[str]] = {}
    for recorded, content in files.content.values():
        by_kind.setdefault(content, []).append(recorded)

    def deleted(recorded: list[str]) -> int:
        return len(delete_under(io, root, sorted(recorded)))

    return Expired(
        snapshots=snapshots,
        data_files=deleted(by_kind.get(DataFileContent.DATA, [])),
        position_delete_files=deleted(by_kind.get(DataFileContent.POSITION_DELETES, [])),
        equality_delete_files=deleted(by_kind.get(DataFileContent.EQUALITY_DELETES, [])),
        manifests=deleted(list(files.manifests.values())),
        manifest_lists=deleted(list(files.manifest_lists.values())),
        statistics_files=deleted(list(files.statistics.values())),
    )


def expire(lakehouse: Lakehouse, name: TableName, request: ExpiryRequest) -> Expired:
    """Expire snapshots of ``name`` as ``request`` says, then delete the files that only
    they needed; what was done."""
    planned: list[tuple[ExpiryPlan, TableMetadata]] = []

    def apply(transaction: Transaction) -> None:
        # Planned again on every attempt: another writer's commit changes what is kept.
        metadata = transaction.table_metadata
        plan = plan_expiry(metadata, request)
        planned[:] = [(plan, metadata)]
        if not plan.empty:
            _remove(transaction, plan)

    commit_with_retry(lakehouse, [(name, apply)])
    if not planned or planned[0][0].empty:
        return Expired()
    plan, before = planned[0]
    table = lakehouse.load(name)  # its file IO; the files are those of the metadata before
    expired = [s for s in before.snapshots if s.snapshot_id in plan.snapshot_ids]
    kept = [s for s in before.snapshots if s.snapshot_id not in plan.snapshot_ids]
    unneeded = _unneeded(table.io, before, expired, kept)
    return _counted(table.io, before.location, unneeded, len(expired))
