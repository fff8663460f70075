"""The lakehouse catalog: the only module that talks to a PyIceberg catalog.

The embedded default is a SQLite Iceberg SQL catalog at ``<warehouse>/catalog.db``.
``catalog`` may instead be a SQLAlchemy URI (a PostgreSQL SQL catalog shares its
tables with Spark's, Trino's and Flink's JDBC catalogs) or the name of a catalog
configured for PyIceberg (``~/.pyiceberg.yaml`` or ``PYICEBERG_CATALOG__*``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path

import sqlalchemy as sa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    BadRequestError,
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
from pyiceberg.table.metadata import TableMetadata

from sqllake import storage
from sqllake.catalog_commit import REFUSED, Staged, settle, snapshot_ids, without_retries
from sqllake.catalog_db import DriverStatement, driver_transaction, sqlite_pragmas, state_database
from sqllake.catalog_open import CATALOG_NAME as CATALOG_NAME
from sqllake.catalog_open import DEFAULT_WAREHOUSE as DEFAULT_WAREHOUSE
from sqllake.catalog_open import CatalogSettings as CatalogSettings
from sqllake.catalog_open import open_catalog, places_tables
from sqllake.compat import iceberg_v3
from sqllake.compat import pyiceberg as compat
from sqllake.errors import (
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    UnconfirmedCommitError,
)
from sqllake.names import DEFAULT_NAMESPACE as DEFAULT_NAMESPACE
from sqllake.names import TableName as TableName
from sqllake.read.locations import (
    PathMapping,
    RelocatedFileIO,
    Relocation,
    read_whole,
    table_root,
)
from sqllake.read.path_maps import NEEDS_SQL_CATALOG, READ_MAP, PathMaps
from sqllake.secrets import remember_properties, remember_uri
from sqllake.translation import NO_WAREHOUSE, pyiceberg_says
from sqllake.write.purge import remove_replaced_metadata

iceberg_v3.install()  # PyIceberg writes v3 metadata and upgrades to v3 from here on
compat.install()  # PyIceberg finds snapshots by id in constant time
# Tables sqllake creates keep their ten latest metadata files and delete older ones, as
# Iceberg allows: each file carries the table's whole snapshot list, and a table
# committed to every minute would otherwise keep every one.
DEFAULT_TABLE_PROPERTIES = {
    "write.parquet.compression-codec": "zstd",
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
}


def _open(settings: CatalogSettings) -> Catalog:
    return open_catalog(settings)


# The table pointer, read without loading the metadata file (see Lakehouse.load).
_POINTER = sa.text(
    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = :catalog "
    "AND table_namespace = :namespace AND table_name = :name"
)


# One table's part of a commit: a change applied to a fresh transaction of the table.
Change = tuple[TableName, Callable[[Transaction], None]]

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
        self._move_statement: DriverStatement | None = None
        remember_uri(settings.catalog)  # masked in every message from now on
        self._map_statement: DriverStatement | None = None
        self.path_maps: PathMaps | None = None  # where register_table's path_map is kept
        try:
            self._catalog = _open(settings)
            remember_properties(self._catalog.properties)
            self.io = load_file_io(self._catalog.properties, settings.warehouse_uri)
            self._places_tables = places_tables(self._catalog, settings)
            if not self._places_tables:
                storage.check_reachable(settings.warehouse_uri, self.io)
            engine = self.sql_engine
            if engine is not None:
                self._pointer_statement = DriverStatement.compile(_POINTER, engine)
                self._move_statement = DriverStatement.compile(_MOVE_POINTER, engine)
                self._map_statement = DriverStatement.compile(READ_MAP, engine)
                self.path_maps = PathMaps(engine, self._catalog.name)
            if engine is not None and engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", sqlite_pragmas)
                engine.dispose()
            self._state = None if engine is not None else state_database(settings.state)
        except (OSError, ValueError, ImportError) as exc:
            raise OperationalError(f"cannot open catalog: {exc}") from exc
        except Exception as exc:  # SQLAlchemy's when the database is unreachable, REST's
            if type(exc).__module__.startswith("sqlalchemy"):
                raise OperationalError(f"cannot open catalog: {exc}") from exc
            raise  # PyIceberg's (a REST catalog's refusal): the session translates it

    def close(self) -> None:
        """Release the catalog's database connections (a SQL catalog pools them)."""
        if isinstance(self._catalog, SqlCatalog):
            self._catalog.engine.dispose()
        if self._state is not None:
            self._state.dispose()

    @property
    def state_engine(self) -> sa.Engine | None:
        """Where the insert buffer and subscription cursors live: a SQL catalog's own
        database, else the state database the user named (``state=``), if any."""
        return self.sql_engine if self.sql_engine is not None else self._state

    @property
    def state_key(self) -> str:
        """The catalog's name in the state tables: a state database may serve several
        catalogs, a SQL catalog's database serves only itself."""
        return CATALOG_NAME if self.sql_engine is not None else f"{self._catalog.name}"

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
        if not found and not self.is_sql_catalog and not self.namespace_exists(namespace):
            # Some REST servers list a missing namespace as empty.
            raise ProgrammingError(f"schema {'.'.join(namespace)} does not exist")
        return sorted(TableName(tuple(ident[:-1]), ident[-1]) for ident in found)

    def exists(self, table: TableName) -> bool:
        try:
            return self._catalog.table_exists(table.identifier)
        except BadRequestError:  # a name the catalog refuses names no table
            return False

    def _row_key(self, table: TableName) -> dict[str, str]:
        """The key of a table's row in a SQL catalog's ``iceberg_tables``."""
        return {
            "catalog": self._catalog.name,
            "namespace": ".".join(table.namespace),
            "name": table.name,
        }

    def _pointer(self, table: TableName) -> str | None:
        engine, statement = self.sql_engine, self._pointer_statement
        if engine is None or statement is None:
            return None
        with driver_transaction(engine) as cursor:
            found = statement.execute(cursor, self._row_key(table)).fetchone()
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
        storage.register(loaded.metadata.location, loaded.io)
        mapped = self._mappings(table, str(loaded.metadata.table_uuid))
        relocation = Relocation(
            loaded.metadata.location, table_root(loaded.metadata_location), mapped
        )
        if not relocation.needed:
            return loaded
        io = RelocatedFileIO(relocation, loaded.io.properties)
        storage.register(table_root(loaded.metadata_location), io)
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

    def location_for(self, table: TableName) -> str | None:
        """Where a new table's files go: one folder per name part under the warehouse,
        each part encoded so that no name leads outside it (see :func:`path_segment`);
        None where the catalog places its tables itself (see ``catalog_open``)."""
        if self._places_tables:
            return None
        parts = [path_segment(part) for part in table.identifier]
        return "/".join([self.settings.warehouse_uri.rstrip("/"), *parts])

    def create_table(
        self,
        table: TableName,
        schema: Schema,
        spec: PartitionSpec,
        properties: dict[str, str],
    ) -> Table:
        if not self.namespace_exists(table.namespace):
            raise ProgrammingError(f"schema {'.'.join(table.namespace)} does not exist")
        if not self.is_sql_catalog and self.exists(table):
            # Some REST servers answer a create of an existing table with that table.
            raise ProgrammingError(f"table {table} already exists")
        try:
            created = self._catalog.create_table(
                table.identifier,
                schema,
                location=self.location_for(table),
                partition_spec=spec,
                properties={**DEFAULT_TABLE_PROPERTIES, **properties},
            )
            storage.register(created.metadata.location, created.io)
            return created
        except TableAlreadyExistsError:
            raise ProgrammingError(f"table {table} already exists") from None
        except ValueError as exc:
            if not pyiceberg_says(exc, NO_WAREHOUSE):
                raise
            raise ProgrammingError(
                f"catalog {self.settings.catalog} has no warehouse to create table {table} in: "
                "configure its warehouse property, or give --warehouse"
            ) from None

    def commit(self, changes: Sequence[Change]) -> None:
        """Apply each change to a fresh transaction of its table and publish them all as one
        commit: every table's pointer moves, or none does.

        Failure semantics: ``CommitFailedException`` means another writer moved a table
        first and nothing was published (the caller may apply the changes again); the new
        metadata files are left unreferenced, like any failed Iceberg commit. When the
        catalog's answer is lost (a dropped connection during the database commit, a REST
        catalog's unknown commit state), the catalog is asked again: a commit that landed
        returns normally; otherwise :class:`UnconfirmedCommitError` says whether it did
        not land or could not be told, and everything the commit wrote must be kept.
        Several tables need a SQL catalog.
        """
        if self.is_sql_catalog:
            self._commit_sql(changes)
        elif len(changes) == 1:
            self._commit_other(*changes[0])
        elif changes:
            raise NotSupportedError("committing several tables at once needs a SQL catalog")

    def _commit_sql(self, changes: Sequence[Change]) -> None:
        catalog = self._catalog
        assert isinstance(catalog, SqlCatalog)
        staged: list[Staged] = []
        tables: list[Table] = []
        bases: list[TableMetadata] = []
        for name, apply in changes:
            table = self.load(name)
            transaction = compat.transaction(table)
            apply(transaction)
            if not compat.has_updates(transaction):
                continue  # nothing changed
            new = compat.stage(catalog, table, transaction)
            compat.write_metadata(new)
            ids = compat.added_snapshot_ids(transaction)
            staged.append(Staged(name, table.metadata_location, new.metadata_location, ids))
            tables.append(Table(table.name(), new.metadata, new.metadata_location, new.io, catalog))
            bases.append(table.metadata)
        if not staged:
            return
        engine, move = self.sql_engine, self._move_statement
        assert engine is not None and move is not None
        try:
            with driver_transaction(engine) as cursor:
                for each in staged:
                    values = {**self._row_key(each.name), "old": each.base, "new": each.location}
                    if move.execute(cursor, values).rowcount != 1:
                        raise CommitFailedException(
                            f"table {each.name} was changed by another writer"
                        )
        except CommitFailedException:
            raise
        except BaseException as exc:  # the database may have committed before the answer was lost
            settle([(each.name, each.landed) for each in staged], exc, self._read_back)
        # The next load finds the pointer where this commit left it and skips re-reading
        # the metadata file just written.
        for each, table, base in zip(staged, tables, bases, strict=True):
            self._loaded[each.name] = table
            remove_replaced_metadata(base, table)

    def _commit_other(self, name: TableName, apply: Callable[[Transaction], None]) -> None:
        transaction = compat.transaction(without_retries(self.load(name)))
        apply(transaction)
        added = compat.added_snapshot_ids(transaction)
        try:
            transaction.commit_transaction()
        except REFUSED:
            raise
        except BaseException as exc:  # sent, but the answer is unknown
            if not added:
                raise UnconfirmedCommitError(
                    f"the catalog did not confirm the change to {name} ({exc}); "
                    "check the table before running the statement again"
                ) from exc
            settle(
                [(name, lambda metadata, _pointer: added <= snapshot_ids(metadata))],
                exc,
                self._read_back,
            )

    def _read_back(self, name: TableName) -> tuple[TableMetadata, str]:
        """The table as the catalog now has it: its metadata and metadata file."""
        current = self._load(name, self._pointer(name))
        return current.metadata, current.metadata_location

    def drop_table(self, table: TableName) -> Table:
        """Remove the table from the catalog (its files stay); the table as it was."""
        dropped = self.load(table)
        try:
            self._catalog.drop_table(table.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise ProgrammingError(f"table {table} does not exist") from None
        self._loaded.pop(table, None)
        return dropped

    def rename_table(self, table: TableName, new: TableName) -> None:
        if self.exists(new):
            raise ProgrammingError(f"table {new} already exists")
        if not self.namespace_exists(new.namespace):
            raise ProgrammingError(f"schema {'.'.join(new.namespace)} does not exist")
        try:
            self._catalog.rename_table(table.identifier, new.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise ProgrammingError(f"table {table} does not exist") from None


# Characters a name cannot carry into a path as they are: separators, the escape itself,
# what URI parsers split on, and what file readers take for glob patterns (DuckDB).
_UNSAFE_IN_PATHS = frozenset("/\\%?#:*[]{}\"'^=") | frozenset(map(chr, [*range(32), 127]))


def path_segment(name: str) -> str:
    """A schema or table name as one folder name: unsafe characters percent-encoded (as
    Hive escapes partition paths), and ``.``/``..`` spelled out, so the folder is always
    a child of its parent and two names never share one."""
    if not name:
        raise ProgrammingError("a schema or table name cannot be empty")
    if name in (".", ".."):
        return name.replace(".", "%2E")
    return "".join(f"%{ord(c):02X}" if c in _UNSAFE_IN_PATHS else c for c in name)


def refuse_relocated_write(table: Table, name: TableName) -> None:
    """A table read from where it was copied cannot take writes: PyIceberg would write
    new metadata under the location the metadata records, which is not where it lies."""
    if isinstance(table.io, RelocatedFileIO):
        raise NotSupportedError(
            f"table {name} or its files were moved or copied from where its metadata records "
            f"them ({table.metadata.location}); sqllake reads it where it lies but cannot "
            "write to it there"
        )
