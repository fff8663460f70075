"""The lakehouse catalog: the only module that talks to a PyIceberg catalog.

The embedded default is a SQLite Iceberg SQL catalog at ``<warehouse>/catalog.db``.
``catalog`` may instead be a SQLAlchemy URI (a PostgreSQL SQL catalog shares its
tables with Spark's, Trino's and Flink's JDBC catalogs) or the name of a catalog
configured for PyIceberg (``~/.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__*``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import sqlalchemy as sa
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import load_file_io
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.serializers import Compressor, FromByteStream
from pyiceberg.table import Table, Transaction
from sqlalchemy.engine.interfaces import DBAPICursor

from sqllake.errors import NotSupportedError, OperationalError, ProgrammingError
from sqllake.read.locations import (
    PathMapping,
    RelocatedFileIO,
    Relocation,
    local_path,
    read_whole,
    table_root,
)
from sqllake.read.path_maps import NEEDS_SQL_CATALOG, READ_MAP, PathMaps

DEFAULT_WAREHOUSE = "lakehouse"
DEFAULT_NAMESPACE = "default"
CATALOG_NAME = "sqllake"
DEFAULT_TABLE_PROPERTIES = {"write.parquet.compression-codec": "zstd"}


@dataclass(frozen=True, order=True)
class TableName:
    namespace: tuple[str, ...]
    name: str

    @property
    def identifier(self) -> tuple[str, ...]:
        return (*self.namespace, self.name)

    def __str__(self) -> str:
        return ".".join(self.identifier)


@dataclass(frozen=True)
class CatalogSettings:
    """Where the warehouse is and which catalog holds the table pointers."""

    warehouse: str
    catalog: str | None = None

    @classmethod
    def resolve(cls, warehouse: str | None = None, catalog: str | None = None) -> CatalogSettings:
        """Arguments first, then ``SQLLAKE_WAREHOUSE`` / ``SQLLAKE_CATALOG``, then defaults."""
        warehouse = warehouse or os.environ.get("SQLLAKE_WAREHOUSE") or DEFAULT_WAREHOUSE
        catalog = catalog or os.environ.get("SQLLAKE_CATALOG") or None
        if "://" not in warehouse:
            warehouse = str(Path(warehouse).expanduser().resolve())
        return cls(warehouse=warehouse, catalog=catalog)

    @property
    def warehouse_uri(self) -> str:
        return self.warehouse if "://" in self.warehouse else f"file://{self.warehouse}"


def _open(settings: CatalogSettings) -> Catalog:
    if settings.catalog is None:
        if "://" in settings.warehouse:
            raise ProgrammingError(
                "a warehouse in object storage needs a catalog (--catalog URI or NAME)"
            )
        Path(settings.warehouse).mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{settings.warehouse}/catalog.db"
        return SqlCatalog(CATALOG_NAME, uri=uri, warehouse=settings.warehouse_uri)
    if "://" in settings.catalog:
        return SqlCatalog(CATALOG_NAME, uri=settings.catalog, warehouse=settings.warehouse_uri)
    return load_catalog(settings.catalog, warehouse=settings.warehouse_uri)


def _sqlite_pragmas(connection: Any, record: Any) -> None:
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


# The table pointer, read without loading the metadata file (see Lakehouse.load).
_POINTER = sa.text(
    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = :catalog "
    "AND table_namespace = :namespace AND table_name = :name"
)


# Moves a table pointer only if it still points where it did (optimistic concurrency).
_MOVE_POINTER = sa.text(
    "UPDATE iceberg_tables SET metadata_location = :new, previous_metadata_location = :old "
    "WHERE catalog_name = :catalog AND table_namespace = :namespace AND table_name = :name "
    "AND metadata_location = :old"
)


class Lakehouse:
    """Namespaces and tables of one catalog, in sqllake's terms and errors."""

    def __init__(self, settings: CatalogSettings) -> None:
        self.settings = settings
        self._loaded: dict[TableName, Table] = {}
        self._pointer_statement: DriverStatement | None = None
        self._map_statement: DriverStatement | None = None
        self.path_maps: PathMaps | None = None  # where register_table's path_map is kept
        try:
            self._catalog = _open(settings)
            engine = self.sql_engine
            if engine is not None:
                self._pointer_statement = DriverStatement.compile(_POINTER, engine)
                self._map_statement = DriverStatement.compile(READ_MAP, engine)
                self.path_maps = PathMaps(engine, self._catalog.name)
            if engine is not None and engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _sqlite_pragmas)
                engine.dispose()
        except (OSError, ValueError, ImportError) as exc:
            raise OperationalError(f"cannot open catalog: {exc}") from exc
        except Exception as exc:  # SQLAlchemy's errors when the database is unreachable
            if type(exc).__module__.startswith("sqlalchemy"):
                raise OperationalError(f"cannot open catalog: {exc}") from exc
            raise

    def close(self) -> None:
        """Release the catalog's database connections (a SQL catalog pools them)."""
        if isinstance(self._catalog, SqlCatalog):
            self._catalog.engine.dispose()

    @property
    def is_sql_catalog(self) -> bool:
        return isinstance(self._catalog, SqlCatalog)

    @property
    def sql_engine(self) -> sa.Engine | None:
        """The SQL catalog's database (where the insert buffer lives), if it has one."""
        return self._catalog.engine if isinstance(self._catalog, SqlCatalog) else None

    # Namespaces

    def namespaces(self) -> list[str]:
        return sorted(".".join(ns) for ns in self._catalog.list_namespaces())

    def namespace_exists(self, namespace: tuple[str, ...]) -> bool:
        return self._catalog.namespace_exists(namespace)

    def create_namespace(self, namespace: tuple[str, ...], if_not_exists: bool) -> None:
        try:
            self._catalog.create_namespace(namespace)
        except NamespaceAlreadyExistsError:
            if not if_not_exists:
                raise ProgrammingError(f"schema {'.'.join(namespace)} already exists") from None

    def set_namespace_properties(
        self, namespace: tuple[str, ...], properties: dict[str, str]
    ) -> None:
        if not self.namespace_exists(namespace):
            raise ProgrammingError(f"schema {'.'.join(namespace)} does not exist")
        self._catalog.update_namespace_properties(namespace, updates=properties)

    def drop_namespace(self, namespace: tuple[str, ...], if_exists: bool, cascade: bool) -> None:
        name = ".".join(namespace)
        if not self.namespace_exists(namespace):
            if if_exists:
                return
            raise ProgrammingError(f"schema {name} does not exist")
        tables = self.tables(namespace)
        if tables and not cascade:
            raise ProgrammingError(
                f"schema {name} is not empty ({len(tables)} tables); use DROP SCHEMA ... CASCADE"
            )
        for table in tables:
            self._catalog.drop_table(table.identifier)
        self._catalog.drop_namespace(namespace)

    # Tables

    def tables(self, namespace: tuple[str, ...]) -> list[TableName]:
        try:
            found = self._catalog.list_tables(namespace)
        except NoSuchNamespaceError:
            raise ProgrammingError(f"schema {'.'.join(namespace)} does not exist") from None
        return sorted(TableName(tuple(ident[:-1]), ident[-1]) for ident in found)

    def exists(self, table: TableName) -> bool:
        return self._catalog.table_exists(table.identifier)

    def _pointer(self, table: TableName) -> str | None:
        engine, statement = self.sql_engine, self._pointer_statement
        if engine is None or statement is None:
            return None
        names = {"catalog": self._catalog.name, "namespace": ".".join(table.namespace)}
        with driver_transaction(engine) as cursor:
            found = statement.execute(cursor, {**names, "name": table.name}).fetchone()
        if found is None:
            raise ProgrammingError(f"table {table} does not exist")
        return str(found[0])

    def load(self, table: TableName) -> Table:
        """The table, reading its files from where they are if it was moved or copied.

        With a SQL catalog, the table pointer is checked on every load and the metadata
        file parsed only when the pointer moved.
        """
        pointer = self._pointer(table)
        cached = self._loaded.get(table)
        if cached is not None and pointer is not None and cached.metadata_location == pointer:
            return cached
        loaded = self._load(table, pointer)
        if pointer is not None:
            self._loaded[table] = loaded
        return loaded

    def _read(self, table: TableName, pointer: str | None) -> Table:
        """The table from its metadata file; a pointer just read spares the catalog a
        second lookup (PyIceberg's load_table would query the table row again)."""
        if pointer is None:
            try:
                return self._catalog.load_table(table.identifier)
            except (NoSuchTableError, NoSuchNamespaceError):
                raise ProgrammingError(f"table {table} does not exist") from None
        properties = self._catalog.properties
        reader = load_file_io(properties, pointer)
        metadata = FromByteStream.table_metadata(
            BytesIO(read_whole(reader, pointer)),
            compression=Compressor.get_compressor(location=pointer),
        )
        io = load_file_io({**properties, **metadata.properties}, pointer)
        return Table(table.identifier, metadata, pointer, io, self._catalog)

    def _mappings(self, table: TableName, uuid: str) -> tuple[PathMapping, ...]:
        """The ``path_map`` the table was registered with (see read/path_maps.py)."""
        engine, statement = self.sql_engine, self._map_statement
        if engine is None or statement is None:
            return ()
        names = {"catalog": self._catalog.name, "namespace": ".".join(table.namespace)}
        with driver_transaction(engine) as cursor:
            found = statement.execute(cursor, {**names, "name": table.name, "uuid": uuid})
            return tuple(PathMapping(str(r), str(a)) for r, a in found.fetchall())

    def _load(self, table: TableName, pointer: str | None = None) -> Table:
        loaded = self._read(table, pointer)
        mapped = self._mappings(table, str(loaded.metadata.table_uuid))
        relocation = Relocation(
            loaded.metadata.location, table_root(loaded.metadata_location), mapped
        )
        if not relocation.needed:
            return loaded
        io = RelocatedFileIO(relocation, loaded.io.properties)
        return Table(loaded.name(), loaded.metadata, loaded.metadata_location, io, loaded.catalog)

    def register(
        self, table: TableName, metadata_location: str, path_map: tuple[PathMapping, ...] = ()
    ) -> Table:
        """Add an existing Iceberg table to the catalog by its metadata file; ``path_map``
        says where files recorded under other prefixes are now (kept in the catalog's
        database; if keeping it fails, the table is not registered either)."""
        if path_map and self.path_maps is None:
            raise NotSupportedError(NEEDS_SQL_CATALOG)
        if "://" not in metadata_location:
            path = Path(metadata_location).expanduser().resolve()
            if not path.is_file():
                raise ProgrammingError(f"metadata file {metadata_location} does not exist")
            metadata_location = f"file://{path}"
        if not self.namespace_exists(table.namespace):
            raise ProgrammingError(f"schema {'.'.join(table.namespace)} does not exist")
        try:
            registered = self._catalog.register_table(table.identifier, metadata_location)
        except TableAlreadyExistsError:
            raise ProgrammingError(f"table {table} already exists") from None
        if self.path_maps is not None:
            try:
                self.path_maps.replace(table, str(registered.metadata.table_uuid), path_map)
            except BaseException:
                self._catalog.drop_table(table.identifier)
                raise
        self._loaded.pop(table, None)  # a table of that name dropped earlier: not its map
        return self.load(table)

    def location_for(self, table: TableName) -> str:
        return "/".join([self.settings.warehouse_uri.rstrip("/"), *table.namespace, table.name])

    def create_table(
        self,
        table: TableName,
        schema: Schema,
        spec: PartitionSpec,
        properties: dict[str, str],
    ) -> Table:
        if not self.namespace_exists(table.namespace):
            raise ProgrammingError(f"schema {'.'.join(table.namespace)} does not exist")
        try:
            return self._catalog.create_table(
                table.identifier,
                schema,
                location=self.location_for(table),
                partition_spec=spec,
                properties={**DEFAULT_TABLE_PROPERTIES, **properties},
            )
        except TableAlreadyExistsError:
            raise ProgrammingError(f"table {table} already exists") from None

    def commit_together(
        self, changes: list[tuple[TableName, Callable[[Transaction], None]]]
    ) -> None:
        """Commit changes to several tables atomically: all table pointers move in one
        database transaction, or none does.

        Each change is applied to a fresh transaction of its table; the new metadata
        files are written first (nothing references them yet), then one database
        transaction moves every pointer, each only if no one else moved it meanwhile.
        On a conflict nothing is committed, the unreferenced metadata files are left
        behind (like any failed Iceberg commit) and ``CommitFailedException`` is raised
        for the caller to retry. Needs a SQL catalog.
        """
        engine = self.sql_engine
        catalog = self._catalog
        if engine is None or not isinstance(catalog, SqlCatalog):
            raise NotSupportedError("committing several tables at once needs a SQL catalog")
        moves = []
        for name, apply in changes:
            table = self.load(name)
            transaction = table.transaction()
            apply(transaction)
            staged = catalog._update_and_stage_table(  # noqa: SLF001 - staging without committing
                table,
                table.name(),
                transaction._requirements,
                transaction._updates,  # noqa: SLF001
            )
            catalog._write_metadata(staged.metadata, staged.io, staged.metadata_location)  # noqa: SLF001
            moves.append((name, table.metadata_location, staged.metadata_location))
        with engine.begin() as conn:
            for name, old, new in moves:
                moved = conn.execute(
                    _MOVE_POINTER,
                    {
                        "catalog": catalog.name,
                        "namespace": ".".join(name.namespace),
                        "name": name.name,
                        "old": old,
                        "new": new,
                    },
                )
                if moved.rowcount != 1:
                    raise CommitFailedException(f"table {name} was changed by another writer")

    def drop_table(self, table: TableName, purge: bool) -> None:
        try:
            if purge:
                self._catalog.purge_table(table.identifier)
            else:
                self._catalog.drop_table(table.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise ProgrammingError(f"table {table} does not exist") from None

    def rename_table(self, table: TableName, new: TableName) -> None:
        if self.exists(new):
            raise ProgrammingError(f"table {new} already exists")
        if not self.namespace_exists(new.namespace):
            raise ProgrammingError(f"schema {'.'.join(new.namespace)} does not exist")
        try:
            self._catalog.rename_table(table.identifier, new.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise ProgrammingError(f"table {table} does not exist") from None


def refuse_relocated_write(table: Table, name: TableName) -> None:
    """A table read from where it was copied cannot take writes: PyIceberg would write
    new metadata under the location the metadata records, which is not where it lies."""
    if isinstance(table.io, RelocatedFileIO):
        raise NotSupportedError(
            f"table {name} or its files were moved or copied from where its metadata records "
            f"them ({table.metadata.location}); sqllake reads it where it lies but cannot "
            "write to it there"
        )


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """The Arrow filesystem and path of a file or folder location.

    Local locations are paths, not URIs to parse: a table named "Mixed Case" has a
    space in its folder name, which Arrow's URI parser rejects.
    """
    if location.startswith("file:") or "://" not in location:
        return pafs.LocalFileSystem(), local_path(location)
    fs, path = pafs.FileSystem.from_uri(location)
    return fs, str(path)


def remove_files(locations: Iterable[str]) -> None:
    """Delete files nothing references any more; one already gone is not an error."""
    for location in locations:
        fs, path = filesystem(location)
        with contextlib.suppress(FileNotFoundError):
            fs.delete_file(path)
