"""What a statement gives back: columns, a stream of Arrow batches, a row count, a status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One result column: its name and its type as DuckDB names it (``BIGINT``, ``VARCHAR``)."""

    name: str
    type_name: str


@dataclass(frozen=True)
class Result:
    """The outcome of one statement.

    ``reader`` streams the rows of a statement that returns rows (None otherwise);
    ``rowcount`` is the number of rows written, or -1 when unknown (queries, DDL);
    ``status`` is a short tag for shells, such as ``INSERT 3`` or ``CREATE TABLE``.
    """

    columns: tuple[Column, ...]
    reader: pa.RecordBatchReader | None
    rowcount: int
    status: str

    @classmethod
    def status_only(cls, status: str, rowcount: int = -1) -> Result:
        return cls((), None, rowcount, status)

    @classmethod
    def rows(
        cls, status: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]
    ) -> Result:
        """A small result computed in Python (SHOW, DESCRIBE); every column is VARCHAR-like."""
        cols = tuple(Column(name, type_name) for name, type_name in columns)
        arrays = {
            c.name: pa.array([row[i] for row in rows], ARROW_OF[c.type_name])
            for i, c in enumerate(cols)
        }
        table = pa.table(arrays) if cols else pa.table({})
        return cls(
            cols, pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), -1, status
        )


# Arrow types for the few column types Python-computed results use.
ARROW_OF = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("ms", tz="UTC"),  # from epoch milliseconds
}
