"""The open transaction: what it wrote and has not committed, per table.

Written Parquet files, rows of small INSERTs held in memory, what TRUNCATE, INSERT
OVERWRITE, DELETE, UPDATE and MERGE staged, and what the transaction first read of each
table. The session owns one; handlers see it through :class:`sqllake.context.Writes`.
Commit publishes one Iceberg snapshot per table (several tables atomically with a SQL
catalog) or moves held rows to the insert buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from sqllake.context import Pin
from sqllake.errors import ProgrammingError, UnconfirmedCommitError
from sqllake.names import TableName

if TYPE_CHECKING:
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Transaction as PyTransaction

    from sqllake.catalog import Lakehouse
    from sqllake.write.buffer import InsertBuffer
    from sqllake.write.overwrite import Replacement
    from sqllake.write.rowlevel import StagedRows


@dataclass
class Transaction:
    """What a transaction wrote and has not committed, per table: Parquet files, and the
    rows of small INSERTs held in memory.

    Failure semantics of :meth:`commit`: every table's writes are published at once, or
    none are (see :meth:`commit`).
    """

    explicit: bool = False
    pending: dict[TableName, list[DataFile]] = field(default_factory=dict)
    # Rows of small INSERTs: at commit they go to the insert buffer, all tables in one
    # database transaction, instead of becoming a snapshot per table.
    held: dict[TableName, list[pa.RecordBatch]] = field(default_factory=dict)
    # What the transaction read of each table the first time: its snapshot, and the
    # buffered rows then visible (kept, since a later flush removes them from the
    # buffer). Later reads in the transaction see exactly the same.
    pinned: dict[TableName, Pin] = field(default_factory=dict)
    # What DELETE, UPDATE and MERGE changed besides writing data files, per table.
    rows: dict[TableName, StagedRows] = field(default_factory=dict)
    # What TRUNCATE and INSERT OVERWRITE removed, per table (see write/overwrite.py).
    replaced: dict[TableName, Replacement] = field(default_factory=dict)

    def add(self, table: TableName, files: list[DataFile]) -> None:
        self.pending.setdefault(table, []).extend(files)

    def hold(self, table: TableName, batch: pa.RecordBatch) -> None:
        self.held.setdefault(table, []).append(batch)

    def files(self, table: TableName) -> list[DataFile]:
        return self.pending.get(table, [])

    def held_rows(self, table: TableName) -> list[pa.RecordBatch]:
        return self.held.get(table, [])

    def wrote(self, table: TableName) -> bool:
        return bool(
            self.files(table)
            or self.held_rows(table)
            or table in self.replaced
            or table in self.rows
        )

    def tables_with_files(self) -> list[TableName]:
        return sorted(
            {t for t, files in self.pending.items() if files} | {*self.replaced, *self.rows}
        )

    def tables_written(self) -> list[TableName]:
        return sorted(
            t for t in {*self.pending, *self.held, *self.replaced, *self.rows} if self.wrote(t)
        )

    def replacement_of(self, table: TableName) -> Replacement | None:
        return self.replaced.get(table)

    def replace_rows(
        self, table: TableName, replacement: Replacement, files: list[DataFile], pin: Pin | None
    ) -> None:
        previous = self.replaced.get(table)
        self.replaced[table] = previous.merged(replacement) if previous else replacement
        kept = {f.file_path for f in files}
        gone = [f.file_path for f in self.files(table) if f.file_path not in kept]
        self.pending[table] = list(files)
        self.held.pop(table, None)
        if pin is not None:
            self.pinned[table] = pin
        from sqllake.storage import remove_files

        remove_files(gone)  # written by this transaction, never committed

    def forget_files(self, table: TableName, files: list[DataFile]) -> None:
        from sqllake.storage import remove_files

        paths = {f.file_path for f in files}
        self.pending[table] = [f for f in self.files(table) if f.file_path not in paths]
        remove_files(paths)

    def staged_rows(self, table: TableName) -> StagedRows | None:
        return self.rows.get(table)

    def stage_rows(self, table: TableName, staged: StagedRows) -> None:
        self.rows[table] = staged

    def repin(self, table: TableName, pin: Pin) -> None:
        self.pinned[table] = pin

    def pin_of(self, table: TableName) -> Pin | None:
        return self.pinned.get(table)

    def pin(self, table: TableName, pin: Pin) -> Pin:
        return self.pinned.setdefault(table, pin)

    @property
    def has_writes(self) -> bool:
        return (
            any(self.pending.values())
            or any(self.held.values())
            or bool(self.replaced)
            or bool(self.rows)
        )

    def discard(self, table: TableName) -> None:
        from sqllake.storage import remove_files

        self.held.pop(table, None)
        self.replaced.pop(table, None)
        remove_files(f.file_path for f in self.pending.pop(table, []))
        staged = self.rows.pop(table, None)
        if staged is not None:
            staged.discard()

    def rollback(self) -> None:
        for table in {*self.pending, *self.held, *self.replaced, *self.rows}:
            self.discard(table)

    def commit(self, lakehouse: Lakehouse, buffer: InsertBuffer | None) -> dict[TableName, int]:
        """Publish the writes; the rows that went to the insert buffer, per table.

        Only held rows: they go to the buffer, every table in one database transaction.
        Otherwise (files, or no buffer) held rows are written as files first, and the
        files commit as one snapshot per table, several tables atomically (SQL catalogs).
        Failure semantics: nothing is committed and every written file is deleted; a
        conflict with another writer is retried on fresh metadata first. When the
        catalog's answer was lost and it cannot confirm the commit, the files are kept
        (the commit may have landed) and forgotten here: the error says so.
        """
        try:
            files = any(self.pending.values()) or self.replaced or self.rows
            if buffer is not None and self.held and not files:
                rows = {t: _one_batch(b) for t, b in sorted(self.held.items()) if b}
                if not buffer.beside_catalog:  # else the append checks, atomically
                    for name in rows:
                        if not lakehouse.exists(name):
                            raise ProgrammingError(f"table {name} does not exist")
                buffer.append_all(list(rows.items()))
                self.held.clear()
                return {t: batch.num_rows for t, batch in rows.items()}
            self._write_held(lakehouse)
            tables = self.tables_with_files()
            from sqllake.write.commit import commit_with_retry

            commit_with_retry(lakehouse, [(t, self._action(lakehouse, t)) for t in tables])
        except UnconfirmedCommitError:
            self.pending.clear()
            self.held.clear()
            self.replaced.clear()
            self.rows.clear()
            raise
        except BaseException:
            self.rollback()
            raise
        self.pending.clear()
        self.replaced.clear()
        self.rows.clear()
        return {}

    def _action(self, lakehouse: Lakehouse, table: TableName) -> Callable[[PyTransaction], None]:
        """An append, the swap of a TRUNCATE or INSERT OVERWRITE, or the changes of
        DELETE, UPDATE and MERGE."""
        from sqllake.write.commit import append_action
        from sqllake.write.overwrite import overwrite_action
        from sqllake.write.rowlevel import row_delta_action

        staged = self.rows.get(table)
        if staged is not None:
            return row_delta_action(table, lakehouse.load(table).io, staged, self.files(table))
        replaced = self.replaced.get(table)
        if replaced is None:
            return append_action(self.pending[table])
        return overwrite_action(table, lakehouse.load(table).io, replaced, self.files(table))

    def _write_held(self, lakehouse: Lakehouse) -> None:
        """Held rows as Parquet files, for a commit that also has files or no buffer."""
        for name in sorted(self.held):
            self.write_held(lakehouse, name)
        self.held.clear()

    def write_held(self, lakehouse: Lakehouse, name: TableName) -> None:
        """One table's held rows as pending Parquet files (before a statement changes
        rows of the table: it changes them in files)."""
        from sqllake.write.ordering import sort_rows
        from sqllake.write.rows import write_rows

        batches = self.held.pop(name, [])
        if batches:
            table = lakehouse.load(name)
            rows = sort_rows(table, pa.Table.from_batches(batches))
            self.add(name, write_rows(table, str(name), rows.to_batches()))


def _one_batch(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
