"""Commit Iceberg delete files by hand, for tests only.

PyIceberg 0.12 reads position deletes but cannot write any delete file, and sqllake
itself never writes them, so tests of the read path build them here the way Spark or
Flink would: a Parquet file with the spec's column ids, a ``DataFile`` entry whose
content says what it deletes, a manifest whose content is DELETES, and a snapshot that
keeps every manifest of its parent beside the new one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
)
from pyiceberg.table import Table, Transaction
from pyiceberg.table.snapshots import Operation, Summary
from pyiceberg.table.update.snapshot import _FastAppendFiles
from pyiceberg.typedef import EMPTY_DICT, Record

from sqllake.read.deletion_vectors import PUFFIN_MAGIC, encode

# Reserved field ids of the position delete schema (Iceberg spec, "Position Delete Files").
FILE_PATH_ID = 2147483546
POS_ID = 2147483545

_POSITION_SCHEMA = pa.schema(
    [
        pa.field(
            "file_path",
            pa.string(),
            nullable=False,
            metadata={"PARQUET:field_id": str(FILE_PATH_ID)},
        ),
        pa.field("pos", pa.int64(), nullable=False, metadata={"PARQUET:field_id": str(POS_ID)}),
    ]
)


def _write_parquet(table: Table, rows: pa.Table, suffix: str) -> tuple[str, int]:
    """Write ``rows`` under the table's data folder; (recorded path, size in bytes).

    Written through ``table.io`` so a relocated table's file lands in its real folder
    while the entry records the path in the table's own (recorded) location.
    """
    path = table.location_provider().new_data_location(f"{uuid.uuid4()}-{suffix}.parquet")
    with table.io.new_output(path).create(overwrite=True) as out:
        pq.write_table(rows, out)
    return path, len(table.io.new_input(path))


def position_delete_file(
    table: Table,
    deletes: Sequence[tuple[str, int]],
    *,
    partition: Record | None = None,
) -> DataFile:
    """A position delete file removing ``(data file path, row position)`` pairs.

    Paths are written as given, so a test can name a file by another spelling of its
    location. ``partition`` must be the data files' partition in a partitioned table.
    """
    # The spec requires rows sorted by file_path, then pos.
    ordered = sorted(deletes)
    rows = pa.table(
        [
            pa.array([p for p, _ in ordered], pa.string()),
            pa.array([n for _, n in ordered], pa.int64()),
        ],
        schema=_POSITION_SCHEMA,
    )
    path, size = _write_parquet(table, rows, "pos-deletes")
    return _delete_entry(
        table, DataFileContent.POSITION_DELETES, path, size, len(ordered), partition
    )


def equality_delete_file(
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    partition: Record | None = None,
) -> DataFile:
    """An equality delete file on ``columns`` (top-level names) holding ``rows`` (tuples).

    The Parquet columns carry the table's field ids, which is how readers match them.
    """
    schema = table.schema()
    ids = [schema.find_field(name).field_id for name in columns]
    arrow_schema = schema_to_pyarrow(schema.select(*columns))
    data = pa.Table.from_pylist(
        [dict(zip(columns, row, strict=True)) for row in rows], schema=arrow_schema
    )
    path, size = _write_parquet(table, data, "eq-deletes")
    return _delete_entry(
        table, DataFileContent.EQUALITY_DELETES, path, size, len(rows), partition, ids
    )


def deletion_vector_file(table: Table, cardinality: int = 1) -> DataFile:
    """A deletion vector entry: a position delete in Puffin format.

    Only the manifest entry is written, in a v2 manifest (PyIceberg writes no v3 ones,
    so its referenced file and offset are left out): a reader must refuse the table
    from the entry alone, before it opens any file.
    """
    path = table.location_provider().new_data_location(f"{uuid.uuid4()}-dv.puffin")
    return _delete_entry(
        table,
        DataFileContent.POSITION_DELETES,
        path,
        64,
        cardinality,
        None,
        file_format=FileFormat.PUFFIN,
    )


def deletion_vector_puffin(table: Table, deleted: dict[str, list[int]]) -> DataFile:
    """A real Puffin file with one deletion vector per data file, and its manifest entry.

    The blob layout and footer follow the Puffin and deletion-vector specs; the entry is a
    v2 one (PyIceberg writes no v3 manifests), which names only the Puffin file.
    """
    body = bytearray(PUFFIN_MAGIC)
    blobs = []
    for data_file, positions in deleted.items():
        blob = encode(positions)
        blobs.append(
            {
                "type": "deletion-vector-v1",
                "fields": [2147483645],
                "snapshot-id": -1,
                "sequence-number": -1,
                "offset": len(body),
                "length": len(blob),
                "properties": {
                    "referenced-data-file": data_file,
                    "cardinality": str(len(positions)),
                },
            }
        )
        body += blob
    payload = json.dumps({"blobs": blobs}).encode()
    body += PUFFIN_MAGIC + payload + len(payload).to_bytes(4, "little") + bytes(4) + PUFFIN_MAGIC
    path = table.location_provider().new_data_location(f"{uuid.uuid4()}-dv.puffin")
    with table.io.new_output(path).create() as out:
        out.write(bytes(body))
    count = sum(len(p) for p in deleted.values())
    return _delete_entry(
        table,
        DataFileContent.POSITION_DELETES,
        path,
        len(body),
        count,
        None,
        file_format=FileFormat.PUFFIN,
    )


def _delete_entry(
    table: Table,
    content: DataFileContent,
    path: str,
    size: int,
    count: int,
    partition: Record | None,
    equality_ids: list[int] | None = None,
    file_format: FileFormat = FileFormat.PARQUET,
) -> DataFile:
    return DataFile.from_args(
        content=content,
        file_path=path,
        file_format=file_format,
        partition=partition if partition is not None else Record(),
        record_count=count,
        file_size_in_bytes=size,
        spec_id=table.spec().spec_id,
        equality_ids=equality_ids,
        sort_order_id=None,
        key_metadata=None,
    )


class _DeleteManifestWriter(ManifestWriterV2):
    """A v2 manifest of delete files: readers tell data from deletes by this content."""

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


class _AddDeleteFiles(_FastAppendFiles):
    """A fast append that writes delete files into one DELETES manifest.

    PyIceberg's producers only put added files into DATA manifests, so the delete
    manifest is written here and listed beside the parent's manifests.
    """

    def __init__(
        self,
        table: Table,
        transaction: Transaction,
        deletes: Sequence[DataFile],
        operation: Operation,
    ) -> None:
        super().__init__(operation=operation, transaction=transaction, io=table.io)
        self._deletes = list(deletes)

    def _manifests(self) -> list[ManifestFile]:
        writer = _DeleteManifestWriter(
            spec=self.spec(self._transaction.table_metadata.default_spec_id),
            schema=self.schema(),
            output_file=self.new_manifest_output(),
            snapshot_id=self._snapshot_id,
            avro_compression=self._compression,
        )
        with writer:
            for delete in self._deletes:
                # No sequence number: it is inherited from this snapshot, as for any added file.
                writer.add(
                    ManifestEntry.from_args(
                        status=ManifestEntryStatus.ADDED,
                        snapshot_id=self._snapshot_id,
                        sequence_number=None,
                        file_sequence_number=None,
                        data_file=delete,
                    )
                )
        return [*super()._manifests(), writer.to_manifest_file()]

    def _summary(self, snapshot_properties: dict[str, str] = EMPTY_DICT) -> Summary:
        # The summary counts what _added_data_files holds; lend it the delete files so
        # the snapshot reports added/total delete files as a real writer's would.
        data_files = self._added_data_files
        self._added_data_files = [*data_files, *self._deletes]
        try:
            return super()._summary(snapshot_properties)
        finally:
            self._added_data_files = data_files


def commit_deletes(
    table: Table, deletes: Sequence[DataFile], operation: Operation = Operation.DELETE
) -> Table:
    """Commit ``deletes`` as one new snapshot of ``table``; the refreshed table.

    Nothing else changes: every data and delete file of the parent snapshot stays.
    On a commit conflict the catalog raises and the written files are left orphaned,
    which is fine for a test's temporary folder.
    """
    with table.transaction() as transaction:
        _AddDeleteFiles(table, transaction, deletes, operation).commit()
    return table.refresh()
