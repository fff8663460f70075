"""Real catalog faults for tests: a database driver whose commit loses its answer.

:class:`Faults` hooks the catalog engine's connections (SQLAlchemy's ``do_connect``
event) so that each new connection is the driver's own connection class with its
``commit`` wrapped. Once armed, the next commit of a transaction that moved a table
pointer (``UPDATE iceberg_tables``) either commits and then raises the driver's
connection error (``LANDED``: what a client sees when the network fails after the server
committed) or rolls back and raises it (``LOST``); ``refuse`` then makes that many of the
following statements fail with the same error, as while the database stays unreachable.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import psycopg
import sqlalchemy as sa

import sqllake

LANDED = "landed"
LOST = "lost"


@dataclass
class Faults:
    mode: str | None = None  # LANDED or LOST for the next commit of a matching transaction
    trigger: str = "UPDATE ICEBERG_TABLES"  # what such a transaction runs
    refuse_after: int = 0  # statements to fail once it fired
    refuse: int = 0  # statements still to fail
    fired: int = 0
    pointer_moved: set[int] = field(default_factory=set)  # ids of connections in such a transaction

    def arm(self, mode: str, refuse_after: int = 0, on: str = "UPDATE ICEBERG_TABLES") -> None:
        """Fail the next commit of a transaction that ran a statement starting with ``on``
        (by default one that moved a table pointer)."""
        self.mode, self.refuse_after, self.trigger = mode, refuse_after, on.upper()

    def on_execute(self, connection: Any, sql: str, error: type[Exception]) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            raise error("could not connect to the database: connection refused")
        if sql.lstrip().upper().startswith(self.trigger):
            self.pointer_moved.add(id(connection))

    def on_commit(
        self, connection: Any, commit: Any, rollback: Any, error: type[Exception]
    ) -> None:
        moved = id(connection) in self.pointer_moved
        self.pointer_moved.discard(id(connection))
        if not moved or self.mode is None:
            commit()
            return
        mode, self.mode = self.mode, None
        self.fired += 1
        self.refuse = self.refuse_after
        if mode == LANDED:
            commit()
        else:
            rollback()
        raise error("server closed the connection unexpectedly")


def _sqlite_classes(faults: Faults) -> Any:
    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            faults.on_execute(self.connection, sql, sqlite3.OperationalError)
            return super().execute(sql, *args)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            faults.on_execute(self, sql, sqlite3.OperationalError)
            return super().execute(sql, *args)

        def commit(self) -> None:
            faults.on_commit(self, super().commit, super().rollback, sqlite3.OperationalError)

    return Connection


def _postgres_classes(faults: Faults) -> Any:
    class Cursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            faults.on_execute(self.connection, str(query), psycopg.OperationalError)
            return super().execute(query, *args, **kwargs)

    class Connection(psycopg.Connection[Any]):
        def commit(self) -> None:
            faults.on_commit(self, super().commit, super().rollback, psycopg.OperationalError)

    return Connection, Cursor


def install(con: sqllake.Connection) -> Faults:
    """Put the fault hooks under ``con``'s catalog database connections."""
    faults = Faults()
    engine = con.session.lakehouse.sql_engine
    assert engine is not None
    dialect = engine.dialect.name
    if dialect == "sqlite":
        lite = _sqlite_classes(faults)

        def connect(dialect_: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
            return sqlite3.connect(*cargs, **{**cparams, "factory": lite})

    else:
        pg, cursor = _postgres_classes(faults)

        def connect(dialect_: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
            connection = pg.connect(*cargs, **cparams)
            connection.cursor_factory = cursor
            return connection

    sa.event.listen(engine, "do_connect", connect)
    engine.dispose()  # pooled connections were made without the hooks
    return faults
