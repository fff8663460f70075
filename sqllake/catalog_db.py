"""A SQL catalog's database as sqllake uses it directly: statements compiled once and
run on the driver's own cursor, the transaction they run in, SQLite's settings, and the
state database of catalogs that have none.

The hot paths (a table pointer check, an insert-buffer append, the move of every table
pointer of a commit in one database transaction) run here rather than through
SQLAlchemy's per-execution machinery or PyIceberg's catalog.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPICursor

from sqllake.errors import ProgrammingError


def sqlite_pragmas(connection: Any, record: Any) -> None:
    # WAL with synchronous=NORMAL: a commit survives a crash of the process (the
    # log is in the OS's hands) without an fsync per statement, which small writes
    # into the insert buffer would otherwise pay for each time.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass(frozen=True)
class DriverStatement:
    """A statement compiled once for one database and run on its driver's own cursor.

    The per-INSERT path (table pointer check, insert buffer append) runs a few tiny
    statements; SQLAlchemy's work per execution (compiled-cache lookup, result set-up,
    events) costs more than SQLite takes to run them.
    """

    sql: str
    order: tuple[str, ...] | None  # parameter names in order, for positional paramstyles

    @classmethod
    def compile(cls, clause: sa.TextClause, engine: sa.Engine) -> DriverStatement:
        compiled = clause.compile(dialect=engine.dialect)
        positions = compiled.positiontup if engine.dialect.positional else None
        return cls(compiled.string, tuple(positions) if positions is not None else None)

    def execute(self, cursor: DBAPICursor, values: Mapping[str, Any]) -> DBAPICursor:
        params: Sequence[Any] | Mapping[str, Any] = (
            values if self.order is None else [values[name] for name in self.order]
        )
        cursor.execute(self.sql, params)
        return cursor


@contextlib.contextmanager
def driver_transaction(engine: sa.Engine) -> Iterator[DBAPICursor]:
    """A driver cursor on a pooled connection, in one database transaction that commits
    when the block ends without error (returning the connection to the pool rolls back
    anything else). Driver errors are raised as SQLAlchemy's, as ``engine.begin()``
    would raise them, and a connection found dead is dropped from the pool."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        connection.commit()
    except dbapi_error as exc:
        lost = engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            None, None, exc, dbapi_error, connection_invalidated=lost, dialect=engine.dialect
        ) from exc
    finally:
        connection.close()


def state_database(uri: str | None) -> sa.Engine | None:
    """The state database named for a catalog without a database of its own."""
    if uri is None:
        return None
    if "://" not in uri:
        raise ProgrammingError(f"state '{uri}' is not a SQLAlchemy URI (scheme://...)")
    engine = sa.create_engine(uri)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    with engine.connect():  # fail now if it cannot be reached
        pass
    return engine
