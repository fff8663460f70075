"""Iceberg format version 3 where PyIceberg 0.12 stops short.

PyIceberg 0.12 parses v3 table metadata and its models carry v3's fields (row lineage's
``next-row-id`` and ``first-row-id``, column defaults, nanosecond timestamps), but it
refuses to serialize v3 metadata, to upgrade a table to v3, and to write v3 manifests
or manifest lists; and it reads manifest lists without their ``first_row_id``. This
module supplies those steps, and nothing else touches them:

- :func:`install` lets PyIceberg write v3 metadata (a v3 table always records
  ``next-row-id``, 0 before any row has an id), upgrade v2 tables to v3, and keep
  column defaults when it assigns a new table's field ids;
- :func:`append` commits data files to a v3 table as one snapshot, with row lineage as
  the spec assigns it: new data files carry no ``first_row_id`` (their rows inherit
  ids from their manifest), each data manifest without one gets the next unused id,
  and the snapshot records its ``first-row-id`` and ``added-rows``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyiceberg.avro.codecs import AVRO_CODEC_KEY
from pyiceberg.avro.file import AvroFile, AvroOutputFile
from pyiceberg.io import FileIO, OutputFile
from pyiceberg.manifest import (
    MANIFEST_LIST_FILE_SCHEMAS,
    UNASSIGNED_SEQ,
    DataFile,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestListWriter,
    ManifestWriterV2,
    PartitionFieldSummary,
)
from pyiceberg.schema import Schema, _SetFreshIDs, index_by_id
from pyiceberg.table import TableProperties, Transaction
from pyiceberg.table.locations import LocationProvider
from pyiceberg.table.metadata import TableMetadata, TableMetadataV3
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import (
    Operation,
    Snapshot,
    SnapshotSummaryCollector,
    Summary,
    update_snapshot_summaries,
)
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    AssertRefSnapshotId,
    SetSnapshotRefUpdate,
    UpgradeFormatVersionUpdate,
    _apply_table_update,
    _TableMetadataUpdateContext,
)
from pyiceberg.typedef import IcebergBaseModel, Properties
from pyiceberg.types import (
    IcebergType,
    NestedField,
    StructType,
    TimestampNanoType,
    TimestamptzNanoType,
)

FORMAT_VERSION = 3
_LIST_SCHEMA = MANIFEST_LIST_FILE_SCHEMAS[FORMAT_VERSION]
_FIRST_ROW_ID = len(_LIST_SCHEMA.fields) - 1  # its position in a v3 ManifestFile record
assert _LIST_SCHEMA.fields[_FIRST_ROW_ID].name == "first_row_id"


def _dump_json(
    self: TableMetadataV3,
    exclude_none: bool = True,
    exclude: Any | None = None,
    by_alias: bool = True,
    **kwargs: Any,
) -> str:
    """v3 metadata as JSON: every field PyIceberg's model holds, as for v1 and v2."""
    text: str = IcebergBaseModel.model_dump_json(
        self, exclude_none=exclude_none, exclude=exclude, by_alias=by_alias, **kwargs
    )
    if self.next_row_id is None:
        fields = json.loads(text)
        fields["next-row-id"] = 0
        text = json.dumps(fields)
    return text


_upgrade_up_to_v2 = _apply_table_update.dispatch(UpgradeFormatVersionUpdate)


def _upgrade(
    update: UpgradeFormatVersionUpdate,
    base: TableMetadata,
    context: _TableMetadataUpdateContext,
) -> TableMetadata:
    """An upgrade to v3 starts row lineage at 0; others are PyIceberg's own."""
    if update.format_version != FORMAT_VERSION or base.format_version >= FORMAT_VERSION:
        return _upgrade_up_to_v2(update, base, context)
    context.add_update(update)
    fields = {**dict(base), "format_version": FORMAT_VERSION, "next_row_id": 0}
    return TableMetadataV3.model_construct(**fields)


def _fresh_struct(
    self: _SetFreshIDs, struct: StructType, field_results: list[Callable[[], IcebergType]]
) -> StructType:
    """PyIceberg's fresh field ids for a new table's schema, keeping column defaults
    (its own visitor drops them)."""
    new_ids = [self._get_and_increment(field.field_id) for field in struct.fields]  # noqa: SLF001
    return StructType(
        *(
            NestedField(
                field_id=field_id,
                name=field.name,
                field_type=result(),
                required=field.required,
                doc=field.doc,
                initial_default=field.initial_default,
                write_default=field.write_default,
            )
            for field_id, field, result in zip(new_ids, struct.fields, field_results, strict=True)
        )
    )


_installed = False


def install() -> None:
    """Let PyIceberg write v3 table metadata and upgrade tables to v3 (once)."""
    global _installed
    if _installed:
        return
    TableMetadataV3.model_dump_json = _dump_json  # type: ignore[method-assign]
    _SetFreshIDs.struct = _fresh_struct  # type: ignore[method-assign]
    _apply_table_update.register(UpgradeFormatVersionUpdate)(_upgrade)
    _installed = True


_METRICS_COLUMN = "write.metadata.metrics.column."


def statistics_properties(schema: Schema, properties: Properties) -> dict[str, str]:
    """The table properties PyIceberg's file metrics are computed with.

    PyIceberg 0.12 reads a Parquet file's bounds as Python datetimes, which hold
    microseconds, and fails on a nanosecond timestamp that has more: those columns get
    their counts, not their bounds (files are then not pruned by them).
    """
    found = dict(properties)
    for field_id, field in index_by_id(schema).items():
        if isinstance(field.field_type, TimestampNanoType | TimestamptzNanoType):
            name = schema.find_column_name(field_id)
            if name is not None:
                found[_METRICS_COLUMN + name] = "counts"
    return found


def upgrade(transaction: Transaction, format_version: int) -> None:
    """Upgrade the table's format (PyIceberg's own call stops at version 2)."""
    if format_version > transaction.table_metadata.format_version:
        transaction._apply((UpgradeFormatVersionUpdate(format_version=format_version),))  # noqa: SLF001


class ManifestWriterV3(ManifestWriterV2):
    """A v3 manifest: v2's entries, with v3's data file fields (null for new files)."""

    @property
    def version(self) -> Any:
        return FORMAT_VERSION


class _ManifestListWriterV3(ManifestListWriter):
    """A v3 manifest list: assigns sequence numbers as v2 does, and row ids."""

    def __init__(
        self,
        output: Any,
        snapshot_id: int,
        parent_snapshot_id: int | None,
        sequence_number: int,
        first_row_id: int,
        compression: Any,
    ) -> None:
        super().__init__(
            format_version=FORMAT_VERSION,
            output_file=output,
            meta={
                "snapshot-id": str(snapshot_id),
                "parent-snapshot-id": str(parent_snapshot_id)
                if parent_snapshot_id is not None
                else "null",
                "sequence-number": str(sequence_number),
                "first-row-id": str(first_row_id),
                "format-version": str(FORMAT_VERSION),
                AVRO_CODEC_KEY: compression,
            },
        )
        self._snapshot_id = snapshot_id
        self._sequence_number = sequence_number
        self.next_row_id = first_row_id

    def __enter__(self) -> _ManifestListWriterV3:
        self._writer = AvroOutputFile[ManifestFile](
            output_file=self._output_file,
            record_schema=_LIST_SCHEMA,
            file_schema=_LIST_SCHEMA,
            schema_name="manifest_file",
            metadata=self._meta,
        )
        self._writer.__enter__()
        return self

    def prepare_manifest(self, manifest_file: ManifestFile) -> ManifestFile:
        fields = {field.name: manifest_file[i] for i, field in enumerate(_LIST_SCHEMA.fields[:-1])}
        for key in ("sequence_number", "min_sequence_number"):
            if fields[key] == UNASSIGNED_SEQ:
                if manifest_file.added_snapshot_id != self._snapshot_id:
                    raise ValueError(f"manifest {manifest_file.manifest_path} has no {key}")
                fields[key] = self._sequence_number
        first_row_id = first_row_id_of(manifest_file)
        if manifest_file.content == ManifestContent.DATA and first_row_id is None:
            first_row_id = self.next_row_id
            self.next_row_id += (manifest_file.added_rows_count or 0) + (
                manifest_file.existing_rows_count or 0
            )
        return ManifestFile.from_args(
            _table_format_version=FORMAT_VERSION, **fields, first_row_id=first_row_id
        )


def first_row_id_of(manifest: ManifestFile) -> int | None:
    if len(manifest._data) <= _FIRST_ROW_ID:  # noqa: SLF001 (read with a v2 read schema)
        return None
    value: int | None = manifest[_FIRST_ROW_ID]
    return value


def manifests(io: FileIO, manifest_list: str) -> list[ManifestFile]:
    """The manifests a manifest list names, with their ``first_row_id``."""
    with AvroFile[ManifestFile](
        io.new_input(manifest_list),
        _LIST_SCHEMA,
        read_types={-1: ManifestFile, 508: PartitionFieldSummary},
        read_enums={517: ManifestContent},
    ) as reader:
        return list(reader)


def _summary(
    metadata: TableMetadata, files: Sequence[DataFile], properties: dict[str, str]
) -> Summary:
    limit = int(
        metadata.properties.get(
            TableProperties.WRITE_PARTITION_SUMMARY_LIMIT,
            TableProperties.WRITE_PARTITION_SUMMARY_LIMIT_DEFAULT,
        )
    )
    collector = SnapshotSummaryCollector(partition_summary_limit=limit)
    for file in files:
        collector.add_file(data_file=file, partition_spec=metadata.spec(), schema=metadata.schema())
    parent = metadata.current_snapshot()
    return update_snapshot_summaries(
        summary=Summary(Operation.APPEND, **collector.build(), **properties),
        previous_summary=parent.summary if parent is not None else None,
    )


@dataclass(frozen=True)
class NewSnapshot:
    """A v3 snapshot being made on the main branch: its id, parent, sequence number and
    the names and compression of the files it writes."""

    transaction: Transaction
    io: FileIO
    locations: LocationProvider
    snapshot_id: int
    parent: Snapshot | None
    sequence_number: int
    commit: uuid.UUID
    compression: Any

    @classmethod
    def start(cls, transaction: Transaction) -> NewSnapshot:
        metadata = transaction.table_metadata
        table = transaction._table  # noqa: SLF001 (its FileIO and location provider)
        return cls(
            transaction,
            table.io,
            table.location_provider(),
            metadata.new_snapshot_id(),
            metadata.current_snapshot(),
            metadata.next_sequence_number(),
            uuid.uuid4(),
            metadata.properties.get(
                TableProperties.WRITE_AVRO_COMPRESSION,
                TableProperties.WRITE_AVRO_COMPRESSION_DEFAULT,
            ),
        )

    def manifest_output(self, number: int) -> OutputFile:
        return self.io.new_output(
            self.locations.new_metadata_location(f"{self.commit}-m{number}.avro")
        )

    def stage(self, listed: Sequence[ManifestFile], summary: Summary) -> None:
        """Write the manifest list of ``listed`` (assigning row ids to data manifests
        that have none) and stage the snapshot as the new head of the main branch."""
        _stage_snapshot(self, listed, summary)


def append(transaction: Transaction, files: Sequence[DataFile], properties: dict[str, str]) -> None:
    """Stage one snapshot of a v3 table that appends ``files`` on its main branch.

    Failure semantics as for PyIceberg's appends: the manifest and manifest list written
    here are referenced by nothing until the transaction commits.
    """
    metadata = transaction.table_metadata
    new = NewSnapshot.start(transaction)
    snapshot_id, parent, io = new.snapshot_id, new.parent, new.io
    written: list[ManifestFile] = []
    if files:
        with ManifestWriterV3(
            metadata.spec(), metadata.schema(), new.manifest_output(0), snapshot_id, new.compression
        ) as writer:
            for file in files:
                entry = ManifestEntry.from_args(
                    status=ManifestEntryStatus.ADDED,
                    snapshot_id=snapshot_id,
                    sequence_number=None,
                    file_sequence_number=None,
                    data_file=file,
                )
                writer.add_entry(entry)
        written.append(writer.to_manifest_file())
    kept = [
        m
        for m in (manifests(io, parent.manifest_list) if parent is not None else [])
        if m.has_added_files() or m.has_existing_files()
    ]
    new.stage(written + kept, _summary(metadata, files, properties))


def _stage_snapshot(new: NewSnapshot, listed: Sequence[ManifestFile], summary: Summary) -> None:
    metadata = new.transaction.table_metadata
    snapshot_id, sequence_number, parent = new.snapshot_id, new.sequence_number, new.parent
    first_row_id = getattr(metadata, "next_row_id", None) or 0
    location = new.locations.new_metadata_location(f"snap-{snapshot_id}-0-{new.commit}.avro")
    with _ManifestListWriterV3(
        new.io.new_output(location),
        snapshot_id,
        parent.snapshot_id if parent is not None else None,
        sequence_number,
        first_row_id,
        new.compression,
    ) as manifest_list:
        manifest_list.add_manifests(list(listed))
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent.snapshot_id if parent is not None else None,
        sequence_number=sequence_number,
        manifest_list=location,
        summary=summary,
        schema_id=metadata.current_schema_id,
        first_row_id=first_row_id,
        added_rows=manifest_list.next_row_id - first_row_id,
    )
    updates = (
        AddSnapshotUpdate(snapshot=snapshot),
        SetSnapshotRefUpdate(
            snapshot_id=snapshot_id,
            parent_snapshot_id=snapshot.parent_snapshot_id,
            ref_name=MAIN_BRANCH,
            type=SnapshotRefType.BRANCH,
        ),
    )
    requirement = AssertRefSnapshotId(snapshot_id=snapshot.parent_snapshot_id, ref=MAIN_BRANCH)
    new.transaction._apply(updates, (requirement,))  # noqa: SLF001
