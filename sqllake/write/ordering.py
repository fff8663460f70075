"""Rows in a table's sort order (``WRITE ORDERED BY``) for writes that do not pass
through the engine's ORDER BY: a flush of the insert buffer, whose rows arrived one
small INSERT at a time.

PyArrow places nulls at one end for every key at once, so each key is preceded by
its own null flag, sorted to put the nulls where that key wants them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection
from pyiceberg.transforms import IdentityTransform


def sort_rows(table: Table, rows: pa.Table) -> pa.Table:
    """``rows`` ordered by the table's sort order; as they are when it has none.

    Only identity sort fields on top-level columns are applied, as for other writes.
    """
    schema = table.schema()
    keys: list[tuple[str, str]] = []
    flags: dict[str, pa.Array] = {}
    for position, field in enumerate(table.sort_order().fields):
        name = schema.find_column_name(field.source_id)
        if name is None or "." in name or not isinstance(field.transform, IdentityTransform):
            continue
        if name not in rows.column_names:
            continue
        flag = f"__null_{position}"
        flags[flag] = pc.is_null(rows.column(name))
        nulls_first = field.null_order == NullOrder.NULLS_FIRST
        keys.append((flag, "descending" if nulls_first else "ascending"))
        keys.append((name, "descending" if field.direction == SortDirection.DESC else "ascending"))
    if not keys:
        return rows
    keyed = rows
    for flag, values in flags.items():
        keyed = keyed.append_column(flag, values)
    return rows.take(pc.sort_indices(keyed, sort_keys=keys))
