"""Metadata tables: ``"t$snapshots"`` and friends, with Trino's names.

Each is an Arrow table PyIceberg's inspection API builds from the table metadata and
manifests (read through the table's file IO, so moved tables work too). Quote the
name: ``$`` is not an identifier character in SQL. Credentials in snapshot summaries
(another engine's writer may take any summary property) are shown masked.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from pyiceberg.table import Table
from pyiceberg.table.inspect import InspectTable

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.secrets import mask_properties

METADATA_TABLES: dict[str, Callable[[InspectTable], pa.Table]] = {
    "snapshots": InspectTable.snapshots,
    "history": InspectTable.history,
    "files": InspectTable.files,
    "manifests": InspectTable.manifests,
    "partitions": InspectTable.partitions,
    "refs": InspectTable.refs,
    "metadata_log_entries": InspectTable.metadata_log_entries,
    "entries": InspectTable.entries,
}


def split_name(name: str) -> tuple[str, str | None]:
    """``t$snapshots`` -> (``t``, ``snapshots``); a plain name has no metadata kind."""
    if "$" not in name:
        return name, None
    base, kind = name.rsplit("$", 1)
    return base, kind.lower()


def _empty_entries(files: pa.Schema) -> pa.Schema:
    """``$entries`` of a table without snapshots: its data-file struct is ``$files``'s
    columns but the spec id and metrics, with the file format as plain text."""
    inner = [
        pa.field(f.name, pa.string(), nullable=False) if f.name == "file_format" else f
        for f in files
        if f.name not in ("spec_id", "readable_metrics")
    ]
    return pa.schema(
        [
            pa.field("status", pa.int8(), nullable=False),
            pa.field("snapshot_id", pa.int64(), nullable=False),
            pa.field("sequence_number", pa.int64(), nullable=False),
            pa.field("file_sequence_number", pa.int64(), nullable=False),
            pa.field("data_file", pa.struct(inner), nullable=False),
            files.field("readable_metrics"),
        ]
    )


def _empty_partitions(files: pa.Schema) -> pa.Schema:
    """``$partitions`` of a table without snapshots (partition columns when partitioned)."""
    partition = files.field("partition")
    keys = [partition, files.field("spec_id")] if partition.type.num_fields else []
    counts = [
        pa.field(name, kind, nullable=False)
        for name, kind in [
            ("record_count", pa.int64()),
            ("file_count", pa.int32()),
            ("total_data_file_size_in_bytes", pa.int64()),
            ("position_delete_record_count", pa.int64()),
            ("position_delete_file_count", pa.int32()),
            ("equality_delete_record_count", pa.int64()),
            ("equality_delete_file_count", pa.int32()),
        ]
    ]
    last = [
        pa.field("last_updated_at", pa.timestamp("ms")),
        pa.field("last_updated_snapshot_id", pa.int64()),
    ]
    return pa.schema([*keys, *counts, *last])


# PyIceberg builds these two from the current snapshot only, and refuses a table that has
# none; their empty shapes follow from ``$files``, which it builds for any table.
_WITHOUT_SNAPSHOTS: dict[str, Callable[[pa.Schema], pa.Schema]] = {
    "entries": _empty_entries,
    "partitions": _empty_partitions,
}


def metadata_table(table: Table, kind: str) -> pa.Table:
    reader = METADATA_TABLES.get(kind)
    if reader is None:
        raise ProgrammingError(
            f"unknown metadata table ${kind}; known: {', '.join('$' + k for k in METADATA_TABLES)}"
        )
    empty = _WITHOUT_SNAPSHOTS.get(kind)
    if empty is not None and table.current_snapshot() is None:
        return empty(InspectTable.files(table.inspect).schema).empty_table()
    try:
        return _masked_summaries(reader(table.inspect))
    except pa.ArrowNotImplementedError as exc:
        # PyIceberg's inspection cannot put some partition values into Arrow: UUIDs.
        name = ".".join(table.name())
        raise NotSupportedError(
            f"metadata table {name}${kind} cannot be built: PyIceberg cannot convert "
            "some of its values to Arrow (UUID partition values)"
        ) from exc


def _masked_summaries(table: pa.Table) -> pa.Table:
    index = table.schema.get_field_index("summary")
    if index < 0:
        return table
    column = table.column(index)
    summaries = column.to_pylist()
    masked = [None if s is None else list(mask_properties(dict(s)).items()) for s in summaries]
    if masked == summaries:
        return table
    return table.set_column(index, table.field(index), pa.array(masked, column.type))
