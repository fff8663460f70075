"""Rows -> Parquet files for one table: conform each batch to the table schema, then write.

Failure semantics: :func:`write_rows` either returns the DataFiles of every row it
read, or raises after deleting every file it wrote. Nothing is committed here; the
files become visible only when the transaction commits them.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from sqllake.catalog import filesystem
from sqllake.errors import IntegrityError, NotSupportedError
from sqllake.types import arrow_schema, cast_array
from sqllake.write.commit import data_file
from sqllake.write.parquet import RollingParquetWriter, WriterOptions

PROPERTY_TARGET_SIZE = "write.target-file-size-bytes"
PROPERTY_COMPRESSION = "write.parquet.compression-codec"
PROPERTY_ROW_GROUP_ROWS = "write.parquet.row-group-limit"


def writer_options(properties: dict[str, str]) -> WriterOptions:
    defaults = WriterOptions()
    return WriterOptions(
        target_file_size=int(properties.get(PROPERTY_TARGET_SIZE, defaults.target_file_size)),
        row_group_rows=int(properties.get(PROPERTY_ROW_GROUP_ROWS, defaults.row_group_rows)),
        compression=properties.get(PROPERTY_COMPRESSION, defaults.compression),
    )


def _first_null(column: pa.Array) -> int:
    return int(pc.index(pc.is_null(column), True).as_py())


def conform(
    batch: pa.RecordBatch, schema: pa.Schema, table_name: str, first_row: int
) -> pa.RecordBatch:
    """Cast ``batch`` (columns in table order) to the table's Arrow schema; check NOT NULL.

    ``first_row`` is the 1-based number of the batch's first row in the statement, so
    errors name the row the user wrote.
    """
    columns = []
    for field, column in zip(schema, batch.columns, strict=True):
        if not field.nullable and column.null_count:
            row = first_row + _first_null(column)
            raise IntegrityError(
                f"NULL value in column {field.name} of table {table_name} violates NOT NULL "
                f"(row {row})"
            )
        columns.append(cast_array(column, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def write_rows(table: Table, table_name: str, batches: Iterable[pa.RecordBatch]) -> list[DataFile]:
    """Write every row of ``batches`` as new data files of ``table``; nothing is committed."""
    if table.spec().fields:
        raise NotSupportedError(f"writing to partitioned table {table_name} is not supported")
    schema = arrow_schema(table.schema())
    fs, folder = filesystem(f"{table.location()}/data")
    writer = RollingParquetWriter(
        fs, folder, f"{table.location()}/data", schema, writer_options(table.properties)
    )
    row = 1
    try:
        for batch in batches:
            writer.write(conform(batch, schema, table_name, row))
            row += batch.num_rows
        written = writer.close()
        return [data_file(table, file) for file in written]
    except BaseException:
        writer.abort()
        raise
