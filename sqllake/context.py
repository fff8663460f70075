"""What a handler may use of the session that runs it.

Handlers (``execute/``), automatic maintenance and the change feed run inside a session
but see only this: the lakehouse, the engine, the insert buffer, the open transaction's
writes and a few questions about names and row counts. :class:`sqllake.session.Session`
provides it; nothing under ``execute/`` imports the session itself
(``tests/test_boundaries.py`` checks), so a handler cannot reach past what is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import Table

    from sqllake.catalog import Lakehouse, TableName
    from sqllake.catalog_open import CatalogSettings
    from sqllake.plan import nodes
    from sqllake.read.engine import Engine
    from sqllake.write.buffer import InsertBuffer
    from sqllake.write.overwrite import Replacement
    from sqllake.write.rowlevel import StagedRows


@dataclass(frozen=True)
class Pin:
    """What a transaction first read of a table: its snapshot and the buffered rows."""

    snapshot_id: int | None
    buffered: tuple[pa.RecordBatch, ...]
    buffer_mark: int = 0  # the highest buffer sequence number among them (0: unknown)


class Writes(Protocol):
    """The open transaction as handlers see it: per table, the Parquet files it wrote,
    the rows of small INSERTs it holds, and what it first read."""

    def add(self, table: TableName, files: list[DataFile]) -> None: ...

    def files(self, table: TableName) -> list[DataFile]: ...

    def held_rows(self, table: TableName) -> list[pa.RecordBatch]: ...

    def wrote(self, table: TableName) -> bool: ...

    def tables_with_files(self) -> list[TableName]:
        """The tables whose writes commit as a snapshot: files, a TRUNCATE, an overwrite."""
        ...

    def tables_written(self) -> list[TableName]:
        """Every table the transaction wrote anything to (files, held rows, removals)."""
        ...

    def replacement_of(self, table: TableName) -> Replacement | None:
        """What TRUNCATE and INSERT OVERWRITE statements removed from ``table``."""
        ...

    def replace_rows(
        self, table: TableName, replacement: Replacement, files: list[DataFile], pin: Pin | None
    ) -> None:
        """Record a TRUNCATE's or INSERT OVERWRITE's removal: ``files`` become the table's
        written files (the others, never committed, are deleted), its held rows go, and
        ``pin`` (when reads are isolated) is what later reads see under the files."""
        ...

    def forget_files(self, table: TableName, files: list[DataFile]) -> None:
        """Delete files a failed statement wrote, and forget them."""
        ...

    def discard(self, table: TableName) -> None: ...

    def staged_rows(self, table: TableName) -> StagedRows | None:
        """What DELETE, UPDATE and MERGE statements changed in ``table``."""
        ...

    def stage_rows(self, table: TableName, staged: StagedRows) -> None: ...

    def write_held(self, lakehouse: Lakehouse, table: TableName) -> None:
        """Write ``table``'s held INSERT rows as its files (a row-level change needs
        every row it may change in a file)."""
        ...

    def repin(self, table: TableName, pin: Pin) -> None:
        """Make ``pin`` what later reads of ``table`` see (after a row-level change)."""
        ...

    def pin_of(self, table: TableName) -> Pin | None: ...

    def pin(self, table: TableName, pin: Pin) -> Pin:
        """Keep ``pin`` as what the transaction read of ``table`` unless one is kept;
        the one kept."""
        ...


class Context(Protocol):
    """The session as a handler sees it."""

    schema: tuple[str, ...]  # the current schema (USE changes it)
    overwrite_mode: str  # what INSERT OVERWRITE replaces: 'static' or 'dynamic'

    @property
    def lakehouse(self) -> Lakehouse: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def buffer(self) -> InsertBuffer | None: ...

    @property
    def transaction(self) -> Writes: ...

    @property
    def isolated(self) -> bool:
        """Whether reads see a stable snapshot (in a transaction)."""
        ...

    @property
    def unopened_catalog(self) -> CatalogSettings | None:
        """The catalog's settings while no statement has opened it (None after): a
        query may then look small tables up itself (``execute/light_scans.py``)."""
        ...

    def load(self, name: TableName, offset: int | None = None) -> Table: ...

    def table_name(self, name: nodes.Name) -> TableName: ...

    def inline_limit(self, name: TableName, table: Table) -> int: ...

    def buffer_rows(self, name: TableName, table: Table, batch: pa.RecordBatch) -> None: ...

    def row_count(self, name: TableName, table: Table, committed: int | None) -> int: ...

    def flush(self, name: TableName) -> int: ...

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
