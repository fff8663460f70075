"""Delete files of a merge-on-read DELETE, UPDATE or MERGE.

Format 2: position delete files (Parquet with the spec's reserved ``file_path`` and
``pos`` columns, rows sorted by both), one per partition of the data files they name,
since a position delete file belongs to its data files' partition. Format 3: deletion
vectors, one per data file, all of one statement in one Puffin file; a data file that
already has a vector gets a new one holding the old positions too, and the old entry
is replaced (format 3 allows one live vector per data file).

Nothing here commits: the caller stages the files in its transaction, which deletes
them when the statement or the transaction fails.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table

from sqllake.compat.row_delta import deletion_vector, spec_of
from sqllake.read.deletion_vectors import BLOB_TYPE, PUFFIN_MAGIC, encode
from sqllake.storage import open_output, remove_files

# Reserved field ids of the position delete schema (Iceberg spec, "Position Delete Files").
FILE_PATH_ID = 2147483546
POS_ID = 2147483545
_ROW_POSITION_ID = 2147483645  # the deletion vector's field: the row position

_POSITION_ROWS = pa.schema(
    [
        pa.field(
            "file_path",
            pa.dictionary(pa.int32(), pa.string()),
            False,
            {"PARQUET:field_id": str(FILE_PATH_ID)},
        ),
        pa.field("pos", pa.int64(), False, {"PARQUET:field_id": str(POS_ID)}),
    ]
)


def _location(table: Table, suffix: str) -> str:
    return f"{table.location()}/data/{uuid.uuid4()}-{suffix}"


def delete_file_groups(
    paths: Iterable[str], entries: Mapping[str, DataFile], table: Table
) -> list[list[str]]:
    """The data files (normalized paths) each position delete file covers: one file per
    partition, since a delete file belongs to its data files' partition; each group
    sorted by the paths the manifests record, as the delete file's rows must be."""
    groups: dict[tuple[int, str], list[str]] = defaultdict(list)
    for path in paths:
        entry = entries[path]
        groups[(spec_of(entry, table.metadata.default_spec_id), repr(entry.partition))].append(path)
    return [sorted(group, key=lambda p: entries[p].file_path) for group in groups.values()]


class PositionDeleteWriter:
    """Position delete files for the groups of :func:`delete_file_groups`, written as the
    rows arrive (sorted by group, data file and position) so memory stays bounded by a
    batch however many rows a statement deletes.

    Rows name their data file by its index in the group's list (``which``): the file path
    column is dictionary-encoded from the group's few paths, so millions of rows cost no
    string copies, and no Arrow schema is stored, so every reader sees plain strings.
    Sorted positions are delta-encoded to a few bits each.

    Failure semantics: :meth:`abort` deletes every file started, finished or not; the
    caller stages the finished ones only after the last rows are written.
    """

    def __init__(self, table: Table) -> None:
        self._table = table
        self._files: Sequence[DataFile] = ()
        self._location = ""
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0
        self._started: list[str] = []
        self.written: list[DataFile] = []

    def start(self, files: Sequence[DataFile]) -> None:
        """Begin the delete file of one group (``files``: its data files' entries)."""
        self.finish()
        self._files, self._rows = files, 0
        self._location = _location(self._table, "deletes.parquet")
        self._started.append(self._location)
        self._sink = open_output(self._location, self._table.io)
        self._writer = pq.ParquetWriter(
            self._sink,
            _POSITION_ROWS,
            compression="zstd",
            store_schema=False,
            use_dictionary=["file_path"],
            column_encoding={"pos": "DELTA_BINARY_PACKED"},
        )

    def write(self, which: pa.Array, positions: pa.Array) -> None:
        assert self._writer is not None
        names = pa.DictionaryArray.from_arrays(
            which.cast(pa.int32()), pa.array([f.file_path for f in self._files], pa.string())
        )
        rows = pa.Table.from_arrays([names, positions.cast(pa.int64())], schema=_POSITION_ROWS)
        self._writer.write_table(rows)
        self._rows += len(rows)

    def finish(self) -> None:
        """Close the group's file and describe it."""
        if self._writer is None or self._sink is None:
            return
        self._writer.close()
        self._sink.close()
        self._writer = self._sink = None
        self.written.append(self._entry(len(self._table.io.new_input(self._location))))

    def abort(self) -> None:
        if self._writer is not None and self._sink is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
                self._sink.close()
        self._writer = self._sink = None
        remove_files(self._started, self._table.io)
        self.written = []

    def _entry(self, size: int) -> DataFile:
        first, last, count = self._files[0], self._files[-1], self._rows
        file = DataFile.from_args(
            content=DataFileContent.POSITION_DELETES,
            file_path=self._location,
            file_format=FileFormat.PARQUET,
            partition=first.partition,
            record_count=count,
            file_size_in_bytes=size,
            sort_order_id=None,
            equality_ids=None,
            key_metadata=None,
            # Readers skip a delete file whose path bounds exclude their data file.
            lower_bounds={FILE_PATH_ID: first.file_path.encode()},
            upper_bounds={FILE_PATH_ID: last.file_path.encode()},
            value_counts={FILE_PATH_ID: count, POS_ID: count},
            null_value_counts={FILE_PATH_ID: 0, POS_ID: 0},
        )
        file.spec_id = spec_of(first, self._table.metadata.default_spec_id)
        return file


def deletion_vector_file(
    table: Table, deleted: Mapping[str, Sequence[int]], entries: Mapping[str, DataFile]
) -> list[DataFile]:
    """One Puffin file holding a deletion vector per data file of ``deleted`` (its full
    set of deleted positions); one manifest entry per vector."""
    if not deleted:
        return []
    body = bytearray(PUFFIN_MAGIC)
    blobs, placed = [], []
    for path in sorted(deleted):
        positions = sorted(set(deleted[path]))
        blob = encode(positions)
        blobs.append(
            {
                "type": BLOB_TYPE,
                "fields": [_ROW_POSITION_ID],
                "snapshot-id": -1,
                "sequence-number": -1,
                "offset": len(body),
                "length": len(blob),
                "properties": {
                    "referenced-data-file": entries[path].file_path,
                    "cardinality": str(len(positions)),
                },
            }
        )
        placed.append((path, len(body), len(blob), len(positions)))
        body += blob
    payload = json.dumps({"blobs": blobs}).encode()
    body += PUFFIN_MAGIC + payload + len(payload).to_bytes(4, "little") + bytes(4) + PUFFIN_MAGIC
    location = _location(table, "dv.puffin")
    with open_output(location, table.io) as sink:
        sink.write(bytes(body))
    return [
        deletion_vector(
            location,
            len(body),
            entries[path].file_path,
            offset,
            length,
            count,
            spec_of(entries[path], table.metadata.default_spec_id),
            entries[path].partition,
        )
        for path, offset, length, count in placed
    ]
