"""sqllake: SQL for an Apache Iceberg lakehouse.

import sqllake
con = sqllake.connect("lakehouse")
cur = con.cursor()
cur.execute("CREATE TABLE t (id BIGINT NOT NULL, name VARCHAR)")
cur.execute("INSERT INTO t VALUES (?, ?)", (1, "a"))
con.commit()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqllake.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from sqllake.write.settings import WriteSettings

if TYPE_CHECKING:
    from sqllake.dbapi import (
        BINARY,
        DATETIME,
        NUMBER,
        ROWID,
        STRING,
        Binary,
        Connection,
        Cursor,
        Date,
        DateFromTicks,
        Time,
        TimeFromTicks,
        Timestamp,
        TimestampFromTicks,
        apilevel,
        paramstyle,
        threadsafety,
    )

__version__ = "0.1.0"


def connect(
    warehouse: str | None = None,
    *,
    catalog: str | None = None,
    autocommit: bool = False,
    inline_rows: int = WriteSettings.inline_rows,
    flush_interval: float = WriteSettings.flush_interval,
    properties: Mapping[str, str] | None = None,
    state: str | None = None,
) -> Connection:
    """Open a connection.

    ``warehouse`` is the folder (or object-store URI) holding the tables, default
    ``$SQLLAKE_WAREHOUSE`` or ``./lakehouse``. ``catalog`` is a SQLAlchemy URI of a SQL
    catalog or the name of a PyIceberg-configured catalog, default ``$SQLLAKE_CATALOG``
    or a SQLite catalog at ``<warehouse>/catalog.db``.

    ``properties`` are the catalog's properties, over its PyIceberg configuration and
    the AWS variables: ``s3.endpoint``, ``s3.access-key-id``... (see the README's
    "Object storage"). ``state`` is a SQLAlchemy URI of a SQL database for the insert
    buffer and subscription cursors where the catalog is not a SQL catalog (REST,
    Glue...), default ``$SQLLAKE_STATE``; without one, every write commits at once.

    ``inline_rows``: autocommit INSERTs of fewer rows go to the insert buffer (0 turns
    it off); ``flush_interval``: seconds after which buffered rows are flushed.
    """
    from sqllake.catalog_open import CatalogSettings
    from sqllake.dbapi import Connection

    write = WriteSettings(inline_rows=inline_rows, flush_interval=flush_interval)
    settings = CatalogSettings.resolve(warehouse, catalog, properties, state)
    return Connection(settings, autocommit=autocommit, write=write)


def __getattr__(name: str) -> Any:
    # Names of __all__ not defined here are the DB-API names of :mod:`sqllake.dbapi`,
    # imported on first use: ``import sqllake`` (and so ``sqllake --version``) then
    # loads no engine, parser or catalog library.
    if name in __all__:
        from sqllake import dbapi

        return getattr(dbapi, name)
    raise AttributeError(f"module 'sqllake' has no attribute '{name}'")


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
