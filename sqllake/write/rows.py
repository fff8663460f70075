"""Rows -> Parquet files for one table: conform each batch to the table schema, then write.

Failure semantics: :func:`write_rows` either returns the DataFiles of every row it
read, or raises after deleting every file it wrote. Nothing is committed here; the
files become visible only when the transaction commits them.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from queue import Empty, Full, Queue

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from pyiceberg.typedef import Record

from sqllake.errors import IntegrityError
from sqllake.properties import table_property
from sqllake.types import arrow_schema, cast_array, tighten
from sqllake.write.commit import data_file
from sqllake.write.parquet import RollingParquetWriter, SharedBudget, WriterOptions
from sqllake.write.partitioning import PartitionedBatch, split
from sqllake.write.threads import KeyedThreads

PROPERTY_TARGET_SIZE = "write.target-file-size-bytes"
PROPERTY_COMPRESSION = "write.parquet.compression-codec"
PROPERTY_ROW_GROUP_ROWS = "write.parquet.row-group-limit"
# Partitions with an open file at once, per write (an open Parquet writer keeps ~0.5 MiB).
MAX_OPEN_PARTITIONS = 128
# Arrow bytes all open partitions of one write buffer together (see SharedBudget). The
# Arrow memory in use while writing was about three times this (row groups being
# encoded, the open writers), with rows spread over 32 and over 128 partitions.
PENDING_BUDGET = 16 * 1024 * 1024


def writer_options(properties: dict[str, str]) -> WriterOptions:
    defaults = WriterOptions()
    size = table_property(properties, PROPERTY_TARGET_SIZE, str(defaults.target_file_size))
    rows = table_property(properties, PROPERTY_ROW_GROUP_ROWS, str(defaults.row_group_rows))
    return WriterOptions(
        target_file_size=int(size),
        row_group_rows=int(rows),
        compression=table_property(properties, PROPERTY_COMPRESSION, defaults.compression).lower(),
    )


def conform(
    batch: pa.RecordBatch, schema: pa.Schema, table_name: str, first_row: int
) -> pa.RecordBatch:
    """Cast ``batch`` (columns in table order) to the table's Arrow schema; check NOT NULL.

    ``first_row`` is the 1-based number of the batch's first row in the statement, so
    errors name the row the user wrote.
    """
    columns = []
    for field, column in zip(schema, batch.columns, strict=True):
        converted = cast_array(column, field.type)
        _check_not_null(converted, field, field.name, table_name, first_row)
        columns.append(tighten(converted, field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def not_null_error(path: str, table_name: str, row: int | None) -> IntegrityError:
    """A NOT NULL violation, whichever writer found it."""
    where = f" (row {row})" if row is not None else ""
    message = f"NULL value in column {path} of table {table_name} violates NOT NULL{where}"
    return IntegrityError(message, table=table_name, column=path, row=row)


def _check_not_null(
    column: pa.Array,
    field: pa.Field,
    path: str,
    table_name: str,
    first_row: int,
    present: pa.Array | None = None,
) -> None:
    """NOT NULL of a column and of the struct fields inside it.

    ``present`` marks the rows whose enclosing structs are set: a NULL struct has no
    fields, so its fields' NOT NULL does not apply there.
    """
    missing = pc.is_null(column)
    if present is not None:
        missing = pc.and_(missing, present)
    if not field.nullable and pc.any(missing).as_py():
        row = first_row + int(pc.index(missing, True).as_py())
        raise not_null_error(path, table_name, row)
    if isinstance(field.type, pa.StructType):
        inner = pc.is_valid(column) if present is None else pc.and_(present, pc.is_valid(column))
        for i in range(field.type.num_fields):
            child = field.type.field(i)
            _check_not_null(
                column.field(i), child, f"{path}.{child.name}", table_name, first_row, inner
            )


class _PartitionWriters:
    """One rolling writer per partition, at most ``limit`` with an open file at once.

    When a write touches more partitions than the limit, the least recently used
    partition's file is finished (its later rows start a new file), which bounds memory
    and open files whatever the order of the incoming rows. Writers run on
    :class:`KeyedThreads`: this class decides, the threads encode.
    """

    def __init__(
        self,
        table: Table,
        schema: pa.Schema,
        limit: int,
        threads: int | None,
        options: WriterOptions | None = None,
    ) -> None:
        self._table = table
        self._schema = schema
        self._options = options or writer_options(table.properties)
        self._limit = limit
        self._open: OrderedDict[tuple[object, ...], RollingParquetWriter] = OrderedDict()
        self._all: list[tuple[Record, RollingParquetWriter]] = []
        self._threads = KeyedThreads(threads)
        self._budget = SharedBudget(PENDING_BUDGET)

    def write(self, part: PartitionedBatch) -> None:
        writer = self._open.pop(part.key, None)
        if writer is None:
            writer = self._new_writer(part.partition)
            if len(self._open) >= self._limit:
                key, oldest = self._open.popitem(last=False)
                self._threads.submit(key, oldest.close)
        self._open[part.key] = writer
        self._threads.submit(part.key, functools.partial(writer.write, part.batch))

    def _new_writer(self, partition: Record) -> RollingParquetWriter:
        spec = self._table.spec()
        location = f"{self._table.location()}/data"
        if spec.fields:
            location += "/" + spec.partition_to_path(partition, self._table.schema())
        writer = RollingParquetWriter(
            self._table.io, location, self._schema, self._options, self._budget
        )
        self._all.append((partition, writer))
        return writer

    def close(self) -> list[DataFile]:
        for key, writer in self._open.items():
            self._threads.submit(key, writer.close)
        self._threads.join()
        return [
            data_file(self._table, file, partition)
            for partition, writer in self._all
            for file in writer.files
        ]

    def abort(self) -> None:
        self._threads.cancel()
        for _, writer in self._all:
            writer.abort()


_DONE = object()


def prefetched(batches: Iterable[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Pull ``batches`` on a background thread, ``depth`` ahead of the consumer.

    The engine computes the next batches while this thread converts and compresses the
    current ones (both release the GIL), so a write keeps both cores busy. Closing the
    generator early stops the producer.
    """
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        queue.put(batch, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)

    producer = threading.Thread(target=produce, name="sqllake-prefetch", daemon=True)
    producer.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while producer.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        producer.join()


def write_rows(
    table: Table,
    table_name: str,
    batches: Iterable[pa.RecordBatch],
    threads: int | None = None,
    options: WriterOptions | None = None,
) -> list[DataFile]:
    """Write every row of ``batches`` as new data files of ``table``; nothing is committed.

    Files are encoded on ``threads`` threads (the session's ``threads`` setting; by
    default one per core); ``options`` default to the table's properties.
    """
    schema = arrow_schema(table.schema())
    spec, iceberg_schema = table.spec(), table.schema()
    writers = _PartitionWriters(table, schema, MAX_OPEN_PARTITIONS, threads, options)
    row = 1
    try:
        for batch in prefetched(batches):
            conformed = conform(batch, schema, table_name, row)
            for part in split(conformed, spec, iceberg_schema):
                writers.write(part)
            row += batch.num_rows
        return writers.close()
    except BaseException:
        writers.abort()
        raise
