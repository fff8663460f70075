"""Row-level commits (DELETE, UPDATE, MERGE): one snapshot that removes data files,
adds data files and adds (or replaces) delete files.

PyIceberg 0.12 writes no delete file and no manifest of delete files, and nothing of
format 3 beyond what :mod:`sqllake.compat.iceberg_v3` supplies. For formats 1 and 2
its overwrite producer does the data-file part (removed entries, manifests rewritten
without them, summary totals); this module adds a DELETES manifest per partition spec
for the new delete files and lends them to the summary, so the snapshot reports
``added-position-delete-files``, ``added-position-deletes`` and the totals as any
writer's would. Format 3 tables are committed here in full, with row lineage: a
manifest rewritten to remove an entry writes each remaining data file's inherited
``first_row_id`` explicitly, so no row changes id.

Failure semantics: the manifests and manifest list written here are referenced by
nothing until the catalog commit lands; after a failed commit they are orphans that
``remove_orphan_files`` deletes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pyiceberg.avro.file import AvroFile, AvroOutputFile
from pyiceberg.expressions import BooleanExpression
from pyiceberg.expressions.visitors import _InclusiveMetricsEvaluator, _StrictMetricsEvaluator
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    DATA_FILE_TYPE,
    MANIFEST_ENTRY_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriter,
    ManifestWriterV2,
    _inherit_from_manifest,
)
from pyiceberg.schema import Schema
from pyiceberg.table import TableProperties, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import (
    Operation,
    SnapshotSummaryCollector,
    Summary,
    update_snapshot_summaries,
)
from pyiceberg.table.update.snapshot import _MergeAppendFiles, _OverwriteFiles
from pyiceberg.typedef import EMPTY_DICT
from pyiceberg.utils.properties import property_as_bool

from sqllake.compat import iceberg_v3
from sqllake.compat.pyiceberg import MERGE_ON_APPEND_DEFAULT

_V3_FIELDS = [f.name for f in DATA_FILE_TYPE[3].fields]
_FIRST_ROW_ID = _V3_FIELDS.index("first_row_id")
_REFERENCED = _V3_FIELDS.index("referenced_data_file")


@dataclass(frozen=True)
class RowDelta:
    """What one row-level commit changes in the table's main branch."""

    added: Sequence[DataFile] = ()  # new data files
    removed: Sequence[DataFile] = ()  # live data files it removes
    deletes: Sequence[DataFile] = ()  # new delete files (position deletes, deletion vectors)
    replaced_deletes: Sequence[DataFile] = ()  # live deletion vectors the new ones replace
    summary: dict[str, str] = field(default_factory=dict)
    # How paths compare (one file may be spelled with or without its scheme).
    normalize: Callable[[str], str] = str

    @property
    def operation(self) -> Operation:
        return Operation.OVERWRITE if self.added else Operation.DELETE


def every_row_matches(schema: Schema, condition: BooleanExpression, file: DataFile) -> bool:
    """Whether the file's column metrics prove that every row matches ``condition``
    (PyIceberg's strict metrics evaluator, which has no public name)."""
    return bool(_StrictMetricsEvaluator(schema, condition).eval(file))


def some_row_may_match(schema: Schema, condition: BooleanExpression, file: DataFile) -> bool:
    """Whether the file's column metrics allow a row that matches ``condition``."""
    return bool(_InclusiveMetricsEvaluator(schema, condition).eval(file))


def referenced_file(file: DataFile) -> str | None:
    """The data file a (format 3) deletion vector entry applies to."""
    data = file._data  # noqa: SLF001 (positional record; v2 reads have no such field)
    return data[_REFERENCED] if len(data) > _REFERENCED else None


def deletion_vector(
    path: str,
    size: int,
    referenced: str,
    offset: int,
    length: int,
    count: int,
    spec_id: int,
    partition: Any,
) -> DataFile:
    """The manifest entry of one deletion vector in a Puffin file (format 3 fields)."""
    file = DataFile.from_args(
        _table_format_version=3,
        content=DataFileContent.POSITION_DELETES,
        file_path=path,
        file_format=FileFormat.PUFFIN,
        partition=partition,
        record_count=count,
        file_size_in_bytes=size,
        referenced_data_file=referenced,
        content_offset=offset,
        content_size_in_bytes=length,
    )
    file.spec_id = spec_id
    return file


def commit(transaction: Transaction, delta: RowDelta) -> None:
    """Stage the row-level snapshot on ``transaction``'s main branch."""
    if transaction.table_metadata.format_version >= iceberg_v3.FORMAT_VERSION:
        _commit_v3(transaction, delta)
        return
    if not delta.removed:
        append = _RowDeltaAppend(transaction, delta)
        for file in delta.added:
            append.append_data_file(file)
        append.commit()
        return
    producer = _RowDeltaFiles(transaction, delta)
    for file in delta.removed:
        producer.delete_data_file(file)
    for file in delta.added:
        producer.append_data_file(file)
    producer.commit()


class _DeleteManifestWriterV2(ManifestWriterV2):
    """A v2 manifest of delete files: readers tell data from deletes by this content."""

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


class _WithDeletes:
    """What a row-level snapshot adds to PyIceberg's producers: a DELETES manifest per
    partition spec for the new delete files, and those files in the summary. It comes
    first among a producer's bases, so its methods wrap the producer's own."""

    _deletes: list[DataFile]
    _added_data_files: list[DataFile]

    def _manifests(self) -> list[ManifestFile]:
        return super()._manifests() + self._delete_manifests(self)  # type: ignore[misc,no-any-return]

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        # The summary counts what _added_data_files holds: lend it the delete files.
        data_files = self._added_data_files
        self._added_data_files = [*data_files, *self._deletes]
        try:
            return super()._summary(snapshot_properties)  # type: ignore[misc,no-any-return]
        finally:
            self._added_data_files = data_files

    def _delete_manifests(self, producer: Any) -> list[ManifestFile]:
        by_spec: dict[int, list[DataFile]] = defaultdict(list)
        default = producer._transaction.table_metadata.default_spec_id  # noqa: SLF001
        for delete in self._deletes:
            by_spec[spec_of(delete, default)].append(delete)
        written = []
        for spec_id, deletes in sorted(by_spec.items()):
            writer = _DeleteManifestWriterV2(
                spec=producer.spec(spec_id),
                schema=producer.schema(),
                output_file=producer.new_manifest_output(),
                snapshot_id=producer._snapshot_id,  # noqa: SLF001
                avro_compression=producer._compression,  # noqa: SLF001
            )
            with writer:
                for delete in deletes:
                    writer.add(_entry(ManifestEntryStatus.ADDED, producer._snapshot_id, delete))  # noqa: SLF001
            written.append(writer.to_manifest_file())
        return written


class _RowDeltaFiles(_WithDeletes, _OverwriteFiles):
    """PyIceberg's overwrite (removed and added data files), plus delete manifests."""

    def __init__(self, transaction: Transaction, delta: RowDelta) -> None:
        super().__init__(
            operation=delta.operation,
            transaction=transaction,
            io=transaction._table.io,  # noqa: SLF001
            snapshot_properties=delta.summary,
        )
        self._deletes = list(delta.deletes)


class _RowDeltaAppend(_WithDeletes, _MergeAppendFiles):
    """A row-level snapshot that removes no data file (merge-on-read): the parent's
    manifests are kept unread (data manifests merged as appends merge them), where the
    overwrite producer would read every one of them."""

    def __init__(self, transaction: Transaction, delta: RowDelta) -> None:
        super().__init__(
            operation=delta.operation,
            transaction=transaction,
            io=transaction._table.io,  # noqa: SLF001
            snapshot_properties=delta.summary,
        )
        self._merge_enabled = property_as_bool(
            transaction.table_metadata.properties,
            TableProperties.MANIFEST_MERGE_ENABLED,
            MERGE_ON_APPEND_DEFAULT,
        )
        self._deletes = list(delta.deletes)


def spec_of(file: DataFile, default: int) -> int:
    """The spec a file was written with; PyIceberg's ``DataFile.from_args`` drops the
    ``spec_id`` argument, so a file made that way has the table's current one."""
    found: int | None = getattr(file, "_spec_id", None)
    return default if found is None else found


def _entry(status: ManifestEntryStatus, snapshot_id: int, file: DataFile) -> ManifestEntry:
    return ManifestEntry.from_args(
        status=status,
        snapshot_id=snapshot_id,
        sequence_number=None,
        file_sequence_number=None,
        data_file=file,
    )


# Format 3


class _ManifestWriterV3Full(iceberg_v3.ManifestWriterV3):
    """A v3 manifest written from v3 records (first_row_id and deletion vector fields)."""

    def __init__(self, content: ManifestContent, *args: Any) -> None:
        super().__init__(*args)
        self._content = content

    def content(self) -> ManifestContent:
        return self._content

    @property
    def _meta(self) -> dict[str, str]:
        kind = "deletes" if self._content == ManifestContent.DELETES else "data"
        return {**super()._meta, "content": kind}

    def new_writer(self) -> AvroOutputFile[ManifestEntry]:
        schema = self._with_partition(3)
        return AvroOutputFile[ManifestEntry](
            output_file=self._output_file,
            file_schema=schema,
            record_schema=schema,
            schema_name="manifest_entry",
            metadata=self._meta,
        )


def _as_v3(file: DataFile) -> DataFile:
    """The same entry as a v3 record (v2 records lack the last four fields)."""
    if len(file._data) == len(_V3_FIELDS):  # noqa: SLF001
        return file
    values = dict(zip(_V3_FIELDS, file._data, strict=False))  # noqa: SLF001
    copy = DataFile.from_args(_table_format_version=3, **values)
    found = getattr(file, "_spec_id", None)
    if found is not None:
        copy.spec_id = found
    return copy


def _entries_v3(io: FileIO, manifest: ManifestFile) -> list[ManifestEntry]:
    """Every entry of a v3 manifest, read with the v3 schema (PyIceberg reads v2's)."""
    with AvroFile[ManifestEntry](
        io.new_input(manifest.manifest_path),
        MANIFEST_ENTRY_SCHEMAS[iceberg_v3.FORMAT_VERSION],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        return [_inherit_from_manifest(entry, manifest) for entry in reader]


def live_vectors(io: FileIO, manifest_list: str) -> list[DataFile]:
    """The live deletion vector entries of a format 3 snapshot, with the data file each
    names (the manifest readers sqllake and PyIceberg use drop that field)."""
    found = []
    for manifest in iceberg_v3.manifests(io, manifest_list):
        if manifest.content != ManifestContent.DELETES:
            continue
        for entry in _entries_v3(io, manifest):
            file = entry.data_file
            if (
                entry.status != ManifestEntryStatus.DELETED
                and file.file_format == FileFormat.PUFFIN
            ):
                found.append(file)
    return found


def _key(file: DataFile, normalize: Callable[[str], str]) -> tuple[str, str | None]:
    referenced = referenced_file(file)
    return (file.file_path, normalize(referenced) if referenced else None)


def _rewritten(
    writer: ManifestWriter,
    manifest: ManifestFile,
    entries: list[ManifestEntry],
    removed: set[tuple[str, str | None]],
    snapshot_id: int,
    normalize: Callable[[str], str],
) -> None:
    """``manifest``'s live entries into ``writer``: removed ones as DELETED, the others as
    EXISTING with their inherited first row id written out."""
    next_row_id = iceberg_v3.first_row_id_of(manifest)
    for entry in entries:
        if entry.status == ManifestEntryStatus.DELETED:
            continue
        file = _as_v3(entry.data_file)
        inherits = file._data[_FIRST_ROW_ID] is None  # noqa: SLF001
        if file.content == DataFileContent.DATA and next_row_id is not None and inherits:
            file._data[_FIRST_ROW_ID] = next_row_id  # noqa: SLF001
            next_row_id += file.record_count
        gone = _key(entry.data_file, normalize) in removed
        writer.add_entry(
            ManifestEntry.from_args(
                status=ManifestEntryStatus.DELETED if gone else ManifestEntryStatus.EXISTING,
                snapshot_id=snapshot_id if gone else entry.snapshot_id,
                sequence_number=entry.sequence_number,
                file_sequence_number=entry.file_sequence_number,
                data_file=file,
            )
        )


def _summary_v3(metadata: TableMetadata, delta: RowDelta) -> Summary:
    limit = int(
        metadata.properties.get(
            TableProperties.WRITE_PARTITION_SUMMARY_LIMIT,
            TableProperties.WRITE_PARTITION_SUMMARY_LIMIT_DEFAULT,
        )
    )
    collector = SnapshotSummaryCollector(partition_summary_limit=limit)
    schema, specs = metadata.schema(), metadata.specs()
    default = metadata.default_spec_id
    for file in [*delta.added, *delta.deletes]:
        spec = specs[spec_of(file, default)]
        collector.add_file(data_file=file, partition_spec=spec, schema=schema)
    for file in [*delta.removed, *delta.replaced_deletes]:
        spec = specs[spec_of(file, default)]
        collector.remove_file(data_file=file, partition_spec=spec, schema=schema)
    parent = metadata.current_snapshot()
    return update_snapshot_summaries(
        summary=Summary(delta.operation, **collector.build(), **delta.summary),
        previous_summary=parent.summary if parent is not None else None,
    )


def _commit_v3(transaction: Transaction, delta: RowDelta) -> None:
    metadata = transaction.table_metadata
    new_snapshot = iceberg_v3.NewSnapshot.start(transaction)
    snapshot_id, parent, io = new_snapshot.snapshot_id, new_snapshot.parent, new_snapshot.io
    counter = iter(range(1_000_000))

    def writer(content: ManifestContent, spec_id: int) -> _ManifestWriterV3Full:
        output = new_snapshot.manifest_output(next(counter))
        spec = metadata.specs()[spec_id]
        return _ManifestWriterV3Full(
            content, spec, metadata.schema(), output, snapshot_id, new_snapshot.compression
        )

    written: list[ManifestFile] = []
    groups: list[tuple[ManifestContent, Sequence[DataFile]]] = [
        (ManifestContent.DATA, delta.added),
        (ManifestContent.DELETES, delta.deletes),
    ]
    for content, files in groups:
        by_spec: dict[int, list[DataFile]] = defaultdict(list)
        for file in files:
            by_spec[spec_of(file, metadata.default_spec_id)].append(file)
        for spec_id, members in sorted(by_spec.items()):
            with writer(content, spec_id) as new:
                for file in members:
                    new.add_entry(_entry(ManifestEntryStatus.ADDED, snapshot_id, _as_v3(file)))
            written.append(new.to_manifest_file())
    normalize = delta.normalize
    removed = {_key(f, normalize) for f in [*delta.removed, *delta.replaced_deletes]}
    gone_data = {normalize(f.file_path) for f in delta.removed}
    parents = iceberg_v3.manifests(io, parent.manifest_list) if parent is not None else []
    read = {m.manifest_path: _entries_v3(io, m) for m in parents if removed}
    # A deletion vector of a data file that goes goes with it (it would name nothing).
    dangling = [
        e.data_file
        for entries in read.values()
        for e in entries
        if e.status != ManifestEntryStatus.DELETED
        and e.data_file.file_format == FileFormat.PUFFIN
        and _key(e.data_file, normalize)[1] in gone_data
        and _key(e.data_file, normalize) not in removed
    ]
    removed |= {_key(f, normalize) for f in dangling}
    for manifest in parents:
        if not (manifest.has_added_files() or manifest.has_existing_files()):
            continue
        entries = read.get(manifest.manifest_path, [])
        live = [e for e in entries if e.status != ManifestEntryStatus.DELETED]
        if not any(_key(e.data_file, normalize) in removed for e in live):
            written.append(manifest)
            continue
        with writer(manifest.content, manifest.partition_spec_id) as new:
            _rewritten(new, manifest, entries, removed, snapshot_id, normalize)
        written.append(new.to_manifest_file())
    if dangling:
        delta = replace(delta, replaced_deletes=[*delta.replaced_deletes, *dangling])
    new_snapshot.stage(written, _summary_v3(metadata, delta))
