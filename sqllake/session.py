"""A session: the current schema, the open transaction, and the execution boundary.

``Session.execute`` is where SQL text becomes a plan, the plan runs through the
handler its class names in :data:`sqllake.execute.HANDLERS`, and every foreign
exception is translated (once) into the PEP 249 hierarchy with a location.

Transactions: written Parquet files wait in the open transaction
(:class:`sqllake.writes.Transaction`) until commit, which publishes one Iceberg snapshot
per table. Reads in the transaction see those files too. DDL (CREATE, DROP, ALTER) takes
effect at once, as in Spark and Trino.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from sqllake.catalog_open import CatalogSettings
from sqllake.errors import Error, ProgrammingError, located
from sqllake.execute import HANDLERS
from sqllake.names import DEFAULT_NAMESPACE, TableName
from sqllake.plan import nodes
from sqllake.plan.build import build
from sqllake.read.engine import Engine
from sqllake.result import Result
from sqllake.sql import parse
from sqllake.translation import translate, translating
from sqllake.write.settings import STATIC, WriteSettings
from sqllake.writes import Transaction

if TYPE_CHECKING:
    from pyiceberg.table import Table

    from sqllake.catalog import Lakehouse
    from sqllake.write.buffer import InsertBuffer

# The catalog (PyIceberg, SQLAlchemy) and the write path are imported when a statement
# first needs them, inside the methods below: a session that runs only statements
# naming no lakehouse table never opens the catalog.

_log = logging.getLogger("sqllake")


INLINE_ROWS_PROPERTY = "write.inline.rows"


class Session:
    """The state behind one connection."""

    def __init__(
        self,
        settings: CatalogSettings,
        autocommit: bool = False,
        write: WriteSettings | None = None,
    ) -> None:
        self.settings = settings
        self._lakehouse: Lakehouse | None = None
        self._buffer: InsertBuffer | None = None
        self.engine = Engine()
        self.autocommit = autocommit
        self.write = write or WriteSettings()
        self.schema: tuple[str, ...] = (DEFAULT_NAMESPACE,)
        # What INSERT OVERWRITE replaces without a PARTITION value (Spark's setting).
        self.overwrite_mode = STATIC
        self.transaction = Transaction()
        self._buffered: set[TableName] = set()
        self._appended: dict[TableName, int] = {}  # rows appended since the last check
        self._checked: dict[TableName, float] = {}  # when the buffer totals were last read
        self._counted: dict[tuple[TableName, int | None], int] = {}  # exact rows per snapshot

    # The catalog, opened by the first statement that needs it

    @property
    def lakehouse(self) -> Lakehouse:
        """The catalog: opened on first use, when the default schema is also created.

        A catalog that cannot be opened fails the statement that first needs it (and
        every later one, each trying again) with the error opening it raised."""
        if self._lakehouse is None:
            self._lakehouse = self._open()
        return self._lakehouse

    @property
    def unopened_catalog(self) -> CatalogSettings | None:
        return self.settings if self._lakehouse is None else None

    @property
    def buffer(self) -> InsertBuffer | None:
        """The insert buffer, where the catalog (or the state database) can hold one."""
        if self._lakehouse is None:
            self._lakehouse = self._open()
        return self._buffer

    def _open(self) -> Lakehouse:
        from sqllake.catalog import Lakehouse
        from sqllake.write.buffer import InsertBuffer

        try:
            lakehouse = Lakehouse(self.settings)
        except Error:
            raise
        except Exception as exc:  # the catalog's own refusal (REST): said as opening it
            if not type(exc).__module__.startswith("pyiceberg"):
                raise
            error = translate(exc)
            raise type(error)(f"cannot open catalog: {error.message}") from exc
        try:
            if not lakehouse.namespace_exists((DEFAULT_NAMESPACE,)):
                lakehouse.create_namespace((DEFAULT_NAMESPACE,), if_not_exists=True)
        except Exception as exc:  # the catalog's first answer: unreachable, refused...
            lakehouse.close()
            raise translate(exc) from exc
        state = lakehouse.state_engine
        beside = state is not None and state is lakehouse.sql_engine
        if state is not None:
            self._buffer = InsertBuffer(state, lakehouse.state_key, beside)
        return lakehouse

    # The insert buffer

    def inline_limit(self, name: TableName, table: Table) -> int:
        """Row count below which an INSERT into ``table`` is buffered (0: not now).

        In a transaction the limit counts the rows it already holds for the table."""
        from sqllake.properties import table_property

        if self.buffer is None:
            return 0
        limit = int(
            table_property(table.properties, INLINE_ROWS_PROPERTY, str(self.write.inline_rows))
        )
        if not self.isolated:
            return limit
        held = sum(int(batch.num_rows) for batch in self.transaction.held_rows(name))
        return max(0, limit - held)

    def buffer_rows(self, name: TableName, table: Table, batch: pa.RecordBatch) -> None:
        """Buffer a small INSERT's rows now, or at commit in a transaction."""
        assert self.buffer is not None
        if self.isolated:
            self.transaction.hold(name, batch)
            return
        self.buffer.append_all([(name, batch)])
        self._appended_to_buffer(name, table, batch.num_rows)

    def _appended_to_buffer(self, name: TableName, table: Table, rows: int) -> None:
        self._buffered.add(name)
        # Looking at the buffer's totals costs a query: do it once a second, or sooner
        # when this session alone appended a tenth of a flush.
        since = self._appended.get(name, 0) + rows
        checked = self._checked.get(name, 0.0)
        if since * 10 >= self.write.flush_rows or time.monotonic() - checked >= 1.0:
            try:
                self._flush_if_due(name, table)
            except Exception:
                # The rows are durably buffered: the INSERT succeeded whatever the flush
                # does, and a later one (due check, FLUSH, close) moves them.
                _log.warning("flush of %s failed; its rows stay buffered", name, exc_info=True)
        else:
            self._appended[name] = since

    def _flush_if_due(self, name: TableName, table: Table) -> None:
        from sqllake.write.buffer import flushed_sequence

        assert self.buffer is not None
        self._checked[name] = time.monotonic()
        self._appended[name] = 0
        stats = self.buffer.stats(name, flushed_sequence(table.metadata))
        age = time.time() - stats.oldest_ms / 1000 if stats.oldest_ms is not None else 0.0
        if (
            stats.rows >= self.write.flush_rows
            or stats.bytes >= self.write.flush_bytes
            or age >= self.write.flush_interval
        ):
            self.flush(name)

    def flush(self, name: TableName) -> int:
        """Move ``name``'s buffered rows into Parquet files and one snapshot; rows moved."""
        from sqllake import maintenance

        if self.buffer is None:
            return 0
        count = self.buffer.flush(name, self.lakehouse)
        if count:
            maintenance.after_flush(self, name)  # compaction and expiry, when due
        return count

    def flush_due(self) -> None:
        """Flush the tables this session buffered whose rows are due (a timer calls this)."""
        for name in sorted(self._buffered):
            if self.lakehouse.exists(name):
                self._flush_if_due(name, self.lakehouse.load(name))

    # Names

    def load(self, name: TableName, offset: int | None = None) -> Table:
        with located(offset):
            return self.lakehouse.load(name)

    def table_name(self, name: nodes.Name) -> TableName:
        """What a written name refers to. Quoted names keep their case, but as in DuckDB
        a quoted name matches a table whose name differs only by case."""
        parts = name.parts
        found = TableName(tuple(parts[:-1]) if len(parts) > 1 else self.schema, parts[-1])
        lower = TableName(tuple(p.lower() for p in found.namespace), found.name.lower())
        if lower != found and not self.lakehouse.exists(found) and self.lakehouse.exists(lower):
            return lower
        return found

    def row_count(self, name: TableName, table: Table, committed: int | None) -> int:
        """Rows a read of ``name`` returns now: committed rows (counted by a scan when
        delete files make the summary inexact, once per snapshot) plus buffered rows."""
        from sqllake.execute.scans import count_committed
        from sqllake.write.buffer import flushed_sequence

        snapshot = table.current_snapshot()
        key = (name, snapshot.snapshot_id if snapshot else None)
        if committed is None:
            if key not in self._counted:
                self._counted[key] = count_committed(self, name, table)
            committed = self._counted[key]
        buffered = 0
        if self.buffer is not None:
            buffered = self.buffer.stats(name, flushed_sequence(table.metadata)).rows
        return committed + buffered

    @property
    def in_explicit_transaction(self) -> bool:
        """Whether BEGIN opened the transaction (COMMIT or ROLLBACK ends it)."""
        return self.transaction.explicit

    @property
    def in_transaction(self) -> bool:
        return self.transaction.explicit or self.transaction.has_writes

    # Execution

    def execute(self, text: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement; errors carry their location in ``text``."""
        tree: exp.Expr | None = None
        try:
            tree, plan = _planned(text)
            self.engine.start_statement()
            result = HANDLERS[type(plan)](self, plan, params)
            if result.reader is not None:  # its errors may come while it streams
                result = replace(result, reader=translating(result.reader))
            if self.autocommit and not self.transaction.explicit and self.transaction.has_writes:
                self._commit()
            return result
        except Error as exc:
            self._abort_statement()
            raise exc.locate(text) from exc.__cause__
        except (Exception, KeyboardInterrupt) as exc:
            self._abort_statement()
            error = translate(exc, locate_name=lambda name: _find_name(tree, name))
            raise error.locate(text) from exc

    def moment(self, sql: str) -> datetime.datetime | None:
        """The constant expression ``sql`` as a moment (NULL: None), for a face outside a
        statement (``sqllake changes --since``); an engine error translated here."""
        from sqllake.execute.constants import moment

        try:
            return moment(self, sql)
        except Error:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    def changes(self, name: TableName, parent: int | None, snapshot: int) -> Result:
        """The rows one snapshot of ``name`` inserted and deleted (``parent``: the one
        before it, None for the first), as ``table_changes`` gives them."""
        from sqllake.changes.feed import snapshot_changes

        try:
            self.engine.start_statement()
            result = snapshot_changes(self, name, parent, snapshot)
            if result.reader is not None:  # its errors may come while it streams
                result = replace(result, reader=translating(result.reader))
            return result
        except Error:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise translate(exc) from exc

    def _abort_statement(self) -> None:
        # In autocommit mode a failed statement's files are not part of any transaction.
        if self.autocommit and not self.transaction.explicit:
            self.transaction.rollback()

    def begin(self) -> None:
        if self.transaction.explicit:
            raise ProgrammingError("a transaction is already open")
        self.transaction.explicit = True

    @property
    def isolated(self) -> bool:
        """Whether reads see a stable snapshot: in BEGIN ... COMMIT, and always when
        autocommit is off (PEP 249's implicit transaction)."""
        return self.transaction.explicit or not self.autocommit

    def commit(self) -> None:
        try:
            self._commit()
        finally:
            self.transaction.explicit = False
            self.transaction.pinned.clear()

    def _commit(self) -> None:
        buffered = self.transaction.commit(self.lakehouse, self.buffer)
        for name, rows in buffered.items():
            self._appended_to_buffer(name, self.lakehouse.load(name), rows)

    def rollback(self) -> None:
        self.transaction.rollback()
        self.transaction.explicit = False
        self.transaction.pinned.clear()

    def interrupt(self) -> None:
        self.engine.interrupt()

    def close(self) -> None:
        """Flush what this session buffered, discard uncommitted work (PEP 249), release."""
        try:
            self.rollback()
            for name in sorted(self._buffered):
                if self.lakehouse.exists(name):
                    self.flush(name)
        except Error:
            raise
        except Exception as exc:
            raise translate(exc) from exc
        finally:
            self.engine.close()
            if self._lakehouse is not None:
                self._lakehouse.close()


@functools.lru_cache(maxsize=256)
def _planned(text: str) -> tuple[exp.Expr, nodes.Plan]:
    """Parse and plan, once per distinct statement text (plans are immutable: handlers
    copy a plan's syntax tree before rewriting it)."""
    tree = parse(text)
    return tree, build(tree, text)


def _find_name(tree: exp.Expr | None, name: str) -> int | None:
    """Offset of the first identifier spelled ``name`` in the statement."""
    if tree is None:
        return None
    wanted = name.lower().split(".")[-1]
    for identifier in tree.find_all(exp.Identifier):
        if identifier.name.lower() == wanted and "start" in identifier.meta:
            return int(identifier.meta["start"])
    return None
