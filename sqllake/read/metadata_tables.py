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


def metadata_table(table: Table, kind: str) -> pa.Table:
    reader = METADATA_TABLES.get(kind)
    if reader is None:
        raise ProgrammingError(
            f"unknown metadata table ${kind}; known: {', '.join('$' + k for k in METADATA_TABLES)}"
        )
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
