"""Replacing rows by whole files: what TRUNCATE and INSERT OVERWRITE remove, and the
commit that swaps them out.

A :class:`Replacement` records, for one table in one transaction, the files the
statement drops from metadata (decided on the snapshot it read) and the scope they were
chosen by: the whole table, or the partitions (of the current spec) whose values match.
Files written with another spec may hold rows on both sides of a partition scope: those
were read and their rows outside the scope written again, and they are removed too.

Failure semantics of :func:`overwrite_action`: nothing is committed unless the whole
swap is. When another writer committed after the snapshot the statement read:

- TRUNCATE removes every file live at commit time (as Iceberg's delete by ``true``
  does): never a conflict;
- otherwise a file the statement removes that is gone, or a new delete file that may
  apply to rows the statement rewrote, or a flush of buffered rows the statement moved,
  or a changed partition spec is a conflict (``OperationalError``, nothing committed);
  new files inside the scope are a conflict under ``serializable`` isolation (the
  statement's query could not see them) and are removed with the rest under
  ``snapshot`` isolation; files outside the scope stay.

After a conflict the caller deletes the files it wrote; an
:class:`~sqllake.errors.UnconfirmedCommitError` keeps them (the commit may have landed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, DataFileContent
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Snapshot

from sqllake.compat import iceberg_v3, row_delta
from sqllake.compat import pyiceberg as compat
from sqllake.compat.row_delta import RowDelta
from sqllake.errors import OperationalError
from sqllake.names import TableName
from sqllake.write.buffer import SEQUENCE_PROPERTY, flushed_sequence
from sqllake.write.compact import live_files

SERIALIZABLE = "serializable"
SNAPSHOT = "snapshot"
# TRUNCATE and INSERT OVERWRITE delete rows: they honour the isolation level of deletes.
ISOLATION_PROPERTY = "write.delete.isolation-level"


def partition_key(file: DataFile) -> tuple[object, ...]:
    partition = file.partition
    return tuple(partition[i] for i in range(len(partition)))


@dataclass(frozen=True)
class Scope:
    """The rows an overwrite replaces: every row (``positions`` None), or the rows whose
    partition in spec ``spec_id`` has one of ``keys`` at ``positions``."""

    spec_id: int
    positions: tuple[int, ...] | None
    keys: frozenset[tuple[object, ...]] = frozenset()

    @property
    def whole(self) -> bool:
        return self.positions is None

    def covers_key(self, key: tuple[object, ...]) -> bool:
        """Whether rows of a partition (a full key of spec ``spec_id``) are replaced."""
        if self.positions is None:
            return True
        return tuple(key[i] for i in self.positions) in self.keys

    def covers(self, file: DataFile, spec_id: int | None = None) -> bool | None:
        """Whether the file's rows are all replaced (True), none are (False), or the
        file's spec cannot tell (None: its rows must be read). ``spec_id``: the spec of
        a file not yet committed (PyIceberg knows the spec of committed files only)."""
        if self.positions is None:
            return True
        if (file.spec_id if spec_id is None else spec_id) != self.spec_id:
            return None
        return self.covers_key(partition_key(file))


@dataclass(frozen=True)
class Replacement:
    """What one table's TRUNCATE or INSERT OVERWRITE statements in a transaction remove."""

    start_id: int | None  # the snapshot the statements read
    start_mark: int  # the insert buffer's flushed mark at that snapshot
    scopes: tuple[Scope, ...]
    removed: tuple[DataFile, ...]  # committed data and delete files dropped from metadata
    buffer_mark: int  # buffered rows up to this sequence number are gone (or rewritten)
    kept_buffer: bool  # buffered rows outside the scope were written again as files
    truncate: bool  # every statement was a TRUNCATE: remove whatever is live at commit
    serializable: bool

    @property
    def removed_paths(self) -> frozenset[str]:
        return frozenset(f.file_path for f in self.removed)

    def covers(self, file: DataFile) -> bool | None:
        answers = [scope.covers(file) for scope in self.scopes]
        if any(answers):
            return True
        return None if None in answers else False

    def merged(self, later: Replacement) -> Replacement:
        """This replacement followed by a later statement's on the same table."""
        known = self.removed_paths
        return Replacement(
            self.start_id,
            self.start_mark,
            self.scopes + later.scopes,
            self.removed + tuple(f for f in later.removed if f.file_path not in known),
            max(self.buffer_mark, later.buffer_mark),
            self.kept_buffer or later.kept_buffer,
            self.truncate and later.truncate,
            self.serializable or later.serializable,
        )


def _conflict(name: TableName, head: Snapshot, what: str) -> OperationalError:
    operation = head.summary.operation.value if head.summary else "unknown"
    return OperationalError(
        f"the overwrite of {name} conflicts with a concurrent commit (snapshot "
        f"{head.snapshot_id}, {operation}) that {what}; nothing was changed"
    )


def _live(io: FileIO, metadata: TableMetadata, snapshot_id: int | None) -> list[DataFile]:
    snapshot = metadata.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
    return live_files(io, snapshot) if snapshot is not None else []


def _resolve(
    name: TableName, io: FileIO, metadata: TableMetadata, replacement: Replacement
) -> list[DataFile]:
    """The files to remove on ``metadata`` (the table as it now is); raises on a conflict."""
    head = metadata.current_snapshot()
    head_id = head.snapshot_id if head is not None else None
    if head_id == replacement.start_id:
        return list(replacement.removed)
    assert head is not None  # a table's snapshots do not vanish while it is written
    live = live_files(io, head)
    if replacement.truncate:
        return live
    if replacement.kept_buffer and flushed_sequence(metadata) != replacement.start_mark:
        raise _conflict(name, head, "flushed buffered rows this statement moved")
    if any(not s.whole and s.spec_id != metadata.default_spec_id for s in replacement.scopes):
        raise _conflict(name, head, "changed the partition spec")
    paths = {f.file_path for f in live}
    gone = [
        f.file_path
        for f in replacement.removed
        if f.file_path not in paths and f.content == DataFileContent.DATA
    ]
    if gone:
        raise _conflict(name, head, f"removed {len(gone)} of its files, such as {gone[0]}")
    before = {f.file_path for f in _live(io, metadata, replacement.start_id)}
    new = [f for f in live if f.file_path not in before]
    inside = [f for f in new if replacement.covers(f) is not False]
    if any(replacement.covers(f) is None for f in inside):
        raise _conflict(name, head, "added files the overwrite's rewritten rows may depend on")
    if inside and replacement.serializable:
        raise _conflict(
            name, head, f"added files to the replaced rows, such as {inside[0].file_path}"
        )
    # Delete files go only with the whole table (see compat.overwrite_files); elsewhere a
    # delete file of a replaced partition applies to nothing once its data files are gone.
    whole = any(scope.whole for scope in replacement.scopes)
    extra = [f for f in inside if whole or f.content == DataFileContent.DATA]
    return [f for f in replacement.removed if f.file_path in paths] + extra


def overwrite_action(
    name: TableName, io: FileIO, replacement: Replacement, added: Iterable[DataFile]
) -> Callable[[Transaction], None]:
    """The change that removes the replacement's files and adds ``added`` as one
    snapshot, checked on every attempt against the table as it then is."""
    files = list(added)

    def apply(transaction: Transaction) -> None:
        metadata = transaction.table_metadata
        removed = _resolve(name, io, metadata, replacement)
        mark = max(replacement.buffer_mark, flushed_sequence(metadata))
        summary = {SEQUENCE_PROPERTY: str(mark)} if mark else {}
        if not removed and not files and mark == flushed_sequence(metadata):
            return  # nothing to change: no snapshot
        if metadata.format_version >= iceberg_v3.FORMAT_VERSION:
            # Format 3 manifests (row lineage, deletion vectors) are written by the
            # row-level commit, which removes data and delete files alike.
            data = [f for f in removed if f.content == DataFileContent.DATA]
            deletes = [f for f in removed if f.content != DataFileContent.DATA]
            delta = RowDelta(added=files, removed=data, replaced_deletes=deletes, summary=summary)
            row_delta.commit(transaction, delta)
            return
        compat.overwrite_files(transaction, removed, files, summary)

    return apply
