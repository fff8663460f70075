"""Metadata tables: ``"t$snapshots"`` and friends, with Trino's names.

Each is an Arrow table PyIceberg's inspection API builds from the table metadata and
manifests (read through the table's file IO, so moved tables work too). Quote the
name: ``$`` is not an identifier character in SQL.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from pyiceberg.table import Table
from pyiceberg.table.inspect import InspectTable

from sqllake.errors import NotSupportedError, ProgrammingError

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
        return reader(table.inspect)
    except pa.ArrowNotImplementedError as exc:
        # PyIceberg's inspection cannot put some partition values into Arrow: UUIDs.
        name = ".".join(table.name())
        raise NotSupportedError(
            f"metadata table {name}${kind} cannot be built: PyIceberg cannot convert "
            "some of its values to Arrow (UUID partition values)"
        ) from exc
