"""What a transaction's DELETE, UPDATE and MERGE statements changed in one table, and
the commit that publishes it, checked by Iceberg's validation rules.

Write modes (table properties ``write.delete.mode``, ``write.update.mode``,
``write.merge.mode``): ``copy-on-write`` (sqllake's default, as Spark's) rewrites each
data file holding a changed row; ``merge-on-read`` writes delete files (format 2
position deletes, format 3 deletion vectors) and data files of the new rows only.

Validation (``write.delete.isolation-level`` etc., ``serializable`` by default as in
Iceberg): the changes were computed on one snapshot (the base). When the table moved on
before the commit, every snapshot committed since is checked: one that removed a data
file the statement changed, or added delete files that may name one, conflicts; under
``serializable`` so does one that added data files the statement's condition may
match (their rows might have been changed had they been there). Otherwise the commit
is made on the new snapshot with the same files. A conflict is an
``OperationalError`` naming the snapshot; nothing is committed and the caller deletes
the files it wrote, so the statement is safe to run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat, ManifestEntryStatus
from pyiceberg.schema import Schema
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

from sqllake.compat import row_delta
from sqllake.errors import OperationalError
from sqllake.names import TableName
from sqllake.properties import table_property
from sqllake.read import manifests as cached
from sqllake.read.locations import normalize
from sqllake.storage import remove_files
from sqllake.write.buffer import SEQUENCE_PROPERTY, flushed_sequence

COPY_ON_WRITE = "copy-on-write"
MERGE_ON_READ = "merge-on-read"
DEFAULT_MODE = COPY_ON_WRITE
SERIALIZABLE = "serializable"
SNAPSHOT = "snapshot"
DEFAULT_ISOLATION = SERIALIZABLE


def write_mode(properties: dict[str, str], statement: str) -> str:
    """The table's write mode for ``statement`` (``delete``, ``update``, ``merge``)."""
    return table_property(properties, f"write.{statement}.mode", DEFAULT_MODE).strip().lower()


def isolation_level(properties: dict[str, str], statement: str) -> str:
    key = f"write.{statement}.isolation-level"
    return table_property(properties, key, DEFAULT_ISOLATION).strip().lower()


@dataclass
class StagedRows:
    """One table's row-level changes in a transaction, computed on snapshot ``base``.

    Data files the statements wrote are the transaction's pending files, like an
    INSERT's; this holds what else the commit does."""

    base: int | None
    removed: dict[str, DataFile] = field(default_factory=dict)  # normalized path -> entry
    deletes: list[DataFile] = field(default_factory=list)  # delete files written
    replaced: list[DataFile] = field(default_factory=list)  # committed vectors replaced
    changed: set[str] = field(default_factory=set)  # normalized paths of files changed
    statements: list[str] = field(default_factory=list)  # DELETE, UPDATE, MERGE
    serializable: bool = False
    conditions: list[BooleanExpression] = field(default_factory=list)  # for serializable

    def note(self, statement: str, isolation: str, condition: BooleanExpression) -> None:
        self.statements.append(statement)
        if isolation == SERIALIZABLE:
            self.serializable = True
            self.conditions.append(condition)

    @property
    def removed_paths(self) -> frozenset[str]:
        return frozenset(self.removed)

    def discard(self) -> None:
        """Delete the delete files written (the statement or transaction failed)."""
        remove_files(f.file_path for f in self.deletes)
        self.deletes.clear()


def _since(metadata: TableMetadata, base: int | None) -> list[Snapshot] | None:
    """The snapshots committed on the main branch after ``base``, oldest first; None
    when ``base`` is no longer an ancestor (the branch was rolled back or replaced)."""
    found = []
    current = metadata.current_snapshot()
    while current is not None and current.snapshot_id != base:
        found.append(current)
        parent = current.parent_snapshot_id
        current = metadata.snapshot_by_id(parent) if parent is not None else None
    if current is None and base is not None:
        return None
    return found[::-1]


def _own_entries(io: FileIO, snapshot: Snapshot) -> list[tuple[ManifestEntryStatus, DataFile]]:
    """What ``snapshot`` itself added and removed, from the manifests it wrote."""
    found: list[tuple[ManifestEntryStatus, DataFile]] = []
    for manifest in cached.manifests(io, snapshot):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(io, discard_deleted=False):
            if entry.snapshot_id == snapshot.snapshot_id and entry.status in (
                ManifestEntryStatus.ADDED,
                ManifestEntryStatus.DELETED,
            ):
                found.append((entry.status, entry.data_file))
    return found


def _conflict(
    name: TableName, staged: StagedRows, snapshot: Snapshot, what: str
) -> OperationalError:
    operation = snapshot.summary.operation.value if snapshot.summary else "unknown"
    statement = "/".join(dict.fromkeys(staged.statements)) or "row-level change"
    return OperationalError(
        f"{statement} on {name} conflicts with a concurrent commit (snapshot "
        f"{snapshot.snapshot_id}, {operation}) that {what}; nothing was changed"
    )


def validate(name: TableName, io: FileIO, metadata: TableMetadata, staged: StagedRows) -> None:
    """Raise if ``staged`` may not be committed on ``metadata`` (see the module docs)."""
    since = _since(metadata, staged.base)
    if since is None:
        head = metadata.current_snapshot()
        assert head is not None
        raise _conflict(name, staged, head, "replaced the snapshot the statement read")
    schema = metadata.schema()
    for snapshot in since:
        for status, file in _own_entries(io, snapshot):
            path = normalize(file.file_path)
            if file.content == DataFileContent.DATA:
                if status == ManifestEntryStatus.DELETED and path in staged.changed:
                    raise _conflict(name, staged, snapshot, f"removed {file.file_path}")
                added = status == ManifestEntryStatus.ADDED
                if added and staged.serializable and _may_match(schema, staged.conditions, file):
                    raise _conflict(
                        name,
                        staged,
                        snapshot,
                        f"added rows the statement may match ({file.file_path})",
                    )
            elif status == ManifestEntryStatus.ADDED:
                referenced = row_delta.referenced_file(file)
                if file.file_format == FileFormat.PUFFIN and referenced is not None:
                    if normalize(referenced) in staged.changed:
                        raise _conflict(name, staged, snapshot, f"deleted rows of {referenced}")
                elif staged.changed:
                    raise _conflict(name, staged, snapshot, "added delete files")


def _may_match(schema: Schema, conditions: list[BooleanExpression], file: DataFile) -> bool:
    for condition in conditions:
        if isinstance(condition, AlwaysTrue):
            return True
        try:
            if row_delta.some_row_may_match(schema, condition, file):
                return True
        except (ValueError, TypeError, KeyError):
            return True
    return False


def row_delta_action(
    name: TableName, io: FileIO, staged: StagedRows, added: list[DataFile]
) -> Callable[[Transaction], None]:
    """The change that commits ``staged`` and the data files ``added`` as one snapshot,
    validated on every attempt against the table as it then is."""

    def apply(transaction: Transaction) -> None:
        metadata = transaction.table_metadata
        validate(name, io, metadata, staged)
        # Carry the insert buffer's mark: the snapshots that recorded it may expire.
        mark = flushed_sequence(metadata)
        summary = {SEQUENCE_PROPERTY: str(mark)} if mark else {}
        delta = row_delta.RowDelta(
            added=added,
            removed=list(staged.removed.values()),
            deletes=staged.deletes,
            replaced_deletes=staged.replaced,
            summary=summary,
            normalize=normalize,
        )
        row_delta.commit(transaction, delta)

    return apply
