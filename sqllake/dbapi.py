"""PEP 249 (DB-API 2.0) Connection and Cursor: a thin face over a Session."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from sqllake import errors
from sqllake.catalog import CatalogSettings
from sqllake.changes.subscriptions import Subscription
from sqllake.execute.changes import table_name_of
from sqllake.result import Result, python_values
from sqllake.session import Session, WriteSettings

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"


class _TypeObject:
    """Compares equal to every type code of one PEP 249 type group."""

    def __init__(self, *prefixes: str) -> None:
        self._prefixes = prefixes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.upper().startswith(self._prefixes)

    def __hash__(self) -> int:
        return hash(self._prefixes)


STRING = _TypeObject("VARCHAR", "UUID")
BINARY = _TypeObject("BLOB")
NUMBER = _TypeObject(
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "BOOLEAN",
)
DATETIME = _TypeObject("DATE", "TIME", "TIMESTAMP")
ROWID = _TypeObject("ROWID")

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802 - PEP 249 name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802 - PEP 249 name
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802 - PEP 249 name
    return Timestamp(*time.localtime(ticks)[:6])


class Connection:
    """A connection to one catalog. Autocommit is off unless asked for (PEP 249)."""

    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def __init__(
        self,
        settings: CatalogSettings,
        autocommit: bool = False,
        write: WriteSettings | None = None,
    ) -> None:
        self._session: Session | None = Session(settings, autocommit=autocommit, write=write)

    @property
    def session(self) -> Session:
        if self._session is None:
            raise errors.InterfaceError("connection is closed")
        return self._session

    @property
    def autocommit(self) -> bool:
        return self.session.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        if value and not self.session.autocommit:
            self.session.commit()  # switching on commits the open transaction (psycopg does too)
        self.session.autocommit = value

    @property
    def closed(self) -> bool:
        return self._session is None

    def cursor(self) -> Cursor:
        if self._session is None:
            raise errors.InterfaceError("connection is closed")
        return Cursor(self)

    def execute(self, operation: str, parameters: Sequence[Any] = ()) -> Cursor:
        """Shortcut: a new cursor that has run ``operation`` (as sqlite3 and DuckDB offer)."""
        return self.cursor().execute(operation, parameters)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def interrupt(self) -> None:
        """Cancel the statement running on this connection (from another thread)."""
        self.session.interrupt()

    def subscribe(
        self,
        name: str,
        tables: Sequence[str],
        since: str | None = None,
        interval: float = 1.0,
    ) -> Subscription:
        """The durable subscription ``name`` to the commits of ``tables`` (``'schema.t'``).

        A new subscription starts now (``since="earliest"``: from each table's creation);
        an existing one resumes after its last acknowledged event, and tables new to it
        start now. See :mod:`sqllake.changes.subscriptions`.
        """
        session = self.session
        names = [table_name_of(session, table) for table in tables]
        return Subscription(session, name, names, since=since, interval=interval)

    def close(self) -> None:
        """Close; uncommitted work is discarded (PEP 249). Closing twice is harmless."""
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None and self._session is not None and not self._session.autocommit:
            self.commit()
        self.close()


# Sequences that are not lists of values: a string is one value, not its characters.
_NOT_PARAMETERS = (str, bytes, bytearray, memoryview)


def _parameters(parameters: object, which: str = "parameters") -> tuple[Any, ...]:
    """The values bound to the ``?`` of a statement: a sequence (tuple, list), or None."""
    if parameters is None:
        return ()
    if isinstance(parameters, _NOT_PARAMETERS) or not isinstance(parameters, Sequence):
        raise errors.ProgrammingError(
            f"{which} must be a sequence of values such as a tuple or list, not "
            f"{type(parameters).__name__} (paramstyle is qmark: ? placeholders, in order)"
        )
    return tuple(parameters)


def _parameter_sets(seq_of_parameters: object) -> Iterator[tuple[Any, ...]]:
    """executemany's parameter sets, each checked as :func:`_parameters` checks one."""
    if isinstance(seq_of_parameters, (*_NOT_PARAMETERS, Mapping)) or not isinstance(
        seq_of_parameters, Iterable
    ):
        raise errors.ProgrammingError(
            "executemany needs a sequence of parameter sets (such as a list of tuples), not "
            f"{type(seq_of_parameters).__name__}"
        )
    for number, parameters in enumerate(seq_of_parameters, start=1):
        yield _parameters(parameters, f"parameter set {number}")


def _rows(reader: pa.RecordBatchReader) -> Iterator[tuple[Any, ...]]:
    for batch in reader:
        columns = [python_values(column) for column in batch.columns]
        yield from zip(*columns, strict=True)


class Cursor:
    """Runs statements and fetches their rows; rows stream from the engine as fetched."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._result: Result | None = None
        self._batch_rows: Iterator[tuple[Any, ...]] | None = None
        self._closed = False

    # Running statements

    def execute(self, operation: str, parameters: Sequence[Any] | None = None) -> Cursor:
        session = self._session()
        values = _parameters(parameters)
        self._reset()
        self._result = session.execute(operation, values)
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Cursor:
        """Run ``operation`` once per parameter set, as one transaction.

        In autocommit mode the sets still commit together, once, at the end (and a
        failure in any set leaves nothing committed).
        """
        session = self._session()
        parameter_sets = _parameter_sets(seq_of_parameters)
        self._reset()
        total = 0
        opened = session.autocommit and not session.in_explicit_transaction
        if opened:
            session.begin()
        try:
            for parameters in parameter_sets:
                result = session.execute(operation, parameters)
                total += max(result.rowcount, 0)
            if opened:
                session.commit()
        except BaseException:
            if opened:
                session.rollback()
            raise
        self._result = Result.status_only("EXECUTEMANY", rowcount=total)
        return self

    # Results

    @property
    def description(self) -> tuple[tuple[str, str, None, None, None, None, None], ...] | None:
        if self._result is None or self._result.reader is None:
            return None
        return tuple(
            (c.name, c.type_name, None, None, None, None, None) for c in self._result.columns
        )

    @property
    def rowcount(self) -> int:
        return -1 if self._result is None else self._result.rowcount

    @property
    def status(self) -> str | None:
        return None if self._result is None else self._result.status

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._take(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._take(None)

    def fetch_record_batch(self, rows: int = 100_000) -> pa.RecordBatchReader:
        """The rest of the result as a streaming ``pyarrow.RecordBatchReader``."""
        reader = self._reader()
        schema = reader.schema

        def rebatched() -> Iterator[pa.RecordBatch]:
            pending: list[pa.RecordBatch] = []
            count = 0
            for batch in reader:
                pending.append(batch)
                count += batch.num_rows
                while count >= rows:
                    table = pa.Table.from_batches(pending, schema)
                    yield from table.slice(0, rows).combine_chunks().to_batches()
                    rest = table.slice(rows)
                    pending, count = rest.to_batches(), rest.num_rows
            if count:
                yield from pa.Table.from_batches(pending, schema).combine_chunks().to_batches()

        return pa.RecordBatchReader.from_batches(schema, rebatched())

    def fetch_arrow_table(self) -> pa.Table:
        """The rest of the result as one ``pyarrow.Table``."""
        return self._reader().read_all()

    def setinputsizes(self, sizes: object) -> None:
        """Accepted and ignored (PEP 249 allows this)."""

    def setoutputsize(self, size: object, column: object = None) -> None:
        """Accepted and ignored (PEP 249 allows this)."""

    def close(self) -> None:
        self._reset()
        self._closed = True

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Internals

    def _session(self) -> Session:
        if self._closed:
            raise errors.InterfaceError("cursor is closed")
        return self.connection.session

    def _reset(self) -> None:
        self._result = None
        self._batch_rows = None

    def _reader(self) -> pa.RecordBatchReader:
        self._session()
        if self._result is None or self._result.reader is None:
            raise errors.InterfaceError("the last statement returned no rows to fetch")
        if self._batch_rows is not None:
            raise errors.InterfaceError("rows were already fetched one by one from this result")
        return self._result.reader

    def _take(self, count: int | None) -> list[tuple[Any, ...]]:
        if self._batch_rows is None:
            self._batch_rows = _rows(self._reader())
        rows: list[tuple[Any, ...]] = []
        try:
            while count is None or len(rows) < count:
                rows.append(next(self._batch_rows))
        except StopIteration:
            pass
        except errors.Error:
            raise
        except Exception as exc:
            raise errors.translate(exc) from exc
        return rows
