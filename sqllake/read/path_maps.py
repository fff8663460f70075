"""Prefix maps given to ``register_table``, remembered in the catalog's own database.

``CALL system.register_table(..., path_map => MAP {'s3://old/wh': '/copy/wh'})`` reads
the files a table records under each prefix from where they are now. The map cannot
live in the table's metadata (sqllake does not write a table read where it was
moved), so it lives beside the catalog's table pointers, in ``sqllake_path_map``, and
every later session reads the table the same way. Rows are keyed by the table's name
and its Iceberg UUID: a table created later under the same name has another UUID and
ignores rows left behind; ``ALTER TABLE ... RENAME TO`` takes them along. Other
catalogs have no database of their own to hold the map: ``path_map`` is refused there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from sqllake.errors import NotSupportedError, ProgrammingError
from sqllake.read.locations import PathMapping, normalize

if TYPE_CHECKING:
    from sqllake.names import TableName

_metadata = sa.MetaData()
_maps = sa.Table(
    "sqllake_path_map",
    _metadata,
    sa.Column("catalog_name", sa.String(255), primary_key=True),
    sa.Column("table_namespace", sa.String(255), primary_key=True),
    sa.Column("table_name", sa.String(255), primary_key=True),
    sa.Column("table_uuid", sa.String(36), primary_key=True),
    sa.Column("recorded_prefix", sa.String(1000), primary_key=True),
    sa.Column("actual_prefix", sa.String(1000), nullable=False),
)

# Run on every load of a table whose pointer moved: the catalog runs it on its driver's
# cursor, beside the pointer lookup (see catalog_db.DriverStatement).
READ_MAP = sa.text(
    "SELECT recorded_prefix, actual_prefix FROM sqllake_path_map WHERE catalog_name = :catalog "
    "AND table_namespace = :namespace AND table_name = :name AND table_uuid = :uuid"
)


NEEDS_SQL_CATALOG = "path_map needs a SQL catalog (SQLite or PostgreSQL), whose database keeps it"


def mappings_from(value: object, kept: bool) -> tuple[PathMapping, ...]:
    """The ``path_map`` argument as mappings: a MAP of recorded prefixes to where the
    files are now; local folders are made absolute and must exist. ``kept``: whether
    the catalog has a database to keep them in."""
    if value is None:
        return ()
    if not kept:
        raise NotSupportedError(NEEDS_SQL_CATALOG)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
        for k, v in value.items()
    ):
        raise ProgrammingError(
            "path_map maps recorded prefixes to where the files are now, as strings: "
            "path_map => MAP {'s3://old-bucket/wh/': '/local/copy/'}"
        )
    return tuple(PathMapping(k, _actual(v)) for k, v in value.items())


def _actual(prefix: str) -> str:
    if "://" in prefix and not prefix.startswith("file:"):
        return prefix.rstrip("/")
    local = normalize(prefix) if prefix.lower().startswith("file:") else prefix
    path = Path(local).expanduser().resolve()
    if not path.exists():
        raise ProgrammingError(f"path_map: {prefix} does not exist")
    return str(path)


class PathMaps:
    """The ``sqllake_path_map`` table of one SQL catalog database."""

    def __init__(self, engine: sa.Engine, catalog_name: str) -> None:
        self._engine = engine
        self._catalog = catalog_name
        _metadata.create_all(engine, checkfirst=True)

    def _key(self, table: TableName) -> sa.ColumnElement[bool]:
        return sa.and_(
            _maps.c.catalog_name == self._catalog,
            _maps.c.table_namespace == ".".join(table.namespace),
            _maps.c.table_name == table.name,
        )

    def replace(self, table: TableName, uuid: str, mappings: tuple[PathMapping, ...]) -> None:
        """Make ``mappings`` the table's map (rows of any table it replaces go)."""
        rows = [
            {
                "catalog_name": self._catalog,
                "table_namespace": ".".join(table.namespace),
                "table_name": table.name,
                "table_uuid": uuid,
                "recorded_prefix": m.recorded,
                "actual_prefix": m.actual,
            }
            for m in mappings
        ]
        with self._engine.begin() as conn:
            conn.execute(_maps.delete().where(self._key(table)))
            if rows:
                conn.execute(_maps.insert(), rows)

    def rename(self, table: TableName, new: TableName) -> None:
        values = {"table_namespace": ".".join(new.namespace), "table_name": new.name}
        with self._engine.begin() as conn:
            conn.execute(_maps.delete().where(self._key(new)))  # left by a dropped table
            conn.execute(_maps.update().where(self._key(table)).values(**values))

    def forget(self, table: TableName) -> None:
        with self._engine.begin() as conn:
            conn.execute(_maps.delete().where(self._key(table)))
