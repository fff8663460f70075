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
from sqllake.storage import open_output

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


def position_delete_file(
    table: Table, files: Sequence[DataFile], which: pa.Array, positions: pa.Array
) -> DataFile:
    """Write one position delete file for one group of :func:`delete_file_groups`:
    ``files`` are its data files' entries in order, row ``i`` deletes position
    ``positions[i]`` of ``files[which[i]]``, rows sorted by both. The file path column
    is dictionary-encoded from the few paths, so millions of rows cost no string
    copies; no Arrow schema is stored, so every reader sees plain strings."""
    names = pa.DictionaryArray.from_arrays(
        which.cast(pa.int32()), pa.array([f.file_path for f in files], pa.string())
    )
    rows = pa.Table.from_arrays([names, positions.cast(pa.int64())], schema=_POSITION_ROWS)
    location = _location(table, "deletes.parquet")
    with open_output(location, table.io) as sink:
        pq.write_table(
            rows,
            sink,
            compression="zstd",
            store_schema=False,
            use_dictionary=["file_path"],
            # Sorted positions: deltas pack them to a few bits each.
            column_encoding={"pos": "DELTA_BINARY_PACKED"},
        )
    first, last = files[0], files[-1]
    size = len(table.io.new_input(location))
    count = len(rows)
    file = DataFile.from_args(
        content=DataFileContent.POSITION_DELETES,
        file_path=location,
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
    file.spec_id = spec_of(first, table.metadata.default_spec_id)
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
