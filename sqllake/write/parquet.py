"""A rolling Parquet writer: Arrow batches in, files cut at a target size on disk out.

Failure semantics: the writer only creates new files under its data folder, with
fresh unique names; nothing references them until a commit does. :meth:`abort`
deletes every file this writer created, so a failed statement leaves nothing behind.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io import FileIO

from sqllake.storage import open_output, remove_files


@dataclass(frozen=True)
class WrittenFile:
    """One finished Parquet file: its location, size on disk and footer metadata."""

    location: str
    size_in_bytes: int
    metadata: pq.FileMetaData
    record_count: int


@dataclass(frozen=True)
class WriterOptions:
    target_file_size: int = 128 * 1024 * 1024
    row_group_rows: int = 128 * 1024  # like DuckDB's 122,880: scans hold a row group per thread
    # A row group is written once this many bytes of Arrow data are buffered, even
    # if it has fewer rows, so wide rows do not hold whole row groups in memory.
    row_group_bytes: int = 64 * 1024 * 1024
    compression: str = "zstd"


@dataclass
class SharedBudget:
    """Arrow bytes that the writers of one statement buffer together, against a budget.

    Rows spread over many partitions would otherwise hold a row group per partition in
    memory. Once two or more writers together hold more than ``budget`` bytes, a writer
    that holds at least an equal share of it writes its row group early. Rows that arrive
    one partition at a time (sorted input) have one writer buffering, which keeps its
    full row groups. Writers on several threads update it, hence the lock.
    """

    budget: int
    _total: int = field(default=0, init=False)
    _holders: int = field(default=0, init=False)  # writers with rows buffered
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def held(self) -> int:
        return self._total

    def add(self, size: int, first: bool) -> None:
        with self._lock:
            self._total += size
            self._holders += first

    def release(self, size: int) -> None:
        with self._lock:
            self._total -= size
            self._holders -= 1

    def over_for(self, holding: int) -> bool:
        """Whether a writer holding ``holding`` bytes should write them now."""
        with self._lock:
            return (
                self._holders > 1
                and self._total > self.budget
                and holding * self._holders >= self.budget
            )


class RollingParquetWriter:
    """Writes batches of one schema into files of about ``target_file_size`` bytes."""

    def __init__(
        self,
        io: FileIO | None,
        location_prefix: str,
        schema: pa.Schema,
        options: WriterOptions,
        shared: SharedBudget | None = None,
    ) -> None:
        self._io = io  # None: the one registered for the location (see storage.io_for)
        self._shared = shared
        self._prefix = location_prefix.rstrip("/")
        self._schema = schema
        self._options = options
        self._name: str | None = None
        self._sink: pa.NativeFile | None = None
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._written_arrow_bytes = 0  # Arrow bytes in the open file's finished row groups
        self._created: list[str] = []
        self.files: list[WrittenFile] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._shared is not None:
            self._shared.add(batch.nbytes, first=not self._pending)
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        self._pending_bytes += batch.nbytes
        if (
            self._pending_rows >= self._options.row_group_rows
            or self._pending_bytes >= self._row_group_budget()
            or (self._shared is not None and self._shared.over_for(self._pending_bytes))
        ):
            self._flush_row_group()

    def _row_group_budget(self) -> float:
        """Arrow bytes to buffer before writing a row group.

        Files are cut at a size on disk, but only between row groups. Once a row group
        has shown how well the data compresses, the next one is sized to end the file
        near the target instead of overshooting it by a whole row group.
        """
        on_disk = self._sink.tell() if self._sink is not None else 0
        if on_disk == 0 or self._written_arrow_bytes == 0:
            return min(self._options.row_group_bytes, self._options.target_file_size)
        ratio = on_disk / self._written_arrow_bytes
        remaining = max(self._options.target_file_size - on_disk, 0)
        # A floor keeps the last row groups of a file from becoming tiny.
        floor = self._options.target_file_size / 16 / ratio
        return min(self._options.row_group_bytes, max(remaining / ratio, floor))

    def close(self) -> list[WrittenFile]:
        """Finish the open file; the files written, in order."""
        self._flush_row_group()
        if self._writer is not None:
            self._close_file()
        return self.files

    def _flush_row_group(self) -> None:
        if not self._pending:
            return
        if self._writer is None:
            self._open()
        assert self._writer is not None and self._sink is not None
        table = pa.Table.from_batches(self._pending, self._schema)
        self._writer.write_table(table, row_group_size=self._options.row_group_rows)
        self._rows += table.num_rows
        self._written_arrow_bytes += self._pending_bytes
        if self._shared is not None:
            self._shared.release(self._pending_bytes)
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        # The sink's position counts the bytes already on disk (finished row groups).
        if self._sink.tell() >= self._options.target_file_size:
            self._close_file()

    def abort(self) -> None:
        """Delete every file this writer created (safe to call more than once)."""
        if self._writer is not None:
            try:
                self._writer.close()
                assert self._sink is not None
                self._sink.close()
            except (OSError, pa.ArrowException):
                pass
            self._writer = None
        remove_files(self._created, self._io)
        self._created.clear()
        self._pending.clear()
        self.files.clear()

    def _open(self) -> None:
        self._name = f"{uuid.uuid4()}.parquet"
        location = f"{self._prefix}/{self._name}"
        self._created.append(location)
        self._sink = open_output(location, self._io)
        self._writer = pq.ParquetWriter(
            self._sink,
            self._schema,
            compression=self._options.compression,
        )
        self._rows = 0
        self._written_arrow_bytes = 0

    def _close_file(self) -> None:
        assert self._writer is not None and self._sink is not None and self._name
        self._writer.close()
        size = self._sink.tell()
        self._sink.close()
        metadata = self._writer.writer.metadata
        self.files.append(WrittenFile(f"{self._prefix}/{self._name}", size, metadata, self._rows))
        self._writer = None
        self._sink = None
