"""Scan planning: which data and delete files a read of one table at one snapshot uses.

Manifests are pruned by partition summaries, then entries by partition values and
column min/max against the row filter (PyIceberg's evaluators). Delete files are
matched to data files by Iceberg's rules, which the scan SQL applies:

- a position delete applies to the data file it names when its data sequence number
  is at least the data file's; a position delete left behind by a compaction names a
  file the snapshot no longer has, so it applies to nothing;
- an equality delete applies to data files with a strictly lower data sequence number,
  in the same partition unless the delete file is unpartitioned;
- a deletion vector (v3, Puffin) applies like a position delete to the data file it
  names; data formats other than Parquet are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestEntry,
    ManifestEntryStatus,
)
from pyiceberg.schema import Schema
from pyiceberg.table import ManifestGroupPlanner, Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.transforms import IdentityTransform

from sqllake.errors import NotSupportedError, OperationalError
from sqllake.names import TableName
from sqllake.read import manifests as cached_manifests
from sqllake.read.footers import special_layouts
from sqllake.read.locations import local_path, normalize, opened_path
from sqllake.read.nested import NestedLayout, history_misreads
from sqllake.types import sql_literal

# Files this transaction wrote and has not committed come after every committed delete.
_UNCOMMITTED_SEQUENCE = 2**62


@dataclass(frozen=True)
class DataFileRef:
    path: str  # as DuckDB opens it
    recorded: str  # normalized recorded path: what position deletes name
    sequence: int
    partition_key: str
    # (field id, SQL literal) of identity partition values for a file that may lack the column
    identity: tuple[tuple[int, str], ...] = ()
    size: int = 0
    # the file's own field names and ids, when the plain read by field id would misread it
    layout: NestedLayout | None = None
    # its manifest entry (None for files this transaction wrote)
    entry: DataFile | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class DeleteFileRef:
    path: str
    sequence: int
    partition_key: str | None  # None: applies in every partition
    equality_ids: tuple[int, ...] = ()
    # its manifest entry (None for files this transaction wrote)
    entry: DataFile | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class ScanPlan:
    table: TableName
    schema: Schema
    files: tuple[DataFileRef, ...]
    total_files: int
    snapshot_id: int | None
    position_deletes: tuple[DeleteFileRef, ...] = ()
    equality_deletes: tuple[DeleteFileRef, ...] = ()
    deletion_vectors: tuple[DeleteFileRef, ...] = ()  # Puffin files of v3 deletion vectors
    manifests_read: int = 0
    manifests_total: int = 0
    buffered_rows: int = 0  # rows of the insert buffer read with the files

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def has_deletes(self) -> bool:
        return bool(self.position_deletes or self.equality_deletes or self.deletion_vectors)


def _partition_key(file: DataFile) -> str:
    partition = file.partition
    return f"{file.spec_id}:{[partition[i] for i in range(len(partition))]!r}"


def _identity_values(table: Table, schema: Schema, file: DataFile) -> tuple[tuple[int, str], ...]:
    """Identity partition values, for files that may not hold the partition column.

    Writers may leave identity partition columns out of the data files (their values
    live in the manifest), and their column metrics cannot be trusted to say so: the
    corpus has files whose metrics count a column the file does not have. Every row of
    a file has the identity value, so filling it in where the file has none is exact.
    """
    spec = table.metadata.specs()[file.spec_id]
    top_level = {column.field_id: column for column in schema.fields}
    values = []
    for position, field in enumerate(spec.fields):
        column = top_level.get(field.source_id)
        if isinstance(field.transform, IdentityTransform) and column is not None:
            values.append(
                (field.source_id, sql_literal(file.partition[position], column.field_type))
            )
    return tuple(values)


def _refuse_format(name: TableName, file: DataFile) -> None:
    if file.file_format == FileFormat.PUFFIN:
        if file.content != DataFileContent.POSITION_DELETES:
            raise NotSupportedError(f"table {name} has Puffin files that are not deletion vectors")
        return
    if file.file_format != FileFormat.PARQUET:
        raise NotSupportedError(
            f"table {name} has {file.file_format.name} files; sqllake reads Parquet only"
        )


def _with_layouts(table: Table, schema: Schema, files: list[DataFileRef]) -> list[DataFileRef]:
    """Files that the plain read by field id would get wrong get their footer's layout.

    Footers are read only when the table has a name mapping (its files may lack field
    ids) or a history that makes nested names mislead; other tables pay nothing.
    """
    mapping = table.metadata.name_mapping()
    if not files or (mapping is None and not history_misreads(table.metadata.schemas, schema)):
        return files
    layouts = special_layouts([(f.path, f.size) for f in files], schema, mapping)
    return [replace(f, layout=layouts.get(f.path)) for f in files]


@dataclass(frozen=True)
class _ManifestScan:
    entries: list[ManifestEntry]
    manifests_read: int
    manifests_total: int


def _entries(
    table: Table,
    name: TableName,
    snapshot: Snapshot,
    row_filter: BooleanExpression,
    added_only: bool = False,
) -> _ManifestScan:
    planner = ManifestGroupPlanner(table.metadata, table.io, row_filter)
    try:
        manifests = cached_manifests.manifests(table.io, snapshot)
        if added_only:  # the snapshot's own files are in the manifests it wrote
            own = snapshot.snapshot_id
            manifests = tuple(m for m in manifests if m.added_snapshot_id == own)
        per_manifest = cached_manifests.matching_entries(planner, table.io, manifests)
        entries = [entry for group in per_manifest for entry in group]
        if added_only:
            entries = [
                e
                for e in entries
                if e.status == ManifestEntryStatus.ADDED and e.snapshot_id == snapshot.snapshot_id
            ]
        return _ManifestScan(entries, len(per_manifest), len(manifests))
    except (FileNotFoundError, OSError) as exc:
        raise OperationalError(
            f"snapshot {snapshot.snapshot_id} of table {name} cannot be read: "
            f"a metadata file it needs is missing ({exc})"
        ) from exc


def _total_files(table: Table, name: TableName, snapshot: Snapshot, pruned: bool, seen: int) -> int:
    total = snapshot.summary.get("total-data-files") if snapshot.summary else None
    if total is not None:
        return int(total)
    if not pruned:
        return seen
    entries = _entries(table, name, snapshot, AlwaysTrue()).entries
    return sum(1 for e in entries if e.data_file.content == DataFileContent.DATA)


def plan_scan(
    table: Table,
    name: TableName,
    snapshot: Snapshot | None,
    schema: Schema,
    row_filter: BooleanExpression,
    pending: list[DataFile],
    added_only: bool = False,
    removed: frozenset[str] = frozenset(),
    deletes: Sequence[DataFile] = (),
) -> ScanPlan:
    """Plan a read of ``table`` at ``snapshot`` (None: the table has no snapshot yet).

    ``pending`` are files this transaction wrote and has not committed: they are read
    too (read-your-writes), unpruned, and no committed delete applies to them.
    ``added_only`` plans only the files the snapshot itself added, reading only the
    manifests it wrote (the change feed of an append). ``removed`` (normalized paths)
    are committed data files this transaction removed, and ``deletes`` the delete files
    it wrote (a DELETE, UPDATE or MERGE): they apply after every committed file.
    """
    files: list[DataFileRef] = []
    positions: list[DeleteFileRef] = []
    vectors: list[DeleteFileRef] = []
    equalities: list[DeleteFileRef] = []
    manifests = _ManifestScan([], 0, 0)
    if snapshot is not None:
        manifests = _entries(table, name, snapshot, row_filter, added_only)
        for entry in manifests.entries:
            file = entry.data_file
            _refuse_format(name, file)
            sequence = entry.sequence_number or 0
            path = opened_path(table.io, file.file_path, str(name))
            if file.content == DataFileContent.DATA:
                if removed and normalize(file.file_path) in removed:
                    continue
                files.append(
                    DataFileRef(
                        path,
                        normalize(file.file_path),
                        sequence,
                        _partition_key(file),
                        _identity_values(table, schema, file),
                        file.file_size_in_bytes,
                        entry=file,
                    )
                )
            elif file.file_format == FileFormat.PUFFIN:
                vectors.append(DeleteFileRef(path, sequence, None, entry=file))
            elif file.content == DataFileContent.POSITION_DELETES:
                positions.append(DeleteFileRef(path, sequence, None))
            else:
                spec = table.metadata.specs()[file.spec_id]
                key = _partition_key(file) if spec.fields else None
                ids = tuple(file.equality_ids or ())
                equalities.append(DeleteFileRef(path, sequence, key, ids))
    total = (
        _total_files(table, name, snapshot, not isinstance(row_filter, AlwaysTrue), len(files))
        if snapshot is not None
        else 0
    )
    for file in pending:
        files.append(
            DataFileRef(
                local_path(file.file_path),
                normalize(file.file_path),
                _UNCOMMITTED_SEQUENCE,
                "",
                size=file.file_size_in_bytes,
            )
        )
    for delete in deletes:
        ref = DeleteFileRef(local_path(delete.file_path), _UNCOMMITTED_SEQUENCE, None)
        (vectors if delete.file_format == FileFormat.PUFFIN else positions).append(ref)
    return ScanPlan(
        table=name,
        schema=schema,
        files=tuple(_with_layouts(table, schema, files)),
        total_files=total + len(pending) - len(removed),
        snapshot_id=snapshot.snapshot_id if snapshot else None,
        position_deletes=tuple(positions),
        equality_deletes=tuple(equalities),
        deletion_vectors=tuple(vectors),
        manifests_read=manifests.manifests_read,
        manifests_total=manifests.manifests_total,
    )


def keep_missing_identity(plan: ScanPlan, present: dict[str, set[int]]) -> ScanPlan:
    """Drop identity fill-ins for files that hold the partition column themselves.

    ``present`` maps a file to the field ids its footer has; a file that holds the
    column is read as is, which keeps the plain (fastest) scan for most tables.
    """
    files = tuple(
        replace(
            f,
            identity=tuple(
                (fid, v) for fid, v in f.identity if fid not in present.get(f.path, set())
            ),
        )
        for f in plan.files
    )
    return replace(plan, files=files)
