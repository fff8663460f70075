"""The insert buffer: small writes kept in the catalog's own database until a flush.

A small INSERT appends its rows (one Arrow IPC batch) to ``sqllake_buffer`` in one
database transaction, so they survive a crash once the statement returns. Each table
has a counter row in ``sqllake_buffer_seq``; bumping it takes a row lock that orders
appends, so sequence numbers become visible in the order they were handed out (a
reader never sees 11 before 10).

A flush writes the buffered rows as Parquet and commits one Iceberg snapshot whose
summary records the highest sequence number it holds (``sqllake.buffer-seq``). Readers
take the buffered rows *before* loading the table metadata and ignore rows at or below
the recorded number, so a row is counted once whether they see the flush or not.

Failure semantics of :meth:`InsertBuffer.flush`:
- a crash before the Iceberg commit leaves the rows buffered (and unreferenced Parquet
  files, which nothing reads);
- a crash after the commit leaves rows at or below the recorded number in the buffer;
  readers ignore them and the next flush deletes them;
- two flushes of one table race on the Iceberg commit: the loser sees the new number,
  deletes its files and starts again from what is still buffered;
- a commit whose answer was lost and that the catalog cannot confirm keeps its files and
  its rows: if it landed, the recorded number hides the rows from readers and the next
  flush deletes them; if not, the next flush writes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from sqlalchemy.engine.interfaces import DBAPICursor

from sqllake.catalog import Lakehouse, TableName
from sqllake.catalog_db import DriverStatement, driver_transaction
from sqllake.errors import OperationalError, ProgrammingError, UnconfirmedCommitError
from sqllake.storage import remove_files
from sqllake.types import arrow_schema, cast_array, default_array
from sqllake.write.commit import append_action, commit_with_retry
from sqllake.write.ordering import sort_rows
from sqllake.write.rows import write_rows

SEQUENCE_PROPERTY = "sqllake.buffer-seq"

_metadata = sa.MetaData()
_rows = sa.Table(
    "sqllake_buffer",
    _metadata,
    sa.Column("catalog_name", sa.String(255), primary_key=True),
    sa.Column("table_namespace", sa.String(255), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("batch", sa.LargeBinary, nullable=False),
)
_sequences = sa.Table(
    "sqllake_buffer_seq",
    _metadata,
    sa.Column("catalog_name", sa.String(255), primary_key=True),
    sa.Column("table_namespace", sa.String(255), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
)


# The append path runs once per small INSERT: plain statements, compiled once per
# database and run on the driver's cursor (see DriverStatement).
_KEY = "catalog_name = :catalog AND table_namespace = :namespace AND table_name = :name"
_BUMP = sa.text(
    f"UPDATE sqllake_buffer_seq SET last_seq = last_seq + 1 WHERE {_KEY} RETURNING last_seq"
)
_FIRST = sa.text(
    "INSERT INTO sqllake_buffer_seq (catalog_name, table_namespace, table_name, last_seq) "
    "VALUES (:catalog, :namespace, :name, 1)"
)
_APPEND = sa.text(
    "INSERT INTO sqllake_buffer "
    "(catalog_name, table_namespace, table_name, seq, row_count, created_ms, batch) "
    "VALUES (:catalog, :namespace, :name, :seq, :rows, :created, :batch)"
)
_EXISTS = sa.text(f"SELECT 1 FROM sqllake_buffer WHERE {_KEY} AND seq = :seq")
# Rows go only to a table the catalog still has (a transaction holds its rows until
# commit, and the table may have been dropped meanwhile).
_TABLE = sa.text(f"SELECT 1 FROM iceberg_tables WHERE {_KEY}")
# Every query of a table reads its buffered rows first, so this one is plain too.
_READ = sa.text(f"SELECT seq, batch FROM sqllake_buffer WHERE {_KEY} ORDER BY seq")


@dataclass(frozen=True)
class BufferedRows:
    """Buffered rows of one table, as read (before the table metadata was loaded)."""

    table: TableName
    batches: tuple[tuple[int, pa.RecordBatch], ...]  # (sequence number, rows)

    def after(self, flushed: int) -> list[pa.RecordBatch]:
        return [batch for seq, batch in self.batches if seq > flushed]


@dataclass(frozen=True)
class BufferStats:
    rows: int
    bytes: int
    oldest_ms: int | None


def flushed_sequence(metadata: TableMetadata, snapshot_id: int | None = None) -> int:
    """The highest buffer sequence number in the table at a snapshot (0 if none); by
    default at the current snapshot.

    Other engines' commits carry no number, so the newest ancestor that has one counts.
    """
    current = (
        metadata.snapshot_by_id(snapshot_id)
        if snapshot_id is not None
        else metadata.current_snapshot()
    )
    while current is not None:
        recorded = current.summary.get(SEQUENCE_PROPERTY) if current.summary else None
        if recorded is not None:
            return int(recorded)
        parent = current.parent_snapshot_id
        current = metadata.snapshot_by_id(parent) if parent is not None else None
    return 0


# Explicit options: the defaults are read from two environment variables per writer.
_IPC_OPTIONS = pa.ipc.IpcWriteOptions()


def _serialize(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema, options=_IPC_OPTIONS) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def _deserialize(data: bytes | memoryview) -> pa.RecordBatch:  # drivers differ
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()


def align(batch: pa.RecordBatch, table: Table) -> pa.RecordBatch:
    """A buffered batch in the table's current schema, matching columns by field id."""
    target = arrow_schema(table.schema())
    by_id = {
        int(f.metadata[b"PARQUET:field_id"]): i for i, f in enumerate(batch.schema) if f.metadata
    }
    columns = []
    for field in target:
        field_id = int(field.metadata[b"PARQUET:field_id"])
        position = by_id.get(field_id)
        if position is None:  # a column added later: its initial default (v3) or NULL
            column = table.schema().find_field(field_id)
            initial = column.initial_default
            columns.append(default_array(initial, column.field_type, field.type, batch.num_rows))
        else:
            columns.append(cast_array(batch.column(position), field.type))
    return pa.RecordBatch.from_arrays(columns, schema=target)


class InsertBuffer:
    """The buffer tables in one SQL catalog database."""

    def __init__(self, engine: sa.Engine, catalog_name: str, beside_catalog: bool) -> None:
        """``beside_catalog``: the database also holds the catalog's tables, so an append
        checks that its table still exists in the same database transaction."""
        self._engine = engine
        self._catalog = catalog_name
        _metadata.create_all(engine, checkfirst=True)
        self._bump, self._first, self._append, self._read, self._exists = (
            DriverStatement.compile(clause, engine)
            for clause in (_BUMP, _FIRST, _APPEND, _READ, _EXISTS)
        )
        self._table = DriverStatement.compile(_TABLE, engine) if beside_catalog else None

    def _key(self, table: TableName, columns: sa.Table) -> sa.ColumnElement[bool]:
        return sa.and_(
            columns.c.catalog_name == self._catalog,
            columns.c.table_namespace == ".".join(table.namespace),
            columns.c.table_name == table.name,
        )

    def _names(self, table: TableName) -> dict[str, str]:
        return {
            "catalog": self._catalog,
            "namespace": ".".join(table.namespace),
            "name": table.name,
        }

    def append_all(self, rows: list[tuple[TableName, pa.RecordBatch]]) -> list[int]:
        """Durably append rows to several tables in one database transaction (all or
        none); their sequence numbers. Tables are locked in the order given: callers
        sort them, so two appends never wait on each other in a cycle.

        Failure semantics: when the database's answer to the commit is lost, the rows
        are looked for again; found, the append succeeded, otherwise it raises
        (``UnconfirmedCommitError`` when the database cannot be asked).
        """
        serialized = [
            (self._names(t), {"rows": b.num_rows, "batch": _serialize(b)}) for t, b in rows
        ]
        for _ in range(3):
            seqs: list[int] = []
            try:
                with driver_transaction(self._engine) as cursor:
                    for (table, _), (names, row) in zip(rows, serialized, strict=True):
                        self._refuse_missing(cursor, table, names)
                        bumped = self._bump.execute(cursor, names).fetchone()
                        if bumped is None:
                            self._first.execute(cursor, names)
                        seq = int(bumped[0]) if bumped is not None else 1
                        created = int(time.time() * 1000)
                        values = {**names, **row, "seq": seq, "created": created}
                        self._append.execute(cursor, values)
                        seqs.append(seq)
                return seqs
            except sa.exc.IntegrityError:
                continue  # two first appends created the counter at once: go again
            except BaseException as exc:
                if len(seqs) < len(rows):
                    raise  # failed before the commit: nothing was appended
                self._settle([t for t, _ in rows], seqs, exc)
                return seqs
        raise RuntimeError(f"could not append to the insert buffer of {rows[0][0]}")

    @property
    def beside_catalog(self) -> bool:
        return self._table is not None

    def _refuse_missing(self, cursor: DBAPICursor, table: TableName, names: dict[str, str]) -> None:
        if self._table is not None and self._table.execute(cursor, names).fetchone() is None:
            raise ProgrammingError(f"table {table} does not exist")

    def _settle(self, tables: list[TableName], seqs: list[int], cause: BaseException) -> None:
        """Whether an append whose commit answer was lost landed: its rows are there."""
        names = ", ".join(str(t) for t in tables)
        try:
            with driver_transaction(self._engine) as cursor:
                found = [
                    self._exists.execute(cursor, {**self._names(t), "seq": seq}).fetchone()
                    for t, seq in zip(tables, seqs, strict=True)
                ]
        except BaseException as exc:
            raise UnconfirmedCommitError(
                f"the catalog database did not confirm the INSERT into {names} ({cause}) and "
                f"could not be asked whether its rows were stored ({exc})"
            ) from cause
        if not all(found):
            raise OperationalError(
                f"the INSERT into {names} was not stored: the connection to the catalog "
                f"database failed ({cause})"
            ) from cause

    def read(self, table: TableName) -> BufferedRows:
        with driver_transaction(self._engine) as cursor:
            found = self._read.execute(cursor, self._names(table)).fetchall()
        return BufferedRows(table, tuple((int(seq), _deserialize(data)) for seq, data in found))

    def stats(self, table: TableName, flushed: int) -> BufferStats:
        with self._engine.connect() as conn:
            rows, size, oldest = conn.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(_rows.c.row_count), 0),
                    sa.func.coalesce(sa.func.sum(sa.func.length(_rows.c.batch)), 0),
                    sa.func.min(_rows.c.created_ms),
                ).where(self._key(table, _rows), _rows.c.seq > flushed)
            ).one()
        return BufferStats(int(rows), int(size), int(oldest) if oldest is not None else None)

    def delete_through(self, table: TableName, seq: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(_rows.delete().where(self._key(table, _rows), _rows.c.seq <= seq))

    def forget(self, table: TableName) -> None:
        """Drop every buffered row and the counter of a dropped table."""
        with self._engine.begin() as conn:
            conn.execute(_rows.delete().where(self._key(table, _rows)))
            conn.execute(_sequences.delete().where(self._key(table, _sequences)))

    def rename(self, table: TableName, new: TableName) -> None:
        values = {"table_namespace": ".".join(new.namespace), "table_name": new.name}
        with self._engine.begin() as conn:
            conn.execute(_rows.update().where(self._key(table, _rows)).values(**values))
            conn.execute(_sequences.update().where(self._key(table, _sequences)).values(**values))

    def flush(self, table: TableName, lakehouse: Lakehouse) -> int:
        """Move buffered rows into the table as one snapshot; the number of rows moved."""
        while True:
            buffered = self.read(table)
            current = lakehouse.load(table)
            flushed = flushed_sequence(current.metadata)
            pending = [(seq, batch) for seq, batch in buffered.batches if seq > flushed]
            if not pending:
                self.delete_through(table, flushed)
                return 0
            highest = pending[-1][0]
            rows = pa.Table.from_batches([align(b, current) for _, b in pending])
            files = write_rows(current, str(table), sort_rows(current, rows).to_batches())

            def still_ours(transaction: Transaction, expected: int = flushed) -> None:
                if flushed_sequence(transaction.table_metadata) != expected:
                    raise _FlushedElsewhere

            append = append_action(files, still_ours, {SEQUENCE_PROPERTY: str(highest)})
            try:
                commit_with_retry(lakehouse, [(table, append)])
            except _FlushedElsewhere:
                remove_files((f.file_path for f in files), current.io)
                continue
            except UnconfirmedCommitError:
                raise  # the rows stay buffered; the recorded number decides if they landed
            except BaseException:
                remove_files((f.file_path for f in files), current.io)
                raise
            self.delete_through(table, highest)
            return sum(batch.num_rows for _, batch in pending)


class _FlushedElsewhere(Exception):
    """Another process flushed this table between our read and our commit."""
